//! The default output, for people: each finding drawn by miette with the source snippet, the
//! span underlined, the rule, a help line and the fix.

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceSpan};

use super::{FileResult, Report, Reporter};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Safety;
use crate::rules;

pub struct Human;

impl Reporter for Human {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let theme = if report.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false);
        for file in report.files {
            let text: Arc<str> = file
                .source
                .as_ref()
                .map_or_else(|| Arc::from(""), |s| Arc::from(s.text()));
            for error in &file.errors {
                let shown = Shown {
                    file,
                    text: text.clone(),
                    kind: Kind::Error(error),
                };
                render(&handler, &shown, out)?;
            }
            for diagnostic in &file.diagnostics {
                let shown = Shown {
                    file,
                    text: text.clone(),
                    kind: Kind::Finding(diagnostic),
                };
                render(&handler, &shown, out)?;
            }
        }
        summary(report, out)
    }
}

fn render(
    handler: &GraphicalReportHandler,
    shown: &Shown<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut text = String::new();
    handler
        .render_report(&mut text, shown)
        .map_err(|e| io::Error::other(e.to_string()))?;
    out.write_all(text.as_bytes())?;
    writeln!(out)
}

fn summary(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let files = report.files.len();
    let errors: usize = report.files.iter().map(|f| f.errors.len()).sum();
    let total = report.findings().count();
    let fixable = report
        .findings()
        .filter(|(_, d)| d.fix.as_ref().is_some_and(|f| f.safety == Safety::Safe))
        .count();
    let unsafe_fixable = report
        .findings()
        .filter(|(_, d)| d.fix.as_ref().is_some_and(|f| f.safety == Safety::Unsafe))
        .count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if total == 0 && errors == 0 {
        return writeln!(out, "{} checked: no findings", plural(files, "file"));
    }
    let mut line = format!(
        "{} checked: {} ({} error, {} warning, {} info)",
        plural(files, "file"),
        plural(total, "finding"),
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
    );
    if errors > 0 {
        line.push_str(&format!(", {}", plural(errors, "error")));
    }
    writeln!(out, "{line}")?;
    if fixable > 0 || unsafe_fixable > 0 {
        writeln!(
            out,
            "{fixable} fixable with `layerwise fix`, {unsafe_fixable} more with `layerwise fix --unsafe`"
        )?;
    }
    Ok(())
}

enum Kind<'a> {
    Finding(&'a Diagnostic),
    Error(&'a super::FileError),
}

/// A finding or error as miette wants it.
struct Shown<'a> {
    file: &'a FileResult,
    text: Arc<str>,
    kind: Kind<'a>,
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Finding(d) => f.write_str(&d.message),
            Kind::Error(e) => write!(f, "{}: {}", self.file.display, e.message),
        }
    }
}

impl std::error::Error for Shown<'_> {}

impl miette::Diagnostic for Shown<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        match &self.kind {
            Kind::Finding(d) => {
                let name = rules::meta(d.rule).map_or("", |m| m.name.as_str());
                Some(Box::new(format!("{}({name})", d.rule)))
            }
            Kind::Error(_) => Some(Box::new("syntax")),
        }
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match &self.kind {
            Kind::Finding(d) => match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            },
            Kind::Error(_) => miette::Severity::Error,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let Kind::Finding(d) = &self.kind else {
            return None;
        };
        let mut help = d.help.clone().unwrap_or_default();
        if let Some(fix) = &d.fix {
            if !help.is_empty() {
                help.push('\n');
            }
            help.push_str(&format!("fix ({}): {}", fix.safety.as_str(), fix.title));
        }
        (!help.is_empty()).then(|| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn url<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        None
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        if self.text.is_empty() {
            return None;
        }
        Some(self)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = |s: crate::source::Span| SourceSpan::from(s.start..s.end);
        let labels: Vec<LabeledSpan> =
            match &self.kind {
                Kind::Finding(d) => {
                    std::iter::once(LabeledSpan::new_primary_with_span(None, span(d.span)))
                        .chain(d.labels.iter().map(|l| {
                            LabeledSpan::new_with_span(Some(l.message.clone()), span(l.span))
                        }))
                        .collect()
                }
                Kind::Error(e) => e
                    .span
                    .map(|s| LabeledSpan::new_primary_with_span(Some("here".into()), span(s)))
                    .into_iter()
                    .collect(),
            };
        (!labels.is_empty()).then(|| Box::new(labels.into_iter()) as Box<dyn Iterator<Item = _>>)
    }
}

impl miette::SourceCode for Shown<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let text: &'b str = &self.text;
        let contents = text.read_span(span, context_lines_before, context_lines_after)?;
        let data: &'b [u8] = contents.data();
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.file.display.clone(),
            data,
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}
