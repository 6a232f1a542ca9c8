//! The core is a one-way chain: syntax → model → rules → diagnostics and fixes → fix loop →
//! report / lsp / measure → commands. This test reads the sources and fails when a module
//! imports one above it, when modules import each other in a circle, or when a rule reads the
//! disk (the model's build-context view does that, once).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module's layer; a module may use its own layer (without circles) and below.
const LAYERS: &[&[&str]] = &[
    &[
        "allocator",
        "source",
        "discover",
        "fsutil",
        "limits",
        "text",
        "unixpath",
    ],
    &["syntax", "dockerignore", "knowledge"],
    &["shell"],
    &["model"],
    &["diagnostic", "fix", "catalog", "hadolint", "findings"],
    &["suppress"],
    &["rules"],
    &["config"],
    &["lint", "contexts"],
    &["fixer"],
    &["report", "lsp", "docker", "inspect", "picture"],
    &["cli", "commands"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The source without its `#[cfg(test)]` items (test code may use anything).
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    let mut depth: i64 = 0;
    for line in text.lines() {
        if !skipping && line.trim_start() == "#[cfg(test)]" {
            skipping = true;
            depth = 0;
            continue;
        }
        if skipping {
            depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            // The item ends where its braces close (or at its `;` for a one-line item).
            if depth <= 0 && (line.contains('}') || line.trim_end().ends_with(';')) {
                skipping = false;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Top-level module of each source file, and the top-level modules it names as `crate::x`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&src) {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
        if matches!(module.as_str(), "main" | "lib") {
            continue;
        }
        let text = without_tests(&std::fs::read_to_string(path).unwrap());
        let used = graph.entry(module.clone()).or_default();
        for (at, _) in text.match_indices("crate::") {
            let name: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name != module && !name.is_empty() {
                used.insert(name);
            }
        }
    }
    graph
}

#[test]
fn every_module_has_a_layer() {
    let graph = imports();
    // The reading works: edges the chain is made of are seen.
    assert!(graph["lint"].contains("rules") && graph["rules"].contains("model"));
    assert!(graph["commands"].contains("lint"));
    let missing: Vec<String> = graph
        .keys()
        .filter(|m| layer(m).is_none())
        .cloned()
        .collect();
    assert!(missing.is_empty(), "modules without a layer: {missing:?}");
}

#[test]
fn no_module_imports_one_above_it() {
    let mut wrong = Vec::new();
    for (module, used) in imports() {
        let Some(own) = layer(&module) else { continue };
        for other in used {
            if layer(&other).is_some_and(|l| l > own) {
                wrong.push(format!("{module} uses {other}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the chain: {wrong:#?}");
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let graph = imports();
    // Depth-first search for a back edge.
    fn visit<'g>(
        at: &'g str,
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'g str>,
        done: &mut BTreeSet<&'g str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| *m == at) {
            let mut circle: Vec<String> = path[start..].iter().map(|m| m.to_string()).collect();
            circle.push(at.to_string());
            return Some(circle);
        }
        if !done.insert(at) {
            return None;
        }
        path.push(at);
        for next in graph.get(at).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        let circle = visit(module, &graph, &mut Vec::new(), &mut done);
        assert!(
            circle.is_none(),
            "import circle: {}",
            circle.unwrap().join(" → ")
        );
    }
}

#[test]
fn rules_never_read_the_disk() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
    let mut readers = Vec::new();
    for entry in std::fs::read_dir(rules).unwrap() {
        let path = entry.unwrap().path();
        let text = without_tests(&std::fs::read_to_string(&path).unwrap());
        for needle in [
            "std::fs",
            ".is_file()",
            ".exists()",
            "read_dir",
            "WalkDir",
            "File::open",
        ] {
            if text.contains(needle) {
                readers.push(format!("{}: {needle}", path.display()));
            }
        }
    }
    assert!(readers.is_empty(), "rules reading the disk: {readers:#?}");
}

#[test]
fn the_test_strips_test_modules_only() {
    let text = "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\nuse crate::c;\n#[cfg(test)]\nuse crate::d;\n";
    let kept = without_tests(text);
    assert!(kept.contains("crate::a") && kept.contains("crate::c"));
    assert!(!kept.contains("crate::b") && !kept.contains("crate::d"));
}
