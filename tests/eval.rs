//! The rules' precision on real Dockerfiles: the shared corpus linted once, held against the
//! hand-read verdicts of `eval/labels.tsv` (see `eval/README.md`).
//!
//! Fails when a finding labelled TP is no longer reported, when a rule's strict precision on the
//! labelled findings falls below the floor the labels file records, or when the labels file is
//! malformed. A labelled MISS that is now reported is fine: it shows as caught.
//!
//! `cargo test --release --test eval -- --nocapture` prints the table. With
//! `LAYERWISE_EVAL_TODO=LW101` (or `LW101:50,LW105`, 30 when no count is given) it also prints
//! those rules' unlabelled findings in the fixed pseudo-random order labelling follows, as rows
//! to paste and fill in.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::hash::Hasher;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const LABELS: &str = "eval/labels.tsv";
/// Mixed into the order of unlabelled findings; changing it reshuffles every future sample.
const SEED: &str = "layerwise-eval-1";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Tp,
    Fp,
    Debatable,
    Miss,
}

impl Verdict {
    fn parse(text: &str) -> Option<Verdict> {
        match text {
            "TP" => Some(Verdict::Tp),
            "FP" => Some(Verdict::Fp),
            "debatable" => Some(Verdict::Debatable),
            "MISS" => Some(Verdict::Miss),
            _ => None,
        }
    }
}

/// Where a finding is: file, rule, first line.
type Key = (String, String, u64);

struct Labels {
    verdicts: BTreeMap<Key, Verdict>,
    /// Strict precision floors in percent, per rule.
    floors: BTreeMap<String, f64>,
}

/// Reads the labels file: tab-separated `file rule line verdict reason` rows under a header,
/// `#` comments, and `# floor RULE PERCENT` lines.
fn read_labels(path: &Path, corpus_files: &BTreeSet<String>) -> Result<Labels, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{LABELS}: {e}")])?;
    let mut verdicts = BTreeMap::new();
    let mut floors = BTreeMap::new();
    let mut errors = Vec::new();
    let mut header_seen = false;
    for (index, line) in text.lines().enumerate() {
        let at = format!("{LABELS}:{}", index + 1);
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if let ["floor", rule, percent] = words.as_slice() {
                match percent.trim_end_matches('%').parse::<f64>() {
                    Ok(p) if (0.0..=100.0).contains(&p) => {
                        floors.insert(rule.to_string(), p);
                    }
                    _ => errors.push(format!("{at}: floor `{percent}` is not a percentage")),
                }
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if !header_seen {
            header_seen = true;
            if cols[..] != ["file", "rule", "line", "verdict", "reason"] {
                errors.push(format!(
                    "{at}: the header must be file, rule, line, verdict, reason"
                ));
            }
            continue;
        }
        let [file, rule, line_no, verdict, reason] = cols[..] else {
            errors.push(format!("{at}: {} columns, 5 expected", cols.len()));
            continue;
        };
        let Ok(line_no) = line_no.parse::<u64>() else {
            errors.push(format!("{at}: line `{line_no}` is not a number"));
            continue;
        };
        let Some(verdict) = Verdict::parse(verdict) else {
            errors.push(format!(
                "{at}: verdict `{verdict}` is none of TP, FP, debatable, MISS"
            ));
            continue;
        };
        if !corpus_files.contains(file) {
            errors.push(format!("{at}: `{file}` is not a corpus file"));
        }
        if !rule.starts_with("LW") {
            errors.push(format!("{at}: `{rule}` is not a rule ID"));
        }
        if reason.trim().is_empty() {
            errors.push(format!("{at}: the reason is empty"));
        }
        let key = (file.to_string(), rule.to_string(), line_no);
        if verdicts.insert(key, verdict).is_some() {
            errors.push(format!(
                "{at}: {file} {rule} line {line_no} is labelled twice"
            ));
        }
    }
    if errors.is_empty() {
        Ok(Labels { verdicts, floors })
    } else {
        Err(errors)
    }
}

struct Finding {
    message: String,
}

/// Lints every corpus file in one process; the findings by key, and the corpus file names.
fn lint_corpus(corpus: &Path) -> (BTreeMap<Key, Finding>, BTreeSet<String>) {
    let files_dir = corpus.join("files");
    let names: BTreeSet<String> = std::fs::read_dir(&files_dir)
        .expect("the corpus folder is readable")
        .map(|entry| {
            entry
                .expect("corpus entry")
                .file_name()
                .into_string()
                .expect("corpus names are UTF-8")
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_layerwise"))
        .args(["lint", "--format", "json", "--"])
        .args(&names)
        .current_dir(&files_dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("layerwise runs");
    // 1 for findings, 2 because BuildKit's own negative test files do not parse.
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "lint exited with {:?}: {}",
        out.status,
        common::stderr(&out)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("the JSON report parses");
    assert_eq!(report["files_checked"].as_u64(), Some(names.len() as u64));
    let mut findings = BTreeMap::new();
    for f in report["findings"].as_array().expect("findings") {
        let key = (
            f["file"].as_str().expect("file").to_string(),
            f["rule"].as_str().expect("rule").to_string(),
            f["line"].as_u64().expect("line"),
        );
        let message = f["message"].as_str().unwrap_or_default().to_string();
        findings.entry(key).or_insert(Finding { message });
    }
    (findings, names)
}

#[derive(Default)]
struct RuleFigures {
    findings: usize,
    files: BTreeSet<String>,
    tp: usize,
    fp: usize,
    debatable: usize,
    unlabelled: usize,
    /// Labelled FP or debatable findings that are no longer reported.
    gone: usize,
    misses: usize,
    caught: usize,
}

impl RuleFigures {
    fn labelled(&self) -> usize {
        self.tp + self.fp + self.debatable
    }

    fn strict(&self) -> Option<f64> {
        (self.labelled() > 0).then(|| 100.0 * self.tp as f64 / self.labelled() as f64)
    }

    fn lenient(&self) -> Option<f64> {
        (self.labelled() > 0)
            .then(|| 100.0 * (self.tp + self.debatable) as f64 / self.labelled() as f64)
    }
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_string(), |p| format!("{p:.1}%"))
}

/// A stable pseudo-random rank: the labelled sample of a rule stays a prefix of its order
/// whatever other findings come and go.
fn rank(key: &Key) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(format!("{SEED}\t{}\t{}\t{}", key.0, key.1, key.2).as_bytes());
    hasher.finish()
}

#[test]
fn rules_hold_their_precision_on_the_labelled_corpus() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let (findings, corpus_files) = lint_corpus(&corpus);
    let labels_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(LABELS);
    let labels = match read_labels(&labels_path, &corpus_files) {
        Ok(labels) => labels,
        Err(errors) => panic!("{}", errors.join("\n")),
    };

    let mut rules: BTreeMap<String, RuleFigures> = BTreeMap::new();
    for key in findings.keys() {
        let figures = rules.entry(key.1.clone()).or_default();
        figures.findings += 1;
        figures.files.insert(key.0.clone());
        if !labels.verdicts.contains_key(key) {
            figures.unlabelled += 1;
        }
    }
    let mut failures = Vec::new();
    let mut caught = Vec::new();
    for (key, verdict) in &labels.verdicts {
        let figures = rules.entry(key.1.clone()).or_default();
        let found = findings.contains_key(key);
        match (verdict, found) {
            (Verdict::Tp, true) => figures.tp += 1,
            (Verdict::Fp, true) => figures.fp += 1,
            (Verdict::Debatable, true) => figures.debatable += 1,
            (Verdict::Tp, false) => failures.push(format!(
                "{} {} line {}: labelled TP, no longer reported",
                key.0, key.1, key.2
            )),
            (Verdict::Fp | Verdict::Debatable, false) => figures.gone += 1,
            (Verdict::Miss, found) => {
                figures.misses += 1;
                if found {
                    figures.caught += 1;
                    caught.push(format!("{} {} line {}", key.0, key.1, key.2));
                }
            }
        }
    }

    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:<6} {:>8} {:>6} {:>8} {:>4} {:>4} {:>4} {:>8} {:>8} {:>6} {:>11} {:>5} {:>6} {:>7} {:>7}",
        "rule",
        "findings",
        "files",
        "labelled",
        "TP",
        "FP",
        "deb",
        "strict",
        "lenient",
        "floor",
        "unlabelled",
        "gone",
        "misses",
        "caught",
        "missed"
    );
    for (rule, f) in &rules {
        let floor = labels.floors.get(rule).copied();
        let _ = writeln!(
            table,
            "{:<6} {:>8} {:>6} {:>8} {:>4} {:>4} {:>4} {:>8} {:>8} {:>6} {:>11} {:>5} {:>6} {:>7} {:>7}",
            rule,
            f.findings,
            f.files.len(),
            f.labelled(),
            f.tp,
            f.fp,
            f.debatable,
            percent(f.strict()),
            percent(f.lenient()),
            floor.map_or_else(|| "-".to_string(), |p| format!("{p:.1}")),
            f.unlabelled,
            f.gone,
            f.misses,
            f.caught,
            f.misses - f.caught,
        );
        if let (Some(floor), Some(strict)) = (floor, f.strict()) {
            // Floors are written rounded down to a tenth; compare at that precision.
            if (strict * 10.0).floor() < (floor * 10.0).round() {
                failures.push(format!(
                    "{rule}: strict precision {strict:.1}% is below its floor {floor:.1}%"
                ));
            }
        }
    }
    let _ = writeln!(
        table,
        "strict = TP / (TP + FP + debatable) and lenient = (TP + debatable) / the same, over \
         labelled findings still reported; gone = labelled FP or debatable findings no longer \
         reported; misses = labelled misses, caught = those now reported, missed = those still not."
    );
    for miss in &caught {
        let _ = writeln!(table, "caught: {miss}");
    }
    eprintln!("{table}");

    if let Ok(todo) = std::env::var("LAYERWISE_EVAL_TODO") {
        for wanted in todo.split(',') {
            let (rule, count) = match wanted.split_once(':') {
                Some((rule, n)) => (rule, n.parse().unwrap_or(30)),
                None => (wanted, 30),
            };
            let mut open: Vec<(&Key, &Finding)> = findings
                .iter()
                .filter(|(key, _)| key.1 == rule && !labels.verdicts.contains_key(*key))
                .collect();
            open.sort_by_key(|(key, _)| rank(key));
            eprintln!("unlabelled {rule} findings in sampling order (fill in verdict and reason):");
            for (key, finding) in open.into_iter().take(count) {
                eprintln!("{}\t{}\t{}\t?\t{}", key.0, key.1, key.2, finding.message);
            }
        }
    }

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
