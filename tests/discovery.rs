//! What `lint` and `fix` find to check, and what they refuse: the Dockerfile names people use,
//! a folder with no Dockerfile, a file with no FROM, `.layerwise.yml`, and a file that does
//! not parse (never counted as fixable).

mod common;

use std::path::Path;

use common::{layerwise, stderr, stdout};

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn json(args: &[&str], dir: &Path) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["lint", "--format", "json"];
    all.extend_from_slice(args);
    let out = layerwise(&all, dir);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", stdout(&out), stderr(&out));
    });
    (out.status.code(), value)
}

fn files_with_findings(value: &serde_json::Value) -> Vec<String> {
    let mut files: Vec<String> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    files.dedup();
    files
}

#[test]
fn folders_are_searched_for_the_names_people_use() {
    let dir = tempfile::tempdir().unwrap();
    let wasteful =
        "FROM debian\nRUN apt-get update\nRUN apt-get update && apt-get install -y curl\n";
    // Names of the shared corpus (`Dockerfile-base`, `Dockerfile-versioned`) and others seen in
    // real repositories, next to files that only look alike.
    for name in [
        "Dockerfile-base",
        "Dockerfile_dev",
        "Dockerfile.alpine",
        "api.Dockerfile",
        "tools.dockerfile",
        "dockerfile",
        "Containerfile-arm64",
        "build.Containerfile",
    ] {
        write(dir.path(), &format!("images/{name}"), wasteful);
    }
    for name in [
        "dockerfile_test.go",
        "Dockerfile.md",
        "Dockerfile.dockerignore",
        "Dockerfiles",
    ] {
        write(
            dir.path(),
            &format!("images/{name}"),
            "not a Dockerfile at all {\n",
        );
    }
    let (code, value) = json(&["images"], dir.path());
    assert_eq!(code, Some(1), "{value}");
    assert_eq!(value["files_checked"], 8, "{value}");
    assert!(value["errors"].as_array().unwrap().is_empty(), "{value}");
    let mut found = files_with_findings(&value);
    found.sort();
    assert_eq!(
        found,
        [
            "images/Containerfile-arm64",
            "images/Dockerfile-base",
            "images/Dockerfile.alpine",
            "images/Dockerfile_dev",
            "images/api.Dockerfile",
            "images/build.Containerfile",
            "images/dockerfile",
            "images/tools.dockerfile",
        ]
    );
}

#[test]
fn the_pre_commit_hooks_match_the_names_lint_searches_for() {
    // The hooks' `files` regex (pre-commit names files itself) and discovery must agree.
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let hooks: Vec<serde_yaml_ng::Value> = serde_yaml_ng::from_str(&hooks).unwrap();
    let names = [
        "Dockerfile",
        "svc/Dockerfile-base",
        "Dockerfile_dev",
        "a/Dockerfile.alpine",
        "api.Dockerfile",
        "x.dockerfile",
        "dockerfile",
        "dockerfile.prod",
        "Containerfile",
        "Containerfile-arm64",
        "b/build.Containerfile",
        "Dockerfile.dockerignore",
        "dockerfile_test.go",
        "Dockerfile.md",
        "docs/Dockerfiles",
        "a/Dockerfile/notes.txt",
    ];
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        write(dir.path(), name, "FROM a\n");
    }
    let (_, value) = json(&["."], dir.path());
    let checked = value["files_checked"].as_u64().unwrap() as usize;
    for hook in &hooks {
        let files = regex_lite(hook["files"].as_str().unwrap());
        let exclude = regex_lite(hook["exclude"].as_str().unwrap_or("^$"));
        let matched: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| files.is_match(n) && !exclude.is_match(n))
            .collect();
        assert_eq!(
            matched.len(),
            checked,
            "{:?}: {matched:?} against {checked} files lint checks",
            hook["id"]
        );
        for name in &matched {
            let (code, one) = json(&[name], dir.path());
            assert_eq!(code, Some(0), "{name}: {one}");
        }
    }
}

/// pre-commit's regexes are Python's; those of the hooks are in the subset `regex` reads alike.
fn regex_lite(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).unwrap()
}

#[test]
fn a_folder_with_no_dockerfile_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "docs/README.md", "# docs\n");
    write(dir.path(), "app/Dockerfile", "FROM a\n");
    for command in ["lint", "fix"] {
        let out = layerwise(&[command, "app", "docs"], dir.path());
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        let said = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            said.contains("no Dockerfile in docs (searched for Dockerfile, "),
            "{said}"
        );
        assert!(!said.contains("no Dockerfile in app"), "{said}");
    }
    // An empty current folder too: a wrong working directory in CI must not pass green.
    let empty = tempfile::tempdir().unwrap();
    let (code, value) = json(&[], empty.path());
    assert_eq!(code, Some(2));
    assert!(
        value["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("no Dockerfile in .")
    );
    // Files the config excludes were found: that is not this error.
    write(dir.path(), "app/.layerwise.yaml", "exclude: [Dockerfile]\n");
    let (code, value) = json(&["app"], dir.path());
    assert_eq!(
        (code, &value["files_checked"]),
        (Some(0), &0.into()),
        "{value}"
    );
}

#[test]
fn a_file_without_from_is_an_error_in_buildkits_words() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "fragment.Dockerfile",
        "# a fragment\nRUN apt-get update && apt-get install -y curl\n",
    );
    write(dir.path(), "args.Dockerfile", "ARG VERSION=1\n");
    let (code, value) = json(&["fragment.Dockerfile", "args.Dockerfile"], dir.path());
    assert_eq!(code, Some(2), "{value}");
    let errors = value["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{value}");
    assert_eq!(errors[0]["file"], "args.Dockerfile");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("dockerfile contains no stages to build"),
        "{value}"
    );
    assert_eq!(
        (&errors[1]["line"], &errors[1]["column"]),
        (&2.into(), &1.into())
    );
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("no build stage in current context"),
        "{value}"
    );
    // fix leaves such a file as it was.
    let out = layerwise(&["fix", "fragment.Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fragment.Dockerfile")).unwrap(),
        "# a fragment\nRUN apt-get update && apt-get install -y curl\n"
    );
}

#[test]
fn a_file_that_does_not_parse_is_not_counted_as_fixable() {
    let dir = tempfile::tempdir().unwrap();
    // Findings with fixes, but line 3 does not parse: `fix` will not touch the file.
    write(
        dir.path(),
        "Dockerfile",
        "FROM debian\nRUN apt-get update\nENV ONLY_A_KEY\nRUN apt-get update && apt-get install -y curl\n",
    );
    let (code, value) = json(&["Dockerfile"], dir.path());
    assert_eq!(code, Some(2));
    let findings = value["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "{value}");
    assert!(
        findings
            .iter()
            .all(|f| f["fixable"] == false && f["fix"].is_null()),
        "{value}"
    );
    let human = layerwise(&["lint", "Dockerfile"], dir.path());
    let text = stdout(&human);
    assert!(!text.contains("fixable with"), "{text}");
    assert!(!text.contains("fix (safe)"), "{text}");
    // The same text that parses offers its fixes.
    write(
        dir.path(),
        "Dockerfile",
        "FROM debian\nRUN apt-get update\nRUN apt-get update && apt-get install -y curl\n",
    );
    let human = layerwise(&["lint", "Dockerfile"], dir.path());
    assert!(
        stdout(&human).contains("fixable with `layerwise fix`"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn a_layerwise_yml_is_read_like_a_layerwise_yaml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(
        dir.path(),
        "svc/Dockerfile",
        "FROM debian\nRUN apt-get update\nRUN apt-get update && apt-get install -y curl\n",
    );
    let (_, before) = json(&["svc"], dir.path());
    assert!(
        before["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "LW101")
    );
    write(dir.path(), ".layerwise.yml", "ignore: [consecutive-run]\n");
    let (_, after) = json(&["svc"], dir.path());
    assert!(
        !after["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "LW101"),
        "{after}"
    );
    write(dir.path(), ".layerwise.yaml", "ignore: []\n");
    let out = layerwise(&["lint", "svc"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("are both here: keep one"),
        "{}",
        stderr(&out)
    );
}
