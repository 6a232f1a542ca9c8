//! LW901 ignore-unknown-rule: a `# layerwise ignore=` comment names a rule that does not exist.

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::rules::Context;
use crate::rules::Rule;
use crate::suppress::Tool;

pub struct IgnoreUnknownRule;

impl Rule for IgnoreUnknownRule {
    fn id(&self) -> &'static str {
        "LW901"
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        // hadolint's comments name hadolint's rules; those layerwise lacks are not unknown.
        let ours = cx
            .suppressions
            .comments
            .iter()
            .filter(|c| c.tool == Tool::Layerwise);
        for comment in ours {
            if comment.codes.is_empty() {
                out.push(
                    Diagnostic::new(self.id(), comment.text, "this ignore comment names no rule")
                        .with_help("name rules after `ignore=`, separated by commas"),
                );
            }
            for code in comment.codes.iter().filter(|c| c.rule.is_none()) {
                out.push(
                    Diagnostic::new(
                        self.id(),
                        code.span,
                        format!("`{}` is not a layerwise rule, so ignoring it does nothing", code.text),
                    )
                    .with_help("`layerwise rules` lists the rules; hadolint's own codes go in `# hadolint ignore=`"),
                );
            }
        }
    }
}
