//! Whole-process samples for the benches (each includes this file by path): wall time, CPU time
//! and peak resident memory of a child, read from `wait4`, and their medians.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One finished run: wall time, CPU time (user and system, all threads) and peak resident
/// memory of the child.
#[derive(Clone, Copy)]
pub struct Sample {
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_kib: u64,
}

/// Runs a command to its end, stdin and stdout to nothing, and reads its times and peak RSS
/// from `wait4`. `ok` judges its exit code (`None`: a signal ended it); a run it refuses
/// fails the bench with the command's stderr.
#[allow(clippy::zombie_processes)] // wait4 reaps the child; std's wait would not give its rusage
pub fn sample(cmd: &mut Command, ok: fn(Option<i32>) -> bool) -> Sample {
    let start = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command runs");
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.expect("piped");
    // Read while it runs, so that a child writing much to stderr never blocks on the pipe.
    let drained = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut status = 0;
    // SAFETY: rusage is plain data, and wait4 fills it for the child we just started.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let stderr = drained.join().unwrap_or_default();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    assert!(ok(code), "{cmd:?} failed ({status}): {stderr}");
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Sample {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_kib: usage.ru_maxrss as u64,
    }
}

/// The median wall and CPU times and the highest peak of `samples`.
pub fn median(mut samples: Vec<Sample>) -> Sample {
    let peak_kib = samples.iter().map(|s| s.peak_kib).max().unwrap_or(0);
    samples.sort_by_key(|s| s.cpu);
    let cpu = samples[samples.len() / 2].cpu;
    samples.sort_by_key(|s| s.wall);
    Sample {
        wall: samples[samples.len() / 2].wall,
        cpu,
        peak_kib,
    }
}

/// The median of `runs` samples of the commands `make` gives.
pub fn measure(
    runs: usize,
    ok: fn(Option<i32>) -> bool,
    mut make: impl FnMut() -> Command,
) -> Sample {
    median((0..runs).map(|_| sample(&mut make(), ok)).collect())
}

/// The machine's load average over 1, 5 and 15 minutes.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_string(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}
