//! Finding the Dockerfiles to lint: files named on the command line, and Dockerfile-like names
//! in folders searched recursively.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// Folders never searched: they hold other people's files or build output.
const SKIPPED_DIRS: [&str; 3] = [".git", "node_modules", "target"];

/// `Dockerfile`, `Dockerfile.*`, `*.Dockerfile`, `*.dockerfile`, `Containerfile`,
/// `Containerfile.*` — but not the `Dockerfile.dockerignore` beside one.
pub fn is_dockerfile_name(name: &str) -> bool {
    if name.ends_with(".dockerignore") {
        return false;
    }
    let stem_match =
        |stem: &str| name == stem || name.strip_prefix(stem).is_some_and(|r| r.starts_with('.'));
    stem_match("Dockerfile")
        || stem_match("Containerfile")
        || name.ends_with(".Dockerfile")
        || name.ends_with(".dockerfile")
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
            Ok(meta) if meta.is_dir() => search(path, &mut files, &mut missing),
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
            "api.Dockerfile",
            "x.dockerfile",
            "Containerfile",
            "Containerfile.ci",
        ] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in [
            "Dockerfile.dockerignore",
            "Dockerfilex",
            "README.md",
            "dockerfile.txt",
            "docker-compose.yml",
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
}
