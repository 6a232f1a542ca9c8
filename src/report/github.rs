//! `--format github`: workflow commands (`::warning file=…,line=…::message`) that GitHub Actions
//! turns into annotations on the lines of a pull request.

use std::io::{self, Write};

use super::{Report, Reporter};
use crate::diagnostic::Severity;
use crate::rules;

pub struct Github;

impl Reporter for Github {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        for file in report.files {
            for error in &file.errors {
                let mut props = vec![("file", file.display.clone())];
                if let Some(p) = error.position {
                    props.push(("line", (p.line + 1).to_string()));
                    props.push(("col", (p.column + 1).to_string()));
                }
                props.push(("title", "layerwise: parse error".to_string()));
                command(out, "error", &props, &error.message)?;
            }
            for d in &file.diagnostics {
                let start = file.position(d.span.start);
                let end = file.position(d.span.end);
                let name = rules::meta(d.rule).map_or("", |m| m.name.as_str());
                let props = [
                    ("file", file.display.clone()),
                    ("line", (start.line + 1).to_string()),
                    ("endLine", (end.line + 1).to_string()),
                    ("col", (start.column + 1).to_string()),
                    ("endColumn", (end.column + 1).to_string()),
                    ("title", format!("{} {name}", d.rule)),
                ];
                let mut message = d.message.to_string();
                if let Some(help) = &d.help {
                    message.push_str(&format!("\nhelp: {help}"));
                }
                let kind = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "notice",
                };
                command(out, kind, &props, &message)?;
            }
        }
        Ok(())
    }
}

fn command(
    out: &mut dyn Write,
    kind: &str,
    props: &[(&str, String)],
    message: &str,
) -> io::Result<()> {
    let props = props
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect::<Vec<_>>()
        .join(",");
    writeln!(out, "::{kind} {props}::{}", escape_data(message))
}

/// The escapes GitHub's runner undoes in a command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// In a property, `:` and `,` are separators too.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_the_runner_reads_as_syntax() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
