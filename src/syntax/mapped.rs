//! Text assembled from pieces of a file (an instruction with its line continuations removed, a
//! shell script made of a RUN line and its heredoc bodies), with a map back to the file's bytes.

use std::ops::Range;
use std::sync::Arc;

use crate::source::Span;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappedText {
    text: String,
    segments: Vec<Segment>,
}

/// `len` bytes at `text` in the assembled text came from `source` in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    text: usize,
    source: usize,
    len: usize,
}

impl MappedText {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `file[span]`.
    pub fn push_source(&mut self, file: &str, span: Span) {
        if span.is_empty() {
            return;
        }
        let text = self.text.len();
        match self.segments.last_mut() {
            // Adjacent in both: extend, so a plain line maps with one segment.
            Some(last) if last.text + last.len == text && last.source + last.len == span.start => {
                last.len += span.len()
            }
            _ => self.segments.push(Segment {
                text,
                source: span.start,
                len: span.len(),
            }),
        }
        self.text.push_str(&file[span.range()]);
    }

    /// Appends text that is not in the file (such as a newline joining two pieces); offsets in it
    /// map to where the previous piece ended.
    pub fn push_synthetic(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Appends `line[range]`, keeping its map.
    pub fn push_line(&mut self, line: &InstructionLine, range: Range<usize>) {
        match line {
            InstructionLine::File { file, start, .. } => {
                let start = *start as usize;
                self.push_source(file, Span::new(start + range.start, start + range.end))
            }
            InstructionLine::Joined(joined) => self.push_mapped(joined, range),
        }
    }

    /// Appends `other[range]`, keeping its map.
    pub fn push_mapped(&mut self, other: &MappedText, range: Range<usize>) {
        let mut at = range.start;
        for seg in &other.segments {
            let (start, end) = (seg.text.max(at), (seg.text + seg.len).min(range.end));
            if start >= end {
                continue;
            }
            if at < start {
                self.push_synthetic(&other.text[at..start]);
            }
            let text = self.text.len();
            self.segments.push(Segment {
                text,
                source: seg.source + (start - seg.text),
                len: end - start,
            });
            self.text.push_str(&other.text[start..end]);
            at = end;
        }
        if at < range.end {
            self.push_synthetic(&other.text[at..range.end]);
        }
    }

    /// Gives back the room kept for more pieces: the tree keeps every instruction's line while
    /// the file is linted, and a line of one piece would hold room for four.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.segments.shrink_to_fit();
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Where this text starts in the file (its lowest source offset), and how it is laid out
    /// relative to that start: two texts with equal layouts read the same and map alike, one
    /// moved from the other by the difference of their starts.
    pub fn layout(&self) -> (usize, Vec<(usize, usize, usize)>) {
        let base = self.segments.iter().map(|s| s.source).min().unwrap_or(0);
        let pieces = self
            .segments
            .iter()
            .map(|s| (s.text, s.source - base, s.len))
            .collect();
        (base, pieces)
    }

    /// The file offset of the byte at `offset` in this text.
    pub fn to_source(&self, offset: usize) -> usize {
        let Some(first) = self.segments.first() else {
            return 0;
        };
        let i = self.segments.partition_point(|s| s.text <= offset);
        if i == 0 {
            return first.source;
        }
        let seg = self.segments[i - 1];
        if offset < seg.text + seg.len {
            seg.source + (offset - seg.text)
        } else {
            // In synthetic text or at the end: stick to the end of the previous piece.
            seg.source + seg.len
        }
    }

    /// The file offset just after the byte at `offset - 1`: where a span ending at `offset` ends.
    pub fn to_source_end(&self, offset: usize) -> usize {
        if offset == 0 {
            return self.to_source(0);
        }
        self.to_source(offset - 1) + 1
    }

    /// The file span of a range of this text. A range crossing a removed continuation covers it.
    pub fn span(&self, range: Range<usize>) -> Span {
        if range.is_empty() {
            let at = self.to_source(range.start);
            return Span::empty(at);
        }
        Span::new(self.to_source(range.start), self.to_source_end(range.end))
    }
}

/// A file's text as its instructions' lines share it: behind one pointer, where an `Arc<str>`
/// is two, so that a line is two words (every instruction of the tree holds one).
pub type SharedText = Arc<Box<str>>;

/// An instruction's line as the tree keeps it, for every instruction while the file is linted:
/// a line that is one piece of the file (most are) is that piece of the file's text, shared,
/// not a copy with a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstructionLine {
    /// `file[start..end]`.
    File {
        file: SharedText,
        start: u32,
        end: u32,
    },
    /// Joined from several pieces (continuation lines), or past 4 GiB into the file.
    Joined(Box<MappedText>),
}

impl InstructionLine {
    /// The line `joined` holds, sharing `file`'s text when it is one piece of it.
    pub fn new(joined: MappedText, file: &SharedText) -> InstructionLine {
        let fits = |n: usize| u32::try_from(n).ok();
        match joined.segments[..] {
            [one] if one.text == 0 && one.len == joined.len() => {
                let place = (fits(one.source), fits(one.source + one.len));
                if let (Some(start), Some(end)) = place {
                    return InstructionLine::File {
                        file: file.clone(),
                        start,
                        end,
                    };
                }
            }
            [] if joined.is_empty() => {
                return InstructionLine::File {
                    file: file.clone(),
                    start: 0,
                    end: 0,
                };
            }
            _ => {}
        }
        let mut joined = joined;
        joined.shrink_to_fit();
        InstructionLine::Joined(Box::new(joined))
    }

    pub fn as_str(&self) -> &str {
        match self {
            InstructionLine::File { file, start, end } => &file[*start as usize..*end as usize],
            InstructionLine::Joined(joined) => joined.as_str(),
        }
    }

    pub fn len(&self) -> usize {
        self.as_str().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }

    /// The file span of a range of this line (as [`MappedText::span`]).
    pub fn span(&self, range: Range<usize>) -> Span {
        match self {
            InstructionLine::File { start, .. } => {
                let start = *start as usize;
                Span::new(start + range.start, start + range.end)
            }
            InstructionLine::Joined(joined) => joined.span(range),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_joined_lines_back_to_the_file() {
        let file = "RUN a \\\n  && b\n";
        let mut m = MappedText::new();
        m.push_source(file, Span::new(0, 6));
        m.push_source(file, Span::new(8, 14));
        assert_eq!(m.as_str(), "RUN a   && b");
        let amp = m.as_str().find("&&").unwrap();
        assert_eq!(m.to_source(amp), file.find("&&").unwrap());
        let whole = m.span(0..m.len());
        assert_eq!(&file[whole.range()], "RUN a \\\n  && b");
        let first = m.span(0..5);
        assert_eq!(&file[first.range()], "RUN a");
    }

    #[test]
    fn a_slice_keeps_its_map() {
        let file = "RUN a \\\n  && b\n";
        let mut line = MappedText::new();
        line.push_source(file, Span::new(0, 6));
        line.push_source(file, Span::new(8, 14));
        let mut args = MappedText::new();
        args.push_mapped(&line, 4..line.len());
        assert_eq!(args.as_str(), "a   && b");
        assert_eq!(
            args.span(4..6),
            Span::new(file.find("&&").unwrap(), file.find("&&").unwrap() + 2)
        );
    }

    #[test]
    fn a_line_of_one_piece_shares_the_file_and_maps_alike() {
        let file: SharedText = Arc::new("FROM a\nRUN a \\\n  && b\nRUN c\n".into());
        let piece = |span: Span| {
            let mut m = MappedText::new();
            m.push_source(&file, span);
            m
        };
        let one = piece(Span::new(file.find("RUN c").unwrap(), file.len() - 1));
        let line = InstructionLine::new(one.clone(), &file);
        assert!(matches!(line, InstructionLine::File { .. }));
        assert_eq!(line.as_str(), "RUN c");
        assert_eq!(line.span(4..5), one.span(4..5));
        let mut copied = MappedText::new();
        copied.push_line(&line, 4..5);
        assert_eq!((copied.as_str(), copied.span(0..1)), ("c", one.span(4..5)));
        // Two pieces (a continuation) keep their map.
        let mut joined = piece(Span::new(7, 13));
        joined.push_source(&file, Span::new(15, 21));
        let line = InstructionLine::new(joined.clone(), &file);
        assert!(matches!(line, InstructionLine::Joined(_)));
        assert_eq!(line.as_str(), "RUN a   && b");
        assert_eq!(line.span(8..10), joined.span(8..10));
    }

    #[test]
    fn synthetic_text_maps_to_the_previous_end() {
        let file = "abcdef";
        let mut m = MappedText::new();
        m.push_source(file, Span::new(0, 2));
        m.push_synthetic("\n");
        m.push_source(file, Span::new(4, 6));
        assert_eq!(m.as_str(), "ab\nef");
        assert_eq!(m.to_source(2), 2);
        assert_eq!(m.to_source(3), 4);
        assert_eq!(m.span(3..5), Span::new(4, 6));
    }
}
