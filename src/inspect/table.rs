//! `inspect`'s report for people: the totals, a table of the layers, a bar per layer, the
//! largest files and folders, what is hidden and by which layer, the findings that explain the
//! waste with their fixes, and the gates.

use std::fmt::Write;

use comfy_table::{CellAlignment, Table, presets};

use super::{Inspection, LayerReport, bytes};
use crate::picture::bars::{Part, Scale, terminal_width};
use crate::picture::html::cut;

/// Longest instruction shown in the layer table.
const INSTRUCTION_WIDTH: usize = 50;

/// The step that made a layer, as people write it: the Dockerfile's instruction when mapped,
/// else `created_by` without the shell and `#(nop)` prefixes.
pub fn step(layer: &LayerReport) -> String {
    if let Some(instruction) = &layer.instruction {
        return instruction.clone();
    }
    let text = layer.created_by.trim();
    let text = text.strip_prefix("/bin/sh -c ").unwrap_or(text);
    let text = text.strip_prefix("#(nop) ").unwrap_or(text);
    let text = text.trim_end_matches("# buildkit").trim();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() && !layer.comment.is_empty() {
        layer.comment.clone()
    } else if text.is_empty() {
        "(no history)".to_string()
    } else {
        text
    }
}

/// The parts of a layer's bar: kept, cache, hidden.
pub fn parts(layer: &LayerReport) -> [(Part, u64); 3] {
    [
        (Part::Kept, layer.kept_bytes()),
        (Part::Cache, layer.cache_bytes),
        (Part::Hidden, layer.wasted_bytes),
    ]
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

impl Inspection {
    /// The summary line: what the image is and its totals.
    pub fn summary(&self) -> String {
        let source = match self.source {
            super::Source::Daemon => "from the daemon",
            super::Source::Archive => "from an archive",
        };
        format!(
            "{} ({source}): {} layer{}, {} stored; {} hidden by later layers ({}%), {} of caches; \
             efficiency {}",
            self.image,
            self.layer_count,
            if self.layer_count == 1 { "" } else { "s" },
            bytes(self.total_bytes),
            bytes(self.wasted_bytes),
            self.wasted_percent,
            bytes(self.cache_bytes),
            percent(self.efficiency),
        )
    }

    /// The whole report for a terminal of `width` cells (colours when `color`).
    pub fn to_table(&self, color: bool) -> String {
        self.render(color, terminal_width())
    }

    pub fn render(&self, color: bool, width: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.summary());
        out.push_str(&self.layer_table().to_string());
        out.push('\n');
        self.bars(&mut out, color, width);
        self.largest(&mut out);
        self.hidden(&mut out);
        self.findings_text(&mut out);
        out
    }

    fn layer_table(&self) -> Table {
        let mapped = self.dockerfile.is_some();
        let mut table = Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED);
        let mut header = vec!["layer"];
        if mapped {
            header.push("line");
        }
        header.extend(["step", "size", "hidden later", "cache", "files +", "~", "-"]);
        table.set_header(header);
        for layer in &self.layers {
            let mut row = vec![layer.index.to_string()];
            if mapped {
                row.push(layer.line.map_or(String::new(), |l| l.to_string()));
            }
            let dash = |n: u64| match n {
                0 => "–".to_string(),
                n => bytes(n),
            };
            row.extend([
                cut(&step(layer), INSTRUCTION_WIDTH),
                bytes(layer.size_bytes),
                dash(layer.wasted_bytes),
                dash(layer.cache_bytes),
                layer.files_added.to_string(),
                layer.files_changed.to_string(),
                layer.files_removed.to_string(),
            ]);
            table.add_row(row);
        }
        let first_number = if mapped { 3 } else { 2 };
        for column in (0..first_number - 1).chain(first_number..first_number + 6) {
            if let Some(c) = table.column_mut(column) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        table
    }

    /// A bar per layer, scaled to the largest layer and the terminal's width.
    fn bars(&self, out: &mut String, color: bool, width: usize) {
        let largest = self.layers.iter().map(|l| l.size_bytes).max().unwrap_or(0);
        if largest == 0 {
            return;
        }
        let label = self.layers.len().saturating_sub(1).to_string().len();
        let sizes: Vec<String> = self.layers.iter().map(|l| bytes(l.size_bytes)).collect();
        let size_width = sizes.iter().map(|s| s.len()).max().unwrap_or(0);
        // "NN " + bar + " " + size
        let cells = width.saturating_sub(label + size_width + 3).clamp(10, 120);
        let scale = Scale::fitting(largest, cells, color);
        let _ = writeln!(
            out,
            "bytes per layer ({})",
            scale.legend(&[Part::Kept, Part::Cache, Part::Hidden])
        );
        for (layer, size) in self.layers.iter().zip(&sizes) {
            let bar = scale.bar(&parts(layer));
            let pad = cells - crate::picture::bars::width(&bar);
            let _ = writeln!(
                out,
                "{:>label$} {bar}{} {size:>size_width$}",
                layer.index,
                " ".repeat(pad)
            );
        }
    }

    fn largest(&self, out: &mut String) {
        if !self.largest_files.is_empty() {
            let _ = writeln!(out, "largest files:");
            for f in &self.largest_files {
                let _ = writeln!(
                    out,
                    "  {:>11}  {}  (layer {})",
                    bytes(f.size_bytes),
                    f.path,
                    f.layer
                );
            }
        }
        if !self.largest_folders.is_empty() {
            let _ = writeln!(out, "largest folders:");
            for f in &self.largest_folders {
                let _ = writeln!(
                    out,
                    "  {:>11}  {}  ({} file{})",
                    bytes(f.size_bytes),
                    f.path,
                    f.files,
                    if f.files == 1 { "" } else { "s" }
                );
            }
        }
    }

    fn hidden(&self, out: &mut String) {
        if self.largest_hidden.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "largest hidden (stored in a layer, deleted or overwritten by a later one):"
        );
        let line = |index: usize| {
            self.layers
                .get(index)
                .and_then(|l| l.line)
                .map_or(String::new(), |l| format!(", line {l}"))
        };
        for h in &self.largest_hidden {
            let files = match h.files {
                1 => String::new(),
                n => format!(" ({n} files)"),
            };
            let _ = writeln!(
                out,
                "  {:>11}  {}{files}  in layer {}{}, hidden by layer {}{}",
                bytes(h.size_bytes),
                h.path,
                h.layer,
                line(h.layer),
                h.hidden_by,
                line(h.hidden_by)
            );
        }
    }

    fn findings_text(&self, out: &mut String) {
        if self.findings.is_empty() {
            if let Some(dockerfile) = &self.dockerfile
                && self.wasted_bytes + self.cache_bytes > 0
            {
                let _ = writeln!(out, "no finding of {dockerfile} explains the waste");
            }
            return;
        }
        let _ = writeln!(out, "findings that explain the waste:");
        for f in &self.findings {
            let what = match f.explains.kind {
                "hidden" => format!("that the layer of line {} hides", f.line),
                _ => "of cache left in the image".to_string(),
            };
            let layers: Vec<String> = f.explains.layers.iter().map(|l| l.to_string()).collect();
            let _ = writeln!(
                out,
                "  {} {} line {}: {}\n    explains {} {what} (layer {})",
                f.rule,
                f.name,
                f.line,
                f.message,
                bytes(f.explains.bytes),
                layers.join(", ")
            );
            if let Some(fix) = &f.fix {
                let _ = writeln!(out, "    fix ({}): {}", fix.safety, fix.title);
                for line in fix.diff.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(created_by: &str) -> LayerReport {
        LayerReport {
            index: 0,
            digest: String::new(),
            created_by: created_by.into(),
            comment: String::new(),
            line: None,
            instruction: None,
            size_bytes: 0,
            wasted_bytes: 0,
            hides_bytes: 0,
            cache_bytes: 0,
            caches: Default::default(),
            files_added: 0,
            files_changed: 0,
            files_removed: 0,
        }
    }

    #[test]
    fn steps_read_as_people_write_them() {
        assert_eq!(
            step(&layer("/bin/sh -c #(nop)  CMD [\"sh\"]")),
            "CMD [\"sh\"]"
        );
        assert_eq!(step(&layer("/bin/sh -c apt-get  update")), "apt-get update");
        assert_eq!(
            step(&layer("RUN /bin/sh -c make # buildkit")),
            "RUN /bin/sh -c make"
        );
        assert_eq!(step(&layer("")), "(no history)");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
