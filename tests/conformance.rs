//! layerwise beside hadolint on cases of our own (`tests/conformance/<ID>.yaml`): each case
//! says how many findings each tool reports, and why we differ where we do. layerwise is
//! checked on every case; a difference needs a reason, and the reason is in the rule's docs
//! under "Compared with hadolint". Where hadolint is installed in `.cache/peers` (see
//! eval/README.md), what the cases say of it is checked too.

use std::path::{Path, PathBuf};
use std::process::Command;

use layerwise::lint::{LintOptions, lint};
use layerwise::syntax::Dockerfile;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    rule: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    case: String,
    dockerfile: String,
    layerwise: usize,
    hadolint: Option<Peer>,
    why: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Peer {
    check: String,
    findings: usize,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn suites() -> Vec<Suite> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/conformance"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        })
        .collect()
}

#[test]
fn layerwise_finds_what_each_case_says() {
    let mut wrong = Vec::new();
    for suite in suites() {
        for case in &suite.cases {
            let df = Dockerfile::parse(&case.dockerfile);
            assert!(df.errors.is_empty(), "{}: {:?}", case.case, df.errors);
            let options = LintOptions {
                only: Some(vec![suite.rule.clone()]),
                ..LintOptions::default()
            };
            let found = lint(&df, &options).len();
            if found != case.layerwise {
                wrong.push(format!(
                    "{} {:?}: {found} findings, the case says {}",
                    suite.rule, case.case, case.layerwise
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_difference_has_its_reason_in_the_rule_s_docs() {
    for suite in suites() {
        let docs =
            std::fs::read_to_string(root().join(format!("rules/{}.md", suite.rule))).unwrap();
        let section = docs
            .split_once("## Compared with hadolint")
            .map(|(_, s)| s.split("\n## ").next().unwrap_or(s))
            .unwrap_or_default();
        // Lines wrap in the docs: words, not line breaks, are compared.
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let section = words(section);
        for case in &suite.cases {
            let Some(peer) = &case.hadolint else { continue };
            let differ = (peer.findings > 0) != (case.layerwise > 0);
            match (&case.why, differ) {
                (None, true) => {
                    panic!("{} {:?}: a difference without a why", suite.rule, case.case)
                }
                (Some(_), false) => {
                    panic!("{} {:?}: a why where both agree", suite.rule, case.case)
                }
                (Some(why), true) => assert!(
                    section.contains(&words(why)),
                    "rules/{}.md's \"Compared with hadolint\" lacks: {why}",
                    suite.rule
                ),
                (None, false) => {}
            }
        }
    }
}

#[test]
fn hadolint_reports_what_the_cases_say_of_it() {
    let hadolint = root().join(".cache/peers/bin/hadolint");
    if !hadolint.is_file() {
        println!(
            "skipped: no {} (see eval/README.md to install it)",
            hadolint.display()
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("layerwise-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("Dockerfile");
    let mut wrong = Vec::new();
    for suite in suites() {
        for case in &suite.cases {
            let Some(peer) = &case.hadolint else { continue };
            std::fs::write(&file, &case.dockerfile).unwrap();
            let out = Command::new(&hadolint)
                .args(["--no-fail", "--format", "json"])
                .arg(&file)
                .output()
                .unwrap();
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let found = report
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["code"] == peer.check.as_str())
                .count();
            if found != peer.findings {
                wrong.push(format!(
                    "{} {:?}: hadolint {} found {found}, the case says {}",
                    suite.rule, case.case, peer.check, peer.findings
                ));
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
