//! LW301's rewrite of each shape it handles, built for real: a Rust, a Node, a Python and a
//! Java program, each compiled or installed where it runs on `debian:bookworm-slim` with
//! Debian's own toolchain (no language registry answers here), are measured with `measure
//! --unsafe --smoke`. Each rewrite must build, run the program as the original does, keep
//! nothing the proof cannot explain, and weigh at most half of the original.
//!
//! The builds install hundreds of megabytes of packages, so each shape is measured once, all
//! at the same time, on one daemon: the BuildKit one of `LAYERWISE_TEST_DAEMONS` (Docker 23
//! or later; else the first, else `DOCKER_HOST`), with `--share-cache`, so the rewrite's build
//! stage (the original's own steps) comes from the original's cold build instead of
//! installing the toolchain again: `scripts/docker-env.sh run /tmp/lw-s all -- cargo test
//! --release --test measure_shapes`. Without a daemon the test prints why and passes, unless
//! `CI` is set.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const DEBIAN: &str = "debian:bookworm-slim";

/// A shape's index, and its report and time or its failure.
type Outcome = (usize, Result<(Value, Duration), String>);

/// One shape's fixture and what its rewrite must show.
struct Shape {
    fixture: &'static str,
    /// The `--smoke` command: it prints `hello, world`.
    smoke: &'static str,
    /// The program the image starts, before and after, as the report names it.
    start: [&'static str; 2],
    /// A package of the toolchain that the runtime stage leaves out.
    toolchain: &'static str,
    /// Rules besides LW301 whose fixes the file takes.
    also: &'static [&'static str],
    /// The most the rewrite may weigh, in percent of the original.
    at_most: i64,
}

const SHAPES: &[Shape] = &[
    Shape {
        fixture: "rust-program",
        smoke: "/src/target/release/hello world",
        start: ["src/target/release/hello"; 2],
        toolchain: "cargo",
        also: &[],
        at_most: 50,
    },
    Shape {
        fixture: "node-program",
        smoke: "world",
        start: ["usr/bin/node"; 2],
        toolchain: "npm",
        also: &[],
        at_most: 50,
    },
    Shape {
        fixture: "python-program",
        smoke: "hello world",
        start: ["opt/venv/bin/hello"; 2],
        toolchain: "gcc",
        also: &[],
        at_most: 50,
    },
    Shape {
        fixture: "java-program",
        smoke: "world",
        // the JDK's java, then the runtime jlink made of the modules the jar uses
        start: [
            "usr/lib/jvm/java-17-openjdk-amd64/bin/java",
            "opt/java-runtime/bin/java",
        ],
        toolchain: "openjdk-17-jdk-headless",
        also: &[],
        at_most: 50,
    },
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/measure")
        .join(name)
        .join("Dockerfile")
}

fn docker(host: &str, args: &[&str]) -> String {
    common::docker_at(Some(host), args, Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

/// Every image (intermediates included) and every container of the daemon.
fn objects(host: &str) -> BTreeSet<String> {
    let images = docker(host, &["images", "-aq", "--no-trunc"]);
    let containers = docker(host, &["ps", "-aq", "--no-trunc"]);
    images
        .lines()
        .chain(containers.lines())
        .map(str::to_string)
        .collect()
}

fn num(v: &Value, path: &str) -> i64 {
    v.pointer(path)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{path} is not a number in {v:#}"))
}

/// `layerwise measure --unsafe --smoke …` of one shape on the daemon at `host`: the report.
fn measure(host: &str, shape: &Shape) -> Value {
    let dockerfile = fixture(shape.fixture);
    let mut command = Command::new(env!("CARGO_BIN_EXE_layerwise"));
    command
        .env("DOCKER_HOST", host)
        .args(["measure", "--unsafe", "--no-rebuild", "--share-cache"])
        .args(["--network", "host"])
        .args(["--format", "json", "--smoke", shape.smoke])
        .arg(&dockerfile)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("layerwise runs");
    let out: Output = common::output_within(child, Duration::from_secs(900))
        .unwrap_or_else(|e| panic!("{}: layerwise measure: {e}", shape.fixture));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: measure failed:\n{}",
        shape.fixture,
        common::stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}):\n{}",
            shape.fixture,
            common::stdout(&out)
        )
    })
}

/// What one shape's rewrite must show.
fn check(shape: &Shape, v: &Value) {
    let name = shape.fixture;
    let mut applied: Vec<&str> = v["applied"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    applied.sort();
    applied.dedup();
    let mut want: Vec<&str> = shape.also.iter().copied().chain(["LW301"]).collect();
    want.sort();
    assert_eq!(applied, want, "{name}: the fixes applied");
    let smoke = &v["smoke"][0];
    assert_eq!(smoke["after"]["exit_code"], 0, "{name}: {smoke}");
    assert_eq!(
        smoke["after"]["output"], "hello, world\n",
        "{name}: {smoke}"
    );
    assert_eq!(smoke["before"], smoke["after"], "{name}");
    assert_eq!(v["start_program"]["before"], shape.start[0], "{name}");
    assert_eq!(v["start_program"]["after"], shape.start[1], "{name}");
    let (before, after) = (num(v, "/before/total_bytes"), num(v, "/after/total_bytes"));
    assert!(
        100 * after <= shape.at_most * before,
        "{name}: {after} bytes after, {before} before: more than {}%",
        shape.at_most
    );
    // nothing the fixes do not explain, and what is gone is LW301's (or the other fixes')
    assert_eq!(
        v["filesystem"]["unexpected"],
        serde_json::json!([]),
        "{name}: unexpected differences"
    );
    assert_eq!(v["config_changes"], serde_json::json!([]), "{name}");
    let groups = v["filesystem"]["explained"].as_array().expect("explained");
    assert!(
        groups.iter().all(|g| g["rule"].is_null()
            || g["rule"] == "LW301"
            || shape.also.iter().any(|r| g["rule"] == *r)),
        "{name}: {groups:#?}"
    );
    let packages = groups
        .iter()
        .find(|g| !g["packages"].is_null())
        .unwrap_or_else(|| panic!("{name}: no group of packages in {groups:#?}"));
    assert_eq!(packages["rule"], "LW301", "{name}");
    assert!(
        packages["packages"]
            .as_array()
            .is_some_and(|p| p.iter().any(|n| n == shape.toolchain)),
        "{name}: {packages}"
    );
}

#[test]
fn each_shape_is_rewritten_into_stages_that_build_run_the_same_and_weigh_less() {
    let daemons = common::test_daemons();
    let mut found = Vec::new();
    for host in &daemons {
        match common::daemon_version(host, &[DEBIAN]) {
            Some(version) => found.push((host.clone(), version)),
            None => return,
        }
    }
    // BuildKit shares a stage between the two builds; the classic builder rebuilds it
    let buildkit = |version: &str| {
        version
            .split('.')
            .next()
            .and_then(|major| major.parse::<u32>().ok())
            .is_some_and(|major| major >= 23)
    };
    let (host, version) = found
        .iter()
        .find(|(_, v)| buildkit(v))
        .or(found.first())
        .cloned()
        .expect("a daemon");
    let host = host.as_str();
    let before = objects(host);
    let started = Instant::now();
    let results: Vec<Outcome> = std::thread::scope(|scope| {
        let workers: Vec<_> = SHAPES
            .iter()
            .enumerate()
            .map(|(index, shape)| {
                scope.spawn(move || {
                    let clock = Instant::now();
                    let outcome = std::panic::catch_unwind(|| measure(host, shape))
                        .map(|v| (v, clock.elapsed()))
                        .map_err(|e| panic_text(&*e));
                    (index, outcome)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker"))
            .collect()
    });
    eprintln!(
        "all shapes in {:.0?} on Docker {version}",
        started.elapsed()
    );
    for (index, outcome) in &results {
        let shape = &SHAPES[*index];
        match outcome {
            Ok((v, took)) => eprintln!(
                "{:<15} {:>6.1} MiB before, {:>6.1} MiB after ({}%), {took:.0?}",
                shape.fixture,
                num(v, "/before/total_bytes") as f64 / 1048576.0,
                num(v, "/after/total_bytes") as f64 / 1048576.0,
                100 * num(v, "/after/total_bytes") / num(v, "/before/total_bytes").max(1),
            ),
            Err(e) => eprintln!("{:<15} failed: {e}", shape.fixture),
        }
    }
    assert_eq!(results.len(), SHAPES.len());
    assert_eq!(
        objects(host),
        before,
        "the runs left or removed images or containers"
    );
    // Every shape's failures, not only the first one's.
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|(index, outcome)| {
            let shape = &SHAPES[index];
            let checked = outcome.and_then(|(v, _)| {
                std::panic::catch_unwind(|| check(shape, &v)).map_err(|e| panic_text(&*e))
            });
            checked.err().map(|e| format!("{}: {e}", shape.fixture))
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
