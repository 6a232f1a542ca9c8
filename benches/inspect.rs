//! How fast and in how much memory layerwise reads a large image, against what the daemon itself
//! takes to stream it:
//!
//! - an image of about 1 GiB made here (three layers: 100,000 small files, a few big ones, files
//!   rewritten and a big one deleted by a later layer, an apt lists folder) and loaded into the
//!   daemon of `DOCKER_HOST`;
//! - `docker save IMAGE > /dev/null` (the daemon's stream, through its CLI), against
//!   `layerwise inspect IMAGE --format json` and `layerwise inspect image.tar --format json`
//!   (the archive the daemon saved, read from a file), each with its peak resident memory;
//! - the reading `measure` does of the same image (`SavedImage`: every file's metadata and a
//!   digest of its content, for the filesystem proof), from the daemon and from the archive;
//! - the same file list at a quarter of the bytes: peak memory must not grow with the bytes.
//!
//! Run under a private daemon (DEVELOPERS.md) kept in memory, so that its copies of the image
//! (the loaded layers, the temporary folders of `docker load` and `docker save`) and the archive
//! need no disk:
//!
//! ```sh
//! TMPDIR=/dev/shm DOCKER_ENV_ENGINES=26 scripts/docker-env.sh run /dev/shm/lw-bench busybox -- \
//!   cargo bench --bench inspect
//! ```
//!
//! Where the archive's folder has less free space than twice the image, the archive half reads
//! the archive this bench wrote instead of the daemon's save. Without a daemon only the archive
//! half runs. The machine's load average is printed first and last.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

#[path = "common/sampling.rs"]
mod sampling;

use sampling::{Sample, load_average};

const MIB: f64 = 1024.0 * 1024.0;
const TAG: &str = "layerwise-bench/inspect";

// ---------------------------------------------------------------------------------------------
// The image

/// One entry of a layer tar.
enum Item {
    Dir(String),
    /// A file of `size` bytes whose content starts at `seed` in the pool.
    File(String, u64, usize),
    /// `.wh.<name>`: deletes the path from the layers below.
    Whiteout(String),
}

/// The image's shape: how many small files (`dirs` × `per_dir` in each of the first two
/// layers) and what share of the full bytes each file gets.
#[derive(Clone, Copy)]
struct Shape {
    dirs: usize,
    per_dir: usize,
    /// Percent of each file's full size (100: about 1 GiB with 600 × 100 files).
    percent: u64,
}

impl Shape {
    fn scaled(&self, bytes: u64) -> u64 {
        bytes * self.percent / 100
    }

    fn small(&self, i: usize) -> u64 {
        self.scaled(1024 + (i as u64 * 7919) % 8192)
    }

    /// The layers, lowest first, and the bytes the later layers hide.
    fn layers(&self) -> (Vec<Vec<Item>>, u64) {
        let mut hidden = 0;
        let mut base = Vec::new();
        let mut originals = Vec::new();
        for d in 0..self.dirs {
            base.push(Item::Dir(format!("base/d{d:04}")));
            for f in 0..self.per_dir {
                let i = d * self.per_dir + f;
                let path = format!("base/d{d:04}/f{f:04}.dat");
                if d < self.dirs / 12 {
                    originals.push((path.clone(), self.small(i)));
                }
                base.push(Item::File(path, self.small(i), i));
            }
        }
        let mut app = vec![Item::Dir("app".into()), Item::Dir("big".into())];
        for d in 0..self.dirs * 2 / 3 {
            app.push(Item::Dir(format!("app/d{d:04}")));
            for f in 0..self.per_dir {
                let i = d * self.per_dir + f + 7;
                app.push(Item::File(
                    format!("app/d{d:04}/f{f:04}.py"),
                    self.small(i),
                    i,
                ));
            }
        }
        // a twelfth of the base rewritten (a chmod -R, say): each original hidden
        for (n, (path, size)) in originals.into_iter().enumerate() {
            hidden += size;
            app.push(Item::File(path, size, n + 13));
        }
        let one = self.scaled(150 << 20);
        app.push(Item::File("big/one.bin".into(), one, 1));
        app.push(Item::File("big/two.bin".into(), self.scaled(150 << 20), 2));
        let mut last = vec![
            Item::Whiteout("big/one.bin".into()),
            Item::Dir("data".into()),
            Item::File("data/model-a.bin".into(), self.scaled(100 << 20), 3),
            Item::File("data/model-b.bin".into(), self.scaled(100 << 20), 4),
            Item::Dir("var/lib/apt/lists".into()),
        ];
        hidden += one;
        for n in 0..50 {
            last.push(Item::File(
                format!("var/lib/apt/lists/deb.debian.org_{n}_Packages"),
                self.scaled(40 << 10),
                n,
            ));
        }
        (vec![base, app, last], hidden)
    }
}

/// Content that no compressor shrinks much, cheap to make: windows of one pseudo-random pool.
struct Pool(Vec<u8>);

impl Pool {
    fn new() -> Pool {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut bytes = Vec::with_capacity(4 << 20);
        while bytes.len() < 4 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        Pool(bytes)
    }

    /// `size` bytes starting at `seed`'s place in the pool, wrapping.
    fn reader(&self, size: u64, seed: usize) -> impl Read + '_ {
        Cycle {
            pool: &self.0,
            at: (seed * 4099) % self.0.len(),
            left: size,
        }
    }
}

struct Cycle<'a> {
    pool: &'a [u8],
    at: usize,
    left: u64,
}

impl Read for Cycle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(self.left as usize)
            .min(self.pool.len() - self.at);
        buf[..n].copy_from_slice(&self.pool[self.at..self.at + n]);
        self.at = (self.at + n) % self.pool.len();
        self.left -= n as u64;
        Ok(n)
    }
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_700_000_000);
    header
}

/// Writes one layer tar; returns its length.
fn write_layer(items: &[Item], pool: &Pool, out: &mut impl Write) -> io::Result<u64> {
    let mut counted = Counting { inner: out, n: 0 };
    let mut builder = tar::Builder::new(&mut counted);
    for item in items {
        match item {
            Item::Dir(path) => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                builder.append_data(&mut h, format!("{path}/"), io::empty())?;
            }
            Item::File(path, size, seed) => {
                let mut h = header(tar::EntryType::Regular, 0o644, *size);
                builder.append_data(&mut h, path, pool.reader(*size, *seed))?;
            }
            Item::Whiteout(path) => {
                let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                let mut h = header(tar::EntryType::Regular, 0o644, 0);
                builder.append_data(&mut h, format!("{dir}/.wh.{name}"), io::empty())?;
            }
        }
    }
    builder.into_inner()?;
    Ok(counted.n)
}

struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct Hashing(Sha256);

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn docker_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// What the generated image holds, for the checks.
struct Made {
    stored: u64,
    hidden: u64,
}

/// Writes the image as `docker save` of Docker before 25 does (a folder per layer, the config,
/// `manifest.json`), streamed: each layer is made twice, once for its digest and length, once
/// into `out`.
fn write_image(shape: Shape, tag: &str, out: impl Write) -> io::Result<Made> {
    let pool = Pool::new();
    let (layers, hidden) = shape.layers();
    let mut sums = Vec::new();
    for items in &layers {
        let mut hashing = Hashing(Sha256::new());
        let len = write_layer(items, &pool, &mut hashing)?;
        sums.push((format!("sha256:{:x}", hashing.0.finalize()), len));
    }
    let history = [
        "/bin/sh -c #(nop) ADD dir:base in / ",
        "/bin/sh -c cp -r /src/app /app && chmod -R g+w /base/d00* && fetch big",
        "/bin/sh -c rm /big/one.bin && fetch models && apt-get update",
    ];
    let config = serde_json::json!({
        "architecture": docker_arch(),
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": sums.iter().map(|(s, _)| s).collect::<Vec<_>>()},
        "history": history.iter().map(|h| serde_json::json!({"created_by": h})).collect::<Vec<_>>(),
    })
    .to_string();
    let config_name = format!("{:x}.json", Sha256::digest(config.as_bytes()));
    let names: Vec<String> = (0..layers.len())
        .map(|i| format!("l{i}/layer.tar"))
        .collect();
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": [tag], "Layers": names}])
        .to_string();

    let mut outer = tar::Builder::new(out);
    for ((items, (_, len)), name) in layers.iter().zip(&sums).zip(&names) {
        let mut h = header(tar::EntryType::Regular, 0o644, *len);
        h.set_path(name)?;
        h.set_cksum();
        outer.get_mut().write_all(h.as_bytes())?;
        let written = write_layer(items, &pool, outer.get_mut())?;
        assert_eq!(written, *len, "a layer made twice differs");
    }
    for (name, bytes) in [
        (&config_name, config.as_bytes()),
        (&"manifest.json".to_string(), manifest.as_bytes()),
    ] {
        let mut h = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        outer.append_data(&mut h, name, bytes)?;
    }
    outer.into_inner()?.flush()?;
    let stored = layers
        .iter()
        .flatten()
        .map(|i| match i {
            Item::File(_, size, _) => *size,
            _ => 0,
        })
        .sum();
    Ok(Made { stored, hidden })
}

// ---------------------------------------------------------------------------------------------
// Measuring

fn succeeded(code: Option<i32>) -> bool {
    code == Some(0)
}

/// Runs a command to its end, stdout to nothing, and reads its peak RSS from `wait4`.
fn sample(cmd: &mut Command) -> Sample {
    sampling::sample(cmd, succeeded)
}

/// The median wall and CPU times and the highest peak over `runs` runs.
fn measure(runs: usize, make: impl FnMut() -> Command) -> Sample {
    sampling::measure(runs, succeeded, make)
}

/// Bytes free for unprivileged writes on the filesystem of `path`.
fn free_bytes(path: &Path) -> u64 {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs is plain data, filled by the call for a NUL-terminated path.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return 0;
    }
    s.f_bavail as u64 * s.f_frsize as u64
}

fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("docker: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Streams the generated image into `docker load`.
fn load(shape: Shape, tag: &str) -> Made {
    let mut child = Command::new("docker")
        .args(["load", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("docker load runs");
    let stdin = child.stdin.take().expect("piped");
    let made = write_image(shape, tag, io::BufWriter::with_capacity(1 << 20, stdin))
        .expect("the image streams into docker load");
    assert!(
        child.wait().expect("docker load ends").success(),
        "docker load failed"
    );
    made
}

/// A child run of this bench that reads an image as `measure` does: `archive:PATH` or
/// `daemon:IMAGE` (with `DOCKER_HOST`).
const READ_AS_MEASURE: &str = "LAYERWISE_BENCH_READ_AS_MEASURE";

fn read_as_measure(what: &str) {
    use layerwise::docker::image::{SavedImage, read_image};
    if let Some(path) = what.strip_prefix("archive:") {
        let file = std::fs::File::open(path).expect("the archive opens");
        let saved = SavedImage::read(io::BufReader::with_capacity(1 << 20, file))
            .expect("the archive reads");
        assert!(!saved.stacked.layers.is_empty());
    } else if let Some(image) = what.strip_prefix("daemon:") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let host = layerwise::docker::connect::docker_host();
            let client = layerwise::docker::connect::connect(&host, Duration::from_secs(600))
                .await
                .expect("the daemon answers");
            let facts = read_image(&client, image).await.expect("the image reads");
            assert!(facts.layer_count > 0);
        });
    }
}

fn as_measure(what: String) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("this bench's path"));
    cmd.env(READ_AS_MEASURE, what);
    cmd
}

fn inspect(image: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_layerwise"));
    cmd.args(["inspect", image, "--format", "json"]);
    cmd
}

/// Checks the report of `image` against what was made: every byte stored and each hidden one.
fn check(image: &str, made: &Made) {
    let out = inspect(image)
        .stderr(Stdio::inherit())
        .output()
        .expect("layerwise runs");
    assert!(out.status.success(), "inspect {image} failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let layers = v["layers"].as_array().expect("layers");
    let ours: u64 = layers[layers.len() - 3..]
        .iter()
        .map(|l| l["size_bytes"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(ours, made.stored, "stored bytes of {image}");
    assert_eq!(
        v["wasted_bytes"].as_u64(),
        Some(made.hidden),
        "hidden bytes of {image}"
    );
}

fn row(name: &str, s: Sample, against: Option<Sample>) {
    let ratio = against.map_or(String::new(), |a| {
        format!("{:.2}x", s.wall.as_secs_f64() / a.wall.as_secs_f64())
    });
    println!(
        "| {name} | {:.2} s | {:.2} s | {ratio} | {:.1} MiB |",
        s.wall.as_secs_f64(),
        s.cpu.as_secs_f64(),
        s.peak_kib as f64 / 1024.0
    );
}

/// The rows for one size of the image; the peaks, for the comparison of sizes.
fn bench_size(shape: Shape, runs: usize, daemon: bool, work: &Path) -> Vec<(String, u64)> {
    let tag = format!("{TAG}:{}", shape.percent);
    let archive = work.join(format!("image-{}.tar", shape.percent));
    let mut peaks = Vec::new();
    let made;
    let mut save = None;
    if daemon {
        made = load(shape, &tag);
        println!(
            "\n{} files, {:.0} MiB stored, {:.0} MiB hidden; in the daemon as {tag}\n",
            layer_files(shape),
            made.stored as f64 / MIB,
            made.hidden as f64 / MIB
        );
        check(&tag, &made);
        println!("| | wall | CPU | / docker save | peak memory |\n|---|---|---|---|---|");
        let s = measure(runs, || {
            let mut cmd = Command::new("docker");
            cmd.args(["save", &tag]);
            cmd
        });
        row("`docker save IMAGE > /dev/null`", s, None);
        save = Some(s);
        let i = measure(runs, || inspect(&tag));
        row("`layerwise inspect IMAGE --format json`", i, save);
        peaks.push(("inspect IMAGE".to_string(), i.peak_kib));
        let m = measure(runs, || as_measure(format!("daemon:{tag}")));
        row("measure's read of IMAGE (a digest of every file)", m, save);
        peaks.push(("measure's read of IMAGE".to_string(), m.peak_kib));
        // the daemon's own archive when the disk holds it beside its temporary copy
        if free_bytes(work) > made.stored * 2 + (512 << 20) {
            let file = std::fs::File::create(&archive).expect("the archive file");
            let status = Command::new("docker")
                .args(["save", &tag])
                .stdout(file)
                .status()
                .expect("docker save runs");
            assert!(status.success(), "docker save failed");
            docker(&["rmi", &tag]).expect("the image is removed");
        } else {
            docker(&["rmi", &tag]).expect("the image is removed");
            println!(
                "(too little disk for the daemon's save beside its image: the archive is this bench's)"
            );
            write_archive(shape, &tag, &archive);
        }
    } else {
        made = write_archive(shape, &tag, &archive);
        println!(
            "\n{} files, {:.0} MiB stored, {:.0} MiB hidden; as an archive (no daemon)\n",
            layer_files(shape),
            made.stored as f64 / MIB,
            made.hidden as f64 / MIB
        );
        println!("| | wall | CPU | / docker save | peak memory |\n|---|---|---|---|---|");
    }
    let path = archive.to_str().expect("a UTF-8 path").to_string();
    check(&path, &made);
    let cat = measure(runs, || {
        let mut cmd = Command::new("cat");
        cmd.arg(&archive);
        cmd
    });
    row("`cat image.tar > /dev/null`", cat, save);
    let a = measure(runs, || inspect(&path));
    row("`layerwise inspect image.tar --format json`", a, save);
    peaks.push(("inspect image.tar".to_string(), a.peak_kib));
    let m = measure(runs, || as_measure(format!("archive:{path}")));
    row("measure's read of image.tar", m, save);
    peaks.push(("measure's read of image.tar".to_string(), m.peak_kib));
    std::fs::remove_file(&archive).expect("the archive is removed");
    peaks
}

fn write_archive(shape: Shape, tag: &str, path: &Path) -> Made {
    let file = std::fs::File::create(path).expect("the archive file");
    write_image(shape, tag, io::BufWriter::with_capacity(1 << 20, file))
        .expect("the archive is written")
}

fn layer_files(shape: Shape) -> usize {
    let (layers, _) = shape.layers();
    layers
        .iter()
        .flatten()
        .filter(|i| matches!(i, Item::File(..)))
        .count()
}

fn main() {
    if let Ok(what) = std::env::var(READ_AS_MEASURE) {
        read_as_measure(&what);
        return;
    }
    let work = tempfile::Builder::new()
        .prefix("layerwise-inspect-bench.")
        .tempdir()
        .expect("a work folder");
    // `cargo test --all-targets` runs this without --bench: check the harness on a small image.
    if !std::env::args().any(|a| a == "--bench") {
        let shape = Shape {
            dirs: 12,
            per_dir: 10,
            percent: 1,
        };
        let archive = work.path().join("small.tar");
        let made = write_archive(shape, TAG, &archive);
        check(archive.to_str().expect("UTF-8"), &made);
        let s = sample(&mut inspect(archive.to_str().expect("UTF-8")));
        println!(
            "inspect bench, test mode: a {} KiB image inspected in {:.1} ms; \
             `cargo bench --bench inspect` measures",
            made.stored >> 10,
            s.wall.as_secs_f64() * 1000.0
        );
        return;
    }
    let daemon = match docker(&["version", "--format", "{{.Server.Version}}"]) {
        Ok(version) => {
            println!(
                "Docker {version} at {}",
                std::env::var("DOCKER_HOST").unwrap_or_default()
            );
            true
        }
        Err(e) => {
            println!("no Docker daemon ({e}): the archive half only");
            false
        }
    };
    println!(
        "layerwise inspect of a large image, median of 3 ({} cores, load average {} at the start)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );
    let full = Shape {
        dirs: 600,
        per_dir: 100,
        percent: 100,
    };
    let quarter = Shape {
        percent: 25,
        ..full
    };
    let small = bench_size(quarter, 3, daemon, work.path());
    let large = bench_size(full, 3, daemon, work.path());
    println!("\npeak memory at a quarter of the bytes and at all of them (same file list):\n");
    println!("| | 25% | 100% | growth |\n|---|---|---|---|");
    for ((name, a), (_, b)) in small.iter().zip(&large) {
        println!(
            "| {name} | {:.1} MiB | {:.1} MiB | {:+.1}% |",
            *a as f64 / 1024.0,
            *b as f64 / 1024.0,
            (*b as f64 / *a as f64 - 1.0) * 100.0
        );
    }
    println!("\nload average at the end: {}", load_average());
}
