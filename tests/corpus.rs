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
                    .map(|i| {
                        serde_json::json!([i.keyword.as_str(), i.lines().0 + 1, i.lines().1 + 1])
                    })
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

/// Fixes every accepted corpus file at `max` and hands each one a fix changed to `check` (its
/// name, text and outcome), which records what is wrong; fails with all of it, or when fewer
/// than `at_least` files changed.
fn each_fixed_file(
    max: layerwise::fix::Safety,
    at_least: usize,
    mut check: impl FnMut(&str, &str, &layerwise::fixer::FixOutcome, &mut Vec<String>),
) {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let options = layerwise::lint::LintOptions::default();
    let mut changed = 0;
    let mut failures = Vec::new();
    for (name, text) in accepted(&corpus) {
        let outcome = layerwise::fixer::fix_text(&text, &options, max);
        if outcome.changed() {
            changed += 1;
            check(&name, &text, &outcome, &mut failures);
        }
    }
    assert!(
        changed >= at_least,
        "only {changed} corpus files changed under {max:?} fixes"
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_fixes_are_idempotent_and_keep_everything_else() {
    use layerwise::fix::Safety;
    use layerwise::fixer::fix_text;
    use layerwise::syntax::{Keyword, NodeKind};
    let options = layerwise::lint::LintOptions::default();
    each_fixed_file(Safety::Unsafe, 301, |name, text, outcome, failures| {
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
            return;
        }
        let keywords: Vec<&str> = ours.instructions().map(|i| i.keyword.as_str()).collect();
        if let Some(original) = cross_check_keywords(text) {
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
        let original = Dockerfile::parse(text);
        let kept = |df: &Dockerfile| -> Vec<String> {
            let mut kept: Vec<String> = df
                .node_spans()
                .filter(|(_, kind)| matches!(kind, NodeKind::Comment | NodeKind::Directive(_)))
                .map(|(span, _)| df.slice(span).trim_end().to_string())
                .collect();
            kept.extend(
                df.instructions()
                    .filter(|i| {
                        !matches!(
                            i.keyword,
                            Keyword::Run | Keyword::Copy | Keyword::Add | Keyword::From
                        )
                    })
                    .map(|i| df.slice(i.span()).to_string()),
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
        if crlf(text) != crlf(fixed) {
            failures.push(format!("{name}: line endings changed"));
        }
    });
}

/// A finding as a person would recognise it across a fix: its rule and the text it points at,
/// spaces collapsed (line numbers move, continuations are rewritten). LW101's findings are
/// about a group of RUNs, which a merge in parts (around a RUN an ignore comment covers, or one
/// that is not a plain `&&` chain) leaves pointing at another of them: those are counted.
fn finding_keys(text: &str) -> Vec<(String, String)> {
    let df = Dockerfile::parse(text);
    let options = layerwise::lint::LintOptions::default();
    let mut keys: Vec<(String, String)> = layerwise::lint::lint(&df, &options)
        .iter()
        .map(|d| match d.rule {
            "LW101" => (d.rule.to_string(), String::new()),
            _ => {
                let words: Vec<&str> = df.slice(d.span).split_whitespace().collect();
                (d.rule.to_string(), words.join(" "))
            }
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn safe_fixes_introduce_no_findings() {
    each_fixed_file(
        layerwise::fix::Safety::Safe,
        251,
        |name, text, outcome, failures| {
            let mut before = finding_keys(text);
            for key in finding_keys(&outcome.text) {
                match before.iter().position(|k| *k == key) {
                    Some(at) => {
                        before.remove(at);
                    }
                    None => failures.push(format!(
                        "{name}: {} on `{}` after {:?}, a finding the fix made",
                        key.0, key.1, outcome.applied
                    )),
                }
            }
        },
    );
}

/// Each command of each RUN, stage by stage, as (stage, instruction, command) positions keyed
/// by the command's program and operands (options left out: fixes add some).
fn commands(model: &layerwise::model::Model<'_>) -> Vec<(String, (usize, usize, usize))> {
    let mut out = Vec::new();
    for (s, stage) in model.stages.list.iter().enumerate() {
        for (i, inst) in stage.stage.instructions.iter().enumerate() {
            let Some(script) = model.script(inst) else {
                continue;
            };
            for (c, command) in script.commands.iter().enumerate() {
                let key: Vec<&str> = command
                    .program_words()
                    .iter()
                    .map(|w| w.value())
                    .filter(|w| !w.starts_with('-'))
                    .collect();
                out.push((key.join(" "), (s, i, c)));
            }
        }
    }
    out
}

#[test]
fn after_unsafe_fixes_every_program_is_installed_before_it_is_called() {
    use layerwise::fix::Safety;
    use layerwise::fixer::fix_text;
    use layerwise::knowledge::programs::{always_there, provides};
    use layerwise::model::packages::{Action, classify};
    use layerwise::model::{Model, ModelInput};
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let options = layerwise::lint::LintOptions::default();
    let input = ModelInput::default();
    let (mut pairs, mut moved_files) = (0, 0);
    let mut failures = Vec::new();
    for (name, text) in accepted(&corpus) {
        let df = Dockerfile::parse(text.as_str());
        let model = Model::new(&df, &input);
        // (installing command, calling command): a RUN calls a program an earlier RUN of its
        // stage installs, and nothing before that install calls it.
        let mut needs: Vec<(String, String)> = Vec::new();
        for stage in &model.stages.list {
            let runs: Vec<_> = stage
                .stage
                .instructions
                .iter()
                .filter_map(|i| model.script(i).map(|s| (*i, s)))
                .collect();
            for (a, (_, script)) in runs.iter().enumerate() {
                for install in script.commands.iter().filter_map(classify) {
                    if install.action != Action::Install || !install.manager.spec().system {
                        continue;
                    }
                    let packages: Vec<String> = install
                        .packages()
                        .iter()
                        .map(|w| w.value().to_string())
                        .collect();
                    let key = |c: &layerwise::shell::Command| -> String {
                        c.program_words()
                            .iter()
                            .map(|w| w.value())
                            .filter(|w| !w.starts_with('-'))
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    let called_before = |program: &str| {
                        runs[..=a]
                            .iter()
                            .any(|(_, s)| s.commands.iter().any(|c| c.name() == Some(program)))
                    };
                    for (_, later) in &runs[a + 1..] {
                        for call in &later.commands {
                            let Some(program) = call.name() else { continue };
                            let installed =
                                packages.iter().any(|p| provides(p, program) == Some(true));
                            if installed && !always_there(program) && !called_before(program) {
                                needs.push((key(install.command), key(call)));
                            }
                        }
                    }
                }
            }
        }
        if needs.is_empty() {
            continue;
        }
        let outcome = fix_text(&text, &options, Safety::Unsafe);
        if !outcome.changed() {
            continue;
        }
        moved_files += 1;
        let fixed = Dockerfile::parse(outcome.text.as_str());
        let fixed_model = Model::new(&fixed, &input);
        let at = commands(&fixed_model);
        let first = |key: &str| at.iter().find(|(k, _)| k == key).map(|(_, p)| *p);
        for (install, call) in needs {
            pairs += 1;
            // A command a fix rewrote is not found by its words: nothing to compare.
            if let (Some(i), Some(c)) = (first(&install), first(&call))
                && i >= c
            {
                failures.push(format!("{name}: `{call}` now runs before `{install}`"));
            }
        }
    }
    eprintln!("{pairs} install-then-call pairs in {moved_files} fixed files");
    assert!(
        pairs > 50,
        "only {pairs} install-then-call pairs in the corpus"
    );
    assert!(moved_files > 20, "only {moved_files} such files were fixed");
    assert!(
        failures.is_empty(),
        "{} programs called before their install:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The language server's script cache changes nothing: every corpus file linted through one
/// cache, then again one line lower (every script from the cache, moved), then with its first
/// ENV or ARG changed, finds what a lint without the cache finds.
#[test]
fn linting_through_the_script_cache_finds_the_same() {
    use layerwise::lint::{LintOptions, lint};
    use layerwise::shell::ScriptCache;
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let plain = LintOptions::default();
    let mut failures = Vec::new();
    let mut edited = 0;
    for (name, text) in accepted(&corpus) {
        let cached = LintOptions {
            scripts: Some(std::sync::Arc::new(ScriptCache::default())),
            ..LintOptions::default()
        };
        let mut versions = vec![text.clone(), format!("# an edit above\n{text}")];
        if let Some(at) = text.find("\nENV ").or_else(|| text.find("\nARG ")) {
            edited += 1;
            versions.push(format!(
                "{}\nENV LW_EDIT=1 PATH=/lw/bin:$PATH{}",
                &text[..at],
                &text[at..]
            ));
        }
        for version in versions {
            let df = Dockerfile::parse(version.as_str());
            if lint(&df, &cached) != lint(&df, &plain) {
                failures.push(name.clone());
            }
            cached.scripts.as_ref().expect("a cache").sweep();
        }
    }
    assert!(
        edited > 300,
        "only {edited} files had an ENV or ARG to edit"
    );
    assert!(
        failures.is_empty(),
        "{} files lint differently through the cache:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
