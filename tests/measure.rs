//! `layerwise measure` against a real Docker daemon: the fixtures under `fixtures/measure/`
//! carry known waste, and the measured savings must show it. Every test also checks that the
//! daemon holds the same images and containers after the run as before it.
//!
//! Needs a daemon at `DOCKER_HOST` with `layerwise/busybox:latest` (and `debian:bookworm-slim`
//! plus network access for the apt case): `eval "$(scripts/docker-env.sh start /tmp/lw-m)"; \
//! scripts/docker-env.sh images all`. Without one these tests print why and pass, unless `CI`
//! is set: then they fail. The tests that need no daemon (an unreachable one) always run.

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

/// The tests compare the daemon's images before and after: one at a time.
static DAEMON: Mutex<()> = Mutex::new(());

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/measure")
        .join(name)
}

/// The daemon, locked for this test, when it answers and has `images`; `None` after printing
/// why (a failure under `CI`).
fn daemon(images: &[&str]) -> Option<MutexGuard<'static, ()>> {
    let guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let missing = |why: String| {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but {why}");
        }
        eprintln!("skipped: {why}");
        None
    };
    let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the default socket".into());
    if let Err(e) = docker(&["version", "--format", "{{.Server.Version}}"]) {
        return missing(format!(
            "no Docker daemon answers at {host} ({e}); start one with \
             scripts/docker-env.sh start DIR and export DOCKER_HOST"
        ));
    }
    for image in images {
        if docker(&["image", "inspect", image]).is_err() {
            return missing(format!(
                "the daemon has no {image}; make it with scripts/docker-env.sh images all"
            ));
        }
    }
    Some(guard)
}

/// Runs the docker CLI (the tests' own view of the daemon, independent of bollard).
fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Every image (intermediates included) and every container.
fn daemon_state() -> (BTreeSet<String>, BTreeSet<String>) {
    let lines = |args: &[&str]| -> BTreeSet<String> {
        docker(args)
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

fn assert_cleaned_up(before: &(BTreeSet<String>, BTreeSet<String>)) {
    let after = daemon_state();
    let new_images: Vec<_> = after.0.difference(&before.0).collect();
    let gone_images: Vec<_> = before.0.difference(&after.0).collect();
    let new_containers: Vec<_> = after.1.difference(&before.1).collect();
    assert!(
        new_images.is_empty() && gone_images.is_empty() && new_containers.is_empty(),
        "the run left images {new_images:?}, removed images {gone_images:?}, left containers \
         {new_containers:?}"
    );
}

fn layerwise() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_layerwise"));
    command.stdin(Stdio::null());
    command
}

/// Runs `layerwise measure ARGS`, bounded so a hang fails the test instead of blocking it.
fn measure(args: &[&str]) -> Output {
    let child = layerwise()
        .arg("measure")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("layerwise runs");
    wait_bounded(child, Duration::from_secs(600))
}

fn wait_bounded(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    let mut stdout = child.stdout.take().expect("stdout piped");
    let mut stderr = child.stderr.take().expect("stderr piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for layerwise") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("layerwise measure ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
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
    let Some(_daemon) = daemon(&[BUSYBOX]) else {
        return;
    };
    let state = daemon_state();
    let dockerfile = fixture("deleted-file/Dockerfile");
    let out = measure(&[dockerfile.to_str().unwrap(), "--format", "json"]);
    let v = report(&out);
    assert_cleaned_up(&state);

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
    // only the Dockerfile is in the context: no source file to edit
    assert!(v["edited_file"].is_null());
    assert!(v["before"]["rebuilt_steps"].is_null());
}

#[test]
fn a_source_edit_reruns_fewer_steps_once_manifests_come_first() {
    let Some(_daemon) = daemon(&[BUSYBOX]) else {
        return;
    };
    let state = daemon_state();
    let dockerfile = fixture("deps-order/Dockerfile");
    let out = measure(&[dockerfile.to_str().unwrap(), "--unsafe", "--format", "json"]);
    let v = report(&out);
    assert_cleaned_up(&state);

    assert!(
        applied(&v).contains(&"LW201".to_string()),
        "{:?}",
        applied(&v)
    );
    assert_eq!(v["edited_file"], "src/index.sh");
    // before: COPY . ., RUN npm install and CMD re-run; after: COPY . . and CMD
    assert_eq!(num(&v, "/before/rebuilt_steps"), 3);
    assert_eq!(num(&v, "/after/rebuilt_steps"), 2);
    assert!(v["before"]["rebuild_seconds"].is_f64());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("before (rebuild): Step"),
        "plain progress lines when stderr is no terminal:\n{stderr}"
    );
}

#[test]
fn a_folder_the_proposed_dockerignore_excludes_leaves_the_image() {
    let Some(_daemon) = daemon(&[BUSYBOX]) else {
        return;
    };
    let context = copy_fixture("ignored-folder");
    const BIG: usize = 2 * 1024 * 1024;
    std::fs::write(
        context.path().join("node_modules/left-pad/prebuilt.bin"),
        vec![7u8; BIG],
    )
    .expect("write");
    let state = daemon_state();
    let dockerfile = context.path().join("Dockerfile");
    let out = measure(&[dockerfile.to_str().unwrap(), "--unsafe", "--format", "json"]);
    let v = report(&out);
    assert_cleaned_up(&state);

    assert!(
        applied(&v).contains(&"LW401".to_string()),
        "{:?}",
        applied(&v)
    );
    assert!(
        num(&v, "/saved_bytes") >= BIG as i64,
        "saved {} bytes",
        num(&v, "/saved_bytes")
    );
    // measure writes nothing into the context
    assert!(!context.path().join(".dockerignore").exists());
    assert_eq!(v["edited_file"], "src/main.sh");
}

#[test]
fn apt_lists_left_in_the_image_are_cache_bytes_before_and_none_after() {
    let Some(_daemon) = daemon(&[DEBIAN]) else {
        return;
    };
    let state = daemon_state();
    let dockerfile = fixture("apt/Dockerfile");
    let out = measure(&[
        dockerfile.to_str().unwrap(),
        "--network",
        "host",
        "--format",
        "json",
    ]);
    let v = report(&out);
    assert_cleaned_up(&state);

    let rules = applied(&v);
    assert!(rules.contains(&"LW102".to_string()), "{rules:?}");
    let lists = num(&v, "/before/caches/apt lists");
    assert!(lists > 1_000_000, "apt lists of {lists} bytes");
    assert_eq!(num(&v, "/before/cache_bytes"), lists);
    assert_eq!(num(&v, "/after/cache_bytes"), 0);
    assert!(num(&v, "/saved_bytes") >= lists);
}

#[test]
fn a_rewrite_that_breaks_a_working_build_is_a_fix_defect() {
    let Some(_daemon) = daemon(&[BUSYBOX]) else {
        return;
    };
    let state = daemon_state();
    let dockerfile = fixture("fix-defect/Dockerfile");
    let out = measure(&[dockerfile.to_str().unwrap(), "--unsafe"]);
    assert_cleaned_up(&state);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("fix defect"), "{stderr}");
    assert!(stderr.contains("fixes applied: LW401"), "{stderr}");
    assert!(
        stderr.contains("RUN test -f node_modules/left-pad/index.js"),
        "{stderr}"
    );
    // the rewrite is shown: the proposed .dockerignore
    assert!(stderr.contains("+node_modules"), "{stderr}");
    assert!(out.stdout.is_empty(), "no comparison is claimed");
}

#[test]
fn an_original_that_does_not_build_shows_its_step_and_compares_nothing() {
    let Some(_daemon) = daemon(&[BUSYBOX]) else {
        return;
    };
    let dir = write_dockerfile(
        "FROM layerwise/busybox\nRUN echo made > /made\nRUN echo broken-step-output && exit 7\n",
    );
    let state = daemon_state();
    let out = measure(&[dir.path().join("Dockerfile").to_str().unwrap()]);
    assert_cleaned_up(&state);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the original does not build"), "{stderr}");
    assert!(stderr.contains("returned a non-zero code: 7"), "{stderr}");
    assert!(stderr.contains("| broken-step-output"), "{stderr}");
    assert!(stderr.contains("no comparison made"), "{stderr}");
    assert!(out.stdout.is_empty());
}

const ENDLESS: &str = "FROM layerwise/busybox\nRUN echo made > /made\nRUN sleep 600\n";

#[test]
fn a_build_past_the_timeout_is_stopped_and_cleaned_up() {
    let Some(_daemon) = daemon(&[BUSYBOX]) else {
        return;
    };
    let dir = write_dockerfile(ENDLESS);
    let state = daemon_state();
    let started = Instant::now();
    let out = measure(&[
        dir.path().join("Dockerfile").to_str().unwrap(),
        "--timeout",
        "3",
    ]);
    let took = started.elapsed();
    assert_cleaned_up(&state);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ran past --timeout (3 s)"), "{stderr}");
    assert!(stderr.contains("in step `RUN sleep 600`"), "{stderr}");
    // far from the 600 s the step would take; not a speed check, a check that it stopped
    assert!(took < Duration::from_secs(120), "took {took:?}");
}

#[test]
fn ctrl_c_stops_the_build_and_still_cleans_up() {
    let Some(_daemon) = daemon(&[BUSYBOX]) else {
        return;
    };
    let dir = write_dockerfile(ENDLESS);
    let state = daemon_state();
    let mut child = layerwise()
        .arg("measure")
        .arg(dir.path().join("Dockerfile"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    assert_cleaned_up(&state);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("removed the 1 image "), "{stderr}");
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
                            if seen.contains(cut_at) {
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
    let Some(_daemon) = daemon(&[BUSYBOX]) else {
        return;
    };
    let host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let Some(upstream) = host.strip_prefix("unix://").map(PathBuf::from) else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but DOCKER_HOST ({host}) is not a unix socket");
        }
        eprintln!("skipped: the proxy needs DOCKER_HOST=unix://… (got {host:?})");
        return;
    };
    let proxy = CuttingProxy::start(upstream, "RUN sleep 600");
    let dir = write_dockerfile(ENDLESS);
    let state = daemon_state();
    let child = layerwise()
        .arg("measure")
        .arg(dir.path().join("Dockerfile"))
        .env("DOCKER_HOST", format!("unix://{}", proxy.socket.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    assert!(stderr.contains("removed the 1 image "), "{stderr}");
    // the daemon cancels the build when its client goes; give it a moment to remove its
    // container before looking
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon_state().1 != state.1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_cleaned_up(&state);
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
