//! Output formats, one module each behind one trait.

mod checkstyle;
mod github;
mod gnu;
mod human;
mod json;
mod sarif;

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Position;
use crate::syntax::Dockerfile;

pub use checkstyle::Checkstyle;
pub use github::Github;
pub use gnu::Gnu;
pub use human::Human;
pub use json::Json;
pub use sarif::{Sarif, sarif_log};

/// What linting one file gave.
#[derive(Debug)]
pub struct FileResult {
    pub path: PathBuf,
    /// The path as shown to people: as given, `/`-separated, without a leading `./`.
    pub display: String,
    pub source: Option<Arc<Dockerfile>>,
    pub diagnostics: Vec<Diagnostic>,
    pub errors: Vec<FileError>,
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
    pub fn findings(&self) -> impl Iterator<Item = (&FileResult, &Diagnostic)> + '_ {
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
}
