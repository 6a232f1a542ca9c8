//! The layers stacked as overlayfs stacks them, with the accounting `inspect` shows: for each
//! layer, the files it adds, changes and removes, which of its bytes later layers hide and which
//! it hides below it; the final filesystem's files with the layer each comes from; and every
//! hidden copy with the layer that hid it.
//!
//! Whiteouts and opaque folders apply to the layers below, whatever their place in the layer's
//! tar; a file where a later layer puts a folder (or the reverse) is replaced. Each hidden copy
//! of a path counts once, in the layer that holds it, so the hidden bytes of all layers add up
//! to what removing the waste would reclaim, and every stored byte is either hidden or visible.
//! It is the one stacking of both commands: `measure` reads its totals
//! ([`Stacked::analysis`]), its hidden copies and its final paths (for the proof's
//! [`super::filesystem::Filesystem`]) from the same [`Stacked`].

use std::collections::BTreeMap;

use super::layers::{Change, LayerFiles, cache_of};

/// What one layer did to the filesystem below it. Files are every entry but folders (regular
/// files, links, devices).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerStats {
    /// Bytes of the regular files in the layer's tar.
    pub file_bytes: u64,
    /// Files at paths the layers below do not have.
    pub added: usize,
    /// Files that replace a file of the layers below.
    pub changed: usize,
    /// Files of the layers below that this layer deletes (whiteouts, opaque folders, a file
    /// replaced by a folder or a folder by a file).
    pub removed: usize,
    /// Of this layer's bytes, those a later layer deletes or overwrites.
    pub hidden_bytes: u64,
    /// Bytes of the layers below that this layer deletes or overwrites.
    pub hides_bytes: u64,
}

/// A path of the final filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visible {
    /// The layer it comes from.
    pub layer: usize,
    /// The index of its entry among that layer's changes (a folder: the topmost one's, whose
    /// mode and owner it shows).
    pub change: usize,
    pub bytes: u64,
}

/// A copy of a file that a later layer hides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hidden {
    pub path: String,
    pub bytes: u64,
    /// The layer holding the copy.
    pub layer: usize,
    /// The layer that deletes or overwrites it.
    pub by: usize,
}

/// The stacked image.
#[derive(Clone, Debug, Default)]
pub struct Stacked {
    pub layers: Vec<LayerStats>,
    /// The final filesystem's files (every entry but folders), by path.
    pub files: BTreeMap<String, Visible>,
    /// The final filesystem's folders, by path.
    pub folders: BTreeMap<String, Visible>,
    /// Every hidden copy that holds bytes, in the order they were hidden.
    pub hidden: Vec<Hidden>,
}

impl Stacked {
    pub fn stored_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.file_bytes).sum()
    }

    pub fn hidden_bytes(&self) -> u64 {
        self.layers.iter().map(|l| l.hidden_bytes).sum()
    }

    pub fn visible_bytes(&self) -> u64 {
        self.files.values().map(|f| f.bytes).sum()
    }

    /// The totals `measure` shows: hidden bytes, visible bytes and the caches left, in all
    /// and per layer.
    pub fn analysis(&self) -> Analysis {
        let mut caches: Vec<(&'static str, u64)> = Vec::new();
        let mut cache_by_layer = vec![0u64; self.layers.len()];
        for (path, file) in &self.files {
            if file.bytes == 0 {
                continue;
            }
            if let Some(kind) = cache_of(path) {
                cache_by_layer[file.layer] += file.bytes;
                match caches.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, bytes)) => *bytes += file.bytes,
                    None => caches.push((kind, file.bytes)),
                }
            }
        }
        caches.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        Analysis {
            hidden_bytes: self.hidden_bytes(),
            hidden_by_layer: self.layers.iter().map(|l| l.hidden_bytes).collect(),
            visible_bytes: self.visible_bytes(),
            caches,
            cache_by_layer,
        }
    }

    /// Every path of the final filesystem, files and folders, in path order.
    pub fn into_paths(self) -> impl Iterator<Item = (String, Visible)> {
        let mut files = self.files.into_iter().peekable();
        let mut folders = self.folders.into_iter().peekable();
        std::iter::from_fn(move || match (files.peek(), folders.peek()) {
            (Some((file, _)), Some((folder, _))) if folder < file => folders.next(),
            (Some(_), _) => files.next(),
            (None, _) => folders.next(),
        })
    }
}

/// The stacking's totals, as `measure` shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Bytes of lower-layer files that a later layer deletes or overwrites.
    pub hidden_bytes: u64,
    /// Hidden bytes per layer that holds them (index into the layers given).
    pub hidden_by_layer: Vec<u64>,
    /// Bytes of the files of the final filesystem.
    pub visible_bytes: u64,
    /// Bytes of known caches in the final filesystem, per kind of cache, largest first.
    pub caches: Vec<(&'static str, u64)>,
    /// Those cache bytes per layer that left them (index into the layers given).
    pub cache_by_layer: Vec<u64>,
}

impl Analysis {
    pub fn cache_bytes(&self) -> u64 {
        self.caches.iter().map(|(_, b)| b).sum()
    }
}

#[derive(Clone, Copy, Debug)]
struct Node {
    layer: usize,
    change: usize,
    bytes: u64,
    dir: bool,
}

/// The stacking under way: layers pushed one at a time, lowest first, so that a caller may drop
/// each layer's list once it is stacked. Each change may carry a payload `P` of the caller's
/// (the proof's metadata of the path), kept while the path is visible and dropped as soon as a
/// later layer hides it; [`Stacking::finish`] gives the final paths' payloads.
pub struct Stacking<P = ()> {
    nodes: BTreeMap<String, (Node, P)>,
    layers: Vec<LayerStats>,
    hidden: Vec<Hidden>,
}

impl<P> Default for Stacking<P> {
    fn default() -> Self {
        Stacking {
            nodes: BTreeMap::new(),
            layers: Vec::new(),
            hidden: Vec::new(),
        }
    }
}

impl<P> Stacking<P> {
    /// How many paths the filesystem stacked so far holds.
    pub fn paths(&self) -> usize {
        self.nodes.len()
    }

    /// How many layers are stacked.
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// Takes `path` out of the filesystem: hidden by layer `by`.
    fn remove(&mut self, path: &str, by: usize) -> Option<Node> {
        let (path, (node, _)) = self.nodes.remove_entry(path)?;
        if !node.dir {
            self.layers[by].removed += 1;
        }
        self.hide(path, node, by);
        Some(node)
    }

    /// Removes everything strictly below the folder `dir`.
    fn remove_below(&mut self, dir: &str, by: usize) {
        let prefix = format!("{dir}/");
        let below: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .map(|(path, _)| path.clone())
            .collect();
        for path in below {
            self.remove(&path, by);
        }
    }

    fn hide(&mut self, path: String, node: Node, by: usize) {
        if node.bytes == 0 {
            return;
        }
        self.layers[node.layer].hidden_bytes += node.bytes;
        self.layers[by].hides_bytes += node.bytes;
        self.hidden.push(Hidden {
            path,
            bytes: node.bytes,
            layer: node.layer,
            by,
        });
    }

    /// Stacks the next layer on those below, with one payload per change, in order (a
    /// whiteout's is dropped).
    pub fn push(&mut self, layer: &LayerFiles, payloads: impl IntoIterator<Item = P>) {
        let index = self.layers.len();
        self.layers.push(LayerStats {
            file_bytes: layer.file_bytes(),
            ..LayerStats::default()
        });
        for (path, change) in &layer.changes {
            match change {
                Change::Opaque => self.remove_below(path, index),
                Change::Whiteout => {
                    self.remove(path, index);
                    self.remove_below(path, index);
                }
                _ => {}
            }
        }
        let mut payloads = payloads.into_iter();
        for (at, (path, change)) in layer.changes.iter().enumerate() {
            // one each, as the caller gives them
            let Some(payload) = payloads.next() else {
                break;
            };
            let (bytes, dir) = match change {
                Change::File(bytes) => (*bytes, false),
                Change::Dir => (0, true),
                Change::Other => (0, false),
                Change::Whiteout | Change::Opaque => continue,
            };
            // A file where the new path needs a folder is replaced by that folder.
            for (slash, _) in path.match_indices('/') {
                if self.nodes.get(&path[..slash]).is_some_and(|(n, _)| !n.dir) {
                    self.remove(&path[..slash], index);
                }
            }
            let old = self.nodes.get(path).map(|(n, _)| *n);
            match old {
                // a folder again: it stays, and shows its topmost entry's mode and owner
                Some(old) if old.dir && dir => {
                    let (node, shown) = self.nodes.get_mut(path).expect("present");
                    (node.layer, node.change) = (index, at);
                    *shown = payload;
                    continue;
                }
                Some(old) if !old.dir && !dir => {
                    // the same path written again: a change, not a removal
                    let (path, (old, _)) = self.nodes.remove_entry(path).expect("present");
                    self.hide(path, old, index);
                    self.layers[index].changed += 1;
                }
                Some(old) => {
                    self.remove(path, index);
                    if old.dir {
                        self.remove_below(path, index);
                    }
                    if !dir {
                        self.layers[index].added += 1;
                    }
                }
                None if !dir => self.layers[index].added += 1,
                None => {}
            }
            let node = Node {
                layer: index,
                change: at,
                bytes,
                dir,
            };
            self.nodes.insert(path.clone(), (node, payload));
        }
    }

    /// The stacked image, and each final path's payload, in path order.
    pub fn finish(self) -> (Stacked, Vec<(String, P)>) {
        let (mut files, mut folders) = (BTreeMap::new(), BTreeMap::new());
        let mut payloads = Vec::with_capacity(self.nodes.len());
        for (path, (n, payload)) in self.nodes {
            let visible = Visible {
                layer: n.layer,
                change: n.change,
                bytes: n.bytes,
            };
            if n.dir {
                folders.insert(path.clone(), visible);
            } else {
                files.insert(path.clone(), visible);
            }
            payloads.push((path, payload));
        }
        let stacked = Stacked {
            layers: self.layers,
            files,
            folders,
            hidden: self.hidden,
        };
        (stacked, payloads)
    }
}

/// Stacks the layers, lowest first.
pub fn stack(layers: &[LayerFiles]) -> Stacked {
    let mut s = Stacking::<()>::default();
    for layer in layers {
        s.push(layer, std::iter::repeat(()));
    }
    s.finish().0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn layer(changes: &[(&str, Change)]) -> LayerFiles {
        LayerFiles {
            changes: changes
                .iter()
                .map(|(p, c)| (p.to_string(), c.clone()))
                .collect(),
        }
    }

    use Change::{Dir, File, Opaque, Whiteout};

    #[test]
    fn a_file_deleted_later_is_hidden_by_the_deleting_layer() {
        let layers = [
            layer(&[
                ("data", Dir),
                ("data/big", File(5000)),
                ("data/small", File(7)),
            ]),
            layer(&[("data/big", Whiteout)]),
        ];
        let s = stack(&layers);
        assert_eq!(s.layers[0].hidden_bytes, 5000);
        assert_eq!(s.layers[1].hides_bytes, 5000);
        assert_eq!(s.layers[1].removed, 1);
        assert_eq!(s.layers[0].added, 2);
        assert_eq!(
            s.hidden,
            [Hidden {
                path: "data/big".into(),
                bytes: 5000,
                layer: 0,
                by: 1
            }]
        );
        assert_eq!(
            s.files.keys().collect::<Vec<_>>(),
            [&"data/small".to_string()]
        );
    }

    #[test]
    fn a_file_written_again_is_a_change_and_each_lower_copy_counts_once() {
        let layers = [
            layer(&[("app.bin", File(100))]),
            layer(&[("app.bin", File(200))]),
            layer(&[("app.bin", File(300)), ("new", File(1))]),
        ];
        let s = stack(&layers);
        let hidden: Vec<u64> = s.layers.iter().map(|l| l.hidden_bytes).collect();
        assert_eq!(hidden, [100, 200, 0]);
        let hides: Vec<u64> = s.layers.iter().map(|l| l.hides_bytes).collect();
        assert_eq!(hides, [0, 100, 200]);
        assert_eq!((s.layers[2].added, s.layers[2].changed), (1, 1));
        assert_eq!(s.layers[2].removed, 0);
        assert_eq!(
            s.files["app.bin"],
            Visible {
                layer: 2,
                change: 0,
                bytes: 300
            }
        );
    }

    #[test]
    fn an_opaque_or_deleted_folder_removes_what_is_below_it() {
        let layers = [
            layer(&[
                ("d", Dir),
                ("d/a", File(10)),
                ("d/b", File(20)),
                ("e/x", File(4)),
            ]),
            layer(&[("d", Dir), ("d/new", File(8)), ("d", Opaque)]),
            layer(&[("e", Whiteout)]),
        ];
        let s = stack(&layers);
        assert_eq!(s.layers[1].removed, 2);
        assert_eq!(s.layers[1].hides_bytes, 30);
        assert_eq!(s.layers[2].removed, 1);
        assert_eq!(s.layers[2].hides_bytes, 4);
        assert_eq!(s.visible_bytes(), 8);
    }

    #[test]
    fn a_folder_replaced_by_a_file_hides_its_contents() {
        let layers = [
            layer(&[("x", Dir), ("x/inner", File(12)), ("y", File(30))]),
            layer(&[("x", File(1)), ("y", Dir), ("y/z", File(2))]),
        ];
        let s = stack(&layers);
        assert_eq!(s.layers[1].hides_bytes, 42);
        assert_eq!((s.layers[1].added, s.layers[1].removed), (2, 2));
        assert_eq!(s.visible_bytes(), 3);
    }

    fn any_change() -> impl Strategy<Value = (String, Change)> {
        let path = prop::sample::select(vec!["a", "b", "a/x", "a/y", "b/z", "a/x/q", "c"]);
        let change = prop_oneof![
            (0u64..1000).prop_map(File),
            Just(Dir),
            Just(Change::Other),
            Just(Whiteout),
            Just(Opaque),
        ];
        (path, change).prop_map(|(p, c)| (p.to_string(), c))
    }

    proptest! {
        /// Every stored byte is hidden or visible, each hidden byte is hidden by one layer and
        /// named by one hidden copy, and `measure`'s totals are the stacking's.
        #[test]
        fn every_stored_byte_is_hidden_or_visible_once(
            layers in prop::collection::vec(prop::collection::vec(any_change(), 0..8), 1..5)
        ) {
            let layers: Vec<LayerFiles> =
                layers.into_iter().map(|changes| LayerFiles { changes }).collect();
            let s = stack(&layers);
            let a = s.analysis();
            prop_assert_eq!(a.hidden_bytes, s.hidden_bytes());
            prop_assert_eq!(a.visible_bytes, s.visible_bytes());
            prop_assert_eq!(a.hidden_by_layer.iter().sum::<u64>(), a.hidden_bytes);
            prop_assert_eq!(s.hidden_bytes() + s.visible_bytes(), s.stored_bytes());
            let hides: u64 = s.layers.iter().map(|l| l.hides_bytes).sum();
            prop_assert_eq!(hides, s.hidden_bytes());
            prop_assert_eq!(s.hidden.iter().map(|h| h.bytes).sum::<u64>(), s.hidden_bytes());
            // the final paths: in order, each once, each pointing at its own layer's entry
            let paths: Vec<(String, Visible)> = s.into_paths().collect();
            prop_assert!(paths.windows(2).all(|w| w[0].0 < w[1].0));
            for (path, v) in &paths {
                let (at, _) = &layers[v.layer].changes[v.change];
                prop_assert_eq!(at, path);
            }
        }
    }
}
