//! The subcommands: each takes its parsed arguments and returns how the run ended.

pub mod explain;
pub mod fix;
pub mod init;
pub mod inspect;
pub mod lint;
pub mod lsp;
pub mod measure;
pub mod rules;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, ConfigError, Configs};
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

/// A parse error of a file, placed.
pub fn syntax_errors(df: &Dockerfile) -> Vec<FileError> {
    df.errors
        .iter()
        .map(|e| FileError {
            message: e.message.clone(),
            position: Some(df.position(e.span.start)),
            span: Some(e.span),
        })
        .collect()
}

/// A file to work on and the config that applies to it.
pub type ConfiguredFile = (PathBuf, Option<Arc<Config>>);

/// The files under `paths` with the config of each, those its `exclude` names left out.
/// `config` names one config file for all instead of the nearest `.layerwise.yaml`.
pub fn configured_files(
    paths: &[PathBuf],
    config: Option<&Path>,
) -> Result<(Vec<ConfiguredFile>, Vec<Missing>), ConfigError> {
    let (files, missing) = discover(paths);
    let mut configs = Configs::new(config)?;
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        let config = configs.for_file(&path)?;
        let excluded =
            path != Path::new("-") && config.as_ref().is_some_and(|c| c.is_excluded(&path));
        if !excluded {
            out.push((path, config));
        }
    }
    Ok((out, missing))
}

/// Prints a config error with its snippet, for people.
pub fn print_config_error(error: ConfigError) {
    eprintln!("{:?}", miette::Report::new(error));
}
