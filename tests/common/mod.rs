//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared corpus (`../shared/corpus`, or `LAYERWISE_CORPUS`). Missing: fail under CI, else
/// skip with a printed reason.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LAYERWISE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.join("files").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but the corpus is missing at {}", dir.display());
    }
    eprintln!(
        "skipped: no corpus at {} (set LAYERWISE_CORPUS)",
        dir.display()
    );
    None
}
