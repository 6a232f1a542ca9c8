//! The rules: the [`Rule`] trait, the list of all rules (written out by hand), and their
//! metadata, which lives as data in `rules/<ID>.md` (front matter plus docs).

use std::sync::LazyLock;

use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Safety;
use crate::lint::LintContext;

mod apt_install_recommends;
mod apt_lists_not_cleaned;
mod build_tools_in_final_stage;
mod consecutive_run;
mod context_scan;
mod deleted_in_later_layer;
mod dockerignore_gaps;
mod edit;
mod ignore_unknown_rule;
mod ignore_unused;
mod missing_dockerignore;
mod package_cache_kept;
pub mod packages;
mod paths;
mod source_before_deps;
mod update_without_install;

/// One rule: a pure check over a parsed file (and, for context rules, its build context).
pub trait Rule: Send + Sync {
    fn id(&self) -> &'static str;
    /// Adds the rule's findings to `out`, which already holds those of the rules before it.
    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>);
    /// Whether the rule reads the build context (so it cannot fire without one).
    fn reads_context(&self) -> bool {
        false
    }
}

/// Every rule, in ID order.
pub static ALL: &[&dyn Rule] = &[
    &consecutive_run::ConsecutiveRun,
    &apt_lists_not_cleaned::AptListsNotCleaned,
    &package_cache_kept::PackageCacheKept,
    &apt_install_recommends::AptInstallRecommends,
    &deleted_in_later_layer::DeletedInLaterLayer,
    &source_before_deps::SourceBeforeDeps,
    &update_without_install::UpdateWithoutInstall,
    &build_tools_in_final_stage::BuildToolsInFinalStage,
    &missing_dockerignore::MissingDockerignore,
    &dockerignore_gaps::DockerignoreGaps,
    &ignore_unknown_rule::IgnoreUnknownRule,
    &ignore_unused::IgnoreUnused,
];

/// The docs of every rule, by ID (front matter + markdown).
static DOCS: &[(&str, &str)] = &[
    ("LW101", include_str!("../../rules/LW101.md")),
    ("LW102", include_str!("../../rules/LW102.md")),
    ("LW103", include_str!("../../rules/LW103.md")),
    ("LW104", include_str!("../../rules/LW104.md")),
    ("LW105", include_str!("../../rules/LW105.md")),
    ("LW201", include_str!("../../rules/LW201.md")),
    ("LW202", include_str!("../../rules/LW202.md")),
    ("LW301", include_str!("../../rules/LW301.md")),
    ("LW401", include_str!("../../rules/LW401.md")),
    ("LW402", include_str!("../../rules/LW402.md")),
    ("LW901", include_str!("../../rules/LW901.md")),
    ("LW902", include_str!("../../rules/LW902.md")),
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

pub fn rule(id: &str) -> Option<&'static dyn Rule> {
    ALL.iter().copied().find(|r| r.id() == id)
}

pub fn meta(id: &str) -> Option<&'static RuleMeta> {
    META.iter().find(|m| m.id == id)
}

/// The order in which fixes of one pass are chosen: fixes that move, merge or delete
/// instructions come before in-place edits, so the small edits apply to the final shape.
pub fn fix_priority(rule: &str) -> u8 {
    match rule {
        "LW201" => 0,
        "LW202" => 1,
        "LW105" => 2,
        "LW101" => 3,
        _ => IN_PLACE,
    }
}

/// The [`fix_priority`] of rules whose fixes edit an instruction where it stands.
pub const IN_PLACE: u8 = 4;

/// A rule by ID, name or alias, case-insensitively: `LW102`, `apt-lists-not-cleaned`, `DL3009`.
pub fn lookup(key: &str) -> Option<&'static RuleMeta> {
    META.iter().find(|m| {
        m.id.eq_ignore_ascii_case(key)
            || m.name.eq_ignore_ascii_case(key)
            || m.aliases.iter().any(|a| a.eq_ignore_ascii_case(key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_docs_and_the_lists_agree() {
        let ids: Vec<&str> = ALL.iter().map(|r| r.id()).collect();
        let documented: Vec<&str> = all_meta().iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, documented);
        for meta in all_meta() {
            for section in [
                "## What it does",
                "## Why",
                "## Bad",
                "## Good",
                "## Fix safety",
            ] {
                assert!(meta.docs.contains(section), "{} lacks {section}", meta.id);
            }
            assert!(
                meta.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-'),
                "{} name is not kebab-case",
                meta.id
            );
        }
    }

    #[test]
    fn lookup_by_id_name_and_alias() {
        assert_eq!(lookup("lw102").unwrap().id, "LW102");
        assert_eq!(lookup("apt-lists-not-cleaned").unwrap().id, "LW102");
        assert_eq!(lookup("DL3009").unwrap().id, "LW102");
        assert!(lookup("LW999").is_none());
    }
}

/// Helpers for the rules' inline tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::diagnostic::Diagnostic;
    use crate::fix::{Safety, fix_text};
    use crate::lint::{LintOptions, lint};
    use crate::syntax::Dockerfile;

    /// The findings of one rule on a file that must parse.
    pub fn lint_rule(id: &str, text: &str) -> Vec<Diagnostic> {
        lint_rule_with(id, text, LintOptions::default())
    }

    /// The same, with a config given as YAML.
    pub fn lint_rule_configured(id: &str, text: &str, config: &str) -> Vec<Diagnostic> {
        lint_rule_with(id, text, configured(config))
    }

    pub fn configured(config: &str) -> LintOptions {
        let config = crate::config::Config::parse(
            config,
            std::path::Path::new("test.yaml"),
            Default::default(),
        )
        .expect("test config parses");
        LintOptions {
            config: Some(std::sync::Arc::new(config)),
            ..LintOptions::default()
        }
    }

    fn lint_rule_with(id: &str, text: &str, options: LintOptions) -> Vec<Diagnostic> {
        let df = Dockerfile::parse(text);
        assert!(df.errors.is_empty(), "{:?}", df.errors);
        lint(&df, &options)
            .into_iter()
            .filter(|d| d.rule == id)
            .collect()
    }

    /// The text after every safe (and with `unsafe_fixes`, unsafe) fix of one rule.
    pub fn fix_rule(id: &str, text: &str, unsafe_fixes: bool) -> String {
        let max = if unsafe_fixes {
            Safety::Unsafe
        } else {
            Safety::Safe
        };
        let options = LintOptions {
            only: Some(vec![id.to_string()]),
            ..LintOptions::default()
        };
        fix_text(text, &options, max).text
    }
}
