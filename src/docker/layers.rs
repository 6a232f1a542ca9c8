//! What the layers of an image hold, read from their tars; [`super::stack`] stacks them.
//!
//! A layer tar lists what the layer adds or changes, plus whiteouts for what it deletes: a file
//! `.wh.<name>` deletes `<name>` from the layers below, and `.wh..wh..opq` in a directory hides
//! everything the lower layers had in it. Stacking the layers bottom to top, as overlayfs does,
//! says exactly which bytes of which layer stay visible; every byte that does not is *hidden*:
//! stored and pulled with the image, seen by no one. Each hidden copy of a path is counted once,
//! when it is first covered, so a file overwritten twice counts its two lower copies and never
//! the visible one (dive's "wasted bytes" counts every copy of a path that occurs in two layers).

use std::io::{self, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

/// One entry of a layer tar, as the stacking needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// A regular file of this many bytes (a hard link adds no bytes of its own).
    File(u64),
    Dir,
    /// A symlink, device or fifo: visible, no bytes.
    Other,
    /// `.wh.<name>`: the path is deleted from the layers below.
    Whiteout,
    /// `.wh..wh..opq` inside the directory: its lower contents are hidden.
    Opaque,
}

/// The changes of one layer: paths relative to the root, `/`-separated, without `./`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFiles {
    pub changes: Vec<(String, Change)>,
}

impl LayerFiles {
    /// Reads a layer tar (uncompressed, as `docker save` writes it).
    pub fn read(reader: impl Read) -> std::io::Result<LayerFiles> {
        LayerFiles::read_with(reader, |_, _, _| Ok(()))
    }

    /// [`LayerFiles::read`], handing each change it records to `visit` with its tar entry, in
    /// the order of `changes`, so a caller may read what else it needs (modes, contents) in
    /// the same pass.
    pub fn read_with<R: Read>(
        reader: R,
        mut visit: impl FnMut(&str, &Change, &mut tar::Entry<'_, Forward<R>>) -> std::io::Result<()>,
    ) -> std::io::Result<LayerFiles> {
        let mut archive = tar::Archive::new(Forward::new(reader));
        let mut changes = Vec::new();
        for entry in archive.entries_with_seek()? {
            let mut entry = entry?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(path) = normalize(&raw) else {
                continue;
            };
            let kind = entry.header().entry_type();
            let (dir, name) = match path.rsplit_once('/') {
                Some((dir, name)) => (Some(dir), name),
                None => (None, path.as_str()),
            };
            let change = if name == ".wh..wh..opq" {
                let Some(dir) = dir else { continue };
                visit(dir, &Change::Opaque, &mut entry)?;
                changes.push((dir.to_string(), Change::Opaque));
                continue;
            } else if let Some(deleted) = name.strip_prefix(".wh.") {
                let target = match dir {
                    Some(dir) => format!("{dir}/{deleted}"),
                    None => deleted.to_string(),
                };
                visit(&target, &Change::Whiteout, &mut entry)?;
                changes.push((target, Change::Whiteout));
                continue;
            } else if kind.is_dir() {
                Change::Dir
            } else if kind.is_file() {
                Change::File(entry.header().size()?)
            } else if kind.is_hard_link() {
                Change::File(0)
            } else {
                Change::Other
            };
            visit(&path, &change, &mut entry)?;
            changes.push((path, change));
        }
        Ok(LayerFiles { changes })
    }

    /// Bytes of the regular files the layer adds.
    pub fn file_bytes(&self) -> u64 {
        self.changes
            .iter()
            .map(|(_, c)| match c {
                Change::File(size) => *size,
                _ => 0,
            })
            .sum()
    }
}

/// A stream that skips forward by reading into one buffer of its own. The tar crate skips what
/// is not read of an entry (a file's content, the padding after it) by seeking a seekable
/// reader, and otherwise zeroes a fresh 32 KiB buffer for every skip: on a layer of 100,000
/// small files that zeroing was a third of `inspect`'s run.
pub struct Forward<R> {
    inner: R,
    /// Bytes read or skipped so far: the position a seek returns.
    at: u64,
    scratch: Vec<u8>,
}

impl<R: Read> Forward<R> {
    fn new(inner: R) -> Forward<R> {
        Forward {
            inner,
            at: 0,
            scratch: vec![0; 64 * 1024],
        }
    }
}

impl<R: Read> Read for Forward<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl<R: Read> Seek for Forward<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let mut left = match pos {
            SeekFrom::Current(n) if n >= 0 => n as u64,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "a layer is read as a stream, forward only",
                ));
            }
        };
        while left > 0 {
            let want = left.min(self.scratch.len() as u64) as usize;
            let n = self.inner.read(&mut self.scratch[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the layer ends inside an entry",
                ));
            }
            left -= n as u64;
            self.at += n as u64;
        }
        Ok(self.at)
    }
}

/// `./a/b/` → `a/b`; the root itself gives `None`.
fn normalize(raw: &str) -> Option<String> {
    let mut path = raw.trim_start_matches("./").trim_start_matches('/');
    path = path.trim_end_matches('/');
    (!path.is_empty() && path != ".").then(|| path.to_string())
}

pub use crate::knowledge::managers::cache_of;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::stack::{Analysis, stack};

    fn analyse(layers: &[LayerFiles]) -> Analysis {
        stack(layers).analysis()
    }

    /// A layer tar made the way Docker writes them: directories, files, whiteouts.
    enum Entry<'a> {
        Dir(&'a str),
        File(&'a str, usize),
        Link(&'a str, &'a str),
        Symlink(&'a str, &'a str),
    }

    fn layer_tar(entries: &[Entry<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in entries {
            let mut header = tar::Header::new_gnu();
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            match entry {
                Entry::Dir(path) => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    builder
                        .append_data(&mut header, format!("{path}/"), std::io::empty())
                        .unwrap();
                }
                Entry::File(path, size) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0o644);
                    header.set_size(*size as u64);
                    builder
                        .append_data(&mut header, path, &vec![b'x'; *size][..])
                        .unwrap();
                }
                Entry::Link(path, target) => {
                    header.set_entry_type(tar::EntryType::Link);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target).unwrap();
                }
                Entry::Symlink(path, target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target).unwrap();
                }
            }
        }
        builder.into_inner().unwrap()
    }

    fn read(entries: &[Entry<'_>]) -> LayerFiles {
        LayerFiles::read(&layer_tar(entries)[..]).unwrap()
    }

    use Entry::{Dir, File, Link, Symlink};

    #[test]
    fn reads_files_dirs_links_and_whiteouts() {
        let layer = read(&[
            Dir("./etc"),
            File("./etc/passwd", 30),
            Link("etc/passwd2", "etc/passwd"),
            Symlink("etc/mtab", "/proc/mounts"),
            File("tmp/.wh.big", 0),
            File("var/cache/.wh..wh..opq", 0),
        ]);
        assert_eq!(
            layer.changes,
            [
                ("etc".to_string(), Change::Dir),
                ("etc/passwd".to_string(), Change::File(30)),
                ("etc/passwd2".to_string(), Change::File(0)),
                ("etc/mtab".to_string(), Change::Other),
                ("tmp/big".to_string(), Change::Whiteout),
                ("var/cache".to_string(), Change::Opaque),
            ]
        );
        assert_eq!(layer.file_bytes(), 30);
    }

    #[test]
    fn a_deleted_file_is_hidden_in_the_layer_that_made_it() {
        let layers = [
            read(&[Dir("data"), File("data/big", 5000), File("data/small", 7)]),
            read(&[File("data/.wh.big", 0)]),
        ];
        let analysis = analyse(&layers);
        assert_eq!(analysis.hidden_bytes, 5000);
        assert_eq!(analysis.hidden_by_layer, [5000, 0]);
        assert_eq!(analysis.visible_bytes, 7);
    }

    #[test]
    fn each_covered_copy_counts_once_and_the_visible_one_never() {
        // written three times: the two lower copies are hidden, the top one is the file
        let layers = [
            read(&[File("app.bin", 100)]),
            read(&[File("app.bin", 200)]),
            read(&[File("app.bin", 300)]),
            read(&[File("other", 1)]),
        ];
        let analysis = analyse(&layers);
        assert_eq!(analysis.hidden_bytes, 300);
        assert_eq!(analysis.hidden_by_layer, [100, 200, 0, 0]);
        assert_eq!(analysis.visible_bytes, 301);
    }

    #[test]
    fn every_byte_is_either_hidden_or_visible() {
        let layers = [
            read(&[Dir("a"), File("a/x", 10), File("a/y", 20), File("b", 40)]),
            read(&[File("a/.wh..wh..opq", 0), File("a/z", 5), File("b", 41)]),
            read(&[File(".wh.a", 0), File("c", 3)]),
        ];
        let analysis = analyse(&layers);
        let total: u64 = layers.iter().map(LayerFiles::file_bytes).sum();
        assert_eq!(analysis.hidden_bytes + analysis.visible_bytes, total);
        // a/x, a/y (opaque), b (overwritten), a/z (whiteout of a)
        assert_eq!(analysis.hidden_bytes, 10 + 20 + 40 + 5);
        assert_eq!(analysis.visible_bytes, 41 + 3);
    }

    #[test]
    fn an_opaque_dir_hides_only_lower_contents() {
        let layers = [
            read(&[Dir("d"), File("d/old", 50)]),
            // the marker may come after the layer's own files in the tar
            read(&[Dir("d"), File("d/new", 8), File("d/.wh..wh..opq", 0)]),
        ];
        let analysis = analyse(&layers);
        assert_eq!(analysis.hidden_bytes, 50);
        assert_eq!(analysis.visible_bytes, 8);
    }

    #[test]
    fn replacing_a_dir_by_a_file_or_a_file_by_a_dir_hides_the_old_bytes() {
        let layers = [
            read(&[Dir("x"), File("x/inner", 12), File("y", 30)]),
            read(&[File("x", 1), Dir("y"), File("y/z", 2)]),
        ];
        let analysis = analyse(&layers);
        assert_eq!(analysis.hidden_bytes, 42);
        assert_eq!(analysis.visible_bytes, 3);
    }

    #[test]
    fn a_whiteout_of_a_path_no_lower_layer_has_hides_nothing() {
        let layers = [read(&[File("a", 5)]), read(&[File(".wh.never", 0)])];
        assert_eq!(analyse(&layers).hidden_bytes, 0);
    }

    #[test]
    fn caches_left_in_the_final_filesystem_are_counted_by_kind() {
        let layers = [
            read(&[
                File(
                    "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease",
                    1000,
                ),
                File("var/lib/apt/lists/lock", 0),
                File("root/.npm/_cacache/index", 300),
                File("home/app/.cache/pip/wheels/x.whl", 70),
                File("usr/lib/apt/methods/http", 9),
            ]),
            // removed in a later layer: hidden, not a cache left behind
            read(&[File("root/.npm/_cacache/.wh.index", 0)]),
        ];
        let analysis = analyse(&layers);
        assert_eq!(analysis.caches, [("apt lists", 1000), ("pip cache", 70)]);
        assert_eq!(analysis.cache_bytes(), 1070);
        assert_eq!(analysis.cache_by_layer, [1070, 0]);
        assert_eq!(analysis.hidden_bytes, 300);
    }

    #[test]
    fn cache_paths_need_something_inside_the_cache_folder() {
        assert_eq!(cache_of("var/lib/apt/lists"), None);
        assert_eq!(cache_of("var/lib/apt/lists/x"), Some("apt lists"));
        assert_eq!(cache_of("var/lib/apt/listsx/x"), None);
        assert_eq!(cache_of("home/u/.npm/x"), Some("npm cache"));
        assert_eq!(cache_of("home/.npm/x"), None);
    }

    #[test]
    fn a_broken_tar_is_an_error_not_a_panic() {
        let mut bytes = layer_tar(&[File("a", 600)]);
        bytes.truncate(700);
        assert!(LayerFiles::read(&bytes[..]).is_err());
    }
}
