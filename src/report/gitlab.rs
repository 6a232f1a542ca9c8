//! `--format gitlab`: GitLab's Code Quality report, a JSON array of issues (the subset of the
//! Code Climate spec GitLab reads), for `artifacts: reports: codequality:`. GitLab keys issues
//! by fingerprint, so each is unique and stable across commits (see [`super::fingerprint`]).

use std::io::{self, Write};

use serde::Serialize;

use super::fingerprint::Fingerprints;
use super::{FileError, FileResult, Report, Reporter, Streamed};
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules;

pub struct Gitlab;

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: &'a str,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Content>,
    categories: [&'static str; 1],
    severity: &'static str,
    fingerprint: String,
    location: Location<'a>,
}

#[derive(Serialize)]
struct Content {
    body: String,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

impl Reporter for Gitlab {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let issues = report.files.iter().flat_map(|file| {
            let errors = file
                .errors
                .iter()
                .enumerate()
                .map(move |(n, error)| parse_error(file, n, error));
            let mut fingerprints = Fingerprints::new(file);
            let findings = file
                .diagnostics
                .iter()
                .map(move |d| finding(file, &d, fingerprints.next(&d)));
            errors.chain(findings)
        });
        super::write_json_pretty(out, &Streamed::new(issues))
    }
}

fn parse_error<'a>(file: &'a FileResult, n: usize, error: &FileError) -> Issue<'a> {
    let line = error.position.map_or(1, |p| p.line + 1);
    Issue {
        kind: "issue",
        check_name: "layerwise/parse-error",
        description: format!("{} (layerwise cannot check this file)", error.message),
        content: None,
        categories: ["Bug Risk"],
        severity: "critical",
        fingerprint: format!("parse:{}:{n}", file.display),
        location: Location {
            path: &file.display,
            lines: Lines {
                begin: line,
                end: line,
            },
        },
    }
}

fn finding<'a>(file: &'a FileResult, d: &Diagnostic, fingerprint: String) -> Issue<'a> {
    let start = file.position(d.span.start);
    let end = file.position(d.span.end);
    let meta = rules::meta(d.rule);
    let mut body = String::new();
    if let Some(help) = &d.help {
        body.push_str(help);
    }
    if let Some(fix) = &d.fix {
        body.push_str(&format!("\n\nFix ({}): {}", fix.safety.as_str(), fix.title));
    }
    if let Some(meta) = meta {
        body.push_str(&format!("\n\n[{} {}]({})", meta.id, meta.name, meta.url()));
    }
    Issue {
        kind: "issue",
        check_name: d.rule,
        description: format!(
            "{} {}: {}",
            d.rule,
            meta.map_or("", |m| m.name.as_str()),
            d.message
        ),
        content: Some(Content {
            body: body.trim_start().to_string(),
        }),
        categories: ["Performance"],
        severity: match d.severity {
            Severity::Error => "major",
            Severity::Warning => "minor",
            Severity::Info => "info",
        },
        fingerprint,
        location: Location {
            path: &file.display,
            lines: Lines {
                begin: start.line + 1,
                end: end.line.max(start.line) + 1,
            },
        },
    }
}
