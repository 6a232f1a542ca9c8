//! `layerwise measure` against real Docker daemons: the fixtures under `fixtures/measure/`
//! carry known waste, and the measured savings must show it. Every test runs against each
//! daemon of `LAYERWISE_TEST_DAEMONS` (else `DOCKER_HOST`) with the classic builder, and with
//! BuildKit where the daemon offers it by default (Docker 23 and later); a fixture must measure
//! the same sizes under each. Every test also checks that the daemon holds the same images and
//! containers after the run as before it.
//!
//! Needs daemons with `layerwise/busybox:latest` (and `debian:bookworm-slim` plus network
//! access for the apt case): `scripts/docker-env.sh run /tmp/lw-m all -- cargo test --release
//! --test measure` starts Docker 20.10 and 26. Without one these tests print why and pass,
//! unless `CI` is set: then they fail, as they do when no daemon offers BuildKit. The tests
//! that need no daemon (an unreachable one) always run.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

const BUSYBOX: &str = "layerwise/busybox:latest";
const DEBIAN: &str = "debian:bookworm-slim";

/// The tests compare the daemons' images before and after: one at a time.
static DAEMON: Mutex<()> = Mutex::new(());

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/measure")
        .join(name)
}

/// One way to build: a daemon and one of its builders.
#[derive(Clone, Debug)]
struct Run {
    host: String,
    version: String,
    builder: &'static str,
}

type State = (BTreeSet<String>, BTreeSet<String>);

impl Run {
    fn name(&self) -> String {
        format!("Docker {} with {}", self.version, self.builder)
    }

    fn buildkit(&self) -> bool {
        self.builder == "buildkit"
    }

    /// The docker CLI against this run's daemon.
    fn docker(&self, args: &[&str]) -> Result<String, String> {
        common::docker_at(Some(&self.host), args, Duration::from_secs(120))
    }

    /// Every image (intermediates included) and every container.
    fn state(&self) -> State {
        let lines = |args: &[&str]| -> BTreeSet<String> {
            self.docker(args)
                .expect("listing the daemon's objects")
                .lines()
                .map(str::to_string)
                .collect()
        };
        (
            lines(&["images", "-aq", "--no-trunc"]),
            lines(&["ps", "-aq", "--no-trunc"]),
        )
    }

    fn assert_cleaned_up(&self, before: &State) {
        let after = self.state();
        let new_images: Vec<_> = after.0.difference(&before.0).collect();
        let gone_images: Vec<_> = before.0.difference(&after.0).collect();
        let new_containers: Vec<_> = after.1.difference(&before.1).collect();
        assert!(
            new_images.is_empty() && gone_images.is_empty() && new_containers.is_empty(),
            "{}: the run left images {new_images:?}, removed images {gone_images:?}, left \
             containers {new_containers:?}",
            self.name()
        );
    }

    /// `layerwise measure` for this daemon and builder, started but not waited for.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = layerwise();
        command
            .env("DOCKER_HOST", &self.host)
            .arg("measure")
            .args(["--builder", self.builder]);
        // BuildKit refuses the default network on a daemon without a bridge
        if !args.contains(&"--network") {
            command.args(["--network", "none"]);
        }
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// `measure ARGS` with a JSON report, checked to leave the daemon's images and containers
    /// as they were: its output and its report.
    fn measured(&self, args: &[&str]) -> (Output, Value) {
        let state = self.state();
        let out = self.measure(args);
        let v = report(&out);
        self.assert_cleaned_up(&state);
        (out, v)
    }

    /// Runs `layerwise measure ARGS`, bounded so a hang fails the test instead of blocking it.
    fn measure(&self, args: &[&str]) -> Output {
        eprintln!("{}: measure {args:?}", self.name());
        let child = self.command(args).spawn().expect("layerwise runs");
        wait_bounded(child, Duration::from_secs(600))
    }
}

/// The runs of a test, with the daemons locked for it: each daemon that answers and has
/// `images`, with the classic builder, and with BuildKit where the daemon offers it by default.
/// Empty after printing why (a failure under `CI`, as is having no daemon with BuildKit).
fn runs(images: &[&str]) -> (MutexGuard<'static, ()>, Vec<Run>) {
    let guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let mut runs = Vec::new();
    for host in common::test_daemons() {
        let Some(version) = common::daemon_version(&host, images) else {
            return (guard, Vec::new());
        };
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major >= 23 {
            runs.push(Run {
                host: host.clone(),
                version: version.clone(),
                builder: "buildkit",
            });
        }
        runs.push(Run {
            host,
            version,
            builder: "classic",
        });
    }
    if !runs.iter().any(Run::buildkit) {
        common::skip(
            "no daemon here builds with BuildKit by default (scripts/docker-env.sh run starts \
             Docker 26 beside 20.10, in LAYERWISE_TEST_DAEMONS)",
        );
    }
    (guard, runs)
}

/// The runs with BuildKit only.
fn buildkit_runs(images: &[&str]) -> (MutexGuard<'static, ()>, Vec<Run>) {
    let (guard, runs) = runs(images);
    (guard, runs.into_iter().filter(Run::buildkit).collect())
}

fn layerwise() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_layerwise"));
    command.stdin(Stdio::null());
    command
}

/// The output of a child given piped stdout/stderr; a child that outlives `limit` fails the test.
fn wait_bounded(child: std::process::Child, limit: Duration) -> Output {
    common::output_within(child, limit).unwrap_or_else(|e| panic!("layerwise measure: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON report of a run that must have succeeded.
fn report(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "measure failed:\n{}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

fn num(v: &Value, path: &str) -> i64 {
    v.pointer(path)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{path} is not a number in {v:#}"))
}

fn applied(v: &Value) -> Vec<String> {
    v["applied"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The sizes a fixture must measure the same under every daemon and builder: what the layer
/// tars hold. (Docker's own image size, `total_bytes`, is compared apart: for the same layer
/// tars it can count a few KB more under the classic builder than under BuildKit.)
fn sizes(v: &Value) -> [i64; 8] {
    [
        num(v, "/before/file_bytes"),
        num(v, "/after/file_bytes"),
        num(v, "/before/layer_count"),
        num(v, "/after/layer_count"),
        num(v, "/before/hidden_bytes"),
        num(v, "/after/hidden_bytes"),
        num(v, "/before/cache_bytes"),
        num(v, "/after/cache_bytes"),
    ]
}

/// The rule (or `null`) of each group of explained differences.
fn explained_rules(v: &Value) -> Vec<Value> {
    v["filesystem"]["explained"]
        .as_array()
        .expect("filesystem.explained")
        .iter()
        .map(|e| e["rule"].clone())
        .collect()
}

/// The proof found nothing that the fixes do not explain.
fn assert_proven(run: &Run, v: &Value) {
    assert_eq!(
        v["filesystem"]["unexpected"],
        serde_json::json!([]),
        "{}: unexpected differences",
        run.name()
    );
    assert_eq!(v["config_changes"], serde_json::json!([]), "{}", run.name());
}

/// Asserts that every run measured the same sizes, and Docker's image sizes within 0.1%.
fn assert_same_sizes(measured: &[(String, [i64; 8], [i64; 2])]) {
    if let Some((first_run, first, first_totals)) = measured.first() {
        for (run, sizes, totals) in &measured[1..] {
            assert_eq!(
                sizes, first,
                "{run} measured other sizes than {first_run} (files, layers, hidden, caches; \
                 before and after)"
            );
            for (total, first_total) in totals.iter().zip(first_totals) {
                assert!(
                    (total - first_total).abs() * 1000 <= *first_total,
                    "{run}: image size {total}, {first_run}: {first_total}"
                );
            }
        }
    }
}

/// Measures on every run through `each` (given the run's place and the run, it measures and
/// checks, and gives the report), then asserts that every run measured the same sizes.
fn each_measures_the_same(runs: &[Run], mut each: impl FnMut(usize, &Run) -> Value) {
    let measured: Vec<_> = runs
        .iter()
        .enumerate()
        .map(|(i, run)| measured_by(run, &each(i, run)))
        .collect();
    assert_same_sizes(&measured);
}

/// A run's entry for [`assert_same_sizes`].
fn measured_by(run: &Run, v: &Value) -> (String, [i64; 8], [i64; 2]) {
    (
        run.name(),
        sizes(v),
        [num(v, "/before/total_bytes"), num(v, "/after/total_bytes")],
    )
}

/// A copy of a fixture in a temp dir, to add files a test needs.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let from = fixture(name);
    for entry in walkdir::WalkDir::new(&from) {
        let entry = entry.expect("fixture readable");
        let to = dir
            .path()
            .join(entry.path().strip_prefix(&from).expect("inside"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &to).expect("copy");
        }
    }
    dir
}

fn write_dockerfile(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Dockerfile"), text).expect("write");
    dir
}

const BUNDLE_BYTES: i64 = 3072 * 1024;

#[test]
fn a_file_deleted_in_a_later_run_is_hidden_before_and_gone_after() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    each_measures_the_same(&runs, |i, run| {
        let dockerfile = fixture("deleted-file/Dockerfile");
        let pages = tempfile::tempdir().expect("temp dir");
        let page = pages.path().join("measure.html");
        let (_, v) = run.measured(&[
            dockerfile.to_str().unwrap(),
            "--format",
            "json",
            "--smoke",
            // sizes and modes, no times: the two builds are seconds (or a minute) apart
            "stat -c '%n %s %a %u:%g' /opt/app/bundle/payload.bin",
            "--html",
            page.to_str().unwrap(),
        ]);
        // merging RUNs keeps every file: nothing differs, nothing to explain
        assert_proven(run, &v);
        assert_eq!(v["filesystem"]["only_before"]["files"], 0);
        assert_eq!(v["filesystem"]["changed"]["files"], 0);
        assert!(explained_rules(&v).is_empty());
        assert_eq!(v["start_program"]["after"], "bin/sh");
        let smoke = &v["smoke"][0];
        assert_eq!(smoke["before"], smoke["after"]);
        assert_eq!(smoke["before"]["exit_code"], 0);
        assert_eq!(
            smoke["before"]["output"],
            format!("/opt/app/bundle/payload.bin {BUNDLE_BYTES} 644 0:0\n"),
            "{smoke}"
        );

        assert!(
            applied(&v).contains(&"LW101".to_string()),
            "{:?}",
            applied(&v)
        );
        // exactly the deleted file: the copy under bundle/ stays visible in both
        assert_eq!(num(&v, "/before/hidden_bytes"), BUNDLE_BYTES);
        assert_eq!(num(&v, "/after/hidden_bytes"), 0);
        let saved = num(&v, "/saved_bytes");
        assert!(
            (BUNDLE_BYTES - 4096..=BUNDLE_BYTES + 65536).contains(&saved),
            "saved {saved} bytes, expected about {BUNDLE_BYTES}"
        );
        assert_eq!(
            num(&v, "/before/total_bytes") - num(&v, "/after/total_bytes"),
            saved
        );
        assert!(num(&v, "/before/layer_count") > num(&v, "/after/layer_count"));
        // the layer of line 4 (`RUN dd …`) holds the bundle
        let layers = v["before"]["layers"].as_array().expect("layers");
        let dd = layers
            .iter()
            .find(|l| l["line"] == 4)
            .expect("a layer mapped to line 4");
        assert!(
            dd["instruction"]
                .as_str()
                .unwrap_or("")
                .starts_with("RUN dd")
        );
        assert!(dd["size_bytes"].as_i64().unwrap_or(0) >= BUNDLE_BYTES);
        // the table names what is hidden, with the lines that wrote and deleted it
        let hidden = &v["before"]["hidden_paths"][0];
        assert_eq!(hidden["path"], "opt/app/bundle.tar", "{hidden}");
        assert_eq!(num(hidden, "/bytes"), BUNDLE_BYTES);
        assert_eq!(
            (num(hidden, "/line"), num(hidden, "/hidden_by_line")),
            (4, 6)
        );
        assert_eq!(v["after"]["hidden_paths"], serde_json::json!([]));
        // the layer that wrote it holds the hidden bytes, as the hidden copy says
        assert_eq!(dd["hidden_bytes"], BUNDLE_BYTES);
        // the page: a bar per layer of each version, the bundle's the one hidden part
        let html = std::fs::read_to_string(&page).expect("the page is written");
        let layer_count = |side: &str| v[side]["layers"].as_array().map_or(0, |l| l.len());
        assert_eq!(
            html.matches("<g class=\"layer\">").count(),
            layer_count("before") + layer_count("after")
        );
        assert_eq!(html.matches("class=\"bar hidden\"").count(), 1);
        assert!(html.contains("<span class=\"add\">+"), "the rewrite's diff");
        if i == 0 {
            page_in_a_browser(&page, &v);
        }
        // only the Dockerfile is in the context: no source file to edit, and the report says so
        assert!(v["edited_file"].is_null());
        assert!(v["before"]["rebuilt_steps"].is_null());
        assert!(
            v["rebuild_not_measured"]
                .as_str()
                .unwrap_or("")
                .contains("no source file"),
            "{}",
            v["rebuild_not_measured"]
        );
        assert_eq!(v["builder"], run.builder);
        v
    });
}

#[test]
fn a_source_edit_reruns_fewer_steps_once_manifests_come_first() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    each_measures_the_same(&runs, |_, run| {
        let dockerfile = fixture("deps-order/Dockerfile");
        let (out, v) =
            run.measured(&[dockerfile.to_str().unwrap(), "--unsafe", "--format", "json"]);
        assert!(
            applied(&v).contains(&"LW201".to_string()),
            "{:?}",
            applied(&v)
        );
        assert_eq!(v["edited_file"], "src/index.sh");
        // `COPY . .` copies the Dockerfile, which is what the rewrite changed
        assert_proven(run, &v);
        assert_eq!(explained_rules(&v), [Value::Null]);
        assert_eq!(
            v["filesystem"]["explained"][0]["sample"][0],
            "app/Dockerfile"
        );
        // before: COPY . . and RUN npm install re-run, after: COPY . . alone; the classic
        // builder also counts CMD, which BuildKit runs no step for
        let cmd = i64::from(!run.buildkit());
        assert_eq!(num(&v, "/before/rebuilt_steps"), 2 + cmd, "{}", run.name());
        assert_eq!(num(&v, "/after/rebuilt_steps"), 1 + cmd, "{}", run.name());
        assert!(v["before"]["rebuild_seconds"].is_f64());
        let stderr = text(&out.stderr);
        let progress = if run.buildkit() {
            "before (rebuild): [4/5] COPY . ."
        } else {
            "before (rebuild): Step 4/6 : COPY . ."
        };
        assert!(
            stderr.contains(progress),
            "plain progress lines when stderr is no terminal:\n{stderr}"
        );
        v
    });
}

/// The rebuilds run before the images are saved, and what the run no longer needs (the
/// rebuilds' images) is removed while they are: the chain a user built earlier from the same
/// Dockerfile, which the rebuilds may take steps from, stays, and nothing of the run is left.
#[test]
fn images_built_before_the_run_stay_when_its_own_go_early() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dir = copy_fixture("deps-order");
    let dockerfile = dir.path().join("Dockerfile");
    let tag = "layerwise-test-user:deps-order";
    for run in &runs {
        let untouched = run.state();
        // the user's own build with the classic builder: a tagged image on a chain of others
        let built = Command::new("docker")
            .env("DOCKER_HOST", &run.host)
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "--network", "none", "-t", tag])
            .arg(dir.path())
            .output()
            .expect("docker runs");
        assert!(built.status.success(), "{}", text(&built.stderr));
        assert!(
            run.state().0.len() > untouched.0.len() + 2,
            "{}: the user's build left no chain",
            run.name()
        );
        let (out, v) =
            run.measured(&[dockerfile.to_str().unwrap(), "--unsafe", "--format", "json"]);
        let cmd = i64::from(!run.buildkit());
        assert_eq!(num(&v, "/before/rebuilt_steps"), 2 + cmd, "{}", run.name());
        assert_eq!(num(&v, "/after/rebuilt_steps"), 1 + cmd, "{}", run.name());
        let stderr = text(&out.stderr);
        assert!(stderr.contains("removed the "), "{stderr}");
        let phases = &v["timings"]["phases"];
        assert!(phases["save"].as_f64().unwrap() > 0.0, "{phases}");
        // the user's image and its chain were all still there: removing it leaves the daemon
        // as it was before the user built
        run.docker(&["rmi", tag])
            .expect("the user's image is there");
        run.assert_cleaned_up(&untouched);
    }
}

#[test]
fn a_folder_the_proposed_dockerignore_excludes_leaves_the_image() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let context = copy_fixture("ignored-folder");
    const BIG: usize = 2 * 1024 * 1024;
    std::fs::write(
        context.path().join("node_modules/left-pad/prebuilt.bin"),
        vec![7u8; BIG],
    )
    .expect("write");
    each_measures_the_same(&runs, |_, run| {
        let dockerfile = context.path().join("Dockerfile");
        let (_, v) = run.measured(&[dockerfile.to_str().unwrap(), "--unsafe", "--format", "json"]);
        assert!(
            applied(&v).contains(&"LW401".to_string()),
            "{:?}",
            applied(&v)
        );
        // the folder's bytes, less the few of the .dockerignore the rewrite adds
        let saved = num(&v, "/saved_bytes");
        assert!(
            (BIG as i64 - 512..=BIG as i64 + 4096).contains(&saved),
            "saved {saved} bytes"
        );
        // measure writes nothing into the context
        assert!(!context.path().join(".dockerignore").exists());
        // the folder kept out, and the new .dockerignore copied in, are LW401's doing
        assert_proven(run, &v);
        assert_eq!(explained_rules(&v), ["LW401"]);
        assert_eq!(num(&v, "/filesystem/only_before/bytes"), BIG as i64 + 52);
        assert_eq!(v["edited_file"], "src/main.sh");
        v
    });
}

#[test]
fn apt_lists_left_in_the_image_are_cache_bytes_before_and_none_after() {
    let (_daemons, runs) = runs(&[DEBIAN]);
    each_measures_the_same(&runs, |_, run| {
        let dockerfile = fixture("apt/Dockerfile");
        let (_, v) = run.measured(&[
            dockerfile.to_str().unwrap(),
            "--network",
            "host",
            "--format",
            "json",
        ]);
        let rules = applied(&v);
        assert!(rules.contains(&"LW102".to_string()), "{rules:?}");
        let lists = num(&v, "/before/caches/apt lists");
        assert!(lists > 1_000_000, "apt lists of {lists} bytes");
        assert_eq!(num(&v, "/before/cache_bytes"), lists);
        assert_eq!(num(&v, "/after/cache_bytes"), 0);
        assert!(num(&v, "/saved_bytes") >= lists);
        // the lists are LW102's; apt's logs differ between any two builds
        assert_proven(run, &v);
        assert_eq!(explained_rules(&v)[0], "LW102");
        assert_eq!(num(&v, "/filesystem/explained/0/bytes"), lists);
        v
    });
}

#[test]
fn packages_no_longer_recommended_are_named_and_explain_their_files() {
    let (_daemons, runs) = runs(&[DEBIAN]);
    each_measures_the_same(&runs, |_, run| {
        let dockerfile = fixture("recommends/Dockerfile");
        let (_, v) = run.measured(&[
            dockerfile.to_str().unwrap(),
            "--unsafe",
            "--network",
            "host",
            "--format",
            "json",
        ]);
        assert_eq!(applied(&v), ["LW104"]);
        assert_proven(run, &v);
        let explained = &v["filesystem"]["explained"][0];
        assert_eq!(explained["rule"], "LW104");
        let packages: Vec<&str> = explained["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for package in ["ca-certificates", "openssl", "publicsuffix"] {
            assert!(packages.contains(&package), "{packages:?}");
        }
        assert!(!packages.contains(&"curl"), "{packages:?}");
        // curl itself stays: the image still starts its program
        assert_eq!(v["start_program"]["before"], "usr/bin/curl");
        assert_eq!(v["start_program"]["after"], "usr/bin/curl");
        assert!(num(&v, "/saved_bytes") > 1_000_000);
        v
    });
}

/// A rewrite of `deleted-file` that forgets the copy under bundle/ and changes CMD: what the
/// proof exists to catch.
const WRONG_REWRITE: &str = "FROM layerwise/busybox\nWORKDIR /opt/app\n\
    RUN dd if=/dev/zero of=bundle.tar bs=1024 count=3072 2>/dev/null \\\n    && rm bundle.tar\n\
    CMD [\"sh\", \"-c\", \"true\"]\n";

#[test]
fn a_wrong_rewrite_of_safe_fixes_is_unexpected_and_a_fix_defect() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let wrong = write_dockerfile(WRONG_REWRITE);
    let wrong = wrong.path().join("Dockerfile");
    for run in &runs {
        let state = run.state();
        let out = run.measure(&[
            fixture("deleted-file/Dockerfile").to_str().unwrap(),
            "--rewrite-from",
            wrong.to_str().unwrap(),
            "--smoke",
            "ls /opt/app/bundle",
            "--format",
            "json",
        ]);
        run.assert_cleaned_up(&state);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("of safe fixes only, does not keep the image"),
            "{stderr}"
        );
        assert!(
            stderr.contains("unexpected: only before /opt/app/bundle/payload.bin"),
            "{stderr}"
        );
        assert!(stderr.contains("config: Cmd was [\"sh\"]"), "{stderr}");
        assert!(
            stderr.contains("smoke `ls /opt/app/bundle` runs differently"),
            "{stderr}"
        );
        // the comparison is still printed, with the proof in it
        let v: Value = serde_json::from_slice(&out.stdout).expect("the JSON report");
        let unexpected: Vec<(&str, &str, i64)> = v["filesystem"]["unexpected"]
            .as_array()
            .expect("unexpected")
            .iter()
            .map(|u| {
                (
                    u["path"].as_str().unwrap_or(""),
                    u["change"].as_str().unwrap_or(""),
                    u["size_bytes"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        assert_eq!(
            unexpected,
            [
                ("opt/app/bundle", "only before", 0),
                ("opt/app/bundle/payload.bin", "only before", BUNDLE_BYTES)
            ]
        );
        assert_eq!(v["config_changes"][0]["field"], "Cmd");
        assert_eq!(v["smoke"][0]["before"]["exit_code"], 0);
        assert_ne!(v["smoke"][0]["after"]["exit_code"], 0);
    }
}

#[test]
fn a_start_program_the_rewrite_loses_is_a_defect_even_with_unsafe_fixes() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let context = copy_fixture("deps-order");
    let original = std::fs::read_to_string(context.path().join("Dockerfile")).expect("read");
    // the rewrite ends by deleting the shell that CMD ["sh", "src/index.sh"] starts
    let wrong = tempfile::tempdir().expect("temp dir");
    let wrong = wrong.path().join("Dockerfile");
    std::fs::write(&wrong, format!("{original}RUN rm /bin/sh\n")).expect("write");
    for run in &runs {
        let state = run.state();
        let out = run.measure(&[
            context.path().join("Dockerfile").to_str().unwrap(),
            "--unsafe",
            "--rewrite-from",
            wrong.to_str().unwrap(),
        ]);
        run.assert_cleaned_up(&state);
        let stderr = text(&out.stderr);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("the start program `sh` (/bin/sh) is not in the rewritten image"),
            "{stderr}"
        );
        let verdict = stdout
            .lines()
            .find(|l| l.starts_with("verdict: "))
            .unwrap_or_default();
        assert!(
            verdict.starts_with("verdict: NOT the same image: ")
                && verdict.contains("the start program `sh` is gone"),
            "{stdout}"
        );
    }
}

#[test]
fn the_edited_file_is_one_a_copy_reads_and_the_rebuild_says_why_when_none_is() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    // README.md comes first in path order, but only run.sh is copied: editing the README would
    // re-run nothing (issue 18's mail server)
    let copies_script = write_dockerfile(
        "FROM layerwise/busybox\nCOPY run.sh /run.sh\nRUN echo one > /one\nRUN echo two > /two\n\
         CMD [\"sh\", \"/run.sh\"]\n",
    );
    let copies_nothing = write_dockerfile(
        "FROM layerwise/busybox\nRUN echo one > /one\nRUN echo two > /two\nCMD [\"sh\"]\n",
    );
    for dir in [&copies_script, &copies_nothing] {
        std::fs::write(dir.path().join("README.md"), "read me\n").expect("write");
        std::fs::write(dir.path().join("run.sh"), "echo ok\n").expect("write");
    }
    for run in &runs {
        let state = run.state();
        let measure = |dir: &tempfile::TempDir, extra: &[&str]| {
            let dockerfile = dir.path().join("Dockerfile");
            let mut args = vec![dockerfile.to_str().unwrap(), "--format", "json"];
            args.extend_from_slice(extra);
            let out = run.measure(&args);
            run.assert_cleaned_up(&state);
            report(&out)
        };

        let v = measure(&copies_script, &[]);
        assert_eq!(v["edited_file"], "run.sh", "{}", run.name());
        assert!(v["rebuild_not_measured"].is_null());
        // the edit re-runs the COPY, and the RUNs after it in the original
        assert!(num(&v, "/before/rebuilt_steps") >= 3, "{}", run.name());

        let v = measure(&copies_script, &["--no-rebuild"]);
        assert!(v["edited_file"].is_null());
        assert_eq!(v["rebuild_not_measured"], "skipped with --no-rebuild");
        assert!(v["after"]["rebuild_seconds"].is_null());

        let v = measure(&copies_nothing, &[]);
        assert!(v["edited_file"].is_null());
        let why = v["rebuild_not_measured"].as_str().unwrap_or("");
        assert!(
            why.contains("no COPY, ADD or bind mount") && why.contains("such as README.md"),
            "{why}"
        );
        assert!(v["before"]["rebuilt_steps"].is_null());
    }
}

#[test]
fn a_rewrite_that_breaks_a_working_build_is_a_fix_defect() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    for run in &runs {
        let state = run.state();
        let dockerfile = fixture("fix-defect/Dockerfile");
        let out = run.measure(&[dockerfile.to_str().unwrap(), "--unsafe"]);
        run.assert_cleaned_up(&state);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains("fix defect"), "{stderr}");
        assert!(stderr.contains("fixes applied: LW401"), "{stderr}");
        assert!(
            stderr.contains("RUN test -f node_modules/left-pad/index.js"),
            "{stderr}"
        );
        // the failing step is the original's; the fix behind it wrote the .dockerignore
        assert!(
            stderr.contains(
                "step 4 of 4 (line 6 of the rewrite), line 6 of the original, was written by no \
                 fix; LW401 ("
            ) && stderr
                .contains("wrote .dockerignore, which changes what the build's context holds"),
            "{stderr}"
        );
        // the rewrite is shown: the proposed .dockerignore
        assert!(stderr.contains("+node_modules"), "{stderr}");
        assert!(out.stdout.is_empty(), "no comparison is claimed");
    }
}

/// What LW203 wrote before it knew that a copy onto the PATH may bring the program a RUN calls:
/// the RUN moved above `COPY . /app`, where the context's apt-get is not there yet.
const MOVED_ABOVE_ITS_PROGRAM: &str = "FROM layerwise/busybox\nENV PATH=/app/tools:$PATH\n\
    WORKDIR /app\nRUN apt-get update\nCOPY . /app\nCMD [\"sh\"]\n";

#[test]
fn a_failing_rewritten_step_is_named_and_lw203_no_longer_writes_it() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dockerfile = fixture("program-from-context/Dockerfile");
    let path = dockerfile.to_str().unwrap();
    let moved = write_dockerfile(MOVED_ABOVE_ITS_PROGRAM);
    let moved = moved.path().join("Dockerfile");
    for run in &runs {
        let state = run.state();
        // LW203 leaves the RUN below the copy that brings its apt-get: the rewrite builds
        let out = run.measure(&[path, "--unsafe", "--no-rebuild", "--format", "json"]);
        run.assert_cleaned_up(&state);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("the comparison as JSON");
        assert!(!applied(&v).contains(&"LW203".to_string()), "{v:#}");

        // the rewrite it used to write fails at the moved RUN, which measure names
        let out = run.measure(&[path, "--rewrite-from", moved.to_str().unwrap()]);
        run.assert_cleaned_up(&state);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains("apt-get: not found"), "{stderr}");
        assert!(
            stderr.contains(
                "step 4 of 6 (line 4 of the rewrite) comes from the file --rewrite-from gave"
            ),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "no comparison is claimed");

        let out = run.measure(&[
            path,
            "--rewrite-from",
            moved.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("the defect as JSON");
        let step = &v["failed_step"];
        assert_eq!(step["step"], 4, "{v:#}");
        assert_eq!(step["line"], 4, "{v:#}");
        assert_eq!(step["instruction"], "RUN apt-get update");
        run.assert_cleaned_up(&state);
    }
}

#[test]
fn more_runs_give_the_median_and_spread_and_the_same_sizes() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dockerfile = fixture("ignored-folder/Dockerfile");
    let path = dockerfile.to_str().unwrap();
    for run in &runs {
        let pages = tempfile::tempdir().expect("temp dir");
        let page = pages.path().join("measure.html");
        let (out, v) = run.measured(&[
            path,
            "--unsafe",
            "--runs",
            "3",
            "--format",
            "json",
            "--html",
            page.to_str().unwrap(),
        ]);
        assert_eq!(v["runs"], 3);
        for side in ["before", "after"] {
            for times in ["build_times", "rebuild_times"] {
                let t = &v[side][times];
                let seconds: Vec<f64> = t["seconds"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{side}.{times}: {v:#}"))
                    .iter()
                    .filter_map(Value::as_f64)
                    .collect();
                assert_eq!(seconds.len(), 3, "{side}.{times}: {t}");
                let (min, median, max) = (
                    t["min"].as_f64().unwrap(),
                    t["median"].as_f64().unwrap(),
                    t["max"].as_f64().unwrap(),
                );
                assert!(min <= median && median <= max, "{t}");
                assert!(
                    seconds.contains(&median),
                    "an odd count's median is a sample: {t}"
                );
            }
            assert_eq!(
                v[side]["build_seconds"], v[side]["build_times"]["median"],
                "{side}"
            );
        }
        // the rebuild re-ran the COPY (and CMD, which the classic builder counts) only
        let cmd = i64::from(!run.buildkit());
        assert_eq!(num(&v, "/after/rebuilt_steps"), 1 + cmd, "{}", run.name());
        assert_eq!(v["after"]["rebuilt"][0], "COPY . .", "{v:#}");
        // every run built the same sizes
        assert_eq!(v["size_differences"], serde_json::json!([]), "{v:#}");
        // the builds' time is every build's, and measure's own is the rest
        let timings = &v["timings"];
        let builds = timings["build_seconds"].as_f64().unwrap();
        let sum: f64 = ["before", "after"]
            .iter()
            .flat_map(|side| {
                ["build_times", "rebuild_times"]
                    .map(|t| v[side][t]["seconds"].as_array().unwrap().clone())
            })
            .flatten()
            .filter_map(|s| s.as_f64())
            .sum();
        assert!((builds - sum).abs() < 1e-6, "{timings}: builds {sum}");
        assert!(
            timings["total_seconds"].as_f64().unwrap() > builds,
            "{timings}"
        );
        for phase in [
            "prepare", "daemon", "sizes", "edits", "save", "images", "removal", "proof",
        ] {
            assert!(timings["phases"][phase].is_f64(), "{phase}: {timings}");
        }
        let stderr = text(&out.stderr);
        assert!(stderr.contains("before, run 3 of 3"), "{stderr}");
        assert!(stderr.contains("after (rebuild), run 2 of 3"), "{stderr}");
        // the page shows the spread and how the times were taken
        let html = std::fs::read_to_string(&page).expect("the page");
        let median = v["before"]["build_times"]["median"].as_f64().unwrap();
        assert!(html.contains(&format!("{median:.1} s (")), "{html}");
        assert!(
            html.contains(
                "times: the median of 3 builds of each, min–max in brackets; the same sizes in \
                 every run"
            ),
            "{html}"
        );
    }
}

#[test]
fn an_original_that_does_not_build_shows_its_step_and_compares_nothing() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dir = write_dockerfile(
        "FROM layerwise/busybox\nRUN echo made > /made\nRUN echo broken-step-output && exit 7\n",
    );
    for run in &runs {
        let state = run.state();
        let out = run.measure(&[dir.path().join("Dockerfile").to_str().unwrap()]);
        run.assert_cleaned_up(&state);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("the original does not build"), "{stderr}");
        let exit_code = if run.buildkit() {
            "did not complete successfully: exit code: 7"
        } else {
            "returned a non-zero code: 7"
        };
        assert!(stderr.contains(exit_code), "{stderr}");
        assert!(
            stderr.contains("in step `RUN echo broken-step-output && exit 7`"),
            "{stderr}"
        );
        assert!(stderr.contains("| broken-step-output"), "{stderr}");
        assert!(stderr.contains("no comparison made"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_step_that_cannot_reach_the_network_gets_the_network_host_hint() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    // no network here: the name does not resolve
    let dir =
        write_dockerfile("FROM layerwise/busybox\nRUN wget -q -O /index http://deb.debian.org/\n");
    for run in &runs {
        let state = run.state();
        let out = run.measure(&[
            dir.path().join("Dockerfile").to_str().unwrap(),
            "--network",
            "none",
        ]);
        run.assert_cleaned_up(&state);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("| wget: bad address"), "{stderr}");
        assert!(
            stderr.contains("the step could not reach the network: with --network none"),
            "{stderr}"
        );
        assert!(
            stderr.contains("--network host lets it download"),
            "{stderr}"
        );
    }
}

const ENDLESS: &str = "FROM layerwise/busybox\nRUN echo made > /made\nRUN sleep 600\n";

#[test]
fn a_build_past_the_timeout_is_stopped_and_cleaned_up() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dir = write_dockerfile(ENDLESS);
    for run in &runs {
        let state = run.state();
        let started = Instant::now();
        let out = run.measure(&[
            dir.path().join("Dockerfile").to_str().unwrap(),
            "--timeout",
            "3",
        ]);
        let took = started.elapsed();
        run.assert_cleaned_up(&state);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("ran past --timeout (3 s)"), "{stderr}");
        assert!(stderr.contains("in step `RUN sleep 600`"), "{stderr}");
        // far from the 600 s the step would take; not a speed check, a check that it stopped
        assert!(took < Duration::from_secs(120), "took {took:?}");
    }
}

/// What a run stopped mid-build leaves to remove: the classic builder committed the image of
/// the step before; BuildKit commits nothing until the end.
fn removed_images(run: &Run) -> &'static str {
    if run.buildkit() {
        "removed the 0 images "
    } else {
        "removed the 1 image "
    }
}

#[test]
fn ctrl_c_stops_the_build_and_still_cleans_up() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dir = write_dockerfile(ENDLESS);
    for run in &runs {
        let state = run.state();
        let mut child = run
            .command(&[dir.path().join("Dockerfile").to_str().unwrap()])
            .spawn()
            .expect("layerwise runs");
        // Wait until the endless step runs, then interrupt as a terminal would.
        let stderr = child.stderr.take().expect("stderr piped");
        let (seen_tx, seen_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("RUN sleep 600") {
                    let _ = seen_tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        seen_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the endless step started");
        std::thread::sleep(Duration::from_millis(500));
        let killed = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let out = wait_bounded(child, Duration::from_secs(120));
        let stderr = reader.join().unwrap_or_default();
        run.assert_cleaned_up(&state);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(stderr.contains(removed_images(run)), "{stderr}");
    }
}

#[test]
fn buildkit_syntax_measures_under_buildkit_and_the_classic_builder_refuses_it() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dockerfile = fixture("buildkit-syntax/Dockerfile");
    for run in &runs {
        let state = run.state();
        let out = run.measure(&[dockerfile.to_str().unwrap(), "--format", "json"]);
        run.assert_cleaned_up(&state);
        if !run.buildkit() {
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{stderr}");
            assert!(
                stderr.contains("uses RUN --mount (line 4), which only BuildKit builds"),
                "{stderr}"
            );
            assert!(stderr.contains("--builder buildkit"), "{stderr}");
            continue;
        }
        let v = report(&out);
        assert_eq!(applied(&v), ["LW101"]);
        assert_eq!(num(&v, "/before/hidden_bytes"), 2048 * 1024);
        assert_eq!(num(&v, "/after/hidden_bytes"), 0);
        // the heredoc and the --chmod copy each made a layer, mapped to their lines
        let lines: Vec<i64> = v["before"]["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .filter_map(|l| l["line"].as_i64())
            .collect();
        assert_eq!(lines, [3, 4, 6, 9, 10, 11], "{}", run.name());
        assert_eq!(v["edited_file"], "hello.sh");
        assert!(
            text(&out.stderr).contains("to the daemon's build cache"),
            "BuildKit's cache is left and the run says how much it added"
        );
    }
}

#[test]
fn a_frontend_that_cannot_be_pulled_is_named_and_the_builtin_one_builds() {
    let (_daemons, runs) = buildkit_runs(&[BUSYBOX]);
    // the escape directive after the syntax one must survive its removal
    let dir = write_dockerfile(
        "# syntax=docker/dockerfile:1.7\n# escape=\\\nFROM layerwise/busybox\n\
         RUN echo one > /one\nRUN echo two \\\n    > /two\n",
    );
    let dockerfile = dir.path().join("Dockerfile");
    for run in &runs {
        let state = run.state();
        let out = run.measure(&[dockerfile.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("the `# syntax=docker/dockerfile:1.7` line (line 1)"),
            "{stderr}"
        );
        assert!(stderr.contains("--builtin-frontend"), "{stderr}");
        let out = run.measure(&[
            dockerfile.to_str().unwrap(),
            "--builtin-frontend",
            "--format",
            "json",
        ]);
        let v = report(&out);
        run.assert_cleaned_up(&state);
        assert_eq!(applied(&v), ["LW101"]);
        // the instructions keep their lines, so the map still fits
        let lines: Vec<i64> = v["before"]["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .filter_map(|l| l["line"].as_i64())
            .collect();
        assert_eq!(lines, [3, 4, 5]);
    }
}

#[test]
fn the_default_builder_is_the_daemons_and_a_missing_secret_is_named() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dir = write_dockerfile(
        "FROM layerwise/busybox\n\
         RUN --mount=type=secret,id=token,required=true cat /run/secrets/token\n",
    );
    let dockerfile = dir.path().join("Dockerfile");
    for run in runs.iter().filter(|r| r.buildkit()) {
        let state = run.state();
        // no --builder: a daemon that builds with BuildKit by default gets BuildKit
        let child = layerwise()
            .env("DOCKER_HOST", &run.host)
            .args(["measure", "--network", "none"])
            .arg(&dockerfile)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("layerwise runs");
        let out = wait_bounded(child, Duration::from_secs(300));
        run.assert_cleaned_up(&state);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("with BuildKit"), "{stderr}");
        assert!(
            stderr.contains(
                "line 2 mounts the secret `token` (RUN --mount=type=secret), which measure does \
                 not provide"
            ),
            "{stderr}"
        );
    }
    for run in runs.iter().filter(|r| r.version.starts_with("20.")) {
        let child = layerwise()
            .env("DOCKER_HOST", &run.host)
            .args(["measure", "--network", "none"])
            .arg(fixture("deleted-file/Dockerfile"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("layerwise runs");
        let out = wait_bounded(child, Duration::from_secs(300));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("with the classic builder"), "{stderr}");
    }
}

/// Whether BuildKit's status messages so far (protobuf, base64 in the `aux` of each JSON
/// line) hold `text`, such as the name of a vertex that started.
fn buildkit_says(stream: &str, text: &str) -> bool {
    use base64::Engine;
    stream.split("\"aux\":\"").skip(1).any(|rest| {
        let encoded = rest.split('"').next().unwrap_or("");
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .is_ok_and(|bytes| String::from_utf8_lossy(&bytes).contains(text))
    })
}

/// A unix socket in front of the daemon's that passes everything through, except that it cuts
/// the connection of a build once the daemon's output contains `cut_at`, as a daemon that
/// dies mid-build would. Other connections (the clean-up's) pass on.
struct CuttingProxy {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    cut: Arc<AtomicBool>,
}

impl CuttingProxy {
    fn start(upstream: PathBuf, cut_at: &'static str) -> CuttingProxy {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("proxy.sock");
        let listener = UnixListener::bind(&socket).expect("bind the proxy socket");
        let cut = Arc::new(AtomicBool::new(false));
        let cut_flag = cut.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(daemon) = UnixStream::connect(&upstream) else {
                    continue;
                };
                let is_build = Arc::new(AtomicBool::new(false));
                let (mut c_read, mut d_write) = (
                    client.try_clone().expect("clone"),
                    daemon.try_clone().expect("clone"),
                );
                let build_flag = is_build.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64 * 1024];
                    let mut first = true;
                    while let Ok(n) = c_read.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if first {
                            let head = String::from_utf8_lossy(&buf[..n.min(200)]).into_owned();
                            build_flag.store(head.contains("/build?"), Ordering::SeqCst);
                            first = false;
                        }
                        if d_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = d_write.shutdown(std::net::Shutdown::Write);
                });
                let cut_flag = cut_flag.clone();
                std::thread::spawn(move || {
                    let (mut d_read, mut c_write) = (daemon, client);
                    let mut buf = [0u8; 64 * 1024];
                    let mut seen = String::new();
                    while let Ok(n) = d_read.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        if is_build.load(Ordering::SeqCst) {
                            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                            if seen.contains(cut_at) || buildkit_says(&seen, cut_at) {
                                cut_flag.store(true, Ordering::SeqCst);
                                let _ = c_write.write_all(&buf[..n]);
                                let _ = c_write.shutdown(std::net::Shutdown::Both);
                                let _ = d_read.shutdown(std::net::Shutdown::Both);
                                break;
                            }
                        }
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_write.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        CuttingProxy {
            _dir: dir,
            socket,
            cut,
        }
    }
}

#[test]
fn a_daemon_lost_mid_build_is_a_clear_error_and_what_was_built_is_removed() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dir = write_dockerfile(ENDLESS);
    for run in &runs {
        let Some(upstream) = run.host.strip_prefix("unix://").map(PathBuf::from) else {
            common::skip(format!(
                "the proxy needs a daemon at unix://… (got {:?})",
                run.host
            ));
            return;
        };
        let proxy = CuttingProxy::start(upstream, "RUN sleep 600");
        let state = run.state();
        let mut proxied = run.clone();
        proxied.host = format!("unix://{}", proxy.socket.display());
        let child = proxied
            .command(&[dir.path().join("Dockerfile").to_str().unwrap()])
            .spawn()
            .expect("layerwise runs");
        let out = wait_bounded(child, Duration::from_secs(120));
        let stderr = text(&out.stderr);
        assert!(
            proxy.cut.load(Ordering::SeqCst),
            "the proxy never cut:\n{stderr}"
        );
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("stopped answering during the original's build"),
            "{stderr}"
        );
        assert!(stderr.contains(removed_images(run)), "{stderr}");
        // the daemon cancels the build when its client goes, and removes the container of the
        // step it was starting (Docker 26's classic builder may start it only after the cut):
        // look once the containers have been back to what they were for two seconds
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut settled_since: Option<Instant> = None;
        while Instant::now() < deadline {
            if run.state().1 == state.1 {
                let since = *settled_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= Duration::from_secs(2) {
                    break;
                }
            } else {
                settled_since = None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        run.assert_cleaned_up(&state);
    }
}

#[test]
fn the_config_that_fix_reads_shapes_the_rewrite() {
    // the config decides the rewrite, whatever builds it: one run is enough
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let Some(run) = runs.first() else { return };
    let state = run.state();
    let config = tempfile::tempdir().expect("temp dir");
    let config = config.path().join("layerwise.yaml");
    std::fs::write(&config, "ignore: [LW101]\n").expect("write the config");
    let dockerfile = fixture("deleted-file/Dockerfile");
    let out = run.measure(&[
        dockerfile.to_str().unwrap(),
        "--format",
        "json",
        "--config",
        config.to_str().unwrap(),
    ]);
    let v = report(&out);
    run.assert_cleaned_up(&state);
    // LW101 was the only safe fix; with it off, `fix` changes nothing, and neither does measure
    assert!(applied(&v).is_empty(), "{:?}", applied(&v));
    assert_eq!(num(&v, "/saved_bytes"), 0);
    assert_eq!(
        num(&v, "/before/hidden_bytes"),
        num(&v, "/after/hidden_bytes")
    );
}

#[test]
fn a_config_that_is_not_valid_is_shown_and_nothing_is_built() {
    let dir = write_dockerfile("FROM layerwise/busybox\nRUN true\nRUN true\n");
    std::fs::write(
        dir.path().join(".layerwise.yaml"),
        "ignore: [LW101]\nsevrity: {}\n",
    )
    .expect("write the config");
    let out = layerwise()
        .arg("measure")
        .arg(dir.path().join("Dockerfile"))
        .env("DOCKER_HOST", "unix:///nonexistent/layerwise/docker.sock")
        .output()
        .expect("layerwise runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sevrity"), "{stderr}");
    // the config stops it before it tries the daemon
    assert!(
        !stderr.contains("cannot reach the Docker daemon"),
        "{stderr}"
    );
}

#[test]
fn a_smoke_command_that_does_not_split_is_refused_before_the_daemon_is_asked() {
    let dir = write_dockerfile("FROM layerwise/busybox\nRUN true\n");
    let dockerfile = dir.path().join("Dockerfile");
    for (command, message) in [
        ("echo 'open", "--smoke echo 'open: unbalanced quotes"),
        ("  ", "--smoke: the command is empty"),
    ] {
        let out = layerwise()
            .args(["measure", "--smoke", command])
            .arg(&dockerfile)
            .env("DOCKER_HOST", "unix:///nonexistent/layerwise/docker.sock")
            .output()
            .expect("layerwise runs");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        // refused before connecting: the unreachable daemon is never named
        assert!(!stderr.contains("cannot reach"), "{stderr}");
    }
}

#[test]
fn an_unreachable_daemon_is_named() {
    let dir = write_dockerfile("FROM layerwise/busybox\nRUN true\n");
    let dockerfile = dir.path().join("Dockerfile");
    // a socket that accepts and hangs up at once, like a daemon dying as it is asked
    let sockets = tempfile::tempdir().expect("temp dir");
    let hangup = sockets.path().join("hangup.sock");
    let listener = UnixListener::bind(&hangup).expect("bind");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let hangup_host = format!("unix://{}", hangup.display());
    for (host, reason) in [
        ("unix:///nonexistent/layerwise/docker.sock", ""),
        (hangup_host.as_str(), ""),
        ("ftp://example.invalid", "unsupported address"),
    ] {
        let out = layerwise()
            .arg("measure")
            .arg(&dockerfile)
            .env("DOCKER_HOST", host)
            .output()
            .expect("layerwise runs");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{host}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot reach the Docker daemon at {host}")),
            "{host}: {stderr}"
        );
        assert!(stderr.contains(reason), "{host}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// The context tar measure sends, against the one the Docker CLI makes of the same folder: the
/// CLI builds the folder, then the CLI builds our tar (`docker build -` sends a tar as it is).
/// The files COPY gets must be the same, with the same types, modes, owners and sizes; and with
/// a CLI of Docker 23 or later, whose headers ours follow, the second build must take COPY from
/// the first one's cache and end on the same image.
#[test]
fn our_context_tar_is_the_one_the_docker_cli_sends() {
    use layerwise::docker::context::{Context, ContextSpec};
    use std::os::unix::fs::PermissionsExt;

    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let dockerfile = "FROM layerwise/busybox\nCOPY . /ctx/\n";
    let files: &[(&str, &str)] = &[
        ("Dockerfile", dockerfile),
        (
            ".dockerignore",
            "node_modules\n*.log\n!keep.log\ndocs/**/*.md\n!docs/README.md\n",
        ),
        ("app/main.sh", "#!/bin/sh\necho hi\n"),
        ("app/lib/util.sh", "util\n"),
        ("node_modules/x/index.js", "x\n"),
        ("debug.log", "no\n"),
        ("keep.log", "yes\n"),
        ("docs/README.md", "readme\n"),
        ("docs/guide/intro.md", "intro\n"),
        ("docs/guide/image.png", "png\n"),
    ];
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    std::fs::set_permissions(
        root.join("app/main.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    std::fs::create_dir_all(root.join("empty/inner")).expect("mkdir");
    std::os::unix::fs::symlink("app/main.sh", root.join("run.sh")).expect("symlink");

    let context = Context::build(&ContextSpec {
        dir: root,
        dockerfile: &root.join("Dockerfile"),
        dockerfile_text: dockerfile,
        ignore_text: None,
        replaced: &[],
    })
    .expect("context tar");
    let mut tar = Vec::new();
    context.write(&mut tar).expect("the context tar is written");
    // the classic builder of each daemon: the CLI's context for it is what ours follows
    for run in runs.iter().filter(|r| !r.buildkit()) {
        context_tar_matches_the_clis(run, root, &tar);
    }
}

fn context_tar_matches_the_clis(run: &Run, root: &Path, tar: &[u8]) {
    let state = run.state();
    let classic = |args: &[&str], stdin: Option<&[u8]>| -> Result<String, String> {
        let mut child = Command::new("docker")
            .env("DOCKER_HOST", &run.host)
            .env("DOCKER_BUILDKIT", "0")
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(bytes).map_err(|e| e.to_string())?;
        }
        let out = wait_bounded(child, Duration::from_secs(300));
        if out.status.success() {
            Ok(text(&out.stdout))
        } else {
            Err(text(&out.stderr))
        }
    };
    let by_cli = classic(
        &[
            "build",
            "--no-cache",
            "--network",
            "none",
            "-q",
            root.to_str().unwrap(),
        ],
        None,
    );
    let by_us = classic(&["build", "--network", "none", "-"], Some(tar));
    let id = |out: &str| {
        out.lines()
            .rev()
            .find_map(|l| l.strip_prefix("Successfully built "))
            .map(str::to_string)
            .or_else(|| out.lines().last().map(|l| l.trim().to_string()))
    };
    let cli_id = by_cli.as_deref().ok().and_then(id);
    let our_id = by_us.as_deref().ok().and_then(id);
    let listing = |image: &str| {
        run.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            image,
            "find",
            "/ctx",
            "-exec",
            "stat",
            "-c",
            "%n|%F|%a|%u:%g|%s|%N",
            "{}",
            "+",
        ])
        .map(|out| {
            let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
            lines.sort();
            lines
        })
    };
    let listings = (
        cli_id.as_deref().map(listing),
        our_id.as_deref().map(listing),
    );
    // remove both, by id, before asserting anything
    for image in [&cli_id, &our_id].into_iter().flatten() {
        let _ = run.docker(&["rmi", image]);
    }
    run.assert_cleaned_up(&state);
    let by_us = by_us.expect("our tar builds");
    by_cli.expect("the CLI builds the folder");
    let (Some(Ok(cli_files)), Some(Ok(our_files))) = listings else {
        panic!("could not list /ctx in both images: {listings:?}");
    };
    assert_eq!(cli_files, our_files);
    assert!(
        our_files
            .iter()
            .any(|l| l.starts_with("/ctx/empty/inner|directory|755|0:0"))
    );
    assert!(
        our_files
            .iter()
            .any(|l| l.starts_with("/ctx/app/main.sh|regular file|755"))
    );
    assert!(
        !our_files
            .iter()
            .any(|l| l.contains("node_modules") || l.contains("debug.log"))
    );

    let version = run
        .docker(&["version", "--format", "{{.Client.Version}}"])
        .unwrap_or_default();
    let major: u32 = version
        .trim()
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 23 {
        eprintln!(
            "cache sharing not checked: the docker CLI here is {} and writes older headers",
            version.trim()
        );
        return;
    }
    assert!(
        by_us.contains("COPY . /ctx/\n ---> Using cache"),
        "our tar missed the cache of the CLI's build:\n{by_us}"
    );
    let short = |id: &str| {
        id.trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect::<String>()
    };
    assert_eq!(
        short(cli_id.as_deref().unwrap_or("")),
        short(our_id.as_deref().unwrap_or(""))
    );
}

#[test]
fn target_and_build_args_reach_the_build_and_the_layer_map() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    // The last stage fails: only --target keeps it out. The RUN fails without the argument.
    let dir = write_dockerfile(
        "FROM layerwise/busybox AS build\nARG GREETING\n\
         RUN test \"$GREETING\" = hello && echo \"$GREETING\" > /greeting\n\
         RUN echo extra > /extra\n\nFROM layerwise/busybox\nRUN false\n",
    );
    for run in &runs {
        target_and_build_args_reach(run, dir.path());
    }
}

fn target_and_build_args_reach(run: &Run, dir: &Path) {
    let (_, v) = run.measured(&[
        dir.join("Dockerfile").to_str().unwrap(),
        "--target",
        "build",
        "--build-arg",
        "GREETING=hello",
        "--format",
        "json",
    ]);
    assert!(
        applied(&v).contains(&"LW101".to_string()),
        "{:?}",
        applied(&v)
    );
    let lines = |side: &str| -> Vec<i64> {
        v[side]["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .filter_map(|l| l["line"].as_i64())
            .collect()
    };
    // the base image's layer comes in by line 1; then the two RUNs, merged after the rewrite
    assert_eq!(lines("before"), [1, 3, 4]);
    assert_eq!(lines("after"), [1, 3]);
    let created_by = v["before"]["layers"][1]["created_by"]
        .as_str()
        .unwrap_or("");
    assert!(created_by.contains("GREETING=hello"), "{created_by}");
}

#[test]
fn smoke_output_is_stdout_then_stderr_the_same_every_run() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let dir =
        write_dockerfile("FROM layerwise/busybox\nRUN echo one > /one\nRUN echo two > /two\n");
    // Docker keeps each stream's order, not the order between them: interleaved, the two runs
    // of this command came back in different orders and measure called it a fix defect
    let both = "sh -c 'for i in 1 2 3 4 5 6; do echo out$i; echo err$i >&2; done'";
    let want: String = (1..=6)
        .map(|i| format!("out{i}\n"))
        .chain((1..=6).map(|i| format!("err{i}\n")))
        .collect();
    for run in &runs {
        let (_, v) = run.measured(&[
            dir.path().join("Dockerfile").to_str().unwrap(),
            "--no-rebuild",
            "--format",
            "json",
            "--smoke",
            both,
        ]);
        assert_eq!(
            v["smoke"][0]["before"]["output"],
            want.as_str(),
            "{}",
            run.name()
        );
        assert_eq!(
            v["smoke"][0]["after"]["output"],
            want.as_str(),
            "{}",
            run.name()
        );
    }
}

/// The toolchain fixtures install gcc or Go from Debian for real (most of a minute a build), so
/// each is measured once: the run with `builder` where a daemon offers it, else the first.
fn run_with(runs: &[Run], builder: &str) -> Option<Run> {
    runs.iter()
        .find(|r| r.builder == builder)
        .or(runs.first())
        .cloned()
}

/// `measure --unsafe` of a fixture that compiles `hello` where it runs: LW301 rewrites it into
/// two stages (and the rules of `also` fix what they find). Both build (else measure fails),
/// the program runs the same in both, the image is at most half the size, and every difference
/// is LW301's (or one of `also`'s). Gives the report.
fn rewritten_into_two_stages(run: &Run, name: &str, toolchain: &str, also: &[&str]) -> Value {
    let dockerfile = fixture(&format!("{name}/Dockerfile"));
    let (_, v) = run.measured(&[
        dockerfile.to_str().unwrap(),
        "--unsafe",
        "--network",
        "host",
        "--format",
        "json",
        "--smoke",
        "hello world",
    ]);
    let mut rules = applied(&v);
    rules.sort();
    let mut want: Vec<&str> = also.iter().copied().chain(["LW301"]).collect();
    want.sort();
    assert_eq!(rules, want, "{}", run.name());
    let smoke = &v["smoke"][0];
    assert_eq!(smoke["before"], smoke["after"], "{}", run.name());
    assert_eq!(smoke["after"]["exit_code"], 0, "{smoke}");
    assert_eq!(smoke["after"]["output"], "hello, world\n", "{smoke}");
    assert_eq!(v["start_program"]["before"], "usr/local/bin/hello");
    assert_eq!(v["start_program"]["after"], "usr/local/bin/hello");
    let (before, after) = (
        num(&v, "/before/total_bytes"),
        num(&v, "/after/total_bytes"),
    );
    assert!(
        2 * after <= before,
        "{}: {after} bytes after, {before} before: not half",
        run.name()
    );
    assert_eq!(num(&v, "/saved_bytes"), before - after);
    // the toolchain gone, the sources left in the build stage: LW301's, nothing unexpected
    assert_proven(run, &v);
    let groups = v["filesystem"]["explained"].as_array().expect("explained");
    assert!(
        groups.iter().all(|g| g["rule"].is_null()
            || g["rule"] == "LW301"
            || also.iter().any(|r| g["rule"] == *r)),
        "{groups:#?}"
    );
    let packages = groups
        .iter()
        .find(|g| !g["packages"].is_null())
        .expect("a group of packages");
    assert_eq!(packages["rule"], "LW301");
    assert!(
        packages["packages"]
            .as_array()
            .is_some_and(|p| p.iter().any(|n| n == toolchain)),
        "{packages}"
    );
    // what the toolchain's packages hold is most of what the rewrite saves
    assert!(
        2 * num(packages, "/bytes") > before - after,
        "{packages}, {} saved",
        before - after
    );
    let sources = groups
        .iter()
        .find(|g| {
            g["reason"]
                .as_str()
                .unwrap_or("")
                .starts_with("the build's sources")
        })
        .expect("the build's own files");
    assert!(
        sources["sample"].as_array().is_some_and(|s| s
            .iter()
            .all(|p| p.as_str().unwrap_or("").starts_with("src/"))),
        "{sources}"
    );
    v
}

/// Issue 20's done-when: the first-day Python service, measured with the unsafe fixes, builds
/// both images, and after a source edit the rewrite re-runs only the source COPY and what
/// follows it, while the original installs its packages again.
#[test]
fn the_first_day_service_keeps_its_packages_cached_across_a_source_edit() {
    let (_daemons, runs) = runs(&[DEBIAN]);
    let Some(run) = run_with(&runs, "buildkit") else {
        return;
    };
    let state = run.state();
    let dockerfile = fixture("first-day/Dockerfile");
    let out = run.measure(&[
        dockerfile.to_str().unwrap(),
        "--unsafe",
        "--network",
        "host",
        "--format",
        "json",
        "--smoke",
        "python3 -c 'import app; print(app.greeting())'",
    ]);
    let v = report(&out);
    run.assert_cleaned_up(&state);
    let rules = applied(&v);
    for rule in ["LW203", "LW201"] {
        assert!(rules.iter().any(|r| r == rule), "{rule} in {rules:?}");
    }
    assert_eq!(v["edited_file"], "app.py");
    let rebuilt = |side: &str| -> Vec<String> {
        v[side]["rebuilt"]
            .as_array()
            .unwrap_or_else(|| panic!("{side}.rebuilt: {v:#}"))
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let (before, after) = (rebuilt("before"), rebuilt("after"));
    // the original copies the source first: the edit re-runs its package installs
    for step in ["RUN apt-get update", "RUN apt-get install -y python3-pip"] {
        assert!(before.iter().any(|s| s == step), "{step} in {before:?}");
    }
    // the rewrite: the apt and pip layers come from the cache, the source COPY runs again
    assert!(
        after
            .iter()
            .all(|s| !s.contains("apt-get install") && !s.contains("pip3 install")),
        "{after:?}"
    );
    assert_eq!(
        after.first().map(String::as_str),
        Some("COPY . /app"),
        "{after:?}"
    );
    assert!(after.len() < before.len(), "{after:?} / {before:?}");
    let smoke = &v["smoke"][0];
    assert_eq!(smoke["before"], smoke["after"], "{smoke}");
    assert_eq!(
        smoke["after"]["output"],
        "hello from the first-day service\n"
    );
    assert_eq!(v["start_program"]["after"], "usr/bin/python3.11");
    assert!(
        num(&v, "/after/total_bytes") < num(&v, "/before/total_bytes"),
        "{v:#}"
    );
}

#[test]
fn a_c_program_built_where_it_runs_is_rewritten_into_two_stages_that_build_and_run() {
    let (_daemons, runs) = runs(&[DEBIAN]);
    let Some(run) = run_with(&runs, "classic") else {
        return;
    };
    let v = rewritten_into_two_stages(&run, "c-program", "gcc", &[]);
    assert!(
        explained_rules(&v).iter().all(|r| r == "LW301"),
        "{:#?}",
        v["filesystem"]["explained"]
    );
}

#[test]
fn a_go_program_built_where_it_runs_is_rewritten_into_two_stages_that_build_and_run() {
    let (_daemons, runs) = runs(&[DEBIAN]);
    let Some(run) = run_with(&runs, "buildkit") else {
        return;
    };
    // LW103 does not clean the Go cache in what becomes the build stage: the image leaves it
    // there, and the stage's steps stay the original's
    let v = rewritten_into_two_stages(&run, "go-program", "golang-go", &[]);
    // `go build` filled root's build cache before: the build stage keeps it (LW301's)
    assert!(num(&v, "/before/cache_bytes") > 0);
    assert_eq!(num(&v, "/after/cache_bytes"), 0);
    let cache = v["filesystem"]["explained"]
        .as_array()
        .and_then(|g| {
            g.iter().find(|g| {
                g["sample"][0]
                    .as_str()
                    .is_some_and(|p| p.starts_with("root/.cache/go-build/"))
            })
        })
        .expect("Go's build cache");
    assert_eq!(cache["rule"], "LW301", "{cache}");
    assert!(num(cache, "/files") > 10, "{cache}");
    assert_eq!(num(cache, "/bytes"), num(&v, "/before/cache_bytes"));
}

#[test]
fn a_permission_change_stores_the_files_again_before_and_not_after() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    each_measures_the_same(&runs, |_, run| {
        let dockerfile = fixture("permission-change/Dockerfile");
        let (_, v) = run.measured(&[
            dockerfile.to_str().unwrap(),
            "--unsafe",
            "--format",
            "json",
            "--smoke",
            "stat -c '%n %s %a %u:%g' /opt/app/greet.sh /opt/app/data.bin",
            "--smoke",
            "greet.sh world",
        ]);
        // both changes moved: the script's to the COPY, the data's to the RUN that made it
        assert_eq!(applied(&v), ["LW106", "LW106"], "{}", run.name());
        // the same files with the same modes and owners, one copy each
        assert_proven(run, &v);
        assert!(explained_rules(&v).is_empty());
        assert_eq!(v["filesystem"]["changed"]["files"], 0);
        let stat = &v["smoke"][0];
        assert_eq!(stat["before"], stat["after"]);
        let lines: Vec<&str> = stat["after"]["output"]
            .as_str()
            .unwrap_or("")
            .lines()
            .collect();
        assert!(
            lines.len() == 2
                && lines[0].starts_with("/opt/app/greet.sh ")
                && lines[0].ends_with(" 755 65534:65534")
                && lines[1].starts_with("/opt/app/data.bin ")
                && lines[1].ends_with(" 600 0:0"),
            "{stat}"
        );
        assert_eq!(v["smoke"][1]["after"]["output"], "hello, world\n");
        assert_eq!(v["smoke"][1]["before"], v["smoke"][1]["after"]);

        // before, each change stored its files again: the first copies are hidden by the
        // layers of the chmod (line 8) and the chown (line 10)
        let hidden: Vec<(String, i64, i64, i64)> = v["before"]["hidden_paths"]
            .as_array()
            .expect("hidden paths")
            .iter()
            .map(|h| {
                (
                    h["path"].as_str().unwrap_or("").to_string(),
                    num(h, "/bytes"),
                    num(h, "/line"),
                    num(h, "/hidden_by_line"),
                )
            })
            .collect();
        let data = hidden
            .iter()
            .find(|h| h.0 == "opt/app/data.bin")
            .unwrap_or_else(|| panic!("the data's first copy is hidden: {hidden:?}"));
        let script = hidden
            .iter()
            .find(|h| h.0 == "opt/app/greet.sh")
            .unwrap_or_else(|| panic!("the script's first copy is hidden: {hidden:?}"));
        assert_eq!((data.2, data.3), (6, 8));
        assert_eq!((script.2, script.3), (9, 10));
        // the file made is the dd layer's: all of it was stored again
        let dd = v["before"]["layers"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["line"] == 6))
            .expect("the layer of line 6");
        assert!(data.1 > 0 && data.1 <= num(dd, "/size_bytes"), "{dd}");
        assert_eq!(num(&v, "/before/hidden_bytes"), data.1 + script.1);
        assert_eq!(num(&v, "/after/hidden_bytes"), 0);
        let saved = num(&v, "/saved_bytes");
        assert!(
            saved >= data.1 + script.1,
            "{}: saved {saved}, the copies stored again hold {}",
            run.name(),
            data.1 + script.1
        );
        assert!(num(&v, "/before/layer_count") > num(&v, "/after/layer_count"));
        v
    });
}

/// A small HTTP server on 127.0.0.1 that answers every request with one body, for builds
/// with `--network host` to download from; it stops when dropped.
struct FileServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    fn start(body: Vec<u8>) -> FileServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &body),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        FileServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

fn serve(mut stream: std::net::TcpStream, body: &[u8]) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    // the request's head, up to its blank line
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    let _ = write!(
        stream,
        "HTTP/1.0 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A `.tar.gz` of a tool: `bin/tool` and 1 MiB of data that does not compress.
fn tool_archive() -> Vec<u8> {
    let mut data = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in data.chunks_mut(8) {
        // xorshift: bytes gzip cannot shrink, the same on every run
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let script = b"#!/bin/sh\necho tool 1.0\n";
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut archive = tar::Builder::new(gz);
    for (path, bytes, mode) in [
        ("bin/tool", &script[..], 0o755),
        ("data/blob", &data[..], 0o644),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        archive
            .append_data(&mut header, path, bytes)
            .expect("tar entry");
    }
    archive
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("the archive")
}

#[test]
fn an_archive_unpacked_in_a_later_layer_is_kept_before_and_removed_after() {
    let (_daemons, runs) = runs(&[BUSYBOX]);
    let archive = tool_archive();
    let server = FileServer::start(archive.clone());
    let url = format!("TOOL_URL=http://127.0.0.1:{}/tool.tar.gz", server.port);
    let size = archive.len() as i64;
    each_measures_the_same(&runs, |_, run| {
        let dockerfile = fixture("archive-kept/Dockerfile");
        let (_, v) = run.measured(&[
            dockerfile.to_str().unwrap(),
            "--unsafe",
            "--network",
            "host",
            "--build-arg",
            &url,
            "--format",
            "json",
            "--smoke",
            "sh -c 'sha256sum /opt/tool/data/blob && /opt/tool/bin/tool'",
        ]);
        assert!(
            applied(&v).contains(&"LW107".to_string()),
            "{:?}",
            applied(&v)
        );
        // the tool unpacked the same, and it runs
        let smoke = &v["smoke"][0];
        assert_eq!(smoke["before"], smoke["after"]);
        assert!(
            smoke["after"]["output"]
                .as_str()
                .is_some_and(|o| o.ends_with("/opt/tool/data/blob\ntool 1.0\n")),
            "{smoke}"
        );
        // the archive is the one difference, and LW107's
        assert_proven(run, &v);
        assert_eq!(explained_rules(&v), ["LW107"]);
        let archives = &v["filesystem"]["explained"][0];
        assert_eq!(archives["sample"], serde_json::json!(["tmp/tool.tar.gz"]));
        assert_eq!(num(archives, "/bytes"), size, "the archive served");
        // before, the download's layer (line 6) holds it; the rewrite saves at least that
        let download = v["before"]["layers"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["line"] == 6))
            .expect("the layer of line 6");
        assert!(num(download, "/size_bytes") >= size, "{download}");
        let saved = num(&v, "/saved_bytes");
        assert!(
            saved >= size,
            "{}: saved {saved}, the archive is {size}",
            run.name()
        );
        v
    });
    drop(server);
}

/// measure's page in headless Chromium: its DOM holds a bar per layer of both versions, the
/// bundle's hidden part and the hidden copy's row, and its screenshot is a chart, not a blank.
fn page_in_a_browser(page: &Path, v: &Value) {
    let Some(chromium) = common::browser::chromium() else {
        return;
    };
    let scratch = page.parent().expect("the page's folder");
    let dom = common::browser::browse(&chromium, page, &["--dump-dom"], scratch);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let layers = |side: &str| v[side]["layers"].as_array().map_or(0, |l| l.len());
    assert_eq!(
        dom.matches("<g class=\"layer\">").count(),
        layers("before") + layers("after"),
        "{dom}"
    );
    assert!(dom.contains("class=\"bar kept\""), "{dom}");
    assert_eq!(dom.matches("class=\"bar hidden\"").count(), 1, "{dom}");
    assert!(dom.contains("<code>/opt/app/bundle.tar</code>"), "{dom}");
    let shot = scratch.join("measure.png");
    let out = common::browser::browse(
        &chromium,
        page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,1500",
            "--hide-scrollbars",
        ],
        scratch,
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (kept, hidden, other) = common::browser::colours(&shot);
    assert!(kept > 2000, "the kept parts are drawn: {kept} green pixels");
    assert!(
        hidden > 200,
        "the hidden part is drawn: {hidden} red pixels"
    );
    assert!(
        other > 10_000,
        "text and tables are drawn: {other} dark pixels"
    );
    // kept for a look after the run
    let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/measure-report.png");
    let _ = std::fs::copy(&shot, &keep);
}
