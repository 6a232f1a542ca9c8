//! Properties that hold for any input: the parser is lossless and never panics, line/column
//! conversions round-trip, and lint and fix survive whatever they are given.

use layerwise::fix::{Safety, fix_text};
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
        for node in &df.nodes {
            prop_assert_eq!(node.span.start, at, "nodes leave no gap");
            at = node.span.end;
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
