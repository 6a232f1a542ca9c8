//! Where the bytes sit: the largest files and folders of the final filesystem, the largest
//! hidden ones, and the tree of folders the HTML report folds open.
//!
//! A folder is listed among the largest when no folder directly inside it holds more than half
//! its bytes: `/usr/lib/x86_64-linux-gnu` rather than `/usr` and `/usr/lib` above it, which
//! would only repeat it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::docker::stack::{Hidden, Visible};
pub use crate::picture::html::Folder;

/// A file of the final filesystem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    pub path: String,
    pub size_bytes: u64,
    /// The layer it comes from.
    pub layer: usize,
}

/// A folder of the final filesystem, with everything below it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderEntry {
    pub path: String,
    pub size_bytes: u64,
    pub files: usize,
}

/// A hidden file, or a folder of hidden files: stored in `layer`, deleted or overwritten by
/// `hidden_by` (for a folder, the pair that holds most of its bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HiddenEntry {
    pub path: String,
    pub size_bytes: u64,
    pub files: usize,
    pub layer: usize,
    pub hidden_by: usize,
}

/// `a/b` → `/a/b`: paths are shown from the root.
fn rooted(path: &str) -> String {
    format!("/{path}")
}

/// The folders above `path`, nearest first, the root (`""`) last.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(path);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.rsplit_once('/') {
            Some((parent, _)) => {
                rest = Some(parent);
                Some(parent)
            }
            None => {
                rest = None;
                Some("")
            }
        }
    })
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// The `top` largest files, largest first (ties by path).
pub fn largest_files(files: &BTreeMap<String, Visible>, top: usize) -> Vec<FileEntry> {
    let mut all: Vec<(&String, &Visible)> = files.iter().filter(|(_, v)| v.bytes > 0).collect();
    all.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
    all.into_iter()
        .take(top)
        .map(|(path, v)| FileEntry {
            path: rooted(path),
            size_bytes: v.bytes,
            layer: v.layer,
        })
        .collect()
}

/// Bytes and files below each folder (the root is `""`).
#[derive(Clone, Copy, Debug, Default)]
struct Total {
    bytes: u64,
    files: usize,
}

fn folder_totals<'a>(entries: impl Iterator<Item = (&'a str, u64)>) -> HashMap<&'a str, Total> {
    let mut totals: HashMap<&str, Total> = HashMap::new();
    for (path, bytes) in entries {
        for folder in ancestors(path) {
            let total = totals.entry(folder).or_default();
            total.bytes += bytes;
            total.files += 1;
        }
    }
    totals
}

/// The folders (not the root) in which the bytes sit: no folder directly inside holds more
/// than half of theirs. Largest first, ties by path.
fn concentrated<'a>(totals: &HashMap<&'a str, Total>) -> Vec<(&'a str, Total)> {
    let mut largest_child: HashMap<&str, u64> = HashMap::new();
    for (&folder, total) in totals {
        if !folder.is_empty() {
            let slot = largest_child.entry(parent(folder)).or_default();
            *slot = (*slot).max(total.bytes);
        }
    }
    let mut out: Vec<(&str, Total)> = totals
        .iter()
        .filter(|(folder, total)| {
            !folder.is_empty()
                && total.bytes > 0
                && largest_child.get(*folder).copied().unwrap_or(0) * 2 <= total.bytes
        })
        .map(|(f, t)| (*f, *t))
        .collect();
    out.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
    out
}

/// The `top` largest folders where the final filesystem's bytes sit.
pub fn largest_folders(files: &BTreeMap<String, Visible>, top: usize) -> Vec<FolderEntry> {
    let totals = folder_totals(files.iter().map(|(p, v)| (p.as_str(), v.bytes)));
    concentrated(&totals)
        .into_iter()
        .take(top)
        .map(|(path, total)| FolderEntry {
            path: rooted(path),
            size_bytes: total.bytes,
            files: total.files,
        })
        .collect()
}

/// The `top` largest hidden files and folders of hidden files, largest first; a file inside a
/// folder already listed is not listed again.
pub fn largest_hidden(hidden: &[Hidden], top: usize) -> Vec<HiddenEntry> {
    let totals = folder_totals(hidden.iter().map(|h| (h.path.as_str(), h.bytes)));
    // per folder, the bytes of each (stored in, hidden by) pair
    let mut pairs: HashMap<&str, HashMap<(usize, usize), u64>> = HashMap::new();
    for h in hidden {
        for folder in ancestors(&h.path) {
            *pairs
                .entry(folder)
                .or_default()
                .entry((h.layer, h.by))
                .or_default() += h.bytes;
        }
    }
    let mut candidates: Vec<HiddenEntry> = concentrated(&totals)
        .into_iter()
        .filter(|(_, total)| total.files > 1)
        .map(|(folder, total)| {
            let ((layer, by), _) = pairs[folder]
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(k, v)| (*k, *v))
                .unwrap_or(((0, 0), 0));
            HiddenEntry {
                path: rooted(folder),
                size_bytes: total.bytes,
                files: total.files,
                layer,
                hidden_by: by,
            }
        })
        .collect();
    candidates.extend(hidden.iter().map(|h| HiddenEntry {
        path: rooted(&h.path),
        size_bytes: h.bytes,
        files: 1,
        layer: h.layer,
        hidden_by: h.by,
    }));
    candidates.sort_by(|a, b| {
        b.size_bytes
            .cmp(&a.size_bytes)
            .then(b.files.cmp(&a.files))
            .then(a.path.cmp(&b.path))
    });
    let mut out: Vec<HiddenEntry> = Vec::new();
    for candidate in candidates {
        if out.len() == top {
            break;
        }
        let inside = out.iter().any(|listed| {
            listed.files > 1 && candidate.path.starts_with(&format!("{}/", listed.path))
        });
        if !inside {
            out.push(candidate);
        }
    }
    out
}

/// Entries shown per folder at most, and the least share of the image an entry needs to be
/// shown.
const SHOWN_PER_FOLDER: usize = 12;
const SHOWN_SHARE: f64 = 0.002;

/// The tree of the final filesystem's folders, cut to the entries that matter: at most
/// [`SHOWN_PER_FOLDER`] per folder, each holding at least [`SHOWN_SHARE`] of the whole.
pub fn tree(files: &BTreeMap<String, Visible>) -> Folder {
    let totals = folder_totals(files.iter().map(|(p, v)| (p.as_str(), v.bytes)));
    let mut sub: HashMap<&str, Vec<&str>> = HashMap::new();
    for &folder in totals.keys() {
        if !folder.is_empty() {
            sub.entry(parent(folder)).or_default().push(folder);
        }
    }
    let mut leaves: HashMap<&str, Vec<(&str, u64)>> = HashMap::new();
    for (path, v) in files {
        leaves
            .entry(parent(path))
            .or_default()
            .push((path.as_str(), v.bytes));
    }
    let whole = totals.get("").map_or(0, |t| t.bytes);
    let least = (whole as f64 * SHOWN_SHARE) as u64;
    let tables = Tables {
        totals: &totals,
        sub: &sub,
        leaves: &leaves,
        least,
    };
    tables.folder("")
}

struct Tables<'a, 'b> {
    totals: &'b HashMap<&'a str, Total>,
    sub: &'b HashMap<&'a str, Vec<&'a str>>,
    leaves: &'b HashMap<&'a str, Vec<(&'a str, u64)>>,
    least: u64,
}

impl Tables<'_, '_> {
    fn folder(&self, path: &str) -> Folder {
        let total = self.totals.get(path).copied().unwrap_or_default();
        let name = path.rsplit('/').next().unwrap_or(path);
        let mut entries: Vec<(bool, &str, u64)> = Vec::new();
        for &folder in self.sub.get(path).into_iter().flatten() {
            entries.push((true, folder, self.totals[folder].bytes));
        }
        for &(file, bytes) in self.leaves.get(path).into_iter().flatten() {
            entries.push((false, file, bytes));
        }
        entries.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(b.1)));
        let mut out = Folder {
            name: if path.is_empty() {
                "/".into()
            } else {
                name.into()
            },
            path: rooted(path),
            bytes: total.bytes,
            files: total.files,
            ..Folder::default()
        };
        for (i, (is_folder, entry, bytes)) in entries.into_iter().enumerate() {
            if i >= SHOWN_PER_FOLDER || bytes < self.least || bytes == 0 {
                out.more.0 += 1;
                out.more.1 += bytes;
            } else if is_folder {
                out.folders.push(self.folder(entry));
            } else {
                let name = entry.rsplit('/').next().unwrap_or(entry);
                out.leaves.push((name.to_string(), bytes));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, u64, usize)]) -> BTreeMap<String, Visible> {
        list.iter()
            .map(|(p, b, l)| {
                (
                    p.to_string(),
                    Visible {
                        layer: *l,
                        change: 0,
                        bytes: *b,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn the_largest_folders_are_where_the_bytes_sit() {
        let fs = files(&[
            ("usr/lib/x86/libc.so", 600, 0),
            ("usr/lib/x86/libm.so", 300, 0),
            ("usr/lib/other", 50, 0),
            ("usr/bin/sh", 200, 0),
            ("usr/bin/ls", 150, 0),
            ("etc/passwd", 10, 1),
        ]);
        let folders = largest_folders(&fs, 10);
        let shown: Vec<(&str, u64, usize)> = folders
            .iter()
            .map(|f| (f.path.as_str(), f.size_bytes, f.files))
            .collect();
        // /usr and /usr/lib each have a folder inside holding most of their bytes
        assert_eq!(
            shown,
            [
                ("/usr/lib/x86", 900, 2),
                ("/usr/bin", 350, 2),
                ("/etc", 10, 1)
            ]
        );
        let largest = largest_files(&fs, 2);
        assert_eq!(largest[0].path, "/usr/lib/x86/libc.so");
        assert_eq!(largest[1].size_bytes, 300);
    }

    #[test]
    fn hidden_files_are_listed_by_folder_when_many_share_one() {
        let hide = |path: &str, bytes, layer, by| Hidden {
            path: path.into(),
            bytes,
            layer,
            by,
        };
        let hidden = [
            hide("var/lib/apt/lists/a", 400, 1, 2),
            hide("var/lib/apt/lists/b", 300, 1, 2),
            hide("var/lib/apt/lists/c", 500, 1, 2),
            hide("big.tar", 1000, 0, 3),
            hide("small", 3, 0, 3),
        ];
        let listed = largest_hidden(&hidden, 3);
        let shown: Vec<(&str, u64, usize, usize, usize)> = listed
            .iter()
            .map(|h| (h.path.as_str(), h.size_bytes, h.files, h.layer, h.hidden_by))
            .collect();
        assert_eq!(
            shown,
            [
                ("/var/lib/apt/lists", 1200, 3, 1, 2),
                ("/big.tar", 1000, 1, 0, 3),
                ("/small", 3, 1, 0, 3),
            ]
        );
    }

    #[test]
    fn the_tree_keeps_the_big_entries_and_sums_the_rest() {
        let mut list: Vec<(String, u64, usize)> = vec![("app/big.bin".into(), 1_000_000, 1)];
        for i in 0..20 {
            list.push((format!("app/small/{i:02}"), 10, 1));
        }
        let refs: Vec<(&str, u64, usize)> =
            list.iter().map(|(p, b, l)| (p.as_str(), *b, *l)).collect();
        let root = tree(&files(&refs));
        assert_eq!(root.bytes, 1_000_200);
        assert_eq!(root.files, 21);
        let app = &root.folders[0];
        assert_eq!(app.path, "/app");
        assert_eq!(app.leaves, [("big.bin".to_string(), 1_000_000)]);
        // app/small holds 200 bytes, less than 0.2% of the whole: summed, not shown
        assert_eq!(app.more, (1, 200));
    }
}
