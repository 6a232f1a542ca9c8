//! The rules: the [`Rule`] trait, the context a rule reads, and the registry of every rule
//! (written out by hand, one line each), with the options of the rules that have them. A rule's
//! metadata and docs live as data in `rules/<ID>.md` ([`crate::catalog`]).

use std::ops::Deref;

use serde::Deserialize;

pub use crate::catalog::{FixKind, RuleMeta, all_meta, lookup, meta};
use crate::findings::Findings;
use crate::fix::Style;
use crate::model::Model;
use crate::suppress::Suppressions;

mod apt_install_recommends;
mod apt_lists_not_cleaned;
mod archive_kept_in_layer;
mod build_tools_in_final_stage;
mod consecutive_run;
mod deleted_in_later_layer;
mod dockerignore_gaps;
mod edit;
mod held;
mod ignore_unknown_rule;
mod ignore_unused;
mod missing_dockerignore;
mod multi_stage_rewrite;
mod package_cache_kept;
mod package_upgrade_in_image;
mod permission_change_copies_files;
mod source_before_deps;
mod stable_steps_after_source;
mod update_without_install;

pub use build_tools_in_final_stage::BuildToolsOptions;
pub use consecutive_run::ConsecutiveRunOptions;
pub use dockerignore_gaps::DockerignoreGapsOptions;

/// One rule: a pure check over the model of a file (and, for context rules, its build context
/// as the model read it).
pub trait Rule: Send + Sync {
    fn id(&self) -> &'static str;
    /// Adds the rule's findings to `out`. In [`Pass::AfterRules`], `out` holds every finding of
    /// the other rules (before ignore comments apply), read with [`Findings::iter`].
    fn check(&self, cx: &Context<'_>, out: &mut Findings);
    /// Whether the rule reads the build context (so it cannot fire without one).
    fn reads_context(&self) -> bool {
        false
    }
    /// When the rule runs: with the others, or after them (rules about the findings
    /// themselves, such as an ignore comment that suppresses nothing).
    fn pass(&self) -> Pass {
        Pass::Main
    }
    /// Where the rule's fixes go in a pass: fixes that move, merge or delete instructions come
    /// before in-place edits, so the small edits apply to the final shape.
    fn fix_order(&self) -> u8 {
        IN_PLACE
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    Main,
    AfterRules,
}

/// The [`Rule::fix_order`] of rules whose fixes edit an instruction where it stands.
pub const IN_PLACE: u8 = 4;

/// Every rule, in ID order: the one place a rule is registered.
pub static ALL: &[&dyn Rule] = &[
    &consecutive_run::ConsecutiveRun,
    &apt_lists_not_cleaned::AptListsNotCleaned,
    &package_cache_kept::PackageCacheKept,
    &apt_install_recommends::AptInstallRecommends,
    &deleted_in_later_layer::DeletedInLaterLayer,
    &permission_change_copies_files::PermissionChangeCopiesFiles,
    &archive_kept_in_layer::ArchiveKeptInLayer,
    &package_upgrade_in_image::PackageUpgradeInImage,
    &source_before_deps::SourceBeforeDeps,
    &update_without_install::UpdateWithoutInstall,
    &stable_steps_after_source::StableStepsAfterSource,
    &build_tools_in_final_stage::BuildToolsInFinalStage,
    &missing_dockerignore::MissingDockerignore,
    &dockerignore_gaps::DockerignoreGaps,
    &ignore_unknown_rule::IgnoreUnknownRule,
    &ignore_unused::IgnoreUnused,
];

/// Options of the rules that have them, under `rules:` in the config, by ID or name.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOptions {
    #[serde(rename = "LW101", alias = "consecutive-run", default)]
    pub consecutive_run: ConsecutiveRunOptions,
    #[serde(rename = "LW301", alias = "build-tools-in-final-stage", default)]
    pub build_tools_in_final_stage: BuildToolsOptions,
    #[serde(rename = "LW402", alias = "dockerignore-gaps", default)]
    pub dockerignore_gaps: DockerignoreGapsOptions,
}

pub fn rule(id: &str) -> Option<&'static dyn Rule> {
    ALL.iter().copied().find(|r| r.id() == id)
}

/// The [`Rule::fix_order`] of a rule's fixes.
pub fn fix_priority(rule: &str) -> u8 {
    self::rule(rule).map_or(IN_PLACE, |r| r.fix_order())
}

/// What a rule reads: the model of the file, and what the engine settled for this run. It
/// derefs to the [`Model`].
pub struct Context<'a> {
    pub model: &'a Model<'a>,
    /// How the file formats continuations, for generated text.
    pub style: Style,
    /// The file's ignore comments.
    pub suppressions: &'a Suppressions,
    pub options: &'a RuleOptions,
    /// Whether a rule ran on this file (so its silence means something).
    pub ran: &'a dyn Fn(&str) -> bool,
}

impl<'a> Deref for Context<'a> {
    type Target = Model<'a>;

    fn deref(&self) -> &Model<'a> {
        self.model
    }
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
    use crate::fix::Safety;
    use crate::fixer::fix_text;
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
