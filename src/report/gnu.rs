//! `--format gnu`: `file:line:col: severity: message [ID]`, one line each, which vim's and
//! emacs's quickfix read as they read a compiler's.

use std::io::{self, Write};

use super::{Report, Reporter};

pub struct Gnu;

impl Reporter for Gnu {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        for file in report.files {
            for error in &file.errors {
                let message = one_line(&error.message);
                match error.position {
                    Some(p) => writeln!(
                        out,
                        "{}:{}:{}: error: {message}",
                        file.display,
                        p.line + 1,
                        p.column + 1
                    )?,
                    None => writeln!(out, "{}: error: {message}", file.display)?,
                }
            }
            for d in &file.diagnostics {
                let p = file.position(d.span.start);
                writeln!(
                    out,
                    "{}:{}:{}: {}: {} [{}]",
                    file.display,
                    p.line + 1,
                    p.column + 1,
                    d.severity,
                    one_line(&d.message),
                    d.rule
                )?;
            }
        }
        Ok(())
    }
}

/// Quickfix reads a line per entry.
pub(super) fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}
