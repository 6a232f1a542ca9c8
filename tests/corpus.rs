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

/// The BuildKit-accepted corpus files, with their text.
fn accepted(corpus: &std::path::Path) -> Vec<(String, String)> {
    let status = std::fs::read_to_string(corpus.join("buildkit-status.tsv")).expect("status");
    status
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let name = cols.next()?;
            (cols.next()? == "ok").then(|| name.to_string())
        })
        .map(|name| {
            let bytes = std::fs::read(corpus.join("files").join(&name)).expect("corpus file");
            (name, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

#[test]
fn corpus_lints_and_every_posix_run_parses_as_shell() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let mut scripts = 0;
    let mut failures = Vec::new();
    for (name, text) in accepted(&corpus) {
        let df = Dockerfile::parse(text.as_str());
        let options = layerwise::lint::LintOptions::default();
        let input = layerwise::model::ModelInput::default();
        let cx = layerwise::model::Model::new(&df, &input);
        scripts += df.instructions().filter(|i| cx.script(i).is_some()).count();
        for (at, e) in &cx.shell_errors {
            let line = df.position(*at).line + 1;
            failures.push(format!("{name}:{line}: {e}"));
        }
        // Linting never panics, and every finding points inside the file.
        for d in layerwise::lint::lint(&df, &options) {
            assert!(
                d.span.end <= text.len(),
                "{name}: {} span out of range",
                d.rule
            );
        }
    }
    assert!(scripts > 3000, "only {scripts} RUN scripts found");
    assert!(
        failures.is_empty(),
        "{} of {scripts} scripts do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Instruction keywords as parse-dockerfile sees them.
fn cross_check_keywords(text: &str) -> Option<Vec<&'static str>> {
    use parse_dockerfile::Instruction as I;
    let parsed = parse_dockerfile::parse(text).ok()?;
    Some(
        parsed
            .instructions
            .iter()
            .map(|i| match i {
                I::Add(_) => "ADD",
                I::Arg(_) => "ARG",
                I::Cmd(_) => "CMD",
                I::Copy(_) => "COPY",
                I::Entrypoint(_) => "ENTRYPOINT",
                I::Env(_) => "ENV",
                I::Expose(_) => "EXPOSE",
                I::From(_) => "FROM",
                I::Healthcheck(_) => "HEALTHCHECK",
                I::Label(_) => "LABEL",
                I::Maintainer(_) => "MAINTAINER",
                I::Onbuild(_) => "ONBUILD",
                I::Run(_) => "RUN",
                I::Shell(_) => "SHELL",
                I::Stopsignal(_) => "STOPSIGNAL",
                I::User(_) => "USER",
                I::Volume(_) => "VOLUME",
                I::Workdir(_) => "WORKDIR",
                _ => "UNKNOWN",
            })
            .collect(),
    )
}

#[test]
fn corpus_fixes_are_idempotent_and_keep_everything_else() {
    use layerwise::fix::Safety;
    use layerwise::fixer::fix_text;
    use layerwise::syntax::{Keyword, NodeKind};
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let options = layerwise::lint::LintOptions::default();
    let mut changed = 0;
    let mut failures = Vec::new();
    for (name, text) in accepted(&corpus) {
        let outcome = fix_text(&text, &options, Safety::Unsafe);
        if !outcome.changed() {
            continue;
        }
        changed += 1;
        let fixed = &outcome.text;
        let again = fix_text(fixed, &options, Safety::Unsafe);
        if again.changed() {
            failures.push(format!(
                "{name}: a second fix pass applied {:?}",
                again.applied
            ));
        }
        let ours = Dockerfile::parse(fixed.as_str());
        if !ours.errors.is_empty() {
            failures.push(format!(
                "{name}: fixed text does not parse: {:?}",
                ours.errors
            ));
            continue;
        }
        let keywords: Vec<&str> = ours.instructions().map(|i| i.keyword.as_str()).collect();
        if let Some(original) = cross_check_keywords(&text) {
            match cross_check_keywords(fixed) {
                Some(theirs) if theirs == keywords => {}
                theirs => failures.push(format!(
                    "{name}: parse-dockerfile sees {theirs:?}, we see {keywords:?}"
                )),
            }
            assert!(!original.is_empty());
        }
        // What fixes never touch stays byte for byte: comments, directives, line endings, and
        // every instruction other than RUN, COPY, ADD and FROM.
        let original = Dockerfile::parse(text.as_str());
        let kept = |df: &Dockerfile| -> Vec<String> {
            let mut kept: Vec<String> = df
                .nodes
                .iter()
                .filter(|n| matches!(n.kind, NodeKind::Comment | NodeKind::Directive(_)))
                .map(|n| df.slice(n.span).trim_end().to_string())
                .collect();
            kept.extend(
                df.instructions()
                    .filter(|i| {
                        !matches!(
                            i.keyword,
                            Keyword::Run | Keyword::Copy | Keyword::Add | Keyword::From
                        )
                    })
                    .map(|i| df.slice(i.span).to_string()),
            );
            kept.sort();
            kept
        };
        if kept(&original) != kept(&ours) {
            failures.push(format!(
                "{name}: a fix changed text outside RUN/COPY/ADD/FROM"
            ));
        }
        let crlf = |t: &str| t.matches("\r\n").count() == t.matches('\n').count();
        if crlf(&text) != crlf(fixed) {
            failures.push(format!("{name}: line endings changed"));
        }
    }
    assert!(changed > 300, "only {changed} corpus files had fixes");
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
