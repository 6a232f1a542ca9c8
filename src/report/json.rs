//! `--format json`: one object that scripts can rely on.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Report, Reporter};
use crate::rules;

pub struct Json;

impl Reporter for Json {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let findings: Vec<Value> = report
            .findings()
            .map(|(file, d)| {
                let start = file.position(d.span.start);
                let end = file.position(d.span.end);
                json!({
                    "file": file.display,
                    "rule": d.rule,
                    "name": rules::meta(d.rule).map(|m| m.name.as_str()),
                    "severity": d.severity,
                    "message": d.message,
                    "line": start.line + 1,
                    "column": start.column + 1,
                    "end_line": end.line + 1,
                    "end_column": end.column + 1,
                    "fixable": d.fix.as_ref().is_some_and(|f| f.safety != crate::fix::Safety::DisplayOnly),
                    "fix": d.fix.as_ref().map(|f| json!({"title": f.title, "safety": f.safety})),
                    "help": d.help,
                })
            })
            .collect();
        let errors: Vec<Value> = report
            .files
            .iter()
            .flat_map(|file| {
                file.errors.iter().map(move |e| {
                    json!({
                        "file": file.display,
                        "message": e.message,
                        "line": e.position.map(|p| p.line + 1),
                        "column": e.position.map(|p| p.column + 1),
                    })
                })
            })
            .collect();
        let value = json!({
            "files_checked": report.files.len(),
            "findings": findings,
            "errors": errors,
        });
        serde_json::to_writer_pretty(&mut *out, &value)?;
        writeln!(out)
    }
}
