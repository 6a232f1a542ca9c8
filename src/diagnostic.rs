//! A finding: which rule, how bad, where, and the fix it offers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::fix::Fix;
use crate::source::Span;
pub use crate::text::Text;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary place that explains the finding ("created here").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: Text,
}

/// A file of many findings holds them all until its report is written: a finding is its own
/// fields (texts shared, [`Text`]), with its fix and the fields few findings set (labels, a
/// hadolint check) boxed, so that a finding without them pays a pointer for each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule's ID, such as `LW102`.
    pub rule: &'static str,
    pub severity: Severity,
    pub message: Text,
    pub span: Span,
    /// One line telling what to do.
    pub help: Option<Text>,
    pub fix: Option<Box<Fix>>,
    /// Labels and the hadolint check: see [`Diagnostic::labels`], [`Diagnostic::hadolint`].
    rare: Option<Box<Rare>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Rare {
    labels: Vec<Label>,
    hadolint: Option<&'static str>,
}

impl Diagnostic {
    /// A finding at the rule's default severity; the engine applies the config's after.
    pub fn new(rule: &'static str, span: Span, message: impl Into<Text>) -> Self {
        Diagnostic {
            rule,
            // The engine sets the rule's own severity, then the config's.
            severity: Severity::Warning,
            message: message.into(),
            span,
            help: None,
            fix: None,
            rare: None,
        }
    }

    /// Whether the finding has no room for labels or a hadolint check (most findings): the
    /// engine keeps such a finding compact while the rules run.
    pub(crate) fn is_plain(&self) -> bool {
        self.rare.is_none()
    }

    /// Secondary places that explain the finding.
    pub fn labels(&self) -> &[Label] {
        self.rare.as_ref().map_or(&[], |r| &r.labels)
    }

    /// The hadolint check this finding matches, for a rule that covers several (LW103 covers
    /// DL3019 for apk, DL3042 for pip, …): then `# hadolint ignore=DL3042` and an `ignore` of
    /// DL3042 in the config suppress only the findings of that check. `None` for a rule with
    /// one alias (it stands for the whole rule), or a finding hadolint has no check for.
    pub fn hadolint(&self) -> Option<&'static str> {
        self.rare.as_ref().and_then(|r| r.hadolint)
    }

    pub fn with_hadolint(mut self, code: Option<&'static str>) -> Self {
        if code.is_some() || self.rare.is_some() {
            self.rare.get_or_insert_default().hadolint = code;
        }
        self
    }

    pub fn with_help(mut self, help: impl Into<Text>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, span: Span, message: impl Into<Text>) -> Self {
        self.rare.get_or_insert_default().labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix.map(Box::new);
        self
    }
}

/// Text quoted in a message, cut to at most `max` characters: at a word boundary where one is
/// near, and always with `…` to say something was left out.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let keep: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut_in_word = text[keep.len()..].starts_with(|c: char| !c.is_whitespace());
    let kept = match keep.rfind(char::is_whitespace) {
        // Back to the last whole word, unless that loses more than half.
        Some(at) if cut_in_word && at >= keep.len() / 2 => &keep[..at],
        _ => &keep,
    };
    format!("{}…", kept.trim_end())
}

/// A command as its words say it (no continuation lines, the shell's quoting taken off), cut
/// for a message.
pub fn command_text(words: impl IntoIterator<Item = impl AsRef<str>>, max: usize) -> String {
    let joined = words
        .into_iter()
        .map(|w| w.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    shorten(&joined, max)
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn cut_text_ends_with_an_ellipsis_at_a_word_boundary() {
        assert_eq!(
            shorten("apt-get install -y curl", 60),
            "apt-get install -y curl"
        );
        let pip = "pip3 install --break-system-packages -r requirements.txt";
        assert_eq!(shorten(pip, 45), "pip3 install --break-system-packages -r…");
        // Backing off to a space would lose more than half: cut in the word.
        assert_eq!(shorten(pip, 30), "pip3 install --break-system-p…");
        // One long word: cut inside it, still marked.
        let word = "a".repeat(80);
        assert_eq!(shorten(&word, 10), format!("{}…", "a".repeat(9)));
        assert_eq!(shorten("héllo wörld ünïcode", 8), "héllo…");
    }
}
