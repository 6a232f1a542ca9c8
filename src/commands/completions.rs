//! `layerwise completions SHELL`: the shell's completion script, from the clap command line,
//! so it always matches the installed version.

use clap::CommandFactory;

use super::Exit;
use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> Exit {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "layerwise", &mut out);
    match std::io::Write::write_all(&mut std::io::stdout(), &out) {
        Ok(()) => Exit::Clean,
        Err(e) => {
            eprintln!("error: cannot write the script: {e}");
            Exit::Trouble
        }
    }
}
