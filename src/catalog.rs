//! The catalog of rules as data: each rule's metadata (front matter) and docs, from
//! `rules/<ID>.md`, compiled in. Everything that names rules (config, ignore comments, reports)
//! looks them up here; the checks themselves live in `rules/`.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Safety;

/// The docs of every rule, by ID (front matter + markdown).
static DOCS: &[(&str, &str)] = &[
    ("LW101", include_str!("../rules/LW101.md")),
    ("LW102", include_str!("../rules/LW102.md")),
    ("LW103", include_str!("../rules/LW103.md")),
    ("LW104", include_str!("../rules/LW104.md")),
    ("LW105", include_str!("../rules/LW105.md")),
    ("LW106", include_str!("../rules/LW106.md")),
    ("LW107", include_str!("../rules/LW107.md")),
    ("LW108", include_str!("../rules/LW108.md")),
    ("LW201", include_str!("../rules/LW201.md")),
    ("LW202", include_str!("../rules/LW202.md")),
    ("LW203", include_str!("../rules/LW203.md")),
    ("LW301", include_str!("../rules/LW301.md")),
    ("LW401", include_str!("../rules/LW401.md")),
    ("LW402", include_str!("../rules/LW402.md")),
    ("LW901", include_str!("../rules/LW901.md")),
    ("LW902", include_str!("../rules/LW902.md")),
];

/// Whether and how a rule's findings can be fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixKind {
    None,
    Safe,
    Unsafe,
    DisplayOnly,
}

impl FixKind {
    pub fn safety(self) -> Option<Safety> {
        match self {
            FixKind::None => None,
            FixKind::Safe => Some(Safety::Safe),
            FixKind::Unsafe => Some(Safety::Unsafe),
            FixKind::DisplayOnly => Some(Safety::DisplayOnly),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::None => "none",
            FixKind::Safe => "safe",
            FixKind::Unsafe => "unsafe",
            FixKind::DisplayOnly => "display-only",
        }
    }
}

/// A rule's metadata, from the front matter of `rules/<ID>.md`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    pub fix: FixKind,
    /// Equivalent codes in other linters (hadolint's `DL3009`).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub summary: String,
    #[serde(skip)]
    pub docs: &'static str,
}

impl RuleMeta {
    /// Where the rule's docs live online.
    pub fn url(&self) -> String {
        format!(
            "{}/blob/main/rules/{}.md",
            env!("CARGO_PKG_REPOSITORY"),
            self.id
        )
    }
}

static META: LazyLock<Vec<RuleMeta>> = LazyLock::new(|| {
    DOCS.iter()
        .map(|(id, text)| match parse_meta(text) {
            Ok(meta) if meta.id == *id => meta,
            Ok(meta) => panic!("rules/{id}.md declares id {}", meta.id),
            // The docs are compiled in: a broken one is a bug caught by every test run.
            Err(e) => panic!("rules/{id}.md front matter: {e}"),
        })
        .collect()
});

fn parse_meta(text: &'static str) -> Result<RuleMeta, String> {
    let rest = text
        .strip_prefix("---\n")
        .ok_or("missing front matter start")?;
    let end = rest.find("\n---\n").ok_or("missing front matter end")?;
    let mut meta: RuleMeta = serde_yaml_ng::from_str(&rest[..end]).map_err(|e| e.to_string())?;
    meta.docs = rest[end + 5..].trim_start();
    Ok(meta)
}

/// Metadata of every rule, in ID order.
pub fn all_meta() -> &'static [RuleMeta] {
    &META
}

pub fn meta(id: &str) -> Option<&'static RuleMeta> {
    META.iter().find(|m| m.id == id)
}

/// A rule by ID, name or alias, case-insensitively: `LW102`, `apt-lists-not-cleaned`, `DL3009`.
pub fn lookup(key: &str) -> Option<&'static RuleMeta> {
    META.iter().find(|m| {
        m.id.eq_ignore_ascii_case(key)
            || m.name.eq_ignore_ascii_case(key)
            || m.aliases.iter().any(|a| a.eq_ignore_ascii_case(key))
    })
}

/// Whether a hadolint code that names a finding's rule covers the finding: the code of its own
/// check, or any code of a rule that has only one.
pub fn hadolint_matches(d: &Diagnostic, code: &str) -> bool {
    match d.hadolint() {
        Some(own) => own.eq_ignore_ascii_case(code),
        None => meta(d.rule).is_none_or(|m| m.aliases.len() <= 1),
    }
}
