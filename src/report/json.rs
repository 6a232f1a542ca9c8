//! `--format json`: one object that scripts can rely on.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::Serialize;

use super::{FileResult, Report, Reporter, Streamed};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Safety;
use crate::rules;

pub struct Json;

// The report is serialized straight from these borrowed views, field order as documented, and
// the findings from an iterator, so that a report of many findings streams out instead of being
// built first.

#[derive(Serialize)]
#[serde(bound(serialize = "Streamed<F>: Serialize"))]
struct JsonReport<'a, F> {
    files_checked: usize,
    findings: Streamed<F>,
    errors: Vec<Error<'a>>,
}

#[derive(Serialize)]
struct Finding<'a> {
    file: &'a str,
    rule: &'a str,
    name: Option<&'a str>,
    severity: Severity,
    message: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    fixable: bool,
    fix: Option<FixView<'a>>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct FixView<'a> {
    title: &'a str,
    safety: Safety,
}

#[derive(Serialize)]
struct Error<'a> {
    file: &'a str,
    message: &'a str,
    line: Option<usize>,
    column: Option<usize>,
}

fn finding<'a>(file: &'a FileResult, d: &'a Diagnostic) -> Finding<'a> {
    let start = file.position(d.span.start);
    let end = file.position(d.span.end);
    Finding {
        file: &file.display,
        rule: d.rule,
        name: rules::meta(d.rule).map(|m| m.name.as_str()),
        severity: d.severity,
        message: &d.message,
        line: start.line + 1,
        column: start.column + 1,
        end_line: end.line + 1,
        end_column: end.column + 1,
        fixable: d
            .fix
            .as_ref()
            .is_some_and(|f| f.safety != Safety::DisplayOnly),
        fix: d.fix.as_ref().map(|f| FixView {
            title: &f.title,
            safety: f.safety,
        }),
        help: d.help.as_deref(),
    }
}

/// A finding, expanded from its compact record; its view borrows from it, so it is made as it
/// is written.
struct Expanded<'a>(&'a FileResult, Cow<'a, Diagnostic>);

impl Serialize for Expanded<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        finding(self.0, &self.1).serialize(serializer)
    }
}

impl Reporter for Json {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let errors = report
            .files
            .iter()
            .flat_map(|file| {
                file.errors.iter().map(move |e| Error {
                    file: &file.display,
                    message: &e.message,
                    line: e.position.map(|p| p.line + 1),
                    column: e.position.map(|p| p.column + 1),
                })
            })
            .collect();
        let value = JsonReport {
            files_checked: report.checked,
            findings: Streamed::new(report.findings().map(|(f, d)| Expanded(f, d))),
            errors,
        };
        super::write_json_pretty(out, &value)
    }
}
