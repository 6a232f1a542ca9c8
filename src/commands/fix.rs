//! `layerwise fix`: apply the fixes in place (atomically), or show them as a unified diff.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use similar::TextDiff;

use super::{Exit, Selection, Target, load, print_config_error, targets};
use crate::cli::FixArgs;
use crate::discover::display_path;
use crate::fix::{FileChange, Safety};
use crate::fixer::{FixOutcome, fix_text};
use crate::fsutil::write_atomic;
use crate::lint::LintOptions;

/// What fixing one file came to.
struct Fixed {
    path: PathBuf,
    display: String,
    original: String,
    outcome: Result<FixOutcome, String>,
}

pub fn run(args: &FixArgs) -> Exit {
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
    let max = if args.unsafe_fixes {
        Safety::Unsafe
    } else {
        Safety::Safe
    };
    // Names that lead to one file (symlinks) are fixed once, under the first name.
    let mut seen = std::collections::HashSet::new();
    let files: Vec<_> = files
        .into_iter()
        .filter(|target| {
            target.path == Path::new("-")
                || std::fs::canonicalize(&target.path).map_or(true, |t| seen.insert(t))
        })
        .collect();
    let only = selection.only();
    let fixed: Vec<Fixed> = files
        .par_iter()
        .map(|target| fix_file(target, only.clone(), max))
        .collect();
    let mut exit = Exit::Clean;
    for m in &missing {
        eprintln!("error: {}", m.message);
        exit = Exit::Trouble;
    }
    let mut stdout = std::io::stdout().lock();
    for file in &fixed {
        let outcome = match &file.outcome {
            Ok(outcome) => outcome,
            Err(message) => {
                eprintln!("error: {}: {message}", file.display);
                exit = Exit::Trouble;
                continue;
            }
        };
        if file.path == Path::new("-") && !args.diff {
            // stdin in, the fixed text out, whole: a filter, as editors and formatters use it
            let _ = stdout.write_all(outcome.text.as_bytes());
            if !outcome.files.is_empty() {
                eprintln!(
                    "note: -: fixes that write other files (.dockerignore) are not applied to stdin"
                );
            }
            continue;
        }
        if !outcome.changed() {
            continue;
        }
        if args.diff {
            let _ = stdout.write_all(diff(file, outcome).as_bytes());
            exit = exit.max(Exit::Findings);
            continue;
        }
        match write_changes(file, outcome) {
            Ok(()) => eprintln!(
                "fixed {}: {}",
                file.display,
                crate::fixer::summary(&outcome.applied)
            ),
            Err(message) => {
                eprintln!("error: {message}");
                exit = Exit::Trouble;
            }
        }
    }
    exit
}

fn fix_file(target: &Target, only: Option<Vec<String>>, max: Safety) -> Fixed {
    let path = target.path.as_path();
    let display = display_path(path);
    let loaded = load(path);
    let original = loaded
        .as_ref()
        .map(|df| df.text().to_string())
        .unwrap_or_default();
    let outcome = loaded.map_err(|e| e.message).and_then(|df| {
        if let Some(error) = df.build_errors().first() {
            let line = df.position(error.span.start).line + 1;
            return Err(format!(
                "not fixed: it does not parse (line {line}: {})",
                error.message
            ));
        }
        let options = LintOptions {
            path: Some(path.to_path_buf()),
            context: target.context.clone(),
            config: target.config.clone(),
            only,
            ..LintOptions::default()
        };
        Ok(fix_text(df.text(), &options, max))
    });
    Fixed {
        path: path.to_path_buf(),
        display,
        original,
        outcome,
    }
}

fn diff(file: &Fixed, outcome: &FixOutcome) -> String {
    let mut out = unified(&file.display, &file.original, &outcome.text);
    for (path, old, new) in file_changes(&outcome.files) {
        out.push_str(&unified(&display_path(&path), &old, &new));
    }
    out
}

fn unified(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    // Myers' diff is quadratic when most lines change (all RUNs merged into one); past the
    // deadline it settles for a larger diff that is still right.
    TextDiff::configure()
        .timeout(std::time::Duration::from_millis(500))
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// Each other file's old and new text, changes to one file folded together.
fn file_changes(changes: &[FileChange]) -> Vec<(PathBuf, String, String)> {
    let mut files: Vec<(PathBuf, String, String)> = Vec::new();
    for change in changes {
        let index = match files.iter().position(|(p, _, _)| p == change.path()) {
            Some(i) => i,
            None => {
                let old = std::fs::read_to_string(change.path()).unwrap_or_default();
                files.push((change.path().to_path_buf(), old.clone(), old));
                files.len() - 1
            }
        };
        match change {
            FileChange::Create { text, .. } => files[index].2 = text.clone(),
            FileChange::Append { text, .. } => files[index].2.push_str(text),
        }
    }
    files
}

fn write_changes(file: &Fixed, outcome: &FixOutcome) -> Result<(), String> {
    if outcome.text != file.original {
        write_atomic(&file.path, outcome.text.as_bytes()).map_err(|e| e.to_string())?;
    }
    for (path, old, new) in file_changes(&outcome.files) {
        if old != new {
            write_atomic(&path, new.as_bytes()).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
