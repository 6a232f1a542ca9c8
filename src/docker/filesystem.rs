//! The final filesystem of an image, file by file: type, size, mode, owner, link target and a
//! digest of the content, read while the layer tars stream by (each file's bytes are hashed and
//! dropped), then stacked as [`super::layers`] stacks them. What is kept is the metadata of each
//! entry of each layer, never a file's bytes, except the few small files the proof reads whole
//! (dpkg's database: which packages are installed, and which files each owns).

use std::collections::HashMap;
use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use super::layers::{Change, LayerFiles};

/// What a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// A regular file, or a hard link (compared by what it holds, as the file it names).
    File,
    Dir,
    Symlink,
    Char,
    Block,
    Fifo,
    /// A whiteout or opaque marker (never in a final filesystem).
    Marker,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "folder",
            Kind::Symlink => "symlink",
            Kind::Char => "character device",
            Kind::Block => "block device",
            Kind::Fifo => "fifo",
            Kind::Marker => "whiteout",
        }
    }
}

/// One path as the layer tar gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub kind: Kind,
    /// Bytes of content (a hard link: its target's).
    pub size: u64,
    /// Permission bits, with setuid, setgid and sticky.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// A symlink's target.
    pub link: Option<Box<str>>,
    /// The BLAKE3 hash of the content of a file (a hard link: its target's): a hash made to be
    /// compared, several times cheaper than SHA-256, which was most of reading a saved image.
    pub digest: Option<[u8; 32]>,
}

/// The metadata of one layer's changes, in the order of its [`LayerFiles::changes`], and the
/// small files kept whole.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LayerMeta {
    pub entries: Vec<Meta>,
    pub kept: Vec<(String, Vec<u8>)>,
}

/// The most bytes of a kept file: a dpkg database larger than this is not read.
const MAX_KEPT: u64 = 32 * 1024 * 1024;

/// Files the proof reads whole: dpkg's status and the file list of each package.
pub fn keeps(path: &str) -> bool {
    path == "var/lib/dpkg/status"
        || path
            .strip_prefix("var/lib/dpkg/info/")
            .is_some_and(|name| name.ends_with(".list") && !name.contains('/'))
}

/// Reads a layer tar once: its changes, as [`LayerFiles::read`] gives them, and the metadata
/// of each.
pub fn read_layer<R: Read>(reader: R) -> io::Result<(LayerFiles, LayerMeta)> {
    let mut meta = LayerMeta::default();
    // contents of this layer's files, by path, for the hard links that name them
    let mut contents: HashMap<String, Meta> = HashMap::new();
    let files = LayerFiles::read_with(reader, |path, change, entry| {
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0) & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let mut item = Meta {
            kind: Kind::Marker,
            size: 0,
            mode,
            uid,
            gid,
            link: None,
            digest: None,
        };
        match change {
            Change::Whiteout | Change::Opaque => {}
            Change::Dir => item.kind = Kind::Dir,
            Change::File(size) if kind.is_file() => {
                item.kind = Kind::File;
                item.size = *size;
                let keep = keeps(path) && *size <= MAX_KEPT;
                let mut hasher = blake3::Hasher::new();
                let mut kept = Vec::new();
                let mut buf = [0u8; 64 * 1024];
                loop {
                    let n = entry.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    if keep {
                        kept.extend_from_slice(&buf[..n]);
                    }
                }
                item.digest = Some(hasher.finalize().into());
                contents.insert(path.to_string(), item.clone());
                if keep {
                    meta.kept.push((path.to_string(), kept));
                }
            }
            Change::File(_) => {
                // a hard link: the file it names, earlier in this layer (one inode: its
                // content, mode and owner)
                item.kind = Kind::File;
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                let target = target.trim_start_matches("./").trim_start_matches('/');
                if let Some(linked) = contents.get(target) {
                    item = linked.clone();
                }
            }
            Change::Other => {
                item.kind = if kind.is_symlink() {
                    Kind::Symlink
                } else if kind.is_character_special() {
                    Kind::Char
                } else if kind.is_block_special() {
                    Kind::Block
                } else {
                    Kind::Fifo
                };
                if kind.is_symlink() {
                    item.link = entry
                        .link_name_bytes()
                        .map(|t| String::from_utf8_lossy(&t).into_owned().into_boxed_str());
                }
            }
        }
        meta.entries.push(item);
        Ok(())
    })?;
    Ok((files, meta))
}

/// The final filesystem: every path (relative, `/`-separated) with what it is, in path order,
/// and the kept files that show there.
#[derive(Clone, Debug, Default)]
pub struct Filesystem {
    pub paths: Vec<(String, Meta)>,
    pub kept: HashMap<String, Vec<u8>>,
}

/// What the stacking carries for each path of a layer: its metadata, and its bytes when the
/// proof reads the file whole.
#[derive(Clone, Debug)]
pub struct Shown {
    pub meta: Meta,
    pub kept: Option<Vec<u8>>,
}

impl LayerMeta {
    /// One [`Shown`] per change of the layer `files` lists, in its order (consumes the metadata).
    pub fn into_shown(self, files: &LayerFiles) -> impl Iterator<Item = Shown> + '_ {
        let mut kept: HashMap<String, Vec<u8>> = self.kept.into_iter().collect();
        self.entries
            .into_iter()
            .zip(&files.changes)
            .map(move |(meta, (path, _))| Shown {
                kept: if kept.is_empty() {
                    None
                } else {
                    kept.remove(path)
                },
                meta,
            })
    }
}

impl Filesystem {
    /// The final filesystem from the stacking's final paths, in path order.
    pub fn from_shown(paths: Vec<(String, Shown)>) -> Filesystem {
        let mut kept = HashMap::new();
        let paths = paths
            .into_iter()
            .map(|(path, shown)| {
                if let Some(bytes) = shown.kept {
                    kept.insert(path.clone(), bytes);
                }
                (path, shown.meta)
            })
            .collect();
        Filesystem { paths, kept }
    }

    pub fn get(&self, path: &str) -> Option<&Meta> {
        self.paths
            .binary_search_by(|(p, _)| p.as_str().cmp(path))
            .ok()
            .map(|i| &self.paths[i].1)
    }

    /// Bytes of the files.
    pub fn file_bytes(&self) -> u64 {
        self.paths
            .iter()
            .filter(|(_, m)| m.kind == Kind::File)
            .map(|(_, m)| m.size)
            .sum()
    }

    /// Where `path` leads after symlinks (within this filesystem, at most 40 of them): the
    /// path and what is there, or `None` when it leads nowhere.
    pub fn resolve(&self, path: &str) -> Option<(String, &Meta)> {
        let mut parts: Vec<String> = Vec::new();
        let mut pending: Vec<String> = split(path).into_iter().rev().collect();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    parts.pop();
                    continue;
                }
                _ => {}
            }
            parts.push(part);
            let here = parts.join("/");
            let meta = self.get(&here)?;
            if meta.kind == Kind::Symlink {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = meta.link.as_deref().unwrap_or("");
                parts.pop();
                if target.starts_with('/') {
                    parts.clear();
                }
                for piece in split(target).into_iter().rev() {
                    pending.push(piece);
                }
            }
        }
        let here = parts.join("/");
        let meta = self.get(&here)?;
        Some((here, meta))
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::stack::Stacking;

    enum E<'a> {
        Dir(&'a str, u32),
        File(&'a str, &'a [u8], u32, u64),
        Hard(&'a str, &'a str),
        Sym(&'a str, &'a str),
        Whiteout(&'a str),
    }

    fn tar(entries: &[E<'_>]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for entry in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mtime(0);
            h.set_uid(0);
            h.set_gid(0);
            match entry {
                E::Dir(path, mode) => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(*mode);
                    h.set_size(0);
                    builder
                        .append_data(&mut h, format!("{path}/"), io::empty())
                        .unwrap();
                }
                E::File(path, data, mode, uid) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(*mode);
                    h.set_uid(*uid);
                    h.set_size(data.len() as u64);
                    builder.append_data(&mut h, path, *data).unwrap();
                }
                E::Hard(path, target) => {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    builder.append_link(&mut h, path, target).unwrap();
                }
                E::Sym(path, target) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_mode(0o777);
                    h.set_size(0);
                    builder.append_link(&mut h, path, target).unwrap();
                }
                E::Whiteout(path) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(0);
                    builder.append_data(&mut h, path, io::empty()).unwrap();
                }
            }
        }
        builder.into_inner().unwrap()
    }

    fn stack(layers: &[Vec<E<'_>>]) -> Filesystem {
        let mut stacking = Stacking::default();
        for layer in layers {
            let (files, meta) = read_layer(&tar(layer)[..]).unwrap();
            stacking.push(&files, meta.into_shown(&files));
        }
        Filesystem::from_shown(stacking.finish().1)
    }

    fn hash(data: &[u8]) -> [u8; 32] {
        blake3::hash(data).into()
    }

    #[test]
    fn each_path_has_its_type_size_mode_owner_link_and_digest() {
        let fs = stack(&[vec![
            E::Dir("bin", 0o755),
            E::File("bin/busybox", b"elf", 0o4755, 0),
            E::Hard("bin/sh", "bin/busybox"),
            E::Sym("bin/ash", "busybox"),
            E::File("etc/motd", b"hi", 0o600, 1000),
        ]]);
        let listing: Vec<(&str, Kind, u64, u32, u64)> = fs
            .paths
            .iter()
            .map(|(p, m)| (p.as_str(), m.kind, m.size, m.mode, m.uid))
            .collect();
        assert_eq!(
            listing,
            [
                ("bin", Kind::Dir, 0, 0o755, 0),
                ("bin/ash", Kind::Symlink, 0, 0o777, 0),
                ("bin/busybox", Kind::File, 3, 0o4755, 0),
                ("bin/sh", Kind::File, 3, 0o4755, 0),
                ("etc/motd", Kind::File, 2, 0o600, 1000),
            ]
        );
        assert_eq!(fs.get("bin/sh").unwrap().digest, Some(hash(b"elf")));
        assert_eq!(fs.get("bin/ash").unwrap().link.as_deref(), Some("busybox"));
        assert_eq!(fs.file_bytes(), 8);
    }

    #[test]
    fn upper_layers_win_and_a_folder_takes_its_topmost_mode() {
        let fs = stack(&[
            vec![
                E::Dir("app", 0o755),
                E::File("app/a", b"one", 0o644, 0),
                E::File("app/b", b"gone", 0o644, 0),
            ],
            vec![
                E::Dir("app", 0o700),
                E::File("app/a", b"two", 0o644, 0),
                E::Whiteout("app/.wh.b"),
            ],
        ]);
        let paths: Vec<&str> = fs.paths.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["app", "app/a"]);
        assert_eq!(fs.get("app").unwrap().mode, 0o700);
        assert_eq!(fs.get("app/a").unwrap().digest, Some(hash(b"two")));
    }

    #[test]
    fn dpkg_files_are_kept_whole_where_they_show() {
        let fs = stack(&[
            vec![
                E::File("var/lib/dpkg/status", b"old", 0o644, 0),
                E::File("var/lib/dpkg/info/curl.list", b"/usr/bin/curl\n", 0o644, 0),
                E::File("var/lib/dpkg/info/curl.md5sums", b"x", 0o644, 0),
            ],
            vec![E::File("var/lib/dpkg/status", b"new", 0o644, 0)],
        ]);
        assert_eq!(fs.kept["var/lib/dpkg/status"], b"new");
        assert_eq!(fs.kept["var/lib/dpkg/info/curl.list"], b"/usr/bin/curl\n");
        assert_eq!(fs.kept.len(), 2);
    }

    #[test]
    fn paths_resolve_through_symlinks_inside_the_image() {
        let fs = stack(&[vec![
            E::Dir("usr", 0o755),
            E::Dir("usr/bin", 0o755),
            E::File("usr/bin/python3.11", b"py", 0o755, 0),
            E::Sym("usr/bin/python3", "python3.11"),
            E::Sym("bin", "usr/bin"),
            E::Sym("loop", "loop"),
            E::Sym("dangling", "/nowhere"),
        ]]);
        let (path, meta) = fs.resolve("/bin/python3").unwrap();
        assert_eq!(path, "usr/bin/python3.11");
        assert_eq!(meta.kind, Kind::File);
        assert!(fs.resolve("loop").is_none());
        assert!(fs.resolve("dangling").is_none());
        assert!(fs.resolve("usr/bin/../bin/python3").is_some());
    }
}
