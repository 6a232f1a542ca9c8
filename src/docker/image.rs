//! An image as `docker save` gives it: its config (history and layer digests) and each layer's
//! files, read from one streamed tar without unpacking it to disk ([`super::archive`] knows the
//! archive's layouts).

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bollard::Docker;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::DockerError;
pub use super::archive::{ArchiveError as SaveError, HistoryEntry};
use super::filesystem::{Filesystem, LayerMeta, Shown, read_layer};
use super::layers::LayerFiles;
use super::spill::{Spill, Spilled};
pub use super::stack::Hidden;
use super::stack::{Analysis, Stacked, Stacking};

/// What the saved image holds: its config, and its layers stacked.
#[derive(Clone, Debug, Default)]
pub struct SavedImage {
    pub history: Vec<HistoryEntry>,
    /// One per layer, lowest first (`rootfs.diff_ids`).
    pub diff_ids: Vec<String>,
    /// The layers stacked: each one's accounting, the hidden copies, the final paths.
    pub stacked: Stacked,
    /// The final filesystem, file by file.
    pub filesystem: Filesystem,
    /// The whole image config (`config.Entrypoint`, `config.Env`, …).
    pub config: Value,
}

/// An image to read from an archive: its id (to find it among several), and its layers' diff
/// ids when they are known before the archive is read (the daemon's image inspect gives them).
#[derive(Clone, Debug, Default)]
pub struct Wanted {
    pub id: String,
    pub diff_ids: Option<Vec<String>>,
}

impl SavedImage {
    /// Reads a `docker save` tar of one image, in either layout.
    pub fn read(reader: impl Read) -> Result<SavedImage, SaveError> {
        let (mut images, _) = SavedImage::read_all(reader, &[Wanted::default()])?;
        Ok(images.remove(0))
    }

    /// Reads the images `wanted` from one archive (`docker save A B`) in one pass, in their
    /// order, with how many file-list entries were held at most waiting for their turn.
    pub fn read_all(
        reader: impl Read,
        wanted: &[Wanted],
    ) -> Result<(Vec<SavedImage>, usize), SaveError> {
        let mut fold = Fold::new(wanted);
        let images = super::archive::read_images(reader, |path, tar| {
            let named = path
                .strip_prefix("blobs/")
                .map(|blob| blob.replacen('/', ":", 1))
                .filter(|digest| fold.expects(digest));
            let (files, meta) = read_layer(tar)?;
            match named {
                // an uncompressed layer's blob is named by its diff id
                Some(diff_id) => {
                    fold.arrive(&diff_id, files, meta)?;
                    Ok(Layer::Named(Arc::from(diff_id)))
                }
                // Docker's layout before 25 names a layer by an id of its own, a compressed
                // blob is named by the digest of its compressed bytes: the archive's manifest,
                // at its end, says which layer of which image it is
                None => {
                    fold.arrive_unnamed(path, files, meta)?;
                    Ok(Layer::At(Arc::from(path)))
                }
            }
        })?;
        // each wanted image found in the archive, and the layers read by their paths named with
        // their diff ids from its config, before any image is stacked whole
        let mut found = Vec::with_capacity(wanted.len());
        for want in wanted {
            let at = match images.len() {
                1 => 0,
                _ if want.id.is_empty() => {
                    return Err(SaveError::SeveralImages(
                        images
                            .iter()
                            .map(|i| i.name.clone().unwrap_or_else(|| i.digests[0].clone()))
                            .collect(),
                    ));
                }
                _ => images
                    .iter()
                    .position(|image| image.digests.contains(&want.id))
                    .ok_or_else(|| SaveError::Missing(format!("the image {}", want.id)))?,
            };
            let image = &images[at];
            let named_as_config = image.layers.len() == image.diff_ids.len()
                && image
                    .layers
                    .iter()
                    .zip(&image.diff_ids)
                    .all(|(layer, id)| match layer {
                        Layer::Named(named) => **named == **id,
                        Layer::At(_) => true,
                    });
            if !named_as_config
                || want
                    .diff_ids
                    .as_ref()
                    .is_some_and(|ids| *ids != image.diff_ids)
            {
                return Err(SaveError::Format {
                    what: "image config".into(),
                    reason: format!(
                        "its layers are not those its config and the daemon name ({} layers \
                         read, {} named)",
                        image.layers.len(),
                        image.diff_ids.len()
                    ),
                });
            }
            for (layer, diff_id) in image.layers.iter().zip(&image.diff_ids) {
                if let Layer::At(path) = layer {
                    fold.name(path, diff_id);
                }
            }
            found.push(at);
        }
        let mut saved = Vec::with_capacity(wanted.len());
        for (at, found) in found.into_iter().enumerate() {
            let image = &images[found];
            let (stacked, filesystem) = fold.finish(at, image.diff_ids.clone())?;
            let image = image.clone();
            saved.push(SavedImage {
                history: image.history,
                diff_ids: image.diff_ids,
                stacked,
                filesystem,
                config: image.config,
            });
        }
        Ok((saved, fold.peak_held))
    }
}

/// A layer as the archive was read: named by its diff id, or by its path in the archive until
/// the manifest says which it is.
#[derive(Clone, Debug)]
enum Layer {
    Named(Arc<str>),
    At(Arc<str>),
}

/// Layers stacked into their images as they stream by. An archive gives its layers in an order
/// of its own (Docker's: by digest), so each is stacked as soon as the layers below it are; one
/// that comes before its turn is set aside on disk ([`Spill`]) until it comes, and a layer is
/// dropped once every image that holds it has stacked it. So the memory held is the final
/// filesystems and one layer's list at a time, not every layer's.
struct Fold {
    images: Vec<Folding>,
    /// Layers read, by diff id, not yet stacked by every image that wants them.
    waiting: HashMap<String, Held>,
    spill: Spill,
    /// File-list entries of layers in memory now, and at most.
    held: usize,
    peak_held: usize,
}

/// A layer waiting for its turn.
enum Held {
    Here(LayerFiles, LayerMeta),
    Aside(Spilled),
}

struct Folding {
    /// The layers' diff ids, lowest first, once known.
    diff_ids: Option<Vec<String>>,
    stacking: Stacking<Shown>,
}

impl Folding {
    /// The diff ids of the layers still to stack.
    fn to_stack(&self) -> &[String] {
        match &self.diff_ids {
            Some(ids) => ids.get(self.stacking.layer_count()..).unwrap_or_default(),
            None => &[],
        }
    }
}

impl Fold {
    fn new(wanted: &[Wanted]) -> Fold {
        Fold {
            images: wanted
                .iter()
                .map(|w| Folding {
                    diff_ids: w.diff_ids.clone(),
                    stacking: Stacking::default(),
                })
                .collect(),
            waiting: HashMap::new(),
            spill: Spill::default(),
            held: 0,
            peak_held: 0,
        }
    }

    /// Whether an image's layers not yet stacked include `diff_id`.
    fn expects(&self, diff_id: &str) -> bool {
        self.images
            .iter()
            .any(|image| image.to_stack().iter().any(|d| d == diff_id))
    }

    /// Whether a layer must be kept: some image wants it, or does not yet say which it wants.
    fn wants(&self, diff_id: &str) -> bool {
        self.images.iter().any(|image| image.diff_ids.is_none()) || self.expects(diff_id)
    }

    /// A layer in memory: counted, for the peak.
    fn load(&mut self, files: &LayerFiles) {
        self.held += files.changes.len();
        self.peak_held = self.peak_held.max(self.held);
    }

    fn arrive(&mut self, diff_id: &str, files: LayerFiles, meta: LayerMeta) -> io::Result<()> {
        if !self.wants(diff_id) || self.waiting.contains_key(diff_id) {
            return Ok(());
        }
        self.load(&files);
        self.waiting
            .insert(diff_id.to_string(), Held::Here(files, meta));
        self.advance()?;
        // what still waits goes aside
        for held in self.waiting.values_mut() {
            if let Held::Here(files, meta) = held {
                let aside = self.spill.put(files, meta)?;
                self.held -= files.changes.len();
                *held = Held::Aside(aside);
            }
        }
        Ok(())
    }

    /// A layer whose diff id is not known yet: set aside, by its path in the archive, until
    /// [`Fold::name`] says which it is.
    fn arrive_unnamed(&mut self, path: &str, files: LayerFiles, meta: LayerMeta) -> io::Result<()> {
        if self.waiting.contains_key(path) {
            return Ok(());
        }
        self.load(&files);
        let aside = self.spill.put(&files, &meta)?;
        self.held -= files.changes.len();
        self.waiting.insert(path.to_string(), Held::Aside(aside));
        Ok(())
    }

    /// Names the layer set aside at `path` by its diff id (once: a layer two images share is
    /// named by the first).
    fn name(&mut self, path: &str, diff_id: &str) {
        if let Some(held) = self.waiting.remove(path)
            && self.wants(diff_id)
            && !self.waiting.contains_key(diff_id)
        {
            self.waiting.insert(diff_id.to_string(), held);
        }
    }

    /// Stacks every layer whose turn has come, in each image.
    fn advance(&mut self) -> io::Result<()> {
        for at in 0..self.images.len() {
            while let Some(next) = self.images[at].to_stack().first()
                && self.waiting.contains_key(next)
            {
                let next = next.clone();
                // the last turn of this layer among all images: it is dropped after
                let turns: usize = self
                    .images
                    .iter()
                    .map(|image| image.to_stack().iter().filter(|d| **d == next).count())
                    .sum();
                let last = turns == 1 && self.images.iter().all(|i| i.diff_ids.is_some());
                let held = self.waiting.remove(&next).expect("waiting");
                let (files, meta, aside) = match held {
                    Held::Here(files, meta) => (files, meta, None),
                    Held::Aside(aside) => {
                        let (files, meta) = self.spill.take(aside)?;
                        self.load(&files);
                        (files, meta, Some(aside))
                    }
                };
                let stacking = &mut self.images[at].stacking;
                if last {
                    stacking.push(&files, meta.into_shown(&files));
                    self.held -= files.changes.len();
                } else {
                    stacking.push(&files, meta.clone().into_shown(&files));
                    let held = match aside {
                        Some(aside) => {
                            self.held -= files.changes.len();
                            Held::Aside(aside)
                        }
                        None => Held::Here(files, meta),
                    };
                    self.waiting.insert(next, held);
                }
            }
        }
        Ok(())
    }

    /// The image `at` stacked whole, its layers' diff ids now known from the archive.
    fn finish(
        &mut self,
        at: usize,
        diff_ids: Vec<String>,
    ) -> Result<(Stacked, Filesystem), SaveError> {
        if self.images[at].diff_ids.is_none() {
            self.images[at].diff_ids = Some(diff_ids);
        }
        // layers named only now, at the archive's end, take their turns
        self.advance()?;
        let image = &mut self.images[at];
        if let Some(missing) = image.to_stack().first() {
            return Err(SaveError::Missing(format!("the layer {missing}")));
        }
        let (stacked, paths) = std::mem::take(&mut image.stacking).finish();
        Ok((stacked, Filesystem::from_shown(paths)))
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
    /// The image's size as `docker images` gives it on a graph driver.
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
    // a daemon that does not say is taken for a graph driver
    let containerd = super::connect::containerd_store(client)
        .await
        .unwrap_or(false);
    let (mut facts, _) = read_images(client, &[id], containerd).await?;
    Ok(facts.remove(0))
}

/// [`read_image`] of several images through one `docker save` of them all: the daemon writes a
/// layer they share once, and the archive is read once. Also gives when the save's first byte
/// came (`None` when none did): Docker 20.10 writes the whole archive before it sends one.
///
/// On the containerd image store (`containerd`, [`super::connect::containerd_store`]) the
/// daemon gives an image's size as its compressed content and each step's as its tar: there the
/// sizes come from the layers read, as a graph driver's would, and `docker history` is not asked.
pub async fn read_images(
    client: &Docker,
    ids: &[&str],
    containerd: bool,
) -> Result<(Vec<ImageFacts>, Option<Instant>), DockerError> {
    let mut inspects = Vec::with_capacity(ids.len());
    let mut histories = Vec::with_capacity(ids.len());
    for id in ids {
        let inspect = client
            .inspect_image(id)
            .await
            .map_err(DockerError::api(format!("inspecting image {id}")))?;
        let history = if containerd {
            Vec::new()
        } else {
            client
                .image_history(id)
                .await
                .map_err(DockerError::api(format!(
                    "reading the history of image {id}"
                )))?
        };
        inspects.push(inspect);
        histories.push(history);
    }
    let wanted: Vec<Wanted> = ids
        .iter()
        .zip(&inspects)
        .map(|(id, inspect)| Wanted {
            id: inspect.id.clone().unwrap_or_else(|| id.to_string()),
            diff_ids: inspect
                .root_fs
                .as_ref()
                .and_then(|fs| fs.layers.clone())
                .filter(|layers| !layers.is_empty()),
        })
        .collect();
    let what = ids.join(" and ");
    let stream = match ids {
        [one] => client.export_image(one).boxed(),
        several => client.export_images(several).boxed(),
    };
    let first_byte = Arc::new(OnceLock::new());
    let first = first_byte.clone();
    let reader = read_ahead(stream.map(move |chunk| {
        first.get_or_init(Instant::now);
        chunk.map_err(|e| io::Error::other(super::reason(&e)))
    }));
    let (saved, _) = tokio::task::spawn_blocking(move || SavedImage::read_all(reader, &wanted))
        .await
        .map_err(|e| DockerError::Api {
            what: format!("saving image {what}"),
            reason: e.to_string(),
        })??;
    let facts = saved
        .into_iter()
        .zip(inspects)
        .zip(histories)
        .map(|((saved, inspect), api_history)| {
            if containerd {
                facts(saved, None, &[])
            } else {
                facts(saved, inspect.size, &api_history)
            }
        })
        .collect::<Result<_, _>>()?;
    Ok((facts, first_byte.get().copied()))
}

/// What `measure` shows of a saved image, with the sizes and history the daemon gives.
fn facts(
    saved: SavedImage,
    size: Option<i64>,
    api_history: &[bollard::models::ImageHistoryResponseItem],
) -> Result<ImageFacts, DockerError> {
    let layer_count = saved.stacked.layers.len();
    let with_layers = saved.history.iter().filter(|h| !h.empty_layer).count();
    if with_layers != layer_count || saved.diff_ids.len() != layer_count {
        return Err(SaveError::Format {
            what: "image config".into(),
            reason: format!(
                "{with_layers} history steps with a layer, {} layer digests, {layer_count} layers",
                saved.diff_ids.len(),
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
                    None => saved.stacked.layers[layer - 1].file_bytes,
                }
            };
            HistoryItem {
                created_by: h.created_by.clone(),
                empty_layer: h.empty_layer,
                size_bytes,
            }
        })
        .collect();
    let mut stacked = saved.stacked;
    let analysis = stacked.analysis();
    let mut hidden = std::mem::take(&mut stacked.hidden);
    hidden.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    hidden.truncate(HIDDEN_KEPT);
    // without the daemon's figure, what `docker images` shows on a graph driver: every layer's
    // files, the hidden copies included
    let total_bytes = match size {
        Some(size) => size.max(0) as u64,
        None => stacked.layers.iter().map(|l| l.file_bytes).sum(),
    };
    Ok(ImageFacts {
        total_bytes,
        history,
        layer_count,
        analysis,
        filesystem: saved.filesystem,
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

    fn digest(bytes: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        format!("sha256:{:x}", Sha256::digest(bytes))
    }

    #[test]
    fn a_saved_image_holds_each_layers_files() {
        let mut layer = tar::Builder::new(Vec::new());
        add(&mut layer, "etc/big", &[7; 900]);
        let layer = layer.into_inner().unwrap();
        let diff_id = digest(&layer);
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "l/layer.tar", &layer);
        let config = format!(
            r#"{{"rootfs":{{"diff_ids":["{diff_id}"]}},"history":[{{"created_by":"ADD x /"}}]}}"#
        );
        add(&mut builder, "cfg.json", config.as_bytes());
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"cfg.json","Layers":["l/layer.tar"]}]"#,
        );
        let saved = SavedImage::read(&builder.into_inner().unwrap()[..]).unwrap();
        assert_eq!(saved.diff_ids, [diff_id]);
        assert_eq!(saved.history[0].created_by, "ADD x /");
        assert_eq!(saved.stacked.layers[0].file_bytes, 900);
    }

    /// A layer tar rewriting the same `files` paths, each with `version`'s content.
    fn rewriting(files: usize, version: usize) -> Vec<u8> {
        let mut layer = tar::Builder::new(Vec::new());
        for file in 0..files {
            add(
                &mut layer,
                &format!("app/f{file:04}"),
                format!("{version}").as_bytes(),
            );
        }
        layer.into_inner().unwrap()
    }

    /// An archive in Docker 25's layout of images made of `layers` (each a tar, by index into
    /// `tars`), every blob named by its digest and written in the order of those names, as
    /// the daemon writes them; the ids of the images.
    fn docker_archive(tars: &[Vec<u8>], images: &[Vec<usize>]) -> (Vec<u8>, Vec<String>) {
        let mut blobs: Vec<(String, Vec<u8>)> =
            tars.iter().map(|t| (digest(t), t.clone())).collect();
        let mut manifest = Vec::new();
        let mut ids = Vec::new();
        for layers in images {
            let diff_ids: Vec<String> = layers.iter().map(|&l| blobs[l].0.clone()).collect();
            let history: Vec<String> = layers
                .iter()
                .map(|l| format!(r#"{{"created_by":"RUN {l}"}}"#))
                .collect();
            let config = format!(
                r#"{{"rootfs":{{"diff_ids":{}}},"history":[{}]}}"#,
                serde_json::to_string(&diff_ids).unwrap(),
                history.join(",")
            );
            let config_digest = digest(config.as_bytes());
            let path = |d: &str| format!("blobs/sha256/{}", &d[7..]);
            manifest.push(serde_json::json!({
                "Config": path(&config_digest),
                "Layers": diff_ids.iter().map(|d| path(d)).collect::<Vec<_>>(),
            }));
            ids.push(config_digest.clone());
            blobs.push((config_digest, config.into_bytes()));
        }
        blobs.sort_by(|a, b| a.0.cmp(&b.0));
        blobs.dedup_by(|a, b| a.0 == b.0);
        let mut builder = tar::Builder::new(Vec::new());
        for (digest, bytes) in &blobs {
            add(
                &mut builder,
                &format!("blobs/sha256/{}", &digest[7..]),
                bytes,
            );
        }
        add(
            &mut builder,
            "manifest.json",
            serde_json::to_string(&manifest).unwrap().as_bytes(),
        );
        (builder.into_inner().unwrap(), ids)
    }

    /// The same layers stacked in their order, one after the other: what the fold must give.
    fn stacked_in_order(tars: &[Vec<u8>], layers: &[usize]) -> (Stacked, Filesystem) {
        let mut stacking = Stacking::default();
        for &l in layers {
            let (files, meta) = read_layer(&tars[l][..]).unwrap();
            stacking.push(&files, meta.into_shown(&files));
        }
        let (stacked, paths) = stacking.finish();
        (stacked, Filesystem::from_shown(paths))
    }

    /// Forty layers that each rewrite the same 200 files, written by digest as Docker writes
    /// them: each is stacked in its turn, those that came before it set aside, so one layer's
    /// list is in memory at a time, where reading them all first held all forty (or the 30 that
    /// come early here, held in memory until their turn).
    #[test]
    fn layers_are_stacked_in_turn_and_one_list_is_held_at_a_time() {
        let tars: Vec<Vec<u8>> = (0..40).map(|v| rewriting(200, v)).collect();
        let order: Vec<usize> = (0..40).collect();
        let (archive, ids) = docker_archive(&tars, std::slice::from_ref(&order));
        let diff_ids: Vec<String> = tars.iter().map(|t| digest(t)).collect();
        let wanted = [Wanted {
            id: ids[0].clone(),
            diff_ids: Some(diff_ids.clone()),
        }];
        let (images, peak) = SavedImage::read_all(&archive[..], &wanted).unwrap();
        let (stacked, filesystem) = stacked_in_order(&tars, &order);
        assert_eq!(images[0].stacked.layers, stacked.layers);
        assert_eq!(images[0].stacked.hidden, stacked.hidden);
        assert_eq!(images[0].filesystem.paths, filesystem.paths);
        assert_eq!(images[0].diff_ids, diff_ids);
        // how many layers came while one below them had not: held at once, at most
        let arrival: Vec<&String> = {
            let mut sorted: Vec<&String> = diff_ids.iter().collect();
            sorted.sort();
            sorted
        };
        let mut next = 0;
        let (mut waiting, mut most) = (0usize, 0usize);
        let mut came = vec![false; diff_ids.len()];
        for d in arrival {
            came[diff_ids.iter().position(|x| x == d).unwrap()] = true;
            waiting += 1;
            most = most.max(waiting);
            while next < came.len() && came[next] {
                next += 1;
                waiting -= 1;
            }
        }
        // read first, their lists would all be held: here, set aside, one at a time
        assert!(most > 20, "{most} of the 40 came before their turn");
        assert_eq!(peak, 200, "each layer lists 200 files");

        // in their order (the OCI index first, or a tool that writes layers bottom up), one
        // layer's list at a time
        let mut builder = tar::Builder::new(Vec::new());
        for (tar, d) in tars.iter().zip(&diff_ids) {
            add(&mut builder, &format!("blobs/sha256/{}", &d[7..]), tar);
        }
        let config = format!(
            r#"{{"rootfs":{{"diff_ids":{}}},"history":[{}]}}"#,
            serde_json::to_string(&diff_ids).unwrap(),
            vec![r#"{"created_by":"RUN"}"#; 40].join(",")
        );
        add(&mut builder, "cfg.json", config.as_bytes());
        let layers: Vec<String> = diff_ids
            .iter()
            .map(|d| format!("blobs/sha256/{}", &d[7..]))
            .collect();
        let manifest = serde_json::json!([{"Config": "cfg.json", "Layers": layers}]);
        add(
            &mut builder,
            "manifest.json",
            manifest.to_string().as_bytes(),
        );
        let wanted = [Wanted {
            id: String::new(),
            diff_ids: Some(diff_ids),
        }];
        let (images, peak) =
            SavedImage::read_all(&builder.into_inner().unwrap()[..], &wanted).unwrap();
        assert_eq!(images[0].filesystem.paths, filesystem.paths);
        assert_eq!(peak, 200);
    }

    /// `docker save A B`: a layer the two share is written once and stacked into both; each
    /// image is found by its id, whatever the archive's order.
    #[test]
    fn two_images_of_one_archive_share_a_layer_read_once() {
        let tars: Vec<Vec<u8>> = (0..4).map(|v| rewriting(3 + v, v)).collect();
        let before = vec![0, 1, 2];
        let after = vec![0, 3, 3];
        let (archive, ids) = docker_archive(&tars, &[before.clone(), after.clone()]);
        for (first, second) in [(0, 1), (1, 0)] {
            let wanted: Vec<Wanted> = [first, second]
                .iter()
                .map(|&i| Wanted {
                    id: ids[i].clone(),
                    diff_ids: None,
                })
                .collect();
            let (images, _) = SavedImage::read_all(&archive[..], &wanted).unwrap();
            for (image, i) in images.iter().zip([first, second]) {
                let layers = [&before, &after][i];
                let (stacked, filesystem) = stacked_in_order(&tars, layers);
                assert_eq!(image.stacked.layers, stacked.layers);
                assert_eq!(image.filesystem.paths, filesystem.paths);
            }
        }
        // an id the archive does not hold
        let wanted = [Wanted {
            id: "sha256:gone".into(),
            diff_ids: None,
        }];
        assert!(matches!(
            SavedImage::read_all(&archive[..], &wanted),
            Err(SaveError::Missing(_))
        ));
    }

    /// Docker's layout before 25, as 20.10 writes `docker save A B`: each layer in a folder of
    /// an id of its own, written in the order of those ids, a layer already written for another
    /// image or lower in the same one a symlink to it, the manifest last. Which diff id a folder
    /// holds is known only from the manifest: every layer waits aside, one list in memory at a
    /// time, and each image is stacked as in order.
    #[test]
    fn docker_20_s_layout_is_stacked_from_its_manifest() {
        let tars: Vec<Vec<u8>> = (0..4).map(|v| rewriting(5 + v, v)).collect();
        let diff_ids: Vec<String> = tars.iter().map(|t| digest(t)).collect();
        let images = [vec![0, 1, 2], vec![0, 3, 3]];
        let mut entries: Vec<(String, Result<Vec<u8>, String>)> = Vec::new();
        let mut manifest = Vec::new();
        let mut configs = Vec::new();
        let mut written: HashMap<usize, String> = HashMap::new();
        for layers in &images {
            let mut paths = Vec::new();
            for depth in 0..layers.len() {
                // the folder's id: the same for the same layers below it, as Docker's
                let id = digest(format!("{:?}", &layers[..=depth]).as_bytes())[7..].to_string();
                let path = format!("{id}/layer.tar");
                if !paths.contains(&path) && !entries.iter().any(|(p, _)| *p == path) {
                    let l = layers[depth];
                    entries.push((format!("{id}/VERSION"), Ok(b"1.0".to_vec())));
                    entries.push((
                        format!("{id}/json"),
                        Ok(format!(r#"{{"id":"{id}"}}"#).into()),
                    ));
                    let content = match written.get(&l) {
                        Some(first) => Err(format!("../{first}")),
                        None => Ok(tars[l].clone()),
                    };
                    written.entry(l).or_insert_with(|| path.clone());
                    entries.push((path.clone(), content));
                }
                paths.push(path);
            }
            let ids: Vec<&String> = layers.iter().map(|&l| &diff_ids[l]).collect();
            let config = format!(
                r#"{{"rootfs":{{"diff_ids":{}}},"history":[]}}"#,
                serde_json::to_string(&ids).unwrap()
            );
            let config_digest = digest(config.as_bytes());
            let name = format!("{}.json", &config_digest[7..]);
            manifest.push(serde_json::json!({"Config": name, "Layers": paths}));
            entries.push((name, Ok(config.into_bytes())));
            configs.push(config_digest);
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in &entries {
            match content {
                Ok(bytes) => add(&mut builder, path, bytes),
                Err(target) => {
                    let mut header = tar::Header::new_gnu();
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target).unwrap();
                }
            }
        }
        let manifest = serde_json::to_string(&manifest).unwrap();
        add(&mut builder, "manifest.json", manifest.as_bytes());
        let archive = builder.into_inner().unwrap();
        for known in [true, false] {
            for (first, second) in [(0, 1), (1, 0)] {
                let wanted: Vec<Wanted> = [first, second]
                    .iter()
                    .map(|&i| Wanted {
                        id: configs[i].clone(),
                        diff_ids: known
                            .then(|| images[i].iter().map(|&l| diff_ids[l].clone()).collect()),
                    })
                    .collect();
                let (read, peak) = SavedImage::read_all(&archive[..], &wanted).unwrap();
                for (image, i) in read.iter().zip([first, second]) {
                    let (stacked, filesystem) = stacked_in_order(&tars, &images[i]);
                    assert_eq!(image.stacked.layers, stacked.layers);
                    assert_eq!(image.stacked.hidden, stacked.hidden);
                    assert_eq!(image.filesystem.paths, filesystem.paths);
                }
                assert_eq!(peak, 8, "the largest layer lists 8 files");
            }
        }
        // the daemon names other layers than the archive's config
        let wanted = [Wanted {
            id: configs[0].clone(),
            diff_ids: Some(vec![
                diff_ids[0].clone(),
                diff_ids[2].clone(),
                diff_ids[1].clone(),
            ]),
        }];
        assert!(matches!(
            SavedImage::read_all(&archive[..], &wanted),
            Err(SaveError::Format { .. })
        ));
    }
}
