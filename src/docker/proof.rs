//! The proof that the rewrite keeps the image: the final filesystems of before and after
//! compared path by path (type, size, mode, owner, link target, content digest) and the image
//! configs field by field. Each difference is explained by the rule whose fix causes it, or
//! listed as unexpected; with only safe fixes applied, an unexpected difference is a fix defect.
//!
//! What each rule's fix may change is written down in one place, [`explains`]: LW102 the apt
//! lists, LW103 the other package-manager caches (both as [`super::layers::cache_of`] knows
//! them), LW104 the files of the packages it no longer installs (named from dpkg's database in
//! both images), LW301 what stays in the build stage of its two (the toolchain's packages and
//! caches, the build's working folders), LW107 the archives it removes once unpacked,
//! LW401/LW402 the context files the proposed
//! `.dockerignore` keeps out. The other rules (LW101, LW105, LW201, LW202: merging, moving or deleting earlier) leave the final
//! filesystem as it was, so they explain nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;

use super::filesystem::{Filesystem, Kind, Meta};
use super::layers::cache_of;
use crate::knowledge::managers::cache_folder_of;
use crate::knowledge::toolchains::{build_cache_below, build_cache_of};
use crate::knowledge::tools::is_archive;
use crate::model::copies::Origin;
use crate::model::{Model, ModelInput};
use crate::syntax::{Dockerfile, Keyword};

/// The config fields compared: what decides how a container of the image runs.
pub const CONFIG_FIELDS: &[&str] = &[
    "Entrypoint",
    "Cmd",
    "Env",
    "User",
    "WorkingDir",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "Healthcheck",
    "StopSignal",
    "Shell",
];

/// Files and bytes of one kind of difference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub files: u64,
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
    }
}

/// Differences one cause explains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// The rule whose fix causes them; `None` for what differs between any two builds.
    pub rule: Option<String>,
    pub reason: String,
    pub files: u64,
    pub bytes: u64,
    /// A few of the paths, the largest first.
    pub sample: Vec<String>,
    /// For LW104 and LW301: the packages installed in only one of the images.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// How the verdict line names the group: `1,204 files of the apt lists (LW102)`.
    #[serde(skip)]
    pub label: String,
}

/// A difference nothing explains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unexpected {
    pub path: String,
    /// `only before`, `only after`, `type`, `link`, `content`, `mode`, `owner`.
    pub change: &'static str,
    pub size_bytes: u64,
}

/// The filesystem half of the proof, as `--format json` gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FilesystemProof {
    pub only_before: Tally,
    pub only_after: Tally,
    pub changed: Tally,
    pub explained: Vec<Explained>,
    pub unexpected: Vec<Unexpected>,
}

/// A config field that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// What the proof needs beyond the two images.
#[derive(Clone, Debug, Default)]
pub struct Rewrite<'a> {
    /// The rules whose fixes were applied.
    pub applied: &'a [String],
    /// Context files the rewrite's `.dockerignore` keeps out that the original's let in.
    pub ignored: &'a [String],
    /// Context files the rewrite's build sees that the original's did not (a new
    /// `.dockerignore` itself).
    pub added: &'a [String],
    /// The Dockerfile's path in the context, when a COPY can see it (`COPY . .` copies it,
    /// and its text is what the fixes change).
    pub dockerfile: Option<&'a str>,
    /// The folders the rewrite's build stages run in ([`build_stage_dirs`]): for LW301, what
    /// the build leaves there stays in the build stage.
    pub build_dirs: &'a [String],
    /// Where the image's final stage copies what those stages built (`COPY --from=build …
    /// DEST`, [`copied_from_build_stages`]): for LW301, artifacts the rewrite built again.
    pub copied: &'a [String],
}

/// Why a difference happened.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cause {
    /// A rule's fix; the reason in words.
    Rule(String, String),
    /// The Dockerfile itself, copied into the image.
    Dockerfile,
    /// `/dev`, `/proc`, `/sys`: a RUN's container mounts over them, and leaves them as empty
    /// folders in its layer when the base image has none (a rewrite with fewer RUNs may not).
    RunMounts,
    /// Logs and records that differ between any two builds.
    AnyBuild,
}

/// The reasons of the groups whose label is not `N files of REASON`.
const PACKAGES: &str = "the files of packages not installed, and what their scripts wrote";
const IGNORED: &str = "context files the proposed .dockerignore keeps out";
const TOOLCHAIN: &str = "the toolchain's packages, installed in the build stage only";
const BUILD_FILES: &str = "the build's sources and outputs, left in the build stage";
const REBUILT: &str = "artifacts built again in the build stage and copied with COPY --from";
const MADE_FOR_RUNTIME: &str =
    "what a stage of the rewrite made for the runtime stage, copied where the original had nothing";

/// What a rule's fix changes in the final filesystem, and so which differences it explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Explains {
    /// Files of these caches (as [`cache_of`] names them).
    Caches(&'static [&'static str]),
    /// Files of every cache but these.
    CachesBut(&'static [&'static str]),
    /// The files of packages installed in only one image, and the package database.
    Packages,
    /// Context files the proposed `.dockerignore` keeps out.
    IgnoredContext,
    /// What a build stage keeps that the runtime stage does not copy: the toolchain's
    /// packages, its caches, the build's working folders.
    BuildStage,
    /// Archives, packages and installers (by their names), removed once unpacked.
    Archives,
}

/// The one place that says which rule's fix explains which differences; a rule not here
/// changes no file of the final image.
fn explains(rule: &str) -> Option<Explains> {
    match rule {
        "LW102" => Some(Explains::Caches(&["apt lists"])),
        "LW103" => Some(Explains::CachesBut(&["apt lists"])),
        "LW104" => Some(Explains::Packages),
        "LW107" => Some(Explains::Archives),
        "LW301" => Some(Explains::BuildStage),
        "LW401" | "LW402" => Some(Explains::IgnoredContext),
        _ => None,
    }
}

/// Files that differ between any two builds of the same Dockerfile: package managers' logs
/// and the backups they keep of their last state, and ldconfig's cache of inode numbers.
fn differs_between_builds(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    // Python's bytecode records its source's modification time, which each build sets anew.
    let bytecode = path.contains("/__pycache__/") && name.ends_with(".pyc");
    bytecode
        || path.starts_with("var/log/")
        || path == "var/cache/ldconfig/aux-cache"
        || ((path.starts_with("var/lib/dpkg/") || path.starts_with("var/cache/debconf/"))
            && name.ends_with("-old"))
}

/// dpkg's view of one image: the packages installed, and the package owning each path.
#[derive(Clone, Debug, Default)]
struct Dpkg {
    installed: BTreeSet<String>,
    owner: HashMap<String, String>,
}

impl Dpkg {
    fn read(fs: &Filesystem) -> Dpkg {
        let mut dpkg = Dpkg::default();
        if let Some(status) = fs.kept.get("var/lib/dpkg/status") {
            let text = String::from_utf8_lossy(status);
            for paragraph in text.split("\n\n") {
                let field = |name: &str| {
                    paragraph.lines().find_map(|l| {
                        l.strip_prefix(name)
                            .and_then(|rest| rest.strip_prefix(':'))
                            .map(str::trim)
                    })
                };
                if let (Some(package), Some(status)) = (field("Package"), field("Status"))
                    && status.ends_with(" installed")
                {
                    dpkg.installed.insert(package.to_string());
                }
            }
        }
        for (path, list) in &fs.kept {
            let Some(name) = path
                .strip_prefix("var/lib/dpkg/info/")
                .and_then(|n| n.strip_suffix(".list"))
            else {
                continue;
            };
            let package = name.split(':').next().unwrap_or(name).to_string();
            for owned in String::from_utf8_lossy(list).lines() {
                let owned = owned.trim_start_matches('/');
                if !owned.is_empty() && owned != "." {
                    dpkg.owner
                        .entry(owned.to_string())
                        .or_insert_with(|| package.clone());
                }
            }
        }
        dpkg
    }
}

/// Folders that only the system and its packages write: a file there that no package owns was
/// written by a package's scripts or triggers. A user's files live elsewhere (`/app`, `/opt`,
/// `/home`, `/usr/local`, `/usr/src`, `/srv`).
fn system_path(path: &str) -> bool {
    let top = [
        "etc/", "var/", "usr/", "lib/", "lib32/", "lib64/", "bin/", "sbin/",
    ];
    top.iter().any(|t| path.starts_with(t))
        && !path.starts_with("usr/local/")
        && !path.starts_with("usr/src/")
        && !path.starts_with("var/www/")
}

/// How `before` and `after` differ at one path, if they do.
fn change(before: Option<&Meta>, after: Option<&Meta>) -> Option<&'static str> {
    match (before, after) {
        (None, None) => None,
        (Some(_), None) => Some("only before"),
        (None, Some(_)) => Some("only after"),
        (Some(b), Some(a)) => {
            if b.kind != a.kind {
                Some("type")
            } else if b.link != a.link {
                Some("link")
            } else if b.kind == Kind::File && (b.size != a.size || b.digest != a.digest) {
                Some("content")
            } else if b.mode != a.mode {
                Some("mode")
            } else if (b.uid, b.gid) != (a.uid, a.gid) {
                Some("owner")
            } else {
                None
            }
        }
    }
}

/// The packages installed in only one of the images, and the cause for their files.
struct PackageChange {
    changed: BTreeSet<String>,
    before: Dpkg,
    after: Dpkg,
}

impl PackageChange {
    fn new(before: &Filesystem, after: &Filesystem) -> PackageChange {
        let before = Dpkg::read(before);
        let after = Dpkg::read(after);
        let changed = before
            .installed
            .symmetric_difference(&after.installed)
            .cloned()
            .collect();
        PackageChange {
            changed,
            before,
            after,
        }
    }

    /// Whether `path` is in a package manager's index or cache, which an install leaves as it
    /// runs (`var/cache/apt/archives/partial` made private), when packages changed.
    fn installs(&self, path: &str) -> bool {
        !self.changed.is_empty() && cache_of(path).is_some()
    }

    /// Whether the difference at `path` comes from the packages that changed: their files,
    /// the package database, or what their scripts wrote: files in the system's folders, and
    /// folders anywhere (`/usr/local/share/ca-certificates`).
    fn explains(&self, path: &str, dir: bool) -> bool {
        if self.changed.is_empty() {
            return false;
        }
        let owner = self
            .before
            .owner
            .get(path)
            .or_else(|| self.after.owner.get(path));
        match owner {
            Some(package) => self.changed.contains(package),
            None => {
                path.starts_with("var/lib/dpkg/")
                    || path.starts_with("var/cache/debconf/")
                    || path == "var/lib/apt/extended_states"
                    || system_path(path)
                    || dir
            }
        }
    }
}

/// Compares the final filesystems.
pub fn compare_filesystems(
    before: &Filesystem,
    after: &Filesystem,
    rewrite: &Rewrite<'_>,
) -> FilesystemProof {
    let rules: Vec<(&str, Explains)> = rewrite
        .applied
        .iter()
        .filter_map(|r| explains(r).map(|e| (r.as_str(), e)))
        .collect();
    let packages = rules
        .iter()
        .any(|(_, e)| matches!(e, Explains::Packages | Explains::BuildStage))
        .then(|| PackageChange::new(before, after));
    let build_dirs: Vec<&str> = rewrite
        .build_dirs
        .iter()
        .map(|d| d.trim_matches('/'))
        .filter(|d| !d.is_empty())
        .collect();
    let ignored: BTreeSet<String> = rewrite
        .ignored
        .iter()
        .flat_map(|file| with_parents(file))
        .collect();
    let added: BTreeSet<&str> = rewrite.added.iter().map(String::as_str).collect();

    let cause_of = |path: &str, change: &str, dir: bool| -> Option<Cause> {
        for (rule, explains) in &rules {
            let reason = match explains {
                Explains::Caches(kinds) => cache_of(path)
                    .filter(|k| kinds.contains(k))
                    .map(|k| format!("the {k}")),
                Explains::CachesBut(kinds) => cache_of(path)
                    .filter(|k| !kinds.contains(k))
                    .map(|k| format!("the {k}")),
                Explains::Packages => packages
                    .as_ref()
                    .filter(|p| p.explains(path, dir))
                    .map(|_| PACKAGES.to_string()),
                Explains::BuildStage => {
                    let only_before = change == "only before";
                    // a toolchain's cache, or a package manager's that the build filled (npm
                    // ci's), stays with the build stage; apt's are LW102's and LW103's
                    let managers = || {
                        cache_of(path)
                            .or_else(|| dir.then(|| cache_folder_of(path)).flatten())
                            .filter(|k| !k.starts_with("apt "))
                            .map(|k| format!("the {k}"))
                    };
                    let cache = build_cache_of(path)
                        .or_else(|| build_cache_below(path).filter(|_| dir))
                        .map(str::to_string)
                        .or_else(managers)
                        .filter(|_| only_before);
                    let worked_in = build_dirs.iter().any(|d| {
                        path.strip_prefix(d)
                            .is_some_and(|rest| rest.starts_with('/'))
                    });
                    // the copy's destination, or a path inside it
                    let copied_to = rewrite
                        .copied
                        .iter()
                        .map(|d| d.trim_matches('/'))
                        .find(|d| {
                            path == *d
                                || path
                                    .strip_prefix(d)
                                    .is_some_and(|rest| rest.starts_with('/'))
                        });
                    if let Some(cache) = cache {
                        Some(format!("{cache}, left in the build stage"))
                    } else if change == "content" && copied_to.is_some() {
                        // built again, not taken from the original's layers: bytes that
                        // record the time of the build (a jar's entries) differ; a file
                        // gone or new there is not this, and stays unexpected
                        Some(REBUILT.to_string())
                    } else if change == "only after"
                        && copied_to.is_some_and(|d| !exists(&before.paths, d))
                    {
                        Some(MADE_FOR_RUNTIME.to_string())
                    } else if only_before && worked_in {
                        Some(BUILD_FILES.to_string())
                    } else {
                        // the toolchain's install also left apt's own folders as it runs them
                        packages
                            .as_ref()
                            .filter(|p| p.explains(path, dir) || p.installs(path))
                            .map(|_| TOOLCHAIN.to_string())
                    }
                }
                Explains::Archives => {
                    let name = path.rsplit('/').next().unwrap_or(path);
                    (change == "only before" && !dir && is_archive(name))
                        .then(|| "archives removed once unpacked".to_string())
                }
                Explains::IgnoredContext => {
                    let kept_out = change == "only before" && ends_with_any(path, &ignored);
                    let new_file = change == "only after"
                        && added
                            .iter()
                            .any(|a| path == *a || path.ends_with(&format!("/{a}")));
                    (kept_out || new_file).then(|| IGNORED.to_string())
                }
            };
            if let Some(reason) = reason {
                return Some(Cause::Rule(rule.to_string(), reason));
            }
        }
        if change == "content"
            && let Some(name) = rewrite.dockerfile
            && (path == name || path.ends_with(&format!("/{name}")))
        {
            return Some(Cause::Dockerfile);
        }
        if dir && matches!(path, "dev" | "proc" | "sys") {
            return Some(Cause::RunMounts);
        }
        differs_between_builds(path).then_some(Cause::AnyBuild)
    };

    let mut proof = FilesystemProof::default();
    let mut groups: BTreeMap<Cause, Vec<(String, u64)>> = BTreeMap::new();
    let mut consider = |path: &str, b: Option<&Meta>, a: Option<&Meta>| {
        let Some(what) = change(b, a) else { return };
        let size = a.or(b).map_or(0, |m| m.size);
        match what {
            "only before" => proof.only_before.add(b.map_or(0, |m| m.size)),
            "only after" => proof.only_after.add(size),
            _ => proof.changed.add(size),
        }
        let dir = a.or(b).is_some_and(|m| m.kind == Kind::Dir);
        match cause_of(path, what, dir) {
            Some(cause) => groups
                .entry(cause)
                .or_default()
                .push((path.to_string(), size)),
            None => proof.unexpected.push(Unexpected {
                path: path.to_string(),
                change: what,
                size_bytes: size,
            }),
        }
    };
    // both lists are in path order: walk them together
    let (mut i, mut j) = (0, 0);
    let (left, right) = (&before.paths, &after.paths);
    while i < left.len() || j < right.len() {
        let order = match (left.get(i), right.get(j)) {
            (Some((l, _)), Some((r, _))) => l.cmp(r),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                consider(&left[i].0, Some(&left[i].1), None);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                consider(&right[j].0, None, Some(&right[j].1));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                consider(&left[i].0, Some(&left[i].1), Some(&right[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    for (cause, mut paths) in groups {
        paths.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let files = paths.len() as u64;
        let count = thousands(files);
        let mut names = Vec::new();
        let (rule, reason, label) = match cause {
            Cause::Rule(rule, reason) => {
                let label = if reason == PACKAGES || reason == TOOLCHAIN {
                    names = packages
                        .as_ref()
                        .map(|p| p.changed.iter().cloned().collect())
                        .unwrap_or_default();
                    let n = names.len();
                    let whose = if reason == PACKAGES {
                        "not installed"
                    } else {
                        "of the toolchain left in the build stage"
                    };
                    format!(
                        "{} package{} {whose} ({rule})",
                        thousands(n as u64),
                        if n == 1 { "" } else { "s" }
                    )
                } else if reason == IGNORED {
                    format!("{count} context files the new .dockerignore keeps out ({rule})")
                } else {
                    let files = if files == 1 { "file" } else { "files" };
                    format!("{count} {files} of {reason} ({rule})")
                };
                (Some(rule), reason, label)
            }
            Cause::Dockerfile => (
                None,
                "the Dockerfile, copied into the image: its text is what the fixes change".into(),
                "the rewritten Dockerfile".to_string(),
            ),
            Cause::RunMounts => (
                None,
                "folders a RUN's container mounts over, left in its layer when the base has none"
                    .to_string(),
                format!("{count} mount points a RUN leaves"),
            ),
            Cause::AnyBuild => (
                None,
                "logs and records that differ between any two builds".to_string(),
                format!("{count} logs that differ in every build"),
            ),
        };
        proof.explained.push(Explained {
            rule,
            reason,
            files,
            bytes: paths.iter().map(|(_, b)| b).sum(),
            sample: paths.iter().take(5).map(|(p, _)| p.clone()).collect(),
            packages: names,
            label,
        });
    }
    // the rules in the order applied, what any build changes last
    let order = |e: &Explained| {
        e.rule
            .as_ref()
            .and_then(|r| rewrite.applied.iter().position(|a| a == r))
            .unwrap_or(usize::MAX)
    };
    proof.explained.sort_by_key(order);
    proof
}

/// The folders where the stages that are built but not in the image (a rewrite's build stage)
/// run their RUNs: each RUN's WORKDIR, as image paths. What a build writes there stays behind.
pub fn build_stage_dirs(df: &Dockerfile, input: &ModelInput) -> Vec<String> {
    let model = Model::new(df, input);
    let mut dirs: Vec<String> = Vec::new();
    for stage in model
        .stages
        .list
        .iter()
        .filter(|s| s.built && !s.in_final_image)
    {
        for inst in &stage.stage.instructions {
            if inst.keyword != Keyword::Run {
                continue;
            }
            if let Some(dir) = model.state(inst).and_then(|s| s.workdir.as_deref())
                && dir != "/"
                && !dirs.iter().any(|d| d == dir)
            {
                dirs.push(dir.to_string());
            }
        }
    }
    dirs
}

/// Where the final stage copies from the stages built but not in the image: each `COPY
/// --from=STAGE`'s destination, as image paths (the rewrite's artifacts).
pub fn copied_from_build_stages(df: &Dockerfile, input: &ModelInput) -> Vec<String> {
    let model = Model::new(df, input);
    let Some(last) = model.stages.list.iter().rposition(|s| s.in_final_image) else {
        return Vec::new();
    };
    let mut dests: Vec<String> = Vec::new();
    for inst in &model.stages.list[last].stage.instructions {
        let Some(copy) = model.copy(inst) else {
            continue;
        };
        for source in &copy.sources {
            let built_stage = match source.origin {
                Origin::Stage(at) => model
                    .stages
                    .list
                    .get(at)
                    .is_some_and(|s| s.built && !s.in_final_image),
                _ => false,
            };
            if let Some(dest) = copy.landing(source).filter(|_| built_stage)
                && !dests.contains(&dest)
            {
                dests.push(dest);
            }
        }
    }
    dests
}

/// Whether the filesystem (its paths in order) has `path`.
fn exists(paths: &[(String, Meta)], path: &str) -> bool {
    paths
        .binary_search_by(|(p, _)| p.as_str().cmp(path))
        .is_ok()
}

/// `a/b/c` and the folders above it: `a/b`, `a`.
fn with_parents(path: &str) -> Vec<String> {
    let mut out = vec![path.to_string()];
    let mut rest = path;
    while let Some((parent, _)) = rest.rsplit_once('/') {
        out.push(parent.to_string());
        rest = parent;
    }
    out
}

/// Whether `path` is one of `tails` or ends with `/` and one of them (a context path copied
/// under some folder of the image).
fn ends_with_any(path: &str, tails: &BTreeSet<String>) -> bool {
    if tails.contains(path) {
        return true;
    }
    path.match_indices('/')
        .any(|(at, _)| tails.contains(&path[at + 1..]))
}

/// Compares the config fields that decide how a container runs; a field absent, null or empty
/// is the same as any other of those.
pub fn compare_configs(before: &Value, after: &Value) -> Vec<ConfigChange> {
    let field = |config: &Value, name: &str| -> Value {
        let value = config
            .get("config")
            .and_then(|c| c.get(name))
            .cloned()
            .unwrap_or(Value::Null);
        let empty = match &value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if empty { Value::Null } else { value }
    };
    CONFIG_FIELDS
        .iter()
        .filter_map(|name| {
            let (b, a) = (field(before, name), field(after, name));
            (b != a).then(|| ConfigChange {
                field: name.to_string(),
                before: b,
                after: a,
            })
        })
        .collect()
}

/// The program a container of the image starts (the first word of ENTRYPOINT, else of CMD;
/// for `sh -c SCRIPT`, the script's first command) and where it leads in the filesystem:
/// `(program, found)`, `found` being the file it resolves to, or `None`.
pub fn start_program(fs: &Filesystem, config: &Value) -> Option<(String, Option<String>)> {
    let words = |name: &str| -> Vec<String> {
        config
            .get("config")
            .and_then(|c| c.get(name))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let entrypoint = words("Entrypoint");
    let argv = if entrypoint.is_empty() {
        words("Cmd")
    } else {
        entrypoint
    };
    let mut program = argv.first()?.clone();
    let shell = program.rsplit('/').next().unwrap_or(&program);
    if matches!(shell, "sh" | "bash" | "ash" | "dash")
        && argv.get(1).map(String::as_str) == Some("-c")
        && let Some(script) = argv.get(2)
    {
        // the script's first command, past assignments and `exec`
        if let Some(first) = script
            .split_whitespace()
            .find(|w| !w.contains('=') && *w != "exec")
            .filter(|w| {
                w.chars()
                    .all(|c| c.is_alphanumeric() || "/._-+".contains(c))
            })
        {
            program = first.to_string();
        }
    }
    let env = words("Env");
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string();
    let workdir = config
        .get("config")
        .and_then(|c| c.get("WorkingDir"))
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_string();
    let candidates: Vec<String> = if program.contains('/') {
        if program.starts_with('/') {
            vec![program.clone()]
        } else {
            vec![format!("{workdir}/{program}")]
        }
    } else {
        path_var
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{d}/{program}"))
            .collect()
    };
    let found = candidates.iter().find_map(|c| match fs.resolve(c) {
        Some((path, meta)) if meta.kind == Kind::File && meta.mode & 0o111 != 0 => Some(path),
        _ => None,
    });
    Some((program, found))
}

/// A number with thousands separated: `1,204`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// `a`, `a and b`, `a, b and c`.
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The most unexpected differences the table lists (JSON lists them all).
const SHOWN: usize = 20;

/// The proof as the table ends it: the differences, what explains them, the config, the start
/// program and the smoke commands, then the verdict line.
pub fn render(
    fs: &FilesystemProof,
    config: &[ConfigChange],
    program: Option<&StartProgram>,
    smoke: &[SmokeRun],
) -> String {
    let mut out = String::new();
    let tally = |t: &Tally| {
        if t.files == 0 {
            "0".to_string()
        } else {
            format!("{} ({})", thousands(t.files), bytes(t.bytes))
        }
    };
    out.push_str(&format!(
        "filesystem: {} only before, {} only after, {} changed\n",
        tally(&fs.only_before),
        tally(&fs.only_after),
        tally(&fs.changed)
    ));
    for e in &fs.explained {
        let mut sample = e.sample.join(", ");
        if e.files > e.sample.len() as u64 {
            sample.push_str(", …");
        }
        let head = match &e.rule {
            Some(rule) => format!("{rule}, {}", e.reason),
            None => e.reason.clone(),
        };
        out.push_str(&format!(
            "  {head}: {} file{} ({}): {sample}\n",
            thousands(e.files),
            if e.files == 1 { "" } else { "s" },
            bytes(e.bytes)
        ));
        if !e.packages.is_empty() {
            out.push_str(&format!("    packages: {}\n", e.packages.join(", ")));
        }
    }
    for u in fs.unexpected.iter().take(SHOWN) {
        out.push_str(&format!(
            "  unexpected: {} {} ({})\n",
            u.change,
            u.path,
            bytes(u.size_bytes)
        ));
    }
    if fs.unexpected.len() > SHOWN {
        out.push_str(&format!(
            "  unexpected: … and {} more (--format json lists them all)\n",
            thousands((fs.unexpected.len() - SHOWN) as u64)
        ));
    }
    for c in config {
        out.push_str(&format!(
            "config: {} was {} and is {}\n",
            c.field, c.before, c.after
        ));
    }
    if let Some(p) = program {
        let place = |found: &Option<String>| match found {
            Some(path) => format!("/{path}"),
            None => "not found".to_string(),
        };
        out.push_str(&format!(
            "start program `{}`: before {}, after {}\n",
            p.program,
            place(&p.before),
            place(&p.after)
        ));
    }
    for run in smoke {
        let show = |o: &SmokeOutcome| match o.exit_code {
            Some(code) => format!("exit {code}"),
            None => "stopped at the time limit".to_string(),
        };
        if run.differs() {
            out.push_str(&format!(
                "smoke `{}`: DIFFERS: before {}, after {}\n",
                run.command,
                show(&run.before),
                show(&run.after)
            ));
            let diff = similar::TextDiff::from_lines(&run.before.output, &run.after.output)
                .unified_diff()
                .context_radius(2)
                .header("before", "after")
                .to_string();
            for line in diff.lines() {
                out.push_str(&format!("  | {line}\n"));
            }
        } else {
            out.push_str(&format!(
                "smoke `{}`: the same ({}, {} bytes of output)\n",
                run.command,
                show(&run.before),
                run.before.output.len()
            ));
        }
    }
    out.push_str(&format!(
        "verdict: {}\n",
        verdict(fs, config, program, smoke)
    ));
    out
}

/// One line: whether before and after hold the same files and run the same way, and what the
/// fixes changed.
pub fn verdict(
    fs: &FilesystemProof,
    config: &[ConfigChange],
    program: Option<&StartProgram>,
    smoke: &[SmokeRun],
) -> String {
    let explained: Vec<String> = fs.explained.iter().map(|e| e.label.clone()).collect();
    let mut problems = Vec::new();
    if !fs.unexpected.is_empty() {
        let n = fs.unexpected.len() as u64;
        problems.push(format!(
            "{} unexpected difference{}",
            thousands(n),
            if n == 1 { "" } else { "s" }
        ));
    }
    if !config.is_empty() {
        let fields: Vec<String> = config.iter().map(|c| c.field.clone()).collect();
        problems.push(format!("the config differs in {}", listed(&fields)));
    }
    if let Some(p) = program.filter(|p| p.lost()) {
        problems.push(format!("the start program `{}` is gone", p.program));
    }
    let smoked: Vec<String> = smoke
        .iter()
        .filter(|r| r.differs())
        .map(|r| format!("`{}`", r.command))
        .collect();
    if !smoked.is_empty() {
        problems.push(format!("smoke {} differs", listed(&smoked)));
    }
    let files = if explained.is_empty() {
        "the same files".to_string()
    } else {
        format!("the same files except {}", listed(&explained))
    };
    if problems.is_empty() {
        let runs = if smoke.is_empty() {
            String::new()
        } else {
            ", the same smoke output".to_string()
        };
        format!("{files}, the same config{runs}: nothing unexpected")
    } else if explained.is_empty() {
        format!("NOT the same image: {}", listed(&problems))
    } else {
        format!(
            "NOT the same image: {}, beyond {}",
            listed(&problems),
            listed(&explained)
        )
    }
}

/// The program a container starts: the file it is in each image, `None` where it is not there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StartProgram {
    pub program: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl StartProgram {
    /// It was there before and is not after: the rewritten image cannot start.
    pub fn lost(&self) -> bool {
        self.before.is_some() && self.after.is_none()
    }
}

/// One `--smoke` command's run in each image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmokeRun {
    pub command: String,
    pub before: SmokeOutcome,
    pub after: SmokeOutcome,
}

/// What a smoke command did: its exit code (`None`: stopped at the time limit) and output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmokeOutcome {
    pub exit_code: Option<i64>,
    pub output: String,
}

impl SmokeRun {
    pub fn differs(&self) -> bool {
        self.before != self.after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64, fill: u8) -> Meta {
        Meta {
            kind: Kind::File,
            size,
            mode: 0o644,
            uid: 0,
            gid: 0,
            link: None,
            digest: Some([fill; 32]),
        }
    }

    fn dir() -> Meta {
        Meta {
            kind: Kind::Dir,
            mode: 0o755,
            ..file(0, 0)
        }
    }

    fn fs(paths: &[(&str, Meta)]) -> Filesystem {
        let mut paths: Vec<(String, Meta)> = paths
            .iter()
            .map(|(p, m)| (p.to_string(), m.clone()))
            .collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        Filesystem {
            paths,
            kept: HashMap::new(),
        }
    }

    /// Each unexpected difference's path and change.
    fn changes(proof: &FilesystemProof) -> Vec<(&str, &str)> {
        proof
            .unexpected
            .iter()
            .map(|u| (u.path.as_str(), u.change))
            .collect()
    }

    /// Each explained group's reason and number of files.
    fn reasons(proof: &FilesystemProof) -> Vec<(&str, u64)> {
        proof
            .explained
            .iter()
            .map(|e| (e.reason.as_str(), e.files))
            .collect()
    }

    fn applied(rules: &[&str]) -> Vec<String> {
        rules.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn the_same_files_give_no_difference() {
        let a = fs(&[("bin", dir()), ("bin/sh", file(10, 1))]);
        let proof = compare_filesystems(&a, &a.clone(), &Rewrite::default());
        assert_eq!(proof, FilesystemProof::default());
    }

    #[test]
    fn apt_lists_are_explained_by_lw102_and_only_when_it_was_applied() {
        let before = fs(&[
            ("var/lib/apt/lists", dir()),
            ("var/lib/apt/lists/deb_InRelease", file(1000, 1)),
            ("var/lib/apt/lists/deb_Packages.lz4", file(5000, 2)),
            ("var/log/apt/history.log", file(300, 3)),
        ]);
        let after = fs(&[
            ("var/lib/apt/lists", dir()),
            ("var/log/apt/history.log", file(310, 4)),
        ]);
        let rules = applied(&["LW101", "LW102"]);
        let rewrite = Rewrite {
            applied: &rules,
            ..Rewrite::default()
        };
        let proof = compare_filesystems(&before, &after, &rewrite);
        assert_eq!(
            proof.only_before,
            Tally {
                files: 2,
                bytes: 6000
            }
        );
        assert_eq!(
            proof.changed,
            Tally {
                files: 1,
                bytes: 310
            }
        );
        assert!(proof.unexpected.is_empty());
        assert_eq!(proof.explained.len(), 2);
        let lists = &proof.explained[0];
        assert_eq!(lists.rule.as_deref(), Some("LW102"));
        assert_eq!(lists.reason, "the apt lists");
        assert_eq!((lists.files, lists.bytes), (2, 6000));
        assert_eq!(lists.sample[0], "var/lib/apt/lists/deb_Packages.lz4");
        assert_eq!(proof.explained[1].rule, None);

        // without LW102 the same lists are unexpected
        let rules = applied(&["LW101"]);
        let rewrite = Rewrite {
            applied: &rules,
            ..Rewrite::default()
        };
        let proof = compare_filesystems(&before, &after, &rewrite);
        assert_eq!(
            changes(&proof),
            [
                ("var/lib/apt/lists/deb_InRelease", "only before"),
                ("var/lib/apt/lists/deb_Packages.lz4", "only before")
            ]
        );
    }

    #[test]
    fn every_kind_of_change_is_named() {
        let mut moded = file(5, 1);
        moded.mode = 0o755;
        let mut owned = file(5, 1);
        owned.uid = 1000;
        let link = Meta {
            kind: Kind::Symlink,
            link: Some("a".into()),
            ..file(0, 0)
        };
        let relinked = Meta {
            link: Some("b".into()),
            ..link.clone()
        };
        let before = fs(&[
            ("content", file(5, 1)),
            ("link", link),
            ("mode", file(5, 1)),
            ("owner", file(5, 1)),
            ("type", file(5, 1)),
        ]);
        let after = fs(&[
            ("content", file(5, 2)),
            ("link", relinked),
            ("mode", moded),
            ("owner", owned),
            ("type", dir()),
        ]);
        let proof = compare_filesystems(&before, &after, &Rewrite::default());
        let changes: Vec<(&str, &str)> = proof
            .unexpected
            .iter()
            .map(|u| (u.path.as_str(), u.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("content", "content"),
                ("link", "link"),
                ("mode", "mode"),
                ("owner", "owner"),
                ("type", "type")
            ]
        );
    }

    #[test]
    fn packages_not_installed_are_named_from_dpkg_and_explain_their_files() {
        let status = |packages: &[&str]| {
            packages
                .iter()
                .map(|p| format!("Package: {p}\nStatus: install ok installed\nVersion: 1\n"))
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes()
        };
        let mut before = fs(&[
            ("usr/bin/curl", file(200, 1)),
            ("usr/share/krb5/locale.mo", file(70, 2)),
            ("etc/ssl/certs/ca.pem", file(30, 3)),
            ("var/lib/dpkg/status", file(90, 4)),
            ("app/main.py", file(5, 5)),
        ]);
        before.kept.insert(
            "var/lib/dpkg/status".into(),
            status(&["curl", "krb5-locales"]),
        );
        before.kept.insert(
            "var/lib/dpkg/info/krb5-locales.list".into(),
            b"/.\n/usr/share/krb5/locale.mo\n".to_vec(),
        );
        before.kept.insert(
            "var/lib/dpkg/info/curl:amd64.list".into(),
            b"/usr/bin/curl\n".to_vec(),
        );
        let mut after = fs(&[
            ("usr/bin/curl", file(200, 1)),
            ("var/lib/dpkg/status", file(60, 6)),
        ]);
        after
            .kept
            .insert("var/lib/dpkg/status".into(), status(&["curl"]));
        let rules = applied(&["LW104"]);
        let rewrite = Rewrite {
            applied: &rules,
            ..Rewrite::default()
        };
        let proof = compare_filesystems(&before, &after, &rewrite);
        assert_eq!(proof.explained.len(), 1);
        let explained = &proof.explained[0];
        assert_eq!(explained.rule.as_deref(), Some("LW104"));
        assert_eq!(explained.packages, ["krb5-locales"]);
        // the package's file, a file its scripts wrote, and the database
        assert_eq!(explained.files, 3);
        // a user's file is never put down to packages
        let unexpected: Vec<&str> = proof.unexpected.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(unexpected, ["app/main.py"]);
    }

    #[test]
    fn what_stays_in_the_build_stage_is_explained_by_lw301_and_nothing_else_is() {
        let status = |packages: &[&str]| {
            packages
                .iter()
                .map(|p| format!("Package: {p}\nStatus: install ok installed\n"))
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes()
        };
        let exe = Meta {
            mode: 0o755,
            ..file(900, 9)
        };
        let mut before = fs(&[
            ("usr/bin/gcc-12", file(1000, 1)),
            ("etc/alternatives/cc", file(0, 2)),
            ("root/.cache", dir()),
            ("root/.cache/go-build", dir()),
            ("root/.cache/go-build/01/ab-d", file(70, 3)),
            ("root/.npm", dir()),
            ("root/.npm/_cacache", dir()),
            ("root/.npm/_cacache/index-v5/1f/2e", file(40, 6)),
            ("src", dir()),
            ("src/hello.c", file(160, 4)),
            ("srv/data.txt", file(5, 5)),
            ("usr/local/bin/hello", exe.clone()),
            ("var/cache/apt/archives/partial", dir()),
        ]);
        before
            .kept
            .insert("var/lib/dpkg/status".into(), status(&["libc6", "gcc-12"]));
        before.kept.insert(
            "var/lib/dpkg/info/gcc-12.list".into(),
            b"/usr/bin/gcc-12\n".to_vec(),
        );
        let mut after = fs(&[
            ("src", dir()),
            ("usr/local/bin/hello", exe),
            (
                "var/cache/apt/archives/partial",
                Meta {
                    mode: 0o700,
                    ..dir()
                },
            ),
        ]);
        after
            .kept
            .insert("var/lib/dpkg/status".into(), status(&["libc6"]));
        let rules = applied(&["LW301"]);
        let dirs = vec!["/src".to_string()];
        let rewrite = Rewrite {
            applied: &rules,
            build_dirs: &dirs,
            ..Rewrite::default()
        };
        let proof = compare_filesystems(&before, &after, &rewrite);
        let groups = reasons(&proof);
        assert_eq!(
            groups,
            [
                ("Go's build cache, left in the build stage", 3),
                (BUILD_FILES, 1),
                ("the npm cache, left in the build stage", 3),
                (TOOLCHAIN, 3)
            ]
        );
        assert!(
            proof
                .explained
                .iter()
                .all(|e| e.rule.as_deref() == Some("LW301"))
        );
        assert_eq!(proof.explained[3].packages, ["gcc-12"]);
        assert_eq!(
            proof.explained[3].label,
            "1 package of the toolchain left in the build stage (LW301)"
        );
        // a user's file outside the build's folders is not the build's to explain
        let unexpected: Vec<&str> = proof.unexpected.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(unexpected, ["srv/data.txt"]);

        // without LW301 applied, none of it is explained
        let proof = compare_filesystems(
            &before,
            &after,
            &Rewrite {
                build_dirs: &dirs,
                ..Rewrite::default()
            },
        );
        assert!(proof.explained.is_empty());
        assert_eq!(proof.unexpected.len(), 11);
    }

    #[test]
    fn the_mount_points_a_run_leaves_are_no_defect() {
        // busybox has no /dev: a RUN leaves it, a rewrite without RUN does not
        let before = fs(&[
            ("bin", dir()),
            ("dev", dir()),
            ("proc", dir()),
            ("sys", dir()),
        ]);
        let after = fs(&[("bin", dir())]);
        let proof = compare_filesystems(&before, &after, &Rewrite::default());
        assert!(proof.unexpected.is_empty(), "{:?}", proof.unexpected);
        assert_eq!(proof.explained[0].label, "3 mount points a RUN leaves");
        // a file named so is not a mount point
        let before = fs(&[("dev", file(4, 1))]);
        let proof = compare_filesystems(&before, &fs(&[]), &Rewrite::default());
        assert_eq!(proof.unexpected.len(), 1);
    }

    #[test]
    fn archives_gone_after_lw107_are_explained_and_other_files_are_not() {
        let before = fs(&[
            ("opt/tool/bin/tool", file(900, 1)),
            ("tmp/tool.tar.gz", file(400, 2)),
            ("tmp/notes.txt", file(10, 3)),
        ]);
        let after = fs(&[("opt/tool/bin/tool", file(900, 1))]);
        let rules = applied(&["LW107"]);
        let rewrite = Rewrite {
            applied: &rules,
            ..Rewrite::default()
        };
        let proof = compare_filesystems(&before, &after, &rewrite);
        assert_eq!(proof.explained.len(), 1);
        assert_eq!(proof.explained[0].rule.as_deref(), Some("LW107"));
        assert_eq!(
            (proof.explained[0].files, proof.explained[0].bytes),
            (1, 400)
        );
        let unexpected: Vec<&str> = proof.unexpected.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(unexpected, ["tmp/notes.txt"]);
    }

    #[test]
    fn the_build_stage_dirs_are_the_workdirs_of_stages_left_out_of_the_image() {
        let df = Dockerfile::parse(
            "FROM debian AS build\nWORKDIR /src\nRUN make\nWORKDIR /\nRUN true\n\
             FROM debian AS unused\nWORKDIR /other\nRUN make\n\
             FROM debian\nWORKDIR /app\nCOPY --from=build /src/app /app/app\nRUN true\n",
        );
        assert_eq!(build_stage_dirs(&df, &ModelInput::default()), ["/src"]);
    }

    #[test]
    fn what_the_rewrite_copies_from_its_stages_is_known_by_its_destination() {
        let df = Dockerfile::parse(
            "FROM debian AS build\nWORKDIR /src\nRUN make\n\
             FROM build AS java-runtime\nRUN jlink --output /opt/jre\n\
             FROM debian\nCOPY --from=java-runtime /opt/jre /opt/jre\nWORKDIR /app\n\
             COPY --from=build /src/app.jar /src/lib/ ./\nCOPY run.sh /app/\n",
        );
        assert_eq!(
            copied_from_build_stages(&df, &ModelInput::default()),
            ["/opt/jre", "/app/app.jar", "/app/lib"]
        );
    }

    #[test]
    fn artifacts_built_again_differ_in_content_only_and_new_copies_only_where_nothing_was() {
        let before = fs(&[
            ("opt", dir()),
            ("opt/hello.jar", file(900, 1)),
            ("app", dir()),
            ("app/main.js", file(10, 2)),
            ("usr/lib/jvm/jdk/bin/java", file(50, 3)),
        ]);
        let after = fs(&[
            ("opt", dir()),
            ("opt/hello.jar", file(900, 4)),
            ("opt/jre", dir()),
            ("opt/jre/bin/java", file(40, 5)),
            ("app", dir()),
            ("app/main.js", file(10, 2)),
            ("app/extra.js", file(10, 6)),
        ]);
        let copied = applied(&["/opt/hello.jar", "/opt/jre", "/app"]);
        let with_lw301 = Rewrite {
            applied: &applied(&["LW301"]),
            copied: &copied,
            ..Rewrite::default()
        };
        let proof = compare_filesystems(&before, &after, &with_lw301);
        assert_eq!(reasons(&proof), [(REBUILT, 1), (MADE_FOR_RUNTIME, 2)]);
        // a new file inside what the original had, and a file gone, are not explained
        assert_eq!(
            changes(&proof),
            [
                ("app/extra.js", "only after"),
                ("usr/lib/jvm/jdk/bin/java", "only before")
            ]
        );
        // without LW301, a rebuilt jar is unexpected
        let proof = compare_filesystems(
            &before,
            &after,
            &Rewrite {
                copied: &copied,
                ..Rewrite::default()
            },
        );
        assert!(proof.unexpected.iter().any(|u| u.path == "opt/hello.jar"));
    }

    #[test]
    fn files_the_new_dockerignore_keeps_out_are_explained_by_lw401() {
        let before = fs(&[
            ("app", dir()),
            ("app/node_modules", dir()),
            ("app/node_modules/x/index.js", file(9, 1)),
            ("app/node_modules/x", dir()),
            ("app/main.js", file(4, 2)),
        ]);
        let after = fs(&[
            ("app", dir()),
            ("app/.dockerignore", file(13, 3)),
            ("app/main.js", file(4, 2)),
        ]);
        let rules = applied(&["LW401"]);
        let ignored = vec!["node_modules/x/index.js".to_string()];
        let added = vec![".dockerignore".to_string()];
        let rewrite = Rewrite {
            applied: &rules,
            ignored: &ignored,
            added: &added,
            dockerfile: None,
            build_dirs: &[],
            copied: &[],
        };
        let proof = compare_filesystems(&before, &after, &rewrite);
        assert!(proof.unexpected.is_empty(), "{:?}", proof.unexpected);
        assert_eq!(proof.explained[0].files, 4);
    }

    #[test]
    fn config_fields_compare_with_empty_as_absent() {
        let before = serde_json::json!({"config": {
            "Cmd": ["python3", "app.py"], "Env": ["PATH=/bin"], "Labels": null, "User": ""}});
        let after = serde_json::json!({"config": {
            "Cmd": ["python3", "main.py"], "Env": ["PATH=/bin"], "Labels": {}}});
        let changes = compare_configs(&before, &after);
        assert_eq!(
            changes,
            [ConfigChange {
                field: "Cmd".into(),
                before: serde_json::json!(["python3", "app.py"]),
                after: serde_json::json!(["python3", "main.py"]),
            }]
        );
    }

    #[test]
    fn the_start_program_is_found_on_the_path_or_behind_sh_c() {
        let exe = |size| Meta {
            mode: 0o755,
            ..file(size, 1)
        };
        let image = fs(&[
            ("usr", dir()),
            ("usr/bin", dir()),
            ("usr/bin/python3", exe(10)),
            ("usr/bin/notes.txt", file(1, 1)),
            ("app", dir()),
            ("app/run.sh", exe(3)),
        ]);
        let config = |cfg: Value| serde_json::json!({ "config": cfg });
        let found = |cfg: Value| start_program(&image, &config(cfg));
        assert_eq!(
            found(serde_json::json!({"Cmd": ["python3", "app.py"], "Env": ["PATH=/usr/bin"]})),
            Some(("python3".into(), Some("usr/bin/python3".into())))
        );
        assert_eq!(
            found(
                serde_json::json!({"Cmd": ["/bin/sh", "-c", "A=1 exec ./run.sh"],
                                     "WorkingDir": "/app"})
            ),
            Some(("./run.sh".into(), Some("app/run.sh".into())))
        );
        // not executable, or missing: not found
        assert_eq!(
            found(serde_json::json!({"Entrypoint": ["/usr/bin/notes.txt"]})),
            Some(("/usr/bin/notes.txt".into(), None))
        );
        assert_eq!(found(serde_json::json!({"Cmd": null})), None);
    }

    #[test]
    fn the_proof_renders_its_groups_then_the_verdict() {
        let proof = FilesystemProof {
            only_before: Tally {
                files: 1204,
                bytes: 19_000_000,
            },
            only_after: Tally::default(),
            changed: Tally {
                files: 3,
                bytes: 1500,
            },
            explained: vec![
                Explained {
                    rule: Some("LW102".into()),
                    reason: "the apt lists".into(),
                    files: 1203,
                    bytes: 18_999_000,
                    sample: vec!["var/lib/apt/lists/x_Packages.lz4".into()],
                    packages: Vec::new(),
                    label: "1,203 files of the apt lists (LW102)".into(),
                },
                Explained {
                    rule: None,
                    reason: "logs and records that differ between any two builds".into(),
                    files: 3,
                    bytes: 1500,
                    sample: vec!["var/log/dpkg.log".into()],
                    packages: Vec::new(),
                    label: "3 logs that differ in every build".into(),
                },
            ],
            unexpected: vec![Unexpected {
                path: "usr/local/bin/app".into(),
                change: "only before",
                size_bytes: 1000,
            }],
        };
        let config = vec![ConfigChange {
            field: "User".into(),
            before: serde_json::json!("app"),
            after: Value::Null,
        }];
        let program = StartProgram {
            program: "app".into(),
            before: Some("usr/local/bin/app".into()),
            after: None,
        };
        let smoke = vec![SmokeRun {
            command: "app --version".into(),
            before: SmokeOutcome {
                exit_code: Some(0),
                output: "app 1.0\n".into(),
            },
            after: SmokeOutcome {
                exit_code: Some(127),
                output: "exec: app: not found\n".into(),
            },
        }];
        insta::assert_snapshot!(render(&proof, &config, Some(&program), &smoke));
        insta::assert_snapshot!(
            "json",
            serde_json::to_string_pretty(&serde_json::json!({
                "filesystem": proof, "config_changes": config
            }))
            .unwrap()
        );
        let clean = FilesystemProof {
            explained: proof.explained.clone(),
            ..FilesystemProof::default()
        };
        assert_eq!(
            verdict(&clean, &[], None, &[]),
            "the same files except 1,203 files of the apt lists (LW102) and 3 logs that \
             differ in every build, the same config: nothing unexpected"
        );
    }
}
