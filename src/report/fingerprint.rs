//! Fingerprints that survive edits elsewhere in a file, for the formats whose readers match
//! findings across commits (SARIF's `partialFingerprints`, and any other): the FNV-1a hash of the
//! rule, the file and the text of the instruction (or comment line) the finding is on, its
//! whitespace collapsed, then `:` and how many findings of the file before it share that hash.
//! Moving or re-indenting the instruction keeps them; FNV's value never changes between builds
//! (unlike std's hasher). The recipe is SARIF's `layerwiseFingerprint/v1`: it changes only with
//! that version.

use std::collections::HashMap;
use std::hash::Hasher;

use super::FileResult;
use crate::diagnostic::Diagnostic;

/// The fingerprints of one file's findings, made one at a time as they are written: a lookup by
/// binary search and a count per distinct hash, never a list of them all.
pub struct Fingerprints<'a> {
    file: &'a FileResult,
    /// How many findings so far had each hash.
    seen: HashMap<u64, usize>,
}

impl<'a> Fingerprints<'a> {
    pub fn new(file: &'a FileResult) -> Self {
        Fingerprints {
            file,
            seen: HashMap::new(),
        }
    }

    /// The fingerprint of the file's next finding: ask in the order of `file.diagnostics`.
    pub fn next(&mut self, d: &Diagnostic) -> String {
        let hash = hash(self.file, d);
        let occurrence = self.seen.entry(hash).or_insert(0);
        let fingerprint = format!("{hash:016x}:{occurrence}");
        *occurrence += 1;
        fingerprint
    }
}

/// The parts are hashed as written one after another, `\0` between them, without building that
/// text.
fn hash(file: &FileResult, d: &Diagnostic) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(d.rule.as_bytes());
    hasher.write(b"\0");
    hasher.write(file.display.as_bytes());
    hasher.write(b"\0");
    if let Some(df) = &file.source {
        let text = match file.instruction_at(d.span.start) {
            Some(inst) => df.slice(inst.span()),
            None => {
                let line = df.lines().line_of(d.span.start);
                df.slice(df.lines().line_span(df.text(), line))
            }
        };
        for (i, word) in text.split_whitespace().enumerate() {
            if i > 0 {
                hasher.write(b" ");
            }
            hasher.write(word.as_bytes());
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::lint::{LintOptions, lint_findings};
    use crate::syntax::Dockerfile;

    fn fingerprints(text: &str) -> Vec<(&'static str, String)> {
        let df = Dockerfile::parse(text);
        let file = FileResult {
            path: "Dockerfile".into(),
            display: "Dockerfile".into(),
            diagnostics: lint_findings(&df, &LintOptions::default()),
            source: Some(Arc::new(df)),
            errors: Vec::new(),
            rules: Vec::new(),
        };
        let mut fingerprints = Fingerprints::new(&file);
        file.diagnostics
            .iter()
            .map(|d| (d.rule, fingerprints.next(&d)))
            .collect()
    }

    #[test]
    fn the_recipe_is_the_hash_of_rule_file_and_instruction_text() {
        let found = fingerprints("FROM debian\nRUN   apt-get install -y curl\n");
        let (rule, fingerprint) = &found[0];
        let mut expected = fnv::FnvHasher::default();
        expected.write(format!("{rule}\0Dockerfile\0RUN apt-get install -y curl").as_bytes());
        assert_eq!(fingerprint, &format!("{:016x}:0", expected.finish()));
    }

    #[test]
    fn the_same_instruction_twice_counts_on() {
        let text =
            "FROM debian AS a\nRUN apt-get install -y curl\nFROM a\nRUN apt-get install -y curl\n";
        let found = fingerprints(text);
        let lw104: Vec<&String> = found
            .iter()
            .filter(|(r, _)| *r == "LW104")
            .map(|(_, f)| f)
            .collect();
        assert_eq!(lw104.len(), 2);
        assert_eq!(lw104[0].split(':').next(), lw104[1].split(':').next());
        assert!(
            lw104[0].ends_with(":0") && lw104[1].ends_with(":1"),
            "{lw104:?}"
        );
    }
}
