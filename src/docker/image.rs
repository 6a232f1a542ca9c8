//! An image as `docker save` gives it: its config (history and layer digests) and each layer's
//! files, read from one streamed tar without unpacking it to disk ([`super::archive`] knows the
//! archive's layouts).

use std::io::{self, Read};

use bollard::Docker;
use futures_util::{Stream, StreamExt};

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

/// How many bytes of the daemon's stream are read ahead of the layers' parsing, whatever the
/// image's size.
const READ_AHEAD_BYTES: usize = 4 << 20;

/// The daemon's stream (of `docker save`) as a blocking reader, read ahead on the runtime (at
/// most [`READ_AHEAD_BYTES`], and one chunk more), so that the daemon sends while the layers are
/// parsed rather than waiting for every read. Call it inside the runtime, read it on a blocking
/// thread.
pub fn read_ahead<S, B>(stream: S) -> ReadAhead<B>
where
    S: Stream<Item = io::Result<B>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    let (sender, chunks) = tokio::sync::mpsc::unbounded_channel();
    let budget = Arc::new(tokio::sync::Semaphore::new(READ_AHEAD_BYTES));
    let held = budget.clone();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            let cost = match &chunk {
                Ok(bytes) => bytes.as_ref().len().min(READ_AHEAD_BYTES),
                Err(_) => 0,
            };
            // closed only with the reader: it is gone (an error, or done early)
            let Ok(permits) = budget.acquire_many(cost as u32).await else {
                break;
            };
            permits.forget();
            let failed = chunk.is_err();
            if sender.send((chunk, cost)).is_err() || failed {
                break;
            }
        }
    });
    ReadAhead {
        chunks,
        budget: held,
        chunk: None,
        at: 0,
        cost: 0,
    }
}

/// See [`read_ahead`].
pub struct ReadAhead<B> {
    chunks: tokio::sync::mpsc::UnboundedReceiver<(io::Result<B>, usize)>,
    /// Bytes the read-ahead may still take; given back as each chunk is read.
    budget: Arc<tokio::sync::Semaphore>,
    chunk: Option<B>,
    at: usize,
    /// What the current chunk took of the budget.
    cost: usize,
}

impl<B: AsRef<[u8]>> Read for ReadAhead<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(chunk) = &self.chunk {
                let rest = &chunk.as_ref()[self.at..];
                if !rest.is_empty() {
                    let n = rest.len().min(buf.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    self.at += n;
                    return Ok(n);
                }
            }
            self.budget.add_permits(std::mem::take(&mut self.cost));
            self.chunk = None;
            match self.chunks.blocking_recv() {
                Some((Ok(chunk), cost)) => {
                    self.chunk = Some(chunk);
                    self.at = 0;
                    self.cost = cost;
                }
                Some((Err(e), _)) => return Err(e),
                None => return Ok(0),
            }
        }
    }
}

impl<B> Drop for ReadAhead<B> {
    fn drop(&mut self) {
        // a read-ahead waiting for budget stops
        self.budget.close();
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
    let reader = read_ahead(
        client
            .export_image(id)
            .map(|chunk| chunk.map_err(|e| std::io::Error::other(super::reason(&e)))),
    );
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

    #[test]
    fn the_read_ahead_gives_the_stream_whole_and_then_its_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // 10 MB in all: more than the read-ahead may hold at once
        let size = |i: u8| 1 + i as usize * 500;
        let chunks: Vec<io::Result<Vec<u8>>> = (0..200u8)
            .map(|i| Ok(vec![i; size(i)]))
            .chain([Err(io::Error::other("the daemon hung up"))])
            .collect();
        let expected: Vec<u8> = (0..200u8)
            .flat_map(|i| std::iter::repeat_n(i, size(i)))
            .collect();
        let mut reader = runtime.block_on(async { read_ahead(futures_util::stream::iter(chunks)) });
        let read = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 7];
            let error = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break None,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => break Some(e.to_string()),
                }
            };
            (got, error)
        });
        // the runtime drives the read-ahead while the thread reads
        let (got, error) = runtime.block_on(async {
            tokio::task::spawn_blocking(move || read.join().unwrap())
                .await
                .unwrap()
        });
        assert_eq!(got, expected);
        assert_eq!(error.as_deref(), Some("the daemon hung up"));
    }

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
