//! Every rule against its fixtures (`fixtures/rules/<ID>/`) and the examples in its docs:
//! `bad` triggers it, `good` does not, and its fix turns `bad` into `fixed` byte for byte, after
//! which the rule is quiet and fixing again changes nothing.
//!
//! A case is `<case>.Dockerfile` (linted with no build context), or `<case>/Dockerfile` with
//! that folder as its context.

use std::path::{Path, PathBuf};

use layerwise::diagnostic::Diagnostic;
use layerwise::fix::{Safety, apply};
use layerwise::fixer::fix_text;
use layerwise::lint::{LintOptions, lint};
use layerwise::rules::{FixKind, all_meta};
use layerwise::syntax::Dockerfile;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules")
}

/// The case's Dockerfile and its options (path and context when it is a folder case).
fn case(id: &str, name: &str) -> Option<(String, LintOptions)> {
    let dir = fixtures().join(id);
    let file = dir.join(format!("{name}.Dockerfile"));
    let folder = dir.join(name).join("Dockerfile");
    let only = Some(vec![id.to_string()]);
    if file.is_file() {
        let text = std::fs::read_to_string(&file).unwrap();
        return Some((
            text,
            LintOptions {
                only,
                ..LintOptions::default()
            },
        ));
    }
    if folder.is_file() {
        let text = std::fs::read_to_string(&folder).unwrap();
        return Some((
            text,
            LintOptions {
                path: Some(folder),
                only,
                ..LintOptions::default()
            },
        ));
    }
    None
}

/// A rule's other cases whose names start with `prefix-` (`bad-rust`, `good-node`): the shapes
/// one `bad`/`good` pair cannot show. A `bad-<name>` case's fix gives `fixed-<name>.Dockerfile`,
/// or changes nothing when there is none.
fn more_cases(id: &str, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures().join(id))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with(&format!("{prefix}-")))
                .map(|n| n.trim_end_matches(".Dockerfile").to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn findings(text: &str, options: &LintOptions) -> Vec<Diagnostic> {
    let df = Dockerfile::parse(text);
    assert!(
        df.errors.is_empty(),
        "fixture does not parse: {:?}",
        df.errors
    );
    lint(&df, options)
}

/// `line:col rule message` per finding, for snapshots.
fn render(text: &str, found: &[Diagnostic]) -> String {
    let df = Dockerfile::parse(text);
    found
        .iter()
        .map(|d| {
            let p = df.position(d.span.start);
            format!("{}:{} {} {}\n", p.line + 1, p.column + 1, d.rule, d.message)
        })
        .collect()
}

#[test]
fn every_rule_has_fixtures() {
    for meta in all_meta() {
        assert!(
            case(&meta.id, "bad").is_some(),
            "{} has no bad fixture",
            meta.id
        );
        assert!(
            case(&meta.id, "good").is_some(),
            "{} has no good fixture",
            meta.id
        );
    }
}

#[test]
fn bad_fixtures_trigger_and_good_ones_do_not() {
    for meta in all_meta() {
        let (bad, options) = case(&meta.id, "bad").unwrap();
        let found = findings(&bad, &options);
        assert!(
            !found.is_empty(),
            "{}: bad fixture gives no finding",
            meta.id
        );
        insta::assert_snapshot!(format!("{}_bad", meta.id), render(&bad, &found));
        for name in std::iter::once("good".to_string()).chain(more_cases(&meta.id, "good")) {
            let (good, options) = case(&meta.id, &name).unwrap();
            let found = findings(&good, &options);
            assert!(
                found.is_empty(),
                "{}: {name} fixture gives {}",
                meta.id,
                render(&good, &found)
            );
        }
        for name in more_cases(&meta.id, "bad") {
            let (bad, options) = case(&meta.id, &name).unwrap();
            let found = findings(&bad, &options);
            assert!(!found.is_empty(), "{}: {name} gives no finding", meta.id);
            insta::assert_snapshot!(format!("{}_{name}", meta.id), render(&bad, &found));
        }
    }
}

#[test]
fn fixes_turn_bad_into_fixed() {
    for meta in all_meta() {
        let (bad, options) = case(&meta.id, "bad").unwrap();
        let dir = fixtures().join(&meta.id);
        match meta.fix {
            FixKind::None => {}
            FixKind::DisplayOnly => {
                // Never applied, but the suggestion itself is checked.
                assert_eq!(
                    fix_text(&bad, &options, Safety::Unsafe).text,
                    bad,
                    "{}",
                    meta.id
                );
                let found = findings(&bad, &options);
                let fixes: Vec<_> = found.iter().filter_map(|d| d.fix.as_deref()).collect();
                let suggested = apply(&bad, &fixes).0;
                let expected = std::fs::read_to_string(dir.join("suggested.Dockerfile"))
                    .unwrap_or_else(|_| panic!("{} has no suggested.Dockerfile", meta.id));
                assert_eq!(suggested, expected, "{}", meta.id);
                assert!(Dockerfile::parse(suggested.as_str()).errors.is_empty());
            }
            FixKind::Safe | FixKind::Unsafe => {
                check_fix(&meta.id, &bad, &options, &dir, "fixed");
                for name in more_cases(&meta.id, "bad") {
                    let (bad, options) = case(&meta.id, &name).unwrap();
                    let fixed = name.replacen("bad", "fixed", 1);
                    if dir.join(format!("{fixed}.Dockerfile")).is_file() {
                        check_fix(&meta.id, &bad, &options, &dir, &fixed);
                    } else {
                        let outcome = fix_text(&bad, &options, Safety::Unsafe);
                        assert_eq!(outcome.text, bad, "{}: {name} changed", meta.id);
                    }
                }
            }
        }
    }
}

fn check_fix(id: &str, bad: &str, options: &LintOptions, dir: &Path, fixed: &str) {
    let safe = fix_text(bad, options, Safety::Safe);
    let outcome = fix_text(bad, options, Safety::Unsafe);
    let fixed_file = dir.join(format!("{fixed}.Dockerfile"));
    let ignore_file = dir.join(format!("{fixed}.dockerignore"));
    if fixed_file.is_file() {
        let expected = std::fs::read_to_string(&fixed_file).unwrap();
        assert_eq!(
            outcome.text, expected,
            "{id}: fix output differs from {fixed}.Dockerfile"
        );
    } else {
        assert_eq!(
            outcome.text, bad,
            "{id}: changed the Dockerfile but has no fixed.Dockerfile"
        );
    }
    if ignore_file.is_file() {
        // The whole ignore file after the fix: what was there plus what the fix adds.
        let expected = std::fs::read_to_string(&ignore_file).unwrap();
        let mut after = options.clone();
        for change in &outcome.files {
            after.overlay_change(change);
        }
        let written: Vec<String> = outcome
            .files
            .iter()
            .filter_map(|f| {
                after
                    .overlay
                    .iter()
                    .find(|(p, _)| p == f.path())
                    .map(|(_, text)| text.clone())
            })
            .collect();
        assert_eq!(written, [expected], "{id}: .dockerignore differs");
    }
    assert!(outcome.changed(), "{id}: fix changed nothing");
    // Safe rules apply without --unsafe; unsafe ones only with it.
    let meta = layerwise::rules::meta(id).unwrap();
    assert_eq!(
        safe.changed(),
        meta.fix == FixKind::Safe,
        "{id}: fix safety differs from its docs"
    );

    // The fixed file no longer triggers the rule, and fixing it again changes nothing.
    let mut after = options.clone();
    for change in &outcome.files {
        after.overlay_change(change);
    }
    let left = findings(&outcome.text, &after);
    assert!(
        left.is_empty(),
        "{id}: still fires after the fix:\n{}",
        render(&outcome.text, &left)
    );
    let again = fix_text(&outcome.text, &after, Safety::Unsafe);
    assert!(!again.changed(), "{id}: a second fix pass changed the file");
}

/// The ```dockerfile blocks of a docs section.
fn examples(docs: &str, section: &str) -> Vec<String> {
    let Some(start) = docs.find(&format!("## {section}\n")) else {
        return Vec::new();
    };
    let body = &docs[start + section.len() + 4..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    body.split("```dockerfile\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(code, _)| code.to_string()))
        .collect()
}

#[test]
fn docs_examples_behave_as_they_say() {
    // Context rules see a folder with no .dockerignore and a `.git` to keep out; LW402's
    // examples see one whose .dockerignore misses a `.env`.
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(empty.path().join(".git")).unwrap();
    let gaps = tempfile::tempdir().unwrap();
    std::fs::write(gaps.path().join(".dockerignore"), "*.log\n").unwrap();
    std::fs::write(gaps.path().join(".env"), "TOKEN=x\n").unwrap();
    for meta in all_meta() {
        let context = if meta.id == "LW402" { &gaps } else { &empty };
        let options = LintOptions {
            path: Some(context.path().join("Dockerfile")),
            only: Some(vec![meta.id.clone()]),
            ..LintOptions::default()
        };
        let bad = examples(meta.docs, "Bad");
        let good = examples(meta.docs, "Good");
        assert!(
            !bad.is_empty() && !good.is_empty(),
            "{}: docs lack examples",
            meta.id
        );
        for example in bad {
            assert!(
                !findings(&example, &options).is_empty(),
                "{}: Bad example is quiet:\n{example}",
                meta.id
            );
        }
        for example in good {
            let found = findings(&example, &options);
            assert!(
                found.is_empty(),
                "{}: Good example fires:\n{}",
                meta.id,
                render(&example, &found)
            );
        }
    }
}
