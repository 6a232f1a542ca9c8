//! Properties that hold for any input: the parser is lossless and never panics, line/column
//! conversions round-trip, and lint and fix survive whatever they are given.

use layerwise::fix::Safety;
use layerwise::fixer::fix_text;
use layerwise::lint::{LintOptions, lint};
use layerwise::source::LineIndex;
use layerwise::syntax::Dockerfile;
use proptest::prelude::*;

/// Text made of Dockerfile pieces, so that random input reaches deep into the parser.
fn dockerfile_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("FROM debian AS b\n".to_string()),
        Just("RUN apt-get update && apt-get install -y x\n".to_string()),
        Just("RUN a \\\n".to_string()),
        Just("  # c\n".to_string()),
        Just("\n".to_string()),
        Just("RUN <<EOF\n".to_string()),
        Just("EOF\n".to_string()),
        Just("COPY --from=b . /app\n".to_string()),
        Just("ENV A=1 B=\"2 3\"\n".to_string()),
        Just("CMD [\"a\", 1]\n".to_string()),
        Just("# escape=`\n".to_string()),
        Just("ONBUILD RUN x\n".to_string()),
        Just("\r\n".to_string()),
        Just("RUN rm -rf /var/lib/apt/lists/*\n".to_string()),
        Just("RUN pip install -r r.txt; cd /x\n".to_string()),
        "[ -~]{0,20}\n",
        "\\PC{0,8}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn parsing_is_lossless_for_any_text(text in "\\PC{0,200}") {
        let df = Dockerfile::parse(text.as_str());
        prop_assert_eq!(df.to_string(), text.clone());
        let mut at = 0;
        for (span, _) in df.node_spans() {
            prop_assert_eq!(span.start, at, "nodes leave no gap");
            at = span.end;
        }
        prop_assert_eq!(at, text.len());
    }

    #[test]
    fn dockerfile_like_text_parses_lints_and_fixes(text in dockerfile_like()) {
        let df = Dockerfile::parse(text.as_str());
        prop_assert_eq!(df.to_string(), text.clone());
        for d in lint(&df, &LintOptions::default()) {
            prop_assert!(d.span.end <= text.len());
            prop_assert!(text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end));
        }
        let fixed = fix_text(&text, &LintOptions::default(), Safety::Unsafe);
        if fixed.changed() {
            prop_assert!(Dockerfile::parse(fixed.text.as_str()).errors.is_empty());
            let again = fix_text(&fixed.text, &LintOptions::default(), Safety::Unsafe);
            prop_assert!(!again.changed(), "second pass applied {:?} to\n{}", again.applied, fixed.text);
        }
    }

    #[test]
    fn utf16_positions_round_trip(text in "\\PC{0,120}", pick in 0usize..200) {
        let index = LineIndex::new(&text);
        let mut offset = pick.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let pos = index.position(&text, offset);
        prop_assert_eq!(index.offset_utf16(&text, pos.line, pos.utf16_column), offset);
    }
}

/// Text with many lines, `\r\n` endings, and characters of 1 to 4 bytes (2 UTF-16 units for 𝄞).
fn multiline_unicode() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a".to_string()),
        Just("RUN x".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("é".to_string()),
        Just("中".to_string()),
        Just("𝄞".to_string()),
        Just("\t".to_string()),
        "\\PC{0,3}",
    ];
    prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every character boundary: offset -> (line, column, UTF-16 column) -> offset, and the
    /// position agrees with counting by hand.
    #[test]
    fn every_offset_round_trips_through_its_position(text in multiline_unicode()) {
        let index = LineIndex::new(&text);
        for offset in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let pos = index.position(&text, offset);
            let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
            let before = &text[line_start..offset];
            prop_assert_eq!(pos.line, text[..offset].matches('\n').count());
            prop_assert_eq!(pos.column, before.chars().count());
            prop_assert_eq!(pos.utf16_column, before.encode_utf16().count());
            prop_assert_eq!(index.line_start(pos.line), line_start);
            prop_assert_eq!(index.offset_utf16(&text, pos.line, pos.utf16_column), offset);
        }
    }

    /// An offset inside a character, or past the end, gives the position of the boundary
    /// before it (the end of the text).
    #[test]
    fn offsets_off_a_boundary_or_past_the_end_clamp(text in multiline_unicode(), past in 1usize..50) {
        let index = LineIndex::new(&text);
        for offset in (0..text.len()).filter(|&i| !text.is_char_boundary(i)) {
            let floor = (0..offset).rev().find(|&i| text.is_char_boundary(i)).unwrap();
            prop_assert_eq!(index.position(&text, offset), index.position(&text, floor));
        }
        prop_assert_eq!(
            index.position(&text, text.len() + past),
            index.position(&text, text.len())
        );
    }

    /// A column past the end of a line gives the line's end (before its `\n`); a line past the
    /// last gives the end of the text; a column inside a surrogate pair gives a boundary on
    /// that line. Lines and their spans agree.
    #[test]
    fn columns_and_lines_out_of_range_clamp(text in multiline_unicode(), extra in 0usize..8) {
        let index = LineIndex::new(&text);
        prop_assert_eq!(index.line_count(), text.matches('\n').count() + 1);
        for line in 0..index.line_count() {
            let span = index.line_span(&text, line);
            let content = &text[span.range()];
            prop_assert!(!content.contains('\n'));
            prop_assert_eq!(index.line_of(span.start), line);
            prop_assert_eq!(index.line_of(span.end), line);
            let units = content.encode_utf16().count();
            prop_assert_eq!(index.offset_utf16(&text, line, units + extra), span.end);
            for column in 0..=units {
                let at = index.offset_utf16(&text, line, column);
                prop_assert!(text.is_char_boundary(at) && span.start <= at && at <= span.end);
                prop_assert!(index.position(&text, at).utf16_column >= column);
            }
        }
        prop_assert_eq!(index.offset_utf16(&text, index.line_count() + extra, 0), text.len());
    }
}
