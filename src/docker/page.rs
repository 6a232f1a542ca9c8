//! The HTML page of `measure`: the figures before and after, the chart of
//! [`crate::picture`] with both versions' layers at one scale, the totals, the largest copies
//! later layers hide, and the rewrite that made the difference as a diff (`templates/measure.html`).

use askama::Template;

use super::compare::{Comparison, Layer};
use crate::picture::html::{Bar, Card, Chart, DiffLine, chart, diff_lines, layer_label};

#[derive(Template)]
#[template(path = "measure.html")]
struct MeasurePage<'a> {
    c: &'a Comparison,
    title: String,
    subtitle: String,
    cards: Vec<Card>,
    chart: Chart,
    totals: Vec<Vec<String>>,
    /// The largest hidden copies of each version: version, path, bytes, line, hidden by line.
    hidden: Vec<[String; 5]>,
    diffs: Vec<(String, Vec<DiffLine>)>,
    /// How many builds the times come from, and whether every run built the same sizes.
    times: String,
    generator: String,
}

fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

fn bars(layers: &[Layer]) -> Vec<Bar> {
    layers
        .iter()
        .enumerate()
        .map(|(index, layer)| {
            let step = layer.instruction.as_deref().unwrap_or(&layer.created_by);
            let [(_, kept), (_, cache), (_, hidden)] = layer.parts();
            Bar {
                label: layer_label(index, layer.line, step),
                kept,
                cache,
                hidden,
            }
        })
        .collect()
}

/// The page for `measure`; `diffs` are the rewrite's unified diffs, each under its title
/// (the Dockerfile's, and the `.dockerignore` proposed).
pub fn render(c: &Comparison, diffs: &[(String, String)]) -> String {
    let (b, a) = (&c.before, &c.after);
    let change = |before: u64, after: u64| match after as i64 - before as i64 {
        0 => "no change".to_string(),
        d if d < 0 => format!("{} less", bytes(d.unsigned_abs())),
        d => format!("{} more", bytes(d as u64)),
    };
    let cards = vec![
        Card {
            label: "image size after",
            value: bytes(a.total_bytes),
            note: format!(
                "was {}: {}",
                bytes(b.total_bytes),
                change(b.total_bytes, a.total_bytes)
            ),
            class: "",
        },
        Card {
            label: "hidden by later layers after",
            value: bytes(a.hidden_bytes),
            note: format!("was {}", bytes(b.hidden_bytes)),
            class: "",
        },
        Card {
            label: "caches left after",
            value: bytes(a.cache_bytes),
            note: format!("was {}", bytes(b.cache_bytes)),
            class: "",
        },
        Card {
            label: "rebuild after an edit",
            value: a
                .rebuild_seconds
                .map_or("–".to_string(), |s| format!("{s:.1} s")),
            note: b
                .rebuild_seconds
                .map_or("not measured".to_string(), |s| format!("was {s:.1} s")),
            class: "",
        },
    ];
    let fixes = if c.applied.is_empty() {
        "no fix applies: before and after are the same build".to_string()
    } else {
        format!(
            "after = `layerwise fix` applied ({})",
            crate::fixer::summary(&c.applied)
        )
    };
    let page = MeasurePage {
        c,
        title: format!("layerwise measure: {}", c.dockerfile),
        subtitle: format!("{fixes}; built by {}", c.builder.name()),
        cards,
        chart: chart(&[
            (Some("before".to_string()), bars(&b.layers)),
            (Some("after".to_string()), bars(&a.layers)),
        ]),
        totals: c.totals(),
        hidden: [("before", b), ("after", a)]
            .into_iter()
            .flat_map(|(name, side)| {
                let line = |l: Option<usize>| l.map_or("–".to_string(), |l| l.to_string());
                side.hidden_paths.iter().map(move |h| {
                    [
                        name.to_string(),
                        format!("/{}", h.path),
                        bytes(h.bytes),
                        line(h.line),
                        line(h.hidden_by_line),
                    ]
                })
            })
            .collect(),
        diffs: diffs
            .iter()
            .filter(|(_, diff)| !diff.is_empty())
            .map(|(title, diff)| (title.clone(), diff_lines(diff)))
            .collect(),
        times: c.times_line().trim_end().to_string(),
        generator: format!("layerwise {}", env!("CARGO_PKG_VERSION")),
    };
    page.render()
        .unwrap_or_else(|e| format!("<!doctype html><p>{e}</p>"))
}
