//! What the package managers and dependency installers on a RUN line do: shared knowledge of the
//! layer rules (which command installs, refreshes an index, cleans a cache) and of their fixes.

use crate::model::paths::within;
use crate::rules::Context;
use crate::shell::{Command, ShellWord};
use crate::source::Span;
use crate::syntax::Instruction;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Manager {
    Apt,
    Apk,
    Yum,
    Dnf,
    Microdnf,
    Zypper,
    Pip,
    Npm,
    Yarn,
    Pnpm,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Install,
    /// Refreshes the package index (`apt-get update`, `apk update`, `dnf makecache`).
    Update,
    Upgrade,
    Clean,
    Remove,
    Other,
}

/// A package manager command (wrappers such as `sudo` taken off).
#[derive(Clone, Copy, Debug)]
pub struct PackageCommand<'a> {
    pub manager: Manager,
    pub action: Action,
    pub command: &'a Command,
    /// The subcommand word (`install`); `None` for a bare `yarn`.
    pub sub: Option<&'a ShellWord>,
    /// Arguments after the subcommand.
    pub rest: &'a [ShellWord],
}

impl<'a> PackageCommand<'a> {
    /// From the program name to the subcommand: `apt-get install`, where findings point.
    pub fn head_span(&self) -> Span {
        let first = self
            .command
            .program_words()
            .first()
            .map_or(self.command.span, |w| w.span);
        self.sub.map_or(first, |sub| first.cover(sub.span))
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.command.args().iter().any(|w| {
            w.value == flag
                || w.value
                    .strip_prefix(flag)
                    .is_some_and(|rest| rest.starts_with('='))
        })
    }

    /// The `sudo` the command runs under, with its options (`sudo -E`), as written.
    pub fn sudo<'t>(&self, text: &'t str) -> Option<&'t str> {
        let wrappers = &self.command.words[..self.command.program];
        let at = wrappers
            .iter()
            .position(|w| w.value.rsplit('/').next() == Some("sudo"))?;
        let options = wrappers[at + 1..]
            .iter()
            .take_while(|w| w.value.starts_with('-'))
            .count();
        let span = wrappers[at].span.cover(wrappers[at + options].span);
        text.get(span.range())
    }

    /// Package names: arguments that are not options (nor an option's value).
    pub fn packages(&self) -> Vec<&'a ShellWord> {
        let takes_value: &[&str] = match self.manager {
            Manager::Apt => &["-o", "-t", "-c", "--target-release", "--option"],
            Manager::Apk => &["-t", "--virtual", "-X", "--repository", "-p", "--root"],
            Manager::Pip => &[
                "-r",
                "--requirement",
                "-c",
                "--constraint",
                "-i",
                "--index-url",
            ],
            _ => &[],
        };
        let mut out = Vec::new();
        let mut skip = false;
        for word in self.rest {
            if skip {
                skip = false;
            } else if takes_value.contains(&word.value.as_str()) {
                skip = true;
            } else if !word.value.starts_with('-') {
                out.push(word);
            }
        }
        out
    }
}

/// Classifies a simple command.
pub fn classify(command: &Command) -> Option<PackageCommand<'_>> {
    let name = command.name()?;
    let mut args = command.args();
    let manager = match name {
        "apt-get" | "apt" | "aptitude" => Manager::Apt,
        "apk" => Manager::Apk,
        "yum" => Manager::Yum,
        "dnf" => Manager::Dnf,
        "microdnf" => Manager::Microdnf,
        "zypper" => Manager::Zypper,
        "npm" => Manager::Npm,
        "yarn" => Manager::Yarn,
        "pnpm" => Manager::Pnpm,
        n if is_pip(n) => Manager::Pip,
        n if n.starts_with("python") => {
            // `python3 -m pip install …`
            let at = args.iter().position(|w| w.value == "-m")?;
            if !is_pip(&args.get(at + 1)?.value) {
                return None;
            }
            args = &args[at + 2..];
            Manager::Pip
        }
        _ => return None,
    };
    let sub_at = args.iter().position(|w| !w.value.starts_with('-'));
    let sub = sub_at.map(|i| &args[i]);
    let rest = sub_at.map_or(&[][..], |i| &args[i + 1..]);
    let action = action(manager, sub.map(|w| w.value.as_str()), rest, args);
    Some(PackageCommand {
        manager,
        action,
        command,
        sub,
        rest,
    })
}

/// `--version` or `--help`: the command prints and does nothing else.
fn asks_about_itself(args: &[ShellWord]) -> bool {
    args.iter()
        .any(|w| matches!(w.value.as_str(), "-v" | "--version" | "-h" | "--help"))
}

fn is_pip(name: &str) -> bool {
    name == "pip"
        || name
            .strip_prefix("pip")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn action(manager: Manager, sub: Option<&str>, rest: &[ShellWord], args: &[ShellWord]) -> Action {
    let second = rest.first().map(|w| w.value.as_str());
    match (manager, sub) {
        // A bare `yarn` installs; `yarn --version` only prints.
        (Manager::Yarn, None) if !asks_about_itself(args) => Action::Install,
        (_, None) => Action::Other,
        (Manager::Apt, Some(s)) => match s {
            "install" | "reinstall" => Action::Install,
            "update" => Action::Update,
            "upgrade" | "dist-upgrade" | "full-upgrade" => Action::Upgrade,
            "clean" | "autoclean" => Action::Clean,
            "remove" | "purge" | "autoremove" => Action::Remove,
            _ => Action::Other,
        },
        (Manager::Apk, Some(s)) => match s {
            "add" => Action::Install,
            "update" => Action::Update,
            "upgrade" => Action::Upgrade,
            "del" => Action::Remove,
            "cache" if second == Some("clean") || second == Some("purge") => Action::Clean,
            _ => Action::Other,
        },
        (Manager::Yum | Manager::Dnf | Manager::Microdnf, Some(s)) => match s {
            "install" | "groupinstall" | "localinstall" | "reinstall" => Action::Install,
            "makecache" => Action::Update,
            "update" | "upgrade" | "distro-sync" => Action::Upgrade,
            "clean" => Action::Clean,
            "remove" | "erase" | "autoremove" => Action::Remove,
            _ => Action::Other,
        },
        (Manager::Zypper, Some(s)) => match s {
            "install" | "in" => Action::Install,
            "refresh" | "ref" => Action::Update,
            "update" | "up" | "dist-upgrade" | "dup" => Action::Upgrade,
            "clean" | "cc" => Action::Clean,
            "remove" | "rm" => Action::Remove,
            _ => Action::Other,
        },
        (Manager::Pip, Some(s)) => match s {
            "install" => Action::Install,
            "uninstall" => Action::Remove,
            "cache" if second == Some("purge") || second == Some("remove") => Action::Clean,
            _ => Action::Other,
        },
        (Manager::Npm, Some(s)) => match s {
            "install" | "i" | "ci" | "add" | "isntall" => Action::Install,
            "cache" if second == Some("clean") => Action::Clean,
            "uninstall" | "remove" | "rm" => Action::Remove,
            _ => Action::Other,
        },
        (Manager::Yarn, Some(s)) => match s {
            "install" | "add" => Action::Install,
            "cache" if second == Some("clean") => Action::Clean,
            "remove" => Action::Remove,
            _ => Action::Other,
        },
        (Manager::Pnpm, Some(s)) => match s {
            "install" | "i" | "add" => Action::Install,
            "store" if second == Some("prune") => Action::Clean,
            "remove" | "rm" => Action::Remove,
            _ => Action::Other,
        },
    }
}

/// How a command appended after `install` gets the rights `install` ran with: `sudo ` (as the
/// install has it) when it runs through sudo, nothing under root, None under another user.
pub fn privilege_prefix(
    cx: &Context<'_>,
    stage: usize,
    inst: &Instruction,
    install: &PackageCommand,
) -> Option<String> {
    if let Some(sudo) = install.sudo(cx.df.text()) {
        return Some(format!("{sudo} "));
    }
    runs_as_root(cx, stage, inst).then(String::new)
}

/// Whether the stage's USER at `inst` (inherited from the stages it is built from) is root. An
/// image's own default user is taken to be root, as it is for nearly every base image.
pub fn runs_as_root(cx: &Context<'_>, stage: usize, inst: &Instruction) -> bool {
    let user = cx
        .lineage(stage)
        .into_iter()
        .flat_map(|s| cx.stages[s].users.iter())
        .filter(|i| i.span.start < inst.span.start)
        .filter_map(|i| i.words().into_iter().next())
        .next_back();
    user.is_none_or(|u| {
        let name = u.value.split(':').next().unwrap_or_default();
        name == "root" || name == "0"
    })
}

/// Whether a `--mount` of the instruction keeps `path` out of the layer (a cache or tmpfs mount
/// at it or above it).
pub fn mount_covers(inst: &Instruction, path: &str) -> bool {
    inst.flag_values("mount").any(|value| {
        let mut kind = "bind";
        let mut target = None;
        for field in value.split(',') {
            match field.split_once('=') {
                Some(("type", t)) => kind = t,
                Some(("target" | "dst" | "destination", t)) => target = Some(t),
                _ => {}
            }
        }
        matches!(kind, "cache" | "tmpfs")
            && target.is_some_and(|t| within(path, t.trim_end_matches('/')))
    })
}

/// `rm` of any of `dirs` (or of a folder holding one).
pub fn removes_any(command: &Command, dirs: &[&str]) -> bool {
    dirs.iter().any(|dir| removes(command, dir))
}

/// `rm` of a path at or below `dir`, or of the contents of `dir` (`dir/*`).
pub fn removes(command: &Command, dir: &str) -> bool {
    command.name() == Some("rm")
        && command.args().iter().any(|w| {
            let target = w.value.trim_end_matches("/*").trim_end_matches('/');
            !w.value.starts_with('-')
                && (within(target, dir) || within(dir, target) && target.len() > 1)
        })
}

/// The ecosystem whose dependencies a command installs (LW201): npm, pip, cargo…
pub fn dependency_install(command: &Command) -> Option<&'static str> {
    let name = command.name()?;
    let sub = command.subcommand().map(|w| w.value.as_str());
    let ecosystem = match (name, sub) {
        ("npm", Some("install" | "i" | "ci")) => "npm",
        ("yarn", None) if !asks_about_itself(command.args()) => "yarn",
        ("yarn", Some("install")) => "yarn",
        ("pnpm", Some("install" | "i")) => "pnpm",
        ("poetry", Some("install")) => "poetry",
        ("pipenv", Some("install" | "sync")) => "pipenv",
        ("go", Some("mod")) if command.has_arg("download") => "go",
        ("go", Some("get")) => "go",
        ("cargo", Some("build" | "fetch" | "install")) => "cargo",
        ("bundle" | "bundler", None | Some("install")) => "bundler",
        ("composer", Some("install" | "update")) => "composer",
        ("mvn" | "mvnw" | "./mvnw", Some(_)) => "maven",
        ("gradle" | "gradlew" | "./gradlew", Some(_)) => "gradle",
        (n, _) if is_pip(n) || n.starts_with("python") => {
            let pip = classify(command)?;
            if pip.manager != Manager::Pip || pip.action != Action::Install {
                return None;
            }
            // Requirements files and the project itself; a named tool (`pip install awscli`) is
            // not the project's dependencies.
            let project =
                pip.rest.iter().any(|w| {
                    matches!(w.value.as_str(), "-r" | "--requirement" | "." | "./" | "-e")
                }) || pip
                    .rest
                    .iter()
                    .any(|w| w.value.starts_with("--requirement="));
            if !project {
                return None;
            }
            "pip"
        }
        _ => return None,
    };
    Some(ecosystem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell;
    use crate::syntax::MappedText;

    fn first(script: &str) -> Command {
        let mut text = MappedText::new();
        text.push_synthetic(script);
        shell::parse(&text).unwrap().commands.remove(0)
    }

    #[test]
    fn classifies_managers_and_actions() {
        let cases = [
            ("apt-get install -y curl", Manager::Apt, Action::Install),
            ("sudo apt update", Manager::Apt, Action::Update),
            ("apk add --no-cache git", Manager::Apk, Action::Install),
            ("python3 -m pip install x", Manager::Pip, Action::Install),
            ("pip3.11 install x", Manager::Pip, Action::Install),
            ("yarn", Manager::Yarn, Action::Install),
            ("npm cache clean --force", Manager::Npm, Action::Clean),
            ("dnf makecache", Manager::Dnf, Action::Update),
            ("zypper in -y gcc", Manager::Zypper, Action::Install),
        ];
        for (script, manager, action) in cases {
            let command = first(script);
            let c = classify(&command).unwrap_or_else(|| panic!("{script}"));
            assert_eq!((c.manager, c.action), (manager, action), "{script}");
        }
        assert!(classify(&first("python3 setup.py install")).is_none());
    }

    #[test]
    fn version_and_help_are_not_installs() {
        for script in ["yarn --version", "yarn -v", "npm --version", "yarn --help"] {
            let command = first(script);
            let c = classify(&command).unwrap_or_else(|| panic!("{script}"));
            assert_eq!(c.action, Action::Other, "{script}");
            assert_eq!(dependency_install(&command), None, "{script}");
        }
        let command = first("yarn --frozen-lockfile");
        assert_eq!(classify(&command).unwrap().action, Action::Install);
    }

    #[test]
    fn package_names_skip_options_and_their_values() {
        let command = first("apk add -t .build-deps gcc musl-dev");
        let c = classify(&command).unwrap();
        let names: Vec<_> = c.packages().iter().map(|w| w.value.as_str()).collect();
        assert_eq!(names, ["gcc", "musl-dev"]);
    }

    #[test]
    fn removal_of_a_dir_or_its_contents() {
        assert!(removes(
            &first("rm -rf /var/lib/apt/lists/*"),
            "/var/lib/apt/lists"
        ));
        assert!(removes(&first("rm -rf /var/lib/apt"), "/var/lib/apt/lists"));
        assert!(!removes(
            &first("rm -rf /var/lib/apt/lists.bak"),
            "/var/lib/apt/lists"
        ));
        assert!(!removes(&first("rm -rf /"), "/var/lib/apt/lists"));
    }

    #[test]
    fn dependency_installs_by_ecosystem() {
        assert_eq!(dependency_install(&first("npm ci")), Some("npm"));
        assert_eq!(
            dependency_install(&first("pip install -r requirements.txt")),
            Some("pip")
        );
        assert_eq!(dependency_install(&first("pip install awscli")), None);
        assert_eq!(dependency_install(&first("go mod download")), Some("go"));
        assert_eq!(dependency_install(&first("npm run build")), None);
    }
}
