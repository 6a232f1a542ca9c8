//! The HTML report: one page with everything inline (styles, SVG, a line of script that opens
//! the folded tree for printing), so that it can be attached to a pull request or kept as a CI
//! artifact and opened anywhere. It follows the reader's light or dark theme and prints on
//! white. The templates are in `templates/`; every value is escaped by askama.
//!
//! The chart is a stacked bar per layer (kept, cache left, hidden by a later layer), all at one
//! scale; the parts differ by pattern as well as colour, so they read in print and for readers
//! who do not tell the colours apart.

use indicatif::HumanBytes;

fn bytes(n: u64) -> String {
    HumanBytes(n).to_string()
}

/// `text` cut to `max` characters, with `…` where it was cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// Width of the chart's drawing, in SVG units; it scales to the page.
const CHART_WIDTH: f64 = 960.0;
const BAR_X: f64 = 340.0;
const BAR_WIDTH: f64 = 500.0;
const ROW_HEIGHT: f64 = 26.0;
const BAR_HEIGHT: f64 = 16.0;
const AXIS_HEIGHT: f64 = 22.0;
/// Characters of a layer's label in the chart.
const LABEL_CHARS: usize = 46;

/// One part of a stacked bar.
pub struct Rect {
    /// `kept`, `cache` or `hidden`.
    pub class: &'static str,
    pub x: String,
    pub width: String,
    /// The tooltip.
    pub title: String,
}

/// One row of the chart: a layer, or a group's heading (`before`, `after`).
pub struct Row {
    pub y: String,
    pub text_y: String,
    pub label: String,
    /// The label in full, as a tooltip.
    pub title: String,
    pub size: String,
    pub rects: Vec<Rect>,
    pub heading: bool,
}

/// A grid line with its size.
pub struct Tick {
    pub x: String,
    pub label: String,
}

/// A stacked bar chart, its geometry computed here so the template only places it.
pub struct Chart {
    pub width: String,
    pub height: String,
    pub axis_y: String,
    pub grid_bottom: String,
    pub rows: Vec<Row>,
    pub ticks: Vec<Tick>,
}

/// A bar's data: a label and the bytes of each part.
pub struct Bar {
    pub label: String,
    pub kept: u64,
    pub cache: u64,
    pub hidden: u64,
}

/// Groups of bars, each under an optional heading, drawn at one scale.
pub fn chart(groups: &[(Option<String>, Vec<Bar>)]) -> Chart {
    let largest = groups
        .iter()
        .flat_map(|(_, bars)| bars)
        .map(|b| b.kept + b.cache + b.hidden)
        .max()
        .unwrap_or(0)
        .max(1);
    let step = nice_step(largest);
    let top = step * largest.div_ceil(step);
    let scale = BAR_WIDTH / top as f64;
    let mut rows = Vec::new();
    let mut y = AXIS_HEIGHT;
    for (heading, bars) in groups {
        if let Some(heading) = heading {
            rows.push(Row {
                y: fmt(y),
                text_y: fmt(y + ROW_HEIGHT * 0.65),
                label: heading.clone(),
                title: heading.clone(),
                size: bytes(bars.iter().map(|b| b.kept + b.cache + b.hidden).sum()),
                rects: Vec::new(),
                heading: true,
            });
            y += ROW_HEIGHT;
        }
        for bar in bars {
            let mut x = BAR_X;
            let mut rects = Vec::new();
            for (class, name, value) in [
                ("kept", "kept", bar.kept),
                ("cache", "cache left", bar.cache),
                ("hidden", "hidden by a later layer", bar.hidden),
            ] {
                if value == 0 {
                    continue;
                }
                // a part too thin to see still gets a hairline
                let width = (value as f64 * scale).max(0.75);
                rects.push(Rect {
                    class,
                    x: fmt(x),
                    width: fmt(width),
                    title: format!("{}: {} {name}", bar.label, bytes(value)),
                });
                x += width;
            }
            rows.push(Row {
                y: fmt(y + (ROW_HEIGHT - BAR_HEIGHT) / 2.0),
                text_y: fmt(y + ROW_HEIGHT * 0.65),
                label: cut(&bar.label, LABEL_CHARS),
                title: bar.label.clone(),
                size: bytes(bar.kept + bar.cache + bar.hidden),
                rects,
                heading: false,
            });
            y += ROW_HEIGHT;
        }
    }
    let ticks = (0..=top / step)
        .map(|i| Tick {
            x: fmt(BAR_X + (i * step) as f64 * scale),
            label: if i == 0 {
                "0".to_string()
            } else {
                bytes(i * step)
            },
        })
        .collect();
    Chart {
        width: fmt(CHART_WIDTH),
        height: fmt(y + 6.0),
        axis_y: fmt(AXIS_HEIGHT - 8.0),
        grid_bottom: fmt(y),
        rows,
        ticks,
    }
}

fn fmt(v: f64) -> String {
    let text = format!("{v:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// A step for at most five grid lines up to `largest`: 1, 2 or 5 times a power of 1024's unit
/// times a power of ten, so the labels read round in KiB, MiB or GiB.
fn nice_step(largest: u64) -> u64 {
    let mut unit = 1u64;
    while largest / unit >= 1024 {
        unit *= 1024;
    }
    let mut magnitude = 1u64;
    loop {
        for m in [1, 2, 5] {
            let step = m * magnitude * unit;
            if largest.div_ceil(step) <= 5 {
                return step;
            }
        }
        magnitude *= 10;
    }
}

/// A folder as the page's tree shows it: its biggest entries, the rest summed up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folder {
    pub name: String,
    pub path: String,
    pub bytes: u64,
    pub files: usize,
    pub folders: Vec<Folder>,
    /// Files shown: name and bytes.
    pub leaves: Vec<(String, u64)>,
    /// Entries not shown: how many, and their bytes.
    pub more: (usize, u64),
}

/// A line of the folded tree.
pub enum TreeItem {
    Open {
        name: String,
        size: String,
        share: String,
        files: usize,
        open: bool,
    },
    Leaf {
        name: String,
        size: String,
        share: String,
    },
    More {
        count: usize,
        size: String,
    },
    Close,
}

/// The tree as a flat list of lines, folders opening and closing; the first two levels open.
pub fn tree_items(root: &Folder) -> Vec<TreeItem> {
    let mut out = Vec::new();
    let whole = root.bytes.max(1);
    walk(root, whole, 0, &mut out);
    out
}

fn share(bytes: u64, whole: u64) -> String {
    format!("{:.1}", bytes as f64 * 100.0 / whole as f64)
}

fn walk(folder: &Folder, whole: u64, depth: usize, out: &mut Vec<TreeItem>) {
    out.push(TreeItem::Open {
        name: if depth == 0 {
            "/".to_string()
        } else {
            format!("{}/", folder.name)
        },
        size: bytes(folder.bytes),
        share: share(folder.bytes, whole),
        files: folder.files,
        open: depth < 2,
    });
    // folders and files together, largest first
    let mut entries: Vec<(u64, Option<&Folder>, &str)> = folder
        .folders
        .iter()
        .map(|f| (f.bytes, Some(f), f.name.as_str()))
        .chain(folder.leaves.iter().map(|(n, b)| (*b, None, n.as_str())))
        .collect();
    entries.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(b.2)));
    for (bytes_, sub, name) in entries {
        match sub {
            Some(sub) => walk(sub, whole, depth + 1, out),
            None => out.push(TreeItem::Leaf {
                name: name.to_string(),
                size: bytes(bytes_),
                share: share(bytes_, whole),
            }),
        }
    }
    if folder.more.0 > 0 {
        out.push(TreeItem::More {
            count: folder.more.0,
            size: bytes(folder.more.1),
        });
    }
    out.push(TreeItem::Close);
}

/// A line of a fix's diff, with the class that colours it.
pub struct DiffLine {
    pub class: &'static str,
    pub text: String,
}

pub fn diff_lines(diff: &str) -> Vec<DiffLine> {
    diff.lines()
        .map(|line| DiffLine {
            class: if line.starts_with("+++") || line.starts_with("---") {
                "file"
            } else if line.starts_with('+') {
                "add"
            } else if line.starts_with('-') {
                "del"
            } else if line.starts_with("@@") {
                "hunk"
            } else {
                ""
            },
            text: line.to_string(),
        })
        .collect()
}

/// A figure at the top of the page.
pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub note: String,
    /// `bad` when it crosses a gate.
    pub class: &'static str,
}

/// `#3 · line 4 · RUN rm /big`.
pub fn layer_label(index: usize, line: Option<usize>, step: &str) -> String {
    match line {
        Some(line) => format!("#{index} · line {line} · {step}"),
        None => format!("#{index} · {step}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_steps_are_round_in_binary_units() {
        assert_eq!(nice_step(900), 200);
        assert_eq!(nice_step(2_000_000), 1024 * 1024);
        assert_eq!(nice_step(900_000), 200 * 1024);
        assert_eq!(nice_step(3 * 1024 * 1024 * 1024), 1024 * 1024 * 1024);
        assert_eq!(nice_step(1), 1);
    }

    #[test]
    fn bars_share_one_scale_and_thin_parts_stay_visible() {
        let chart = chart(&[(
            Some("before".into()),
            vec![
                Bar {
                    label: "a".into(),
                    kept: 800,
                    cache: 0,
                    hidden: 1,
                },
                Bar {
                    label: "b".into(),
                    kept: 500,
                    cache: 0,
                    hidden: 0,
                },
            ],
        )]);
        assert!(chart.rows[0].heading);
        let a = &chart.rows[1];
        assert_eq!(a.rects.len(), 2);
        assert_eq!(a.rects[1].class, "hidden");
        assert_eq!(a.rects[1].width, "0.8");
        // 801 bytes: grid lines every 200, the last at 1000, which is the bar area's width
        assert_eq!(a.rects[0].width, fmt(BAR_WIDTH * 0.8));
        assert_eq!(chart.rows[2].rects[0].width, fmt(BAR_WIDTH / 2.0));
        assert_eq!(chart.ticks.last().map(|t| t.label.as_str()), Some("1000 B"));
    }
}
