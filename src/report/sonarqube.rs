//! `--format sonarqube`: SonarQube's generic external issue report (the format of SonarQube
//! Server 10.3 and later, and SonarQube Cloud), which the scanner imports with
//! `sonar.externalIssuesReportPaths`. Rules are listed once with their Clean Code attribute and
//! impact; issues refer to them. Columns are 0-based UTF-16 units, as SonarQube counts them.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::{FileError, FileResult, Report, Reporter, Streamed};
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules;
use crate::source::Span;

pub struct Sonarqube;

const ENGINE: &str = "layerwise";
/// The rule of files that could not be read or parsed.
const PARSE_ERROR: &str = "parse-error";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: String,
    description: String,
    engine_id: &'static str,
    clean_code_attribute: &'static str,
    impacts: [Impact; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Impact {
    software_quality: &'static str,
    severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Issue<'a> {
    rule_id: &'a str,
    effort_minutes: u32,
    primary_location: Location<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secondary_locations: Vec<Location<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    message: String,
    file_path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text_range: Option<TextRange>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TextRange {
    start_line: usize,
    end_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
}

impl Reporter for Sonarqube {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        // The rules first (the scanner checks every issue's rule is listed), then the issues,
        // streamed one by one.
        // A rule's impact is its findings' severity, which the config may have changed.
        let mut used: BTreeMap<&str, Severity> = BTreeMap::new();
        for (_, d) in report.findings() {
            used.entry(d.rule).or_insert(d.severity);
        }
        let mut listed: Vec<Rule> = rules::all_meta()
            .iter()
            .filter_map(|m| Some((m, *used.get(m.id.as_str())?)))
            .map(|(m, severity)| Rule {
                id: m.id.clone(),
                name: m.name.clone(),
                description: m.summary.clone(),
                engine_id: ENGINE,
                // Ignore comments are about the file's conventions; the rest about waste.
                clean_code_attribute: if m.id.starts_with("LW9") {
                    "CONVENTIONAL"
                } else {
                    "EFFICIENT"
                },
                impacts: [Impact {
                    software_quality: "MAINTAINABILITY",
                    severity: impact(severity),
                }],
            })
            .collect();
        if report.files.iter().any(|f| !f.errors.is_empty()) {
            listed.push(Rule {
                id: PARSE_ERROR.into(),
                name: "Dockerfile does not parse".into(),
                description: "The file could not be read or parsed, so layerwise could not \
                              check it, and a build would fail."
                    .into(),
                engine_id: ENGINE,
                clean_code_attribute: "LOGICAL",
                impacts: [Impact {
                    software_quality: "RELIABILITY",
                    severity: "HIGH",
                }],
            });
        }
        let issues = report.files.iter().flat_map(|file| {
            let errors = file.errors.iter().map(move |e| parse_error(file, e));
            let findings = file.diagnostics.iter().map(move |d| finding(file, &d));
            errors.chain(findings)
        });
        let value = SonarReport {
            rules: listed,
            issues: Streamed::new(issues),
        };
        super::write_json_pretty(out, &value)
    }
}

#[derive(Serialize)]
#[serde(bound(serialize = "Streamed<I>: Serialize"))]
struct SonarReport<I> {
    rules: Vec<Rule>,
    issues: Streamed<I>,
}

fn parse_error<'a>(file: &'a FileResult, error: &FileError) -> Issue<'a> {
    let text_range = error.position.map(|p| TextRange {
        start_line: p.line + 1,
        end_line: p.line + 1,
        start_column: None,
        end_column: None,
    });
    Issue {
        rule_id: PARSE_ERROR,
        effort_minutes: 0,
        primary_location: Location {
            message: error.message.clone(),
            file_path: &file.display,
            text_range,
        },
        secondary_locations: Vec::new(),
    }
}

fn finding<'a>(file: &'a FileResult, d: &Diagnostic) -> Issue<'a> {
    let mut message = d.message.to_string();
    if let Some(fix) = &d.fix {
        message.push_str(&format!(" (fix, {}: {})", fix.safety.as_str(), fix.title));
    }
    Issue {
        rule_id: d.rule,
        effort_minutes: if d.fix.is_some() { 1 } else { 5 },
        primary_location: Location {
            message,
            file_path: &file.display,
            text_range: Some(text_range(file, d.span)),
        },
        secondary_locations: d
            .labels()
            .iter()
            .map(|l| Location {
                message: l.message.to_string(),
                file_path: &file.display,
                text_range: Some(text_range(file, l.span)),
            })
            .collect(),
    }
}

fn impact(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "HIGH",
        Severity::Warning => "MEDIUM",
        Severity::Info => "LOW",
    }
}

/// A range SonarQube accepts: columns only when the range is not empty (it refuses an end at
/// or before the start).
fn text_range(file: &FileResult, span: Span) -> TextRange {
    let start = file.position(span.start);
    let end = file.position(span.end);
    let columns = (end.line, end.utf16_column) > (start.line, start.utf16_column);
    TextRange {
        start_line: start.line + 1,
        end_line: end.line.max(start.line) + 1,
        start_column: columns.then_some(start.utf16_column),
        end_column: columns.then_some(end.utf16_column),
    }
}
