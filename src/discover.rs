//! Finding the Dockerfiles to lint: files named on the command line, and Dockerfile-like names
//! in folders searched recursively.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// Folders never searched: they hold other people's files or build output.
const SKIPPED_DIRS: [&str; 3] = [".git", "node_modules", "target"];

/// The names searched for, as the README and the pre-commit hooks' regex give them.
pub const NAMES: &str = "Dockerfile, Dockerfile.*, Dockerfile-*, Dockerfile_*, *.Dockerfile, \
                         *.dockerfile, dockerfile, and the same with Containerfile";

/// `Dockerfile` and `Containerfile` (or all lowercase), alone or followed by `.`, `-` or `_` and
/// more (`Dockerfile.dev`, `Dockerfile-base`, `Dockerfile_prod`), or after a `.`
/// (`api.Dockerfile`, `x.dockerfile`): the names people give Dockerfiles. Not the ignore file
/// beside one (`Dockerfile.dockerignore`), nor a name whose extension says it is something else
/// (`dockerfile_test.go`, `Dockerfile.md`).
pub fn is_dockerfile_name(name: &str) -> bool {
    const NOT_DOCKERFILES: [&str; 20] = [
        "dockerignore",
        "containerignore",
        "md",
        "txt",
        "rst",
        "go",
        "rs",
        "py",
        "js",
        "ts",
        "sh",
        "json",
        "yml",
        "yaml",
        "toml",
        "orig",
        "rej",
        "bak",
        "swp",
        "tmp",
    ];
    if let Some((_, extension)) = name.rsplit_once('.')
        && NOT_DOCKERFILES.contains(&extension.to_ascii_lowercase().as_str())
    {
        return false;
    }
    // `-` and `_` only after the capitalized stem: `dockerfile_parser` is more often code.
    let after_stem = |stem: &str, separators: &[char]| {
        name.strip_prefix(stem)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(separators))
    };
    let as_extension = |stem: &str| {
        name.strip_suffix(stem)
            .is_some_and(|before| before.len() > 1 && before.ends_with('.'))
    };
    ["Dockerfile", "Containerfile"]
        .iter()
        .any(|stem| after_stem(stem, &['.', '-', '_']) || as_extension(stem))
        || ["dockerfile", "containerfile"]
            .iter()
            .any(|stem| after_stem(stem, &['.']) || as_extension(stem))
}

/// A path that was asked for but does not exist, or a file or folder found while searching
/// that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub path: PathBuf,
    pub message: String,
}

/// The files to lint under `paths` (the current folder when empty), sorted, without repeats.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Missing>) {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(path.clone());
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let before = (files.len(), missing.len());
                search(path, &mut files, &mut missing);
                // A wrong path in CI must not pass green as "0 files checked".
                if (files.len(), missing.len()) == before {
                    missing.push(Missing {
                        path: path.clone(),
                        message: format!(
                            "no Dockerfile in {} (searched for {NAMES})",
                            display_path(path)
                        ),
                    });
                }
            }
            Ok(_) => files.push(path.clone()),
            Err(e) => missing.push(Missing {
                path: path.clone(),
                message: format!("cannot read {}: {}", path.display(), io_reason(&e)),
            }),
        }
    }
    // `Dockerfile` and `./Dockerfile` are one file
    for file in &mut files {
        if file.as_os_str() != "-" {
            *file = file
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect();
        }
    }
    files.sort();
    files.dedup();
    (files, missing)
}

/// Dockerfiles under `root`; a folder or file that cannot be read is reported, not skipped.
fn search(root: &Path, files: &mut Vec<PathBuf>, missing: &mut Vec<Missing>) {
    let walk = WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        });
    for entry in walk {
        match entry {
            Ok(e) => {
                if !e.file_type().is_dir() && is_dockerfile_name(&e.file_name().to_string_lossy()) {
                    files.push(e.into_path());
                }
            }
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let reason = e.io_error().map_or_else(|| e.to_string(), io_reason);
                missing.push(Missing {
                    message: format!("cannot read {}: {reason}", path.display()),
                    path,
                });
            }
        }
    }
}

/// An io error's reason without Rust's "(os error N)" noise.
pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// How a path is shown: `/`-separated, without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_names() {
        for yes in [
            "Dockerfile",
            "Dockerfile.dev",
            "Dockerfile-base",
            "Dockerfile_dev",
            "api.Dockerfile",
            "x.dockerfile",
            "dockerfile",
            "dockerfile.prod",
            "Containerfile",
            "Containerfile.ci",
            "Containerfile-arm64",
            "build.Containerfile",
        ] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in [
            "Dockerfile.dockerignore",
            "Containerfile.containerignore",
            "Dockerfilex",
            "README.md",
            "Dockerfile.md",
            "dockerfile.txt",
            "dockerfile_test.go",
            "dockerfile_parser",
            "dockerfile-utils.js",
            "docker-compose.yml",
            ".Dockerfile",
        ] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }

    #[test]
    fn searches_folders_skipping_vendored_ones() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "Dockerfile",
            "svc/api.Dockerfile",
            "node_modules/x/Dockerfile",
            "target/Dockerfile",
            "svc/notes.txt",
        ] {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "FROM a\n").unwrap();
        }
        let (files, missing) = discover(&[dir.path().to_path_buf(), dir.path().join("nope")]);
        let names: Vec<_> = files
            .iter()
            .map(|f| display_path(f.strip_prefix(dir.path()).unwrap()))
            .collect();
        assert_eq!(names, ["Dockerfile", "svc/api.Dockerfile"]);
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].message.contains("No such file"),
            "{}",
            missing[0].message
        );
    }

    #[test]
    fn a_folder_without_a_dockerfile_is_named_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("docs/notes.txt"), "FROM a\n").unwrap();
        let (files, missing) = discover(&[dir.path().join("docs")]);
        assert!(files.is_empty());
        assert_eq!(missing.len(), 1);
        assert!(
            missing[0].message.starts_with("no Dockerfile in ")
                && missing[0]
                    .message
                    .contains("docs (searched for Dockerfile, "),
            "{}",
            missing[0].message
        );
    }
}
