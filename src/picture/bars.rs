//! Bars of Unicode blocks for the terminal: one per layer, split into the bytes the image keeps,
//! caches it leaves and bytes later layers hide, all at one scale so that bars compare.
//!
//! With colour the three parts are green, yellow and red blocks; without (not a terminal,
//! `--color never`, `NO_COLOR`) they are told apart by the block itself: `█` kept, `▓` cache,
//! `░` hidden. A bar's end is drawn to an eighth of a cell (`▏`…`▉`) when its last part is a
//! solid one.

use owo_colors::OwoColorize;

/// What a part of a bar stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Kept,
    Cache,
    Hidden,
}

impl Part {
    fn block(self) -> char {
        match self {
            Part::Kept => '█',
            Part::Cache => '▓',
            Part::Hidden => '░',
        }
    }

    fn paint(self, text: &str, color: bool) -> String {
        if !color {
            return text.to_string();
        }
        match self {
            Part::Kept => text.green().to_string(),
            Part::Cache => text.yellow().to_string(),
            Part::Hidden => text.red().to_string(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Part::Kept => "kept",
            Part::Cache => "cache left",
            Part::Hidden => "hidden by a later layer",
        }
    }
}

/// How bars are drawn: colours or not, and how many bytes one cell stands for.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub color: bool,
    pub bytes_per_cell: f64,
}

impl Scale {
    /// A scale at which `largest` bytes fill `cells` cells.
    pub fn fitting(largest: u64, cells: usize, color: bool) -> Scale {
        Scale {
            color,
            bytes_per_cell: (largest.max(1) as f64) / (cells.max(1) as f64),
        }
    }

    /// One bar of `parts` in order; its width in cells is what the bytes fill at this scale,
    /// so a bar is never wider than the cells the scale was made for.
    pub fn bar(&self, parts: &[(Part, u64)]) -> String {
        let total: u64 = parts.iter().map(|(_, b)| b).sum();
        let eighths = (total as f64 / self.bytes_per_cell * 8.0).round() as u64;
        let whole = eighths / 8;
        let mut out = String::new();
        let mut drawn = 0u64;
        let mut sum = 0u64;
        let mut last = None;
        for &(part, bytes) in parts {
            if bytes == 0 {
                continue;
            }
            sum += bytes;
            // cumulative rounding, so the parts add up to the bar
            let end = ((sum as f64 / self.bytes_per_cell).round() as u64).min(whole);
            let cells = end.saturating_sub(drawn);
            if cells > 0 {
                let text: String = std::iter::repeat_n(part.block(), cells as usize).collect();
                out.push_str(&part.paint(&text, self.color));
                drawn = end;
            }
            last = Some(part);
        }
        let rest = eighths - drawn * 8;
        if let Some(part) = last {
            let solid = self.color || part == Part::Kept;
            if rest > 0 && rest < 8 && solid {
                let partial = ['▏', '▎', '▍', '▌', '▋', '▊', '▉'][rest as usize - 1];
                out.push_str(&paint_as(part, partial, self.color));
            } else if rest >= 4 {
                out.push_str(&part.paint(&part.block().to_string(), self.color));
            }
        }
        out
    }

    /// The key to the parts shown: `█ kept  ▓ cache left  ░ hidden by a later layer`.
    pub fn legend(&self, parts: &[Part]) -> String {
        parts
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p.paint(&p.block().to_string(), self.color),
                    p.label()
                )
            })
            .collect::<Vec<_>>()
            .join("  ")
    }
}

/// A partial block in `part`'s colour (it has no shade of its own).
fn paint_as(part: Part, c: char, color: bool) -> String {
    part.paint(&c.to_string(), color)
}

/// The width of the terminal on stdout; `COLUMNS`, then 100, when it is not a terminal.
pub fn terminal_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return w as usize;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&c: &usize| c >= 20)
        .unwrap_or(100)
}

/// Display width of text in terminal cells, colours left out.
pub fn width(text: &str) -> usize {
    let mut cells = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match c {
            '\u{1b}' => in_escape = true,
            'm' if in_escape => in_escape = false,
            _ if in_escape => {}
            _ => cells += 1,
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_take_their_share_and_the_end_takes_eighths() {
        let scale = Scale::fitting(1000, 10, false);
        assert_eq!(scale.bar(&[(Part::Kept, 1000)]), "██████████");
        assert_eq!(
            scale.bar(&[(Part::Kept, 500), (Part::Cache, 200), (Part::Hidden, 300)]),
            "█████▓▓░░░"
        );
        // 0.25 of a cell past the last whole one
        assert_eq!(scale.bar(&[(Part::Kept, 225)]), "██▎");
        assert_eq!(scale.bar(&[]), "");
        assert_eq!(scale.bar(&[(Part::Kept, 0)]), "");
    }

    #[test]
    fn without_colour_an_unshaded_end_rounds_to_a_whole_cell() {
        let scale = Scale::fitting(1000, 10, false);
        assert_eq!(scale.bar(&[(Part::Hidden, 260)]), "░░░");
        assert_eq!(scale.bar(&[(Part::Hidden, 220)]), "░░");
        assert_eq!(width(&scale.bar(&[(Part::Hidden, 1000)])), 10);
    }

    #[test]
    fn colour_paints_the_parts_and_takes_no_cells() {
        let scale = Scale::fitting(100, 4, true);
        let bar = scale.bar(&[(Part::Kept, 50), (Part::Hidden, 50)]);
        assert!(bar.contains("\u{1b}["), "{bar:?}");
        assert_eq!(width(&bar), 4);
        assert_eq!(
            width(&scale.legend(&[Part::Kept])),
            "█ kept".chars().count()
        );
    }

    #[test]
    fn a_bar_is_never_wider_than_its_cells() {
        for cells in 1..30 {
            for bytes in [1u64, 7, 99, 100, 101, 333, 999, 1000] {
                let scale = Scale::fitting(1000, cells, false);
                let bar = scale.bar(&[
                    (Part::Kept, bytes / 3),
                    (Part::Cache, bytes / 3),
                    (Part::Hidden, bytes - 2 * (bytes / 3)),
                ]);
                assert!(
                    width(&bar) <= cells,
                    "{bytes} bytes in {cells} cells: {bar}"
                );
            }
        }
    }
}
