//! Each Dockerfile's build context. In a repository of several images, `svc/api.Dockerfile` is
//! usually built from the repository root, which a Compose or Bake file says; the context rules
//! (`.dockerignore`, what COPY can read) must look there, not in `svc/`.
//!
//! In order, the first that answers: `--context` on the command line; the config's `contexts`
//! globs; the nearest `compose.yaml` (or `compose.yml`, `docker-compose.yaml`,
//! `docker-compose.yml`) or `docker-bake.hcl` (or `docker-bake.json`) in the Dockerfile's folder
//! or one above it, up to the repository root, that builds this Dockerfile; else none, and the
//! Dockerfile's own folder is the context.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::config::Config;

/// Compose files, in the order `docker compose` looks for them.
const COMPOSE_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Bake files, in the order `docker buildx bake` reads them.
const BAKE_FILES: [&str; 2] = ["docker-bake.json", "docker-bake.hcl"];

/// A build a Compose or Bake file declares: the Dockerfile and its context, both absolute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    /// The file that declares it, for messages.
    pub source: PathBuf,
}

/// Finds build contexts, reading each folder's Compose and Bake files once.
#[derive(Debug, Default)]
pub struct Contexts {
    by_dir: HashMap<PathBuf, Vec<Declared>>,
    /// Compose or Bake files that could not be read, each said once.
    pub warnings: Vec<String>,
}

impl Contexts {
    pub fn new() -> Self {
        Contexts::default()
    }

    /// The context of a Dockerfile, when the config or a Compose or Bake file names one.
    pub fn for_file(&mut self, path: &Path, config: Option<&Config>) -> Option<PathBuf> {
        if path == Path::new("-") {
            return None;
        }
        if let Some(context) = config.and_then(|c| c.context_for(path)) {
            return Some(context);
        }
        let target = canonical(path);
        let start = target.parent()?.to_path_buf();
        for dir in start.ancestors() {
            let dir = dir.to_path_buf();
            if !self.by_dir.contains_key(&dir) {
                let declared = self.read_folder(&dir);
                self.by_dir.insert(dir.clone(), declared);
            }
            if let Some(found) = self.by_dir[&dir].iter().find(|d| d.dockerfile == target) {
                return Some(found.context.clone());
            }
            if dir.join(".git").exists() {
                break;
            }
        }
        None
    }

    fn read_folder(&mut self, dir: &Path) -> Vec<Declared> {
        let mut declared = Vec::new();
        for name in COMPOSE_FILES.iter().chain(BAKE_FILES.iter()) {
            let file = dir.join(name);
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let read = if name.starts_with("docker-bake") {
                bake_builds(&text, name.ends_with(".json"), dir)
            } else {
                compose_builds(&text, dir)
            };
            match read {
                Ok(builds) => {
                    declared.extend(builds.into_iter().map(|(dockerfile, context)| Declared {
                        dockerfile: canonical(&dockerfile),
                        context,
                        source: file.clone(),
                    }))
                }
                Err(reason) => self.warnings.push(format!(
                    "{}: not read for build contexts: {}",
                    crate::discover::display_path(&shown(&file)),
                    one_line(&reason)
                )),
            }
        }
        declared
    }
}

/// The Dockerfiles a Compose file builds and their contexts: `build: DIR`, or `build:` with
/// `context` (default `.`) and `dockerfile` (default `Dockerfile`, relative to the context).
/// Contexts that are URLs, inline Dockerfiles and values with `${…}` are skipped.
pub fn compose_builds(text: &str, dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    #[derive(Deserialize)]
    struct Compose {
        #[serde(default)]
        services: Option<HashMap<String, Option<Service>>>,
    }
    #[derive(Deserialize)]
    struct Service {
        build: Option<Build>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Build {
        Context(String),
        Full {
            context: Option<String>,
            dockerfile: Option<String>,
        },
    }
    let compose: Compose = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    let mut services: Vec<(String, Option<Service>)> =
        compose.services.unwrap_or_default().into_iter().collect();
    // In name order, so the first of two services building one file is always the same.
    services.sort_by(|a, b| a.0.cmp(&b.0));
    let mut builds = Vec::new();
    for build in services.into_iter().filter_map(|(_, s)| s?.build) {
        let (context, dockerfile) = match build {
            Build::Context(context) => (context, None),
            Build::Full {
                context,
                dockerfile,
            } => (context.unwrap_or_else(|| ".".into()), dockerfile),
        };
        if let Some(pair) = resolve(dir, &context, dockerfile.as_deref()) {
            builds.push(pair);
        }
    }
    Ok(builds)
}

/// The Dockerfiles a Bake file's targets build and their contexts (`context`, default `.`;
/// `dockerfile`, default `Dockerfile`, relative to the context), following `inherits` and,
/// in HCL, the defaults of `variable` blocks in `${…}`.
pub fn bake_builds(text: &str, json: bool, dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let (order, targets) = if json {
        bake_json_targets(text)?
    } else {
        bake_hcl_targets(text)?
    };
    let mut builds = Vec::new();
    for name in &order {
        let context = inherited(&targets, name, |t| t.0.clone(), 0).unwrap_or_else(|| ".".into());
        let dockerfile = inherited(&targets, name, |t| t.1.clone(), 0);
        if let Some(pair) = resolve(dir, &context, dockerfile.as_deref()) {
            builds.push(pair);
        }
    }
    Ok(builds)
}

type Targets = (Vec<String>, HashMap<String, Target>);

fn bake_hcl_targets(text: &str) -> Result<Targets, String> {
    let body: hcl::Body = hcl::parse(text).map_err(|e| e.to_string())?;
    let mut context = hcl::eval::Context::new();
    for block in body.blocks().filter(|b| b.identifier() == "variable") {
        let Some(name) = block.labels().first() else {
            continue;
        };
        let default = block
            .body()
            .attributes()
            .find(|a| a.key() == "default")
            .and_then(|a| hcl::eval::Evaluate::evaluate(a.expr(), &context).ok());
        // A variable set in the environment wins over its default, as in bake.
        let value = std::env::var(name.as_str())
            .map(hcl::Value::from)
            .ok()
            .or(default)
            .unwrap_or(hcl::Value::Null);
        context.declare_var(name.as_str().to_string(), value);
    }
    let mut order = Vec::new();
    let mut targets = HashMap::new();
    for block in body.blocks().filter(|b| b.identifier() == "target") {
        let Some(name) = block.labels().first() else {
            continue;
        };
        let value = |key: &str| -> Option<hcl::Value> {
            let attribute = block.body().attributes().find(|a| a.key() == key)?;
            hcl::eval::Evaluate::evaluate(attribute.expr(), &context).ok()
        };
        let text = |key: &str| value(key).and_then(|v| v.as_str().map(str::to_string));
        let inherits = match value("inherits") {
            Some(hcl::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let name = name.as_str().to_string();
        order.push(name.clone());
        targets.insert(name, (text("context"), text("dockerfile"), inherits));
    }
    Ok((order, targets))
}

fn bake_json_targets(text: &str) -> Result<Targets, String> {
    #[derive(Deserialize)]
    struct Bake {
        #[serde(default)]
        target: serde_json::Map<String, serde_json::Value>,
    }
    let bake: Bake = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut order = Vec::new();
    let mut targets = HashMap::new();
    for (name, target) in bake.target {
        let text = |key: &str| target.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let inherits = target
            .get("inherits")
            .and_then(|v| v.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        order.push(name.clone());
        targets.insert(name, (text("context"), text("dockerfile"), inherits));
    }
    Ok((order, targets))
}

type Target = (Option<String>, Option<String>, Vec<String>);

/// A target's own value, else the last of its parents' (bake's order), to a bounded depth.
fn inherited(
    targets: &HashMap<String, Target>,
    name: &str,
    get: impl Fn(&Target) -> Option<String> + Copy,
    depth: usize,
) -> Option<String> {
    let target = targets.get(name)?;
    if let Some(own) = get(target) {
        return Some(own);
    }
    if depth > 16 {
        return None;
    }
    target
        .2
        .iter()
        .rev()
        .find_map(|parent| inherited(targets, parent, get, depth + 1))
}

/// The absolute Dockerfile and context of a declared build, or `None` when the context is not
/// a local folder (a Git URL, `${…}` that was not resolved, an inline Dockerfile).
fn resolve(dir: &Path, context: &str, dockerfile: Option<&str>) -> Option<(PathBuf, PathBuf)> {
    let local = |s: &str| !s.contains("://") && !s.contains("${") && !s.starts_with("git@");
    if !local(context) || !dockerfile.is_none_or(local) {
        return None;
    }
    let context = normalize(&dir.join(context));
    let dockerfile = normalize(&context.join(dockerfile.unwrap_or("Dockerfile")));
    Some((dockerfile, context))
}

/// A path relative to the current folder when it is below it.
fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// A parser's message drawn over several lines (hcl's, with the source), as one: its place and
/// its reason.
fn one_line(reason: &str) -> String {
    if !reason.contains('\n') {
        return reason.to_string();
    }
    let place = reason.lines().find_map(|l| {
        l.split_once("error in ")
            .map(|(_, at)| at.trim().to_string())
    });
    let why = reason
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("= ").map(str::to_string));
    match (place, why) {
        (Some(place), Some(why)) => format!("{place}: {why}"),
        _ => reason.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A path made absolute and, where it exists, with its symlinks resolved, for comparing.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
    })
}

/// `a/./b/../c` is `a/c`, without asking the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(builds: &[(PathBuf, PathBuf)], root: &Path) -> Vec<(String, String)> {
        let rel = |p: &Path| {
            let r = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if r.is_empty() { ".".into() } else { r }
        };
        builds.iter().map(|(d, c)| (rel(d), rel(c))).collect()
    }

    #[test]
    fn compose_build_as_a_folder_or_with_context_and_dockerfile() {
        let root = Path::new("/repo");
        let text = "services:\n\
                    \x20 web:\n    build: ./web\n\
                    \x20 api:\n    build:\n      context: .\n      dockerfile: svc/api.Dockerfile\n\
                    \x20 db:\n    image: postgres\n\
                    \x20 remote:\n    build: https://github.com/x/y.git\n\
                    \x20 vars:\n    build:\n      context: ${DIR}\n";
        let builds = compose_builds(text, root).unwrap();
        assert_eq!(
            names(&builds, root),
            [
                ("svc/api.Dockerfile".into(), ".".into()),
                ("web/Dockerfile".into(), "web".into())
            ]
        );
        assert!(compose_builds("services: [\n", root).is_err());
        assert!(compose_builds("version: '3'\n", root).unwrap().is_empty());
    }

    #[test]
    fn bake_targets_with_variables_and_inheritance() {
        let root = Path::new("/repo");
        let text = r#"
variable "SVC_DIR" {
  default = "svc"
}
group "default" {
  targets = ["api", "worker"]
}
target "_common" {
  context = "."
}
target "api" {
  inherits = ["_common"]
  dockerfile = "${SVC_DIR}/api.Dockerfile"
}
target "worker" {
  context = "worker"
}
"#;
        let builds = bake_builds(text, false, root).unwrap();
        assert_eq!(
            names(&builds, root),
            [
                ("Dockerfile".into(), ".".into()),
                ("svc/api.Dockerfile".into(), ".".into()),
                ("worker/Dockerfile".into(), "worker".into())
            ]
        );
        let json = r#"{"target": {"api": {"context": ".", "dockerfile": "svc/api.Dockerfile"}}}"#;
        assert_eq!(
            names(&bake_builds(json, true, root).unwrap(), root),
            [("svc/api.Dockerfile".into(), ".".into())]
        );
        assert!(bake_builds("target \"x\" {", false, root).is_err());
    }

    #[test]
    fn the_nearest_declaration_up_to_the_repository_root_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("repo/.git")).unwrap();
        std::fs::create_dir_all(root.join("repo/svc")).unwrap();
        std::fs::write(root.join("repo/svc/api.Dockerfile"), "FROM a\n").unwrap();
        std::fs::write(root.join("repo/svc/other.Dockerfile"), "FROM a\n").unwrap();
        // Above the repository root: never read.
        std::fs::write(
            root.join("compose.yaml"),
            "services:\n  x:\n    build:\n      context: repo/svc\n      dockerfile: other.Dockerfile\n",
        )
        .unwrap();
        std::fs::write(
            root.join("repo/compose.yaml"),
            "services:\n  api:\n    build:\n      context: .\n      dockerfile: svc/api.Dockerfile\n",
        )
        .unwrap();
        let mut contexts = Contexts::new();
        assert_eq!(
            contexts.for_file(&root.join("repo/svc/api.Dockerfile"), None),
            Some(root.join("repo"))
        );
        assert_eq!(
            contexts.for_file(&root.join("repo/svc/other.Dockerfile"), None),
            None
        );
        std::fs::write(root.join("repo/svc/docker-bake.hcl"), "target {").unwrap();
        let mut contexts = Contexts::new();
        assert_eq!(
            contexts.for_file(&root.join("repo/svc/api.Dockerfile"), None),
            Some(root.join("repo"))
        );
        assert_eq!(contexts.warnings.len(), 1, "{:?}", contexts.warnings);
        assert!(contexts.warnings[0].contains("docker-bake.hcl: not read"));
    }
}
