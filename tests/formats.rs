//! The output formats on one fixture (`fixtures/formats/`: a finding after a character that is
//! two UTF-16 units, an ignore comment naming `<x>&"y"%` to exercise escaping, a file that does
//! not parse), and `-o FILE` for each. The formats other tools read are checked against what
//! those tools publish (`fixtures/schemas/`).

mod common;

use std::path::{Path, PathBuf};

use common::layerwise;

const FORMATS: [&str; 10] = [
    "human",
    "json",
    "sarif",
    "gnu",
    "checkstyle",
    "github",
    "gitlab",
    "sonarqube",
    "junit",
    "markdown",
];

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
        42
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
    let before = fingerprints("FROM debian\nRUN apt-get update && apt-get install -y curl\n");
    let moved = fingerprints(
        "# a comment\nFROM debian\nLABEL a=b\n\nRUN   apt-get update && apt-get install   -y curl\nEXPOSE 80\n",
    );
    assert!(!before.is_empty());
    assert_eq!(before, moved, "same instruction, new lines and spacing");
    let changed = fingerprints("FROM debian\nRUN apt-get update && apt-get install -y wget\n");
    assert_ne!(before, changed, "a different instruction");
    // Two identical instructions get different fingerprints.
    let twice = fingerprints(
        "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN apt-get update && apt-get install -y curl\n",
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

fn schema(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/schemas")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every error of `instance` against the JSON Schema, as text.
fn schema_errors(schema: &serde_json::Value, instance: &serde_json::Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("a valid schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn gitlab_issues_validate_against_gitlabs_schema() {
    let text = report("gitlab");
    let issues: Vec<serde_json::Value> = serde_json::from_str(&text).expect("a JSON array");
    let schema = schema("gitlab-codeclimate.json");
    // The schema must catch a bad issue, or this test proves nothing.
    assert!(!schema_errors(&schema, &serde_json::json!({"description": "x"})).is_empty());
    let mut fingerprints = std::collections::HashSet::new();
    for issue in &issues {
        let errors = schema_errors(&schema, issue);
        assert!(errors.is_empty(), "{errors:?}\n{issue}");
        // What GitLab's docs add: a check name, a severity of its scale, a relative path and
        // a line; GitLab keeps one issue per fingerprint.
        assert!(
            issue["check_name"].as_str().is_some_and(|c| !c.is_empty()),
            "{issue}"
        );
        let severity = issue["severity"].as_str().unwrap();
        assert!(
            ["info", "minor", "major", "critical", "blocker"].contains(&severity),
            "{issue}"
        );
        assert!(!issue["location"]["path"].as_str().unwrap().starts_with('/'));
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        assert!(
            fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()),
            "{issue}"
        );
    }
    assert_eq!(issues.len(), 11, "9 findings and 2 parse errors");
    insta::assert_snapshot!("format_gitlab", text);
}

#[test]
fn gitlab_fingerprints_are_sarifs_and_survive_unrelated_edits() {
    let dir = tempfile::tempdir().unwrap();
    let fingerprints = |text: &str, format: &str| -> Vec<String> {
        std::fs::write(dir.path().join("Dockerfile"), text).unwrap();
        let out = layerwise(&["lint", "--format", format, "Dockerfile"], dir.path());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        match format {
            "gitlab" => v
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["fingerprint"].to_string())
                .collect(),
            _ => v["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["partialFingerprints"]["layerwiseFingerprint/v1"].to_string())
                .collect(),
        }
    };
    let text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nFROM debian\nRUN apt-get update && apt-get install -y curl\n";
    let gitlab = fingerprints(text, "gitlab");
    assert_eq!(
        gitlab,
        fingerprints(text, "sarif"),
        "one recipe in both formats"
    );
    let moved = fingerprints(&format!("# moved down\n\n{text}"), "gitlab");
    assert_eq!(gitlab, moved);
    assert_eq!(
        gitlab.len(),
        gitlab
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        "two identical instructions still differ: {gitlab:?}"
    );
}

#[test]
fn sonarqube_report_validates_against_the_generic_issue_format() {
    let text = report("sonarqube");
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let schema = schema("sonarqube-generic-issues.json");
    let errors = schema_errors(&schema, &value);
    assert!(errors.is_empty(), "{errors:?}");
    // A deprecated issue-level severity is refused, as the scanner refuses it.
    let mut old = value.clone();
    old["issues"][0]["severity"] = "MAJOR".into();
    assert!(!schema_errors(&schema, &old).is_empty());
    // The scanner's checks a schema cannot say: unique rule IDs, every issue's rule listed.
    let rules: Vec<&str> = value["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<_> = rules.iter().collect();
    assert_eq!(unique.len(), rules.len(), "{rules:?}");
    let issues = value["issues"].as_array().unwrap();
    assert_eq!(issues.len(), 11);
    let source = std::fs::read_to_string(fixtures().join("Dockerfile")).unwrap();
    for issue in issues {
        assert!(
            rules.contains(&issue["ruleId"].as_str().unwrap()),
            "{issue}"
        );
        // Columns are UTF-16 units within the line, the end after the start, as SonarQube
        // checks when it places the issue.
        let location = &issue["primaryLocation"];
        let range = &location["textRange"];
        if location["filePath"] == "Dockerfile" && range["startColumn"].is_u64() {
            let line = source
                .lines()
                .nth(range["endLine"].as_u64().unwrap() as usize - 1)
                .unwrap();
            let units = line.encode_utf16().count() as u64;
            assert!(range["endColumn"].as_u64().unwrap() <= units, "{issue}");
            assert!(
                (range["startLine"].as_u64(), range["startColumn"].as_u64())
                    < (range["endLine"].as_u64(), range["endColumn"].as_u64()),
                "{issue}"
            );
        }
    }
    // The finding after the 🐳: UTF-16 columns, 0-based.
    let lw104 = issues.iter().find(|i| i["ruleId"] == "LW104").unwrap();
    assert_eq!(lw104["primaryLocation"]["textRange"]["startColumn"], 41);
    insta::assert_snapshot!("format_sonarqube", text);
}

/// xmllint from Debian's libxml2-utils; under CI (which installs it) it must be there.
fn xmllint() -> bool {
    let found = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        common::skip("xmllint is not installed (apt-get install libxml2-utils)");
    }
    found
}

#[test]
fn junit_report_validates_against_jenkins_schema() {
    let text = report("junit");
    // Counted as the dashboards count: test cases, failed ones, errors.
    let mut reader = quick_xml::Reader::from_str(&text);
    let (mut cases, mut failures, mut errors) = (0, 0, 0);
    let mut totals = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().0 {
                    "testsuites" => {
                        let get = |k: &str| -> usize {
                            e.try_get_attribute(k)
                                .unwrap()
                                .unwrap()
                                .value
                                .parse()
                                .unwrap()
                        };
                        totals = Some((get("tests"), get("failures"), get("errors")));
                    }
                    "testcase" => cases += 1,
                    "failure" => failures += 1,
                    "error" => errors += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(totals, Some((cases, failures, errors)));
    // Two files, a case per rule each, and the parse error of broken.Dockerfile.
    let rules = common::stdout(&layerwise(&["rules", "--json"], &fixtures()));
    let rules = serde_json::from_str::<serde_json::Value>(&rules)
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    assert_eq!(cases, 2 * rules + 1);
    assert_eq!((failures, errors), (8, 1));
    if xmllint() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.xml");
        std::fs::write(&file, &text).unwrap();
        let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/schemas/junit-10.xsd");
        let check = |path: &Path| {
            std::process::Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(&xsd)
                .arg(path)
                .output()
                .unwrap()
        };
        let out = check(&file);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The schema refuses what it should (a test case without a name).
        std::fs::write(
            &file,
            text.replacen("<testcase name=\"LW101 consecutive-run\"", "<testcase", 1),
        )
        .unwrap();
        assert!(!check(&file).status.success());
    }
    insta::assert_snapshot!("format_junit", text);
}

/// The tables of a Markdown text as GitHub Flavored Markdown reads them: each row's cells as
/// plain text, code spans in backticks; HTML that would not show as text is an error.
fn gfm_tables(text: &str) -> Vec<Vec<Vec<String>>> {
    use comrak::nodes::NodeValue;
    let arena = comrak::Arena::new();
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    let root = comrak::parse_document(&arena, text, &options);
    let mut tables = Vec::new();
    for node in root.descendants() {
        let value = node.data.borrow().value.clone();
        match value {
            NodeValue::Table(_) => tables.push(Vec::new()),
            NodeValue::TableRow(_) => tables.last_mut().unwrap().push(Vec::new()),
            NodeValue::TableCell => {
                let mut cell = String::new();
                for inner in node.descendants() {
                    match &inner.data.borrow().value {
                        NodeValue::Text(t) => cell.push_str(t),
                        NodeValue::Code(c) => cell.push_str(&format!("`{}`", c.literal)),
                        NodeValue::HtmlInline(h) => panic!("HTML in a cell: {h}"),
                        _ => {}
                    }
                }
                tables.last_mut().unwrap().last_mut().unwrap().push(cell);
            }
            _ => {}
        }
    }
    tables
}

#[test]
fn markdown_tables_read_back_as_written_in_gfm() {
    let text = report("markdown");
    let json: serde_json::Value = serde_json::from_str(&report("json")).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let tables = gfm_tables(&text);
    assert_eq!(tables.len(), 2, "a table per file with findings:\n{text}");
    let rows: Vec<&Vec<String>> = tables.iter().flat_map(|t| t.iter().skip(1)).collect();
    assert_eq!(rows.len(), findings.len());
    for (row, finding) in rows.iter().zip(findings) {
        assert_eq!(row.len(), 4, "{row:?}");
        assert_eq!(row[0], finding["line"].to_string());
        assert!(
            row[1].contains(finding["rule"].as_str().unwrap()),
            "{row:?}"
        );
        // `<x>&"y"%` and the rest come back as the message, not as HTML or Markdown.
        assert_eq!(row[2], finding["message"].as_str().unwrap());
    }
    // Text that is Markdown or HTML outside code spans, and a pipe inside one, read back too.
    let tricky = "a | b <em>not html</em> *not emphasis* [not a link](x) `code | with pipe` done";
    let escaped = format!("| a |\n|---|\n| {} |\n", markdown_cell(tricky));
    assert_eq!(gfm_tables(&escaped)[0][1], [tricky]);
    insta::assert_snapshot!("format_markdown", text);
}

#[test]
fn markdown_stays_within_a_comment_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("FROM debian\n");
    for n in 0..3000 {
        text.push_str(&format!(
            "RUN apt-get update && apt-get install -y package{n}\n"
        ));
    }
    std::fs::write(dir.path().join("Dockerfile"), &text).unwrap();
    let out = layerwise(&["lint", "--format", "markdown", "Dockerfile"], dir.path());
    let markdown = common::stdout(&out);
    assert!(markdown.len() < 65_536, "{}", markdown.len());
    assert!(
        markdown.contains(" more not listed here"),
        "{}",
        &markdown[markdown.len() - 300..]
    );
    let rows = gfm_tables(&markdown)[0].len() - 1;
    let said: usize = markdown
        .rsplit_once("\n\n")
        .unwrap()
        .1
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(
        &layerwise(&["lint", "--format", "json", "Dockerfile"], dir.path()).stdout,
    )
    .unwrap();
    assert_eq!(rows + said, json["findings"].as_array().unwrap().len());
}

/// The cell escaping of `--format markdown`, from the library.
fn markdown_cell(text: &str) -> String {
    layerwise::report::markdown_cell(text)
}
