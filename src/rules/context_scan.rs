//! What a build context holds that should not be sent to the builder: VCS folders, dependency
//! and build output folders, secrets. Shared by LW401 (no `.dockerignore`) and LW402 (gaps).

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// How deep the scan looks and how many entries it reads before it stops: a context with a
/// huge tree must not stall a lint.
const MAX_DEPTH: usize = 4;
const MAX_ENTRIES: usize = 50_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unwanted {
    /// Relative to the context, `/`-separated.
    pub path: String,
    pub dir: bool,
    pub why: &'static str,
}

/// Why a name is unwanted in a context, if it is.
fn classify(path: &Path, name: &str, dir: bool) -> Option<&'static str> {
    if dir {
        return match name {
            ".git" | ".hg" | ".svn" => Some("version control history"),
            "node_modules" => Some("installed dependencies"),
            "__pycache__" | ".pytest_cache" | ".mypy_cache" | ".tox" | ".ruff_cache" => {
                Some("tool caches")
            }
            ".venv" | "venv" if path.join("pyvenv.cfg").is_file() => Some("a virtualenv"),
            ".venv" => Some("a virtualenv"),
            "target"
                if path.parent().is_some_and(|p| {
                    p.join("Cargo.toml").is_file() || p.join("pom.xml").is_file()
                }) =>
            {
                Some("build output")
            }
            ".terraform" => Some("provider binaries"),
            ".ssh" | ".aws" | ".gnupg" => Some("credentials"),
            _ => None,
        };
    }
    let secret_env = name == ".env"
        || (name.starts_with(".env.")
            && !matches!(
                name,
                ".env.example" | ".env.sample" | ".env.template" | ".env.dist"
            ));
    let key = matches!(
        name,
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | ".netrc"
    ) || [".pem", ".key", ".p12", ".pfx"]
        .iter()
        .any(|ext| name.ends_with(ext));
    if secret_env {
        Some("environment secrets")
    } else if key {
        Some("a private key or credentials")
    } else {
        None
    }
}

/// Unwanted paths in `context` that `excluded` does not already keep out, skipping anything a
/// COPY/ADD names on purpose (`needed`).
pub fn scan(context: &Path, excluded: &dyn Fn(&str) -> bool, needed: &[String]) -> Vec<Unwanted> {
    let mut found = Vec::new();
    let mut walker = WalkDir::new(context)
        .min_depth(1)
        .max_depth(MAX_DEPTH)
        .sort_by_file_name()
        .into_iter();
    let mut seen = 0;
    while let Some(entry) = walker.next() {
        seen += 1;
        if seen > MAX_ENTRIES {
            break;
        }
        let Ok(entry) = entry else { continue };
        let Ok(relative) = entry.path().strip_prefix(context) else {
            continue;
        };
        let relative = relative_string(relative);
        let dir = entry.file_type().is_dir();
        if excluded(&relative) {
            if dir {
                walker.skip_current_dir();
            }
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if let Some(why) = classify(entry.path(), &name, dir) {
            let wanted = needed
                .iter()
                .any(|n| n == &relative || n.starts_with(&format!("{relative}/")));
            if !wanted {
                found.push(Unwanted {
                    path: relative,
                    dir,
                    why,
                });
            }
            if dir {
                walker.skip_current_dir();
            }
        }
    }
    found
}

fn relative_string(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The ignore file that applies: `<Dockerfile>.dockerignore` beside the Dockerfile wins over
/// `<context>/.dockerignore`. Returns the path to create when neither exists.
pub fn ignore_file(
    context: &Path,
    dockerfile: Option<&Path>,
    exists: &dyn Fn(&Path) -> bool,
) -> (PathBuf, bool) {
    if let Some(df) = dockerfile
        && let Some(name) = df.file_name()
    {
        let beside = df.with_file_name(format!("{}.dockerignore", name.to_string_lossy()));
        if exists(&beside) {
            return (beside, true);
        }
    }
    let root = context.join(".dockerignore");
    let found = exists(&root);
    (root, found)
}

/// `.dockerignore` lines for the unwanted paths.
pub fn ignore_lines(unwanted: &[Unwanted]) -> String {
    unwanted.iter().map(|u| format!("{}\n", u.path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unwanted_paths_and_respects_needed_and_excluded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            ".git/objects",
            "node_modules/x",
            "web/node_modules",
            "src",
            "target",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join(".env"), "SECRET=1").unwrap();
        std::fs::write(root.join(".env.example"), "SECRET=").unwrap();
        std::fs::write(root.join("src/server.key"), "k").unwrap();
        let found = scan(root, &|p| p == "web", &["src/server.key".into()]);
        let paths: Vec<_> = found.iter().map(|u| u.path.as_str()).collect();
        // `target` without Cargo.toml or pom.xml is just a folder.
        assert_eq!(paths, [".env", ".git", "node_modules"]);
    }
}
