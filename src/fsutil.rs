//! Writing files so that a crash, a full disk or a kill never leaves one half-written: write a
//! temporary file in the same folder, give it the original's mode and owner, flush it to disk,
//! rename it over the original, then flush the folder. A symlink is written through to its
//! target and stays a symlink.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{path} is read-only: not changed")]
    ReadOnly { path: PathBuf },
    #[error("cannot write {path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

/// Links followed before giving up, as Linux's own limit.
const MAX_LINKS: usize = 40;

/// Where writing `path` really lands: the final target of a symlink chain.
fn target(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::read_link(&current) {
            Ok(next) => {
                current = match current.parent() {
                    Some(parent) if next.is_relative() => parent.join(next),
                    _ => next,
                };
            }
            Err(_) => return Ok(current),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Replaces (or creates) `path` with `contents` atomically. On any error the original is as it
/// was and no temporary file is left.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |file| file.write_all(contents))
}

/// Like [`write_atomic`], with the contents written by `write` as they are made (a report of
/// any size, never whole in memory); an error from `write` leaves the original as it was.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    let io_error = |e: io::Error| WriteError::Io {
        path: path.to_path_buf(),
        reason: crate::discover::io_reason(&e),
    };
    let target = target(path).map_err(io_error)?;
    let existing = fs::metadata(&target).ok();
    if existing
        .as_ref()
        .is_some_and(|m| m.permissions().readonly())
    {
        return Err(WriteError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let replace = || -> io::Result<()> {
        // A new file gets the usual 0666 less the umask; the temp file is removed on any error.
        let mut temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".layerwise.tmp")
            .permissions(fs::Permissions::from_mode(0o666))
            .tempfile_in(&dir)?;
        let mut buffered = io::BufWriter::new(temp.as_file_mut());
        write(&mut buffered)?;
        buffered.flush()?;
        drop(buffered);
        if let Some(meta) = &existing {
            keep_owner_and_mode(temp.as_file(), meta)?;
        }
        temp.as_file().sync_all()?;
        temp.persist(&target).map_err(|e| e.error)?;
        // The rename is durable once the folder's entry is on disk too.
        fs::File::open(&dir)?.sync_all()
    };
    replace().map_err(io_error)
}

/// The original's mode, and its owner and group when we may set them (root may; anyone may keep
/// their own, and a file we could not chown keeps ours, as an editor's save would).
fn keep_owner_and_mode(file: &fs::File, original: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let _ = std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid()));
    file.set_permissions(original.permissions())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Dockerfile");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn writes_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.Dockerfile");
        let link = dir.path().join("Dockerfile");
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink("real.Dockerfile", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn read_only_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Dockerfile");
        fs::write(&path, "old").unwrap();
        let mut perms = fs::metadata(&path).unwrap().permissions();
        perms.set_readonly(true);
        fs::set_permissions(&path, perms).unwrap();
        assert!(matches!(
            write_atomic(&path, b"new"),
            Err(WriteError::ReadOnly { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }
    #[test]
    fn follows_a_chain_of_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/real"), "old").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("sub/middle")).unwrap();
        std::os::unix::fs::symlink("sub/middle", dir.path().join("Dockerfile")).unwrap();
        write_atomic(&dir.path().join("Dockerfile"), b"new").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("sub/real")).unwrap(),
            "new"
        );
        for link in ["Dockerfile", "sub/middle"] {
            let meta = fs::symlink_metadata(dir.path().join(link)).unwrap();
            assert!(meta.file_type().is_symlink(), "{link} is still a link");
        }
        assert_eq!(fs::read_dir(dir.path().join("sub")).unwrap().count(), 2);
    }

    #[test]
    fn a_dangling_symlink_gets_its_target_created() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("report.json");
        std::os::unix::fs::symlink("out/report.json", &link).unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        write_atomic(&link, b"{}").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("out/report.json")).unwrap(),
            "{}"
        );
    }

    #[test]
    fn a_symlink_loop_is_an_error_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", &b).unwrap();
        let error = write_atomic(&a, b"new").unwrap_err().to_string();
        assert!(
            error.contains("too many levels of symbolic links"),
            "{error}"
        );
        assert!(fs::symlink_metadata(&a).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_symlink_to_a_read_only_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o444)).unwrap();
        let link = dir.path().join("Dockerfile");
        std::os::unix::fs::symlink("real", &link).unwrap();
        assert!(matches!(
            write_atomic(&link, b"new"),
            Err(WriteError::ReadOnly { .. })
        ));
        assert_eq!(fs::read_to_string(&real).unwrap(), "old");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn keeps_the_owner_when_root() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Dockerfile");
        fs::write(&path, "old").unwrap();
        if std::os::unix::fs::chown(&path, Some(65534), Some(65534)).is_err() {
            eprintln!("skipped: not root, cannot give the file to another owner");
            return;
        }
        write_atomic(&path, b"new").unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn a_new_file_gets_the_mode_any_new_file_gets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"{}").unwrap();
        let plain = dir.path().join("plain");
        fs::write(&plain, "{}").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&path),
            mode(&plain),
            "0666 less the umask, not a temp file's 0600"
        );
    }
}
