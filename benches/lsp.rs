//! Change-to-diagnostics latency of `layerwise lsp` over the real protocol: the release binary
//! as a child process, a Dockerfile open, one keystroke-sized incremental change at a time,
//! timed from writing the `didChange` to reading the `publishDiagnostics` for that version
//! (the client's reading of the message included, as an editor's is).
//!
//! Three files: a 500-line one of the usual instructions (120 findings), a 500-line one of
//! one-line installs that each break two rules (1,000 findings, each with a fix), and a typical
//! 50-line one.
//!
//! Run: `cargo bench --bench lsp`. Targets: median under 20 ms for the 500-line files, under
//! 5 ms for the 50-line one.

#[path = "../tests/lsp_client/mod.rs"]
mod lsp_client;

use std::time::{Duration, Instant};

use lsp_client::{Client, file_uri};
use serde_json::json;

/// `cargo test --all-targets` runs this in a debug build too: there a few changes check that
/// it works, and the figures mean nothing.
const CHANGES: usize = if cfg!(debug_assertions) { 10 } else { 200 };

/// `lines` lines of the usual kinds of instructions, in stages of ten blocks, with findings of
/// most rules (each carrying a fix) so that conversion and `data` cost what they cost.
fn mixed(lines_wanted: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut block = 0;
    while lines.len() < lines_wanted - 3 {
        if block % 10 == 0 {
            // Each stage builds on the one before, so every stage's layers ship in the final
            // image and the rules look at all of them (a builder stage's are never reported).
            lines.push(match block / 10 {
                0 => "FROM debian:bookworm-slim AS stage0".to_string(),
                n => format!("FROM stage{} AS stage{n}", n - 1),
            });
            lines.push("WORKDIR /app".to_string());
        }
        lines.extend([
            format!("# step {block}: fetch and build part {block}"),
            format!("RUN apt-get update && apt-get install -y curl libpart{block}-dev \\"),
            format!(
                "    && curl -fsSL https://example.com/part{block}.tgz -o /tmp/part{block}.tgz \\"
            ),
            format!("    && tar -xzf /tmp/part{block}.tgz -C /opt"),
            format!("ENV PART{block}_HOME=/opt/part{block} PATH=/opt/part{block}/bin:$PATH"),
            format!("COPY config/part{block}.conf /etc/part{block}.conf"),
            format!("RUN pip install part{block}-tools==1.{block}.0"),
            format!("RUN echo \"part {block} ✓\" > /opt/part{block}/VERSION"),
            format!("RUN rm -rf /tmp/part{block}.tgz"),
        ]);
        block += 1;
    }
    lines.truncate(lines_wanted - 3);
    lines.extend([
        "COPY . .".to_string(),
        "EXPOSE 8080".to_string(),
        "CMD [\"/opt/part0/bin/serve\"]".to_string(),
    ]);
    assert_eq!(lines.len(), lines_wanted);
    lines.join("\n") + "\n"
}

/// 500 lines of one-line installs, each keeping the apt lists it fetched and installing
/// recommends: a finding of each per line, about 1,000 in all, each with a fix.
fn dense() -> String {
    let mut text = String::from("FROM debian:bookworm-slim\n");
    for n in 1..500 {
        text.push_str(&format!(
            "RUN apt-get update && apt-get install -y pkg{n}\n"
        ));
    }
    text
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Opens `text` as a Dockerfile and times `CHANGES` changes around its middle.
fn measure(bin: &str, name: &str, text: &str, target_ms: f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, text).expect("write");
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").expect("write");
    std::fs::create_dir(dir.path().join("config")).expect("mkdir");
    let uri = file_uri(&path);
    let lines = text.lines().count();

    let mut client = Client::spawn(bin, dir.path());
    client.initialize(json!({"general": {"positionEncodings": ["utf-16"]}}));
    let start = Instant::now();
    client.open(&uri, text);
    let first = client.diagnostics(&uri);
    let open_time = start.elapsed();
    let findings = first["diagnostics"].as_array().map_or(0, Vec::len);

    // Alternately type and delete a character in the middle of the file, as an editor sends.
    let (middle, spread) = (lines / 2, (lines / 10).max(1));
    let mut times = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        let version = i as i64 + 2;
        let line = middle + (i / 2) % spread;
        let change = if i % 2 == 0 {
            json!({"range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 4}}, "text": "x"})
        } else {
            json!({"range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 5}}, "text": ""})
        };
        let start = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}),
        );
        let published = client.diagnostics(&uri);
        times.push(start.elapsed());
        assert_eq!(
            published["version"], version,
            "diagnostics for each version"
        );
    }
    times.sort();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "lsp: {name} ({lines} lines, {findings} findings): open to diagnostics {:.2} ms; \
         change to publishDiagnostics over {CHANGES} changes: median {:.2} ms, p90 {:.2} ms, \
         max {:.2} ms (target: median under {target_ms} ms)",
        ms(open_time),
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(pick(1.0))
    );
    let status = client.shutdown();
    assert_eq!(status.code(), Some(0), "clean shutdown");
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_layerwise");
    if cfg!(debug_assertions) {
        println!("lsp: a debug build: the figures below are not the release's");
    }
    measure(bin, "usual instructions", &mixed(500), 20.0);
    measure(bin, "one-line installs", &dense(), 20.0);
    measure(bin, "a typical file", &mixed(50), 5.0);
}
