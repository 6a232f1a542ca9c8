//! An image as `docker save` gives it: its config (history and layer digests) and each layer's
//! files, read from one streamed tar without unpacking it to disk.
//!
//! Two layouts exist: Docker before 25 writes `<id>/layer.tar` per layer, a `<config>.json` and
//! a `manifest.json`, and repeats a layer already written as a symlink to the first copy; Docker
//! 25 and later (and Podman) write an OCI layout with every file under `blobs/sha256/`. Both
//! have a `manifest.json` that names the config and the layers in order, and it comes last, so
//! every layer tar is read as it streams by and put in order at the end.

use std::collections::HashMap;
use std::io::Read;

use bollard::Docker;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::DockerError;
use super::layers::{Analysis, LayerFiles, analyse};

/// What the saved image holds, layers lowest first.
#[derive(Clone, Debug, Default)]
pub struct SavedImage {
    pub history: Vec<HistoryEntry>,
    /// One per layer, lowest first (`rootfs.diff_ids`).
    pub diff_ids: Vec<String>,
    pub layers: Vec<LayerFiles>,
}

/// One step of the image's history, oldest first. Steps without a layer (ENV, CMD, …) are
/// `empty_layer`; every other step takes the next layer.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub empty_layer: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("reading the saved image: {0}")]
    Io(#[from] std::io::Error),
    #[error("the saved image has no manifest.json")]
    NoManifest,
    #[error("the saved image's {what} is not what Docker writes: {reason}")]
    Format { what: String, reason: String },
    #[error("the saved image lacks {0}, which its manifest names")]
    Missing(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    history: Vec<HistoryEntry>,
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// Small files are kept to be read as JSON (configs, manifests); anything larger is a layer.
const MAX_JSON: u64 = 16 * 1024 * 1024;
const BLOCK: usize = 512;

impl SavedImage {
    /// Reads a `docker save` tar of one image.
    pub fn read(reader: impl Read) -> Result<SavedImage, SaveError> {
        let mut archive = tar::Archive::new(reader);
        let mut small: HashMap<String, Vec<u8>> = HashMap::new();
        let mut layers: HashMap<String, LayerFiles> = HashMap::new();
        let mut aliases: HashMap<String, String> = HashMap::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = clean(&String::from_utf8_lossy(&entry.path_bytes()));
            let kind = entry.header().entry_type();
            if kind.is_symlink() {
                if let Ok(Some(target)) = entry.link_name() {
                    let target = resolve(&path, &target.to_string_lossy());
                    aliases.insert(path, target);
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let size = entry.header().size()?;
            // A tar starts with a header block holding `ustar` at offset 257; an empty layer is
            // just the two zero blocks that end an archive.
            let mut first = vec![0u8; BLOCK.min(size as usize)];
            entry.read_exact(&mut first)?;
            let is_tar = first.len() == BLOCK
                && (&first[257..262] == b"ustar" || first.iter().all(|&b| b == 0));
            if is_tar {
                let files = LayerFiles::read(std::io::Cursor::new(first).chain(&mut entry))?;
                layers.insert(path, files);
            } else if size <= MAX_JSON {
                let mut bytes = first;
                entry.read_to_end(&mut bytes)?;
                small.insert(path, bytes);
            }
        }
        let lookup = |path: &str| -> String {
            let mut path = clean(path);
            // a chain of symlinks, bounded so a loop cannot hang
            for _ in 0..8 {
                match aliases.get(&path) {
                    Some(target) => path = target.clone(),
                    None => break,
                }
            }
            path
        };
        let manifest = small.get("manifest.json").ok_or(SaveError::NoManifest)?;
        let manifest: Vec<ManifestEntry> =
            serde_json::from_slice(manifest).map_err(|e| SaveError::Format {
                what: "manifest.json".into(),
                reason: e.to_string(),
            })?;
        let [entry] = &manifest[..] else {
            return Err(SaveError::Format {
                what: "manifest.json".into(),
                reason: format!("{} images where one was saved", manifest.len()),
            });
        };
        let config_bytes = small
            .get(&lookup(&entry.config))
            .ok_or_else(|| SaveError::Missing(entry.config.clone()))?;
        let config: Config =
            serde_json::from_slice(config_bytes).map_err(|e| SaveError::Format {
                what: entry.config.clone(),
                reason: e.to_string(),
            })?;
        let mut ordered = Vec::with_capacity(entry.layers.len());
        for layer in &entry.layers {
            let files = layers
                .get(&lookup(layer))
                .ok_or_else(|| SaveError::Missing(layer.clone()))?;
            ordered.push(files.clone());
        }
        Ok(SavedImage {
            history: config.history,
            diff_ids: config.rootfs.diff_ids,
            layers: ordered,
        })
    }
}

/// One step of a built image's history, oldest first, with the size Docker gives its layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryItem {
    pub created_by: String,
    /// A step that made no layer (ENV, CMD, …).
    pub empty_layer: bool,
    pub size_bytes: u64,
}

/// What reading a built image gives.
#[derive(Clone, Debug)]
pub struct ImageFacts {
    /// The image's size as `docker images` gives it.
    pub total_bytes: u64,
    pub history: Vec<HistoryItem>,
    pub layer_count: usize,
    pub analysis: Analysis,
}

/// Inspects, saves and analyses one image: sizes from `docker history`, the layer map from the
/// saved config, hidden and cache bytes from the layer tars (streamed, never on disk).
pub async fn read_image(client: &Docker, id: &str) -> Result<ImageFacts, DockerError> {
    let inspect = client
        .inspect_image(id)
        .await
        .map_err(DockerError::api(format!("inspecting image {id}")))?;
    let api_history = client
        .image_history(id)
        .await
        .map_err(DockerError::api(format!(
            "reading the history of image {id}"
        )))?;
    let stream = Box::pin(
        client
            .export_image(id)
            .map(|chunk| chunk.map_err(|e| std::io::Error::other(super::reason(&e)))),
    );
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let saved = tokio::task::spawn_blocking(move || SavedImage::read(reader))
        .await
        .map_err(|e| DockerError::Api {
            what: format!("saving image {id}"),
            reason: e.to_string(),
        })??;
    let with_layers = saved.history.iter().filter(|h| !h.empty_layer).count();
    if with_layers != saved.layers.len() || saved.diff_ids.len() != saved.layers.len() {
        return Err(SaveError::Format {
            what: "image config".into(),
            reason: format!(
                "{with_layers} history steps with a layer, {} layer digests, {} layers",
                saved.diff_ids.len(),
                saved.layers.len()
            ),
        }
        .into());
    }
    // `docker history` is newest first, one item per config step.
    let sizes: Option<Vec<u64>> = (api_history.len() == saved.history.len()).then(|| {
        api_history
            .iter()
            .rev()
            .map(|h| h.size.max(0) as u64)
            .collect()
    });
    let mut layer = 0;
    let history = saved
        .history
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let size_bytes = if h.empty_layer {
                0
            } else {
                layer += 1;
                match &sizes {
                    Some(sizes) => sizes[i],
                    None => saved.layers[layer - 1].file_bytes(),
                }
            };
            HistoryItem {
                created_by: h.created_by.clone(),
                empty_layer: h.empty_layer,
                size_bytes,
            }
        })
        .collect();
    Ok(ImageFacts {
        total_bytes: inspect.size.unwrap_or(0).max(0) as u64,
        history,
        layer_count: saved.layers.len(),
        analysis: analyse(&saved.layers),
    })
}

fn clean(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_end_matches('/')
        .to_string()
}

/// A symlink's target, relative to the link's folder, as a path from the archive root.
fn resolve(link: &str, target: &str) -> String {
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).unwrap();
    }

    fn layer(files: &[(&str, usize)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, size) in files {
            add(&mut builder, path, &vec![b'z'; *size]);
        }
        builder.into_inner().unwrap()
    }

    const CONFIG: &str = r#"{"rootfs":{"type":"layers","diff_ids":["sha256:a","sha256:b","sha256:a"]},
        "history":[{"created_by":"/bin/sh -c #(nop) ADD file:x in /"},
                   {"created_by":"/bin/sh -c #(nop)  ENV A=1","empty_layer":true},
                   {"created_by":"/bin/sh -c touch /t"},
                   {"created_by":"/bin/sh -c true"}]}"#;

    #[test]
    fn reads_the_legacy_layout_with_a_repeated_layer_as_symlink() {
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "aaa/layer.tar", &layer(&[("bin/sh", 900)]));
        add(&mut builder, "bbb/layer.tar", &layer(&[("t", 0), ("u", 5)]));
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder
            .append_link(&mut link, "ccc/layer.tar", "../aaa/layer.tar")
            .unwrap();
        add(&mut builder, "cfg.json", CONFIG.as_bytes());
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"cfg.json","RepoTags":null,"Layers":["aaa/layer.tar","bbb/layer.tar","ccc/layer.tar"]}]"#,
        );
        let saved = SavedImage::read(&builder.into_inner().unwrap()[..]).unwrap();
        assert_eq!(saved.diff_ids.len(), 3);
        assert_eq!(saved.history.len(), 4);
        assert!(saved.history[1].empty_layer);
        let sizes: Vec<u64> = saved.layers.iter().map(LayerFiles::file_bytes).collect();
        assert_eq!(sizes, [900, 5, 900]);
    }

    #[test]
    fn reads_the_oci_layout_and_an_empty_layer() {
        let mut builder = tar::Builder::new(Vec::new());
        // an empty layer is just the end-of-archive blocks
        add(&mut builder, "blobs/sha256/e0", &layer(&[]));
        add(&mut builder, "blobs/sha256/c0", CONFIG.as_bytes());
        add(&mut builder, "blobs/sha256/l0", &layer(&[("x", 3)]));
        add(&mut builder, "index.json", b"{}");
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"blobs/sha256/c0","Layers":["blobs/sha256/l0","blobs/sha256/e0"]}]"#,
        );
        let saved = SavedImage::read(&builder.into_inner().unwrap()[..]).unwrap();
        let sizes: Vec<u64> = saved.layers.iter().map(LayerFiles::file_bytes).collect();
        assert_eq!(sizes, [3, 0]);
        assert!(saved.layers[1].changes.is_empty());
    }

    #[test]
    fn a_missing_manifest_or_layer_is_an_error() {
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "cfg.json", CONFIG.as_bytes());
        let bytes = builder.into_inner().unwrap();
        assert!(matches!(
            SavedImage::read(&bytes[..]),
            Err(SaveError::NoManifest)
        ));

        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "cfg.json", CONFIG.as_bytes());
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"cfg.json","Layers":["gone/layer.tar"]}]"#,
        );
        let bytes = builder.into_inner().unwrap();
        assert!(matches!(
            SavedImage::read(&bytes[..]),
            Err(SaveError::Missing(p)) if p == "gone/layer.tar"
        ));
    }

    #[test]
    fn symlink_targets_resolve_from_the_link_folder() {
        assert_eq!(resolve("c/layer.tar", "../a/layer.tar"), "a/layer.tar");
        assert_eq!(resolve("blobs/sha256/x", "y"), "blobs/sha256/y");
    }
}
