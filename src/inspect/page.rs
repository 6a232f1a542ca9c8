//! The HTML page of an inspected image: the figures, the chart of [`crate::picture`], the
//! layers, the findings with their fixes, the largest and hidden paths and the folded tree
//! (`templates/inspect.html`).

use askama::Template;

use super::table::step;
use super::{Finding, Inspection, bytes};
use crate::picture::html::{
    Bar, Card, Chart, DiffLine, TreeItem, chart, diff_lines, layer_label, tree_items,
};

#[derive(Template)]
#[template(path = "inspect.html")]
struct InspectPage<'a> {
    r: &'a Inspection,
    title: String,
    cards: Vec<Card>,
    chart: Chart,
    tree: Vec<TreeItem>,
    findings: Vec<(&'a Finding, Vec<DiffLine>)>,
    layer_rows: Vec<LayerRow>,
    generator: String,
}

/// A layer as the page's table shows it.
struct LayerRow {
    index: usize,
    line: String,
    step: String,
    size: String,
    hidden: String,
    cache: String,
    files: String,
}

/// Bytes for people, from the templates (which pass references).
pub fn size(n: &u64) -> String {
    bytes(*n)
}

fn dash(n: u64) -> String {
    if n == 0 { "–".into() } else { bytes(n) }
}

/// The page for `inspect`.
pub fn render(r: &Inspection) -> String {
    let failed = |gate: &str| r.gates.iter().any(|g| g.gate == gate && !g.passed);
    let class = |bad: bool| if bad { "bad" } else { "" };
    let cards = vec![
        Card {
            label: "stored",
            value: bytes(r.total_bytes),
            note: format!(
                "{} layer{}",
                r.layer_count,
                if r.layer_count == 1 { "" } else { "s" }
            ),
            class: "",
        },
        Card {
            label: "hidden by later layers",
            value: bytes(r.wasted_bytes),
            note: format!("{}% of the image", r.wasted_percent),
            class: class(failed("max-wasted-bytes") || failed("max-wasted-percent")),
        },
        Card {
            label: "caches left",
            value: bytes(r.cache_bytes),
            note: r
                .caches
                .iter()
                .map(|(k, v)| format!("{k} {}", bytes(*v)))
                .collect::<Vec<_>>()
                .join(", "),
            class: class(failed("max-cache-bytes")),
        },
        Card {
            label: "efficiency",
            value: format!("{:.1}%", r.efficiency * 100.0),
            note: "kept ÷ stored".into(),
            class: class(failed("min-efficiency")),
        },
    ];
    let bars = r
        .layers
        .iter()
        .map(|l| Bar {
            label: layer_label(l.index, l.line, &step(l)),
            kept: l.kept_bytes(),
            cache: l.cache_bytes,
            hidden: l.wasted_bytes,
        })
        .collect();
    let layer_rows = r
        .layers
        .iter()
        .map(|l| LayerRow {
            index: l.index,
            line: l.line.map_or(String::new(), |n| n.to_string()),
            step: step(l),
            size: bytes(l.size_bytes),
            hidden: dash(l.wasted_bytes),
            cache: dash(l.cache_bytes),
            files: format!(
                "+{} ~{} −{}",
                l.files_added, l.files_changed, l.files_removed
            ),
        })
        .collect();
    let page = InspectPage {
        r,
        title: format!("layerwise inspect: {}", r.image),
        cards,
        chart: chart(&[(None, bars)]),
        tree: tree_items(&r.tree),
        findings: r
            .findings
            .iter()
            .map(|f| {
                (
                    f,
                    f.fix
                        .as_ref()
                        .map(|x| diff_lines(&x.diff))
                        .unwrap_or_default(),
                )
            })
            .collect(),
        layer_rows,
        generator: format!("layerwise {}", env!("CARGO_PKG_VERSION")),
    };
    page.render()
        .unwrap_or_else(|e| format!("<!doctype html><p>{e}</p>"))
}
