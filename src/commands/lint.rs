//! `layerwise lint`: find Dockerfiles, lint them in parallel, report in a stable order.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use super::{ConfiguredFile, Exit, configured_files, load, print_config_error, syntax_errors};
use crate::cli::{LintArgs, Threshold};
use crate::diagnostic::Severity;
use crate::discover::display_path;
use crate::lint::{LintOptions, lint};
use crate::report::{FileError, FileResult, Report, reporter};

pub fn run(args: &LintArgs, color: bool) -> Exit {
    if !super::context_is_a_folder(args.context.as_deref()) {
        return Exit::Trouble;
    }
    let (files, missing) = match configured_files(&args.paths, args.config.as_deref()) {
        Ok(found) => found,
        Err(e) => {
            print_config_error(e);
            return Exit::Trouble;
        }
    };
    // The flag wins over each file's config.
    let thresholds: HashMap<PathBuf, Threshold> = files
        .iter()
        .map(|(path, config)| {
            let from_config = config.as_ref().and_then(|c| c.failure_threshold);
            let threshold = args
                .failure_threshold
                .or(from_config)
                .unwrap_or(Threshold::Warning);
            (path.clone(), threshold)
        })
        .collect();
    let mut results = lint_files(&files, args.context.as_ref());
    let checked = results.len();
    results.extend(missing.into_iter().map(|m| FileResult {
        display: display_path(&m.path),
        path: m.path,
        source: None,
        diagnostics: Vec::new(),
        errors: vec![FileError {
            message: m.message,
            position: None,
            span: None,
        }],
    }));
    results.sort_by(|a, b| a.display.cmp(&b.display));
    let report = Report {
        files: &results,
        checked,
        color: color && args.output.is_none(),
    };
    let reporter = reporter(args.format);
    let written = match &args.output {
        // Written to a temporary file beside it as it is rendered: the file is replaced
        // atomically or not at all, and a report of any size is never whole in memory.
        Some(path) => crate::fsutil::write_atomic_with(path, |out| reporter.write(&report, out))
            .map_err(|e| e.to_string()),
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            reporter
                .write(&report, &mut out)
                .and_then(|()| out.flush())
                .map_err(|e| e.to_string())
        }
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return Exit::Trouble;
    }
    exit_with(&results, |r| {
        thresholds
            .get(&r.path)
            .copied()
            .unwrap_or(Threshold::Warning)
    })
}

/// Lints files in parallel with the default config; results come back in the order of `files`.
pub fn lint_paths(files: &[PathBuf], context: Option<&PathBuf>) -> Vec<FileResult> {
    let files: Vec<ConfiguredFile> = files.iter().map(|p| (p.clone(), None)).collect();
    lint_files(&files, context)
}

/// Lints files in parallel, each with its config; results come back in the order of `files`.
pub fn lint_files(files: &[ConfiguredFile], context: Option<&PathBuf>) -> Vec<FileResult> {
    files
        .par_iter()
        .map(|(path, config)| {
            let display = display_path(path);
            match load(path) {
                Ok(df) => {
                    let options = LintOptions {
                        path: (path.as_os_str() != "-").then(|| path.clone()),
                        context: context.cloned(),
                        config: config.clone(),
                        ..LintOptions::default()
                    };
                    let diagnostics = lint(&df, &options);
                    FileResult {
                        path: path.clone(),
                        display,
                        errors: syntax_errors(&df),
                        source: Some(Arc::new(df)),
                        diagnostics,
                    }
                }
                Err(error) => FileResult {
                    path: path.clone(),
                    display,
                    source: None,
                    diagnostics: Vec::new(),
                    errors: vec![error],
                },
            }
        })
        .collect()
}

/// 2 when a file could not be read or parsed, else 1 when a finding reaches the threshold.
pub fn exit_for(results: &[FileResult], threshold: Threshold) -> Exit {
    exit_with(results, |_| threshold)
}

/// Like [`exit_for`], with a threshold for each file.
pub fn exit_with(results: &[FileResult], threshold: impl Fn(&FileResult) -> Threshold) -> Exit {
    if results.iter().any(|r| !r.errors.is_empty()) {
        return Exit::Trouble;
    }
    let failing = results.iter().any(|r| {
        let limit = match threshold(r) {
            Threshold::None => return false,
            Threshold::Info => Severity::Info,
            Threshold::Warning => Severity::Warning,
            Threshold::Error => Severity::Error,
        };
        r.diagnostics.iter().any(|d| d.severity >= limit)
    });
    if failing { Exit::Findings } else { Exit::Clean }
}
