//! What a RUN does to the filesystem and the installed packages, command by command, from the
//! shell parser and [`crate::knowledge`]: packages installed, removed or upgraded, indexes
//! refreshed, caches written and cleaned, paths created (by package managers, downloads,
//! redirections, `tee`, `dd of=`, copies, clones, archives unpacked, `mkdir`), removed, and
//! whose mode or owner changed. Each effect keeps the command it comes from, so a rule can
//! tell what comes after what.

use crate::knowledge::managers::{Action, Manager, cache_dirs};
use crate::knowledge::tools::{
    COPIERS, Change, DOWNLOADERS, Downloader, EXTRACTORS, PERMISSION_CHANGERS,
};
use crate::model::packages::classify;
use crate::shell::{Command, Word, Words};
use crate::source::Span;
use crate::unixpath::resolve;

/// One thing a command does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// The command's index in its script.
    pub command: usize,
    /// The word that names the path, or the command.
    pub span: Span,
    pub kind: EffectKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EffectKind {
    /// A package-manager command: install, remove, upgrade, index refresh, cache clean.
    Packages {
        manager: Manager,
        action: Action,
        /// The packages named (literal words only).
        packages: Vec<String>,
    },
    /// A path written: `tree` when what is below it came with it (a cache, a clone, a copied
    /// folder, a download), not only the path itself.
    Creates { path: String, how: Creation },
    /// A path removed (`dir/*`: the folder's contents).
    Removes { path: String },
    /// A path whose mode or owner changed.
    Changes {
        path: String,
        change: Change,
        recursive: bool,
    },
}

/// How a path came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creation {
    /// A package manager's cache.
    Cache(Manager),
    /// A package index (`apt-get update`).
    Index(Manager),
    /// A file downloaded (`curl -o`, `wget`).
    Download,
    /// A repository cloned.
    Clone,
    /// An empty folder (`mkdir`).
    Directory,
    /// A file written by a redirection, `tee` or `dd of=`.
    Written,
    /// A copy or a move of something else (`cp`, `mv`).
    Copy,
    /// A folder an archive was unpacked into (it may have held other things before).
    Extracted,
}

impl Creation {
    /// What is below the path came with it.
    pub fn tree(self) -> bool {
        !matches!(
            self,
            Creation::Directory | Creation::Download | Creation::Written
        )
    }
}

impl EffectKind {
    fn creates(path: String, how: Creation) -> EffectKind {
        EffectKind::Creates { path, how }
    }
}

/// The effects of one command. `cwd` is the folder it runs in (when known) and `home` the home
/// folder of the user it runs as.
pub fn of_command(index: usize, command: &Command, cwd: Option<&str>, home: &str) -> Vec<Effect> {
    let mut kinds: Vec<(EffectKind, Span)> = Vec::new();
    let whole = command.span();
    // Paths written relative to an unknown folder cannot be placed: skipped.
    let place = |p: &str| -> Option<String> {
        if p.is_empty() || p == "-" || p.contains('$') || p.starts_with('~') {
            return None;
        }
        let path = match (p.starts_with('/'), cwd) {
            (true, _) => resolve("/", p),
            (false, Some(cwd)) => resolve(cwd, p),
            (false, None) => return None,
        };
        (path != "/").then_some(path)
    };
    if let Some(pkg) = classify(command) {
        let spec = pkg.manager.spec();
        kinds.push((
            EffectKind::Packages {
                manager: pkg.manager,
                action: pkg.action,
                packages: pkg
                    .packages()
                    .iter()
                    .filter(|w| w.literal())
                    .map(|w| w.value().to_string())
                    .collect(),
            },
            whole,
        ));
        // The index is written by the update; an install only reads it.
        if pkg.action == Action::Update {
            for dir in spec.index {
                let kind = EffectKind::creates(dir.to_string(), Creation::Index(pkg.manager));
                kinds.push((kind, whole));
            }
        }
        if let Some(cache) = &spec.cache
            && matches!(
                pkg.action,
                Action::Install | Action::Update | Action::Upgrade
            )
            && !cache.flag.is_some_and(|f| pkg.has_flag(f))
            && !cache.also.iter().any(|f| pkg.has_flag(f))
        {
            for dir in cache_dirs(cache, home)
                .into_iter()
                .filter(|d| d.starts_with('/'))
            {
                kinds.push((
                    EffectKind::creates(dir, Creation::Cache(pkg.manager)),
                    whole,
                ));
            }
        }
    }
    for w in command.writes() {
        if w.literal() && w.value() != "/dev/null" && !w.value().starts_with("/dev/") {
            kinds.extend(
                place(w.value()).map(|p| (EffectKind::creates(p, Creation::Written), w.span())),
            );
        }
    }
    let args = command.args();
    let operands = || args.iter().filter(|w| !w.value().starts_with('-'));
    match command.name() {
        Some(name) if DOWNLOADERS.iter().any(|d| d.program == name) => {
            let tool = DOWNLOADERS.iter().find(|d| d.program == name);
            if let Some(path) = tool.and_then(|t| download_target(t, args)) {
                kinds.extend(
                    place(&path).map(|p| (EffectKind::creates(p, Creation::Download), whole)),
                );
            }
        }
        Some("git") if command.subcommand().is_some_and(|s| s.value() == "clone") => {
            if let Some(dir) = clone_target(args) {
                kinds.extend(place(&dir).map(|p| (EffectKind::creates(p, Creation::Clone), whole)));
            }
        }
        Some("mkdir") => {
            for w in operands().filter(|w| w.literal()) {
                kinds.extend(
                    place(w.value())
                        .map(|p| (EffectKind::creates(p, Creation::Directory), w.span())),
                );
            }
        }
        Some("dd") => {
            for w in args.iter().filter(|w| w.literal()) {
                if let Some(of) = w.value().strip_prefix("of=") {
                    kinds.extend(
                        place(of).map(|p| (EffectKind::creates(p, Creation::Written), w.span())),
                    );
                }
            }
        }
        Some("tee") => {
            for w in operands().filter(|w| w.literal() && !w.value().starts_with("/dev/")) {
                kinds.extend(
                    place(w.value()).map(|p| (EffectKind::creates(p, Creation::Written), w.span())),
                );
            }
        }
        Some(name) if COPIERS.contains(&name) => {
            let plain: Vec<Word> = operands().collect();
            if let [sources @ .., dest] = plain.as_slice()
                && !sources.is_empty()
                && dest.literal()
            {
                let into_dir = dest.value().ends_with('/') || sources.len() > 1;
                for source in sources.iter().filter(|s| s.literal()) {
                    let name = source
                        .value()
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or("");
                    let path = if into_dir && !matches!(name, "" | "." | "*") {
                        format!("{}/{name}", dest.value().trim_end_matches('/'))
                    } else {
                        dest.value().to_string()
                    };
                    kinds.extend(
                        place(&path).map(|p| (EffectKind::creates(p, Creation::Copy), dest.span())),
                    );
                }
            }
        }
        Some(name) if EXTRACTORS.iter().any(|(n, _)| *n == name) => {
            let options = EXTRACTORS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(&[][..], |e| e.1);
            if let Some(dir) = option_value(args, options) {
                kinds.extend(
                    place(&dir).map(|p| (EffectKind::creates(p, Creation::Extracted), whole)),
                );
            }
        }
        Some(name) if PERMISSION_CHANGERS.iter().any(|(n, _)| *n == name) => {
            let change = PERMISSION_CHANGERS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(Change::Mode, |c| c.1);
            let recursive = args.iter().any(|w| {
                w.value() == "-R"
                    || w.value() == "--recursive"
                    || (w.value().starts_with('-')
                        && !w.value().starts_with("--")
                        && w.value().contains('R'))
            });
            // The first operand is the mode or the owner.
            for w in operands().skip(1).filter(|w| w.literal()) {
                kinds.extend(place(w.value()).map(|path| {
                    let kind = EffectKind::Changes {
                        path,
                        change,
                        recursive,
                    };
                    (kind, w.span())
                }));
            }
        }
        Some("find") => {
            // `find DIR … -exec chmod …`: the tree below DIR may change.
            let exec = args
                .iter()
                .position(|w| w.value() == "-exec" || w.value() == "-execdir");
            let changer = exec
                .and_then(|at| args.get(at + 1))
                .and_then(|w| PERMISSION_CHANGERS.iter().find(|(n, _)| *n == w.value()));
            if let Some((_, change)) = changer {
                for w in args
                    .iter()
                    .take_while(|w| !w.value().starts_with('-'))
                    .filter(|w| w.literal())
                {
                    kinds.extend(place(w.value()).map(|path| {
                        let kind = EffectKind::Changes {
                            path,
                            change: *change,
                            recursive: true,
                        };
                        (kind, w.span())
                    }));
                }
            }
        }
        Some("rm") => {
            for w in operands().filter(|w| w.literal()) {
                let path = match w.value().strip_suffix("/*") {
                    Some(dir) => place(dir).map(|d| format!("{}/*", d.trim_end_matches('/'))),
                    None => place(w.value()),
                };
                kinds.extend(path.map(|path| (EffectKind::Removes { path }, w.span())));
            }
        }
        _ => {}
    }
    kinds
        .into_iter()
        .map(|(kind, span)| Effect {
            command: index,
            span,
            kind,
        })
        .collect()
}

/// The value of one of `options` (`-C dir`, `-Cdir`, `--directory=dir`).
fn option_value(args: Words, options: &[&str]) -> Option<String> {
    let mut words = args.iter();
    while let Some(w) = words.next() {
        for option in options {
            if w.value() == *option {
                return words
                    .next()
                    .filter(|n| n.literal())
                    .map(|n| n.value().to_string());
            }
            if let Some(v) = w.value().strip_prefix(option) {
                let v = if option.starts_with("--") {
                    v.strip_prefix('=')
                } else {
                    Some(v)
                };
                if let Some(v) = v.filter(|v| !v.is_empty())
                    && w.literal()
                {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

/// The file a download writes, as the command names it (relative or absolute).
fn download_target(tool: &Downloader, args: Words) -> Option<String> {
    let mut output = None;
    let mut remote = tool.default_remote_name;
    let mut dir: Option<String> = None;
    let mut url = None;
    let mut words = args.iter();
    while let Some(w) = words.next() {
        let v = w.value();
        let takes = |list: &[&str]| list.contains(&v);
        if takes(tool.output) {
            output = words.next().map(|n| n.value().to_string());
        } else if let Some(o) = tool.output.iter().find_map(|o| {
            v.strip_prefix(o)
                .and_then(|rest| {
                    if o.starts_with("--") {
                        rest.strip_prefix('=')
                    } else {
                        Some(rest)
                    }
                })
                .filter(|rest| !rest.is_empty())
        }) {
            output = Some(o.to_string());
        } else if takes(tool.remote_name) {
            remote = true;
        } else if takes(tool.dir) {
            dir = words.next().map(|n| n.value().to_string());
        } else if takes(tool.valued) {
            words.next();
        } else if tool.bundles && v.starts_with('-') && !v.starts_with("--") && v.len() > 2 {
            // Bundled short options: the last one may take the next word.
            let last = &v[v.len() - 1..];
            let flag = format!("-{last}");
            if tool.output.contains(&flag.as_str()) {
                output = words.next().map(|n| n.value().to_string());
            } else if tool.remote_name.contains(&flag.as_str()) {
                remote = true;
            } else if tool.dir.contains(&flag.as_str()) {
                dir = words.next().map(|n| n.value().to_string());
            } else if tool.valued.contains(&flag.as_str()) {
                words.next();
            }
        } else if !v.starts_with('-') && v.contains("://") {
            url = Some(w);
        }
    }
    let name = match output {
        Some(o) if o == "-" => return None,
        Some(o) => o,
        None if remote => {
            let url = url?;
            if !url.literal() {
                return None;
            }
            let path = url.value().split(['?', '#']).next()?;
            let name = path.trim_end_matches('/').rsplit('/').next()?;
            if name.is_empty() || name.contains(':') {
                return None;
            }
            name.to_string()
        }
        None => return None,
    };
    Some(match dir {
        Some(d) if !name.starts_with('/') => format!("{}/{name}", d.trim_end_matches('/')),
        _ => name,
    })
}

/// The folder `git clone` writes: the one named, or the repository's name.
fn clone_target(args: Words) -> Option<String> {
    // Options that take a value as the next word.
    const VALUED: [&str; 10] = [
        "--depth",
        "-b",
        "--branch",
        "-c",
        "--config",
        "-o",
        "--origin",
        "--filter",
        "--reference",
        "-j",
    ];
    let mut plain: Vec<Word> = Vec::new();
    let mut skip = false;
    for w in args {
        if skip {
            skip = false;
        } else if VALUED.contains(&w.value()) {
            skip = true;
        } else if !w.value().starts_with('-') {
            plain.push(w);
        }
    }
    match plain.as_slice() {
        [_, _, dir, ..] if dir.literal() => Some(dir.value().to_string()),
        [_, url] if url.literal() => {
            let name = url.value().trim_end_matches('/').rsplit('/').next()?;
            Some(name.trim_end_matches(".git").to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell;
    use crate::syntax::MappedText;

    fn created(script: &str) -> Vec<(String, Creation)> {
        let mut text = MappedText::new();
        text.push_synthetic(script);
        let parsed = shell::parse(&text).unwrap();
        parsed
            .commands
            .iter()
            .enumerate()
            .flat_map(|(i, c)| of_command(i, c, Some("/w"), "/root"))
            .filter_map(|e| match e.kind {
                EffectKind::Creates { path, how } => Some((path, how)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn downloads_name_their_file_every_way() {
        let cases = [
            ("curl -fsSLo /tmp/a.tgz https://x/a.tgz", "/tmp/a.tgz"),
            ("curl -o b.tgz https://x/a.tgz", "/w/b.tgz"),
            ("curl -fsSLO https://x/dl/c.tar.gz?x=1", "/w/c.tar.gz"),
            ("curl --output-dir /opt -O https://x/d.zip", "/opt/d.zip"),
            ("wget https://x/e.deb", "/w/e.deb"),
            ("wget -q -O /f.bin https://x/y", "/f.bin"),
            ("wget --output-document=/g https://x/y", "/g"),
            ("wget -P /dl https://x/h.tar", "/dl/h.tar"),
        ];
        for (script, path) in cases {
            assert_eq!(
                created(script),
                [(path.to_string(), Creation::Download)],
                "{script}"
            );
        }
        // To stdout: nothing written.
        assert!(created("curl -fsSL https://x/i.sh").is_empty());
        assert!(created("wget -O- https://x/j | tar x").is_empty());
    }

    #[test]
    fn redirections_tee_dd_copies_clones_and_archives() {
        let got = created(
            "echo x > out.txt && cat a >> /var/log/b && echo y | tee -a /etc/c /dev/null && \
             dd if=/dev/zero of=/opt/blob bs=1M count=1 && cp -r src /opt/ && mv a /x/b && \
             git clone --depth 1 https://g/r.git && tar -xzf a.tgz -C /opt/t && mkdir -p /m && \
             echo z >/dev/null",
        );
        let want = [
            ("/w/out.txt", Creation::Written),
            ("/var/log/b", Creation::Written),
            ("/etc/c", Creation::Written),
            ("/opt/blob", Creation::Written),
            ("/opt/src", Creation::Copy),
            ("/x/b", Creation::Copy),
            ("/w/r", Creation::Clone),
            ("/opt/t", Creation::Extracted),
            ("/m", Creation::Directory),
        ];
        let want: Vec<(String, Creation)> = want.iter().map(|(p, c)| (p.to_string(), *c)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn package_managers_write_their_index_and_cache() {
        let got = created("apt-get update && pip install x && apk add --no-cache y");
        assert_eq!(
            got,
            [
                (
                    "/var/lib/apt/lists".to_string(),
                    Creation::Index(Manager::Apt)
                ),
                (
                    "/root/.cache/pip".to_string(),
                    Creation::Cache(Manager::Pip)
                ),
            ]
        );
    }

    #[test]
    fn permission_changes_and_removals() {
        let mut text = MappedText::new();
        text.push_synthetic("chmod -R a+w /usr/share/dotnet && chown app:app f && find /srv -type f -exec chmod 644 {} + && rm -rf /tmp/* x");
        let parsed = shell::parse(&text).unwrap();
        let kinds: Vec<EffectKind> = parsed
            .commands
            .iter()
            .enumerate()
            .flat_map(|(i, c)| of_command(i, c, Some("/w"), "/root"))
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                EffectKind::Changes {
                    path: "/usr/share/dotnet".into(),
                    change: Change::Mode,
                    recursive: true
                },
                EffectKind::Changes {
                    path: "/w/f".into(),
                    change: Change::Owner,
                    recursive: false
                },
                EffectKind::Changes {
                    path: "/srv".into(),
                    change: Change::Mode,
                    recursive: true
                },
                EffectKind::Removes {
                    path: "/tmp/*".into()
                },
                EffectKind::Removes {
                    path: "/w/x".into()
                },
            ]
        );
    }
}
