//! What the fuzz targets check, one function per target. `tests/fuzz_regressions.rs` includes
//! this file too and replays every input kept in `fixtures/fuzz/<target>/`, so a crash once
//! found stays fixed under a plain `cargo test`.
//!
//! Every function takes any bytes; a failed check panics, which is how libFuzzer sees a crash.
#![allow(dead_code)]

use layerwise::fix::Safety;
use layerwise::fixer::fix_text;
use layerwise::lint::{LintOptions, lint as lint_file};
use layerwise::report::{FileResult, Format, Report, reporter};
use layerwise::source::Span;
use layerwise::syntax::{Dockerfile, Instruction, NodeKind};

/// The text as the CLI would take it: `None` when `decode` refuses the bytes.
fn text_of(data: &[u8]) -> Option<String> {
    // A fuzzer's long inputs mostly find slow paths, not bugs; keep each run short.
    if data.len() > 64 * 1024 {
        return None;
    }
    layerwise::commands::decode(data.to_vec()).ok()
}

fn assert_span(text: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what} {span:?} outside the text ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what} {span:?} splits a character"
    );
}

fn assert_instruction(text: &str, lines: usize, inst: &Instruction) {
    assert_span(text, inst.span(), "instruction");
    assert_span(text, inst.keyword_span(), "keyword");
    assert_span(text, inst.args_span(), "arguments");
    assert!(
        inst.lines().0 <= inst.lines().1 && inst.lines().1 < lines,
        "instruction lines {:?} of {lines}",
        inst.lines()
    );
    for flag in inst.flags() {
        assert_span(text, flag.span, "flag");
    }
    for heredoc in inst.heredocs() {
        assert_span(text, heredoc.marker, "heredoc marker");
        assert_span(text, heredoc.body, "heredoc body");
        assert_span(text, heredoc.terminator, "heredoc terminator");
        let _ = heredoc.content(text);
    }
    let _ = inst.words();
    let _ = inst.copy_paths();
    let _ = inst.from_image();
    if let Some(inner) = inst.onbuild() {
        assert_span(text, inner.span(), "ONBUILD's instruction");
        assert_span(text, inner.keyword_span(), "ONBUILD's keyword");
        assert_span(text, inner.args_span(), "ONBUILD's arguments");
    }
}

/// Parsing is lossless, nodes tile the text, every span is in range on character boundaries,
/// and positions convert back to the same offsets.
pub fn parse(data: &[u8]) {
    let Some(text) = text_of(data) else { return };
    let df = Dockerfile::parse(text.as_str());
    assert_eq!(
        df.to_string(),
        text,
        "printing the tree gives the text back"
    );
    let mut at = 0;
    for (span, kind) in df.node_spans() {
        assert_eq!(span.start, at, "nodes leave no gap and do not overlap");
        assert!(span.end > span.start, "empty node {kind:?}");
        assert_span(&text, span, "node");
        at = span.end;
        if let NodeKind::Directive(d) = kind {
            assert_span(&text, d.span, "directive");
        }
    }
    assert_eq!(at, text.len(), "nodes cover the text");
    let lines = df.lines().line_count();
    for inst in df.instructions() {
        assert_instruction(&text, lines, inst);
    }
    for error in &df.errors {
        assert_span(&text, error.span, "error");
        assert!(!error.message.is_empty());
    }
    let _ = df.stages();
    let index = df.lines();
    let offsets = df
        .node_spans()
        .flat_map(|(span, _)| [span.start, span.end])
        .chain(df.instructions().map(|i| i.keyword_span().end));
    for offset in offsets {
        let pos = df.position(offset);
        assert!(pos.line < lines);
        assert_eq!(
            index.offset_utf16(&text, pos.line, pos.utf16_column),
            offset,
            "offset {offset} -> {pos:?} -> back"
        );
    }
}

/// Linting never panics, every finding and fix edit is in range on character boundaries, and
/// both report formats render it (the JSON one as valid JSON).
pub fn lint(data: &[u8]) {
    let Some(text) = text_of(data) else { return };
    let df = Dockerfile::parse(text.as_str());
    let diagnostics = lint_file(&df, &LintOptions::default());
    for d in &diagnostics {
        assert_span(&text, d.span, d.rule);
        for label in d.labels() {
            assert_span(&text, label.span, d.rule);
        }
        if let Some(fix) = &d.fix {
            for edit in &fix.edits {
                assert_span(&text, edit.span, d.rule);
            }
        }
    }
    let errors = layerwise::commands::syntax_errors(&df);
    let results = [FileResult {
        path: "Dockerfile".into(),
        display: "Dockerfile".into(),
        source: Some(std::sync::Arc::new(df)),
        diagnostics: diagnostics.into(),
        errors,
        rules: Vec::new(),
    }];
    let report = Report {
        files: &results,
        checked: results.len(),
        color: false,
    };
    let mut human = Vec::new();
    reporter(Format::Human)
        .write(&report, &mut human)
        .expect("the human report renders");
    let mut json = Vec::new();
    reporter(Format::Json)
        .write(&report, &mut json)
        .expect("the JSON report renders");
    serde_json::from_slice::<serde_json::Value>(&json).expect("the JSON report is JSON");
}

/// Fixing never panics; a text that parses still parses after fixing, with no error; fixing
/// the result again changes nothing; a text that does not parse is left as it is.
pub fn fix(data: &[u8]) {
    let Some(text) = text_of(data) else { return };
    let parsed = Dockerfile::parse(text.as_str()).errors.is_empty();
    let options = LintOptions::default();
    for safety in [Safety::Safe, Safety::Unsafe] {
        let fixed = fix_text(&text, &options, safety);
        if !parsed {
            assert!(!fixed.changed(), "a file that does not parse is not fixed");
            assert_eq!(fixed.text, text);
            continue;
        }
        let errors = Dockerfile::parse(fixed.text.as_str()).errors;
        assert!(
            errors.is_empty(),
            "{safety:?} fixes ({:?}) broke the file: {errors:?}\n--- fixed ---\n{}",
            fixed.applied,
            fixed.text
        );
        let again = fix_text(&fixed.text, &options, safety);
        assert!(
            !again.changed() && again.text == fixed.text,
            "{safety:?}: fixing again applied {:?}\n--- once ---\n{}\n--- twice ---\n{}",
            again.applied,
            fixed.text,
            again.text
        );
    }
}
