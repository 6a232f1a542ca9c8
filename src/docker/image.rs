//! An image as `docker save` gives it: its config (history and layer digests) and each layer's
//! files, read from one streamed tar without unpacking it to disk ([`super::archive`] knows the
//! archive's layouts).

use std::io::Read;

use bollard::Docker;
use futures_util::StreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

use std::sync::Arc;

use serde_json::Value;

use super::DockerError;
pub use super::archive::{ArchiveError as SaveError, HistoryEntry};
use super::filesystem::{Filesystem, LayerMeta, read_layer};
use super::layers::LayerFiles;
pub use super::stack::Hidden;
use super::stack::{Analysis, stack};

/// What the saved image holds, layers lowest first.
#[derive(Clone, Debug, Default)]
pub struct SavedImage {
    pub history: Vec<HistoryEntry>,
    /// One per layer, lowest first (`rootfs.diff_ids`).
    pub diff_ids: Vec<String>,
    pub layers: Vec<LayerFiles>,
    /// The metadata of each layer's changes, beside `layers`.
    pub metas: Vec<LayerMeta>,
    /// The whole image config (`config.Entrypoint`, `config.Env`, …).
    pub config: Value,
}

impl SavedImage {
    /// Reads a `docker save` tar of one image, in either layout.
    pub fn read(reader: impl Read) -> Result<SavedImage, SaveError> {
        // shared, so a layer the image holds twice is not copied
        let image = super::archive::read(reader, |tar| read_layer(tar).map(Arc::new))?;
        let (layers, metas) = image
            .layers
            .into_iter()
            .map(|layer| Arc::try_unwrap(layer).unwrap_or_else(|shared| (*shared).clone()))
            .unzip();
        Ok(SavedImage {
            history: image.history,
            diff_ids: image.diff_ids,
            layers,
            metas,
            config: image.config,
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
    /// The final filesystem, file by file.
    pub filesystem: Filesystem,
    /// The image config (its `config` object holds Entrypoint, Cmd, Env, …).
    pub config: Value,
    /// The largest copies of files that later layers hide, largest first (at most
    /// [`HIDDEN_KEPT`]).
    pub hidden: Vec<Hidden>,
}

/// How many hidden copies an image's facts name.
pub const HIDDEN_KEPT: usize = 20;

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
    // one stacking gives the totals, the hidden copies and the final filesystem's paths
    let layer_count = saved.layers.len();
    let mut stacked = stack(&saved.layers);
    drop(saved.layers);
    let analysis = stacked.analysis();
    let mut hidden = std::mem::take(&mut stacked.hidden);
    hidden.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    hidden.truncate(HIDDEN_KEPT);
    Ok(ImageFacts {
        total_bytes: inspect.size.unwrap_or(0).max(0) as u64,
        history,
        layer_count,
        analysis,
        filesystem: Filesystem::from_layers(stacked.into_paths(), saved.metas),
        hidden,
        config: saved.config,
    })
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

    #[test]
    fn a_saved_image_holds_each_layers_files() {
        let mut layer = tar::Builder::new(Vec::new());
        add(&mut layer, "etc/big", &[7; 900]);
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "l/layer.tar", &layer.into_inner().unwrap());
        add(
            &mut builder,
            "cfg.json",
            br#"{"rootfs":{"diff_ids":["sha256:a"]},"history":[{"created_by":"ADD x /"}]}"#,
        );
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"cfg.json","Layers":["l/layer.tar"]}]"#,
        );
        let saved = SavedImage::read(&builder.into_inner().unwrap()[..]).unwrap();
        assert_eq!(saved.diff_ids, ["sha256:a"]);
        assert_eq!(saved.history[0].created_by, "ADD x /");
        assert_eq!(saved.layers[0].file_bytes(), 900);
    }
}
