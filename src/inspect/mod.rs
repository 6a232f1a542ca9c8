//! `inspect`'s view of one image: for each layer, what it holds, what later layers hide of it
//! and the caches it leaves; where the final filesystem's bytes sit; what is hidden and by
//! which layer; with a Dockerfile, the line of each layer and the findings whose rule explains
//! a waste; and the CI gates ([`gates`]). Rendered as a table ([`table`]), JSON, or the HTML
//! page of [`crate::picture`].
//!
//! The figures come from the layer tars alone (an archive and the daemon's own save give the
//! same): a layer's size is the bytes of the regular files in its tar, so `docker history`,
//! which also counts a symlink's target length and each folder, says a little more.

pub mod gates;
pub mod page;
pub mod table;
pub mod tree;

use std::collections::BTreeMap;

use indicatif::HumanBytes;
use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::docker::archive::{HistoryEntry, ImageArchive};
use crate::docker::compare::map_layers;
use crate::docker::image::HistoryItem;
use crate::docker::layers::{LayerFiles, cache_of};
use crate::docker::stack::{Stacked, stack};
use crate::lint::{LintOptions, lint};
use crate::syntax::Dockerfile;
use gates::Gate;
use tree::{FileEntry, Folder, FolderEntry, HiddenEntry};

/// Where the image was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Daemon,
    Archive,
}

/// One layer, lowest first.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    pub index: usize,
    /// The digest of its uncompressed tar (`rootfs.diff_ids`).
    pub digest: String,
    /// The history step that made it.
    pub created_by: String,
    /// The step's comment (`Imported from -`), when it has one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// With `--dockerfile`: the line (1-based) of its instruction; base image layers have the
    /// line of their FROM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    /// Bytes of the regular files in the layer's tar.
    pub size_bytes: u64,
    /// Of those, the bytes that later layers delete or overwrite.
    pub wasted_bytes: u64,
    /// Bytes of lower layers that this layer deletes or overwrites.
    pub hides_bytes: u64,
    /// Of its bytes still in the final filesystem, those in known caches.
    pub cache_bytes: u64,
    pub caches: BTreeMap<&'static str, u64>,
    pub files_added: usize,
    pub files_changed: usize,
    pub files_removed: usize,
}

impl LayerReport {
    /// The bytes of this layer that the final image shows and that are no cache.
    pub fn kept_bytes(&self) -> u64 {
        self.size_bytes - self.wasted_bytes - self.cache_bytes
    }
}

/// What a finding's rule explains of the waste.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// `hidden` (bytes a later layer hides) or `cache` (caches left in the image).
    pub kind: &'static str,
    pub bytes: u64,
    /// The layers holding those bytes.
    pub layers: Vec<usize>,
}

/// The fix a finding offers, as a diff of the Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FixReport {
    pub title: String,
    pub safety: &'static str,
    /// Unified diff of the Dockerfile with this fix alone applied; empty when the fix writes
    /// only other files.
    pub diff: String,
}

/// A lint finding whose rule explains waste the image holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub name: String,
    pub severity: &'static str,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixReport>,
    pub explains: Explained,
}

/// The whole report, as `--format json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// The image as named on the command line, or as its archive names it.
    pub image: String,
    pub source: Source,
    /// Bytes of the files of all layers: what is stored and pulled, uncompressed.
    pub total_bytes: u64,
    pub layer_count: usize,
    /// Bytes that later layers hide, each hidden copy once: what removing them reclaims.
    pub wasted_bytes: u64,
    pub wasted_percent: f64,
    /// Bytes of known caches in the final filesystem.
    pub cache_bytes: u64,
    pub caches: BTreeMap<&'static str, u64>,
    /// `(total - wasted - cache) / total`, 1 for an empty image.
    pub efficiency: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    pub layers: Vec<LayerReport>,
    pub largest_files: Vec<FileEntry>,
    pub largest_folders: Vec<FolderEntry>,
    pub largest_hidden: Vec<HiddenEntry>,
    pub findings: Vec<Finding>,
    pub gates: Vec<Gate>,
    /// The final filesystem as a tree, for the HTML page.
    #[serde(skip)]
    pub tree: Folder,
    #[serde(skip)]
    history: Vec<HistoryEntry>,
}

/// Rounded so that JSON stays stable across platforms: `digits` after the point.
fn rounded(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

pub(crate) fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}

impl Inspection {
    /// Stacks the archive's layers and measures them; `top` bounds each "largest" list.
    pub fn new(
        image: String,
        source: Source,
        archive: ImageArchive<LayerFiles>,
        top: usize,
    ) -> Inspection {
        let stacked = stack(&archive.layers);
        let mut layers = layer_reports(&archive, &stacked);
        let mut caches: BTreeMap<&'static str, u64> = BTreeMap::new();
        for (path, file) in &stacked.files {
            if file.bytes == 0 {
                continue;
            }
            if let Some(kind) = cache_of(path) {
                *caches.entry(kind).or_default() += file.bytes;
                let layer = &mut layers[file.layer];
                *layer.caches.entry(kind).or_default() += file.bytes;
                layer.cache_bytes += file.bytes;
            }
        }
        let total_bytes = stacked.stored_bytes();
        let wasted_bytes = stacked.hidden_bytes();
        let cache_bytes: u64 = caches.values().sum();
        let share = |n: u64| match total_bytes {
            0 => 0.0,
            total => n as f64 / total as f64,
        };
        Inspection {
            image,
            source,
            total_bytes,
            layer_count: layers.len(),
            wasted_bytes,
            wasted_percent: rounded(share(wasted_bytes) * 100.0, 2),
            cache_bytes,
            caches,
            efficiency: match total_bytes {
                0 => 1.0,
                _ => rounded(1.0 - share(wasted_bytes + cache_bytes), 4),
            },
            dockerfile: None,
            layers,
            largest_files: tree::largest_files(&stacked.files, top),
            largest_folders: tree::largest_folders(&stacked.files, top),
            largest_hidden: tree::largest_hidden(&stacked.hidden, top),
            findings: Vec::new(),
            gates: Vec::new(),
            tree: tree::tree(&stacked.files),
            history: archive.history,
        }
    }

    /// Maps the layers to the Dockerfile's lines (the built stage, or `target`) and keeps the
    /// findings of its lint whose rule explains waste found in the layers. Nothing is mapped,
    /// and the error says why, when the image's history does not fit its layers or a layer's
    /// step is not the instruction at its place in the Dockerfile (another Dockerfile's image).
    pub fn map_dockerfile(
        &mut self,
        df: &Dockerfile,
        display: String,
        target: Option<&str>,
        options: &LintOptions,
    ) -> Result<(), String> {
        let steps: Vec<HistoryItem> = self
            .history
            .iter()
            .map(|h| HistoryItem {
                created_by: h.created_by.clone(),
                empty_layer: h.empty_layer,
                size_bytes: 0,
            })
            .collect();
        if steps.iter().filter(|s| !s.empty_layer).count() != self.layers.len() {
            return Err("the image's history does not match its layers".to_string());
        }
        let (mapped, _) = map_layers(df, target, &steps);
        // a step that is not its instruction's kind: the image is not this Dockerfile's
        if let Some((layer, _)) = self
            .layers
            .iter()
            .zip(&mapped)
            .find(|(_, map)| map.line.is_none())
        {
            let step = match layer.created_by.as_str() {
                "" => layer.comment.as_str(),
                created_by => created_by,
            };
            return Err(format!(
                "layer {} (`{}`) is not the instruction at its place in {display}",
                layer.index,
                crate::picture::html::cut(step.trim(), 60)
            ));
        }
        for (layer, map) in self.layers.iter_mut().zip(mapped) {
            layer.line = map.line;
            layer.instruction = map.instruction;
        }
        self.dockerfile = Some(display.clone());
        let diagnostics = lint(df, options);
        self.findings = explain(df, &display, &diagnostics, &self.layers);
        Ok(())
    }
}

fn layer_reports(archive: &ImageArchive<LayerFiles>, stacked: &Stacked) -> Vec<LayerReport> {
    let mut steps = archive.history.iter().filter(|h| !h.empty_layer);
    stacked
        .layers
        .iter()
        .enumerate()
        .map(|(index, stats)| {
            let step = steps.next();
            LayerReport {
                index,
                digest: archive.diff_ids.get(index).cloned().unwrap_or_default(),
                created_by: step.map(|h| h.created_by.clone()).unwrap_or_default(),
                comment: step.map(|h| h.comment.clone()).unwrap_or_default(),
                line: None,
                instruction: None,
                size_bytes: stats.file_bytes,
                wasted_bytes: stats.hidden_bytes,
                hides_bytes: stats.hides_bytes,
                cache_bytes: 0,
                caches: BTreeMap::new(),
                files_added: stats.added,
                files_changed: stats.changed,
                files_removed: stats.removed,
            }
        })
        .collect()
}

/// The rule whose fix removes a cache of this kind from the layer that leaves it.
fn rule_for_cache(kind: &str) -> Option<&'static str> {
    match kind {
        "apt lists" => Some("LW102"),
        // apt's own archive cache is emptied by the official images' apt settings; no rule
        "apt cache" => None,
        _ => Some("LW103"),
    }
}

/// The findings whose rule explains a waste in the layers, each with what it explains:
/// LW105 at a line whose layer hides bytes (the `rm` of a file an earlier layer made); LW102
/// and LW103 at a line whose layer leaves their cache, or, for a cache left by a layer without
/// such a finding, the first one after it (the install that reads the index an earlier RUN
/// fetched).
fn explain(
    df: &Dockerfile,
    display: &str,
    diagnostics: &[Diagnostic],
    layers: &[LayerReport],
) -> Vec<Finding> {
    let line_of = |d: &Diagnostic| df.position(d.span.start).line + 1;
    let mut explained: Vec<(usize, Explained)> = Vec::new();
    let mut add = |index: usize, kind: &'static str, bytes: u64, layer: usize| {
        if bytes == 0 {
            return;
        }
        match explained.iter_mut().find(|(i, _)| *i == index) {
            Some((_, e)) => {
                e.bytes += bytes;
                if !e.layers.contains(&layer) {
                    e.layers.push(layer);
                }
            }
            None => explained.push((
                index,
                Explained {
                    kind,
                    bytes,
                    layers: vec![layer],
                },
            )),
        }
    };
    for (index, d) in diagnostics.iter().enumerate() {
        if d.rule != "LW105" {
            continue;
        }
        let line = line_of(d);
        for layer in layers.iter().filter(|l| l.line == Some(line)) {
            add(index, "hidden", layer.hides_bytes, layer.index);
        }
    }
    for layer in layers {
        let Some(line) = layer.line else { continue };
        for (&kind, &bytes) in &layer.caches {
            let Some(rule) = rule_for_cache(kind) else {
                continue;
            };
            let of_rule = |d: &&Diagnostic| d.rule == rule;
            let here = diagnostics
                .iter()
                .enumerate()
                .find(|(_, d)| of_rule(d) && line_of(d) == line);
            let later = || {
                diagnostics
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| of_rule(d) && line_of(d) > line)
                    .min_by_key(|(_, d)| line_of(d))
            };
            if let Some((index, _)) = here.or_else(later) {
                add(index, "cache", bytes, layer.index);
            }
        }
    }
    explained.sort_by_key(|(index, _)| line_of(&diagnostics[*index]));
    explained
        .into_iter()
        .map(|(index, explains)| {
            let d = &diagnostics[index];
            let position = df.position(d.span.start);
            Finding {
                rule: d.rule,
                name: crate::rules::meta(d.rule)
                    .map(|m| m.name.clone())
                    .unwrap_or_default(),
                severity: d.severity.as_str(),
                line: position.line + 1,
                column: position.column + 1,
                message: d.message.to_string(),
                help: d.help.as_deref().map(str::to_string),
                fix: d.fix.as_ref().map(|fix| FixReport {
                    title: fix.title.to_string(),
                    safety: fix.safety.as_str(),
                    diff: fix_diff(df.text(), fix, display),
                }),
                explains,
            }
        })
        .collect()
}

/// The Dockerfile with one fix applied, as a unified diff.
fn fix_diff(text: &str, fix: &crate::fix::Fix, display: &str) -> String {
    if fix.edits.is_empty() {
        return String::new();
    }
    let (fixed, _) = crate::fix::apply(text, &[fix]);
    let display = display.trim_start_matches('/');
    similar::TextDiff::from_lines(text, fixed.as_str())
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{display}"), &format!("b/{display}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::archive::Layout;
    use crate::docker::layers::Change;

    fn archive(
        history: &[(&str, bool)],
        layers: Vec<Vec<(&str, Change)>>,
    ) -> ImageArchive<LayerFiles> {
        ImageArchive {
            name: None,
            digests: Vec::new(),
            layout: Layout::Docker,
            history: history
                .iter()
                .map(|(c, empty)| HistoryEntry {
                    created_by: c.to_string(),
                    empty_layer: *empty,
                    comment: String::new(),
                })
                .collect(),
            diff_ids: (0..layers.len()).map(|i| format!("sha256:{i}")).collect(),
            config: serde_json::Value::Null,
            layers: layers
                .into_iter()
                .map(|changes| LayerFiles {
                    changes: changes
                        .into_iter()
                        .map(|(p, c)| (p.to_string(), c))
                        .collect(),
                })
                .collect(),
        }
    }

    const DOCKERFILE: &str = "FROM debian\n\
        RUN apt-get update && apt-get install -y --no-install-recommends curl\n\
        COPY big /big\n\
        RUN rm /big\n";

    fn wasteful() -> ImageArchive<LayerFiles> {
        archive(
            &[
                ("/bin/sh -c #(nop) ADD file:base in /", false),
                ("/bin/sh -c #(nop)  CMD [\"bash\"]", true),
                (
                    "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl",
                    false,
                ),
                ("/bin/sh -c #(nop) COPY file:1a2b in /big ", false),
                ("/bin/sh -c rm /big", false),
            ],
            vec![
                vec![("bin/bash", Change::File(1000))],
                vec![
                    ("usr/bin/curl", Change::File(300)),
                    ("var/lib/apt/lists/deb_InRelease", Change::File(700)),
                ],
                vec![("big", Change::File(5000))],
                vec![("big", Change::Whiteout)],
            ],
        )
    }

    #[test]
    fn figures_add_up_and_efficiency_leaves_out_hidden_and_cache_bytes() {
        let report = Inspection::new("img".into(), Source::Archive, wasteful(), 5);
        assert_eq!(report.total_bytes, 7000);
        assert_eq!(report.wasted_bytes, 5000);
        assert_eq!(report.cache_bytes, 700);
        assert_eq!(report.efficiency, rounded(1300.0 / 7000.0, 4));
        assert_eq!(report.wasted_percent, 71.43);
        assert_eq!(report.layers[2].wasted_bytes, 5000);
        assert_eq!(report.layers[3].hides_bytes, 5000);
        assert_eq!(report.layers[3].files_removed, 1);
        assert_eq!(report.layers[1].cache_bytes, 700);
        assert_eq!(report.layers[1].kept_bytes(), 300);
        assert_eq!(
            report.layers[1].created_by,
            wasteful().history[2].created_by
        );
        assert_eq!(report.largest_hidden[0].path, "/big");
        assert_eq!(report.largest_hidden[0].hidden_by, 3);
    }

    #[test]
    fn a_dockerfile_maps_lines_and_its_findings_explain_the_waste() {
        let mut report = Inspection::new("img".into(), Source::Archive, wasteful(), 5);
        let df = Dockerfile::parse(DOCKERFILE);
        report
            .map_dockerfile(&df, "Dockerfile".into(), None, &LintOptions::default())
            .expect("mapped");
        let lines: Vec<Option<usize>> = report.layers.iter().map(|l| l.line).collect();
        assert_eq!(lines, [Some(1), Some(2), Some(3), Some(4)]);
        let explained: Vec<(&str, usize, &str, u64, &[usize])> = report
            .findings
            .iter()
            .map(|f| {
                (
                    f.rule,
                    f.line,
                    f.explains.kind,
                    f.explains.bytes,
                    f.explains.layers.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            explained,
            [
                ("LW102", 2, "cache", 700, &[1][..]),
                ("LW105", 4, "hidden", 5000, &[3][..]),
            ]
        );
        let lw102 = report.findings[0].fix.as_ref().expect("LW102 has a fix");
        assert!(lw102.diff.contains("+++ b/Dockerfile"), "{}", lw102.diff);
        assert!(
            lw102.diff.contains("rm -rf /var/lib/apt/lists/*"),
            "{}",
            lw102.diff
        );
    }

    #[test]
    fn a_history_that_does_not_fit_the_layers_maps_nothing() {
        let mut image = wasteful();
        image.history.pop();
        let mut report = Inspection::new("img".into(), Source::Archive, image, 5);
        let df = Dockerfile::parse(DOCKERFILE);
        let mapped = report.map_dockerfile(&df, "Dockerfile".into(), None, &LintOptions::default());
        assert_eq!(
            mapped,
            Err("the image's history does not match its layers".to_string())
        );
        assert!(report.layers.iter().all(|l| l.line.is_none()));
        assert_eq!(report.layers[3].created_by, "");
        assert_eq!(report.dockerfile, None);
    }

    #[test]
    fn another_dockerfile_than_the_images_maps_nothing_and_says_which_layer_differs() {
        let mut report = Inspection::new("img".into(), Source::Archive, wasteful(), 5);
        // as many instructions, but a COPY where the image ran a command
        let other = Dockerfile::parse("FROM debian\nCOPY a /a\nCOPY big /big\nRUN rm /big\n");
        let mapped =
            report.map_dockerfile(&other, "Dockerfile".into(), None, &LintOptions::default());
        let error = mapped.expect_err("not this image's Dockerfile");
        assert!(
            error.starts_with("layer 1 (`/bin/sh -c apt-get update"),
            "{error}"
        );
        assert!(report.layers.iter().all(|l| l.line.is_none()));
        assert!(report.findings.is_empty());
        // more instructions than the image has steps: its base layer is not the FROM
        let longer = format!("{DOCKERFILE}WORKDIR /a\nWORKDIR /b\nCOPY x /x\n");
        let mapped = report.map_dockerfile(
            &Dockerfile::parse(&longer),
            "Dockerfile".into(),
            None,
            &LintOptions::default(),
        );
        assert!(mapped.unwrap_err().starts_with("layer 0 "));
        assert_eq!(report.dockerfile, None);
    }

    #[test]
    fn an_empty_image_is_fully_efficient() {
        let report = Inspection::new("empty".into(), Source::Daemon, archive(&[], vec![]), 5);
        assert_eq!(report.efficiency, 1.0);
        assert_eq!(report.wasted_percent, 0.0);
    }
}
