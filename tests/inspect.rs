//! `layerwise inspect`: image archives made here (no daemon needed) and an image built in the
//! test daemon from `fixtures/inspect/waste/`, whose waste is known to the byte: a file deleted
//! by a later layer, a tree duplicated by `chown -R`, an npm cache left behind. Its archive from
//! `docker save` must give the same report as the daemon's image, the gates must exit 1 and 0
//! around their thresholds, and the HTML page must draw its chart in a real browser (Debian's
//! `chromium`, headless): a screenshot that is not blank, a DOM with a bar per layer.
//!
//! The daemon test runs on every daemon of `LAYERWISE_TEST_DAEMONS` (Docker 20.10, whose save
//! is the classic layout, and 26, whose save is the OCI layout), else on `DOCKER_HOST`; each
//! needs `layerwise/busybox:latest` (see tests/measure.rs). Without a daemon or chromium the
//! tests print why and pass, unless `CI` is set.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use common::browser::{browse, chromium, colours};

const BUSYBOX: &str = "layerwise/busybox:latest";

/// The daemon tests build and remove images: one at a time.
static DAEMON: Mutex<()> = Mutex::new(());

/// Runs `layerwise inspect ARGS` in `dir`, bounded so that a hang fails the test.
fn inspect_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_layerwise"));
    command
        .arg("inspect")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        command.env(k, v);
    }
    let child = command.spawn().expect("layerwise runs");
    common::output_within(child, Duration::from_secs(600))
        .unwrap_or_else(|e| panic!("layerwise inspect: {e}"))
}

/// `layerwise inspect ARGS` against the daemon at `host`.
fn inspect_at(host: &str, args: &[&str]) -> Output {
    inspect_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        args,
        &[("DOCKER_HOST", host)],
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON report of a run that must have exited `code`.
fn report(out: &Output, code: i32) -> Value {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(&out.stdout)))
}

fn num(v: &Value, path: &str) -> u64 {
    v.pointer(path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{path} is not a number in {v:#}"))
}

// ---------------------------------------------------------------------------------------------
// Archives made here

/// One entry of a layer: a file with its bytes, or a whiteout deleting a path.
enum Entry<'a> {
    File(&'a str, usize),
    Whiteout(&'a str),
}

fn append(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, path, data)
        .expect("tar entry");
}

fn layer_tar(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        match entry {
            Entry::File(path, size) => append(&mut builder, path, &vec![b'x'; *size]),
            Entry::Whiteout(path) => {
                let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                let marker = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                append(&mut builder, &marker, b"");
            }
        }
    }
    builder.into_inner().expect("tar")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A base layer, then 5,000 bytes and 700 bytes of apt lists, then the 5,000 deleted.
fn layers() -> Vec<Vec<u8>> {
    vec![
        layer_tar(&[Entry::File("bin/sh", 1000)]),
        layer_tar(&[
            Entry::File("opt/big.tar", 5000),
            Entry::File("var/lib/apt/lists/deb.debian.org_InRelease", 700),
        ]),
        layer_tar(&[Entry::Whiteout("opt/big.tar")]),
    ]
}

const CONFIG: &str = r#"{"architecture":"amd64","os":"linux",
  "rootfs":{"type":"layers","diff_ids":["sha256:00","sha256:01","sha256:02"]},
  "history":[
    {"created_by":"/bin/sh -c #(nop) ADD file:base in / "},
    {"created_by":"/bin/sh -c apt-get update && curl -o /opt/big.tar http://example.invalid/big"},
    {"created_by":"/bin/sh -c rm /opt/big.tar"},
    {"created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true}]}"#;

/// `docker save` before Docker 25: a folder per layer and manifest.json.
fn docker_archive() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut names = Vec::new();
    for (i, layer) in layers().iter().enumerate() {
        let name = format!("{i:064}/layer.tar");
        append(&mut builder, &name, layer);
        names.push(format!("\"{name}\""));
    }
    append(&mut builder, "cfg.json", CONFIG.as_bytes());
    let manifest = format!(
        r#"[{{"Config":"cfg.json","RepoTags":["waste:1"],"Layers":[{}]}}]"#,
        names.join(",")
    );
    append(&mut builder, "manifest.json", manifest.as_bytes());
    builder.into_inner().expect("tar")
}

/// The same image as an OCI layout alone with gzip layers (the containerd image store's way).
fn oci_archive() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut descriptors = Vec::new();
    for (i, layer) in layers().iter().enumerate() {
        append(&mut builder, &format!("blobs/sha256/l{i}"), &gzip(layer));
        descriptors.push(format!(
            r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:l{i}"}}"#
        ));
    }
    append(&mut builder, "blobs/sha256/c0", CONFIG.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"config":{{"digest":"sha256:c0"}},"layers":[{}]}}"#,
        descriptors.join(",")
    );
    append(&mut builder, "blobs/sha256/m0", manifest.as_bytes());
    append(
        &mut builder,
        "index.json",
        br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:m0",
            "annotations":{"io.containerd.image.name":"waste:1"}}]}"#,
    );
    builder.into_inner().expect("tar")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// No daemon answers here: an archive must not need one.
const NO_DAEMON: (&str, &str) = ("DOCKER_HOST", "unix:///nonexistent/docker.sock");

#[test]
fn an_archive_needs_no_daemon_and_is_counted_to_the_byte_in_every_layout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let docker = write(dir.path(), "docker.tar", &docker_archive());
    let oci = write(dir.path(), "oci.tar.gz", &gzip(&oci_archive()));
    let run = |path: &Path| {
        report(
            &inspect_in(
                dir.path(),
                &[path.to_str().unwrap(), "--format", "json"],
                &[NO_DAEMON],
            ),
            0,
        )
    };
    let v = run(&docker);
    assert_eq!(v["image"], "waste:1");
    assert_eq!(v["source"], "archive");
    assert_eq!(num(&v, "/total_bytes"), 6700);
    assert_eq!(num(&v, "/layer_count"), 3);
    assert_eq!(num(&v, "/wasted_bytes"), 5000);
    assert_eq!(num(&v, "/cache_bytes"), 700);
    assert_eq!(num(&v, "/caches/apt lists"), 700);
    assert_eq!(v["efficiency"], 0.1493); // 1000 of 6700 bytes neither hidden nor cache
    assert_eq!(v["wasted_percent"], 74.63);
    assert_eq!(num(&v, "/layers/1/wasted_bytes"), 5000);
    assert_eq!(num(&v, "/layers/1/cache_bytes"), 700);
    assert_eq!(num(&v, "/layers/2/hides_bytes"), 5000);
    assert_eq!(num(&v, "/layers/2/files_removed"), 1);
    assert_eq!(v["layers"][2]["created_by"], "/bin/sh -c rm /opt/big.tar");
    assert_eq!(v["largest_files"][0]["path"], "/bin/sh");
    assert_eq!(v["largest_hidden"][0]["path"], "/opt/big.tar");
    assert_eq!(num(&v, "/largest_hidden/0/hidden_by"), 2);
    assert_eq!(v["findings"], Value::Array(vec![]));
    // the OCI layout with gzip layers, the whole archive gzipped: the same report
    assert_eq!(run(&oci), v);

    // a Dockerfile that did not build this image: said, and nothing mapped to it
    let other = write(
        dir.path(),
        "Dockerfile",
        b"FROM debian\nCOPY big.tar /opt/big.tar\nRUN rm /opt/big.tar\n",
    );
    let out = inspect_in(
        dir.path(),
        &[
            docker.to_str().unwrap(),
            "--dockerfile",
            other.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[NO_DAEMON],
    );
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!(
            "warning: layer 2 (`/bin/sh -c rm /opt/big.tar`) is not the instruction at its \
             place in {0}; {0} is not mapped to the layers",
            other.display()
        )
    );
    assert_eq!(report(&out, 0), v);
}

#[test]
fn stdin_takes_an_archive_and_the_table_draws_a_bar_per_layer() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_layerwise"))
        .args(["inspect", "-"])
        .env("NO_COLOR", "1")
        .env("COLUMNS", "80")
        .env(NO_DAEMON.0, NO_DAEMON.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("layerwise runs");
    let archive = docker_archive();
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&archive));
    let out = common::output_within(child, Duration::from_secs(60)).expect("ends");
    writer.join().expect("writer").expect("written");
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        table.starts_with("waste:1 (from an archive): 3 layers, 6.54 KiB stored; 4.88 KiB hidden"),
        "{table}"
    );
    // no terminal: no colour, the parts told apart by their blocks, 80 columns at most
    assert!(!table.contains('\u{1b}'), "{table}");
    let bars: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("bytes per layer"))
        .skip(1)
        .take(3)
        .collect();
    assert!(bars[0].contains('█') && !bars[0].contains('░'), "{bars:?}");
    assert!(bars[1].contains('░') && bars[1].contains('▓'), "{bars:?}");
    assert!(bars.iter().all(|l| l.chars().count() <= 80), "{bars:#?}");
    assert!(
        table.contains("4.88 KiB  /opt/big.tar  in layer 1, hidden by layer 2"),
        "{table}"
    );
}

#[test]
fn gates_exit_1_past_their_threshold_and_0_at_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = write(dir.path(), "image.tar", &docker_archive());
    let path = archive.to_str().unwrap();
    let code = |args: &[&str]| {
        let mut all = vec![path];
        all.extend(args);
        let out = inspect_in(dir.path(), &all, &[NO_DAEMON]);
        (out.status.code(), text(&out.stderr))
    };
    // wasted 5000 bytes, 74.63%; cache 700 bytes; efficiency 0.1493
    for (at, past) in [
        (
            ["--max-wasted-bytes", "5000"],
            ["--max-wasted-bytes", "4999"],
        ),
        (
            ["--max-wasted-bytes", "5KB"],
            ["--max-wasted-bytes", "4.9KB"],
        ),
        (
            ["--max-wasted-percent", "74.63"],
            ["--max-wasted-percent", "74.6%"],
        ),
        (["--min-efficiency", "0.1493"], ["--min-efficiency", "15%"]),
        (["--max-cache-bytes", "700"], ["--max-cache-bytes", "699"]),
    ] {
        assert_eq!(code(&at).0, Some(0), "{at:?}: {}", code(&at).1);
        let (status, stderr) = code(&past);
        assert_eq!(status, Some(1), "{past:?}: {stderr}");
        let gate = past[0].trim_start_matches("--");
        assert!(
            stderr.contains(&format!("gate crossed: {gate}:")),
            "{stderr}"
        );
    }
    let (_, stderr) = code(&["--max-wasted-bytes", "1KiB"]);
    assert!(
        stderr.contains(
            "max-wasted-bytes: 4.88 KiB (5000 bytes) wasted, at most 1.00 KiB (1024 bytes) allowed"
        ),
        "{stderr}"
    );
    // the JSON says which gates passed
    let v = report(
        &inspect_in(
            dir.path(),
            &[
                path,
                "--format",
                "json",
                "--max-cache-bytes",
                "1",
                "--max-wasted-bytes",
                "1MB",
            ],
            &[NO_DAEMON],
        ),
        1,
    );
    assert_eq!(v["gates"][0]["gate"], "max-wasted-bytes");
    assert_eq!(v["gates"][0]["passed"], true);
    assert_eq!(v["gates"][1]["gate"], "max-cache-bytes");
    assert_eq!(v["gates"][1]["passed"], false);
    assert_eq!(v["gates"][1]["value"], 700.0);

    // from .layerwise.yaml, and the command line wins
    std::fs::write(
        dir.path().join(".layerwise.yaml"),
        "inspect:\n  max-cache-bytes: 699\n  min-efficiency: 10%\n",
    )
    .expect("write");
    let (status, stderr) = code(&[]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("gate crossed: max-cache-bytes"), "{stderr}");
    assert!(!stderr.contains("min-efficiency"), "{stderr}");
    assert_eq!(code(&["--max-cache-bytes", "1KB"]).0, Some(0));

    // a bad limit is a usage error, in the config with its line
    assert_eq!(code(&["--max-wasted-bytes", "lots"]).0, Some(2));
    assert_eq!(code(&["--min-efficiency", "90"]).0, Some(2));
    std::fs::write(
        dir.path().join(".layerwise.yaml"),
        "inspect:\n  max-cache-bytes: lots\n",
    )
    .expect("write");
    let (status, stderr) = code(&[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains(".layerwise.yaml:2:"), "{stderr}");
}

#[test]
fn what_is_no_image_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        let out = inspect_in(dir.path(), args, &[NO_DAEMON]);
        (out.status.code(), text(&out.stderr), out.stdout.is_empty())
    };
    write(dir.path(), "Dockerfile", b"FROM busybox\n");
    let (status, stderr, empty) = run(&["Dockerfile"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(
        stderr.contains("Dockerfile: not an image archive"),
        "{stderr}"
    );
    assert!(empty);

    let mut cut = docker_archive();
    cut.truncate(3000);
    write(dir.path(), "cut.tar", &cut);
    let (status, stderr, _) = run(&["cut.tar"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.starts_with("error: cut.tar: "), "{stderr}");

    std::fs::create_dir(dir.path().join("layout")).expect("mkdir");
    let (status, stderr, _) = run(&["layout"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("is a folder"), "{stderr}");

    // no such file and no daemon: both said
    let (status, stderr, _) = run(&["missing.tar"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("missing.tar: no such file"), "{stderr}");
    let (status, stderr, _) = run(&["someimage:latest"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot reach the Docker daemon"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no file someimage:latest exists"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// An image built in the test daemon

const TREE_FILES: usize = 5;
const TREE_FILE_BYTES: usize = 10_000;
const BUNDLE_BYTES: u64 = 300_000;
const NPM_CACHE_BYTES: u64 = 64 * 1024;

/// The fixture copied to a temp folder with its generated files, built and tagged; removed
/// when dropped.
struct Built {
    host: String,
    tag: String,
    context: tempfile::TempDir,
}

impl Built {
    fn new(host: &str, tag: &str) -> Built {
        let context = tempfile::tempdir().expect("temp dir");
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/inspect/waste");
        for entry in walkdir::WalkDir::new(&from) {
            let entry = entry.expect("fixture readable");
            let to = context
                .path()
                .join(entry.path().strip_prefix(&from).expect("inside"));
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).expect("mkdir");
            } else {
                std::fs::copy(entry.path(), &to).expect("copy");
            }
        }
        std::fs::write(
            context.path().join("bundle.bin"),
            vec![3u8; BUNDLE_BYTES as usize],
        )
        .expect("write");
        std::fs::create_dir_all(context.path().join("tree/sub")).expect("mkdir");
        for i in 0..TREE_FILES {
            let name = if i % 2 == 0 {
                format!("tree/f{i}")
            } else {
                format!("tree/sub/f{i}")
            };
            std::fs::write(context.path().join(name), vec![b'a'; TREE_FILE_BYTES]).expect("write");
        }
        let out = Command::new("docker")
            .args(["build", "--network", "host", "-t", tag])
            .arg(context.path())
            .env("DOCKER_BUILDKIT", "0")
            .env("DOCKER_HOST", host)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker runs");
        let out = common::output_within(out, Duration::from_secs(300)).expect("build ends");
        assert!(
            out.status.success(),
            "docker build failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        Built {
            host: host.to_string(),
            tag: tag.to_string(),
            context,
        }
    }

    fn dockerfile(&self) -> PathBuf {
        self.context.path().join("Dockerfile")
    }
}

impl Drop for Built {
    fn drop(&mut self) {
        let _ = common::docker_at(
            Some(&self.host),
            &["rmi", "-f", &self.tag],
            Duration::from_secs(60),
        );
    }
}

/// The layer of the report mapped to `line`.
fn layer_at(v: &Value, line: u64) -> &Value {
    v["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .find(|l| l["line"] == line)
        .unwrap_or_else(|| panic!("no layer at line {line} in {v:#}"))
}

#[test]
fn an_image_with_known_waste_is_measured_to_the_byte_from_the_daemon_and_its_archive() {
    let _lock = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    for (i, host) in common::test_daemons().iter().enumerate() {
        let Some(version) = common::daemon_version(host, &[BUSYBOX]) else {
            continue;
        };
        eprintln!("Docker {version} at {host}");
        let built = Built::new(host, "layerwise-inspect-test:waste");
        let major: u32 = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        known_waste(
            &built,
            if major >= 25 {
                Saved::Oci
            } else {
                Saved::Classic
            },
        );
        if i == 0 {
            html_in_a_browser(&built);
        }
    }
}

/// Docker 26 with the containerd image store (`LAYERWISE_TEST_CONTAINERD_STORE`, started by
/// `scripts/docker-env.sh run` beside the others): images are kept by containerd, and its save
/// is the OCI layout with the layers gzipped as the store holds them. `inspect` reads the same
/// figures from it, and `measure` builds there with BuildKit (whose context goes through a
/// session of layerwise's own: that BuildKit cannot read it as the request's body, see
/// `src/docker/session.rs`), files only BuildKit builds too, and reads its saves.
#[test]
fn the_containerd_image_store_gives_the_same_figures() {
    let _lock = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let host = match std::env::var("LAYERWISE_TEST_CONTAINERD_STORE") {
        Ok(host) if !host.trim().is_empty() => host,
        _ => {
            common::skip(
                "LAYERWISE_TEST_CONTAINERD_STORE names no daemon with the containerd image store \
                 (scripts/docker-env.sh run starts one)",
            );
            return;
        }
    };
    let Some(version) = common::daemon_version(&host, &[BUSYBOX]) else {
        return;
    };
    let driver = common::docker_at(
        Some(&host),
        &["info", "--format", "{{json .DriverStatus}}"],
        Duration::from_secs(20),
    )
    .expect("docker info");
    assert!(
        driver.contains("io.containerd.snapshotter"),
        "the daemon at {host} keeps images in a graph driver, not containerd: {driver}"
    );
    eprintln!("Docker {version} with the containerd image store at {host}");
    let built = Built::new(&host, "layerwise-inspect-test:containerd");
    known_waste(&built, Saved::OciGzip);
    drop(built);

    // measure builds there, with the builder it chose, and reads both versions' saves
    let measure = |fixture: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_layerwise"))
            .args(["measure", "--network", "none", "--format", "json"])
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("fixtures/measure")
                    .join(fixture)
                    .join("Dockerfile"),
            )
            .env("DOCKER_HOST", &host)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("layerwise runs");
        common::output_within(out, Duration::from_secs(600)).expect("measure ends")
    };
    let out = measure("deleted-file");
    let v = report(&out, 0);
    assert_eq!(v["builder"], "buildkit");
    // sizes as a graph driver gives them (there the daemon's are the compressed content's):
    // every layer's files, the 3 MiB bundle the rewrite no longer leaves behind included
    for side in ["before", "after"] {
        assert_eq!(
            num(&v, &format!("/{side}/total_bytes")),
            num(&v, &format!("/{side}/file_bytes")) + num(&v, &format!("/{side}/hidden_bytes")),
            "{side}: {v:#}"
        );
    }
    let bundle = 3072 * 1024;
    assert_eq!(num(&v, "/before/hidden_bytes"), bundle);
    assert_eq!(num(&v, "/after/hidden_bytes"), 0);
    assert_eq!(v["filesystem"]["unexpected"], serde_json::json!([]));
    assert_eq!(v["filesystem"]["only_before"]["files"], 0);

    // heredocs, `RUN --mount` and `COPY --chmod`, and a rebuild after an edit of a context file
    let out = measure("buildkit-syntax");
    let v = report(&out, 0);
    assert_eq!(v["builder"], "buildkit");
    assert_eq!(v["edited_file"], "hello.sh");
    assert_eq!(v["filesystem"]["unexpected"], serde_json::json!([]));
    assert_eq!(
        num(&v, "/before/file_bytes"),
        num(&v, "/after/file_bytes"),
        "{v:#}"
    );
}

/// What a daemon's `docker save` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Saved {
    /// `manifest.json` and a folder per layer (Docker before 25).
    Classic,
    /// The OCI layout (with `manifest.json` beside it), layers as plain tars.
    Oci,
    /// The OCI layout with gzipped layers: the containerd image store's.
    OciGzip,
}

/// The report of the built image, checked to the byte, the same from its `docker save`
/// (in the layout `saved`), and its gates.
fn known_waste(built: &Built, saved: Saved) {
    let host = built.host.as_str();
    let inspect = |args: &[&str]| inspect_at(host, args);
    let dockerfile = built.dockerfile();
    let dockerfile = dockerfile.to_str().unwrap();
    let out = inspect(&[&built.tag, "--dockerfile", dockerfile, "--format", "json"]);
    let v = report(&out, 0);
    assert_eq!(v["image"], built.tag.as_str());
    assert_eq!(v["source"], "daemon");

    let tree_bytes = (TREE_FILES * TREE_FILE_BYTES) as u64;
    // the bundle deleted by the next RUN, the tree rewritten by chown: each hidden copy once
    assert_eq!(num(&v, "/wasted_bytes"), BUNDLE_BYTES + tree_bytes);
    assert_eq!(num(&v, "/cache_bytes"), NPM_CACHE_BYTES);
    assert_eq!(num(&v, "/caches/npm cache"), NPM_CACHE_BYTES);
    let bundle = layer_at(&v, 5);
    assert_eq!(num(bundle, "/size_bytes"), BUNDLE_BYTES);
    assert_eq!(num(bundle, "/wasted_bytes"), BUNDLE_BYTES);
    let rm = layer_at(&v, 6);
    assert_eq!(num(rm, "/hides_bytes"), BUNDLE_BYTES);
    assert_eq!(num(rm, "/files_removed"), 1);
    assert_eq!(num(rm, "/size_bytes"), 0);
    let copy = layer_at(&v, 7);
    assert_eq!(num(copy, "/size_bytes"), tree_bytes);
    assert_eq!(num(copy, "/wasted_bytes"), tree_bytes);
    let chown = layer_at(&v, 8);
    assert_eq!(num(chown, "/size_bytes"), tree_bytes);
    assert_eq!(num(chown, "/hides_bytes"), tree_bytes);
    assert_eq!(num(chown, "/files_changed"), TREE_FILES as u64);
    assert_eq!(num(chown, "/wasted_bytes"), 0);
    let npm = layer_at(&v, 11);
    assert_eq!(num(npm, "/cache_bytes"), NPM_CACHE_BYTES);
    assert_eq!(
        layer_at(&v, 3)["instruction"],
        "FROM layerwise/busybox",
        "base image layers carry the FROM line"
    );
    // the efficiency as the README states it
    let total = num(&v, "/total_bytes");
    let sum: u64 = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(total, sum);
    let efficiency = 1.0 - (BUNDLE_BYTES + tree_bytes + NPM_CACHE_BYTES) as f64 / total as f64;
    let reported = v["efficiency"].as_f64().unwrap();
    assert!(
        (reported - efficiency).abs() < 0.0001,
        "{reported} vs {efficiency}"
    );
    // the findings whose rules explain the waste, with their fixes
    let findings: Vec<(String, u64, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["explains"]["kind"].as_str().unwrap().to_string(),
                f["explains"]["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            ("LW105".into(), 6, "hidden".into(), BUNDLE_BYTES),
            ("LW103".into(), 11, "cache".into(), NPM_CACHE_BYTES),
        ]
    );
    let fix = v["findings"][1]["fix"]["diff"].as_str().unwrap();
    assert!(fix.contains("+    && npm cache clean --force"), "{fix}");
    assert_eq!(v["largest_hidden"][0]["path"], "/opt/bundle.bin");
    assert_eq!(v["largest_hidden"][1]["path"], "/srv/tree");
    assert_eq!(num(&v, "/largest_hidden/1/files"), TREE_FILES as u64);

    // `docker save` to a file, read with no daemon: the same report
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("waste.tar");
    common::docker_at(
        Some(host),
        &["save", "-o", archive.to_str().unwrap(), &built.tag],
        Duration::from_secs(120),
    )
    .expect("docker save");
    // each file's name and whether it is gzipped
    let entries: Vec<(String, bool)> =
        tar::Archive::new(std::fs::File::open(&archive).expect("saved"))
            .entries()
            .expect("a tar")
            .map(|e| {
                let mut e = e.expect("an entry");
                let name = e.path().expect("a path").display().to_string();
                let mut magic = [0u8; 2];
                let gzip = e.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
                (name, gzip)
            })
            .collect();
    assert_eq!(
        entries.iter().any(|(n, _)| n == "index.json"),
        saved != Saved::Classic,
        "the layout of Docker's save: {entries:?}"
    );
    assert_eq!(
        entries.iter().any(|(_, gzip)| *gzip),
        saved == Saved::OciGzip,
        "gzipped layers in Docker's save: {entries:?}"
    );
    let from_archive = report(
        &inspect_in(
            dir.path(),
            &[
                archive.to_str().unwrap(),
                "--dockerfile",
                dockerfile,
                "--format",
                "json",
            ],
            &[NO_DAEMON],
        ),
        0,
    );
    let without_source = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("source");
        v
    };
    assert_eq!(from_archive["source"], "archive");
    assert_eq!(without_source(&from_archive), without_source(&v));

    // the gates on a real image, around its own figures
    let wasted = (BUNDLE_BYTES + tree_bytes).to_string();
    let under = (BUNDLE_BYTES + tree_bytes - 1).to_string();
    assert_eq!(
        inspect(&[&built.tag, "--max-wasted-bytes", &wasted])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        inspect(&[&built.tag, "--max-wasted-bytes", &under])
            .status
            .code(),
        Some(1)
    );
}

/// The page for the built image, opened in headless Chromium: its DOM holds a bar per layer and
/// the hidden and cache parts where the waste is, and its screenshot is a chart, not a blank.
fn html_in_a_browser(built: &Built) {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("report.html");
    // from the build context, so the page names the Dockerfile as its user would
    let out = inspect_in(
        built.context.path(),
        &[
            &built.tag,
            "--dockerfile",
            "Dockerfile",
            "--html",
            page.to_str().unwrap(),
        ],
        &[("DOCKER_HOST", &built.host)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&page).expect("page written");
    // self-contained: nothing fetched from elsewhere
    for outside in ["<link", "src=\"http", "@import", "url(http", "<script src"] {
        assert!(
            !html.contains(outside),
            "the page refers outside: {outside}"
        );
    }

    let dom = browse(&chromium, &page, &["--dump-dom"], dir.path());
    let dom = text(&dom.stdout);
    let layers = dom.matches("<g class=\"layer\">").count();
    let v = report(
        &inspect_at(&built.host, &[&built.tag, "--format", "json"]),
        0,
    );
    assert_eq!(layers, v["layers"].as_array().unwrap().len(), "{dom}");
    assert!(dom.contains("class=\"bar kept\""), "{dom}");
    assert_eq!(dom.matches("class=\"bar hidden\"").count(), 2, "{dom}");
    assert_eq!(dom.matches("class=\"bar cache\"").count(), 1, "{dom}");
    assert!(dom.contains("LW105 deleted-in-later-layer"), "{dom}");

    let shot = dir.path().join("report.png");
    let out = browse(
        &chromium,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,1500",
            "--hide-scrollbars",
        ],
        dir.path(),
    );
    assert!(shot.exists(), "no screenshot: {}", text(&out.stderr));
    let (kept, hidden, other) = colours(&shot);
    assert!(kept > 2000, "the kept parts are drawn: {kept} green pixels");
    assert!(
        hidden > 200,
        "the hidden parts are drawn: {hidden} red pixels"
    );
    assert!(
        other > 10_000,
        "text and tables are drawn: {other} dark pixels"
    );
    // the picture in the README comes from this run
    let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/inspect-report.png");
    let _ = std::fs::copy(&shot, &keep);
    if std::env::var_os("LAYERWISE_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/inspect-report.png");
        std::fs::copy(&shot, &docs).expect("copy the screenshot to docs/");
    }
}
