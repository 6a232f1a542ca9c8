//! `.dockerignore` as Docker applies it: which file applies, what its lines mean, and which
//! files of a build context a build receives.
//!
//! The reading follows moby's `patternmatcher/ignorefile`: a line starting with `#` (in its
//! first column, before any trimming) is a comment; every other line is trimmed, blank lines
//! are skipped, a leading `!` marks an exception; the pattern is cleaned like Go's
//! `filepath.Clean` and a leading `/` dropped, so `/foo`, `./foo` and `foo/` all mean `foo`.
//! Matching follows `patternmatcher`: `*` and `?` never cross `/`, `[…]` classes (`^` negates),
//! `\` escapes, `**` spans any number of directories (none included); a pattern that matches a
//! parent directory excludes everything below it; the last line that matches decides.
//!
//! Docker does not match paths one by one: it walks the context, and the walk has quirks that
//! decide what a build gets. Both senders are modelled ([`Builder`]):
//! - they carry each pattern's match from a directory down to its contents
//!   (`MatchesUsingParentResults`), so with `a`, `!a/x`, `a` the file `a/x` is *sent*: the third
//!   line is never re-checked against the parent `a` once it was skipped there;
//! - they skip an excluded directory without reading it unless an exception could re-include
//!   something below. The classic builder's CLI descends only when an exception's text starts
//!   with the directory's path, so `docs` + `!**/keep.md` loses `docs/keep.md`; BuildKit
//!   descends everywhere as soon as one exception has a wildcard, and keeps it.
//! - the classic CLI always sends the Dockerfile and `.dockerignore` (it appends exceptions for
//!   them) and the daemon then drops them from what `COPY` sees if the file excluded them;
//!   BuildKit sends the Dockerfile on its own and reads `<Dockerfile>.dockerignore` first.
//!
//! [`DockerIgnore::is_excluded`] answers "can `COPY` see this path", walk quirks included;
//! [`DockerIgnore::context_files`] lists what the sender transfers.
//!
//! `tests/dockerignore_docker.rs` checks all of this against real builds with the classic
//! builder. BuildKit is checked through Docker 20.10's client, whose older matcher differs from
//! today's in the walk quirks above and in reading `**x` as `(.*/)?x` rather than "ends with
//! `x`"; there the model follows today's `fsutil` and `patternmatcher` sources.

mod go_regexp;
mod pattern;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use pattern::{Pattern, go_clean};

/// Which sender's walk to model. Their pattern semantics are the same; they differ in which
/// ignore file they read, which excluded directories they still read, and in the Dockerfile
/// and ignore file themselves (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Builder {
    /// BuildKit (`docker buildx build`, the default `docker build` since Docker 23), with
    /// today's `tonistiigi/fsutil` filter.
    #[default]
    BuildKit,
    /// The classic builder: the Docker CLI's tar of the context (`moby/go-archive`).
    Classic,
}

/// A line of an ignore file that Docker would refuse, or an ignore file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DockerIgnoreError {
    #[error(".dockerignore line {line}: {message}: `{pattern}`")]
    Pattern {
        /// 1-based line in the file.
        line: usize,
        /// The line as written, trimmed.
        pattern: String,
        message: String,
    },
    /// Docker reads the file with Go's `bufio.Scanner`, which gives up on a line of 64 KiB.
    #[error(".dockerignore line {line}: longer than Docker reads (64 KiB)")]
    LineTooLong { line: usize },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The parsed patterns of one ignore file, and how the build that uses them sends its context.
#[derive(Clone, Debug)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
    builder: Builder,
    /// The Dockerfile, relative to the context, `/`-separated; `None` when outside it.
    dockerfile: Option<String>,
    /// The ignore file, relative to the context; `None` when outside it.
    ignore_file: Option<String>,
    /// What the classic CLI appends for the Dockerfile and `.dockerignore` when they are
    /// excluded, so that the daemon gets them anyway.
    appended: Vec<Pattern>,
}

const DEFAULT_DOCKERFILE: &str = "Dockerfile";
const CONTEXT_IGNORE_FILE: &str = ".dockerignore";
/// Go's `bufio.MaxScanTokenSize`.
const MAX_LINE: usize = 64 * 1024;

impl DockerIgnore {
    /// Read an ignore file's text as `ignorefile.ReadAll` + `patternmatcher.New` do. The result
    /// models a BuildKit build of `Dockerfile` with this file as `.dockerignore`; see
    /// [`with_builder`](Self::with_builder) and [`with_dockerfile`](Self::with_dockerfile).
    pub fn parse(text: &str) -> Result<DockerIgnore, DockerIgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw) in text.split('\n').enumerate() {
            let line = index + 1;
            if raw.len() >= MAX_LINE {
                return Err(DockerIgnoreError::LineTooLong { line });
            }
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.starts_with('#') {
                continue;
            }
            let pattern = ignorefile_pattern(raw.trim());
            if pattern.is_empty() {
                continue;
            }
            match Pattern::new(&pattern) {
                Ok(Some(parsed)) => patterns.push(parsed),
                Ok(None) => {}
                Err(message) => {
                    return Err(DockerIgnoreError::Pattern {
                        line,
                        pattern: raw.trim().to_string(),
                        message,
                    });
                }
            }
        }
        Ok(DockerIgnore {
            patterns,
            builder: Builder::default(),
            dockerfile: Some(DEFAULT_DOCKERFILE.to_string()),
            ignore_file: Some(CONTEXT_IGNORE_FILE.to_string()),
            appended: Vec::new(),
        }
        .refreshed())
    }

    /// Model this sender's walk.
    pub fn with_builder(mut self, builder: Builder) -> DockerIgnore {
        self.builder = builder;
        self.refreshed()
    }

    /// The Dockerfile of the build, relative to the context and `/`-separated (as `-f` names it
    /// from the context), or `None` when it is outside the context.
    pub fn with_dockerfile(mut self, dockerfile: Option<&str>) -> DockerIgnore {
        self.dockerfile = dockerfile.map(clean_relative);
        self.refreshed()
    }

    pub fn builder(&self) -> Builder {
        self.builder
    }

    /// Whether the file has no pattern at all (only comments and blank lines).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The ignore file that applies, if any: `<dockerfile file name>.dockerignore` beside the
    /// Dockerfile, else `<context>/.dockerignore` (BuildKit's rule). `dockerfile` is a path as
    /// `docker build -f` takes it (relative to the working directory); `None` means
    /// `<context>/Dockerfile`.
    pub fn find(context: &Path, dockerfile: Option<&Path>) -> Option<PathBuf> {
        Self::find_for(Builder::BuildKit, context, dockerfile)
    }

    /// [`find`](Self::find) for a given sender: the classic builder reads only
    /// `<context>/.dockerignore`.
    pub fn find_for(
        builder: Builder,
        context: &Path,
        dockerfile: Option<&Path>,
    ) -> Option<PathBuf> {
        if builder == Builder::BuildKit {
            let dockerfile = dockerfile_path(context, dockerfile);
            if let Some(name) = dockerfile.file_name() {
                let mut ignore_name = name.to_os_string();
                ignore_name.push(".dockerignore");
                let beside = dockerfile.with_file_name(ignore_name);
                if beside.is_file() {
                    return Some(beside);
                }
            }
        }
        let in_context = context.join(CONTEXT_IGNORE_FILE);
        in_context.is_file().then_some(in_context)
    }

    /// Find the ignore file that applies (see [`find`](Self::find)) and read it. `Ok(None)` when
    /// there is none.
    pub fn load(
        context: &Path,
        dockerfile: Option<&Path>,
    ) -> Result<Option<(PathBuf, DockerIgnore)>, DockerIgnoreError> {
        Self::load_for(Builder::BuildKit, context, dockerfile)
    }

    /// [`load`](Self::load) for a given sender.
    pub fn load_for(
        builder: Builder,
        context: &Path,
        dockerfile: Option<&Path>,
    ) -> Result<Option<(PathBuf, DockerIgnore)>, DockerIgnoreError> {
        let Some(path) = Self::find_for(builder, context, dockerfile) else {
            return Ok(None);
        };
        let bytes = std::fs::read(&path).map_err(|source| DockerIgnoreError::Io {
            path: path.clone(),
            source,
        })?;
        let mut ignore = Self::parse(&String::from_utf8_lossy(&bytes))?;
        ignore.builder = builder;
        ignore.dockerfile = relative_to(context, &dockerfile_path(context, dockerfile));
        ignore.ignore_file = relative_to(context, &path);
        Ok(Some((path, ignore.refreshed())))
    }

    /// Whether a build cannot see `path` (relative to the context root, `/`-separated, no
    /// leading `./`): the file's patterns, the sender's walk and, for the classic builder, the
    /// daemon dropping an excluded Dockerfile or `.dockerignore`. For a directory this is the
    /// directory itself: files below it may still be re-included
    /// ([`may_reinclude_below`](Self::may_reinclude_below)).
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean_relative(path);
        if path == "." {
            return false;
        }
        let walk = self.walk_patterns();
        let mut parent: Option<Vec<bool>> = None;
        for (slash, _) in path.match_indices('/') {
            let dir = &path[..slash];
            let (excluded, matched) = matches_using_parent(&walk, dir, parent.as_deref());
            if excluded && !self.descends(&walk, dir) {
                return true;
            }
            parent = Some(matched);
        }
        if matches_using_parent(&walk, &path, parent.as_deref()).0 {
            return true;
        }
        self.builder == Builder::Classic
            && (path == CONTEXT_IGNORE_FILE || self.dockerfile.as_deref() == Some(path.as_str()))
            && matches_or_parent_matches(self.patterns.iter(), &path)
    }

    /// Whether a walker must descend into `dir`, when it is excluded, because an exception
    /// pattern could re-include something below it — decided as the sender decides (see
    /// [`Builder`]), so `false` means the sender never looks inside.
    pub fn may_reinclude_below(&self, dir: &str) -> bool {
        self.descends(&self.walk_patterns(), &clean_relative(dir))
    }

    /// Files of the context (relative paths; anything that is not a directory, symlinks
    /// unfollowed) that the build's sender transfers, walked in sorted order as Docker walks:
    /// excluded directories are pruned unless an exception may apply below. The Dockerfile and
    /// the ignore file are always in the list when they are in the context; `COPY` sees them
    /// only when [`is_excluded`](Self::is_excluded) says so. Entries that cannot be read are
    /// left out (Docker would fail the build).
    pub fn context_files(&self, context: &Path) -> Vec<PathBuf> {
        let walk = self.walk_patterns();
        let mut files = Vec::new();
        // The parents' per-pattern results, one entry per directory depth being walked.
        let mut parents: Vec<Vec<bool>> = Vec::new();
        let mut entries = walkdir::WalkDir::new(context)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = entries.next() {
            let Ok(entry) = entry else { continue };
            parents.truncate(entry.depth() - 1);
            let Ok(relative) = entry.path().strip_prefix(context) else {
                continue;
            };
            let slashed = slash_path(relative);
            let (excluded, matched) =
                matches_using_parent(&walk, &slashed, parents.last().map(Vec::as_slice));
            if entry.file_type().is_dir() {
                if excluded && !self.descends(&walk, &slashed) {
                    entries.skip_current_dir();
                } else {
                    parents.push(matched);
                }
            } else if !excluded {
                files.push(relative.to_path_buf());
            }
        }
        // BuildKit sends the Dockerfile and reads the ignore file outside the context's walk.
        if self.builder == Builder::BuildKit {
            for special in [&self.dockerfile, &self.ignore_file].into_iter().flatten() {
                let relative = PathBuf::from(special);
                let full = context.join(&relative);
                if !files.contains(&relative) && full.symlink_metadata().is_ok_and(|m| !m.is_dir())
                {
                    files.push(relative);
                }
            }
        }
        files.sort();
        files
    }

    /// The file's patterns, plus what the classic CLI appends.
    fn walk_patterns(&self) -> Vec<&Pattern> {
        self.patterns.iter().chain(&self.appended).collect()
    }

    /// Whether the sender reads an excluded directory `dir`.
    fn descends(&self, walk: &[&Pattern], dir: &str) -> bool {
        let mut exceptions = walk.iter().filter(|p| p.exception).peekable();
        if exceptions.peek().is_none() {
            return false;
        }
        let dir_slash = format!("{dir}/");
        match self.builder {
            Builder::Classic => exceptions.any(|p| format!("{}/", p.text).starts_with(&dir_slash)),
            Builder::BuildKit => {
                let stems: Vec<&str> = exceptions.map(|p| without_trailing_glob(&p.text)).collect();
                // One exception with a wildcard and fsutil reads every excluded directory.
                stems
                    .iter()
                    .any(|stem| stem.contains(['*', '[', ']', '?', '^', '\\']))
                    || stems
                        .iter()
                        .any(|stem| format!("{stem}/").starts_with(&dir_slash))
            }
        }
    }

    /// Recompute what depends on the sender and the Dockerfile: the classic CLI's
    /// `TrimBuildFilesFromExcludes`, which appends `!.dockerignore` and `!<Dockerfile>` when the
    /// file excludes them.
    fn refreshed(mut self) -> DockerIgnore {
        self.appended.clear();
        if self.builder == Builder::Classic {
            let special = [Some(CONTEXT_IGNORE_FILE), self.dockerfile.as_deref()];
            for path in special.into_iter().flatten() {
                if path != "."
                    && matches_or_parent_matches(self.patterns.iter(), path)
                    && let Ok(Some(pattern)) = Pattern::new(&format!("!{path}"))
                {
                    self.appended.push(pattern);
                }
            }
        }
        self
    }
}

/// `ignorefile.ReadAll` for one trimmed, non-comment line: split off `!`, clean, drop a leading
/// `/`, put the `!` back.
fn ignorefile_pattern(line: &str) -> String {
    let (exception, rest) = match line.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    let mut pattern = if rest.is_empty() {
        String::new()
    } else {
        let cleaned = go_clean(rest);
        match cleaned.strip_prefix('/') {
            Some(stripped) if !stripped.is_empty() => stripped.to_string(),
            _ => cleaned,
        }
    };
    if exception {
        pattern.insert(0, '!');
    }
    pattern
}

/// `patternmatcher.MatchesOrParentMatches`: in order, each pattern that could change the answer
/// is tried on the path and on each of its parents; the last that matches decides.
fn matches_or_parent_matches<'a>(
    patterns: impl IntoIterator<Item = &'a Pattern>,
    path: &str,
) -> bool {
    let mut excluded = false;
    for pattern in patterns {
        if pattern.exception != excluded {
            continue;
        }
        if pattern.matches_or_parent(path) {
            excluded = !pattern.exception;
        }
    }
    excluded
}

/// `patternmatcher.MatchesUsingParentResults`: like [`matches_or_parent_matches`], but a
/// pattern counts as matching when it matched the parent directory, and without the parent's
/// results (a top-level entry) it tries the path's parents itself. Returns the answer and the
/// per-pattern results to hand to the entries below. A pattern skipped for a directory is
/// recorded as not matching it, which is the quirk the module docs describe.
fn matches_using_parent(
    patterns: &[&Pattern],
    path: &str,
    parent: Option<&[bool]>,
) -> (bool, Vec<bool>) {
    let mut excluded = false;
    let mut matched = vec![false; patterns.len()];
    for (i, pattern) in patterns.iter().enumerate() {
        let mut hit = parent.is_some_and(|p| p.get(i).copied().unwrap_or(false));
        if !hit {
            if pattern.exception != excluded {
                continue;
            }
            hit = if parent.is_some() {
                pattern.matches(path)
            } else {
                pattern.matches_or_parent(path)
            };
        }
        matched[i] = hit;
        if hit {
            excluded = !pattern.exception;
        }
    }
    (excluded, matched)
}

/// fsutil's `patternWithoutTrailingGlob`: the pattern without a final `/**`, then without a
/// final `/*`.
fn without_trailing_glob(text: &str) -> &str {
    let text = text.strip_suffix("/**").unwrap_or(text);
    text.strip_suffix("/*").unwrap_or(text)
}

/// A context-relative path as Docker compares it: cleaned, no leading `/`.
fn clean_relative(path: &str) -> String {
    let cleaned = go_clean(path);
    match cleaned.strip_prefix('/') {
        Some("") => ".".to_string(),
        Some(rest) => rest.to_string(),
        None => cleaned,
    }
}

fn slash_path(relative: &Path) -> String {
    let parts: Vec<Cow<'_, str>> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

fn dockerfile_path(context: &Path, dockerfile: Option<&Path>) -> PathBuf {
    dockerfile.map_or_else(|| context.join(DEFAULT_DOCKERFILE), Path::to_path_buf)
}

/// `path` relative to `context`, `/`-separated, if it lies inside; symlinks and `..` resolved
/// when both exist.
fn relative_to(context: &Path, path: &Path) -> Option<String> {
    let resolved = context.canonicalize().ok().zip(path.canonicalize().ok());
    let relative = match &resolved {
        Some((context, path)) => path.strip_prefix(context).ok()?.to_path_buf(),
        None => path.strip_prefix(context).ok()?.to_path_buf(),
    };
    let slashed = slash_path(&relative);
    (!slashed.is_empty()).then_some(slashed)
}

#[cfg(test)]
mod tests;
