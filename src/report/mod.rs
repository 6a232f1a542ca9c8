//! Output formats, one module each behind one trait.
//!
//! Every format writes as it goes and stays linear in the findings, in time and in memory, on
//! the same few means: findings are walked once, in order ([`Report::findings`]); a place in the
//! source is found by binary search ([`FileResult::position`], [`FileResult::instruction_at`]),
//! never by scanning the file per finding; and a serde format serializes its list of findings
//! from an iterator ([`Streamed`]) instead of collecting a tree of the whole report first, through
//! a buffer of its own ([`write_json_pretty`]).
//! `tests/report_memory.rs` renders every format and holds each to that.

mod checkstyle;
pub mod fingerprint;
mod github;
mod gitlab;
mod gnu;
mod human;
mod json;
mod junit;
mod markdown;
mod pretty;
mod sarif;
mod sonarqube;

use std::cell::Cell;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use serde::ser::{Error as _, Serialize, Serializer};

use std::borrow::Cow;

use crate::diagnostic::{Diagnostic, Severity};
use crate::findings::Reported;
use crate::source::Position;
use crate::syntax::{Dockerfile, Instruction, NodeKind};

pub use checkstyle::Checkstyle;
pub use github::Github;
pub use gitlab::Gitlab;
pub use gnu::Gnu;
pub use human::Human;
pub use json::Json;
pub use junit::Junit;
pub use markdown::{Markdown, cell as markdown_cell};
pub use sarif::Sarif;
pub use sonarqube::Sonarqube;

/// What linting one file gave.
#[derive(Debug)]
pub struct FileResult {
    pub path: PathBuf,
    /// The path as shown to people: as given, `/`-separated, without a leading `./`.
    pub display: String,
    pub source: Option<Arc<Dockerfile>>,
    /// Expanded one at a time as they are walked.
    pub diagnostics: Reported,
    pub errors: Vec<FileError>,
    /// The rules that ran on the file, by ID (none when it could not be read); reports that
    /// count passing checks (JUnit) list them.
    pub rules: Vec<&'static str>,
}

/// A file that could not be read, or an instruction that did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub message: String,
    /// 0-based, when the error has a place in the file.
    pub position: Option<Position>,
    pub span: Option<crate::source::Span>,
}

impl FileResult {
    /// Where an offset is, as people and tools that read the file see it: a byte-order mark,
    /// which editors hide, takes no column.
    pub fn position(&self, offset: usize) -> Position {
        let Some(source) = self.source.as_ref() else {
            return Position {
                line: 0,
                column: 0,
                utf16_column: 0,
            };
        };
        let mut position = source.position(offset);
        if position.line == 0 && offset > 0 && source.text().starts_with('\u{feff}') {
            position.column -= 1;
            position.utf16_column -= 1;
        }
        position
    }

    /// The instruction holding `offset` (its ends included), found by binary search over the
    /// file's nodes, which are in order and do not overlap.
    pub fn instruction_at(&self, offset: usize) -> Option<&Instruction> {
        let nodes = &self.source.as_deref()?.nodes;
        // The first node ending at or after `offset`: the one before the first starting after.
        let first = nodes
            .partition_point(|n| n.start < offset)
            .saturating_sub(1);
        nodes[first..]
            .iter()
            .take_while(|n| n.start <= offset)
            .find_map(|n| match &n.kind {
                NodeKind::Instruction(i) if i.span().start <= offset && offset <= i.span().end => {
                    Some(i.as_ref())
                }
                _ => None,
            })
    }
}

/// Writes a value as pretty JSON and a line break. serde_json writes token by token; a buffer of
/// its own type in front of `out` takes those writes inline instead of each being a call through
/// `dyn Write`, and [`pretty::Pretty`] writes an indent at once rather than a level at a time:
/// both made deep formats (SARIF) slow.
pub fn write_json_pretty<T: Serialize>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let mut buffered = io::BufWriter::with_capacity(64 << 10, out);
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut buffered, pretty::Pretty::default());
    value.serialize(&mut serializer)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}

/// A sequence serialized from an iterator as the iterator is walked, so that a report of many
/// findings streams out item by item instead of being collected first. It serializes once.
pub struct Streamed<I>(Cell<Option<I>>);

impl<I> Streamed<I> {
    pub fn new(items: I) -> Self {
        Streamed(Cell::new(Some(items)))
    }
}

impl<I> Serialize for Streamed<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items = self
            .0
            .take()
            .ok_or_else(|| S::Error::custom("a streamed sequence is serialized only once"))?;
        serializer.collect_seq(items)
    }
}

/// All results of a run, sorted by path.
pub struct Report<'a> {
    pub files: &'a [FileResult],
    /// Files that were there to check: `files` less the paths that do not exist.
    pub checked: usize,
    /// Draw with color.
    pub color: bool,
}

impl Report<'_> {
    pub fn findings(&self) -> impl Iterator<Item = (&FileResult, Cow<'_, Diagnostic>)> + '_ {
        self.files
            .iter()
            .flat_map(|f| f.diagnostics.iter().map(move |d| (f, d)))
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings()
            .filter(|(_, d)| d.severity == severity)
            .count()
    }
}

pub trait Reporter {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()>;
}

/// The reporter for a format name.
pub fn reporter(format: Format) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(Human),
        Format::Json => Box::new(Json),
        Format::Sarif => Box::new(Sarif),
        Format::Gnu => Box::new(Gnu),
        Format::Checkstyle => Box::new(Checkstyle),
        Format::Github => Box::new(Github),
        Format::Gitlab => Box::new(Gitlab),
        Format::Sonarqube => Box::new(Sonarqube),
        Format::Junit => Box::new(Junit),
        Format::Markdown => Box::new(Markdown),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF readers.
    Sarif,
    /// `file:line:col: severity: message [ID]`, for vim and emacs quickfix.
    Gnu,
    /// Checkstyle XML, for Jenkins and other Checkstyle readers.
    Checkstyle,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// GitLab Code Quality JSON, for merge requests.
    Gitlab,
    /// SonarQube's generic external issues JSON (SonarQube 10.3+, SonarQube Cloud).
    Sonarqube,
    /// JUnit XML: a test case per file and rule, failed by findings.
    Junit,
    /// Markdown tables for a pull request comment.
    Markdown,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary search finds what a scan of every instruction finds, at every offset.
    #[test]
    fn instruction_at_matches_a_scan() {
        let text = "# syntax=docker/dockerfile:1\nFROM a AS b\n\n# a comment\nRUN x \\\n  && y\n\
                    COPY <<EOF /f\nbody\nEOF\n  ENV A=1\nRUN z";
        let df = Arc::new(Dockerfile::parse(text));
        let file = FileResult {
            path: "Dockerfile".into(),
            display: "Dockerfile".into(),
            source: Some(df.clone()),
            diagnostics: Reported::default(),
            errors: Vec::new(),
            rules: Vec::new(),
        };
        for offset in 0..=text.len() + 1 {
            let scanned = df
                .instructions()
                .find(|i| i.span().start <= offset && offset <= i.span().end)
                .map(|i| i.span());
            assert_eq!(
                file.instruction_at(offset).map(|i| i.span()),
                scanned,
                "at {offset}"
            );
        }
    }
}
