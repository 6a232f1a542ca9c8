//! The default output, for people: each finding drawn by miette with the source snippet, the
//! span underlined, the rule, a help line and the fix.

use std::fmt;
use std::io::{self, Write};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceSpan};
use rayon::prelude::*;

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
        let handlers = Handlers::new(theme);
        for file in report.files {
            let text = file.source.as_ref().map_or("", |s| s.text());
            for error in &file.errors {
                let kind = Kind::Error(error);
                out.write_all(handlers.render(&Shown { file, text, kind })?.as_bytes())?;
            }
            // Drawing a finding costs several times what finding it did: a batch at a time is
            // drawn on all cores, then written in order.
            let mut findings = file.diagnostics.iter().peekable();
            while findings.peek().is_some() {
                let batch: Vec<_> = findings.by_ref().take(BATCH).collect();
                let drawn: Vec<String> = batch
                    .par_iter()
                    .map(|d| {
                        let kind = Kind::Finding(d);
                        handlers.render(&Shown { file, text, kind })
                    })
                    .collect::<Result<_, _>>()?;
                for finding in drawn {
                    out.write_all(finding.as_bytes())?;
                }
            }
        }
        summary(report, out)
    }
}

/// Findings drawn at once: enough to share among threads, few enough that their text stays
/// small.
const BATCH: usize = 512;

/// The width of the report, in columns.
const WIDTH: usize = 100;

/// miette's renderer twice: one that wraps the message and help lines to the width, and one
/// that writes them as they are, for the usual finding whose lines fit anyway. The output is
/// the same; wrapping (textwrap, called on every text) cost more than all the rest of a
/// finding.
struct Handlers {
    wrapping: GraphicalReportHandler,
    plain: GraphicalReportHandler,
}

impl Handlers {
    fn new(theme: GraphicalTheme) -> Self {
        // Lines break at spaces only: Unicode's line breaking also breaks after a `-`, inside
        // `--no-install-recommends`.
        let wrapping = GraphicalReportHandler::new_themed(theme)
            .with_width(WIDTH)
            .with_links(false)
            .with_word_separator(textwrap::WordSeparator::AsciiSpace);
        let plain = wrapping.clone().with_wrap_lines(false);
        Handlers { wrapping, plain }
    }

    fn for_shown(&self, shown: &Shown<'_>) -> &GraphicalReportHandler {
        // miette indents the message by 4 columns (`  ⚠ `), the help by 8 (`  help: `), and
        // wraps to 2 columns less than the width. A line that fits, and has no space at its
        // ends for wrapping to trim, comes out the same either way. No character is wider
        // than its UTF-8 bytes: a short line fits without measuring it.
        let fits = |text: &str, indent: usize| {
            text.split('\n').all(|line| {
                !line.is_empty()
                    && line.trim() == line
                    && !line.contains('\t')
                    && (indent + line.len() < WIDTH - 2
                        || indent + textwrap::core::display_width(line) < WIDTH - 2)
            })
        };
        let help = miette::Diagnostic::help(shown).map(|h| h.to_string());
        if fits(&shown.to_string(), 4) && help.is_none_or(|h| fits(&h, 8)) {
            &self.plain
        } else {
            &self.wrapping
        }
    }

    /// One finding as drawn, with the blank line after it.
    fn render(&self, shown: &Shown<'_>) -> io::Result<String> {
        let mut drawn = String::new();
        self.for_shown(shown)
            .render_report(&mut drawn, shown)
            .map_err(|e| io::Error::other(e.to_string()))?;
        drawn.push('\n');
        Ok(drawn)
    }
}

fn summary(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let files = report.checked;
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
    text: &'a str,
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
            Kind::Error(e) if e.span.is_some() => Some(Box::new("syntax")),
            Kind::Error(_) => None,
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
        let mut help = d.help.as_deref().unwrap_or_default().to_string();
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
        let labels: Vec<LabeledSpan> = match &self.kind {
            Kind::Finding(d) => {
                std::iter::once(LabeledSpan::new_primary_with_span(None, span(d.span)))
                    .chain(d.labels().iter().map(|l| {
                        LabeledSpan::new_with_span(Some(l.message.to_string()), span(l.span))
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

impl Shown<'_> {
    /// The whole lines around `span` with room for the context lines: (start, end, first line).
    fn window(&self, span: &SourceSpan, before: usize, after: usize) -> (usize, usize, usize) {
        let len = self.text.len();
        let Some(df) = self
            .file
            .source
            .as_deref()
            .filter(|df| df.text().len() == len)
        else {
            return (0, len, 0);
        };
        let lines = df.lines();
        // One line more than asked on each side, so that miette sees the line break before the
        // first context line and where the last one ends, as it does in the whole text.
        let first = lines
            .line_of(span.offset().min(len))
            .saturating_sub(before + 1);
        let past = lines.line_of((span.offset() + span.len()).min(len)) + after + 2;
        let end = if past < lines.line_count() {
            lines.line_start(past)
        } else {
            len
        };
        (lines.line_start(first), end, first)
    }
}

impl miette::SourceCode for Shown<'_> {
    /// miette finds a snippet by scanning the text from its start, which made a report of many
    /// findings quadratic in the file's length. It scans only a window of lines around the span
    /// here, and its offsets and line numbers are moved back into the whole file.
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let (start, end, first_line) = self.window(span, context_lines_before, context_lines_after);
        let offset = span
            .offset()
            .checked_sub(start)
            .ok_or(miette::MietteError::OutOfBounds)?;
        let window: &'b str = &self.text[start..end];
        let local = SourceSpan::new(offset.into(), span.len());
        let contents = window.read_span(&local, context_lines_before, context_lines_after)?;
        let data: &'b [u8] = contents.data();
        let found = SourceSpan::new(
            (contents.span().offset() + start).into(),
            contents.span().len(),
        );
        // miette counts the column in bytes; the header shows what the other formats show.
        let column = self.file.position(span.offset()).column;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.file.display.clone(),
            data,
            found,
            contents.line() + first_line,
            column,
            // miette counts the lines from the start of the text up to the snippet's end.
            contents.line_count() + first_line,
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::syntax::Dockerfile;
    use miette::SourceCode;

    /// The windowed lookup gives what miette's own lookup over the whole text gives.
    #[test]
    fn snippets_read_from_a_window_match_the_whole_text() {
        let text = "FROM a\n\nRUN x \\\n  && y\r\n# é𝄞\nRUN z\nCOPY . /app\n";
        let file = FileResult {
            path: "Dockerfile".into(),
            display: "Dockerfile".into(),
            source: Some(Arc::new(Dockerfile::parse(text))),
            diagnostics: Default::default(),
            errors: Vec::new(),
            rules: Vec::new(),
        };
        let error = crate::report::FileError {
            message: String::new(),
            position: None,
            span: None,
        };
        let shown = Shown {
            file: &file,
            text,
            kind: Kind::Error(&error),
        };
        let ends: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for &start in &ends {
            for &end in ends.iter().filter(|&&e| e >= start) {
                let span = SourceSpan::from(start..end);
                for context in [0, 1, 2] {
                    let ours = shown.read_span(&span, context, context).unwrap();
                    let theirs = text.read_span(&span, context, context).unwrap();
                    let what = format!("{start}..{end} with {context} lines of context");
                    assert_eq!(ours.data(), theirs.data(), "{what}");
                    assert_eq!(ours.span(), theirs.span(), "{what}");
                    assert_eq!(ours.line(), theirs.line(), "{what}");
                    // the span's column, in characters (miette's own counts bytes)
                    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                    let chars = text[line_start..start].chars().count();
                    assert_eq!(ours.column(), chars, "{what}");
                    assert_eq!(ours.line_count(), theirs.line_count(), "{what}");
                }
            }
        }
    }
}
