//! One build through the classic builder: the context tar goes up, the daemon's output streams
//! back (`Step N/M : …`, ` ---> Using cache`, ` ---> <id>`), and every image and container
//! it names is recorded as it streams by, so that whatever stops the build, what it made can
//! be removed.
//!
//! Why the classic builder: BuildKit through the Engine API needs a gRPC session beside the
//! request (bollard's `buildkit` feature: tonic, a TLS stack, a session protocol), Podman's
//! socket does not serve it, and the classic builder's output names every intermediate image,
//! which is what a clean-up needs. Layer sizes and caches do not depend on the builder.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

/// The ids a run made, recorded while builds stream; [`super::cleanup`] removes them.
#[derive(Clone, Debug, Default)]
pub struct Made {
    /// Image ids (short or full) in the order they appeared.
    pub images: Vec<String>,
    pub containers: Vec<String>,
}

pub type Tracker = Arc<Mutex<Made>>;

fn record(tracker: &Tracker, f: impl FnOnce(&mut Made)) {
    // a poisoned lock still holds the ids: keep recording
    let mut made = tracker.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut made);
}

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildRequest<'a> {
    /// Shown in the progress: `before`, `after (rebuild)`.
    pub label: &'a str,
    pub tar: Vec<u8>,
    /// The Dockerfile's name in the tar.
    pub dockerfile: &'a str,
    /// Build without the cache (a cold build).
    pub no_cache: bool,
    pub network: &'a str,
    pub target: Option<&'a str>,
    pub build_args: &'a HashMap<String, String>,
    pub tag: Option<&'a str>,
    /// The most the build may take.
    pub timeout: Duration,
}

/// One `Step N/M` of the output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The instruction as the builder echoes it: `RUN apk add curl`.
    pub instruction: String,
    pub cached: bool,
    /// What the step printed (its RUN output, or the builder's notes).
    pub output: Vec<String>,
}

impl Step {
    pub fn is_from(&self) -> bool {
        self.instruction
            .get(..5)
            .is_some_and(|k| k.eq_ignore_ascii_case("FROM "))
    }
}

#[derive(Clone, Debug)]
pub struct Built {
    pub image: String,
    pub seconds: f64,
    pub steps: Vec<Step>,
}

impl Built {
    /// Steps that ran rather than came from the cache (FROM neither runs nor caches).
    pub fn rebuilt_steps(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| !s.is_from() && !s.cached)
            .count()
    }
}

/// Why a build gave no image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The build ran and failed (a step's error, a bad Dockerfile, a missing base image).
    Failed(String),
    /// It ran past its time and was stopped.
    TimedOut(Duration),
    /// The daemon stopped answering mid-build.
    Lost(String),
}

#[derive(Clone, Debug)]
pub struct BuildError {
    pub failure: Failure,
    /// The step that was running, with its output so far.
    pub step: Option<Step>,
    pub steps: Vec<Step>,
}

/// Runs the build, showing progress on stderr, and records what it makes in `tracker`.
pub async fn build(
    client: &Docker,
    request: BuildRequest<'_>,
    tracker: &Tracker,
) -> Result<Built, BuildError> {
    let mut options = BuildImageOptionsBuilder::default()
        .dockerfile(request.dockerfile)
        .nocache(request.no_cache)
        .rm(true)
        .forcerm(true)
        .networkmode(request.network)
        .buildargs(request.build_args)
        .version(BuilderVersion::BuilderV1);
    if let Some(target) = request.target {
        options = options.target(target);
    }
    if let Some(tag) = request.tag {
        options = options.t(tag);
    }
    let progress = Progress::new(request.label);
    let started = Instant::now();
    let mut output = Output::default();
    let body = bollard::body_full(request.tar.into());
    let mut stream = client.build_image(options.build(), None, Some(body));
    let deadline = tokio::time::sleep(request.timeout);
    tokio::pin!(deadline);
    let ended = loop {
        let item = tokio::select! {
            item = stream.next() => item,
            () = &mut deadline => break Err(Failure::TimedOut(request.timeout)),
        };
        match item {
            None => break Ok(()),
            Some(Ok(info)) => {
                if let Some(id) = info.aux.and_then(|a| a.id) {
                    record(tracker, |m| m.images.push(id.clone()));
                    output.image = Some(id);
                }
                if let Some(text) = info.stream {
                    output.push(&text, tracker, &progress);
                }
            }
            Some(Err(bollard::errors::Error::DockerStreamError { error })) => {
                break Err(Failure::Failed(error));
            }
            Some(Err(bollard::errors::Error::DockerResponseServerError { message, .. })) => {
                break Err(Failure::Failed(message));
            }
            Some(Err(e)) => break Err(Failure::Lost(super::reason(&e))),
        }
    };
    output.flush(tracker, &progress);
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    let fail = |failure: Failure, output: Output| BuildError {
        failure,
        step: output.steps.last().cloned(),
        steps: output.steps,
    };
    match (ended, output.image.clone()) {
        (Err(failure), _) => Err(fail(failure, output)),
        (Ok(()), None) => Err(fail(
            Failure::Lost("the build stream ended without naming an image".into()),
            output,
        )),
        (Ok(()), Some(image)) => {
            let cached = output.steps.iter().filter(|s| s.cached).count();
            eprintln!(
                "{}: built in {seconds:.1} s, {} steps ({cached} from cache)",
                request.label,
                output.steps.len()
            );
            Ok(Built {
                image,
                seconds,
                steps: output.steps,
            })
        }
    }
}

/// The stream's text, split into steps.
#[derive(Default)]
struct Output {
    partial: String,
    steps: Vec<Step>,
    image: Option<String>,
}

impl Output {
    fn push(&mut self, text: &str, tracker: &Tracker, progress: &Progress) {
        self.partial.push_str(text);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.line(line.trim_end_matches(['\n', '\r']), tracker, progress);
        }
    }

    fn flush(&mut self, tracker: &Tracker, progress: &Progress) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, tracker, progress);
        }
    }

    fn line(&mut self, line: &str, tracker: &Tracker, progress: &Progress) {
        if let Some(rest) = line.strip_prefix("Step ")
            && let Some((counter, instruction)) = rest.split_once(" : ")
            && counter.contains('/')
        {
            progress.step(line);
            self.steps.push(Step {
                instruction: instruction.to_string(),
                ..Step::default()
            });
            return;
        }
        if let Some(arrow) = line.strip_prefix(" ---> ") {
            let arrow = arrow.trim();
            if arrow == "Using cache" {
                if let Some(step) = self.steps.last_mut() {
                    step.cached = true;
                }
                return;
            }
            if let Some(id) = arrow.strip_prefix("Running in ") {
                let id = id.trim().to_string();
                record(tracker, |m| m.containers.push(id));
                return;
            }
            if is_hex_id(arrow) {
                let id = arrow.to_string();
                record(tracker, |m| m.images.push(id));
                return;
            }
        }
        if let Some(id) = line.strip_prefix("Successfully built ") {
            let id = id.trim().to_string();
            record(tracker, |m| m.images.push(id.clone()));
            self.image.get_or_insert(id);
            return;
        }
        if line.starts_with("Removing intermediate container ")
            || line.starts_with("Successfully tagged ")
        {
            return;
        }
        if let Some(step) = self.steps.last_mut() {
            step.output.push(line.to_string());
        }
    }
}

fn is_hex_id(text: &str) -> bool {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    hex.len() >= 12 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// A spinner on a terminal; plain lines otherwise (logs, CI).
struct Progress {
    label: String,
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(label: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            label: label.to_string(),
            bar,
        }
    }

    fn step(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(line.split_whitespace().collect::<Vec<_>>().join(" ")),
            None => eprintln!("{}: {line}", self.label),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Output, Made) {
        let tracker = Tracker::default();
        let progress = Progress {
            label: "test".into(),
            bar: None,
        };
        let mut output = Output::default();
        // fed in uneven pieces, as a stream may cut it
        for piece in text.as_bytes().chunks(7) {
            output.push(std::str::from_utf8(piece).unwrap(), &tracker, &progress);
        }
        output.flush(&tracker, &progress);
        let made = tracker.lock().unwrap().clone();
        (output, made)
    }

    const CLASSIC: &str = "Step 1/4 : FROM layerwise/busybox\n ---> bdc12559211b\n\
        Step 2/4 : RUN echo hi > /a\n ---> Using cache\n ---> 0c5d1e2f3a4b\n\
        Step 3/4 : COPY . /src\n ---> 9e8d7c6b5a41\n\
        Step 4/4 : RUN cat /a\n ---> Running in 3f2e1d0c9b8a\nhi\n\
        Removing intermediate container 3f2e1d0c9b8a\n ---> 77aa88bb99cc\n\
        Successfully built 77aa88bb99cc\nSuccessfully tagged x:latest\n";

    #[test]
    fn steps_cache_hits_and_ids_come_from_the_output() {
        let (output, made) = parse(CLASSIC);
        let summary: Vec<(&str, bool)> = output
            .steps
            .iter()
            .map(|s| (s.instruction.as_str(), s.cached))
            .collect();
        assert_eq!(
            summary,
            [
                ("FROM layerwise/busybox", false),
                ("RUN echo hi > /a", true),
                ("COPY . /src", false),
                ("RUN cat /a", false),
            ]
        );
        assert_eq!(output.steps[3].output, ["hi"]);
        assert_eq!(output.image.as_deref(), Some("77aa88bb99cc"));
        assert_eq!(
            made.images,
            [
                "bdc12559211b",
                "0c5d1e2f3a4b",
                "9e8d7c6b5a41",
                "77aa88bb99cc",
                "77aa88bb99cc"
            ]
        );
        assert_eq!(made.containers, ["3f2e1d0c9b8a"]);
        let built = Built {
            image: "77aa88bb99cc".into(),
            seconds: 0.0,
            steps: output.steps,
        };
        assert_eq!(built.rebuilt_steps(), 2);
    }

    #[test]
    fn output_that_is_no_step_is_kept_with_the_step_and_ids_need_hex() {
        let (output, made) = parse(
            "Step 1/2 : FROM x\n ---> not an id\nSending\nStep 2/2 : RUN false\n ---> Running in abc\noops",
        );
        assert_eq!(output.steps[0].output, [" ---> not an id", "Sending"]);
        assert_eq!(output.steps[1].output, ["oops"]);
        assert!(made.images.is_empty());
        assert_eq!(made.containers, ["abc"]);
    }
}
