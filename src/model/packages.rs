//! What the package-manager commands of a RUN do, read through [`crate::knowledge::managers`]:
//! which command installs, refreshes an index, cleans a cache, and with which packages.

pub use crate::knowledge::managers::{Action, Manager};
use crate::knowledge::managers::{by_program, is_pip, is_python};
use crate::model::paths::within;
use crate::shell::{Command, Word, Words};
use crate::source::Span;
use crate::syntax::Instruction;

/// A package manager command (wrappers such as `sudo` taken off).
#[derive(Clone, Copy, Debug)]
pub struct PackageCommand<'a> {
    pub manager: Manager,
    pub action: Action,
    pub command: &'a Command,
    /// The subcommand word (`install`); `None` for a bare `yarn`.
    pub sub: Option<Word<'a>>,
    /// Arguments after the subcommand.
    pub rest: Words<'a>,
}

impl<'a> PackageCommand<'a> {
    /// From the program name to the subcommand: `apt-get install`, where findings point.
    pub fn head_span(&self) -> Span {
        let first = self
            .command
            .program_words()
            .first()
            .map_or(self.command.span(), |w| w.span());
        let last = match (self.sub, self.rest.first()) {
            // a subcommand of two words: `go mod download`, `conda env update`
            (Some(sub), Some(next))
                if self.manager.spec().action(sub.value(), Some(next.value()))
                    != self.manager.spec().action(sub.value(), None) =>
            {
                Some(next)
            }
            (sub, _) => sub,
        };
        last.map_or(first, |word| first.cover(word.span()))
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.command.args().iter().any(|w| {
            w.value() == flag
                || w.value()
                    .strip_prefix(flag)
                    .is_some_and(|rest| rest.starts_with('='))
        })
    }

    /// The `sudo` the command runs under, with its options (`sudo -E`), as written.
    pub fn sudo<'t>(&self, text: &'t str) -> Option<&'t str> {
        let wrappers = self.command.wrappers();
        let at = wrappers
            .iter()
            .position(|w| w.value().rsplit('/').next() == Some("sudo"))?;
        let options = wrappers
            .from(at + 1)
            .iter()
            .take_while(|w| w.value().starts_with('-'))
            .count();
        let sudo = wrappers.get(at)?.span();
        let span = sudo.cover(wrappers.get(at + options)?.span());
        text.get(span.range())
    }

    /// Package names: arguments that are not options (nor an option's value).
    pub fn packages(&self) -> Vec<Word<'a>> {
        let takes_value = self.manager.spec().valued;
        let mut out = Vec::new();
        let mut skip = false;
        for word in self.rest {
            if skip {
                skip = false;
            } else if takes_value.contains(&word.value()) {
                skip = true;
            } else if !word.value().starts_with('-') {
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
    let manager = match by_program(name) {
        Some(manager) => manager,
        None if is_python(name) => {
            // `python3 -m pip install …`
            let at = args.iter().position(|w| w.value() == "-m")?;
            if !is_pip(args.get(at + 1)?.value()) {
                return None;
            }
            args = args.from(at + 2);
            Manager::Pip
        }
        None => return None,
    };
    let sub_at = args.iter().position(|w| !w.value().starts_with('-'));
    let sub = sub_at.and_then(|i| args.get(i));
    let rest = args.from(sub_at.map_or(args.len(), |i| i + 1));
    let action = match sub {
        // A bare `yarn` installs; `yarn --version` only prints.
        None if manager == Manager::Yarn && !asks_about_itself(args) => Action::Install,
        None => Action::Other,
        Some(sub) => manager
            .spec()
            .action(sub.value(), rest.first().map(|w| w.value())),
    };
    Some(PackageCommand {
        manager,
        action,
        command,
        sub,
        rest,
    })
}

/// `--version` or `--help`: the command prints and does nothing else.
fn asks_about_itself(args: Words) -> bool {
    args.iter()
        .any(|w| matches!(w.value(), "-v" | "--version" | "-h" | "--help"))
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
            let target = w.value().trim_end_matches("/*").trim_end_matches('/');
            !w.value().starts_with('-')
                && (within(target, dir) || within(dir, target) && target.len() > 1)
        })
}

/// The ecosystem whose dependencies a command installs (LW201): npm, pip, cargo…
pub fn dependency_install(command: &Command) -> Option<&'static str> {
    let name = command.name()?;
    let sub = command.subcommand().map(|w| w.value());
    let ecosystem = match (name, sub) {
        ("npm", Some("install" | "i" | "ci")) => "npm",
        ("yarn", None) if !asks_about_itself(command.args()) => "yarn",
        ("yarn", Some("install")) => "yarn",
        ("pnpm", Some("install" | "i")) => "pnpm",
        ("poetry", Some("install")) => "poetry",
        ("pipenv", Some("install" | "sync")) => "pipenv",
        ("go", Some("mod")) if command.has_arg("download") => "go",
        ("go", Some("get")) => "go",
        // A build of the module downloads what go.mod names, unless it builds from vendor/
        // or installs a tool by version (`go install x@v1`, which reads no go.mod).
        ("go", Some("build" | "install" | "test" | "run"))
            if !command.args().iter().any(|w| {
                w.value().contains('@') || w.value() == "-mod=vendor" || w.value() == "vendor"
            }) =>
        {
            "go"
        }
        // Each of these restores the project's NuGet packages first, unless told not to.
        ("dotnet", Some("restore" | "build" | "publish" | "test" | "run" | "pack"))
            if !command.has_arg("--no-restore") =>
        {
            "dotnet"
        }
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
            let project = pip
                .rest
                .iter()
                .any(|w| matches!(w.value(), "-r" | "--requirement" | "." | "./" | "-e"))
                || pip
                    .rest
                    .iter()
                    .any(|w| w.value().starts_with("--requirement="));
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
        let names: Vec<_> = c.packages().iter().map(|w| w.value()).collect();
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
        assert_eq!(dependency_install(&first("go build -o /app .")), Some("go"));
        assert_eq!(dependency_install(&first("go build -mod=vendor .")), None);
        assert_eq!(
            dependency_install(&first("go install golang.org/x/tools/gopls@latest")),
            None
        );
        assert_eq!(
            dependency_install(&first("dotnet publish app.csproj -c Release")),
            Some("dotnet")
        );
        assert_eq!(
            dependency_install(&first("dotnet build --no-restore")),
            None
        );
        assert_eq!(dependency_install(&first("dotnet --info")), None);
    }
}
