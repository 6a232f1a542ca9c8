//! LW108 package-upgrade-in-image: a system package upgrade with no package named stores every
//! upgraded file again, on top of the base image's copy.

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::model::packages::{Action, classify};
use crate::rules::Context;
use crate::rules::Rule;
use crate::syntax::Keyword;

pub struct PackageUpgradeInImage;

impl Rule for PackageUpgradeInImage {
    fn id(&self) -> &'static str {
        "LW108"
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        for stage in cx.stages.list.iter().filter(|s| s.in_final_image) {
            for &inst in &stage.stage.instructions {
                if inst.keyword != Keyword::Run {
                    continue;
                }
                let Some(script) = cx.script(inst) else {
                    continue;
                };
                for upgrade in script.commands.iter().filter_map(classify) {
                    // `apt-get install --only-upgrade x`, `apk upgrade x`: only what is named.
                    if upgrade.action != Action::Upgrade
                        || !upgrade.manager.spec().system
                        || !upgrade.packages().is_empty()
                    {
                        continue;
                    }
                    let head = cx.df.slice(upgrade.head_span()).to_string();
                    out.push(
                        Diagnostic::new(
                            self.id(),
                            upgrade.head_span(),
                            format!(
                                "`{head}` upgrades every package of the base image: each upgraded file is stored again in this layer, on top of the base's copy"
                            ),
                        )
                        .with_help(
                            "build on a fresher base image (a newer tag, or pull the base again) instead; where the base is not rebuilt for security fixes, keeping the upgrade is a fair trade: ignore LW108 there",
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::lint_rule;

    fn count(text: &str) -> usize {
        lint_rule("LW108", text).len()
    }

    #[test]
    fn whole_system_upgrades_of_every_manager() {
        for run in [
            "apt-get update && apt-get upgrade -y",
            "apt-get update && apt-get -y dist-upgrade",
            "apt update && apt full-upgrade -y",
            "yum -y update && yum clean all",
            "dnf upgrade -y --refresh",
            "microdnf update",
            "apk upgrade --no-cache",
            "zypper -n up",
            "sudo apt-get upgrade -y",
        ] {
            let text = format!("FROM base\nRUN {run}\n");
            assert_eq!(count(&text), 1, "{run}");
        }
    }

    #[test]
    fn named_packages_index_refreshes_and_language_managers_are_not_upgrades_of_the_base() {
        for run in [
            "apt-get update && apt-get install -y --only-upgrade openssl",
            "apk upgrade openssl",
            "yum update -y openssl",
            "apt-get update",
            "apk update",
            "pip install --upgrade pip",
            "npm update",
        ] {
            let text = format!("FROM base\nRUN {run}\n");
            assert_eq!(count(&text), 0, "{run}");
        }
    }

    #[test]
    fn stages_that_do_not_reach_the_image_do_not_count() {
        let text = "FROM debian AS build\nRUN apt-get update && apt-get upgrade -y && make\n\
                    FROM debian\nCOPY --from=build /out /out\n";
        assert_eq!(count(text), 0);
        let built_on = "FROM debian AS base\nRUN apt-get update && apt-get upgrade -y\n\
                        FROM base\nCMD [\"sh\"]\n";
        assert_eq!(count(built_on), 1);
    }

    #[test]
    fn the_finding_points_at_the_upgrade() {
        let text = "FROM centos:7\nRUN yum -y update && yum clean all\n";
        let found = lint_rule("LW108", text);
        assert_eq!(&text[found[0].span.range()], "yum -y update");
        assert!(found[0].fix.is_none());
    }
}
