//! LW104 apt-install-recommends: `apt-get install` also installs every recommended package.

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::{Edit, Fix, Safety};
use crate::model::packages::{Action, Manager, PackageCommand, classify};
use crate::rules::Context;
use crate::rules::Rule;
use crate::syntax::Keyword;

pub struct AptInstallRecommends;

impl Rule for AptInstallRecommends {
    fn id(&self) -> &'static str {
        "LW104"
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        for (index, stage) in cx.stages.iter().enumerate() {
            // What a stage the image does not keep installs costs build time, not image bytes.
            if !stage.in_final_image {
                continue;
            }
            // A RUN may have turned recommends off for good in apt's config: the installs after
            // that point (later in the same RUN too) follow it.
            let configured_at = cx
                .lineage(index)
                .into_iter()
                .flat_map(|s| cx.stages[s].stage.instructions.iter())
                .filter(|i| i.keyword == Keyword::Run)
                .find_map(|i| {
                    let at = i.args_text().find("Install-Recommends")?;
                    let start = i.args().start + at;
                    Some(i.span_of(start..start + 1).start)
                });
            for &inst in &stage.stage.instructions {
                if inst.keyword != Keyword::Run
                    || configured_at.is_some_and(|at| at <= inst.span().start)
                {
                    continue;
                }
                let Some(script) = cx.script(inst) else {
                    continue;
                };
                for command in &script.commands {
                    let Some(install) = classify(command).filter(is_apt_install) else {
                        continue;
                    };
                    if configured_at.is_some_and(|at| at < command.span().start) {
                        continue;
                    }
                    if chooses_recommends(&install) {
                        continue;
                    }
                    let Some(sub) = &install.sub else { continue };
                    let fix = Fix::new(
                        "add `--no-install-recommends`",
                        Safety::Unsafe,
                        vec![Edit::insert(sub.span().end, " --no-install-recommends")],
                    );
                    let head = cx.df.slice(install.head_span());
                    out.push(
                        Diagnostic::new(
                            self.id(),
                            install.head_span(),
                            format!("`{head}` without `--no-install-recommends` also installs recommended packages"),
                        )
                        .with_help("add `--no-install-recommends` and name what you need")
                        .with_fix(Some(fix)),
                    );
                }
            }
        }
    }
}

fn is_apt_install(p: &PackageCommand) -> bool {
    p.manager == Manager::Apt
        && p.action == Action::Install
        && matches!(p.command.name(), Some("apt-get" | "apt"))
}

/// The command says whether it wants recommends, off or on (`--install-recommends`,
/// `-o APT::Install-Recommends=true`): either way it is a choice, not an oversight.
fn chooses_recommends(install: &PackageCommand) -> bool {
    install.has_flag("--no-install-recommends")
        || install.has_flag("--install-recommends")
        || install.command.args().iter().any(|w| {
            w.value()
                .to_ascii_lowercase()
                .contains("install-recommends=")
        })
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::{fix_rule, lint_rule};

    #[test]
    fn fires_without_the_flag() {
        assert_eq!(
            lint_rule("LW104", "FROM d\nRUN apt-get install -y curl\n").len(),
            1
        );
        assert!(
            lint_rule(
                "LW104",
                "FROM d\nRUN apt-get install -y --no-install-recommends curl\n"
            )
            .is_empty()
        );
        assert!(
            lint_rule(
                "LW104",
                "FROM d\nRUN apt-get -o APT::Install-Recommends=false install -y x\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn apt_s_config_written_before_the_install_counts() {
        let same_run = "FROM debian\nRUN echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/99norec \\\n && apt-get update && apt-get install -y curl\n";
        assert!(lint_rule("LW104", same_run).is_empty());
        let earlier = "FROM debian\nRUN echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/99norec\nRUN apt-get install -y curl\n";
        assert!(lint_rule("LW104", earlier).is_empty());
        let after = "FROM debian\nRUN apt-get install -y curl && echo 'APT::Install-Recommends \"0\";' > /etc/apt/apt.conf.d/99norec\n";
        assert_eq!(lint_rule("LW104", after).len(), 1);
    }

    #[test]
    fn asking_for_recommends_is_a_choice() {
        for install in [
            "apt-get install --install-recommends -y curl",
            "apt-get install -o APT::Install-Recommends=true -y curl",
            "apt-get -o APT::Install-Recommends=1 install -y curl",
            "apt-get install --option APT::Install-Recommends=true -y curl",
            "apt-get install --option=APT::Install-Recommends=true -y curl",
            "apt install -oAPT::Install-Recommends=true -y curl",
        ] {
            let text = format!("FROM d\nRUN {install}\n");
            assert!(lint_rule("LW104", &text).is_empty(), "{install}");
        }
    }

    #[test]
    fn apt_config_written_earlier_counts() {
        let text = "FROM d\nRUN echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/no-rec\nRUN apt-get install -y x\n";
        assert!(lint_rule("LW104", text).is_empty());
    }

    #[test]
    fn fix_is_unsafe_and_inserts_after_install() {
        let text = "FROM d\nRUN apt-get install -y curl\n";
        assert_eq!(fix_rule("LW104", text, false), text);
        assert_eq!(
            fix_rule("LW104", text, true),
            "FROM d\nRUN apt-get install --no-install-recommends -y curl\n"
        );
    }

    #[test]
    fn flags_from_a_build_arg_count() {
        let text = "FROM debian\nARG APT_FLAGS=\"-y --no-install-recommends\"\n\
                    RUN apt-get update && apt-get install ${APT_FLAGS} curl \\\n && rm -rf /var/lib/apt/lists/*\n";
        assert!(crate::rules::test_support::lint_rule("LW104", text).is_empty());
        // A build argument without a default may be anything: the install is not trusted.
        let unknown = text.replace("=\"-y --no-install-recommends\"", "");
        assert_eq!(
            crate::rules::test_support::lint_rule("LW104", &unknown).len(),
            1
        );
    }
}
