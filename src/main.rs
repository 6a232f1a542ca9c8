use clap::Parser;
use layerwise::cli::{Cli, Command};
use layerwise::commands::{self, Exit};

// The shell parser allocates many small nodes; mimalloc serves them faster than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    layerwise::allocator::give_memory_back();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version are not errors; a bad command line is a usage error (2).
            let code = if e.use_stderr() {
                Exit::Trouble
            } else {
                Exit::Clean
            };
            std::process::exit(code as i32);
        }
    };
    let color = cli.color.enabled();
    let exit = match &cli.command {
        Command::Lint(args) => commands::lint::run(args, color),
        Command::Fix(args) => commands::fix::run(args),
        Command::Rules { json } => commands::rules::run(*json),
        Command::Explain { rule } => commands::explain::run(rule),
        Command::Measure(args) => commands::measure::run(args, color),
        Command::Inspect(args) => commands::inspect::run(args, color),
        Command::Lsp { .. } => commands::lsp::run(),
        Command::Init(args) => commands::init::run(args),
        Command::Completions { shell } => commands::completions::run(*shell),
        Command::Man(args) => commands::man::run(args),
    };
    std::process::exit(exit as i32);
}
