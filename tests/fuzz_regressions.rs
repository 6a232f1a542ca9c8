//! Replays the fuzz targets' checks (`fuzz/checks.rs`) under a plain `cargo test`: on every
//! input a fuzzer once crashed on (`fixtures/fuzz/<target>/`), and on every fixture Dockerfile.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

fn replay(target: &str, check: fn(&[u8])) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let crashes = files_under(&fixtures.join("fuzz").join(target));
    let dockerfiles = files_under(&fixtures)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("Dockerfile"));
    let mut count = 0;
    for path in crashes.iter().cloned().chain(dockerfiles) {
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| check(&data));
        assert!(
            result.is_ok(),
            "{target} check failed on {}",
            path.display()
        );
        count += 1;
    }
    assert!(count > 0, "nothing to replay for {target}");
    eprintln!(
        "{target}: {count} inputs replayed, {} of them kept crashes",
        crashes.len()
    );
}

#[test]
fn parse_inputs() {
    replay("parse", checks::parse);
}

#[test]
fn lint_inputs() {
    replay("lint", checks::lint);
}

#[test]
fn fix_inputs() {
    replay("fix", checks::fix);
}
