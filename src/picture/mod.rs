//! Pictures of where an image's bytes go: bars of Unicode blocks for the terminal ([`bars`]),
//! and one self-contained HTML page with SVG charts ([`html`]), for `inspect` and `measure`.

pub mod bars;
pub mod html;
