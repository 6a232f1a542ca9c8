//! Every output format writes its report as it goes: on a file of 46,000 findings, what a format
//! holds in memory at once while writing is a small part of what it writes. The formats are
//! taken from the `--format` list itself, so a new one is held to this too. (Their speed, each
//! against JSON's on 200,000 lines, is `cargo bench --bench speed`'s to measure.)

#[path = "common/big_inputs.rs"]
mod big_inputs;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use clap::ValueEnum;
use layerwise::commands::lint::lint_paths;
use layerwise::report::{Format, Report, reporter};

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
