//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared corpus (`LAYERWISE_CORPUS`, `../shared/corpus` beside the clone, or
/// `/work/shared/corpus`). Missing: fail under CI, else
/// skip with a printed reason.
pub fn corpus_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LAYERWISE_CORPUS").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    let mut tried = candidates.iter().flatten();
    if let Some(dir) = tried.clone().find(|d| d.join("files").is_dir()) {
        return Some(dir.clone());
    }
    let dir = tried.next().cloned().unwrap_or_default();
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but the corpus is missing at {}", dir.display());
    }
    eprintln!(
        "skipped: no corpus at {} (set LAYERWISE_CORPUS)",
        dir.display()
    );
    None
}
