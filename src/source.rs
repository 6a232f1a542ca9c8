//! File text plus a line index: byte offsets <-> line/column, in UTF-8 bytes, characters and
//! UTF-16 code units (the editor's unit), without rescanning the file for every lookup.

use std::ops::Range;

/// A byte range in a file's text. Half-open: `start..end`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub const fn empty(at: usize) -> Self {
        Span { start: at, end: at }
    }

    pub const fn len(self) -> usize {
        self.end - self.start
    }

    pub const fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The same span in a copy of the text that starts at `to` instead of `from` (`from` is at
    /// or before the span).
    pub fn moved(self, from: usize, to: usize) -> Span {
        Span {
            start: self.start - from + to,
            end: self.end - from + to,
        }
    }

    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }

    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn contains(self, offset: usize) -> bool {
        self.start <= offset && offset < self.end
    }

    pub fn overlaps(self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Self {
        Span::new(r.start, r.end)
    }
}

/// A position in a file. `line` and the columns are 0-based here; reports add one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    /// Column in Unicode scalar values (what a person counts).
    pub column: usize,
    /// Column in UTF-16 code units (what LSP and SARIF count by default).
    pub utf16_column: usize,
}

/// Where each line starts, so that offset -> line is a binary search and line -> offset a lookup.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Starts,
    ascii: bool,
}

/// The line starts, in `u32`s when the text is under 4 GiB (every file in practice): the parsed
/// file keeps its index while it is linted, and a start of 8 bytes was a seventh of a short
/// line's size.
#[derive(Clone, Debug)]
enum Starts {
    Narrow(Box<[u32]>),
    Wide(Box<[usize]>),
}

impl Starts {
    fn new(text: &str) -> Starts {
        Starts::with_width(text, u32::try_from(text.len()).is_ok())
    }

    fn with_width(text: &str, narrow: bool) -> Starts {
        let newlines = || memchr_newlines(text.as_bytes()).map(|i| i + 1);
        // Counted first, so that the list is allocated once and holds no spare room.
        let count = 1 + newlines().count();
        if narrow {
            let mut starts = Vec::with_capacity(count);
            starts.push(0);
            starts.extend(newlines().map(|i| i as u32));
            Starts::Narrow(starts.into_boxed_slice())
        } else {
            let mut starts = Vec::with_capacity(count);
            starts.push(0);
            starts.extend(newlines());
            Starts::Wide(starts.into_boxed_slice())
        }
    }

    fn len(&self) -> usize {
        match self {
            Starts::Narrow(starts) => starts.len(),
            Starts::Wide(starts) => starts.len(),
        }
    }

    fn get(&self, line: usize) -> Option<usize> {
        match self {
            Starts::Narrow(starts) => starts.get(line).map(|&s| s as usize),
            Starts::Wide(starts) => starts.get(line).copied(),
        }
    }

    /// The first line starting after `offset`.
    fn after(&self, offset: usize) -> usize {
        match self {
            Starts::Narrow(starts) => starts.partition_point(|&s| s as usize <= offset),
            Starts::Wide(starts) => starts.partition_point(|&s| s <= offset),
        }
    }
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        LineIndex {
            starts: Starts::new(text),
            ascii: text.is_ascii(),
        }
    }

    /// Number of lines; a file ending in a newline has an empty last line after it.
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// The 0-based line holding `offset` (an offset at the end of the text is on the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        // The first line starts at 0, so at least one line starts at or before any offset.
        self.starts.after(offset) - 1
    }

    pub fn line_start(&self, line: usize) -> usize {
        let last = self.starts.len() - 1;
        self.starts.get(line.min(last)).unwrap_or(0)
    }

    /// Byte span of a line's content, without its `\n` (a `\r` before it is kept).
    pub fn line_span(&self, text: &str, line: usize) -> Span {
        let start = self.line_start(line);
        let end = self
            .starts
            .get(line + 1)
            .map_or(text.len(), |next| next - 1);
        Span::new(start, end.max(start))
    }

    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_of(offset);
        let start = self.line_start(line);
        if self.ascii {
            let column = offset - start;
            return Position {
                line,
                column,
                utf16_column: column,
            };
        }
        let before = &text[start..offset];
        Position {
            line,
            column: before.chars().count(),
            utf16_column: before.chars().map(char::len_utf16).sum(),
        }
    }

    /// The byte offset of a 0-based line and UTF-16 column, clamped into the text: a column past
    /// the end of the line gives the line's end, a line past the end gives the text's end.
    pub fn offset_utf16(&self, text: &str, line: usize, utf16_column: usize) -> usize {
        if line >= self.starts.len() {
            return text.len();
        }
        let span = self.line_span(text, line);
        let mut units = 0;
        for (i, c) in text[span.range()].char_indices() {
            if units >= utf16_column {
                return span.start + i;
            }
            units += c.len_utf16();
        }
        span.end
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| (b == b'\n').then_some(i))
}

/// The largest char boundary at or below `offset`.
pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_chars_and_utf16_units() {
        let text = "ab\nhé𝄞x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line_count(), 3);
        let x = text.find('x').unwrap();
        let pos = index.position(text, x);
        assert_eq!((pos.line, pos.column, pos.utf16_column), (1, 3, 4));
        assert_eq!(index.offset_utf16(text, 1, 4), x);
        assert_eq!(index.offset_utf16(text, 1, 99), text.len() - 1);
        assert_eq!(index.offset_utf16(text, 9, 0), text.len());
    }

    #[test]
    fn offsets_inside_a_char_round_down() {
        let text = "é";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 1).column, 0);
    }

    #[test]
    fn starts_past_4_gib_answer_alike() {
        let text = "ab\nhé𝄞x\n\nlast";
        let narrow = LineIndex::new(text);
        let wide = LineIndex {
            starts: Starts::with_width(text, false),
            ascii: false,
        };
        assert!(matches!(narrow.starts, Starts::Narrow(_)));
        assert!(matches!(wide.starts, Starts::Wide(_)));
        assert_eq!(wide.line_count(), narrow.line_count());
        for offset in 0..=text.len() + 1 {
            assert_eq!(wide.line_of(offset), narrow.line_of(offset), "{offset}");
            assert_eq!(wide.position(text, offset), narrow.position(text, offset));
        }
        for line in 0..=narrow.line_count() {
            assert_eq!(wide.line_start(line), narrow.line_start(line));
            assert_eq!(wide.line_span(text, line), narrow.line_span(text, line));
        }
    }

    #[test]
    fn line_span_excludes_newline() {
        let text = "a\r\nbc";
        let index = LineIndex::new(text);
        assert_eq!(&text[index.line_span(text, 0).range()], "a\r");
        assert_eq!(&text[index.line_span(text, 1).range()], "bc");
    }
}
