//! The shared corpus of real Dockerfiles: every file BuildKit accepts parses without error, to
//! the same instructions and line ranges as BuildKit's own parser; the files it rejects give an
//! error with a position. Printing the tree back gives each file byte for byte.

mod common;

use layerwise::syntax::Dockerfile;
use serde_json::Value;

#[test]
fn corpus_parses_like_buildkit() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let reference = std::fs::read_to_string(corpus.join("buildkit-reference.jsonl"))
        .expect("buildkit-reference.jsonl is readable");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in reference.lines() {
        let entry: Value = serde_json::from_str(line).expect("reference line is JSON");
        let name = entry["file"].as_str().expect("file name");
        let bytes = std::fs::read(corpus.join("files").join(name)).expect("corpus file");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let df = Dockerfile::parse(text.as_str());
        checked += 1;
        if df.to_string() != text {
            failures.push(format!("{name}: printing the tree back changed the text"));
        }
        match entry.get("instr") {
            Some(expected) => {
                let ours: Vec<Value> = df
                    .instructions()
                    .map(|i| serde_json::json!([i.keyword.as_str(), i.lines.0 + 1, i.lines.1 + 1]))
                    .collect();
                if !df.errors.is_empty() {
                    failures.push(format!("{name}: unexpected errors {:?}", df.errors));
                } else if &Value::Array(ours.clone()) != expected {
                    failures.push(format!("{name}:\n  ours {ours:?}\n  buildkit {expected}"));
                }
            }
            None => match df.errors.first() {
                Some(error) => {
                    let pos = df.position(error.span.start);
                    assert!(pos.line < df.lines().line_count(), "{name}: error position");
                }
                None => failures.push(format!("{name}: BuildKit rejects it, we accepted it")),
            },
        }
    }
    assert!(checked >= 1411, "only {checked} corpus files were checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
