//! Package managers: the programs that run them, their subcommands (aliases included) and what
//! each does, where they keep their index and cache, and what keeps the cache out of a layer
//! (a flag, an environment variable, a clean command). One table, read by the rules, their
//! fixes, `measure` and `inspect`.

/// A package manager or dependency installer.
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
    /// `gem` and Bundler share RubyGems' cache of `.gem` files.
    Gem,
    Bundler,
    /// `conda`, `mamba` and `micromamba`.
    Conda,
    Composer,
    Uv,
    Poetry,
    /// Build tools whose builds fetch and cache: `go build`, `cargo install`.
    Go,
    Cargo,
}

/// What a subcommand does.
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

/// Where a manager keeps downloaded packages, and how that is kept out of a layer.
#[derive(Debug)]
pub struct Cache {
    /// How `measure` and `inspect` name it: "pip cache".
    pub kind: &'static str,
    /// Absolute folders; a leading `~` is the home of the user the manager runs as.
    pub dirs: &'static [&'static str],
    /// The flag that keeps the cache from being written, inserted after the subcommand.
    pub flag: Option<&'static str>,
    /// Other flags that keep it from being written (`apk add --no-network` downloads nothing).
    pub also: &'static [&'static str],
    /// The command that cleans it, appended to the RUN; `{program}` is the program the install
    /// ran (`mamba clean --all --yes` after `mamba install`).
    pub clean: Option<&'static str>,
    /// hadolint's check for this manager's cache, if it has one.
    pub hadolint: Option<&'static str>,
    /// Variables that move the cache, with what follows their value: `GEM_HOME` + `/cache`.
    pub relocated: &'static [(&'static str, &'static str)],
}

/// Everything known about one manager.
#[derive(Debug)]
pub struct Spec {
    pub manager: Manager,
    /// A system package manager (installs into the OS); the others install a language's
    /// packages.
    pub system: bool,
    /// A build tool: its "installs" compile (`go build`, `cargo build`), and what it caches are
    /// its build and module caches, not packages the image needs.
    pub compiles: bool,
    /// The package that holds the manager itself (a removal of it takes the manager away).
    pub own_package: &'static str,
    /// Subcommands and what they do.
    verbs: &'static [(&'static str, Action)],
    /// Subcommands whose action is decided by the next word: `apk cache clean`.
    verbs2: &'static [(&'static str, &'static str, Action)],
    /// Options that take the next word as their value (so it is not a package name).
    pub valued: &'static [&'static str],
    /// What `update` writes: the package lists.
    pub index: &'static [&'static str],
    pub cache: Option<Cache>,
}

const MANAGERS: &[Spec] = &[
    Spec {
        manager: Manager::Apt,
        system: true,
        compiles: false,
        own_package: "apt",
        verbs: &[
            ("install", Action::Install),
            ("reinstall", Action::Install),
            ("update", Action::Update),
            ("upgrade", Action::Upgrade),
            ("dist-upgrade", Action::Upgrade),
            ("full-upgrade", Action::Upgrade),
            ("clean", Action::Clean),
            ("autoclean", Action::Clean),
            ("remove", Action::Remove),
            ("purge", Action::Remove),
            ("autoremove", Action::Remove),
        ],
        verbs2: &[],
        valued: &["-o", "-t", "-c", "--target-release", "--option"],
        index: &["/var/lib/apt/lists"],
        cache: None,
    },
    Spec {
        manager: Manager::Apk,
        system: true,
        compiles: false,
        own_package: "apk-tools",
        verbs: &[
            ("add", Action::Install),
            ("update", Action::Update),
            ("upgrade", Action::Upgrade),
            ("del", Action::Remove),
        ],
        verbs2: &[
            ("cache", "clean", Action::Clean),
            ("cache", "purge", Action::Clean),
        ],
        valued: &["-t", "--virtual", "-X", "--repository", "-p", "--root"],
        index: &["/var/cache/apk"],
        cache: Some(Cache {
            kind: "apk cache",
            dirs: &["/var/cache/apk", "/etc/apk/cache"],
            flag: Some("--no-cache"),
            also: &["--no-network"],
            clean: None,
            hadolint: Some("DL3019"),
            relocated: &[],
        }),
    },
    Spec {
        manager: Manager::Yum,
        system: true,
        compiles: false,
        own_package: "yum",
        verbs: RPM_VERBS,
        verbs2: &[],
        valued: &[],
        index: &[],
        cache: Some(Cache {
            kind: "yum/dnf cache",
            dirs: &["/var/cache/yum"],
            flag: None,
            also: &[],
            clean: Some("yum clean all"),
            hadolint: Some("DL3032"),
            relocated: &[],
        }),
    },
    Spec {
        manager: Manager::Dnf,
        system: true,
        compiles: false,
        own_package: "dnf",
        verbs: DNF_VERBS,
        verbs2: &[],
        valued: &[],
        index: &[],
        cache: Some(Cache {
            kind: "yum/dnf cache",
            // dnf4's, then dnf5's (Fedora 41 on): see `dnf_generation`.
            dirs: &["/var/cache/dnf", "/var/cache/libdnf5"],
            flag: None,
            also: &[],
            clean: Some("dnf clean all"),
            hadolint: Some("DL3040"),
            relocated: &[],
        }),
    },
    Spec {
        manager: Manager::Microdnf,
        system: true,
        compiles: false,
        own_package: "microdnf",
        verbs: RPM_VERBS,
        verbs2: &[],
        valued: &[],
        index: &[],
        cache: Some(Cache {
            kind: "yum/dnf cache",
            dirs: &["/var/cache/yum", "/var/cache/dnf", "/var/cache/libdnf5"],
            flag: None,
            also: &[],
            clean: Some("microdnf clean all"),
            hadolint: Some("DL3040"),
            relocated: &[],
        }),
    },
    Spec {
        manager: Manager::Zypper,
        system: true,
        compiles: false,
        own_package: "zypper",
        verbs: &[
            ("install", Action::Install),
            ("in", Action::Install),
            ("refresh", Action::Update),
            ("ref", Action::Update),
            ("update", Action::Upgrade),
            ("up", Action::Upgrade),
            ("dist-upgrade", Action::Upgrade),
            ("dup", Action::Upgrade),
            ("clean", Action::Clean),
            ("cc", Action::Clean),
            ("remove", Action::Remove),
            ("rm", Action::Remove),
        ],
        verbs2: &[],
        valued: &[],
        index: &[],
        cache: Some(Cache {
            kind: "zypper cache",
            dirs: &["/var/cache/zypp"],
            flag: None,
            also: &[],
            clean: Some("zypper clean --all"),
            hadolint: Some("DL3036"),
            relocated: &[],
        }),
    },
    Spec {
        manager: Manager::Pip,
        system: false,
        compiles: false,
        own_package: "pip",
        verbs: &[("install", Action::Install), ("uninstall", Action::Remove)],
        verbs2: &[
            ("cache", "purge", Action::Clean),
            ("cache", "remove", Action::Clean),
        ],
        valued: &[
            "-r",
            "--requirement",
            "-c",
            "--constraint",
            "-i",
            "--index-url",
        ],
        index: &[],
        cache: Some(Cache {
            kind: "pip cache",
            dirs: &["~/.cache/pip"],
            flag: Some("--no-cache-dir"),
            also: &[],
            clean: None,
            hadolint: Some("DL3042"),
            relocated: &[("PIP_CACHE_DIR", "")],
        }),
    },
    Spec {
        manager: Manager::Npm,
        system: false,
        compiles: false,
        own_package: "npm",
        verbs: &[
            ("install", Action::Install),
            ("i", Action::Install),
            ("ci", Action::Install),
            ("add", Action::Install),
            ("isntall", Action::Install),
            ("uninstall", Action::Remove),
            ("remove", Action::Remove),
            ("rm", Action::Remove),
        ],
        verbs2: &[("cache", "clean", Action::Clean)],
        valued: &[],
        index: &[],
        cache: Some(Cache {
            kind: "npm cache",
            dirs: &["~/.npm"],
            flag: None,
            also: &[],
            clean: Some("npm cache clean --force"),
            hadolint: None,
            relocated: &[("npm_config_cache", ""), ("NPM_CONFIG_CACHE", "")],
        }),
    },
    Spec {
        manager: Manager::Yarn,
        system: false,
        compiles: false,
        own_package: "yarn",
        verbs: &[
            ("install", Action::Install),
            ("add", Action::Install),
            ("remove", Action::Remove),
        ],
        verbs2: &[("cache", "clean", Action::Clean)],
        valued: &[],
        index: &[],
        cache: Some(Cache {
            kind: "yarn cache",
            dirs: &[
                "/usr/local/share/.cache/yarn",
                "~/.cache/yarn",
                "~/.yarn/berry/cache",
            ],
            flag: None,
            also: &[],
            clean: Some("yarn cache clean"),
            hadolint: Some("DL3060"),
            relocated: &[("YARN_CACHE_FOLDER", "")],
        }),
    },
    Spec {
        manager: Manager::Pnpm,
        system: false,
        compiles: false,
        own_package: "pnpm",
        verbs: &[
            ("install", Action::Install),
            ("i", Action::Install),
            ("add", Action::Install),
            ("remove", Action::Remove),
            ("rm", Action::Remove),
        ],
        verbs2: &[("store", "prune", Action::Clean)],
        valued: &[],
        index: &[],
        cache: None,
    },
    Spec {
        manager: Manager::Gem,
        system: false,
        compiles: false,
        own_package: "rubygems",
        verbs: &[
            ("install", Action::Install),
            ("i", Action::Install),
            ("update", Action::Upgrade),
            ("uninstall", Action::Remove),
        ],
        verbs2: &[],
        valued: &[
            "-v",
            "--version",
            "-i",
            "--install-dir",
            "-n",
            "--bindir",
            "-s",
            "--source",
        ],
        index: &[],
        cache: Some(GEM_CACHE),
    },
    Spec {
        manager: Manager::Bundler,
        system: false,
        compiles: false,
        own_package: "bundler",
        verbs: &[("install", Action::Install), ("update", Action::Upgrade)],
        verbs2: &[],
        valued: &[
            "--gemfile",
            "--path",
            "--jobs",
            "-j",
            "--retry",
            "--without",
            "--with",
        ],
        index: &[],
        cache: Some(GEM_CACHE),
    },
    Spec {
        manager: Manager::Conda,
        system: false,
        compiles: false,
        own_package: "conda",
        verbs: &[
            ("install", Action::Install),
            ("create", Action::Install),
            ("update", Action::Upgrade),
            ("upgrade", Action::Upgrade),
            ("clean", Action::Clean),
            ("remove", Action::Remove),
            ("uninstall", Action::Remove),
        ],
        verbs2: &[
            ("env", "create", Action::Install),
            ("env", "update", Action::Install),
        ],
        valued: &[
            "-n",
            "--name",
            "-p",
            "--prefix",
            "-c",
            "--channel",
            "-f",
            "--file",
        ],
        index: &[],
        cache: Some(Cache {
            kind: "conda packages",
            dirs: &[
                "/opt/conda/pkgs",
                "~/.conda/pkgs",
                "~/miniconda3/pkgs",
                "~/micromamba/pkgs",
            ],
            flag: None,
            also: &[],
            clean: Some("{program} clean --all --yes"),
            hadolint: None,
            relocated: &[
                ("CONDA_PKGS_DIRS", ""),
                ("CONDA_DIR", "/pkgs"),
                ("MAMBA_ROOT_PREFIX", "/pkgs"),
            ],
        }),
    },
    Spec {
        manager: Manager::Composer,
        system: false,
        compiles: false,
        own_package: "composer",
        verbs: &[
            ("install", Action::Install),
            ("require", Action::Install),
            ("create-project", Action::Install),
            ("update", Action::Upgrade),
            ("upgrade", Action::Upgrade),
            ("clear-cache", Action::Clean),
            ("clearcache", Action::Clean),
            ("cc", Action::Clean),
            ("remove", Action::Remove),
        ],
        verbs2: &[],
        valued: &["-d", "--working-dir"],
        index: &[],
        cache: Some(Cache {
            kind: "composer cache",
            dirs: &["~/.composer/cache", "~/.cache/composer"],
            flag: None,
            also: &[],
            clean: Some("composer clear-cache"),
            hadolint: None,
            relocated: &[("COMPOSER_CACHE_DIR", ""), ("COMPOSER_HOME", "/cache")],
        }),
    },
    Spec {
        manager: Manager::Uv,
        system: false,
        compiles: false,
        own_package: "uv",
        verbs: &[
            ("sync", Action::Install),
            ("add", Action::Install),
            ("remove", Action::Remove),
        ],
        verbs2: &[
            ("pip", "install", Action::Install),
            ("pip", "sync", Action::Install),
            ("pip", "uninstall", Action::Remove),
            ("tool", "install", Action::Install),
            ("cache", "clean", Action::Clean),
            ("cache", "prune", Action::Clean),
        ],
        valued: &[
            "-r",
            "--requirement",
            "-c",
            "--constraint",
            "-p",
            "--python",
        ],
        index: &[],
        cache: Some(Cache {
            kind: "uv cache",
            dirs: &["~/.cache/uv"],
            flag: Some("--no-cache"),
            also: &["-n"],
            clean: None,
            hadolint: None,
            relocated: &[("UV_CACHE_DIR", "")],
        }),
    },
    Spec {
        manager: Manager::Poetry,
        system: false,
        compiles: false,
        own_package: "poetry",
        verbs: &[
            ("install", Action::Install),
            ("add", Action::Install),
            ("update", Action::Upgrade),
            ("remove", Action::Remove),
        ],
        verbs2: &[],
        valued: &[
            "-C",
            "--directory",
            "-E",
            "--extras",
            "--with",
            "--without",
            "--only",
        ],
        index: &[],
        cache: Some(Cache {
            kind: "poetry cache",
            dirs: &["~/.cache/pypoetry"],
            flag: None,
            also: &[],
            clean: Some("rm -rf \"${POETRY_CACHE_DIR:-$HOME/.cache/pypoetry}\""),
            hadolint: None,
            relocated: &[("POETRY_CACHE_DIR", "")],
        }),
    },
    Spec {
        manager: Manager::Go,
        system: false,
        compiles: true,
        own_package: "golang",
        verbs: &[
            ("build", Action::Install),
            ("install", Action::Install),
            ("get", Action::Install),
            ("test", Action::Install),
            ("run", Action::Install),
        ],
        verbs2: &[
            ("mod", "download", Action::Install),
            ("mod", "tidy", Action::Install),
            ("clean", "-cache", Action::Clean),
            ("clean", "-modcache", Action::Clean),
        ],
        valued: &["-o", "-ldflags", "-gcflags", "-tags", "-mod", "-C", "-p"],
        index: &[],
        cache: Some(Cache {
            kind: "go build and module cache",
            dirs: &["~/.cache/go-build", "/go/pkg/mod", "~/go/pkg/mod"],
            flag: None,
            also: &[],
            clean: Some("go clean -cache -modcache"),
            hadolint: None,
            relocated: &[("GOCACHE", ""), ("GOMODCACHE", ""), ("GOPATH", "/pkg/mod")],
        }),
    },
    Spec {
        manager: Manager::Cargo,
        system: false,
        compiles: true,
        own_package: "cargo",
        verbs: &[
            ("install", Action::Install),
            ("build", Action::Install),
            ("fetch", Action::Install),
        ],
        verbs2: &[],
        valued: &[
            "--root",
            "--target",
            "-p",
            "--package",
            "-j",
            "--jobs",
            "--features",
            "-F",
        ],
        index: &[],
        cache: Some(Cache {
            kind: "cargo registry",
            dirs: &["~/.cargo/registry", "/usr/local/cargo/registry"],
            flag: None,
            also: &[],
            clean: Some("rm -rf \"${CARGO_HOME:-$HOME/.cargo}/registry\""),
            hadolint: None,
            relocated: &[("CARGO_HOME", "/registry")],
        }),
    },
];

/// RubyGems' cache of downloaded `.gem` files, `$GEM_HOME/cache`: the official Ruby images',
/// Debian's and Alpine's system gems, a user install.
const GEM_CACHE: Cache = Cache {
    kind: "gem cache",
    dirs: &[
        "/usr/local/bundle/cache",
        "/usr/local/lib/ruby/gems/*/cache",
        "/var/lib/gems/*/cache",
        "/usr/lib/ruby/gems/*/cache",
        "~/.gem/ruby/*/cache",
        "~/.local/share/gem/ruby/*/cache",
    ],
    flag: None,
    also: &[],
    clean: Some("rm -rf \"$(gem env gemdir)/cache\""),
    hadolint: None,
    relocated: &[("GEM_HOME", "/cache")],
};

/// yum and microdnf share their subcommands (yum's `*-minimal` upgrades included).
const RPM_VERBS: &[(&str, Action)] = &[
    ("install", Action::Install),
    ("groupinstall", Action::Install),
    ("localinstall", Action::Install),
    ("reinstall", Action::Install),
    ("downgrade", Action::Install),
    ("makecache", Action::Update),
    ("update", Action::Upgrade),
    ("upgrade", Action::Upgrade),
    ("update-minimal", Action::Upgrade),
    ("upgrade-minimal", Action::Upgrade),
    ("groupupdate", Action::Upgrade),
    ("distro-sync", Action::Upgrade),
    ("clean", Action::Clean),
    ("remove", Action::Remove),
    ("erase", Action::Remove),
    ("autoremove", Action::Remove),
];

/// dnf's subcommands with the short aliases dnf4 and dnf5 accept (`dnf in`, `dnf up-min`).
const DNF_VERBS: &[(&str, Action)] = &[
    ("install", Action::Install),
    ("in", Action::Install),
    ("groupinstall", Action::Install),
    ("localinstall", Action::Install),
    ("reinstall", Action::Install),
    ("rei", Action::Install),
    ("downgrade", Action::Install),
    ("dg", Action::Install),
    ("swap", Action::Install),
    ("makecache", Action::Update),
    ("mc", Action::Update),
    ("update", Action::Upgrade),
    ("upgrade", Action::Upgrade),
    ("up", Action::Upgrade),
    ("update-minimal", Action::Upgrade),
    ("upgrade-minimal", Action::Upgrade),
    ("up-min", Action::Upgrade),
    ("distro-sync", Action::Upgrade),
    ("distrosync", Action::Upgrade),
    ("dsync", Action::Upgrade),
    ("clean", Action::Clean),
    ("remove", Action::Remove),
    ("rm", Action::Remove),
    ("erase", Action::Remove),
    ("autoremove", Action::Remove),
];

/// Which dnf an image's name says it has: 5 for Fedora 41 and later (its cache is
/// `/var/cache/libdnf5`), 4 for the Fedora before and the Enterprise Linux family
/// (`/var/cache/dnf`); `None` when the name does not tell.
pub fn dnf_generation(image: &str) -> Option<u8> {
    let name = image.rsplit('/').next().unwrap_or(image);
    let (repo, tag) = name.split_once(':').unwrap_or((name, "latest"));
    let tag = tag.split('@').next().unwrap_or(tag);
    match repo {
        "fedora" | "fedora-minimal" => match tag.parse::<u32>() {
            Ok(v) if v >= 41 => Some(5),
            Ok(_) => Some(4),
            Err(_) if matches!(tag, "latest" | "rawhide") => Some(5),
            Err(_) => None,
        },
        "centos" | "rockylinux" | "almalinux" | "oraclelinux" | "ubi8" | "ubi9" | "ubi"
        | "ubi8-minimal" | "ubi9-minimal" | "centos-stream" | "stream9" | "stream10" => Some(4),
        _ => None,
    }
}

impl Manager {
    pub fn spec(self) -> &'static Spec {
        MANAGERS
            .iter()
            .find(|s| s.manager == self)
            .expect("every manager has a spec")
    }
}

impl Spec {
    /// What the subcommand `sub` does; `second` is the word after it (`cache clean`).
    pub fn action(&self, sub: &str, second: Option<&str>) -> Action {
        if let Some(&(_, _, action)) = self
            .verbs2
            .iter()
            .find(|(first, next, _)| *first == sub && Some(*next) == second)
        {
            return action;
        }
        self.verbs
            .iter()
            .find(|(verb, _)| *verb == sub)
            .map_or(Action::Other, |(_, action)| *action)
    }
}

/// The manager a program name runs (`apt-get`, `pip3.11`), without `python -m` forms.
pub fn by_program(name: &str) -> Option<Manager> {
    Some(match name {
        "apt-get" | "apt" | "aptitude" => Manager::Apt,
        "apk" => Manager::Apk,
        "yum" => Manager::Yum,
        "dnf" | "dnf5" | "dnf-3" => Manager::Dnf,
        "microdnf" => Manager::Microdnf,
        "zypper" => Manager::Zypper,
        "npm" => Manager::Npm,
        "yarn" => Manager::Yarn,
        "pnpm" => Manager::Pnpm,
        "gem" => Manager::Gem,
        "bundle" | "bundler" => Manager::Bundler,
        "conda" | "mamba" | "micromamba" => Manager::Conda,
        "composer" | "composer.phar" => Manager::Composer,
        "uv" => Manager::Uv,
        "poetry" => Manager::Poetry,
        "go" => Manager::Go,
        "cargo" => Manager::Cargo,
        n if is_pip(n) => Manager::Pip,
        _ => return None,
    })
}

/// The variable that turns a manager's cache off whatever its value: pip reads even
/// `PIP_NO_CACHE_DIR=off` as "no cache".
pub fn cache_off_variable(manager: Manager) -> Option<&'static str> {
    match manager {
        Manager::Pip => Some("PIP_NO_CACHE_DIR"),
        Manager::Uv => Some("UV_NO_CACHE"),
        _ => None,
    }
}

/// `pip`, `pip3`, `pip3.11`.
pub fn is_pip(name: &str) -> bool {
    name == "pip"
        || name
            .strip_prefix("pip")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// A Python interpreter (`python`, `python3.12`), which runs pip as `python -m pip`.
pub fn is_python(name: &str) -> bool {
    name.starts_with("python")
}

/// Every manager's spec.
pub fn all() -> &'static [Spec] {
    MANAGERS
}

/// Which known cache or package index holds `path` (relative to the image root, as layer tars
/// write it), named as `measure` and `inspect` report it. A cache in a home folder counts for
/// root's home and for every `/home/<user>`.
pub fn cache_of(path: &str) -> Option<&'static str> {
    cache_roots()
        .iter()
        .find(|(root, _)| within(root, path) == Some(true))
        .map(|(_, kind)| *kind)
}

/// Which known cache's own folder `path` is (`root/.npm`): a folder that goes with the cache.
pub fn cache_folder_of(path: &str) -> Option<&'static str> {
    cache_roots()
        .iter()
        .find(|(root, _)| within(root, path) == Some(false))
        .map(|(_, kind)| *kind)
}

/// Every cache's folders, relative to the image root, with its kind.
fn cache_roots() -> &'static [(String, &'static str)] {
    // made once: `inspect` asks for every file of an image
    static ROOTS: std::sync::OnceLock<Vec<(String, &'static str)>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let lists = ("apt lists", &["/var/lib/apt/lists"][..]);
        let apt_cache = ("apt cache", &["/var/cache/apt"][..]);
        let caches = MANAGERS
            .iter()
            .filter_map(|s| s.cache.as_ref().map(|c| (c.kind, c.dirs)));
        let mut roots = Vec::new();
        for (kind, dirs) in [lists, apt_cache].into_iter().chain(caches) {
            for dir in dirs.iter().filter(|d| d.starts_with(['/', '~'])) {
                match dir.strip_prefix('~') {
                    Some(rest) => {
                        for home in ["root", "home/*"] {
                            roots.push((format!("{home}{rest}"), kind));
                        }
                    }
                    None => roots.push((dir.trim_start_matches('/').to_string(), kind)),
                }
            }
        }
        roots
    })
}

/// Where `path` is against `root` (`*` in `root` is one path segment): `Some(true)` below it,
/// `Some(false)` the folder itself, `None` elsewhere.
fn within(root: &str, path: &str) -> Option<bool> {
    let mut segments = path.split('/');
    let inside = root.split('/').all(|want| {
        segments
            .next()
            .is_some_and(|have| want == "*" || want == have)
    });
    inside.then(|| segments.next().is_some())
}

/// The folders of a cache for a user whose home is `home` (`/root`), plus the ways a script
/// writes them (`~/.npm`, `$HOME/.npm`, `${HOME}/.npm`) so a literal `rm` of any is seen.
pub fn cache_dirs(cache: &Cache, home: &str) -> Vec<String> {
    let mut dirs = Vec::new();
    for dir in cache.dirs {
        match dir.strip_prefix('~') {
            Some(rest) => {
                for prefix in [home, "~", "$HOME", "${HOME}"] {
                    dirs.push(format!("{prefix}{rest}"));
                }
            }
            None => dirs.push(dir.to_string()),
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_and_their_aliases() {
        let apt = Manager::Apt.spec();
        assert_eq!(apt.action("install", None), Action::Install);
        assert_eq!(apt.action("dist-upgrade", None), Action::Upgrade);
        let apk = Manager::Apk.spec();
        assert_eq!(apk.action("cache", Some("clean")), Action::Clean);
        assert_eq!(apk.action("cache", Some("sync")), Action::Other);
        assert_eq!(Manager::Zypper.spec().action("in", None), Action::Install);
        let dnf = Manager::Dnf.spec();
        for (alias, action) in [
            ("in", Action::Install),
            ("rei", Action::Install),
            ("up", Action::Upgrade),
            ("up-min", Action::Upgrade),
            ("mc", Action::Update),
        ] {
            assert_eq!(dnf.action(alias, None), action, "dnf {alias}");
        }
        assert_eq!(Manager::Yum.spec().action("in", None), Action::Other);
        assert_eq!(by_program("dnf5"), Some(Manager::Dnf));
        assert_eq!(by_program("pip3.11"), Some(Manager::Pip));
        assert_eq!(by_program("pipx"), None);
    }

    #[test]
    fn caches_in_the_final_filesystem_by_kind() {
        assert_eq!(cache_of("var/lib/apt/lists"), None);
        assert_eq!(cache_folder_of("var/lib/apt/lists"), Some("apt lists"));
        assert_eq!(cache_folder_of("home/app/.npm"), Some("npm cache"));
        assert_eq!(cache_folder_of("home/app"), None);
        assert_eq!(cache_folder_of("root/.npm/_cacache"), None);
        assert_eq!(cache_of("var/lib/apt/lists/x"), Some("apt lists"));
        assert_eq!(cache_of("var/lib/apt/listsx/x"), None);
        assert_eq!(cache_of("root/.cache/pip/http/a"), Some("pip cache"));
        assert_eq!(cache_of("home/app/.npm/_cacache/x"), Some("npm cache"));
        assert_eq!(
            cache_of("usr/local/share/.cache/yarn/v6/x"),
            Some("yarn cache")
        );
        assert_eq!(cache_of("root/.yarn/berry/cache/x.zip"), Some("yarn cache"));
        assert_eq!(cache_of("var/cache/apt/archives/x.deb"), Some("apt cache"));
        assert_eq!(
            cache_of("var/cache/zypp/packages/x.rpm"),
            Some("zypper cache")
        );
        assert_eq!(
            cache_of("var/lib/gems/3.1.0/cache/rails-7.gem"),
            Some("gem cache")
        );
        assert_eq!(
            cache_of("root/.cache/go-build/00/x-d"),
            Some("go build and module cache")
        );
        assert_eq!(
            cache_of("usr/local/cargo/registry/cache/x.crate"),
            Some("cargo registry")
        );
        assert_eq!(cache_of("opt/conda/pkgs/x.conda"), Some("conda packages"));
    }

    #[test]
    fn the_dnf_of_an_image() {
        assert_eq!(dnf_generation("fedora:41"), Some(5));
        assert_eq!(
            dnf_generation("registry.fedoraproject.org/fedora:43"),
            Some(5)
        );
        assert_eq!(dnf_generation("fedora"), Some(5));
        assert_eq!(dnf_generation("fedora:40"), Some(4));
        assert_eq!(dnf_generation("rockylinux:9"), Some(4));
        assert_eq!(dnf_generation("fedora:${V}"), None);
        assert_eq!(dnf_generation("debian"), None);
    }

    #[test]
    fn home_caches_are_written_every_way_a_script_does() {
        let npm = Manager::Npm.spec().cache.as_ref().unwrap();
        assert_eq!(
            cache_dirs(npm, "/root"),
            ["/root/.npm", "~/.npm", "$HOME/.npm", "${HOME}/.npm"]
        );
    }
}
