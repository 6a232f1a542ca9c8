//! The output formats on one fixture (`fixtures/formats/`: a finding after a character that is
//! two UTF-16 units, an ignore comment naming `<x>&"y"%` to exercise escaping, a file that does
//! not parse), and `-o FILE` for each.

mod common;

use std::path::{Path, PathBuf};

use common::layerwise;

const FORMATS: [&str; 6] = ["human", "json", "sarif", "gnu", "checkstyle", "github"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/formats")
}

/// The fixture's report in a format; the exit code is 2 (a file does not parse).
fn report(format: &str) -> String {
    let out = layerwise(
        &[
            "lint",
            "--format",
            format,
            "Dockerfile",
            "broken.Dockerfile",
        ],
        &fixtures(),
    );
    assert_eq!(out.status.code(), Some(2), "{format}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn gnu() {
    let text = report("gnu");
    for line in text.lines() {
        let mut parts = line.splitn(4, ':');
        let (file, line_no, col) = (parts.next(), parts.next(), parts.next());
        assert!(file.is_some_and(|f| f.ends_with("Dockerfile")), "{line}");
        assert!(line_no.is_some_and(|n| n.parse::<u32>().is_ok()), "{line}");
        assert!(col.is_some_and(|n| n.parse::<u32>().is_ok()), "{line}");
    }
    // Columns count characters: the 🐳 is one.
    assert!(
        text.contains("Dockerfile:3:23: warning: ") && text.contains("[LW104]"),
        "{text}"
    );
    insta::assert_snapshot!("format_gnu", text);
}

#[test]
fn github() {
    let text = report("github");
    assert!(text.lines().all(|l| l.starts_with("::")), "{text}");
    assert!(
        text.contains("::notice file=Dockerfile,line=1,endLine=1,col=26,endColumn=34,title=LW901 ignore-unknown-rule::`<x>&\"y\"%25` is not"),
        "{text}"
    );
    insta::assert_snapshot!("format_github", text);
}

#[test]
fn checkstyle() {
    let text = report("checkstyle");
    // It parses as XML, and the escaped message reads back as written.
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut messages = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Empty(e) if e.name() == quick_xml::name::QName("error") => {
                let message = e
                    .try_get_attribute("message")
                    .unwrap()
                    .unwrap()
                    .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .unwrap()
                    .into_owned();
                messages.push(message);
            }
            _ => {}
        }
    }
    assert!(
        messages
            .iter()
            .any(|m| m == "`<x>&\"y\"%` is not a layerwise rule, so ignoring it does nothing"),
        "{messages:?}"
    );
    insta::assert_snapshot!("format_checkstyle", text);
}

#[test]
fn sarif() {
    let text = report("sarif");
    let log: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for result in run["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(result["partialFingerprints"].is_object());
    }
    // SARIF columns are UTF-16 code units: the 🐳 counts two.
    let lw104 = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "LW104")
        .unwrap();
    assert_eq!(
        lw104["locations"][0]["physicalLocation"]["region"]["startColumn"],
        24
    );
    assert!(lw104["fixes"][0]["artifactChanges"][0]["replacements"].is_array());
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 2, "the two parse errors of broken.Dockerfile");
    let root = std::fs::canonicalize(fixtures()).unwrap();
    let text = text.replace(&format!("file://{}/", root.display()), "file://[ROOT]/");
    insta::assert_snapshot!("format_sarif", text);
}

#[test]
fn sarif_fingerprints_survive_unrelated_edits() {
    let dir = tempfile::tempdir().unwrap();
    let fingerprints = |text: &str| -> Vec<(String, String)> {
        std::fs::write(dir.path().join("Dockerfile"), text).unwrap();
        let out = layerwise(&["lint", "--format", "sarif", "Dockerfile"], dir.path());
        let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap().to_string(),
                    r["partialFingerprints"]["layerwiseFingerprint/v1"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    let before = fingerprints("FROM debian\nRUN apt-get install -y curl\n");
    let moved = fingerprints(
        "# a comment\nFROM debian\nLABEL a=b\n\nRUN   apt-get install   -y curl\nEXPOSE 80\n",
    );
    assert!(!before.is_empty());
    assert_eq!(before, moved, "same instruction, new lines and spacing");
    let changed = fingerprints("FROM debian\nRUN apt-get install -y wget\n");
    assert_ne!(before, changed, "a different instruction");
    // Two identical instructions get different fingerprints.
    let twice = fingerprints(
        "FROM debian\nRUN apt-get install -y curl\nFROM debian\nRUN apt-get install -y curl\n",
    );
    let lw104: Vec<_> = twice.iter().filter(|(r, _)| r == "LW104").collect();
    assert_eq!(lw104.len(), 2);
    assert_ne!(lw104[0].1, lw104[1].1);
}

#[test]
fn output_file_for_every_format_keeps_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let target = dir.path().join(format!("report.{format}"));
        let out = layerwise(
            &[
                "lint",
                "--format",
                format,
                "-o",
                target.to_str().unwrap(),
                "Dockerfile",
                "broken.Dockerfile",
            ],
            &fixtures(),
        );
        assert_eq!(out.status.code(), Some(2), "{format}");
        assert!(out.stdout.is_empty(), "{format}: nothing on stdout");
        let written = std::fs::read_to_string(&target).unwrap();
        assert_eq!(written, report(format), "{format}: the same report");
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        FORMATS.len(),
        "no temporary file left: {names:?}"
    );
    // Findings alone: exit 1 with -o too.
    let target = dir.path().join("only-findings.sarif");
    let out = layerwise(
        &[
            "lint",
            "--format",
            "sarif",
            "-o",
            target.to_str().unwrap(),
            "Dockerfile",
        ],
        &fixtures(),
    );
    assert_eq!(out.status.code(), Some(1));
}
