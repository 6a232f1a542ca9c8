//! The subcommands: each takes its parsed arguments and returns how the run ended.

pub mod completions;
pub mod explain;
pub mod fix;
pub mod init;
pub mod inspect;
pub mod lint;
pub mod lsp;
pub mod man;
pub mod measure;
pub mod rules;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, ConfigError, Configs, Ignored};
use crate::contexts::Contexts;
use crate::discover::{Missing, discover};
use crate::report::FileError;
use crate::syntax::Dockerfile;

/// How a run ended; `main` turns it into the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Nothing at or above the failure threshold.
    Clean = 0,
    /// Findings (or, with `fix --diff`, changes to make).
    Findings = 1,
    /// A usage error, or a file that could not be read or parsed.
    Trouble = 2,
    /// A rewrite broke a build that worked (measure).
    FixDefect = 3,
}

/// `--context DIR` must be a folder: Docker refuses any other, and the context rules would
/// report a missing folder as a missing `.dockerignore`.
pub fn context_is_a_folder(context: Option<&Path>) -> bool {
    match context {
        Some(dir) if !dir.is_dir() => {
            eprintln!("error: --context {}: not a folder", dir.display());
            false
        }
        _ => true,
    }
}

/// Reads and parses one file. Unreadable, binary and non-UTF-8 files give an error, not text.
pub fn load(path: &Path) -> Result<Dockerfile, FileError> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    let bytes = bytes
        .map_err(|e| plain_error(format!("cannot read: {}", crate::discover::io_reason(&e))))?;
    decode(bytes).map(Dockerfile::parse)
}

/// UTF-8 text, or an error saying why not.
pub fn decode(bytes: Vec<u8>) -> Result<String, FileError> {
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(plain_error(format!(
            "binary file (NUL byte at offset {at}), not a Dockerfile"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // the valid text before it on its line, in characters
        let valid = String::from_utf8_lossy(&before[line_start..]).into_owned();
        let column = valid.chars().count();
        FileError {
            message: format!(
                "not UTF-8 text: invalid byte at offset {at} (line {})",
                line + 1
            ),
            position: Some(crate::source::Position {
                line,
                column,
                utf16_column: valid.encode_utf16().count(),
            }),
            span: None,
        }
    })
}

fn plain_error(message: String) -> FileError {
    FileError {
        message,
        position: None,
        span: None,
    }
}

/// The parse errors of a file (or what BuildKit refuses in one that parsed), placed.
pub fn syntax_errors(df: &Dockerfile) -> Vec<FileError> {
    df.build_errors()
        .iter()
        .map(|e| FileError {
            message: e.message.clone(),
            position: Some(df.position(e.span.start)),
            span: Some(e.span),
        })
        .collect()
}

/// A file to work on, the config that applies to it and its build context.
#[derive(Clone, Debug)]
pub struct Target {
    pub path: PathBuf,
    pub config: Option<Arc<Config>>,
    /// The build context: `--context`, the config's `contexts`, or what a Compose or Bake file
    /// names; `None` is the file's own folder.
    pub context: Option<PathBuf>,
}

/// Rules chosen on the command line (`--select`, `--ignore`), as the config names them.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub select: Vec<Ignored>,
    pub ignore: Vec<Ignored>,
}

impl Selection {
    pub fn new(select: &[Ignored], ignore: &[Ignored]) -> Self {
        Selection {
            select: select.to_vec(),
            ignore: ignore.to_vec(),
        }
    }

    /// The rules to run, when `--select` names some.
    pub fn only(&self) -> Option<Vec<String>> {
        if self.select.is_empty() {
            return None;
        }
        let mut ids: Vec<String> = self.select.iter().map(|r| r.id.to_string()).collect();
        ids.sort();
        ids.dedup();
        Some(ids)
    }

    /// The config with the command line's choices added: `--ignore` as entries of `ignore`,
    /// and a `--select` of one hadolint check of a rule (DL3042 of LW103) as that rule's only
    /// check.
    fn apply(&self, config: Option<Arc<Config>>) -> Option<Arc<Config>> {
        let partial: Vec<Ignored> = self
            .select
            .iter()
            .filter(|r| r.hadolint.is_some())
            .copied()
            .collect();
        if self.ignore.is_empty() && partial.is_empty() {
            return config;
        }
        let mut changed = config.as_deref().cloned().unwrap_or_default();
        changed.ignore.extend(self.ignore.iter().copied());
        // A whole rule selected as well as one of its checks: the whole rule.
        changed.only_checks.extend(partial.into_iter().filter(|p| {
            !self
                .select
                .iter()
                .any(|r| r.id == p.id && r.hadolint.is_none())
        }));
        Some(Arc::new(changed))
    }
}

/// The files under `paths` with the config and build context of each, those the config's
/// `exclude` names left out. `config` names one config file for all instead of the nearest
/// `.layerwise.yaml`; `context` one build context for all.
pub fn targets(
    paths: &[PathBuf],
    config: Option<&Path>,
    context: Option<&Path>,
    selection: &Selection,
) -> Result<(Vec<Target>, Vec<Missing>), ConfigError> {
    let (files, missing) = discover(paths);
    let mut configs = Configs::new(config)?;
    let mut contexts = Contexts::new();
    // The command line's choices, applied once per config file rather than per Dockerfile:
    // each config as found, and as changed.
    type Applied = (Option<Arc<Config>>, Option<Arc<Config>>);
    let mut applied: Vec<Applied> = Vec::new();
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        let config = configs.for_file(&path)?;
        let excluded =
            path != Path::new("-") && config.as_ref().is_some_and(|c| c.is_excluded(&path));
        if excluded {
            continue;
        }
        let context = match context {
            Some(dir) => Some(dir.to_path_buf()),
            None => contexts.for_file(&path, config.as_deref()),
        };
        let same = |a: &Option<Arc<Config>>| match (a, &config) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let config = match applied.iter().find(|(from, _)| same(from)) {
            Some((_, to)) => to.clone(),
            None => {
                let to = selection.apply(config.clone());
                applied.push((config, to.clone()));
                to
            }
        };
        out.push(Target {
            path,
            config,
            context,
        });
    }
    for warning in &contexts.warnings {
        eprintln!("warning: {warning}");
    }
    Ok((out, missing))
}

/// Prints a config error with its snippet, for people: lines wrapped at spaces only, so that
/// `failure-threshold` or a path is never cut in two.
pub fn print_config_error(error: ConfigError) {
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
        .with_break_words(false)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut text = String::new();
    match handler.render_report(&mut text, &error) {
        Ok(()) => eprintln!("{text}"),
        Err(_) => eprintln!("error: {error}"),
    }
}
