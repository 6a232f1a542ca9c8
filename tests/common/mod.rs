//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod big_inputs;
pub mod browser;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

use wait_timeout::ChildExt;

/// Runs the binary in `dir` with colors off, to completion.
pub fn layerwise(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerwise"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("layerwise runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A file of `fixtures/cli/`.
pub fn cli_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/cli")
        .join(name)
}

/// Waits for a child, reading the pipes it was given on threads of their own so that a chatty
/// child cannot block on a full pipe. Past `limit` the child is killed and the error says so.
pub fn output_within(mut child: Child, limit: Duration) -> Result<Output, String> {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = match child.wait_timeout(limit) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {limit:?}, killed"));
        }
        Err(e) => return Err(format!("cannot wait for the child: {e}")),
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

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
    skip(format!(
        "the corpus is missing at {} (set LAYERWISE_CORPUS)",
        dir.display()
    ));
    None
}

/// A check that cannot run here for want of a tool: under `CI`, which provides every tool, that
/// fails the test; elsewhere the reason is printed and the check skipped.
pub fn skip(why: impl std::fmt::Display) {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {why}");
    }
    eprintln!("skipped: {why}");
}

/// Runs the docker CLI (the tests' own view of the daemon, independent of bollard): its
/// stdout, or an error with its stderr.
pub fn docker(args: &[&str], limit: Duration) -> Result<String, String> {
    let host = std::env::var("DOCKER_HOST").ok();
    docker_at(host.as_deref(), args, limit)
}

/// [`docker`] against the daemon at `host` (`None`: the CLI's default).
pub fn docker_at(host: Option<&str>, args: &[&str], limit: Duration) -> Result<String, String> {
    let mut command = Command::new("docker");
    match host {
        Some(host) => command.env("DOCKER_HOST", host),
        None => command.env_remove("DOCKER_HOST"),
    };
    let child = command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run docker: {e}"))?;
    let out = output_within(child, limit).map_err(|e| format!("docker {args:?}: {e}"))?;
    if out.status.success() {
        Ok(stdout(&out))
    } else {
        Err(format!("{}: {}", out.status, stderr(&out).trim()))
    }
}

/// Whether the daemon at `DOCKER_HOST` answers and holds `images`; when not, [`skip`]s.
pub fn docker_ready(images: &[&str]) -> bool {
    let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the default socket".into());
    let limit = Duration::from_secs(20);
    match docker(&["version", "--format", "{{.Server.Version}}"], limit) {
        Ok(version) => eprintln!("Docker daemon {} at {host}", version.trim()),
        Err(e) => {
            skip(format!(
                "no Docker daemon answers at {host} ({e}); start one with \
                 scripts/docker-env.sh start DIR and export DOCKER_HOST"
            ));
            return false;
        }
    }
    for image in images {
        if let Err(e) = docker(&["image", "inspect", image], limit) {
            skip(format!(
                "the daemon has no {image} ({e}); make it with scripts/docker-env.sh images all"
            ));
            return false;
        }
    }
    true
}

/// The daemons the Docker-backed tests run against: `LAYERWISE_TEST_DAEMONS` (space-separated
/// addresses, as `scripts/docker-env.sh run` exports for its Docker 20.10 and 26 daemons), else
/// `DOCKER_HOST` alone, else the default socket.
pub fn test_daemons() -> Vec<String> {
    let listed: Vec<String> = std::env::var("LAYERWISE_TEST_DAEMONS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    vec![
        std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_string()),
    ]
}

/// The daemon at `host`'s version (`20.10.24+dfsg1`) when it answers and holds `images`; when
/// not, [`skip`]s.
pub fn daemon_version(host: &str, images: &[&str]) -> Option<String> {
    let limit = Duration::from_secs(20);
    let version = match docker_at(
        Some(host),
        &["version", "--format", "{{.Server.Version}}"],
        limit,
    ) {
        Ok(version) => version.trim().to_string(),
        Err(e) => {
            skip(format!(
                "no Docker daemon answers at {host} ({e}); start one with \
                 scripts/docker-env.sh start DIR and export DOCKER_HOST"
            ));
            return None;
        }
    };
    for image in images {
        if let Err(e) = docker_at(Some(host), &["image", "inspect", image], limit) {
            skip(format!(
                "the daemon at {host} has no {image} ({e}); make it with \
                 scripts/docker-env.sh images all"
            ));
            return None;
        }
    }
    Some(version)
}
