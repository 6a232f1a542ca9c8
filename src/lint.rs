//! The lint engine: the model of a file built once, every rule's check over it, then the rules
//! about the findings themselves (ignore comments), the ignore comments and the config.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::fix::{FileChange, Style};
use crate::model::{Model, ModelInput};
use crate::rules::{self, Context, Pass};
use crate::suppress::Suppressions;
use crate::syntax::Dockerfile;

/// Where the file lives, which decides its build context.
#[derive(Clone, Debug, Default)]
pub struct LintOptions {
    /// The Dockerfile's path; its folder is the context unless `context` says otherwise.
    pub path: Option<PathBuf>,
    pub context: Option<PathBuf>,
    /// Run only these rules (IDs); all when `None`.
    pub only: Option<Vec<String>>,
    /// Files the context rules see instead of the disk's (a `.dockerignore` a fix will write).
    pub overlay: Vec<(PathBuf, String)>,
    /// The config file that applies (`None`: the defaults).
    pub config: Option<Arc<Config>>,
    /// The stage the build targets (`--target`); the last one when `None`.
    pub target: Option<String>,
    /// `--build-arg` values, which ARGs take over their defaults.
    pub build_args: Vec<(String, String)>,
}

impl LintOptions {
    pub fn for_path(path: impl Into<PathBuf>) -> Self {
        LintOptions {
            path: Some(path.into()),
            ..LintOptions::default()
        }
    }

    /// Applies a fix's file change to the overlay; false when it changes nothing.
    pub fn overlay_change(&mut self, change: &FileChange) -> bool {
        let current = self.overlay.iter().position(|(p, _)| p == change.path());
        let (path, text) = match (change, current) {
            (FileChange::Create { path, text }, None) => (path.clone(), text.clone()),
            (FileChange::Create { .. }, Some(_)) => return false,
            (FileChange::Append { path, text }, Some(i)) => {
                let mut old = self.overlay.remove(i).1;
                old.push_str(text);
                (path.clone(), old)
            }
            (FileChange::Append { path, text }, None) => {
                let mut old = std::fs::read_to_string(path).unwrap_or_default();
                old.push_str(text);
                (path.clone(), old)
            }
        };
        self.overlay.push((path, text));
        true
    }
}

/// Runs every rule over a parsed file, then applies the file's ignore comments and the config's
/// severities. Findings come sorted by position, then rule.
pub fn lint(df: &Dockerfile, options: &LintOptions) -> Vec<Diagnostic> {
    let input = ModelInput {
        path: options.path.clone(),
        context: options.context.clone(),
        overlay: options.overlay.clone(),
        target: options.target.clone(),
        build_args: options.build_args.clone(),
    };
    let model = Model::new(df, &input);
    let config = options
        .config
        .as_deref()
        .unwrap_or_else(|| Config::default_ref());
    let suppressions = Suppressions::parse(df);
    let wanted = |id: &str| {
        options
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == id))
    };
    // A rule runs when the config leaves it on and it is wanted, or when an ignore comment names
    // it and the unused-ignore rule needs to know what it finds.
    let runs = |id: &str| {
        config.enabled(id)
            && (wanted(id) || (wanted("LW902") && suppressions.named_rules().any(|r| r == id)))
    };
    let cx = Context {
        model: &model,
        style: Style::of(df),
        suppressions: &suppressions,
        options: &config.rules,
        ran: &runs,
    };
    let mut out = Vec::new();
    for pass in [Pass::Main, Pass::AfterRules] {
        for rule in rules::ALL
            .iter()
            .filter(|r| r.pass() == pass && runs(r.id()))
        {
            rule.check(&cx, &mut out);
        }
    }
    out.retain(|d| wanted(d.rule) && !suppressions.suppresses(d) && !config.ignores(d));
    for d in &mut out {
        let default = rules::meta(d.rule).map_or(d.severity, |m| m.severity);
        d.severity = config.severity(d.rule, default);
    }
    out.sort_by(|a, b| (a.span.start, a.span.end, a.rule).cmp(&(b.span.start, b.span.end, b.rule)));
    out
}
