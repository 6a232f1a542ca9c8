//! `layerwise measure` through the other ways users reach a daemon: Podman's Docker API
//! (`podman system service`) and `DOCKER_HOST=ssh://…` (the system ssh running `docker system
//! dial-stdio` on the other side). Both measure the `deps-order` fixture, whose rewrite moves
//! the dependency install before the source copy, with the daemon's default builder, and must
//! count the steps each build ran and took from the cache.
//!
//! `scripts/remote-env.sh run DIR -- CMD`, under `scripts/docker-env.sh run`, starts both and
//! exports `LAYERWISE_TEST_PODMAN`, `LAYERWISE_TEST_SSH` and `LAYERWISE_TEST_SSH_BIN`:
//!
//! ```sh
//! scripts/docker-env.sh run /tmp/lw-d busybox -- \
//!   scripts/remote-env.sh run /tmp/lw-r -- cargo test --release --test remote_daemons
//! ```
//!
//! Unset: skipped with a reason, or a failure under `CI`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/measure")
        .join(name)
}

fn var(name: &str) -> Option<String> {
    let value = std::env::var(name).ok().filter(|v| !v.is_empty());
    if value.is_none() {
        common::skip(format!(
            "{name} is not set (run under scripts/remote-env.sh run DIR -- …, itself under \
             scripts/docker-env.sh run)"
        ));
    }
    value
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `layerwise measure` of the deps-order fixture, as JSON, with `env` set; bounded.
fn measure(env: &[(&str, &str)]) -> (Value, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_layerwise"));
    command
        .arg("measure")
        .arg(fixture("deps-order/Dockerfile"))
        .args(["--unsafe", "--network", "none", "--format", "json"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().expect("layerwise runs");
    let out: Output =
        common::output_within(child, Duration::from_secs(600)).expect("measure ends in time");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON: {e}\n{}\n{stderr}", text(&out.stdout)));
    (v, stderr)
}

/// The `N steps (M from cache)` of the progress line that ends the build labelled `label`.
fn steps(stderr: &str, label: &str) -> (i64, i64) {
    let prefix = format!("{label}: built in ");
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line:\n{stderr}"));
    let numbers: Vec<i64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    // built in S.T s by the … builder, N steps (M from cache)
    let [.., steps, cached] = numbers[..] else {
        panic!("{line}")
    };
    (steps, cached)
}

fn num(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v:#}"))
}

/// What holds on any daemon: the edit is to the source, both images are proven the same files,
/// each build's steps are the fixture's instructions, and the steps a rebuild re-ran are those
/// it did not take from the cache (all but FROM).
fn assert_real_steps(v: &Value, stderr: &str) {
    assert_eq!(v["edited_file"], "src/index.sh", "{stderr}");
    assert!(v["rebuild_not_measured"].is_null(), "{v:#}");
    assert_eq!(v["filesystem"]["unexpected"], Value::Array(vec![]), "{v:#}");
    assert_eq!(v["config_changes"], Value::Array(vec![]), "{v:#}");
    // six instructions before, seven after (the manifests copied apart), counted by the
    // classic builder's steps, CMD included
    assert_eq!(steps(stderr, "before"), (6, 0), "{stderr}");
    assert_eq!(steps(stderr, "after"), (7, 0), "{stderr}");
    for (label, key, total) in [
        ("before (rebuild)", "/before/rebuilt_steps", 6),
        ("after (rebuild)", "/after/rebuilt_steps", 7),
    ] {
        let (steps, cached) = steps(stderr, label);
        assert_eq!(steps, total, "{label}: {stderr}");
        // COPY tools/npm and WORKDIR come from the cache at least
        assert!(cached >= 2, "{label}: {stderr}");
        assert_eq!(num(v, key), steps - cached - 1, "{label}: {stderr}");
    }
    // before the rewrite the edit re-runs COPY . ., the install and CMD
    assert_eq!(num(v, "/before/rebuilt_steps"), 3, "{stderr}");
}

#[test]
fn measure_counts_podmans_steps() {
    let Some(host) = var("LAYERWISE_TEST_PODMAN") else {
        return;
    };
    let (v, stderr) = measure(&[("DOCKER_HOST", &host)]);
    assert!(
        stderr.contains(&format!("on the daemon at {host}")),
        "{stderr}"
    );
    // Podman's /_ping names no BuildKit: its own builder, read as the classic one
    assert_eq!(v["builder"], "classic");
    assert!(stderr.contains("before: STEP 4/6: COPY . ."), "{stderr}");
    assert_real_steps(&v, &stderr);
    // Podman keeps one chain of identical layers: the two cold builds made two chains of
    // `COPY tools/npm` and `WORKDIR`, and the rewrite's rebuild may continue the original's,
    // where its own manifest copy is not cached. So only a bound holds for the rewrite.
    assert!(num(&v, "/after/rebuilt_steps") <= 4, "{stderr}");
}

#[test]
fn measure_builds_through_ssh() {
    let (Some(host), Some(bin)) = (var("LAYERWISE_TEST_SSH"), var("LAYERWISE_TEST_SSH_BIN")) else {
        return;
    };
    // ssh's client config comes through the `ssh` of LAYERWISE_TEST_SSH_BIN; a HOME of its own
    // keeps the control sockets of bollard's ssh sessions out of the user's.
    let home = tempfile::tempdir().unwrap();
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    let (v, stderr) = measure(&[
        ("DOCKER_HOST", &host),
        ("PATH", &path),
        ("HOME", home.path().to_str().unwrap()),
    ]);
    assert!(
        stderr.contains(&format!("on the daemon at {host}")),
        "{stderr}"
    );
    assert_eq!(
        v["builder"], "classic",
        "the daemon behind ssh is expected to be Docker 20.10, scripts/docker-env.sh run's first"
    );
    assert!(stderr.contains("before: Step 4/6 : COPY . ."), "{stderr}");
    assert_real_steps(&v, &stderr);
    // after the rewrite the edit re-runs COPY . . and CMD only
    assert_eq!(num(&v, "/after/rebuilt_steps"), 2, "{stderr}");

    // An address that names no host the config knows is a clear error, not a hang.
    let out = Command::new(env!("CARGO_BIN_EXE_layerwise"))
        .arg("measure")
        .arg(fixture("deps-order/Dockerfile"))
        .env("DOCKER_HOST", "ssh://nobody@layerwise-no-such-host.invalid")
        .env("PATH", &path)
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("layerwise runs");
    let out = common::output_within(out, Duration::from_secs(120)).expect("ends in time");
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("layerwise-no-such-host.invalid"),
        "{stderr}"
    );
}
