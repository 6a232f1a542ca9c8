//! Pages checked in a real browser: Debian's `chromium` (or `LAYERWISE_CHROMIUM`), headless,
//! with a fresh profile and no network; its DOM dumped and its screenshot's pixels counted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Debian's chromium (or `LAYERWISE_CHROMIUM`); `None` after saying why (a failure under CI).
pub fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LAYERWISE_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    match candidates.into_iter().flatten().find(|p| p.is_file()) {
        Some(path) => Some(path),
        None => {
            super::skip("chromium is not installed (apt-get install chromium)");
            None
        }
    }
}

/// Headless Chromium on a local page with a fresh profile, never reaching the network.
pub fn browse(chromium: &Path, page: &Path, args: &[&str], scratch: &Path) -> Output {
    let profile = tempfile::tempdir_in(scratch).expect("profile dir");
    let child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium runs");
    super::output_within(child, Duration::from_secs(120)).expect("chromium ends")
}

/// Pixels of a screenshot: the kept green, the hidden red, and dark ones (text).
pub fn colours(png_path: &Path) -> (usize, usize, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).expect("open screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let near = |p: &[u8], rgb: [u8; 3]| {
        p.iter()
            .zip(rgb)
            .all(|(&a, b)| (a as i32 - b as i32).abs() <= 24)
    };
    let (mut kept, mut hidden, mut dark) = (0, 0, 0);
    for pixel in buf[..info.buffer_size()].chunks(channels) {
        if near(pixel, [0x2f, 0x8f, 0x4e]) {
            kept += 1;
        } else if near(pixel, [0xcf, 0x22, 0x2e]) {
            hidden += 1;
        } else if pixel.iter().take(3).all(|&c| c < 90) {
            dark += 1;
        }
    }
    (kept, hidden, dark)
}
