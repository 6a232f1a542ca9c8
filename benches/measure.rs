//! `measure`'s own cost: the wall time `layerwise measure` takes beyond the builds it asks the
//! daemon for (lint and fix, the contexts, connecting, saving and reading both images, the later
//! runs' sizes, the edited contexts, the proof, the report, removing what it built, the process
//! itself), as a share of the builds' time, on the fixtures of `fixtures/measure/`. The target
//! is under 10%.
//!
//! One `measure --format json` per fixture and daemon: the builds' time and measure's phases
//! come from its JSON (`timings`), the whole from the clock here, so one run gives the ratio.
//! The Debian fixtures (apt, recommends, first-day, c-program, go-program) install packages
//! for real and take minutes; `LAYERWISE_BENCH_FIXTURES=deps-order,apt` picks fixtures.
//!
//! Needs Docker daemons with `layerwise/busybox:latest` (and `debian:bookworm-slim` with apt's
//! mirror reachable for the Debian ones): `scripts/docker-env.sh run /tmp/lw-bench all --
//! cargo bench --bench measure` benches Docker 20.10 (the classic builder) and 26 (BuildKit).
//! `cargo test --all-targets` runs it once on one small fixture and measures nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../tests/common/mod.rs"]
mod common;

const BUSYBOX: &str = "layerwise/busybox:latest";
const DEBIAN: &str = "debian:bookworm-slim";

/// A fixture, the flags it is measured with, and the base image it needs.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    image: &'static str,
    /// Only BuildKit builds it.
    buildkit: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "deleted-file",
        args: &["--network", "none"],
        image: BUSYBOX,
        buildkit: false,
    },
    Case {
        name: "deps-order",
        args: &["--unsafe", "--network", "none"],
        image: BUSYBOX,
        buildkit: false,
    },
    Case {
        name: "ignored-folder",
        args: &["--unsafe", "--network", "none"],
        image: BUSYBOX,
        buildkit: false,
    },
    Case {
        name: "permission-change",
        args: &["--unsafe", "--network", "none"],
        image: BUSYBOX,
        buildkit: false,
    },
    Case {
        name: "buildkit-syntax",
        args: &["--network", "none"],
        image: BUSYBOX,
        buildkit: true,
    },
    Case {
        name: "apt",
        args: &["--network", "host"],
        image: DEBIAN,
        buildkit: false,
    },
    Case {
        name: "recommends",
        args: &["--unsafe", "--network", "host"],
        image: DEBIAN,
        buildkit: false,
    },
    Case {
        name: "first-day",
        args: &["--unsafe", "--network", "host"],
        image: DEBIAN,
        buildkit: false,
    },
    Case {
        name: "c-program",
        args: &["--unsafe", "--network", "host"],
        image: DEBIAN,
        buildkit: false,
    },
    Case {
        name: "go-program",
        args: &["--unsafe", "--network", "host"],
        image: DEBIAN,
        buildkit: false,
    },
];

/// The phases of `timings.phases`, in the order they run.
const PHASES: &[&str] = &[
    "prepare", "daemon", "sizes", "edits", "save", "images", "removal", "proof",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/measure")
        .join(name)
        .join("Dockerfile")
}

/// One measured run: its wall time and its JSON report.
struct Measured {
    wall: Duration,
    report: Value,
}

impl Measured {
    fn seconds(&self, key: &str) -> f64 {
        self.report["timings"][key].as_f64().unwrap_or(0.0)
    }

    fn builds(&self) -> f64 {
        self.seconds("build_seconds")
    }

    /// All of the wall time that was not a build.
    fn own(&self) -> f64 {
        self.wall.as_secs_f64() - self.builds()
    }

    fn phase(&self, name: &str) -> f64 {
        self.report["timings"]["phases"][name]
            .as_f64()
            .unwrap_or(0.0)
    }

    /// After the report was made: printing it, removing the images, the process's end.
    fn after_report(&self) -> f64 {
        self.wall.as_secs_f64() - self.seconds("total_seconds")
    }
}

fn measure(host: &str, case: &Case) -> Result<Measured, String> {
    let dockerfile = fixture(case.name);
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_layerwise"))
        .env("DOCKER_HOST", host)
        .arg("measure")
        .arg(&dockerfile)
        .args(case.args)
        .args(["--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("layerwise does not start: {e}"))?;
    let out = common::output_within(child, Duration::from_secs(1800))?;
    let wall = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "measure {} exited {}:\n{}",
            case.name,
            out.status,
            common::stderr(&out)
        ));
    }
    let report: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("measure {}: not JSON: {e}", case.name))?;
    Ok(Measured { wall, report })
}

fn has_image(host: &str, image: &str) -> bool {
    common::docker_at(
        Some(host),
        &["image", "inspect", image],
        Duration::from_secs(20),
    )
    .is_ok()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let daemons: Vec<(String, String)> = common::test_daemons()
        .into_iter()
        .filter_map(|host| {
            let version = common::daemon_version(&host, &[BUSYBOX])?;
            Some((host, version))
        })
        .collect();
    if daemons.is_empty() {
        // daemon_version said why (and failed under CI)
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this without it: there, one
    // small fixture once, to check that the figures are there.
    if !std::env::args().any(|a| a == "--bench") {
        let (host, version) = &daemons[0];
        let case = CASES
            .iter()
            .find(|c| c.name == "ignored-folder")
            .expect("the case");
        let m = measure(host, case).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            m.builds() > 0.0,
            "no build time in {:#}",
            m.report["timings"]
        );
        println!(
            "measure bench, test mode: {} on Docker {version}: builds {:.2} s, measure's own \
             {:.2} s ({:.0}%); `cargo bench --bench measure` measures",
            case.name,
            m.builds(),
            m.own(),
            100.0 * m.own() / m.builds()
        );
        return;
    }
    let chosen: Option<Vec<String>> = std::env::var("LAYERWISE_BENCH_FIXTURES")
        .ok()
        .map(|l| l.split(',').map(|s| s.trim().to_string()).collect());
    println!(
        "measure's own time beyond the builds (wall time less the builds'), one run per \
         fixture; load average {} at the start",
        load_average()
    );
    let mut overall: Vec<(String, f64, f64)> = Vec::new();
    for (host, version) in &daemons {
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        let buildkit = major >= 23;
        println!(
            "\nDocker {version} ({})",
            if buildkit {
                "BuildKit"
            } else {
                "the classic builder"
            }
        );
        println!(
            "{:<18} {:>8} {:>8} {:>6}   {}  after-report",
            "fixture",
            "builds",
            "own",
            "share",
            PHASES
                .iter()
                .map(|p| format!("{p:>7}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let (mut builds, mut own) = (0.0, 0.0);
        for case in CASES {
            if chosen
                .as_ref()
                .is_some_and(|c| !c.iter().any(|n| n == case.name))
                || (case.buildkit && !buildkit)
            {
                continue;
            }
            if !has_image(host, case.image) {
                println!(
                    "{:<18} skipped: the daemon has no {}",
                    case.name, case.image
                );
                continue;
            }
            let m = match measure(host, case) {
                Ok(m) => m,
                Err(e) => {
                    println!("{:<18} failed: {e}", case.name);
                    continue;
                }
            };
            builds += m.builds();
            own += m.own();
            println!(
                "{:<18} {:>6.2} s {:>6.2} s {:>5.1}%   {}  {:>6.3} s",
                case.name,
                m.builds(),
                m.own(),
                100.0 * m.own() / m.builds(),
                PHASES
                    .iter()
                    .map(|p| format!("{:>7.3}", m.phase(p)))
                    .collect::<Vec<_>>()
                    .join(" "),
                m.after_report()
            );
        }
        if builds > 0.0 {
            println!(
                "{:<18} {:>6.2} s {:>6.2} s {:>5.1}%",
                "all",
                builds,
                own,
                100.0 * own / builds
            );
            overall.push((format!("Docker {version}"), builds, own));
        }
    }
    println!("\nload average {} at the end", load_average());
    for (daemon, builds, own) in overall {
        let share = 100.0 * own / builds;
        println!(
            "{daemon}: measure's own time is {share:.1}% of the builds' ({})",
            if share < 10.0 {
                "under the 10% target"
            } else {
                "OVER the 10% target"
            }
        );
    }
}
