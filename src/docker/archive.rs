//! Image archives, read from one stream without unpacking them: what `docker save` writes (and
//! `podman save`, `skopeo copy … docker-archive:|oci-archive:`, BuildKit's OCI exporter).
//!
//! Two layouts exist. Docker before 25 writes `<id>/layer.tar` per layer, a `<config>.json` and
//! a `manifest.json` naming them in order, and repeats a layer already written as a symlink to
//! the first copy. Docker 25 and later write an OCI image layout (`oci-layout`, `index.json`,
//! every file under `blobs/sha256/`) and, beside it, the same `manifest.json`; an archive of the
//! containerd image store, or of an OCI tool, may have only the OCI half, where `index.json`
//! leads through image indexes (one manifest per platform) to the manifest, the config and the
//! layers. Layers may be plain tars or compressed with gzip or zstd, and the whole archive may
//! be compressed too (`docker save IMAGE | gzip`).
//!
//! The index and manifests usually come last, so each layer is read as it streams by, by the
//! caller's reader, and the results are put in order at the end: the memory held is what the
//! reader keeps of each layer (for `measure` and `inspect`, its file list), never a file's
//! bytes. A blob is told apart by its first bytes, not its name or media type: a tar, a gzip or
//! zstd stream holding a tar, or JSON (indexes, manifests, configs).

use std::collections::HashMap;
use std::io::{self, Cursor, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// One step of the image's history, oldest first. Steps without a layer (ENV, CMD, …) are
/// `empty_layer`; every other step takes the next layer.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub empty_layer: bool,
    /// What made a step that has no command (`Imported from -` for `docker import`).
    #[serde(default)]
    pub comment: String,
}

/// Which half of the archive named the image's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `manifest.json`: Docker's own, before 25 the only one.
    Docker,
    /// `index.json` alone: the OCI image layout.
    Oci,
}

/// The one image of an archive: its config and its layers, lowest first, each as the caller's
/// layer reader made it.
#[derive(Clone, Debug)]
pub struct ImageArchive<L> {
    /// The image's name as the archive gives it (`repo:tag`), when it gives one.
    pub name: Option<String>,
    /// The digests that name this image: its config's (an image id of Docker's own store) and,
    /// in an OCI layout, its manifest's and the indexes' above it (an id of the containerd
    /// store).
    pub digests: Vec<String>,
    pub layout: Layout,
    pub history: Vec<HistoryEntry>,
    /// One per layer, lowest first (`rootfs.diff_ids`): the digest of its uncompressed tar.
    pub diff_ids: Vec<String>,
    /// The whole image config, for the fields beyond history and layers (Entrypoint, Env, …).
    pub config: Value,
    pub layers: Vec<L>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("reading the image archive: {0}")]
    Io(#[from] io::Error),
    #[error(
        "not an image archive: it has neither the manifest.json nor the index.json that \
         `docker save` writes"
    )]
    NoManifest,
    #[error("the image archive's {what} is not what an image archive holds: {reason}")]
    Format { what: String, reason: String },
    #[error("the image archive lacks {0}, which its manifest names")]
    Missing(String),
    #[error("the image archive's layer {path} cannot be read: {source}")]
    Layer { path: String, source: io::Error },
    #[error("the image archive holds {} images ({}); save one image per archive", .0.len(), .0.join(", "))]
    SeveralImages(Vec<String>),
}

impl ArchiveError {
    fn format(what: impl Into<String>, reason: impl ToString) -> ArchiveError {
        ArchiveError::Format {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// Small files are kept to be read as JSON (configs, manifests, indexes); a larger file that is
/// not a layer is skipped.
const MAX_JSON: u64 = 16 * 1024 * 1024;
/// A tar's first header block; `ustar` sits at offset 257 in it.
const BLOCK: usize = 512;
/// How deep image indexes may nest inside `index.json` before the archive is refused.
const MAX_NESTING: usize = 4;

/// Reads the archive at `path` (compressed or not).
pub fn read_file<L: Clone>(
    path: &Path,
    read_layer: impl FnMut(&mut dyn Read) -> io::Result<L>,
) -> Result<ImageArchive<L>, ArchiveError> {
    let file = std::fs::File::open(path)?;
    read(io::BufReader::with_capacity(1 << 20, file), read_layer)
}

/// Reads an image archive from a stream, each layer's uncompressed tar through `read_layer`.
pub fn read<L: Clone>(
    reader: impl Read,
    mut read_layer: impl FnMut(&mut dyn Read) -> io::Result<L>,
) -> Result<ImageArchive<L>, ArchiveError> {
    let mut images = read_images(reader, |_, tar| read_layer(tar))?;
    match images.len() {
        1 => Ok(images.remove(0)),
        _ => Err(ArchiveError::SeveralImages(
            images
                .iter()
                .map(|image| {
                    image
                        .name
                        .clone()
                        .unwrap_or_else(|| image.digests[0].clone())
                })
                .collect(),
        )),
    }
}

/// Reads every image of an archive (`docker save A B` writes a layer the two share once), each
/// layer's uncompressed tar through `read_layer` with its path in the archive, once, as it
/// streams by.
pub fn read_images<L: Clone>(
    reader: impl Read,
    mut read_layer: impl FnMut(&str, &mut dyn Read) -> io::Result<L>,
) -> Result<Vec<ImageArchive<L>>, ArchiveError> {
    let reader = match decompressed(reader)? {
        Some(reader) => reader,
        None => return Err(ArchiveError::NoManifest),
    };
    let mut archive = tar::Archive::new(reader);
    let mut small: HashMap<String, Vec<u8>> = HashMap::new();
    let mut layers: HashMap<String, L> = HashMap::new();
    let mut aliases: HashMap<String, String> = HashMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = clean(&String::from_utf8_lossy(&entry.path_bytes()));
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            if let Ok(Some(target)) = entry.link_name() {
                let target = target.to_string_lossy();
                let target = if kind.is_symlink() {
                    resolve(&path, &target)
                } else {
                    // a hard link names its target from the archive root
                    clean(&target)
                };
                aliases.insert(path, target);
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let size = entry.header().size()?;
        let head = head(&mut entry, BLOCK)?;
        match Content::of(&head) {
            Content::Tar | Content::Gzip | Content::Zstd => {
                let whole = Cursor::new(head).chain(&mut entry);
                let layer = read_tar(whole, &mut |tar: &mut dyn Read| read_layer(&path, tar))
                    .map_err(|source| ArchiveError::Layer {
                        path: path.clone(),
                        source,
                    })?;
                if let Some(layer) = layer {
                    layers.insert(path, layer);
                }
            }
            Content::Json if size <= MAX_JSON => {
                let mut bytes = head;
                entry.read_to_end(&mut bytes)?;
                small.insert(path, bytes);
            }
            Content::Json | Content::Other => {}
        }
    }
    let parts = Parts {
        small,
        layers,
        aliases,
    };
    let plans = match (parts.get("manifest.json"), parts.get("index.json")) {
        (Some(manifest), index) => {
            let mut plans = docker_plans(manifest)?;
            // the containerd store names an image by its manifest's digest, which only the
            // OCI half beside manifest.json gives
            if let Some(Ok(oci)) = index.map(|index| oci_plans(&parts, index)) {
                for plan in &mut plans {
                    let config = parts.target(&plan.config);
                    if let Some(same) = oci.iter().find(|o| parts.target(&o.config) == config) {
                        plan.digests.clone_from(&same.digests);
                    }
                }
            }
            plans
        }
        (None, Some(index)) => oci_plans(&parts, index)?,
        (None, None) => return Err(ArchiveError::NoManifest),
    };
    plans.into_iter().map(|plan| image(&parts, plan)).collect()
}

/// One image of the archive, its parts found by its plan.
fn image<L: Clone>(parts: &Parts<L>, plan: Plan) -> Result<ImageArchive<L>, ArchiveError> {
    let config_bytes = parts
        .get(&plan.config)
        .ok_or_else(|| ArchiveError::Missing(plan.config.clone()))?;
    let config: Value = serde_json::from_slice(config_bytes)
        .map_err(|e| ArchiveError::format(plan.config.as_str(), e))?;
    let typed: Config = serde_json::from_value(config.clone())
        .map_err(|e| ArchiveError::format(plan.config.as_str(), e))?;
    let mut ordered = Vec::with_capacity(plan.layers.len());
    for layer in &plan.layers {
        let read = parts
            .layer(layer)
            .ok_or_else(|| ArchiveError::Missing(layer.clone()))?;
        ordered.push(read.clone());
    }
    // the config's own digest: `<hex>.json` (Docker before 25) or `blobs/sha256/<hex>`
    let target = parts.target(&plan.config);
    let config_digest = match target.strip_prefix("blobs/") {
        Some(blob) => blob.replacen('/', ":", 1),
        None => format!("sha256:{}", target.trim_end_matches(".json")),
    };
    let mut digests = vec![config_digest];
    digests.extend(plan.digests);
    Ok(ImageArchive {
        name: plan.name,
        digests,
        layout: plan.layout,
        history: typed.history,
        diff_ids: typed.rootfs.diff_ids,
        config,
        layers: ordered,
    })
}

/// What the first bytes of a file say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    Tar,
    Gzip,
    Zstd,
    Json,
    Other,
}

impl Content {
    fn of(head: &[u8]) -> Content {
        if head.starts_with(&[0x1f, 0x8b]) {
            Content::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Content::Zstd
        } else if is_tar(head) {
            Content::Tar
        } else {
            match head.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{' | b'[') => Content::Json,
                _ => Content::Other,
            }
        }
    }
}

/// A tar starts with a header block holding `ustar` at offset 257; an empty tar is just the
/// zero blocks that end an archive.
fn is_tar(head: &[u8]) -> bool {
    head.len() >= BLOCK && (&head[257..262] == b"ustar" || head[..BLOCK].iter().all(|&b| b == 0))
}

/// Up to `n` first bytes of `reader`.
fn head(reader: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// `reader` uncompressed, when it is a tar plain or compressed with gzip or zstd; `None` when
/// it is something else.
fn decompressed<'a>(reader: impl Read + 'a) -> io::Result<Option<Box<dyn Read + 'a>>> {
    let mut reader = reader;
    let first = head(&mut reader, BLOCK)?;
    let content = Content::of(&first);
    let whole = Cursor::new(first).chain(reader);
    Ok(match content {
        Content::Tar => Some(Box::new(whole)),
        Content::Gzip => tar_inside(flate2::read::MultiGzDecoder::new(whole))?,
        Content::Zstd => tar_inside(zstd::stream::read::Decoder::new(whole)?)?,
        Content::Json | Content::Other => None,
    })
}

/// A decompressed stream, when it holds a tar.
fn tar_inside<'a>(mut reader: impl Read + 'a) -> io::Result<Option<Box<dyn Read + 'a>>> {
    let first = head(&mut reader, BLOCK)?;
    Ok(is_tar(&first).then(|| Box::new(Cursor::new(first).chain(reader)) as Box<dyn Read + 'a>))
}

/// A layer through the caller's reader; `None` when the file is compressed but holds no tar.
fn read_tar<L>(
    file: impl Read,
    read_layer: &mut impl FnMut(&mut dyn Read) -> io::Result<L>,
) -> io::Result<Option<L>> {
    match decompressed(file)? {
        Some(mut tar) => read_layer(&mut tar).map(Some),
        None => Ok(None),
    }
}

/// The files read from the archive, by path.
struct Parts<L> {
    small: HashMap<String, Vec<u8>>,
    layers: HashMap<String, L>,
    aliases: HashMap<String, String>,
}

impl<L> Parts<L> {
    /// `path` with links followed: a chain, bounded so that a loop cannot hang.
    fn target(&self, path: &str) -> String {
        let mut path = clean(path);
        for _ in 0..8 {
            match self.aliases.get(&path) {
                Some(target) => path = target.clone(),
                None => break,
            }
        }
        path
    }

    fn get(&self, path: &str) -> Option<&[u8]> {
        self.small.get(&self.target(path)).map(Vec::as_slice)
    }

    fn layer(&self, path: &str) -> Option<&L> {
        self.layers.get(&self.target(path))
    }

    fn blob(&self, digest: &str) -> Option<&[u8]> {
        self.get(&blob_path(digest)?)
    }
}

/// Where the image's config and layers are, and its name.
struct Plan {
    name: Option<String>,
    /// The manifest's and indexes' digests that lead to the image (OCI only).
    digests: Vec<String>,
    layout: Layout,
    config: String,
    layers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
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

fn docker_plans(manifest: &[u8]) -> Result<Vec<Plan>, ArchiveError> {
    let manifest: Vec<ManifestEntry> =
        serde_json::from_slice(manifest).map_err(|e| ArchiveError::format("manifest.json", e))?;
    if manifest.is_empty() {
        return Err(ArchiveError::format("manifest.json", "it names no image"));
    }
    Ok(manifest
        .into_iter()
        .map(|entry| Plan {
            name: entry.repo_tags.and_then(|t| t.into_iter().next()),
            digests: Vec::new(),
            layout: Layout::Docker,
            config: entry.config,
            layers: entry.layers,
        })
        .collect())
}

/// An OCI descriptor: a blob by digest, with what the index says about it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) => write!(f, "/{variant}"),
            None => Ok(()),
        }
    }
}

/// An image index (`index.json` is one) or an image manifest: which one is told by its fields.
#[derive(Deserialize)]
struct IndexOrManifest {
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// An image manifest found under `index.json`, with the name and platform that lead to it.
struct Found {
    digest: String,
    /// The indexes' digests above it, outermost first.
    via: Vec<String>,
    name: Option<String>,
    platform: Option<Platform>,
    config: String,
    layers: Vec<String>,
}

fn oci_plans<L>(parts: &Parts<L>, index: &[u8]) -> Result<Vec<Plan>, ArchiveError> {
    let index: IndexOrManifest =
        serde_json::from_slice(index).map_err(|e| ArchiveError::format("index.json", e))?;
    let mut found = Vec::new();
    walk(
        parts,
        index.manifests.unwrap_or_default(),
        None,
        &[],
        &mut found,
    )?;
    // One image may be listed under several names (two tags), or for several platforms.
    let mut images: Vec<Vec<Found>> = Vec::new();
    for image in found {
        match images.iter_mut().find(|group| {
            group[0].digest == image.digest
                || (group[0].name == image.name && group[0].platform != image.platform)
        }) {
            Some(group) => group.push(image),
            None => images.push(vec![image]),
        }
    }
    if images.is_empty() {
        return Err(ArchiveError::format(
            "index.json",
            "it leads to no image manifest held in the archive",
        ));
    }
    images.into_iter().map(oci_plan).collect()
}

/// The plan of one image found under `index.json`, under one or more names or for one or more
/// platforms: this machine's when there are several.
fn oci_plan(mut image: Vec<Found>) -> Result<Plan, ArchiveError> {
    let mut platforms: Vec<&Found> = Vec::new();
    for candidate in &image {
        if !platforms.iter().any(|p| p.digest == candidate.digest) {
            platforms.push(candidate);
        }
    }
    let chosen = match platforms.len() {
        1 => 0,
        _ => {
            let host = host_platform();
            let at = image.iter().position(|f| {
                f.platform
                    .as_ref()
                    .is_some_and(|p| p.os == host.os && p.architecture == host.architecture)
            });
            at.ok_or_else(|| {
                let listed: Vec<String> = platforms
                    .iter()
                    .map(|f| f.platform.as_ref().map_or("?".into(), Platform::to_string))
                    .collect();
                ArchiveError::format(
                    "index.json",
                    format!(
                        "it holds the image for {}, none of them this machine's ({host})",
                        listed.join(", ")
                    ),
                )
            })?
        }
    };
    let mut digests: Vec<String> = Vec::new();
    for found in &image {
        for digest in found.via.iter().chain([&found.digest]) {
            if !digests.contains(digest) {
                digests.push(digest.clone());
            }
        }
    }
    let image = image.swap_remove(chosen);
    Ok(Plan {
        name: image.name,
        digests,
        layout: Layout::Oci,
        config: image.config,
        layers: image.layers,
    })
}

/// Follows descriptors through nested image indexes to the image manifests the archive holds.
/// A manifest whose blob is absent (another platform's, not saved) is passed over, and so are
/// attestation manifests (BuildKit's provenance and SBOMs).
fn walk<L>(
    parts: &Parts<L>,
    descriptors: Vec<Descriptor>,
    name: Option<&str>,
    via: &[String],
    found: &mut Vec<Found>,
) -> Result<(), ArchiveError> {
    if via.len() > MAX_NESTING {
        return Err(ArchiveError::format(
            "index.json",
            format!("image indexes nest more than {MAX_NESTING} deep"),
        ));
    }
    for descriptor in descriptors {
        let annotations = &descriptor.annotations;
        if annotations
            .get("vnd.docker.reference.type")
            .is_some_and(|t| t == "attestation-manifest")
        {
            continue;
        }
        let own_name = annotations
            .get("io.containerd.image.name")
            .or_else(|| annotations.get("org.opencontainers.image.ref.name"))
            .map(String::as_str)
            .or(name);
        let Some(bytes) = parts.blob(&descriptor.digest) else {
            continue;
        };
        let what = || format!("blob {}", descriptor.digest);
        let content: IndexOrManifest =
            serde_json::from_slice(bytes).map_err(|e| ArchiveError::format(what(), e))?;
        match (content.manifests, content.config) {
            (Some(manifests), _) => {
                let via: Vec<String> = via.iter().chain([&descriptor.digest]).cloned().collect();
                walk(parts, manifests, own_name, &via, found)?
            }
            (None, Some(config)) => {
                let path = |d: &Descriptor| {
                    blob_path(&d.digest).ok_or_else(|| {
                        ArchiveError::format(what(), format!("bad digest `{}`", d.digest))
                    })
                };
                found.push(Found {
                    digest: descriptor.digest.clone(),
                    via: via.to_vec(),
                    name: own_name.map(str::to_string),
                    platform: descriptor.platform.clone(),
                    config: path(&config)?,
                    layers: content.layers.iter().map(path).collect::<Result<_, _>>()?,
                });
            }
            (None, None) => {
                return Err(ArchiveError::format(
                    what(),
                    format!(
                        "a {} that is neither an image index nor a manifest",
                        descriptor.media_type
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `sha256:abc…` → `blobs/sha256/abc…`; `None` for a digest that could climb out of `blobs/`.
fn blob_path(digest: &str) -> Option<String> {
    let (algorithm, hex) = digest.split_once(':')?;
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (plain(algorithm) && plain(hex)).then(|| format!("blobs/{algorithm}/{hex}"))
}

/// The platform images are run on here, in OCI's names.
fn host_platform() -> Platform {
    let architecture = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    };
    Platform {
        architecture: architecture.to_string(),
        os: std::env::consts::OS.to_string(),
        variant: None,
    }
}

fn clean(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// A symlink's target, relative to the link's folder, as a path from the archive root.
fn resolve(link: &str, target: &str) -> String {
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    if target.starts_with('/') {
        parts.clear();
    }
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
    use std::io::Write;

    fn add(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, data).unwrap();
    }

    fn link(builder: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder.append_link(&mut header, path, target).unwrap();
    }

    /// A layer tar of files named with their sizes.
    fn layer(files: &[(&str, usize)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, size) in files {
            add(&mut builder, path, &vec![b'z'; *size]);
        }
        builder.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn zstd(bytes: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(bytes, 1).unwrap()
    }

    /// What the tests' layer reader keeps: each file's path and size.
    fn files(tar: &mut dyn Read) -> io::Result<Vec<(String, u64)>> {
        let mut archive = tar::Archive::new(tar);
        let mut out = Vec::new();
        for entry in archive.entries()? {
            let entry = entry?;
            out.push((
                entry.path()?.to_string_lossy().into_owned(),
                entry.header().size()?,
            ));
        }
        Ok(out)
    }

    fn read_bytes(bytes: &[u8]) -> Result<ImageArchive<Vec<(String, u64)>>, ArchiveError> {
        read(bytes, files)
    }

    fn sizes(image: &ImageArchive<Vec<(String, u64)>>) -> Vec<u64> {
        image
            .layers
            .iter()
            .map(|l| l.iter().map(|(_, s)| s).sum())
            .collect()
    }

    const CONFIG: &str = r#"{"architecture":"amd64","os":"linux",
        "config":{"Cmd":["sh"],"Env":["A=1"]},
        "rootfs":{"type":"layers","diff_ids":["sha256:a","sha256:b","sha256:a"]},
        "history":[{"created_by":"/bin/sh -c #(nop) ADD file:x in /"},
                   {"created_by":"/bin/sh -c #(nop)  ENV A=1","empty_layer":true},
                   {"created_by":"/bin/sh -c touch /t"},
                   {"created_by":"/bin/sh -c true"}]}"#;

    /// Docker before 25: a folder per layer, a repeated layer as a symlink to the first copy.
    fn legacy_archive() -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "aaa/VERSION", b"1.0");
        add(&mut builder, "aaa/json", br#"{"id":"aaa"}"#);
        add(&mut builder, "aaa/layer.tar", &layer(&[("bin/sh", 900)]));
        add(&mut builder, "bbb/layer.tar", &layer(&[("t", 0), ("u", 5)]));
        link(&mut builder, "ccc/layer.tar", "../aaa/layer.tar");
        add(&mut builder, "cfg.json", CONFIG.as_bytes());
        add(&mut builder, "repositories", br#"{"app":{"latest":"cfg"}}"#);
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"cfg.json","RepoTags":["app:latest"],
                  "Layers":["aaa/layer.tar","bbb/layer.tar","ccc/layer.tar"]}]"#,
        );
        builder.into_inner().unwrap()
    }

    #[test]
    fn reads_the_legacy_layout_with_a_repeated_layer_as_symlink() {
        let image = read_bytes(&legacy_archive()).unwrap();
        assert_eq!(image.layout, Layout::Docker);
        assert_eq!(image.name.as_deref(), Some("app:latest"));
        assert_eq!(image.diff_ids.len(), 3);
        assert_eq!(image.history.len(), 4);
        assert!(image.history[1].empty_layer);
        assert_eq!(sizes(&image), [900, 5, 900]);
        assert_eq!(image.config["config"]["Cmd"][0], "sh");
    }

    /// A whole archive compressed, as `docker save IMAGE | gzip` makes it (or zstd).
    #[test]
    fn reads_an_archive_compressed_whole() {
        for bytes in [gzip(&legacy_archive()), zstd(&legacy_archive())] {
            let image = read_bytes(&bytes).unwrap();
            assert_eq!(sizes(&image), [900, 5, 900]);
        }
    }

    /// Docker 25 and later: the OCI layout with a manifest.json beside it, layers as plain tars
    /// (an empty layer is just the end-of-archive blocks).
    #[test]
    fn reads_the_docker_25_layout_and_an_empty_layer() {
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "blobs/sha256/e0", &layer(&[]));
        add(&mut builder, "blobs/sha256/c0", CONFIG.as_bytes());
        add(&mut builder, "blobs/sha256/l0", &layer(&[("x", 3)]));
        add(
            &mut builder,
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        );
        add(&mut builder, "index.json", b"{}");
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"blobs/sha256/c0","Layers":["blobs/sha256/l0","blobs/sha256/e0"]}]"#,
        );
        let image = read_bytes(&builder.into_inner().unwrap()).unwrap();
        assert_eq!(image.layout, Layout::Docker);
        assert_eq!(image.name, None);
        assert_eq!(sizes(&image), [3, 0]);
        assert!(image.layers[1].is_empty());
    }

    fn index_json(entries: &str) -> Vec<u8> {
        format!(r#"{{"schemaVersion":2,"manifests":[{entries}]}}"#).into_bytes()
    }

    /// An OCI archive with no manifest.json, as the containerd image store or an OCI tool
    /// writes it: an image index for two platforms of which only this machine's is held, an
    /// attestation manifest, and layers compressed with gzip and zstd, the same layer twice.
    fn oci_archive(host: &Platform) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        add(
            &mut builder,
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        );
        add(
            &mut builder,
            "blobs/sha256/g1",
            &gzip(&layer(&[("bin/sh", 900)])),
        );
        add(
            &mut builder,
            "blobs/sha256/z2",
            &zstd(&layer(&[("t", 0), ("u", 5)])),
        );
        add(&mut builder, "blobs/sha256/c0", CONFIG.as_bytes());
        let manifest = r#"{"schemaVersion":2,
            "mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c0","size":1},
            "layers":[
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:g1","size":1},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"sha256:z2","size":1},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:g1","size":1}]}"#;
        add(&mut builder, "blobs/sha256/m0", manifest.as_bytes());
        add(
            &mut builder,
            "blobs/sha256/att",
            br#"{"schemaVersion":2,"config":{"digest":"sha256:c0"},"layers":[]}"#,
        );
        let platforms = format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:m0","size":1,
                 "platform":{{"architecture":"{}","os":"{}"}}}},
               {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:other","size":1,
                 "platform":{{"architecture":"s390x","os":"linux"}}}},
               {{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:att","size":1,
                 "platform":{{"architecture":"unknown","os":"unknown"}},
                 "annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}}"#,
            host.architecture, host.os
        );
        add(&mut builder, "blobs/sha256/i0", &index_json(&platforms));
        add(
            &mut builder,
            "index.json",
            &index_json(
                r#"{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:i0","size":1,
                    "annotations":{"io.containerd.image.name":"docker.io/library/app:1",
                                   "org.opencontainers.image.ref.name":"1"}}"#,
            ),
        );
        builder.into_inner().unwrap()
    }

    #[test]
    fn reads_an_oci_archive_through_its_index_with_compressed_layers() {
        let image = read_bytes(&oci_archive(&host_platform())).unwrap();
        assert_eq!(image.layout, Layout::Oci);
        assert_eq!(image.name.as_deref(), Some("docker.io/library/app:1"));
        assert_eq!(sizes(&image), [900, 5, 900]);
        assert_eq!(image.history.len(), 4);
        // the same files as the legacy archive of the same image
        let legacy = read_bytes(&legacy_archive()).unwrap();
        assert_eq!(image.layers, legacy.layers);
        assert_eq!(image.diff_ids, legacy.diff_ids);
    }

    #[test]
    fn an_index_of_several_platforms_held_picks_this_machines() {
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "blobs/sha256/c0", CONFIG.as_bytes());
        add(&mut builder, "blobs/sha256/l1", &layer(&[("mine", 1)]));
        add(&mut builder, "blobs/sha256/l2", &layer(&[("theirs", 2)]));
        for (m, l) in [("m1", "l1"), ("m2", "l2")] {
            let manifest = format!(
                r#"{{"config":{{"digest":"sha256:c0"}},"layers":[{{"digest":"sha256:{l}"}}]}}"#
            );
            add(
                &mut builder,
                &format!("blobs/sha256/{m}"),
                manifest.as_bytes(),
            );
        }
        let host = host_platform();
        let entries = |mine: &str| {
            format!(
                r#"{{"digest":"sha256:m2","platform":{{"architecture":"{mine}","os":"plan9"}}}},
                   {{"digest":"sha256:m1","platform":{{"architecture":"{}","os":"{}"}}}}"#,
                host.architecture, host.os
            )
        };
        let mut ours = builder;
        let mut theirs = tar::Builder::new(ours.get_ref().clone());
        add(&mut ours, "index.json", &index_json(&entries("x")));
        let image = read_bytes(&ours.into_inner().unwrap()).unwrap();
        assert_eq!(image.layers, [vec![("mine".to_string(), 1)]]);

        // neither is this machine's: an error naming what the archive has
        let platforms = r#"{"digest":"sha256:m1","platform":{"architecture":"mips","os":"linux"}},
                           {"digest":"sha256:m2","platform":{"architecture":"s390x","os":"linux"}}"#;
        add(&mut theirs, "index.json", &index_json(platforms));
        let error = read_bytes(&theirs.into_inner().unwrap()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("linux/mips, linux/s390x"), "{message}");
    }

    #[test]
    fn an_archive_of_several_images_is_refused_naming_them() {
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "cfg.json", CONFIG.as_bytes());
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"cfg.json","RepoTags":["a:1"],"Layers":[]},
                 {"Config":"cfg.json","RepoTags":["b:2"],"Layers":[]}]"#,
        );
        let error = read_bytes(&builder.into_inner().unwrap()).unwrap_err();
        assert!(matches!(&error, ArchiveError::SeveralImages(names) if names == &["a:1", "b:2"]));
        assert_eq!(
            error.to_string(),
            "the image archive holds 2 images (a:1, b:2); save one image per archive"
        );
    }

    #[test]
    fn one_image_under_two_names_is_one_image() {
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "blobs/sha256/c0", CONFIG.as_bytes());
        add(&mut builder, "blobs/sha256/l0", &layer(&[("x", 3)]));
        add(
            &mut builder,
            "blobs/sha256/m0",
            br#"{"config":{"digest":"sha256:c0"},"layers":[{"digest":"sha256:l0"}]}"#,
        );
        add(
            &mut builder,
            "index.json",
            &index_json(
                r#"{"digest":"sha256:m0","annotations":{"io.containerd.image.name":"a:1"}},
                   {"digest":"sha256:m0","annotations":{"io.containerd.image.name":"a:latest"}}"#,
            ),
        );
        let image = read_bytes(&builder.into_inner().unwrap()).unwrap();
        assert_eq!(image.name.as_deref(), Some("a:1"));
        assert_eq!(sizes(&image), [3]);
    }

    #[test]
    fn what_is_not_an_image_archive_is_an_error_not_a_panic() {
        // empty, text, a tar without manifests
        assert!(matches!(read_bytes(b""), Err(ArchiveError::NoManifest)));
        assert!(matches!(
            read_bytes(b"FROM busybox\n"),
            Err(ArchiveError::NoManifest)
        ));
        assert!(matches!(
            read_bytes(&layer(&[("etc/passwd", 10)])),
            Err(ArchiveError::NoManifest)
        ));
        // a gzip that holds no tar
        assert!(matches!(
            read_bytes(&gzip(b"hello")),
            Err(ArchiveError::NoManifest)
        ));

        // a manifest that names a layer the archive lacks
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "cfg.json", CONFIG.as_bytes());
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"cfg.json","Layers":["gone/layer.tar"]}]"#,
        );
        assert!(matches!(
            read_bytes(&builder.into_inner().unwrap()),
            Err(ArchiveError::Missing(p)) if p == "gone/layer.tar"
        ));

        // a manifest that is not JSON of the right shape
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "manifest.json", br#"{"Config": 3}"#);
        let error = read_bytes(&builder.into_inner().unwrap()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the image archive's manifest.json is not")
        );
    }

    #[test]
    fn a_cut_archive_or_a_corrupt_layer_is_an_error_naming_it() {
        let mut bytes = legacy_archive();
        bytes.truncate(3000);
        assert!(matches!(read_bytes(&bytes), Err(ArchiveError::Io(_))));

        let mut broken = gzip(&layer(&[("bin/sh", 5000)]));
        let middle = broken.len() / 2;
        broken[middle..].iter_mut().for_each(|b| *b = 0x55);
        let mut builder = tar::Builder::new(Vec::new());
        add(&mut builder, "blobs/sha256/bad", &broken);
        let error = read_bytes(&builder.into_inner().unwrap()).unwrap_err();
        assert!(
            matches!(&error, ArchiveError::Layer { path, .. } if path == "blobs/sha256/bad"),
            "{error}"
        );
    }

    #[test]
    fn digests_and_links_stay_inside_the_archive() {
        assert_eq!(
            blob_path("sha256:ab12").as_deref(),
            Some("blobs/sha256/ab12")
        );
        assert_eq!(blob_path("sha256:../../etc/passwd"), None);
        assert_eq!(blob_path("nocolon"), None);
        assert_eq!(resolve("c/layer.tar", "../a/layer.tar"), "a/layer.tar");
        assert_eq!(resolve("blobs/sha256/x", "y"), "blobs/sha256/y");
        assert_eq!(resolve("c/layer.tar", "/a/layer.tar"), "a/layer.tar");
    }

    #[test]
    fn a_link_loop_ends() {
        let mut builder = tar::Builder::new(Vec::new());
        link(&mut builder, "a/layer.tar", "../b/layer.tar");
        link(&mut builder, "b/layer.tar", "../a/layer.tar");
        add(&mut builder, "cfg.json", CONFIG.as_bytes());
        add(
            &mut builder,
            "manifest.json",
            br#"[{"Config":"cfg.json","Layers":["a/layer.tar"]}]"#,
        );
        assert!(matches!(
            read_bytes(&builder.into_inner().unwrap()),
            Err(ArchiveError::Missing(_))
        ));
    }
}
