//! The two builds side by side: each image's layers mapped to the Dockerfile's instructions,
//! the totals, and their rendering as tables or JSON.
//!
//! The map comes from the image config: both builders write one history step per instruction
//! after FROM, and the steps before those are the base image's. So the last N
//! steps, N being the instructions of the built stage and of the stages it is built `FROM`,
//! belong to those instructions in order; each step's `created_by` is checked against its
//! instruction's keyword, and a step that does not fit is left unmapped rather than guessed.

use std::collections::BTreeMap;

use comfy_table::{CellAlignment, Table, presets};
use indicatif::HumanBytes;
use serde::Serialize;

use super::build::Builder;
use super::image::{HistoryItem, ImageFacts};
use super::proof::{self, ConfigChange, FilesystemProof, SmokeRun, StartProgram};
use crate::model::resolve_stages;
use crate::picture::bars::{Part, Scale, width};
use crate::syntax::{Dockerfile, Instruction, Keyword};

/// One layer of an image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// The Dockerfile line (1-based) of the instruction that made it; base image layers have
    /// the line of the FROM they come in by.
    pub line: Option<usize>,
    /// The instruction, continuations joined and blanks collapsed.
    pub instruction: Option<String>,
    pub created_by: String,
    pub size_bytes: u64,
    /// Of its files, the bytes a later layer deletes or overwrites.
    pub hidden_bytes: u64,
    /// Of its files still in the final filesystem, the bytes in known caches.
    pub cache_bytes: u64,
}

impl Layer {
    /// The parts of its bar: kept, cache left, hidden (`size_bytes` is `docker history`'s,
    /// which counts a little more than the files, so kept is what is left of it).
    pub fn parts(&self) -> [(Part, u64); 3] {
        let kept = self
            .size_bytes
            .saturating_sub(self.hidden_bytes + self.cache_bytes);
        [
            (Part::Kept, kept),
            (Part::Cache, self.cache_bytes),
            (Part::Hidden, self.hidden_bytes),
        ]
    }
}

/// One instruction of the Dockerfile, as a row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    /// The instruction in a line, cut to fit the table.
    pub text: String,
    /// The whole instruction, blanks collapsed: what decides that two rows are the same.
    pub key: String,
    /// The bytes of its layer; `None` when it made no layer. A FROM row holds the base image.
    pub size: Option<u64>,
}

/// One version's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// The image's size as Docker counts it (`docker images`).
    pub total_bytes: u64,
    /// Bytes of the files of the final filesystem, counted from the layer tars.
    pub file_bytes: u64,
    pub layer_count: usize,
    pub hidden_bytes: u64,
    pub cache_bytes: u64,
    /// Cache bytes per kind of cache.
    pub caches: BTreeMap<&'static str, u64>,
    /// The cold build's time: the median of `build_times`.
    pub build_seconds: f64,
    /// Every cold build's time, with their median and spread.
    pub build_times: Samples,
    /// The rebuild after an edit: the median of `rebuild_times`.
    pub rebuild_seconds: Option<f64>,
    pub rebuild_times: Option<Samples>,
    /// Steps the first rebuild after an edit ran rather than took from the cache.
    pub rebuilt_steps: Option<usize>,
    /// Those steps' instructions, as the builder named them.
    pub rebuilt: Option<Vec<String>>,
    pub layers: Vec<Layer>,
    /// The largest copies of files that later layers delete or overwrite, largest first.
    pub hidden_paths: Vec<HiddenPath>,
    #[serde(skip)]
    pub rows: Vec<Row>,
}

/// A copy of a file that a later layer hides: stored and pulled, never seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HiddenPath {
    pub path: String,
    pub bytes: u64,
    /// The line of the instruction whose layer holds the copy.
    pub line: Option<usize>,
    /// The line of the instruction whose layer deletes or overwrites it.
    pub hidden_by_line: Option<usize>,
}

/// A rebuild after a source edit.
#[derive(Clone, Debug)]
pub struct Rebuild {
    pub seconds: f64,
    /// The instructions of the steps that ran rather than came from the cache.
    pub rebuilt: Vec<String>,
}

/// Times of the same build taken `seconds.len()` times: their median and spread.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Samples {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub seconds: Vec<f64>,
}

impl Samples {
    /// `None` for no samples.
    pub fn of(seconds: &[f64]) -> Option<Samples> {
        let mut sorted = seconds.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => return None,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Some(Samples {
            median,
            min: sorted[0],
            max: sorted[n - 1],
            seconds: seconds.to_vec(),
        })
    }

    /// `1.2 s`, or with more than one sample `1.2 s (1.1–1.4)`: the median, then min–max.
    pub fn show(&self) -> String {
        if self.seconds.len() < 2 {
            return format!("{:.1} s", self.median);
        }
        format!("{:.1} s ({:.1}–{:.1})", self.median, self.min, self.max)
    }
}

/// Where measure's own time went, in seconds of wall time, up to the report: what the
/// builds took and what measure spent around them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Timings {
    /// From the start of the command to the report.
    pub total_seconds: f64,
    /// Every build, cold and after an edit, of every run.
    pub build_seconds: f64,
    /// The `--smoke` containers.
    pub smoke_seconds: f64,
    /// The rest, phase by phase: `prepare` (lint, fix, the contexts), `daemon` (connecting,
    /// the images present, the builder, the build cache), `images` (saving and reading both
    /// images), `sizes` (the later runs' image sizes), `edits` (the edited contexts), `proof`.
    pub phases: BTreeMap<&'static str, f64>,
    /// `total_seconds` less builds and smoke, as a share of `build_seconds`.
    pub overhead_share: f64,
}

impl Side {
    /// A version's figures from its image's facts, the times of its cold builds (one or more)
    /// and of its rebuilds after an edit (none when not measured).
    pub fn new(
        df: &Dockerfile,
        target: Option<&str>,
        facts: &ImageFacts,
        builds: &[f64],
        rebuilds: &[Rebuild],
    ) -> Side {
        let build_times = Samples::of(builds).unwrap_or(Samples {
            median: 0.0,
            min: 0.0,
            max: 0.0,
            seconds: Vec::new(),
        });
        let rebuild_times = Samples::of(&rebuilds.iter().map(|r| r.seconds).collect::<Vec<_>>());
        // in the Dockerfile's order (BuildKit names its steps as they finish or hit the cache)
        let place = |step: &String| {
            let step = step.split_whitespace().collect::<Vec<_>>().join(" ");
            df.instructions()
                .position(|i| full_text(i) == step)
                .unwrap_or(usize::MAX)
        };
        let rebuilt = rebuilds.first().map(|r| {
            let mut steps = r.rebuilt.clone();
            steps.sort_by_key(place);
            steps
        });
        let (mut layers, rows) = map_layers(df, target, &facts.history);
        // the history's layers are the saved image's, in order, and the stacking's
        for (i, layer) in layers.iter_mut().enumerate() {
            layer.hidden_bytes = facts.analysis.hidden_by_layer.get(i).copied().unwrap_or(0);
            layer.cache_bytes = facts.analysis.cache_by_layer.get(i).copied().unwrap_or(0);
        }
        let line = |layer: usize| layers.get(layer).and_then(|l| l.line);
        let hidden_paths = facts
            .hidden
            .iter()
            .map(|h| HiddenPath {
                path: h.path.clone(),
                bytes: h.bytes,
                line: line(h.layer),
                hidden_by_line: line(h.by),
            })
            .collect();
        Side {
            total_bytes: facts.total_bytes,
            file_bytes: facts.analysis.visible_bytes,
            layer_count: facts.layer_count,
            hidden_bytes: facts.analysis.hidden_bytes,
            cache_bytes: facts.analysis.cache_bytes(),
            caches: facts.analysis.caches.iter().copied().collect(),
            build_seconds: build_times.median,
            build_times,
            rebuild_seconds: rebuild_times.as_ref().map(|t| t.median),
            rebuild_times,
            rebuilt_steps: rebuilt.as_ref().map(Vec::len),
            rebuilt,
            layers,
            hidden_paths,
            rows,
        }
    }
}

/// The most hidden copies the table names per side (JSON has up to 20).
const HIDDEN_SHOWN: usize = 3;

/// `hidden by later layers before: /opt/bundle.tar 3.00 MiB (line 4, hidden by line 6), …`,
/// or nothing when no bytes are hidden.
fn hidden_line(label: &str, side: &Side) -> String {
    if side.hidden_paths.is_empty() {
        return String::new();
    }
    let line = |l: Option<usize>| l.map_or("?".to_string(), |l| l.to_string());
    let mut shown: Vec<String> = side
        .hidden_paths
        .iter()
        .take(HIDDEN_SHOWN)
        .map(|h| {
            format!(
                "/{} {} (line {}, hidden by line {})",
                h.path,
                HumanBytes(h.bytes),
                line(h.line),
                line(h.hidden_by_line)
            )
        })
        .collect();
    if side.hidden_paths.len() > HIDDEN_SHOWN {
        shown.push("…".to_string());
    }
    format!("hidden by later layers{label}: {}\n", shown.join(", "))
}

/// The whole comparison, as `--format json` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub dockerfile: String,
    /// The builder both versions were built with.
    pub builder: Builder,
    /// The rules whose fixes made the rewrite, in the order applied.
    pub applied: Vec<String>,
    /// The file changed for the rebuild-after-edit figures.
    pub edited_file: Option<String>,
    /// Why the rebuild after an edit was not measured, when it was not.
    pub rebuild_not_measured: Option<String>,
    pub before: Side,
    pub after: Side,
    /// `before.total_bytes - after.total_bytes`.
    pub saved_bytes: i64,
    /// How the final filesystems differ, and what explains each difference.
    pub filesystem: FilesystemProof,
    /// The config fields that differ.
    pub config_changes: Vec<ConfigChange>,
    /// The program ENTRYPOINT/CMD starts, looked for in each image.
    pub start_program: Option<StartProgram>,
    /// The `--smoke` commands, run in a container of each image.
    pub smoke: Vec<SmokeRun>,
    /// How many times each version was built (`--runs`), cold and after an edit.
    pub runs: usize,
    /// Where a later run's image differs in size from the first's, what differs; empty when
    /// every run built the same sizes.
    pub size_differences: Vec<String>,
    /// Where measure's time went.
    pub timings: Timings,
}

impl Comparison {
    pub fn new(
        dockerfile: String,
        builder: Builder,
        applied: Vec<String>,
        edited_file: Option<String>,
        before: Side,
        after: Side,
    ) -> Comparison {
        let saved_bytes = before.total_bytes as i64 - after.total_bytes as i64;
        Comparison {
            dockerfile,
            builder,
            applied,
            edited_file,
            rebuild_not_measured: None,
            before,
            after,
            saved_bytes,
            filesystem: FilesystemProof::default(),
            config_changes: Vec::new(),
            start_program: None,
            smoke: Vec::new(),
            runs: 1,
            size_differences: Vec::new(),
            timings: Timings::default(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The instruction table, the totals table, and a line on what the rewrite was.
    pub fn to_table(&self) -> String {
        self.render(None)
    }

    /// [`Comparison::to_table`] with the layers' bars ([`Comparison::bars`]) before the proof.
    pub fn to_terminal(&self, color: bool, cells: usize) -> String {
        self.render(Some((color, cells)))
    }

    fn render(&self, bars: Option<(bool, usize)>) -> String {
        let mut out = String::new();
        let fixes = if self.applied.is_empty() {
            "no fix applies: before and after are the same build".to_string()
        } else {
            format!(
                "after = `layerwise fix` applied ({})",
                crate::fixer::summary(&self.applied)
            )
        };
        out.push_str(&format!(
            "{}: {fixes}; built by {}\n",
            self.dockerfile,
            self.builder.name()
        ));
        out.push_str(&self.instruction_table().to_string());
        out.push('\n');
        out.push_str(&self.totals_table().to_string());
        out.push('\n');
        let sides: &[(&str, &Side)] = if self.applied.is_empty() {
            &[("", &self.before)]
        } else {
            &[(" before", &self.before), (" after", &self.after)]
        };
        for (label, side) in sides {
            out.push_str(&hidden_line(label, side));
        }
        match &self.edited_file {
            Some(file) => out.push_str(&format!(
                "rebuild after an edit: one line appended to {file}, rebuilt with the cache\n"
            )),
            None => out.push_str(&format!(
                "rebuild after an edit: not measured: {}\n",
                self.rebuild_not_measured
                    .as_deref()
                    .unwrap_or("no source file to edit")
            )),
        }
        out.push_str(&self.rerun_line());
        out.push_str(&self.times_line());
        if let Some((color, cells)) = bars {
            out.push_str(&self.bars(color, cells));
        }
        out.push_str(&proof::render(
            &self.filesystem,
            &self.config_changes,
            self.start_program.as_ref(),
            &self.smoke,
        ));
        out
    }

    /// `re-run after the edit: before: COPY . /app, RUN …; after: COPY . /app`, or nothing
    /// when the rebuild was not measured.
    fn rerun_line(&self) -> String {
        let steps = |side: &Side| -> Option<String> {
            let rebuilt = side.rebuilt.as_ref()?;
            if rebuilt.is_empty() {
                return Some("nothing".to_string());
            }
            Some(
                rebuilt
                    .iter()
                    .map(|s| shorten(s, 40))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        match (steps(&self.before), steps(&self.after)) {
            (Some(before), _) if self.applied.is_empty() => {
                format!("re-run after the edit: {before}\n")
            }
            (Some(before), Some(after)) => {
                format!("re-run after the edit: before: {before}; after: {after}\n")
            }
            _ => String::new(),
        }
    }

    /// How far the times can be trusted: one sample each is noisy; more give median and spread.
    /// And whether every run built the same sizes.
    pub fn times_line(&self) -> String {
        if self.runs < 2 {
            return "times: one build of each, so noisy (a busy machine or a cold disk cache can \
                    double one); --runs 5 gives the median and spread\n"
                .to_string();
        }
        let sizes = if self.size_differences.is_empty() {
            "the same sizes in every run".to_string()
        } else {
            format!(
                "sizes differed between runs: {}",
                self.size_differences.join("; ")
            )
        };
        format!(
            "times: the median of {} builds of each, min–max in brackets; {sizes}\n",
            self.runs
        )
    }

    /// A bar per layer of each version, all at one scale, for a terminal `cells` wide: what
    /// each layer keeps, leaves as cache, and stores only for a later layer to hide.
    pub fn bars(&self, color: bool, cells: usize) -> String {
        let sides = [("before", &self.before), ("after", &self.after)];
        let layers = || sides.iter().flat_map(|(_, side)| &side.layers);
        let largest = layers().map(|l| l.size_bytes).max().unwrap_or(0);
        if largest == 0 {
            return String::new();
        }
        let label = |l: &Layer| l.line.map_or("–".to_string(), |n| n.to_string());
        let label_width = layers().map(|l| label(l).len()).max().unwrap_or(1);
        let size_width = layers()
            .map(|l| bytes(l.size_bytes).len())
            .max()
            .unwrap_or(1);
        // "  NN " + bar + " " + size
        let bar_cells = cells
            .saturating_sub(label_width + size_width + 4)
            .clamp(10, 120);
        let scale = Scale::fitting(largest, bar_cells, color);
        let mut out = format!(
            "bytes per layer, by line ({})\n",
            scale.legend(&[Part::Kept, Part::Cache, Part::Hidden])
        );
        for (name, side) in sides {
            out.push_str(&format!("{name}: {}\n", bytes(side.total_bytes)));
            for layer in &side.layers {
                let bar = scale.bar(&layer.parts());
                let pad = bar_cells.saturating_sub(width(&bar));
                out.push_str(&format!(
                    "  {:>label_width$} {bar}{} {:>size_width$}\n",
                    label(layer),
                    " ".repeat(pad),
                    bytes(layer.size_bytes)
                ));
            }
        }
        out
    }

    fn instruction_table(&self) -> Table {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED);
        table.set_header(vec!["line", "before", "size", "line", "after", "size"]);
        for (left, right) in align(&self.before.rows, &self.after.rows) {
            let mut cells = Vec::new();
            for row in [left, right] {
                match row {
                    Some(row) => {
                        cells.push(row.line.to_string());
                        cells.push(row.text.clone());
                        cells.push(row.size.map_or("–".to_string(), bytes));
                    }
                    None => cells.extend([String::new(), String::new(), String::new()]),
                }
            }
            table.add_row(cells);
        }
        for column in [0, 2, 3, 5] {
            if let Some(c) = table.column_mut(column) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        table
    }

    fn totals_table(&self) -> Table {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED);
        table.set_header(vec!["", "before", "after", "change"]);
        for row in self.totals() {
            table.add_row(row);
        }
        for column in 1..4 {
            if let Some(c) = table.column_mut(column) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        table
    }

    /// The totals as rows of figure, before, after and change, for the table and the page.
    pub fn totals(&self) -> Vec<Vec<String>> {
        let (b, a) = (&self.before, &self.after);
        let mut table = Vec::new();
        let sized = |name: &str, before: u64, after: u64| {
            vec![
                name.to_string(),
                bytes(before),
                bytes(after),
                change(before as f64, after as f64, |d| signed_bytes(d as i64)),
            ]
        };
        let counted = |name: &str, before: Option<usize>, after: Option<usize>| {
            let show = |v: Option<usize>| v.map_or("–".to_string(), |v| v.to_string());
            let diff = match (before, after) {
                (Some(b), Some(a)) => change(b as f64, a as f64, |d| format!("{:+}", d as i64)),
                _ => String::new(),
            };
            vec![name.to_string(), show(before), show(after), diff]
        };
        let timed = |name: &str, before: Option<&Samples>, after: Option<&Samples>| {
            let show = |v: Option<&Samples>| v.map_or("–".to_string(), Samples::show);
            let diff = match (before, after) {
                (Some(b), Some(a)) => change(b.median, a.median, |d| format!("{d:+.1} s")),
                _ => String::new(),
            };
            vec![name.to_string(), show(before), show(after), diff]
        };
        table.push(sized("image size", b.total_bytes, a.total_bytes));
        table.push(counted("layers", Some(b.layer_count), Some(a.layer_count)));
        table.push(sized(
            "hidden by later layers",
            b.hidden_bytes,
            a.hidden_bytes,
        ));
        table.push(sized(
            "caches left in the image",
            b.cache_bytes,
            a.cache_bytes,
        ));
        table.push(timed(
            "cold build",
            Some(&b.build_times),
            Some(&a.build_times),
        ));
        table.push(counted(
            "steps re-run after an edit",
            b.rebuilt_steps,
            a.rebuilt_steps,
        ));
        table.push(timed(
            "rebuild after an edit",
            b.rebuild_times.as_ref(),
            a.rebuild_times.as_ref(),
        ));
        table
    }
}

fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}

fn signed_bytes(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "+" };
    format!("{sign}{}", HumanBytes(n.unsigned_abs()))
}

/// `-2.00 MiB (-50.0%)`; the percentage is of the before figure.
fn change(before: f64, after: f64, show: impl Fn(f64) -> String) -> String {
    let diff = after - before;
    if diff == 0.0 {
        return "0".to_string();
    }
    if before == 0.0 {
        return show(diff);
    }
    format!("{} ({:+.1}%)", show(diff), diff / before * 100.0)
}

/// Rows of both versions side by side: an instruction both have on one row, the others alone.
fn align<'a>(before: &'a [Row], after: &'a [Row]) -> Vec<(Option<&'a Row>, Option<&'a Row>)> {
    let left: Vec<&str> = before.iter().map(|r| r.key.as_str()).collect();
    let right: Vec<&str> = after.iter().map(|r| r.key.as_str()).collect();
    let mut rows = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &left, &right) {
        let (_, old, new) = op.as_tag_tuple();
        let pairs = old.len().max(new.len());
        for i in 0..pairs {
            let l = (i < old.len()).then(|| &before[old.start + i]);
            let r = (i < new.len()).then(|| &after[new.start + i]);
            rows.push((l, r));
        }
    }
    rows
}

/// The built stage's instructions and those of the stages it is built from, oldest first,
/// with the FROM the base image comes in by.
fn lineage<'a>(
    df: &'a Dockerfile,
    target: Option<&str>,
) -> Option<(&'a Instruction, Vec<&'a Instruction>)> {
    let (stages, _) = resolve_stages(df, target, &[]);
    let chain = stages.lineage(stages.target?);
    let root = stages[chain[0]].stage.from;
    let instructions = chain
        .iter()
        .flat_map(|&i| stages[i].stage.instructions.iter().copied())
        .collect();
    Some((root, instructions))
}

/// Whether a history step's `created_by` can come from this instruction. BuildKit writes the
/// instruction's keyword first (`RUN /bin/sh -c … # buildkit`, `COPY . /app # buildkit`,
/// `ENV A=1`); the classic builder writes RUN's command (`/bin/sh -c …`) and the others as
/// `/bin/sh -c #(nop)  ENV A=1`.
fn fits(inst: &Instruction, created_by: &str) -> bool {
    let first = created_by.split_whitespace().next().unwrap_or("");
    if first.bytes().all(|b| b.is_ascii_uppercase())
        && let Some(keyword) = Keyword::from_name(first)
    {
        return keyword == inst.keyword;
    }
    let nop = created_by.contains("#(nop)");
    match inst.keyword {
        Keyword::Run => !nop,
        keyword => nop && created_by.contains(keyword.as_str()),
    }
}

/// The instruction as BuildKit reads it (continuations joined), blanks collapsed.
fn full_text(inst: &Instruction) -> String {
    inst.line
        .as_str()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`full_text`] cut at 40 characters.
fn short_text(inst: &Instruction) -> String {
    shorten(&full_text(inst), 40)
}

/// `text` cut to `max` characters, the cut marked with `…`.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Maps the history (oldest first) to the Dockerfile: the layers with their instructions, and
/// the table's rows.
pub fn map_layers(
    df: &Dockerfile,
    target: Option<&str>,
    history: &[HistoryItem],
) -> (Vec<Layer>, Vec<Row>) {
    let line_of = |inst: &Instruction| df.position(inst.span().start).line + 1;
    let Some((from, instructions)) = lineage(df, target) else {
        let layers = history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| Layer {
                line: None,
                instruction: None,
                created_by: h.created_by.clone(),
                size_bytes: h.size_bytes,
                hidden_bytes: 0,
                cache_bytes: 0,
            })
            .collect();
        return (layers, Vec::new());
    };
    let own = instructions.len().min(history.len());
    let base_steps = history.len() - own;
    let mut layers = Vec::new();
    let mut base_bytes = 0;
    for item in history[..base_steps].iter().filter(|h| !h.empty_layer) {
        base_bytes += item.size_bytes;
        layers.push(Layer {
            line: Some(line_of(from)),
            instruction: Some(full_text(from)),
            created_by: item.created_by.clone(),
            size_bytes: item.size_bytes,
            hidden_bytes: 0,
            cache_bytes: 0,
        });
    }
    let mut rows = vec![Row {
        line: line_of(from),
        text: short_text(from),
        key: full_text(from),
        size: Some(base_bytes),
    }];
    let first_own = instructions.len() - own;
    for (inst, item) in instructions[first_own..].iter().zip(&history[base_steps..]) {
        let mapped = fits(inst, &item.created_by);
        if !item.empty_layer {
            layers.push(Layer {
                line: mapped.then(|| line_of(inst)),
                instruction: mapped.then(|| full_text(inst)),
                created_by: item.created_by.clone(),
                size_bytes: item.size_bytes,
                hidden_bytes: 0,
                cache_bytes: 0,
            });
        }
        rows.push(Row {
            line: line_of(inst),
            text: short_text(inst),
            key: full_text(inst),
            size: (!item.empty_layer).then_some(item.size_bytes),
        });
    }
    (layers, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::image::Hidden;
    use crate::docker::stack::Analysis;

    fn step(created_by: &str, size: Option<u64>) -> HistoryItem {
        HistoryItem {
            created_by: created_by.to_string(),
            empty_layer: size.is_none(),
            size_bytes: size.unwrap_or(0),
        }
    }

    const BASE: [(&str, Option<u64>); 2] = [
        ("/bin/sh -c #(nop) ADD file:abc in / ", Some(1_900_000)),
        ("/bin/sh -c #(nop)  CMD [\"sh\"]", None),
    ];

    fn history(own: &[(&str, Option<u64>)]) -> Vec<HistoryItem> {
        BASE.iter().chain(own).map(|(c, s)| step(c, *s)).collect()
    }

    #[test]
    fn the_last_steps_map_to_the_built_stage_and_its_parents() {
        let df = Dockerfile::parse(
            "FROM busybox AS base\nRUN echo a > /a\n\nFROM base\nENV X=1\nRUN echo b > /b\n",
        );
        let history = history(&[
            ("/bin/sh -c echo a > /a", Some(2)),
            ("/bin/sh -c #(nop)  ENV X=1", None),
            ("/bin/sh -c echo b > /b", Some(2)),
        ]);
        let (layers, rows) = map_layers(&df, None, &history);
        let lines: Vec<(Option<usize>, u64)> =
            layers.iter().map(|l| (l.line, l.size_bytes)).collect();
        assert_eq!(lines, [(Some(1), 1_900_000), (Some(2), 2), (Some(6), 2)]);
        let rows: Vec<(usize, &str, Option<u64>)> = rows
            .iter()
            .map(|r| (r.line, r.text.as_str(), r.size))
            .collect();
        assert_eq!(
            rows,
            [
                (1, "FROM busybox AS base", Some(1_900_000)),
                (2, "RUN echo a > /a", Some(2)),
                (5, "ENV X=1", None),
                (6, "RUN echo b > /b", Some(2)),
            ]
        );
    }

    #[test]
    fn a_target_stage_maps_only_its_own_lineage() {
        let df = Dockerfile::parse("FROM busybox AS one\nRUN true\nFROM busybox\nRUN false\n");
        let history = history(&[("/bin/sh -c true", Some(0))]);
        let (layers, rows) = map_layers(&df, Some("ONE"), &history);
        assert_eq!(layers[1].line, Some(2));
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn a_step_that_does_not_fit_its_instruction_stays_unmapped() {
        let df = Dockerfile::parse("FROM busybox\nCOPY a /a\n");
        let history = history(&[("/bin/sh -c echo surprise", Some(4))]);
        let (layers, _) = map_layers(&df, None, &history);
        assert_eq!(layers[1].line, None);
        assert_eq!(layers[1].instruction, None);
    }

    fn side(
        df: &Dockerfile,
        own: &[(&str, Option<u64>)],
        hidden: Vec<Hidden>,
        rebuild: Rebuild,
    ) -> Side {
        let history = history(own);
        let layer_count = history.iter().filter(|h| !h.empty_layer).count();
        // the per-layer totals of the same stacking as the hidden copies
        let mut hidden_by_layer = vec![0; layer_count];
        for h in &hidden {
            hidden_by_layer[h.layer] += h.bytes;
        }
        let facts = ImageFacts {
            total_bytes: history.iter().map(|h| h.size_bytes).sum(),
            layer_count,
            history,
            analysis: Analysis {
                hidden_bytes: hidden_by_layer.iter().sum(),
                hidden_by_layer,
                visible_bytes: 0,
                caches: Vec::new(),
                cache_by_layer: Vec::new(),
            },
            filesystem: Default::default(),
            config: serde_json::Value::Null,
            hidden,
        };
        Side::new(df, None, &facts, &[1.25], &[rebuild])
    }

    #[test]
    fn the_table_puts_shared_instructions_on_one_row() {
        let before_df = Dockerfile::parse(
            "FROM busybox\nRUN head -c 2000000 /dev/zero > /big\nRUN rm /big\nCMD [\"sh\"]\n",
        );
        let after_df = Dockerfile::parse(
            "FROM busybox\nRUN head -c 2000000 /dev/zero > /big \\\n    && rm /big\nCMD [\"sh\"]\n",
        );
        let before = side(
            &before_df,
            &[
                (
                    "/bin/sh -c head -c 2000000 /dev/zero > /big",
                    Some(2_000_000),
                ),
                ("/bin/sh -c rm /big", Some(0)),
                ("/bin/sh -c #(nop)  CMD [\"sh\"]", None),
            ],
            // the base image's layer is the first: /big is in the second, deleted in the third
            vec![Hidden {
                path: "big".into(),
                bytes: 2_000_000,
                layer: 1,
                by: 2,
            }],
            Rebuild {
                seconds: 0.5,
                rebuilt: vec!["RUN head -c 2000000 /dev/zero > /big".into()],
            },
        );
        let after = side(
            &after_df,
            &[
                (
                    "/bin/sh -c head -c 2000000 /dev/zero > /big && rm /big",
                    Some(0),
                ),
                ("/bin/sh -c #(nop)  CMD [\"sh\"]", None),
            ],
            Vec::new(),
            Rebuild {
                seconds: 0.25,
                rebuilt: Vec::new(),
            },
        );
        let comparison = Comparison::new(
            "Dockerfile".into(),
            Builder::Classic,
            vec!["LW105".into()],
            Some("src/main.c".into()),
            before,
            after,
        );
        assert_eq!(comparison.saved_bytes, 2_000_000);
        insta::assert_snapshot!(comparison.to_table());
        insta::assert_snapshot!("json", comparison.to_json());
    }

    /// Before: 2,000,000 bytes written and deleted in the next layer, and a 500,000-byte
    /// cache; after: neither.
    fn wasteful_and_fixed() -> Comparison {
        let before_df = Dockerfile::parse(
            "FROM busybox\nRUN head -c 2000000 /dev/zero > /big\nRUN rm /big\nRUN fetch\n",
        );
        let after_df = Dockerfile::parse("FROM busybox\nRUN fetch && clean\nCMD [\"sh\"]\n");
        let rebuild = Rebuild {
            seconds: 0.5,
            rebuilt: vec!["RUN fetch".into()],
        };
        let mut before = side(
            &before_df,
            &[
                (
                    "/bin/sh -c head -c 2000000 /dev/zero > /big",
                    Some(2_000_000),
                ),
                ("/bin/sh -c rm /big", Some(0)),
                ("/bin/sh -c fetch", Some(1_000_000)),
            ],
            vec![Hidden {
                path: "big".into(),
                bytes: 2_000_000,
                layer: 1,
                by: 2,
            }],
            rebuild.clone(),
        );
        before.layers[3].cache_bytes = 500_000;
        let after = side(
            &after_df,
            &[
                ("/bin/sh -c fetch && clean", Some(500_000)),
                ("/bin/sh -c #(nop)  CMD [\"sh\"]", None),
            ],
            Vec::new(),
            rebuild,
        );
        Comparison::new(
            "Dockerfile".into(),
            Builder::Classic,
            vec!["LW103".into(), "LW105".into()],
            None,
            before,
            after,
        )
    }

    #[test]
    fn bars_draw_both_versions_at_one_scale_with_their_waste() {
        let bars = wasteful_and_fixed().bars(false, 44);
        // 44 cells: "  N " + 29 for the bars + " " + 10 for the size
        assert_eq!(
            bars,
            "bytes per layer, by line (█ kept  ▓ cache left  ░ hidden by a later layer)\n\
             before: 4.67 MiB\n\
             \x20 1 ███████████████████████████▌    1.81 MiB\n\
             \x20 2 ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░   1.91 MiB\n\
             \x20 3                                      0 B\n\
             \x20 4 ███████▓▓▓▓▓▓▓▓               976.56 KiB\n\
             after: 2.29 MiB\n\
             \x20 1 ███████████████████████████▌    1.81 MiB\n\
             \x20 2 ███████▎                      488.28 KiB\n"
        );
    }

    #[test]
    fn the_page_holds_both_versions_bars_the_totals_and_the_rewrite() {
        let diff =
            "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1 +1 @@\n-RUN fetch\n+RUN fetch && clean\n";
        let page = super::super::page::render(
            &wasteful_and_fixed(),
            &[("Dockerfile".into(), diff.into())],
        );
        assert_eq!(page.matches("<g class=\"layer\">").count(), 4 + 2, "{page}");
        assert_eq!(page.matches("class=\"bar hidden\"").count(), 1);
        assert_eq!(page.matches("class=\"bar cache\"").count(), 1);
        assert!(page.contains("<text class=\"heading\" x=\"0\""), "{page}");
        assert!(page.contains(">before</text>") && page.contains(">after</text>"));
        assert!(page.contains("hidden by later layers"), "{page}");
        // the hidden copy, with the lines that wrote and hid it
        assert!(
            page.contains(
                "<td>before</td><td class=\"grow\"><code>/big</code></td><td class=\"num\">1.91 MiB</td><td class=\"num\">2</td><td class=\"num\">3</td>"
            ),
            "{page}"
        );
        assert!(
            page.contains("<span class=\"add\">+RUN fetch &#38;&#38; clean</span>"),
            "{page}"
        );
        assert!(page.contains("applied (LW103, LW105)"), "{page}");
        for outside in ["<link", "src=\"http", "@import", "url(http", "<script src"] {
            assert!(
                !page.contains(outside),
                "the page refers outside: {outside}"
            );
        }
    }

    #[test]
    fn more_runs_show_the_median_and_spread_and_one_run_says_it_is_noisy() {
        let s = Samples::of(&[2.0, 1.0, 1.5, 5.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (1.75, 1.0, 5.0));
        assert_eq!(s.seconds, [2.0, 1.0, 1.5, 5.0], "in the order taken");
        assert_eq!(s.show(), "1.8 s (1.0–5.0)");
        assert_eq!(Samples::of(&[2.0]).unwrap().show(), "2.0 s");
        assert!(Samples::of(&[]).is_none());

        let mut c = wasteful_and_fixed();
        let table = c.to_table();
        assert!(
            table.contains("times: one build of each, so noisy"),
            "{table}"
        );
        assert!(
            table.contains("re-run after the edit: before: RUN fetch; after: RUN fetch"),
            "{table}"
        );
        c.runs = 3;
        c.before.build_times = Samples::of(&[1.0, 2.0, 3.0]).unwrap();
        let table = c.to_table();
        assert!(table.contains(" 2.0 s (1.0–3.0) "), "{table}");
        assert!(
            table.contains("times: the median of 3 builds of each, min–max in brackets; the same sizes in every run"),
            "{table}"
        );
        c.size_differences
            .push("before, run 2: 4.68 MiB (run 1: 4.67 MiB)".into());
        assert!(
            c.to_table()
                .contains("sizes differed between runs: before, run 2: 4.68 MiB"),
            "{table}"
        );
        let v: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(v["runs"], 3);
        assert_eq!(v["before"]["build_times"]["median"], 2.0);
        assert_eq!(v["before"]["build_times"]["seconds"][2], 3.0);
        assert_eq!(v["after"]["rebuild_times"]["min"], 0.5);
        assert_eq!(v["before"]["rebuilt"][0], "RUN fetch");
    }

    #[test]
    fn changes_show_sign_and_share_of_the_before_figure() {
        assert_eq!(
            change(2_000_000.0, 1_000_000.0, |d| signed_bytes(d as i64)),
            "-976.56 KiB (-50.0%)"
        );
        assert_eq!(change(0.0, 3.0, |d| format!("{d:+}")), "+3");
        assert_eq!(change(5.0, 5.0, |d| format!("{d:+}")), "0");
    }
}
