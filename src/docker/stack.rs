//! The layers stacked as overlayfs stacks them, with the accounting `inspect` shows: for each
//! layer, the files it adds, changes and removes, which of its bytes later layers hide and which
//! it hides below it; the final filesystem's files with the layer each comes from; and every
//! hidden copy with the layer that hid it.
//!
//! Whiteouts and opaque folders apply to the layers below, whatever their place in the layer's
//! tar; a file where a later layer puts a folder (or the reverse) is replaced. Each hidden copy
//! of a path counts once, in the layer that holds it, so the hidden bytes of all layers add up
//! to what removing the waste would reclaim, and every stored byte is either hidden or visible.
//! [`super::layers::analyse`] gives `measure` the totals of the same stacking.

use std::collections::BTreeMap;

use super::layers::{Change, LayerFiles};

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

/// A file of the final filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visible {
    /// The layer it comes from.
    pub layer: usize,
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
    /// The final filesystem's files (folders left out), by path.
    pub files: BTreeMap<String, Visible>,
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
}

#[derive(Clone, Copy, Debug)]
struct Node {
    layer: usize,
    bytes: u64,
    dir: bool,
}

struct Stacking {
    nodes: BTreeMap<String, Node>,
    layers: Vec<LayerStats>,
    hidden: Vec<Hidden>,
}

impl Stacking {
    /// Takes `path` out of the filesystem: hidden by layer `by`.
    fn remove(&mut self, path: &str, by: usize) -> Option<Node> {
        let (path, node) = self.nodes.remove_entry(path)?;
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
}

/// Stacks the layers, lowest first.
pub fn stack(layers: &[LayerFiles]) -> Stacked {
    let mut s = Stacking {
        nodes: BTreeMap::new(),
        layers: layers
            .iter()
            .map(|l| LayerStats {
                file_bytes: l.file_bytes(),
                ..LayerStats::default()
            })
            .collect(),
        hidden: Vec::new(),
    };
    for (index, layer) in layers.iter().enumerate() {
        for (path, change) in &layer.changes {
            match change {
                Change::Opaque => s.remove_below(path, index),
                Change::Whiteout => {
                    s.remove(path, index);
                    s.remove_below(path, index);
                }
                _ => {}
            }
        }
        for (path, change) in &layer.changes {
            let (bytes, dir) = match change {
                Change::File(bytes) => (*bytes, false),
                Change::Dir => (0, true),
                Change::Other => (0, false),
                Change::Whiteout | Change::Opaque => continue,
            };
            // A file where the new path needs a folder is replaced by that folder.
            for (slash, _) in path.match_indices('/') {
                if s.nodes.get(&path[..slash]).is_some_and(|n| !n.dir) {
                    s.remove(&path[..slash], index);
                }
            }
            match s.nodes.get(path.as_str()).copied() {
                Some(old) if old.dir && dir => continue,
                Some(old) if !old.dir && !dir => {
                    // the same path written again: a change, not a removal
                    let (path, old) = s.nodes.remove_entry(path.as_str()).expect("present");
                    s.hide(path, old, index);
                    s.layers[index].changed += 1;
                }
                Some(old) => {
                    s.remove(path, index);
                    if old.dir {
                        s.remove_below(path, index);
                    }
                    if !dir {
                        s.layers[index].added += 1;
                    }
                }
                None if !dir => s.layers[index].added += 1,
                None => {}
            }
            s.nodes.insert(
                path.clone(),
                Node {
                    layer: index,
                    bytes,
                    dir,
                },
            );
        }
    }
    let files = s
        .nodes
        .into_iter()
        .filter(|(_, n)| !n.dir)
        .map(|(path, n)| {
            (
                path,
                Visible {
                    layer: n.layer,
                    bytes: n.bytes,
                },
            )
        })
        .collect();
    Stacked {
        layers: s.layers,
        files,
        hidden: s.hidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::layers::analyse;
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
        /// The same stacking as measure's: the same hidden and visible totals, and every stored
        /// byte is one or the other.
        #[test]
        fn agrees_with_measures_analysis(
            layers in prop::collection::vec(prop::collection::vec(any_change(), 0..8), 1..5)
        ) {
            let layers: Vec<LayerFiles> =
                layers.into_iter().map(|changes| LayerFiles { changes }).collect();
            let s = stack(&layers);
            let a = analyse(&layers);
            prop_assert_eq!(s.hidden_bytes(), a.hidden_bytes);
            prop_assert_eq!(s.visible_bytes(), a.visible_bytes);
            let per_layer: Vec<u64> = s.layers.iter().map(|l| l.hidden_bytes).collect();
            prop_assert_eq!(per_layer, a.hidden_by_layer);
            prop_assert_eq!(s.hidden_bytes() + s.visible_bytes(), s.stored_bytes());
            let hides: u64 = s.layers.iter().map(|l| l.hides_bytes).sum();
            prop_assert_eq!(hides, s.hidden_bytes());
            prop_assert_eq!(s.hidden.iter().map(|h| h.bytes).sum::<u64>(), s.hidden_bytes());
        }
    }
}
