//! The command line, as clap derive types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::config::Threshold;
use crate::limits::{Percent, Ratio, Size};
use crate::report::Format;

#[derive(Debug, Parser)]
#[command(
    name = "layerwise",
    version,
    about = "Finds what wastes layers, bytes and cache in Dockerfiles, rewrites it, and measures the gain"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to use colors (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lint Dockerfiles (files, or folders searched recursively; default: the current folder).
    Lint(LintArgs),
    /// Apply fixes in place, or show them with --diff.
    Fix(FixArgs),
    /// List the rules.
    Rules {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a rule's docs (by ID, name or hadolint alias).
    Explain {
        /// LW102, apt-lists-not-cleaned or DL3009.
        rule: String,
    },
    /// Build the Dockerfile before and after `fix` through the Docker Engine, and compare.
    Measure(MeasureArgs),
    /// Show where an image's bytes go: per layer, the largest and hidden files, caches, gates.
    Inspect(InspectArgs),
    /// Run the language server over stdin/stdout, for editors.
    Lsp {
        /// Accepted for editors that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// Write a commented starter `.layerwise.yaml`.
    Init(InitArgs),
    /// Print the completion script of a shell (bash, zsh, fish, powershell, elvish).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one per command into a folder.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `layerwise.1` and a page per command (`layerwise-lint.1`, …) into this folder.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to write it in (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Replace an existing `.layerwise.yaml`.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files or folders; `-` reads a Dockerfile from stdin.
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Lowest severity that makes the exit code 1 (default: warning).
    #[arg(long, value_enum)]
    pub failure_threshold: Option<Threshold>,
    /// The build context of every file (default: each file's own, from the config's
    /// `contexts`, a Compose or Bake file, or its folder).
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// Write the report to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Use this config file instead of the nearest `.layerwise.yaml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run only these rules: IDs, names or hadolint codes, comma-separated or repeated.
    #[arg(long, value_name = "RULES", value_delimiter = ',', value_parser = crate::config::parse_rule)]
    pub select: Vec<crate::config::Ignored>,
    /// Do not run these rules (as --select names them); adds to the config's `ignore`.
    #[arg(long, value_name = "RULES", value_delimiter = ',', value_parser = crate::config::parse_rule)]
    pub ignore: Vec<crate::config::Ignored>,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Files or folders (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Also apply unsafe fixes (they change what is installed or the order of steps).
    #[arg(long = "unsafe")]
    pub unsafe_fixes: bool,
    /// Print a unified diff and write nothing; exit 1 when there is something to fix.
    #[arg(long)]
    pub diff: bool,
    /// The build context of every file (default: each file's own, from the config's
    /// `contexts`, a Compose or Bake file, or its folder).
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// Use this config file instead of the nearest `.layerwise.yaml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run only these rules: IDs, names or hadolint codes, comma-separated or repeated.
    #[arg(long, value_name = "RULES", value_delimiter = ',', value_parser = crate::config::parse_rule)]
    pub select: Vec<crate::config::Ignored>,
    /// Do not run these rules (as --select names them); adds to the config's `ignore`.
    #[arg(long, value_name = "RULES", value_delimiter = ',', value_parser = crate::config::parse_rule)]
    pub ignore: Vec<crate::config::Ignored>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub fn enabled(self) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// The Dockerfile (default: ./Dockerfile).
    pub dockerfile: Option<PathBuf>,
    /// The build context (default: the Dockerfile's folder).
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// Measure the rewrite with the unsafe fixes too.
    #[arg(long = "unsafe")]
    pub unsafe_fixes: bool,
    #[arg(long, value_enum, default_value_t = MeasureFormat::Table)]
    pub format: MeasureFormat,
    /// The network of RUN steps (`host` to fetch packages from a daemon without a bridge).
    #[arg(long, value_enum, default_value_t = Network::Default)]
    pub network: Network,
    /// Build this stage instead of the last.
    #[arg(long)]
    pub target: Option<String>,
    /// A build argument, as `docker build` takes it (`K` alone takes K from the environment).
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// Keep the images built, tagged layerwise-measure:before and :after.
    #[arg(long)]
    pub keep_images: bool,
    /// Also write the comparison as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The most each build may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Use this config file instead of the nearest `.layerwise.yaml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The daemon's builder: BuildKit where the daemon offers it by default (auto), or the
    /// one named.
    #[arg(long, value_enum, default_value_t = BuilderChoice::Auto)]
    pub builder: BuilderChoice,
    /// Build with the daemon's built-in Dockerfile frontend, leaving out a `# syntax=` line
    /// whose frontend image cannot be pulled.
    #[arg(long)]
    pub builtin_frontend: bool,
    /// A command to run in a container of each image, as `docker run --network none IMAGE
    /// CMD…` would (its words replace CMD; ENTRYPOINT stays); a different exit code or output
    /// is a defect. Repeatable.
    #[arg(long, value_name = "CMD")]
    pub smoke: Vec<String>,
    /// Build each version once, cold: no rebuild after an edit.
    #[arg(long)]
    pub no_rebuild: bool,
    /// Build the rewrite on the layer cache the original's cold build left, so what both
    /// build alike (LW301's build stage: the original's own steps) is built once; the
    /// rewrite's build time is then not a cold build's.
    #[arg(long)]
    pub share_cache: bool,
    /// Build each version N times (cold, and after an edit) and show the median time and the
    /// spread.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub runs: u32,
    /// Build this file as the rewrite instead of `fix`'s (a test seam: the proof still
    /// explains differences by the fixes `fix` applies).
    #[arg(long, value_name = "FILE", hide = true)]
    pub rewrite_from: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BuilderChoice {
    Auto,
    #[value(name = "buildkit")]
    BuildKit,
    Classic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MeasureFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Network {
    None,
    Host,
    Default,
}

impl Network {
    pub fn as_str(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Host => "host",
            Network::Default => "default",
        }
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A `docker save` archive (any layout, gzip or zstd too; `-` reads stdin), or else an
    /// image of the daemon at DOCKER_HOST, by name or ID.
    pub image: String,
    /// Map the layers to this Dockerfile's lines and show the findings that explain the waste.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,
    /// The build context, for the Dockerfile's findings (default: its folder).
    #[arg(long)]
    pub context: Option<PathBuf>,
    /// The stage the image was built from (default: the last).
    #[arg(long)]
    pub target: Option<String>,
    #[arg(long, value_enum, default_value_t = InspectFormat::Table)]
    pub format: InspectFormat,
    /// Also write the report as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// How many of the largest files, folders and hidden paths to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Exit 1 when more bytes than this are hidden by later layers (20MB, 1.5GiB, bytes).
    #[arg(long, value_name = "SIZE")]
    pub max_wasted_bytes: Option<Size>,
    /// Exit 1 when the hidden bytes are more than this share of the image (10 or 10%).
    #[arg(long, value_name = "PERCENT")]
    pub max_wasted_percent: Option<Percent>,
    /// Exit 1 when the efficiency is below this (0.9 or 90%).
    #[arg(long, value_name = "RATIO")]
    pub min_efficiency: Option<Ratio>,
    /// Exit 1 when the caches left in the image hold more than this (20MB, 1.5GiB, bytes).
    #[arg(long, value_name = "SIZE")]
    pub max_cache_bytes: Option<Size>,
    /// Use this config file instead of the nearest `.layerwise.yaml`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The most the daemon may take to start sending the saved image, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    Table,
    Json,
}
