//! `layerwise lint`: find Dockerfiles, lint them in parallel, report in a stable order.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use super::{Exit, Selection, Target, load, print_config_error, syntax_errors, targets};
use crate::cli::{LintArgs, Threshold};
use crate::config::Config;
use crate::diagnostic::Severity;
use crate::discover::display_path;
use crate::findings::Reported;
use crate::lint::{LintOptions, lint_findings};
use crate::report::{FileError, FileResult, Report, reporter};

pub fn run(args: &LintArgs, color: bool) -> Exit {
    if !super::context_is_a_folder(args.context.as_deref()) {
        return Exit::Trouble;
    }
    let selection = Selection::new(&args.select, &args.ignore);
    let found = targets(
        &args.paths,
        args.config.as_deref(),
        args.context.as_deref(),
        &selection,
    );
    let (files, missing) = match found {
        Ok(found) => found,
        Err(e) => {
            print_config_error(e);
            return Exit::Trouble;
        }
    };
    // The flag wins over each file's config.
    let thresholds: HashMap<PathBuf, Threshold> = files
        .iter()
        .map(|target| {
            let from_config = target.config.as_ref().and_then(|c| c.failure_threshold);
            let threshold = args
                .failure_threshold
                .or(from_config)
                .unwrap_or(Threshold::Warning);
            (target.path.clone(), threshold)
        })
        .collect();
    let mut results = lint_files(&files, selection.only());
    let checked = results.len();
    results.extend(missing.into_iter().map(|m| FileResult {
        display: display_path(&m.path),
        path: m.path,
        source: None,
        diagnostics: Reported::default(),
        errors: vec![FileError {
            message: m.message,
            position: None,
            span: None,
        }],
        rules: Vec::new(),
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

/// Lints files in parallel with the default config and one build context for all; results
/// come back in the order of `files`.
pub fn lint_paths(files: &[PathBuf], context: Option<&PathBuf>) -> Vec<FileResult> {
    let targets: Vec<Target> = files
        .iter()
        .map(|path| Target {
            path: path.clone(),
            config: None,
            context: context.cloned(),
        })
        .collect();
    lint_files(&targets, None)
}

/// Lints files in parallel, each with its config and context; results come back in the order
/// of `files`. `only` runs just those rules.
pub fn lint_files(files: &[Target], only: Option<Vec<String>>) -> Vec<FileResult> {
    files
        .par_iter()
        .map(|target| {
            let path = &target.path;
            let display = display_path(path);
            match load(path) {
                Ok(df) => {
                    let options = LintOptions {
                        path: (path.as_os_str() != "-").then(|| path.clone()),
                        context: target.context.clone(),
                        config: target.config.clone(),
                        only: only.clone(),
                        ..LintOptions::default()
                    };
                    let mut diagnostics = lint_findings(&df, &options);
                    let errors = syntax_errors(&df);
                    if !errors.is_empty() {
                        // `fix` never rewrites a file that does not parse: offer no fix.
                        diagnostics.drop_fixes();
                    }
                    let config = target.config.as_deref().unwrap_or(Config::default_ref());
                    let rules = crate::rules::all_meta()
                        .iter()
                        .map(|m| m.id.as_str())
                        .filter(|id| config.enabled(id))
                        .filter(|id| only.as_ref().is_none_or(|o| o.iter().any(|r| r == id)))
                        .collect();
                    FileResult {
                        path: path.clone(),
                        display,
                        errors,
                        source: Some(Arc::new(df)),
                        diagnostics,
                        rules,
                    }
                }
                Err(error) => FileResult {
                    path: path.clone(),
                    display,
                    source: None,
                    diagnostics: Reported::default(),
                    errors: vec![error],
                    rules: Vec::new(),
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
