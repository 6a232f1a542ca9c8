//! LW102 apt-lists-not-cleaned: `apt-get install` leaves the package lists in its layer.

use crate::diagnostic::Diagnostic;
use crate::fix::{Fix, Safety};
use crate::lint::LintContext;
use crate::rules::Rule;
use crate::rules::edit::append_command;
use crate::rules::packages::{Action, Manager, classify, mount_covers, removes};
use crate::syntax::Keyword;

const LISTS: &str = "/var/lib/apt/lists";

pub struct AptListsNotCleaned;

impl Rule for AptListsNotCleaned {
    fn id(&self) -> &'static str {
        "LW102"
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        for stage in cx.stages.iter().filter(|s| s.in_final_image) {
            for &inst in &stage.stage.instructions {
                if inst.keyword != Keyword::Run || mount_covers(inst, LISTS) {
                    continue;
                }
                let Some(script) = cx.script(inst) else {
                    continue;
                };
                let install = script.commands.iter().find_map(|c| {
                    classify(c).filter(|p| p.manager == Manager::Apt && p.action == Action::Install)
                });
                let Some(install) = install else {
                    continue;
                };
                // `apt-get dist-clean` (apt 2.7+) removes the lists too.
                let cleaned = script.commands.iter().any(|c| {
                    removes(c, LISTS)
                        || classify(c).is_some_and(|p| {
                            p.manager == Manager::Apt
                                && p.sub.is_some_and(|s| {
                                    matches!(s.value.as_str(), "dist-clean" | "distclean")
                                })
                        })
                });
                if cleaned {
                    continue;
                }
                let fix = append_command(cx, inst, "rm -rf /var/lib/apt/lists/*").map(|edit| {
                    Fix::new(
                        "append `&& rm -rf /var/lib/apt/lists/*`",
                        Safety::Safe,
                        vec![edit],
                    )
                });
                let name = install.command.name().unwrap_or("apt-get");
                out.push(
                    Diagnostic::new(
                        self.id(),
                        install.command.span,
                        format!(
                            "`{name} install` leaves the package lists in {LISTS} in this layer"
                        ),
                    )
                    .with_help("remove them in the same RUN: `&& rm -rf /var/lib/apt/lists/*`")
                    .with_fix(fix),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    #[test]
    fn fires_without_removal_in_the_same_run() {
        let found = lint_rule(
            "LW102",
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
        );
        assert_eq!(found.len(), 1);
        let clean = "FROM debian\nRUN apt-get update && apt-get install -y curl \\\n && rm -rf /var/lib/apt/lists/*\n";
        assert!(lint_rule("LW102", clean).is_empty());
    }

    #[test]
    fn dist_clean_counts() {
        let text = "FROM debian:trixie\nRUN apt-get update; apt-get install -y gnupg; apt-get dist-clean\n";
        assert!(lint_rule("LW102", text).is_empty());
    }

    #[test]
    fn removal_in_a_later_run_does_not_count() {
        let text = "FROM debian\nRUN apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(lint_rule("LW102", text).len(), 1);
    }

    #[test]
    fn cache_mounts_and_builder_stages_are_fine() {
        let mounted =
            "FROM debian\nRUN --mount=type=cache,target=/var/lib/apt apt-get install -y x\n";
        assert!(lint_rule("LW102", mounted).is_empty());
        let builder = "FROM debian AS build\nRUN apt-get install -y gcc\nFROM scratch\nCOPY --from=build /x /x\n";
        assert!(lint_rule("LW102", builder).is_empty());
    }

    #[test]
    fn heredoc_bodies_are_checked_and_fixed() {
        let text = "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n";
        assert_eq!(lint_rule("LW102", text).len(), 1);
        assert_eq!(
            fix_rule("LW102", text, false),
            "FROM debian\nRUN <<EOF\napt-get update\napt-get install -y curl\nrm -rf /var/lib/apt/lists/*\nEOF\n"
        );
    }

    #[test]
    fn backtick_files_keep_their_escape() {
        let text = "# escape=`\nFROM debian\nSHELL [\"/bin/sh\", \"-c\"]\nRUN apt-get update `\n  && apt-get install -y curl\n";
        assert_eq!(
            fix_rule("LW102", text, false),
            "# escape=`\nFROM debian\nSHELL [\"/bin/sh\", \"-c\"]\nRUN apt-get update `\n  && apt-get install -y curl `\n  && rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn fix_appends_in_the_file_style() {
        let text = "FROM debian\nRUN apt-get update \\\n\t&& apt-get install -y curl\n";
        assert_eq!(
            fix_rule("LW102", text, false),
            "FROM debian\nRUN apt-get update \\\n\t&& apt-get install -y curl \\\n\t&& rm -rf /var/lib/apt/lists/*\n"
        );
    }
}
