//! The build context as a build sees it: its files, the ignore file that applies, and what the
//! fix run is about to write (an overlay). Read from disk by this view only, once per file,
//! and only as far as the rules ask; rules never touch the disk themselves.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use fnv::FnvHashMap;

use crate::dockerignore::DockerIgnore;

pub use crate::model::context_scan::{Unwanted, ignore_lines, needed_sources, needs};

/// The ignore file that applies to a build, and what it says.
#[derive(Debug)]
pub struct IgnoreFile {
    /// `<Dockerfile>.dockerignore` beside the Dockerfile when it exists, else
    /// `<context>/.dockerignore` (which a fix would create).
    pub path: PathBuf,
    pub found: bool,
    /// Its text, when found and readable.
    pub text: Option<Arc<str>>,
    /// Parsed as Docker reads it; `None` when missing or when Docker would reject it.
    pub parsed: Option<DockerIgnore>,
    /// A `.containerignore` (Podman and Buildah read it first) is in the context.
    pub containerignore: bool,
}

/// The build context of one Dockerfile.
#[derive(Debug)]
pub struct BuildContext {
    root: PathBuf,
    dockerfile: Option<PathBuf>,
    /// Files a fix run will write, seen instead of the disk's.
    overlay: Vec<(PathBuf, String)>,
    reads: Mutex<FnvHashMap<PathBuf, Option<Arc<str>>>>,
    ignore: OnceLock<IgnoreFile>,
}

impl BuildContext {
    pub fn new(
        root: PathBuf,
        dockerfile: Option<PathBuf>,
        overlay: Vec<(PathBuf, String)>,
    ) -> Self {
        BuildContext {
            root,
            dockerfile,
            overlay,
            reads: Mutex::default(),
            ignore: OnceLock::new(),
        }
    }

    /// The context folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dockerfile(&self) -> Option<&Path> {
        self.dockerfile.as_deref()
    }

    /// A file's text (a path relative to the context, or absolute), the overlay first;
    /// `None` when it is missing, a folder, or not UTF-8.
    pub fn read(&self, path: &Path) -> Option<Arc<str>> {
        let path = self.root.join(path);
        if let Some((_, text)) = self.overlay.iter().find(|(p, _)| *p == path) {
            return Some(Arc::from(text.as_str()));
        }
        let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        reads
            .entry(path)
            .or_insert_with_key(|p| std::fs::read_to_string(p).ok().map(Arc::from))
            .clone()
    }

    /// Whether a regular file is there (in the overlay or on disk).
    pub fn is_file(&self, path: &Path) -> bool {
        let path = self.root.join(path);
        self.overlay.iter().any(|(p, _)| *p == path) || path.is_file()
    }

    /// The size of a regular file (in the overlay or on disk): one `stat`, no read.
    pub fn file_size(&self, path: &Path) -> Option<u64> {
        let path = self.root.join(path);
        if let Some((_, text)) = self.overlay.iter().find(|(p, _)| *p == path) {
            return Some(text.len() as u64);
        }
        std::fs::metadata(&path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// Whether anything (a file or a folder) is at `path`, excluded or not.
    pub fn exists(&self, path: &Path) -> bool {
        let path = self.root.join(path);
        self.overlay.iter().any(|(p, _)| *p == path) || path.exists()
    }

    /// Whether a COPY of `name` (relative to the context) finds a file: it is there and the
    /// ignore file does not exclude it.
    pub fn has(&self, name: &str) -> bool {
        self.is_file(Path::new(name))
            && !self
                .ignore_file()
                .parsed
                .as_ref()
                .is_some_and(|i| i.is_excluded(name))
    }

    /// The ignore file that applies, read once.
    pub fn ignore_file(&self) -> &IgnoreFile {
        self.ignore.get_or_init(|| {
            let mut path = self.root.join(".dockerignore");
            if let Some(df) = &self.dockerfile
                && let Some(name) = df.file_name()
            {
                let beside = df.with_file_name(format!("{}.dockerignore", name.to_string_lossy()));
                if self.is_file(&beside) {
                    path = beside;
                }
            }
            let found = self.is_file(&path);
            let text = found.then(|| self.read(&path)).flatten();
            let parsed = text.as_deref().and_then(|t| DockerIgnore::parse(t).ok());
            IgnoreFile {
                containerignore: self.is_file(Path::new(".containerignore")),
                path,
                found,
                text,
                parsed,
            }
        })
    }

    /// What the context holds that a build should not get, minus what `excluded` keeps out
    /// and what the build reads by name (`needed`).
    pub fn unwanted(&self, excluded: &dyn Fn(&str) -> bool, needed: &[String]) -> Vec<Unwanted> {
        crate::model::context_scan::scan(&self.root, excluded, needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_see_the_overlay_first_and_the_disk_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "disk").unwrap();
        let overlay = vec![(dir.path().join(".dockerignore"), "*.log\n".to_string())];
        let cx = BuildContext::new(dir.path().to_path_buf(), None, overlay);
        assert_eq!(cx.read(Path::new("a.txt")).as_deref(), Some("disk"));
        // Read once: a change on disk afterwards is not seen within one lint.
        std::fs::write(dir.path().join("a.txt"), "changed").unwrap();
        assert_eq!(cx.read(Path::new("a.txt")).as_deref(), Some("disk"));
        let ignore = cx.ignore_file();
        assert!(ignore.found);
        assert!(ignore.parsed.as_ref().unwrap().is_excluded("x.log"));
        assert!(!cx.has("x.log"));
        assert!(!ignore.containerignore);
    }

    #[test]
    fn the_dockerfiles_own_ignore_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "a\n").unwrap();
        std::fs::write(dir.path().join("api.Dockerfile.dockerignore"), "b\n").unwrap();
        std::fs::write(dir.path().join(".containerignore"), "c\n").unwrap();
        let cx = BuildContext::new(
            dir.path().to_path_buf(),
            Some(dir.path().join("api.Dockerfile")),
            Vec::new(),
        );
        let ignore = cx.ignore_file();
        assert_eq!(ignore.path, dir.path().join("api.Dockerfile.dockerignore"));
        assert!(ignore.containerignore);
    }
}
