//! What a build context holds that should not be sent to the builder: VCS folders, dependency
//! and build output folders, secrets. Shared by LW401 (no `.dockerignore`) and LW402 (gaps).

use std::path::Path;

use walkdir::WalkDir;

use crate::model::paths::{context_sources, resolve};
use crate::syntax::{Dockerfile, Keyword};

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

/// Unwanted paths in `context` that `excluded` does not already keep out, skipping anything the
/// build reads on purpose (`needed`: patterns from [`needed_sources`], see [`needs`]).
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
            let wanted = needed.iter().any(|n| needs(n, &relative));
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

/// Context paths the build reads by name, as COPY source patterns relative to the context: COPY
/// and ADD sources (not `--from` a stage) and the sources of `RUN --mount` binds from the
/// context. The whole context (`.`, `*`, a bind without `source`) is left out: excluding junk
/// from it is the point of the rules.
pub fn needed_sources(df: &Dockerfile) -> Vec<String> {
    let mut needed = Vec::new();
    for inst in df.instructions() {
        needed.extend(context_sources(inst));
        if inst.keyword == Keyword::Run {
            needed.extend(inst.flag_values("mount").filter_map(bind_source));
        }
    }
    needed
        .into_iter()
        .map(|n| resolve("/", &n).trim_start_matches('/').to_string())
        .filter(|n| !matches!(n.as_str(), "" | "*"))
        .collect()
}

/// The context path a `--mount` value binds, if it binds one (`type=bind`, the default, without
/// `from=`).
fn bind_source(value: &str) -> Option<String> {
    let mut bind = true;
    let mut source = None;
    for field in value.split(',') {
        match field.split_once('=') {
            Some(("type", t)) => bind = t == "bind",
            Some(("from", _)) => return None,
            Some(("source" | "src", s)) => source = Some(s.to_string()),
            _ => {}
        }
    }
    bind.then_some(source).flatten()
}

/// Whether a build that reads `source` (a COPY source pattern, `/`-separated, cleaned) needs
/// `path`: the source names it, a folder above it, or something below it, component by
/// component as Go's `filepath.Match` matches (`*`, `?`, `[…]`, `\`). A component with a
/// variable in it may be anything.
pub fn needs(source: &str, path: &str) -> bool {
    source
        .split('/')
        .zip(path.split('/'))
        .all(|(s, p)| s.contains('$') || component_matches(s, p))
}

/// `filepath.Match` on one path component; a malformed pattern matches (so it is kept).
fn component_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    glob(&pattern, &name).unwrap_or(true)
}

fn glob(pattern: &[char], name: &[char]) -> Option<bool> {
    let Some((&first, rest)) = pattern.split_first() else {
        return Some(name.is_empty());
    };
    match first {
        '*' => {
            for skip in 0..=name.len() {
                if glob(rest, &name[skip..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        '?' => match name.split_first() {
            Some((_, tail)) => glob(rest, tail),
            None => Some(false),
        },
        '[' => {
            let (matched, after) = class(rest, *name.first()?)?;
            if matched {
                glob(after, &name[1..])
            } else {
                Some(false)
            }
        }
        '\\' => {
            let (&literal, rest) = rest.split_first()?;
            Some(name.first() == Some(&literal) && glob(rest, &name[1..])?)
        }
        c => Some(name.first() == Some(&c) && glob(rest, &name[1..])?),
    }
}

/// Matches `c` against the class after a `[`; returns the result and the pattern after `]`.
fn class(pattern: &[char], c: char) -> Option<(bool, &[char])> {
    let (negated, mut rest) = match pattern.split_first() {
        Some(('^', rest)) => (true, rest),
        _ => (false, pattern),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        let (&next, tail) = rest.split_first()?;
        if next == ']' && !first {
            return Some((matched != negated, tail));
        }
        first = false;
        let (low, tail) = class_char(rest)?;
        rest = tail;
        let mut high = low;
        if let Some(('-', tail)) = rest.split_first() {
            let (h, tail) = class_char(tail)?;
            high = h;
            rest = tail;
        }
        if low <= c && c <= high {
            matched = true;
        }
    }
}

fn class_char(pattern: &[char]) -> Option<(char, &[char])> {
    match pattern.split_first()? {
        ('\\', rest) => rest.split_first().map(|(&c, r)| (c, r)),
        (']' | '-', _) => None,
        (&c, rest) => Some((c, rest)),
    }
}

fn relative_string(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
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

    #[test]
    fn needed_paths_are_named_above_below_or_by_a_pattern() {
        assert!(needs("conf", "conf/tls.key"));
        assert!(needs("keys/*.key", "keys/a.key"));
        assert!(needs("keys/*.key", "keys"));
        assert!(needs("k[a-z]ys/?.key", "keys/a.key"));
        assert!(needs(".git", ".git"));
        assert!(needs("$DIR/x.key", "certs/x.key"));
        assert!(!needs("keys/*.key", "keys/a.pem"));
        assert!(!needs("k[^e]ys", "keys"));
        assert!(!needs("certs/server.pem", "server.pem"));
    }

    #[test]
    fn needed_sources_skip_the_whole_context_and_other_stages() {
        let df = Dockerfile::parse(
            "FROM a AS build\nFROM b\nCOPY . .\nCOPY * ./\nCOPY --from=build /out/x.key /\n\
             COPY ./conf/ /etc/conf\nRUN --mount=type=bind,source=.git,target=/s/.git \\\n  \
             --mount=type=bind,target=/all --mount=type=cache,target=/c \\\n  \
             --mount=from=build,source=/out,target=/o true\n",
        );
        assert_eq!(needed_sources(&df), ["conf", ".git"]);
    }
}
