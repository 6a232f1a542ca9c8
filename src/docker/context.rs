//! The build context as the Docker CLI sends it: a tar of the context folder, less what
//! `.dockerignore` excludes (read and walked by [`crate::dockerignore`]).
//!
//! As the CLI does: directories are written with a trailing `/`, every entry with uid/gid 0,
//! symlinks as symlinks; the Dockerfile and `.dockerignore` are always sent (the daemon hides
//! them from `COPY` when they are excluded); a Dockerfile outside the context is added under a
//! name of its own that the sent `.dockerignore` then excludes.
//!
//! [`Context::build`] only decides what goes in (paths, and the few files sent with other bytes
//! than the disk's); the tar is written from disk as it is sent ([`Context::body`]), so a
//! context of several GB needs no such memory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::dockerignore::{Builder, DockerIgnore, DockerIgnoreError};
use crate::model::copies::Origin;
use crate::model::stages::mount_field;
use crate::model::{Model, ModelInput};
use crate::syntax::{Dockerfile, Keyword};

/// The name a Dockerfile from outside the context gets in the tar.
const OUTSIDE_DOCKERFILE: &str = ".layerwise.Dockerfile";
const IGNORE_FILE: &str = ".dockerignore";

/// What to send.
#[derive(Clone, Debug)]
pub struct ContextSpec<'a> {
    /// The context folder.
    pub dir: &'a Path,
    /// The Dockerfile's path, as given on the command line.
    pub dockerfile: &'a Path,
    /// The text to build, which may differ from the file's (the rewrite).
    pub dockerfile_text: &'a str,
    /// The `.dockerignore` to apply instead of the context's own (the rewrite's); `None`
    /// applies the context's.
    pub ignore_text: Option<&'a str>,
    /// Files of the context sent with other bytes than the disk's (relative, `/`-separated).
    pub replaced: &'a [(String, Vec<u8>)],
}

/// A context ready to send: what goes in, in the order it is written.
#[derive(Clone, Debug)]
pub struct Context {
    dir: PathBuf,
    entries: Arc<Vec<(String, Source)>>,
    /// The Dockerfile's name in the tar, for the build's `dockerfile` option.
    pub dockerfile: String,
    /// The files `COPY` can see (relative, `/`-separated, sorted).
    pub visible: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Ignore(#[from] DockerIgnoreError),
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ContextError + '_ {
    move |source| ContextError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One entry to write: its path in the context and where its bytes come from.
#[derive(Clone, Debug)]
enum Source {
    Disk,
    Bytes(Vec<u8>),
}

impl Context {
    pub fn build(spec: &ContextSpec<'_>) -> Result<Context, ContextError> {
        let dockerfile_rel = relative_inside(spec.dir, spec.dockerfile);
        let on_disk_ignore = spec.dir.join(IGNORE_FILE);
        let mut ignore_text = match spec.ignore_text {
            Some(text) => Some(text.to_string()),
            None if on_disk_ignore.is_file() => Some(
                std::fs::read(&on_disk_ignore)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .map_err(io_error(&on_disk_ignore))?,
            ),
            None => None,
        };
        let ignore = DockerIgnore::parse(ignore_text.as_deref().unwrap_or(""))?
            .with_builder(Builder::Classic)
            .with_dockerfile(dockerfile_rel.as_deref());

        let mut entries: Vec<(String, Source)> = Vec::new();
        for file in ignore.context_files(spec.dir) {
            entries.push((slashed(&file), Source::Disk));
        }
        for dir in sent_dirs(spec.dir, &ignore) {
            entries.push((dir, Source::Disk));
        }
        let dockerfile = match &dockerfile_rel {
            Some(rel) => rel.clone(),
            None => {
                // As the CLI does for a Dockerfile it must add: exclude it from what COPY sees.
                let text = ignore_text.get_or_insert_with(String::new);
                text.push('\n');
                text.push_str(OUTSIDE_DOCKERFILE);
                text.push('\n');
                OUTSIDE_DOCKERFILE.to_string()
            }
        };
        let mut replace = |path: &str, bytes: Vec<u8>| {
            entries.retain(|(p, _)| p != path);
            entries.push((path.to_string(), Source::Bytes(bytes)));
        };
        replace(&dockerfile, spec.dockerfile_text.as_bytes().to_vec());
        if let Some(text) = &ignore_text
            && (spec.ignore_text.is_some() || dockerfile_rel.is_none())
        {
            replace(IGNORE_FILE, text.as_bytes().to_vec());
        }
        for (path, bytes) in spec.replaced {
            replace(path, bytes.clone());
        }
        entries.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));

        let mut visible: Vec<String> = entries
            .iter()
            .filter(|(path, source)| {
                !is_dir_entry(spec.dir, path, source) && !ignore.is_excluded(path)
            })
            .map(|(path, _)| path.clone())
            .filter(|path| path != OUTSIDE_DOCKERFILE)
            .collect();
        visible.sort();

        Ok(Context {
            dir: spec.dir.to_path_buf(),
            entries: Arc::new(entries),
            dockerfile,
            visible,
        })
    }

    /// A context with nothing in it, to be replaced.
    pub fn empty() -> Context {
        Context {
            dir: PathBuf::new(),
            entries: Arc::new(Vec::new()),
            dockerfile: String::new(),
            visible: Vec::new(),
        }
    }

    /// Writes the tar, reading each file from disk as it goes.
    pub fn write(&self, out: impl Write) -> Result<(), ContextError> {
        let mut builder = tar::Builder::new(out);
        for (path, source) in self.entries.iter() {
            append(&mut builder, &self.dir, path, source)?;
        }
        builder
            .into_inner()
            .and_then(|mut out| out.flush())
            .map_err(io_error(Path::new("the context tar")))
    }

    /// The tar as a request body, written on a thread of its own while it is sent, a chunk at
    /// a time. A file that cannot be read ends the body with an error, which the returned slot
    /// then holds (the daemon only sees a cut tar).
    pub fn body(
        &self,
    ) -> (
        impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static,
        ContextFailure,
    ) {
        let failure = ContextFailure::default();
        (self.body_into(failure.clone()), failure)
    }

    /// [`Context::body`], with the failure told to a slot the caller holds.
    pub fn body_into(
        &self,
        failure: ContextFailure,
    ) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let (tx, rx) =
            tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_IN_FLIGHT);
        let context = self.clone();
        let slot = failure.clone();
        tokio::task::spawn_blocking(move || {
            let mut sender = ChunkSender {
                tx: tx.clone(),
                buf: Vec::with_capacity(CHUNK),
            };
            if let Err(e) = context.write(&mut sender) {
                let text = e.to_string();
                // a closed channel means the build stopped reading: nothing to report
                if !tx.is_closed() {
                    *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(text.clone());
                    let _ = tx.blocking_send(Err(std::io::Error::other(text)));
                }
            }
        });
        tokio_stream::wrappers::ReceiverStream::new(rx)
    }
}

/// The bytes of a chunk of the streamed tar, and how many may wait to be sent.
const CHUNK: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;

/// Why the streamed context stopped, when it was reading the disk that failed.
#[derive(Clone, Debug, Default)]
pub struct ContextFailure(Arc<Mutex<Option<String>>>);

impl ContextFailure {
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A writer that hands the tar to the request body in chunks.
struct ChunkSender {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl ChunkSender {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the build stopped"))
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

fn is_dir_entry(dir: &Path, path: &str, source: &Source) -> bool {
    matches!(source, Source::Disk) && dir.join(path).symlink_metadata().is_ok_and(|m| m.is_dir())
}

/// The directories the CLI writes entries for: every one it walks that is not excluded.
fn sent_dirs(dir: &Path, ignore: &DockerIgnore) -> Vec<String> {
    let mut dirs = Vec::new();
    let mut walk = walkdir::WalkDir::new(dir).min_depth(1).into_iter();
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_dir() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let relative = slashed(relative);
        if !ignore.is_excluded(&relative) {
            dirs.push(relative);
        } else if !ignore.may_reinclude_below(&relative) {
            walk.skip_current_dir();
        }
    }
    dirs
}

fn append(
    builder: &mut tar::Builder<impl Write>,
    dir: &Path,
    path: &str,
    source: &Source,
) -> Result<(), ContextError> {
    let mut header = tar::Header::new_gnu();
    header.set_uid(0);
    header.set_gid(0);
    let full = dir.join(path);
    let write_error = io_error(&full);
    match source {
        Source::Bytes(bytes) => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o644);
            if let Ok(meta) = full.metadata() {
                set_metadata(&mut header, &meta);
            }
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(bytes.len() as u64);
            builder
                .append_data(&mut header, path, &bytes[..])
                .map_err(write_error)
        }
        Source::Disk => {
            let meta = full.symlink_metadata().map_err(io_error(&full))?;
            set_metadata(&mut header, &meta);
            let kind = meta.file_type();
            if kind.is_dir() {
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{path}/"), std::io::empty())
                    .map_err(write_error)
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&full).map_err(io_error(&full))?;
                header.set_size(0);
                builder
                    .append_link(&mut header, path, target)
                    .map_err(write_error)
            } else if kind.is_file() {
                let file = std::fs::File::open(&full).map_err(io_error(&full))?;
                builder
                    .append_data(&mut header, path, file)
                    .map_err(write_error)
            } else {
                // sockets, fifos and devices carry no content a build can use
                Ok(())
            }
        }
    }
}

/// Mode and times from the file, owned by root. The daemon's classic builder keys COPY's cache
/// on a checksum of each header (name, mode, owner and owner names, size, type, link), so the
/// header is written as today's Docker CLI writes it: permission bits without the file type
/// bits, no owner names. (Docker 20.10's CLI still wrote the type bits and `root` as names.)
fn set_metadata(header: &mut tar::Header, meta: &std::fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(0);
    header.set_gid(0);
}

/// `path` relative to `dir`, `/`-separated, when it lies inside (symlinks resolved).
fn relative_inside(dir: &Path, path: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let path = path.canonicalize().ok()?;
    let relative = path.strip_prefix(&dir).ok()?;
    let slashed = slashed(relative);
    (!slashed.is_empty()).then_some(slashed)
}

fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Dependency manifests and lockfiles: editing one of them re-runs installs in any layout, so
/// the rebuild-after-edit measure never picks one.
const MANIFESTS: &[&str] = &[
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    "Pipfile",
    "Pipfile.lock",
    "pyproject.toml",
    "poetry.lock",
    "setup.py",
    "setup.cfg",
    "go.mod",
    "go.sum",
    "Cargo.toml",
    "Cargo.lock",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "settings.gradle",
    "settings.gradle.kts",
    "gradle.properties",
    "mix.exs",
    "mix.lock",
    IGNORE_FILE,
];

fn is_manifest(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    MANIFESTS.contains(&name)
        || (name.starts_with("requirements") && name.ends_with(".txt"))
        || (name.starts_with("constraints") && name.ends_with(".txt"))
        || crate::discover::is_dockerfile_name(name)
}

/// The source file the rebuild-after-edit measure changes: the first, in path order, that both
/// builds can see and read (a COPY, ADD or bind mount of a stage they run names it, or the whole
/// context), and that is not a Dockerfile, an ignore file or a dependency manifest, preferring
/// files outside dot-folders. When there is none, why: an edit nothing reads re-runs nothing,
/// which would measure nothing.
pub fn edit_target(
    before: &[String],
    after: &[String],
    reads: &[&Reads],
) -> Result<String, String> {
    let seen: Vec<&String> = before
        .iter()
        .filter(|p| {
            after.binary_search(p).is_ok() && !is_manifest(p) && p.as_str() != OUTSIDE_DOCKERFILE
        })
        .collect();
    let Some(first_seen) = seen.first() else {
        return Err("the context has no source file that both versions' builds can see".into());
    };
    let candidates: Vec<&String> = seen
        .iter()
        .copied()
        .filter(|p| reads.iter().all(|r| r.reads(p)))
        .collect();
    let hidden = |p: &str| p.split('/').any(|s| s.starts_with('.'));
    candidates
        .iter()
        .find(|p| !hidden(p))
        .or_else(|| candidates.first())
        .map(|p| p.to_string())
        .ok_or_else(|| {
            format!(
                "no COPY, ADD or bind mount of the stages built reads a source file of the \
                 context, so an edit of one (such as {first_seen}) re-runs no step"
            )
        })
}

/// The context files a build reads by name: what the COPY and ADD instructions (not `--from` a
/// stage) and the `RUN --mount` binds of the stages it runs name, matched as the builder
/// matches them (a folder names what is below it; `*`, `?` and `[…]` within a component).
#[derive(Debug)]
pub struct Reads {
    /// A COPY of the whole context, a bind without a source, or a source that cannot be told.
    whole: bool,
    sources: Option<DockerIgnore>,
}

impl Reads {
    /// What a build of `df` reads, as the model sees it (`input` gives `--target` and the
    /// build args, with which it expands the sources' variables).
    pub fn new(df: &Dockerfile, input: &ModelInput) -> Reads {
        let model = Model::new(df, input);
        let mut whole = false;
        let mut sources: Vec<String> = Vec::new();
        for info in model.stages.list.iter().filter(|s| s.built) {
            for inst in &info.stage.instructions {
                if let Some(copy) = model.copy(inst) {
                    sources.extend(
                        copy.sources
                            .into_iter()
                            .filter(|s| s.origin == Origin::Context)
                            .map(|s| s.path),
                    );
                }
                if inst.keyword == Keyword::Run {
                    for mount in inst.flag_values("mount") {
                        let bind = mount_field(mount, "type").is_none_or(|t| t == "bind");
                        if !bind || mount_field(mount, "from").is_some() {
                            continue;
                        }
                        match mount_field(mount, "source").or(mount_field(mount, "src")) {
                            Some(source) => sources.push(source.to_string()),
                            None => whole = true,
                        }
                    }
                }
            }
        }
        let mut lines: Vec<String> = Vec::new();
        for source in &sources {
            // a variable may stand for any name
            let line = source
                .trim_start_matches("./")
                .trim_start_matches('/')
                .trim_end_matches('/')
                .split('/')
                .map(|part| if part.contains('$') { "*" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            match line.as_str() {
                "" | "." | "*" => whole = true,
                _ => lines.push(line),
            }
        }
        let sources = DockerIgnore::parse(&lines.join("\n")).ok();
        Reads {
            whole: whole || sources.is_none(),
            sources,
        }
    }

    /// Whether the build reads `path` (relative to the context, `/`-separated).
    pub fn reads(&self, path: &str) -> bool {
        self.whole || self.sources.as_ref().is_some_and(|s| s.is_excluded(path))
    }
}

/// The edit: one blank line appended, so the file's bytes (and the build's cache key) change.
/// The line's spaces and tabs spell a number drawn afresh each run: BuildKit keeps its cache
/// across runs, and an edit it had seen before would come from the cache, not be rebuilt.
pub fn edited(bytes: &[u8]) -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let token = hasher.finish();
    let mut out = bytes.to_vec();
    out.push(b'\n');
    out.extend((0..64).map(|bit| if token >> bit & 1 == 1 { b'\t' } else { b' ' }));
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Context {
        fn to_vec(&self) -> Vec<u8> {
            let mut out = Vec::new();
            self.write(&mut out).unwrap();
            out
        }
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The tar's entries: name, type, uid/gid, and text for files.
    fn listing(tar: &[u8]) -> Vec<(String, char, u64, u64, String)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
                let h = e.header().clone();
                let kind = match h.entry_type() {
                    tar::EntryType::Directory => 'd',
                    tar::EntryType::Symlink => 'l',
                    _ => 'f',
                };
                let mut text = String::new();
                std::io::Read::read_to_string(&mut e, &mut text).unwrap();
                (name, kind, h.uid().unwrap(), h.gid().unwrap(), text)
            })
            .collect()
    }

    fn reads(text: &str) -> Reads {
        Reads::new(&Dockerfile::parse(text), &ModelInput::default())
    }

    #[test]
    fn a_build_reads_what_copy_add_and_binds_of_the_stages_it_runs_name() {
        let r = reads(
            "FROM alpine AS unused\nCOPY docs /docs\n\
             FROM alpine AS tools\nCOPY tools/*.sh /t/\n\
             FROM alpine\nCOPY --from=tools /t /t\nCOPY ./src/ /app/src\n\
             ADD conf/app.ini /etc/\nCOPY env/${ENV}/app.env /cfg\n\
             RUN --mount=type=bind,source=vendor,target=/v \\\n    --mount=type=cache,target=/c true\n",
        );
        for path in [
            "src/a.sh",
            "src/deep/b.py",
            "tools/x.sh",
            "conf/app.ini",
            "vendor/lib.a",
        ] {
            assert!(r.reads(path), "{path}");
        }
        // a variable stands for any one name
        assert!(r.reads("env/prod/app.env"));
        assert!(!r.reads("env/prod/other.env"));
        // a stage the build does not run, a pattern that does not match, a name apart
        for path in [
            "docs/index.md",
            "tools/x.py",
            "conf/other.ini",
            "srcs/a.sh",
            "README.md/x",
        ] {
            assert!(!r.reads(path), "{path}");
        }
    }

    #[test]
    fn the_whole_context_is_read_by_copy_dot_or_a_bind_without_a_source() {
        assert!(reads("FROM alpine\nCOPY . /app\n").reads("README.md"));
        assert!(reads("FROM alpine\nRUN --mount=type=bind,target=/src make\n").reads("x/y"));
        assert!(!reads("FROM alpine\nRUN --mount=type=bind,from=b,target=/s true\n").reads("x"));
        assert!(!reads("FROM alpine\nRUN true\n").reads("README.md"));
        // a source that is a variable alone may be the whole context
        assert!(reads("FROM alpine\nARG SRC=.\nCOPY ${SRC} /app\n").reads("README.md"));
    }

    #[test]
    fn the_edited_file_is_one_the_builds_read_or_none_with_the_reason() {
        let files = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let context = files(&["Dockerfile", "README.md", "package.json", "scripts/run.sh"]);
        let copies_script = reads("FROM alpine\nCOPY package.json scripts/run.sh /app/\n");
        assert_eq!(
            edit_target(&context, &context, &[&copies_script]),
            Ok("scripts/run.sh".to_string())
        );
        let copies_all = reads("FROM alpine\nCOPY . /app\n");
        assert_eq!(
            edit_target(&context, &context, &[&copies_all]),
            Ok("README.md".to_string())
        );
        // the manifest alone is read: no source edit to measure
        let manifest_only = reads("FROM alpine\nCOPY package.json /app/\n");
        let why = edit_target(&context, &context, &[&manifest_only]).unwrap_err();
        assert!(
            why.contains("such as README.md") && why.contains("re-runs no step"),
            "{why}"
        );
        // both builds must read it
        assert!(edit_target(&context, &context, &[&copies_all, &manifest_only]).is_err());
        assert!(
            edit_target(
                &files(&["Dockerfile"]),
                &files(&["Dockerfile"]),
                &[&copies_all]
            )
            .unwrap_err()
            .contains("no source file")
        );
    }

    #[test]
    fn sends_what_the_ignore_file_lets_through_with_dirs_slashed_and_root_owned() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM x\n");
        write(root, ".dockerignore", "node_modules\n*.log\n");
        write(root, "src/app.js", "app");
        write(root, "node_modules/big/index.js", "big");
        write(root, "debug.log", "log");
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::os::unix::fs::symlink("src/app.js", root.join("link")).unwrap();
        let spec = ContextSpec {
            dir: root,
            dockerfile: &root.join("Dockerfile"),
            dockerfile_text: "FROM y\n",
            ignore_text: None,
            replaced: &[],
        };
        let context = Context::build(&spec).unwrap();
        let names: Vec<(String, char)> = listing(&context.to_vec())
            .into_iter()
            .map(|(n, k, uid, gid, _)| {
                assert_eq!((uid, gid), (0, 0));
                (n, k)
            })
            .collect();
        assert_eq!(
            names,
            [
                (".dockerignore".to_string(), 'f'),
                ("Dockerfile".to_string(), 'f'),
                ("empty/".to_string(), 'd'),
                ("link".to_string(), 'l'),
                ("src/".to_string(), 'd'),
                ("src/app.js".to_string(), 'f'),
            ]
        );
        assert_eq!(context.dockerfile, "Dockerfile");
        // the Dockerfile is sent with the text given, not the disk's
        let texts = listing(&context.to_vec());
        assert_eq!(texts[1].4, "FROM y\n");
        assert_eq!(
            context.visible,
            [".dockerignore", "Dockerfile", "link", "src/app.js"]
        );
    }

    #[test]
    fn a_proposed_ignore_file_replaces_the_disk_one_and_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM x\n");
        write(root, "node_modules/a.js", "a");
        write(root, "main.js", "m");
        let spec = ContextSpec {
            dir: root,
            dockerfile: &root.join("Dockerfile"),
            dockerfile_text: "FROM x\n",
            ignore_text: Some("node_modules\n"),
            replaced: &[("main.js".to_string(), b"edited".to_vec())],
        };
        let context = Context::build(&spec).unwrap();
        let entries = listing(&context.to_vec());
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, [".dockerignore", "Dockerfile", "main.js"]);
        assert_eq!(entries[0].4, "node_modules\n");
        assert_eq!(entries[2].4, "edited");
    }

    #[test]
    fn a_dockerfile_outside_the_context_is_added_and_hidden_from_copy() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        write(outside.path(), "build.Dockerfile", "FROM x\n");
        write(dir.path(), "a", "a");
        let spec = ContextSpec {
            dir: dir.path(),
            dockerfile: &outside.path().join("build.Dockerfile"),
            dockerfile_text: "FROM x\n",
            ignore_text: None,
            replaced: &[],
        };
        let context = Context::build(&spec).unwrap();
        assert_eq!(context.dockerfile, OUTSIDE_DOCKERFILE);
        let entries = listing(&context.to_vec());
        let ignore = entries.iter().find(|e| e.0 == ".dockerignore").unwrap();
        assert!(ignore.4.contains(OUTSIDE_DOCKERFILE));
        assert_eq!(context.visible, [".dockerignore", "a"]);
    }

    #[test]
    fn the_body_streams_the_same_tar_and_a_file_gone_meanwhile_is_named() {
        use futures_util::StreamExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM x\n");
        // more than one chunk, so the body comes in pieces
        std::fs::write(root.join("big.bin"), vec![3u8; 3 * CHUNK + 17]).unwrap();
        write(root, "small.txt", "s");
        let spec = ContextSpec {
            dir: root,
            dockerfile: &root.join("Dockerfile"),
            dockerfile_text: "FROM x\n",
            ignore_text: None,
            replaced: &[],
        };
        let context = Context::build(&spec).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let collect = |context: &Context| {
            runtime.block_on(async {
                let (body, failure) = context.body();
                let pieces: Vec<std::io::Result<Bytes>> = body.collect().await;
                (pieces, failure.get())
            })
        };
        let (pieces, failure) = collect(&context);
        assert!(pieces.len() > 3, "{} pieces", pieces.len());
        let streamed: Vec<u8> = pieces
            .into_iter()
            .flat_map(|p| p.unwrap().to_vec())
            .collect();
        assert_eq!(streamed, context.to_vec());
        assert_eq!(failure, None);

        std::fs::remove_file(root.join("small.txt")).unwrap();
        let (pieces, failure) = collect(&context);
        assert!(pieces.last().unwrap().is_err());
        let failure = failure.expect("the failure is kept");
        assert!(failure.contains("small.txt"), "{failure}");
    }

    #[test]
    fn a_refused_ignore_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "Dockerfile", "FROM x\n");
        let spec = ContextSpec {
            dir: dir.path(),
            dockerfile: &dir.path().join("Dockerfile"),
            dockerfile_text: "FROM x\n",
            ignore_text: Some("[abc\n"),
            replaced: &[],
        };
        assert!(matches!(
            Context::build(&spec),
            Err(ContextError::Ignore(_))
        ));
    }

    #[test]
    fn each_edit_is_a_blank_line_no_run_made_before() {
        let (one, two) = (edited(b"echo hi\n"), edited(b"echo hi\n"));
        assert_ne!(one, two);
        for edit in [one, two] {
            let added = &edit[b"echo hi\n".len()..];
            assert_eq!(added.len(), 66);
            assert!(added.iter().all(|b| b" \t\n".contains(b)));
        }
    }

    #[test]
    fn the_edit_target_is_a_source_file_both_builds_see() {
        let before: Vec<String> = [
            ".env",
            "Dockerfile",
            "README.md",
            "node_modules/x.js",
            "package.json",
            "requirements-dev.txt",
            "src/main.py",
        ]
        .map(String::from)
        .to_vec();
        let after: Vec<String> = before
            .iter()
            .filter(|p| !p.starts_with(".env") && !p.starts_with("node_modules"))
            .cloned()
            .collect();
        let all = reads("FROM alpine\nCOPY . .\n");
        let target = |b: &[String], a: &[String]| edit_target(b, a, &[&all]).ok();
        assert_eq!(target(&before, &after).as_deref(), Some("README.md"));
        let only_manifests: Vec<String> = ["Dockerfile", "go.mod", ".dockerignore"]
            .map(String::from)
            .to_vec();
        assert_eq!(target(&only_manifests, &only_manifests), None);
        let dotted: Vec<String> = [".config/app.toml"].map(String::from).to_vec();
        assert_eq!(
            target(&dotted, &dotted).as_deref(),
            Some(".config/app.toml")
        );
    }
}
