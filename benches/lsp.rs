//! Change-to-diagnostics latency of `layerwise lsp` over the real protocol: the release binary
//! as a child process, a 500-line Dockerfile open, one keystroke-sized incremental change at a
//! time, timed from writing the `didChange` to reading the `publishDiagnostics` for that
//! version.
//!
//! Run: `cargo bench --bench lsp`. Target: median under 20 ms.

#[path = "../tests/lsp_client/mod.rs"]
mod lsp_client;

use std::time::{Duration, Instant};

use lsp_client::{Client, file_uri};
use serde_json::json;

const LINES: usize = 500;
/// `cargo test --all-targets` runs this in a debug build too: there a few changes check that
/// it works, and the figures mean nothing.
const CHANGES: usize = if cfg!(debug_assertions) { 10 } else { 200 };

/// A 500-line Dockerfile of the usual kinds of instructions, in five stages, with findings of
/// most rules (each carrying a fix) so that conversion and `data` cost what they cost.
fn dockerfile() -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut block = 0;
    while lines.len() < LINES - 3 {
        if block % 10 == 0 {
            lines.push(format!("FROM debian:bookworm-slim AS stage{}", block / 10));
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
    lines.truncate(LINES - 3);
    lines.extend([
        "COPY . .".to_string(),
        "EXPOSE 8080".to_string(),
        "CMD [\"/opt/part0/bin/serve\"]".to_string(),
    ]);
    assert_eq!(lines.len(), LINES);
    lines.join("\n") + "\n"
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_layerwise");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("Dockerfile");
    let text = dockerfile();
    std::fs::write(&path, &text).expect("write");
    std::fs::write(dir.path().join(".dockerignore"), ".git\n").expect("write");
    std::fs::create_dir(dir.path().join("config")).expect("mkdir");
    let uri = file_uri(&path);

    let mut client = Client::spawn(bin, dir.path());
    client.initialize(json!({"general": {"positionEncodings": ["utf-16"]}}));
    let start = Instant::now();
    client.open(&uri, &text);
    let first = client.diagnostics(&uri);
    let open_time = start.elapsed();
    let findings = first["diagnostics"].as_array().map_or(0, Vec::len);

    // Alternately type and delete a character in the middle of the file, as an editor sends.
    let mut times = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        let version = i as i64 + 2;
        let line = 250 + (i % 50);
        let change = if i % 2 == 0 {
            json!({"range": {"start": {"line": line, "character": 4}, "end": {"line": line, "character": 4}}, "text": "x"})
        } else {
            json!({"range": {"start": {"line": line - 1, "character": 4}, "end": {"line": line - 1, "character": 5}}, "text": ""})
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
    if cfg!(debug_assertions) {
        println!("lsp: a debug build: the figures below are not the release's");
    }
    println!(
        "lsp: {LINES}-line Dockerfile, {findings} findings; open to diagnostics {:.2} ms",
        ms(open_time)
    );
    println!(
        "lsp: change to publishDiagnostics over {CHANGES} changes: median {:.2} ms, p90 {:.2} ms, max {:.2} ms (target: median under 20 ms)",
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(pick(1.0))
    );
    let status = client.shutdown();
    assert_eq!(status.code(), Some(0), "clean shutdown");
}
