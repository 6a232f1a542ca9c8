//! `--format markdown`: a summary and a table per file, to post as a pull request comment
//! (GitHub and GitLab render GitHub Flavored Markdown tables). Each finding gets its line, rule,
//! message and how to fix it. Text is escaped for a table cell: `|` everywhere, Markdown and
//! HTML outside code spans. A comment holds at most 65,536 characters on GitHub, so past
//! [`LIMIT`] bytes the rest is counted, not listed.

use std::io::{self, Write};

use super::{FileResult, Report, Reporter};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Safety;
use crate::rules;

pub struct Markdown;

/// Bytes of table rows written before the rest is only counted.
pub const LIMIT: usize = 60_000;

impl Reporter for Markdown {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let total = report.findings().count();
        let errors = report.files.iter().filter(|f| !f.errors.is_empty()).count();
        let with_findings = report
            .files
            .iter()
            .filter(|f| !f.diagnostics.is_empty() || !f.errors.is_empty())
            .count();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        writeln!(out, "### layerwise")?;
        writeln!(out)?;
        if total == 0 && errors == 0 {
            writeln!(
                out,
                "{} checked: no findings.",
                plural(report.checked, "file")
            )?;
            return Ok(());
        }
        let mut summary = format!(
            "{} checked: **{}** in {} ({} error, {} warning, {} info)",
            plural(report.checked, "file"),
            plural(total, "finding"),
            plural(with_findings, "file"),
            report.count(Severity::Error),
            report.count(Severity::Warning),
            report.count(Severity::Info),
        );
        if errors > 0 {
            let verb = if errors == 1 { "does" } else { "do" };
            summary.push_str(&format!("; {} {verb} not parse", plural(errors, "file")));
        }
        writeln!(out, "{summary}.")?;
        let safe = count_fixes(report, Safety::Safe);
        let unsafe_fixes = count_fixes(report, Safety::Unsafe);
        if safe + unsafe_fixes > 0 {
            writeln!(out)?;
            writeln!(
                out,
                "{safe} fixable with `layerwise fix`, {unsafe_fixes} more with `layerwise fix --unsafe`."
            )?;
        }
        let mut written = 0;
        let mut left = 0;
        for file in report.files {
            if file.diagnostics.is_empty() && file.errors.is_empty() {
                continue;
            }
            if written > LIMIT {
                left += file.diagnostics.len() + file.errors.len();
                continue;
            }
            let mut block = String::new();
            block.push_str(&format!("\n#### `{}`\n\n", code_text(&file.display)));
            for error in &file.errors {
                let place = error
                    .position
                    .map_or(String::new(), |p| format!(" (line {})", p.line + 1));
                block.push_str(&format!(
                    "- :x: does not parse{place}: {}\n",
                    cell(&error.message)
                ));
            }
            if !file.errors.is_empty() && !file.diagnostics.is_empty() {
                block.push('\n');
            }
            if !file.diagnostics.is_empty() {
                block.push_str("| Line | Rule | Finding | How to fix |\n|---:|---|---|---|\n");
            }
            out.write_all(block.as_bytes())?;
            written += block.len();
            for d in &file.diagnostics {
                if written > LIMIT {
                    left += 1;
                    continue;
                }
                let row = row(file, &d);
                out.write_all(row.as_bytes())?;
                written += row.len();
            }
        }
        if left > 0 {
            writeln!(
                out,
                "\n{} more not listed here (the comment would be too long); the job log or \
                 `layerwise lint` has them all.",
                plural(left, "finding")
            )?;
        }
        Ok(())
    }
}

fn count_fixes(report: &Report<'_>, safety: Safety) -> usize {
    report
        .findings()
        .filter(|(_, d)| d.fix.as_ref().is_some_and(|f| f.safety == safety))
        .count()
}

fn row(file: &FileResult, d: &Diagnostic) -> String {
    let line = file.position(d.span.start).line + 1;
    let icon = match d.severity {
        Severity::Error => ":x:",
        Severity::Warning => ":warning:",
        Severity::Info => ":information_source:",
    };
    let rule = match rules::meta(d.rule) {
        Some(meta) => format!("{icon} [{}]({}) {}", d.rule, meta.url(), meta.name),
        None => format!("{icon} {}", d.rule),
    };
    let how = match &d.fix {
        Some(fix) if fix.safety == Safety::Safe => {
            format!("{} (`layerwise fix`)", cell(&fix.title))
        }
        Some(fix) if fix.safety == Safety::Unsafe => {
            format!("{} (`layerwise fix --unsafe`)", cell(&fix.title))
        }
        _ => d.help.as_deref().map(cell).unwrap_or_default(),
    };
    format!("| {line} | {rule} | {} | {how} |\n", cell(&d.message))
}

/// Text for a table cell: code spans (between backticks) kept, with only `|` escaped in them;
/// elsewhere Markdown's and HTML's special characters escaped; lines joined.
pub fn cell(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace(['\n', '\r'], " ");
    let mut out = String::with_capacity(text.len() + 8);
    // An unmatched backtick is literal text, not the start of a code span.
    let spans = text.matches('`').count();
    let mut in_code = false;
    let mut backticks_left = spans - spans % 2;
    for c in text.chars() {
        if c == '`' && backticks_left > 0 {
            backticks_left -= 1;
            in_code = !in_code;
            out.push(c);
            continue;
        }
        match c {
            '|' => out.push_str("\\|"),
            _ if in_code => out.push(c),
            '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' | '!' | '`' | '&' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A file name inside a code span in a heading: backticks would end it.
fn code_text(text: &str) -> String {
    text.replace('`', "'")
}
