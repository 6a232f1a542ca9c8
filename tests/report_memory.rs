//! Every output format writes its report as it goes: on a file of 46,000 findings, what a format
//! holds in memory at once while writing is a small part of what it writes. The formats are
//! taken from the `--format` list itself, so a new one is held to this too. (Their speed, each
//! against JSON's on 200,000 lines, is `cargo bench --bench speed`'s to measure.)
//!
//! And what linting holds, counted in bytes asked of the allocator (the same on every run): the
//! parsed file, the model, a finding, and the peak while the rules run, each against the
//! input's size.
//! DEVELOPERS.md ("Memory, 200,000 one-line RUNs") says where each figure comes from.

#[path = "common/big_inputs.rs"]
mod big_inputs;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use clap::ValueEnum;
use layerwise::commands::lint::lint_paths;
use layerwise::lint::{LintOptions, lint, lint_findings};
use layerwise::model::{Model, ModelInput};
use layerwise::report::{Format, Report, reporter};
use layerwise::syntax::Dockerfile;

/// The tests of this file count one allocator: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The system allocator, counting the bytes in use and their highest mark.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = IN_USE.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call goes to the system allocator unchanged; only the counts are ours.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            IN_USE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Output that is counted and dropped.
#[derive(Default)]
struct Sink {
    bytes: usize,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_format_streams_its_report() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, big_inputs::dense(1 << 20)).unwrap();
    let results = lint_paths(std::slice::from_ref(&path), Some(&dir.path().to_path_buf()));
    let findings = results[0].diagnostics.len();
    assert!(findings > 40_000, "{findings} findings");
    for &format in Format::value_variants() {
        let report = Report {
            files: &results,
            checked: 1,
            color: false,
        };
        let mut out = Sink::default();
        let before = IN_USE.load(Relaxed);
        PEAK.store(before, Relaxed);
        reporter(format).write(&report, &mut out).unwrap();
        let held = PEAK.load(Relaxed) - before;
        println!(
            "{format:?}: {} KiB written, at most {} KiB held",
            out.bytes >> 10,
            held >> 10
        );
        // A format that built its whole report (or a tree of it) before writing would hold
        // about what it writes; one that streams holds a finding, or a batch of them. Markdown
        // lists what fits in a pull request comment and counts the rest.
        assert!(
            out.bytes > 2 * findings || format == Format::Markdown,
            "{format:?}: {} bytes for {findings} findings",
            out.bytes
        );
        assert!(
            held < out.bytes / 32 + (1 << 20),
            "{format:?} held {held} bytes at once to write {} bytes of {findings} findings",
            out.bytes
        );
    }
}

/// One-line RUNs that each break two rules (LW102 and LW104, both with fixes), numbered so that
/// no two lines are alike: the worst case of `cargo bench --bench speed`, 20,000 lines of it.
fn one_line_runs(lines: usize) -> String {
    let mut text = String::from("FROM debian:bookworm-slim\n");
    for n in 1..lines {
        text.push_str(&format!(
            "RUN echo {n} && apt-get update && apt-get install -y x\n"
        ));
    }
    text
}

/// What the parsed file, the model of a RUN, a finding and the peak of linting may take, from
/// what they took after issue 17's sixth cut (206 bytes a finding: findings kept compact while
/// the rules run, expanded after the model is dropped), the model after every RUN's script was
/// kept encoded (125 bytes), the parsed file and the peak after the tree was made small (1.35x
/// and 10.4x: an instruction of 56 bytes, its node of 24, a line's start of 4), and a tenth
/// more.
const PARSED_X10: usize = 15;
const MODEL_PER_RUN: usize = 138;
const PER_FINDING: usize = 227;
const PEAK_X10: usize = 115;

#[test]
fn linting_holds_a_bounded_multiple_of_the_input() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let text = one_line_runs(20_000);
    let input = text.len();
    let start = IN_USE.load(Relaxed);
    PEAK.store(start, Relaxed);
    let df = Dockerfile::parse(text);
    let parsed = IN_USE.load(Relaxed) - start;
    let before_model = IN_USE.load(Relaxed);
    let input_of_model = ModelInput::default();
    let model = Model::new(&df, &input_of_model);
    let per_run = (IN_USE.load(Relaxed) - before_model) / 19_999;
    drop(model);
    let before_lint = IN_USE.load(Relaxed);
    let found = lint(&df, &LintOptions::default());
    let findings = found.len();
    let kept = IN_USE.load(Relaxed) - before_lint;
    let peak = PEAK.load(Relaxed) - start;
    let per_finding = kept / findings;
    println!(
        "{input} bytes in, {findings} findings: parsed {parsed} bytes ({:.2}x), the model {per_run} \
         bytes a RUN, {per_finding} bytes a finding, a peak of {peak} bytes ({:.1}x)",
        parsed as f64 / input as f64,
        peak as f64 / input as f64
    );
    assert_eq!(
        findings,
        2 * 19_999 + 1,
        "LW102 and LW104 per RUN, one LW101"
    );
    // Measured 8.8x, 1.3 KiB, 668 bytes and 63x before issue 17's first cut (the findings
    // sharing their texts, the model dropped before the sort), 7.4x, 1,017 bytes, 331 bytes and
    // 40.7x before its second (boxed slices for lists, rare fields boxed, the states shared),
    // 879 bytes a RUN and 34.2x before its third (words of 16 bytes, their values in one buffer
    // of the script), 689 bytes and 30.9x before its fourth (a command's words a run of its
    // script's, its spans u32s), 5.85x and 28.0x before its fifth (a line of one piece is the
    // file's text, shared), 263 bytes a finding and 26.0x before its sixth (findings compact
    // while the rules run: the list of expanded ones has no spare room), 20.1x before LW105 and
    // LW106 kept each created path once, not once for each RUN that made it, 527 bytes a RUN and
    // 17.2x before the model kept each RUN's script encoded (the peak is now where the findings
    // are expanded), 3.88x and 12.9x before the tree was made small (an instruction of 160 bytes
    // with its node of 32 and spare room, a line's start of 8); the bounds leave a tenth for
    // noise.
    assert!(
        parsed < input * PARSED_X10 / 10,
        "the parsed file takes {parsed} bytes for {input} bytes of text"
    );
    assert!(
        per_run < MODEL_PER_RUN,
        "the model takes {per_run} bytes a one-line RUN"
    );
    assert!(
        per_finding < PER_FINDING,
        "a finding holds {per_finding} bytes ({kept} for {findings})"
    );
    assert!(
        peak < input * PEAK_X10 / 10,
        "linting {input} bytes peaked at {peak} bytes"
    );
    drop(found);
}

/// What a finding of `layerwise lint` takes once the rules are done: the command keeps them as
/// the rules left them (compact records, texts shared) and each report expands one at a time.
/// Measured 78 bytes a finding (its 48-byte record, its share of the distinct texts and of their
/// table) against `lint()`'s 206 expanded, on the same file; the bound leaves a tenth for noise.
const CLI_PER_FINDING: usize = 86;

#[test]
fn the_command_s_findings_stay_compact() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let text = one_line_runs(20_000);
    let input = text.len();
    let df = Dockerfile::parse(text);
    let before_lint = IN_USE.load(Relaxed);
    let found = lint_findings(&df, &LintOptions::default());
    let findings = found.len();
    let kept = IN_USE.load(Relaxed) - before_lint;
    let per_finding = kept / findings;
    // After the model is dropped: what the findings hold at most while a report walks them.
    let before_walk = IN_USE.load(Relaxed);
    PEAK.store(before_walk, Relaxed);
    let walked = found.iter().filter(|d| d.fix.is_some()).count();
    let walk = PEAK.load(Relaxed) - before_walk;
    println!(
        "{input} bytes in, {findings} findings: {per_finding} bytes a finding ({kept} bytes, \
         {:.2}x the input), {walk} bytes more at most to walk them",
        kept as f64 / input as f64
    );
    assert_eq!(findings, 2 * 19_999 + 1);
    assert_eq!(walked, findings, "every finding here has a fix");
    assert!(
        per_finding < CLI_PER_FINDING,
        "a finding of the command holds {per_finding} bytes ({kept} for {findings})"
    );
    assert!(
        walk < 4096,
        "walking the findings held {walk} bytes at once"
    );
    let expanded = found.into_vec();
    assert_eq!(expanded, lint(&df, &LintOptions::default()));
}
