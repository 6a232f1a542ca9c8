//! One build, through the classic builder or BuildKit: the context tar goes up (streamed from
//! disk), the daemon's output streams back, and every image and container it names is
//! recorded as it streams by, so that whatever stops the build, what it made can be removed.
//!
//! The classic builder talks in text (`Step N/M : …`, ` ---> Using cache`, ` ---> <id>`,
//! the RUN output), naming every intermediate image and container. BuildKit talks in status
//! messages (bollard's `buildkit` feature: a gRPC session runs beside the request): vertexes
//! named `[stage 2/4] RUN …` with a cached flag, an error, and the logs of each; it names only
//! the final image, and keeps its cache in the daemon's build cache rather than in images.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::moby::buildkit::v1::StatusResponse;
use bollard::models::BuildInfoAux;
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::context::Context;

/// Which of the daemon's builders runs a build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    Classic,
    #[serde(rename = "buildkit")]
    BuildKit,
}

impl Builder {
    pub fn name(self) -> &'static str {
        match self {
            Builder::Classic => "the classic builder",
            Builder::BuildKit => "BuildKit",
        }
    }
}

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
    pub context: &'a Context,
    pub builder: Builder,
    /// Build without the cache (a cold build).
    pub no_cache: bool,
    pub network: &'a str,
    pub target: Option<&'a str>,
    pub build_args: &'a HashMap<String, String>,
    pub tag: Option<&'a str>,
    /// The most the build may take.
    pub timeout: Duration,
    /// BuildKit only: send the context through a session of layerwise's own opened on the
    /// daemon at this address, not as the request's body ([`super::session`]: the containerd
    /// image store's BuildKit cannot read a body).
    pub session_host: Option<&'a str>,
}

/// One step of the build: a classic `Step N/M`, or a BuildKit vertex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The instruction as the builder echoes it: `RUN apk add curl`; for a BuildKit vertex
    /// that is no instruction, its name (`[internal] load metadata for …`).
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

    /// The instructions of those steps.
    pub fn rebuilt(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| !s.is_from() && !s.cached)
            .map(|s| s.instruction.clone())
            .collect()
    }
}

/// An image's size as `docker images` gives it, and each history step's, oldest first: what
/// two builds of one version must agree on.
pub async fn image_sizes(client: &Docker, id: &str) -> Result<(u64, Vec<u64>), super::DockerError> {
    let inspect = client
        .inspect_image(id)
        .await
        .map_err(super::DockerError::api(format!("inspecting image {id}")))?;
    let history = client
        .image_history(id)
        .await
        .map_err(super::DockerError::api(format!(
            "reading the history of image {id}"
        )))?;
    Ok((
        inspect.size.unwrap_or(0).max(0) as u64,
        history.iter().rev().map(|h| h.size.max(0) as u64).collect(),
    ))
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
    /// The step that failed or was running, with its output so far.
    pub step: Option<Step>,
    pub steps: Vec<Step>,
}

/// The most opening a session of our own may take (an upgrade of one request).
const SESSION_OPENS_WITHIN: Duration = Duration::from_secs(60);

/// A BuildKit session id no other build of this process or another uses.
fn session_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "layerwise-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs the build, showing progress on stderr, and records what it makes in `tracker`.
pub async fn build(
    client: &Docker,
    request: BuildRequest<'_>,
    tracker: &Tracker,
) -> Result<Built, BuildError> {
    let mut options = BuildImageOptionsBuilder::default()
        .dockerfile(&request.context.dockerfile)
        .nocache(request.no_cache)
        .rm(true)
        .forcerm(true)
        .networkmode(request.network)
        .buildargs(request.build_args);
    let session_id = session_id();
    options = match request.builder {
        Builder::Classic => options.version(BuilderVersion::BuilderV1),
        Builder::BuildKit => options
            .version(BuilderVersion::BuilderBuildKit)
            .session(&session_id),
    };
    // the context through our own session, when the daemon cannot read a body
    let session = match request.session_host {
        Some(host) if request.builder == Builder::BuildKit => {
            let opening = super::session::open(host, &session_id, request.context);
            let opened = tokio::time::timeout(SESSION_OPENS_WITHIN, opening)
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "the daemon did not open a BuildKit session within {} s",
                        SESSION_OPENS_WITHIN.as_secs()
                    ))
                });
            match opened {
                Ok(session) => Some(session),
                Err(why) => return Err(Output::default().into_error(Failure::Lost(why))),
            }
        }
        _ => None,
    };
    if let Some(session) = &session {
        options = options.remote(&session.url);
    }
    if let Some(target) = request.target {
        options = options.target(target);
    }
    if let Some(tag) = request.tag {
        options = options.t(tag);
    }
    let progress = Progress::new(request.label);
    let started = Instant::now();
    let mut output = Output::default();
    let (body, context_failure) = match &session {
        // the daemon pulls the context from the session: the request has no body
        Some(session) => (
            futures_util::stream::empty().boxed(),
            session.failure.clone(),
        ),
        None => {
            let (body, failure) = request.context.body();
            (body.boxed(), failure)
        }
    };
    let body = bollard::body_try_stream(body);
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
                match info.aux {
                    Some(BuildInfoAux::Default(image)) => {
                        if let Some(id) = image.id {
                            record(tracker, |m| m.images.push(id.clone()));
                            output.image = Some(id);
                        }
                    }
                    Some(BuildInfoAux::BuildKit(status)) => {
                        output.buildkit(status, &progress);
                    }
                    None => {}
                }
                if let Some(text) = info.stream {
                    output.push(&text, tracker, &progress);
                }
            }
            Some(Err(bollard::errors::Error::DockerStreamError { error })) => {
                break Err(Failure::Failed(super::clean_text(&error)));
            }
            Some(Err(bollard::errors::Error::DockerResponseServerError { message, .. })) => {
                break Err(Failure::Failed(super::clean_text(&message)));
            }
            Some(Err(e)) if ended_between_messages(&e) => break Ok(()),
            Some(Err(e)) => break Err(Failure::Lost(super::reason(&e))),
        }
    };
    output.flush(tracker, &progress);
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    // a context file that could not be read cuts the tar: say that, not the daemon's EOF
    let ended = match (ended, context_failure.get()) {
        (Err(Failure::Failed(_) | Failure::Lost(_)), Some(why)) => {
            Err(Failure::Failed(format!("sending the context: {why}")))
        }
        (ended, _) => ended,
    };
    match (ended, output.image.clone()) {
        (Err(failure), _) => Err(output.into_error(failure)),
        (Ok(()), None) => Err(output.into_error(Failure::Lost(
            "the build stream ended without naming an image".into(),
        ))),
        (Ok(()), Some(image)) => {
            let steps = output.into_steps();
            let cached = steps.iter().filter(|s| s.cached).count();
            eprintln!(
                "{}: built in {seconds:.1} s by {}, {} steps ({cached} from cache)",
                request.label,
                request.builder.name(),
                steps.len()
            );
            Ok(Built {
                image,
                seconds,
                steps,
            })
        }
    }
}

/// Whether the build's stream failed only at its end, after the daemon's last message.
///
/// bollard 0.21's line decoder can read a message whose `}` came in one read and its `\r\n`
/// in the next; it keeps the `\r` of that terminator, and when the answer ends there it says
/// "bytes remaining on stream" although every message arrived (bollard issue 560, fixed in
/// its repository by pull request 733, in no release yet). A daemon that stops mid-message
/// makes the same error; then the image id, the build's last word, is missing and the build
/// is reported as lost all the same.
fn ended_between_messages(error: &bollard::errors::Error) -> bool {
    match error {
        bollard::errors::Error::IOError { err } => {
            err.kind() == std::io::ErrorKind::Other
                && err.to_string() == "bytes remaining on stream"
        }
        _ => false,
    }
}

/// The most lines of output kept per step: the end is what explains a failure.
const KEPT_LINES: usize = 1000;

/// Keeps a line of a step's output, as a terminal without colours would show it.
fn keep_line(lines: &mut Vec<String>, line: String) {
    if lines.len() == KEPT_LINES {
        lines.remove(0);
    }
    lines.push(super::clean_text(&line));
}

/// One BuildKit vertex as its status messages tell it.
#[derive(Clone, Debug, Default)]
struct Vertex {
    name: String,
    cached: bool,
    started: bool,
    completed: bool,
    error: String,
    lines: Vec<String>,
    partial: String,
    shown: bool,
}

impl Vertex {
    /// The instruction of a Dockerfile step (`[stage 2/4] RUN …` → `RUN …`); `None` for the
    /// builder's own vertexes (`[internal] …`, `exporting to image`, `resolve image config …`).
    fn instruction(&self) -> Option<&str> {
        let rest = self.name.strip_prefix('[')?;
        let (tag, instruction) = rest.split_once("] ")?;
        let counter = tag.rsplit(' ').next()?;
        let (n, m) = counter.split_once('/')?;
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (numeric(n) && numeric(m)).then_some(instruction)
    }

    fn step(&self) -> Step {
        let mut output = self.lines.clone();
        if !self.partial.is_empty() {
            output.push(self.partial.clone());
        }
        Step {
            instruction: self.instruction().unwrap_or(&self.name).to_string(),
            cached: self.cached,
            output,
        }
    }
}

/// The stream, split into steps: classic text lines, or BuildKit vertexes.
#[derive(Default)]
struct Output {
    partial: String,
    steps: Vec<Step>,
    vertexes: Vec<Vertex>,
    by_digest: HashMap<String, usize>,
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
        // Docker's classic builder says `Step 2/5 : RUN …`, Podman's (Buildah) `STEP 2/5: RUN …`
        let step = line
            .strip_prefix("Step ")
            .and_then(|rest| rest.split_once(" : "))
            .or_else(|| {
                line.strip_prefix("STEP ")
                    .and_then(|rest| rest.split_once(": "))
            });
        if let Some((counter, instruction)) = step
            && counter.contains('/')
            && counter.chars().all(|c| c.is_ascii_digit() || c == '/')
        {
            progress.step(line);
            self.steps.push(Step {
                instruction: instruction.to_string(),
                ..Step::default()
            });
            return;
        }
        if let Some(arrow) = line
            .strip_prefix(" ---> ")
            .or_else(|| line.strip_prefix("--> "))
        {
            let arrow = arrow.trim();
            // Podman names the image it takes from the cache: one that was there before
            if arrow == "Using cache" || arrow.starts_with("Using cache ") {
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
            || line.starts_with("COMMIT ")
        {
            return;
        }
        if let Some(step) = self.steps.last_mut() {
            keep_line(&mut step.output, line.to_string());
        }
    }

    fn vertex(&mut self, digest: &str) -> &mut Vertex {
        let at = match self.by_digest.get(digest) {
            Some(&at) => at,
            None => {
                self.vertexes.push(Vertex::default());
                self.by_digest
                    .insert(digest.to_string(), self.vertexes.len() - 1);
                self.vertexes.len() - 1
            }
        };
        &mut self.vertexes[at]
    }

    /// One BuildKit status message: vertexes that started, ended, came from the cache or
    /// failed, and the logs of each.
    fn buildkit(&mut self, status: StatusResponse, progress: &Progress) {
        for v in status.vertexes {
            let vertex = self.vertex(&v.digest);
            if !v.name.is_empty() {
                vertex.name = v.name;
            }
            vertex.cached |= v.cached;
            vertex.started |= v.started.is_some();
            vertex.completed |= v.completed.is_some();
            if !v.error.is_empty() {
                vertex.error = v.error;
            }
            if !vertex.shown && vertex.started && vertex.instruction().is_some() {
                vertex.shown = true;
                let line = if vertex.cached {
                    format!("{} (cached)", vertex.name)
                } else {
                    vertex.name.clone()
                };
                progress.step(&line);
            }
        }
        for log in status.logs {
            let vertex = self.vertex(&log.vertex);
            vertex.partial.push_str(&String::from_utf8_lossy(&log.msg));
            while let Some(end) = vertex.partial.find('\n') {
                let line: String = vertex.partial.drain(..=end).collect();
                // a progress bar redraws its line after \r: keep what it ended as
                keep_line(&mut vertex.lines, line.trim_end_matches('\n').to_string());
            }
        }
    }

    /// The steps, in the order they appeared: the classic builder's, or BuildKit's vertexes of
    /// Dockerfile instructions.
    fn into_steps(self) -> Vec<Step> {
        if self.vertexes.is_empty() {
            return self.steps;
        }
        self.vertexes
            .iter()
            .filter(|v| v.instruction().is_some())
            .map(Vertex::step)
            .collect()
    }

    fn into_error(self, failure: Failure) -> BuildError {
        if self.vertexes.is_empty() {
            return BuildError {
                failure,
                step: self.steps.last().cloned(),
                steps: self.steps,
            };
        }
        // the vertex that failed; else the one still running; else the last step
        let failed = self
            .vertexes
            .iter()
            .rev()
            .find(|v| !v.error.is_empty())
            .or_else(|| {
                self.vertexes
                    .iter()
                    .rev()
                    .find(|v| v.started && !v.completed && v.instruction().is_some())
            })
            .or_else(|| {
                self.vertexes
                    .iter()
                    .rev()
                    .find(|v| v.instruction().is_some())
            })
            .map(Vertex::step);
        BuildError {
            failure,
            step: failed,
            steps: self.into_steps(),
        }
    }
}

fn is_hex_id(text: &str) -> bool {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    // Docker shortens ids to 12 digits, Podman to 11
    hex.len() >= 11 && hex.chars().all(|c| c.is_ascii_hexdigit())
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

    /// Podman 4.3's build output through its Docker API (lines as `podman system service`
    /// streamed them), for a rebuild after an edit of `f`.
    const PODMAN: &str = "STEP 1/5: FROM layerwise/busybox\n\
        STEP 2/5: RUN echo hi > /a\n\
        --> Using cache 56a90ca47a476920591fb0748c37fec9fbebac1dfbaaad6448bf1c61b3cec1e1\n\
        --> 56a90ca47a4\n\
        STEP 3/5: COPY f /f\n--> 5e096aa3cde\n\
        STEP 4/5: RUN cat /a\nhi\n--> 2e405a7ca7f\n\
        STEP 5/5: CMD [\"sh\"]\nCOMMIT docker.io/library/lwtest\n--> ecd40b7a29c\n\
        Successfully tagged docker.io/library/lwtest:latest\n\
        ecd40b7a29c814ce3190fefffb1422ceb5fdb9843de957fd4177097b73fd56f7\n\
        Successfully built ecd40b7a29c8\nSuccessfully tagged lwtest\n";

    #[test]
    fn podman_steps_and_cache_hits_count_as_the_classic_builders_do() {
        let (output, made) = parse(PODMAN);
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
                ("COPY f /f", false),
                ("RUN cat /a", false),
                ("CMD [\"sh\"]", false),
            ]
        );
        assert_eq!(output.steps[3].output, ["hi"]);
        assert_eq!(output.image.as_deref(), Some("ecd40b7a29c8"));
        assert_eq!(
            made.images,
            [
                "56a90ca47a4",
                "5e096aa3cde",
                "2e405a7ca7f",
                "ecd40b7a29c",
                "ecd40b7a29c8"
            ]
        );
        let built = Built {
            image: "ecd40b7a29c8".into(),
            seconds: 0.0,
            steps: output.steps,
        };
        assert_eq!(built.rebuilt_steps(), 3);
    }

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

    use bollard::moby::buildkit::v1::{Vertex as V, VertexLog};
    use bollard_buildkit_proto::google::protobuf::Timestamp;

    fn vertex(digest: &str, name: &str, cached: bool, done: bool, error: &str) -> V {
        V {
            digest: digest.into(),
            name: name.into(),
            cached,
            started: Some(Timestamp::default()),
            completed: done.then(Timestamp::default),
            error: error.into(),
            ..V::default()
        }
    }

    fn log(digest: &str, text: &str) -> VertexLog {
        VertexLog {
            vertex: digest.into(),
            msg: text.as_bytes().to_vec(),
            ..VertexLog::default()
        }
    }

    fn quiet() -> Progress {
        Progress {
            label: "test".into(),
            bar: None,
        }
    }

    #[test]
    fn buildkit_vertexes_of_instructions_are_the_steps() {
        let mut output = Output::default();
        let progress = quiet();
        output.buildkit(
            StatusResponse {
                vertexes: vec![
                    vertex(
                        "a",
                        "[internal] load build definition from Dockerfile",
                        false,
                        true,
                        "",
                    ),
                    vertex(
                        "b",
                        "[1/3] FROM docker.io/layerwise/busybox:latest",
                        false,
                        true,
                        "",
                    ),
                    vertex("c", "[build 2/3] RUN echo hi", true, true, ""),
                ],
                ..StatusResponse::default()
            },
            &progress,
        );
        // a later message updates a vertex by digest; logs come in pieces, with \r redraws
        output.buildkit(
            StatusResponse {
                vertexes: vec![vertex("d", "[build 3/3] COPY . /src", false, false, "")],
                logs: vec![
                    log("d", "copying 10%\rcopying 100%\nall co"),
                    log("d", "pied\n"),
                ],
                ..StatusResponse::default()
            },
            &progress,
        );
        output.buildkit(
            StatusResponse {
                vertexes: vec![vertex("d", "", false, true, "")],
                ..StatusResponse::default()
            },
            &progress,
        );
        let steps = output.into_steps();
        let summary: Vec<(&str, bool)> = steps
            .iter()
            .map(|s| (s.instruction.as_str(), s.cached))
            .collect();
        assert_eq!(
            summary,
            [
                ("FROM docker.io/layerwise/busybox:latest", false),
                ("RUN echo hi", true),
                ("COPY . /src", false),
            ]
        );
        assert_eq!(steps[2].output, ["copying 100%", "all copied"]);
        let built = Built {
            image: "x".into(),
            seconds: 0.0,
            steps,
        };
        assert_eq!(built.rebuilt_steps(), 1);
    }

    #[test]
    fn a_buildkit_failure_names_the_vertex_that_failed_or_was_running() {
        let progress = quiet();
        let mut output = Output::default();
        output.buildkit(
            StatusResponse {
                vertexes: vec![
                    vertex("r", "[2/3] RUN exit 7", false, true, "exit code: 7"),
                    vertex("x", "exporting to image", false, false, ""),
                ],
                logs: vec![log("r", "last words")],
                ..StatusResponse::default()
            },
            &progress,
        );
        let error = output.into_error(Failure::Failed("exit code: 7".into()));
        let step = error.step.expect("the failed step");
        assert_eq!(step.instruction, "RUN exit 7");
        assert_eq!(step.output, ["last words"]);

        let mut output = Output::default();
        output.buildkit(
            StatusResponse {
                vertexes: vec![
                    vertex("a", "[2/3] RUN true", false, true, ""),
                    vertex("b", "[3/3] RUN sleep 600", false, false, ""),
                ],
                ..StatusResponse::default()
            },
            &progress,
        );
        let error = output.into_error(Failure::TimedOut(Duration::from_secs(3)));
        assert_eq!(error.step.expect("running").instruction, "RUN sleep 600");

        // a vertex of the builder's own (a frontend image that cannot be pulled) is named too
        let mut output = Output::default();
        output.buildkit(
            StatusResponse {
                vertexes: vec![vertex(
                    "f",
                    "resolve image config for docker.io/docker/dockerfile:1",
                    false,
                    true,
                    "failed to resolve",
                )],
                ..StatusResponse::default()
            },
            &progress,
        );
        let error = output.into_error(Failure::Failed("failed to resolve".into()));
        assert_eq!(
            error.step.expect("the vertex").instruction,
            "resolve image config for docker.io/docker/dockerfile:1"
        );
    }

    /// A daemon on a socket that reads one request whole and answers it with `chunks`, each
    /// sent as its own HTTP chunk after a pause (so that the client reads them apart), then
    /// ends the answer.
    fn daemon_answering(chunks: &'static [&'static str]) -> (tempfile::TempDir, Docker) {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 8192];
            // the body is the context, streamed in chunks: read to its last chunk
            while !request.ends_with(b"0\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Transfer-Encoding: chunked\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            for chunk in chunks {
                let _ = write!(stream, "{:x}\r\n{chunk}\r\n", chunk.len());
                let _ = stream.flush();
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        });
        let client = Docker::connect_with_unix(
            socket.to_str().expect("a UTF-8 path"),
            30,
            bollard::API_DEFAULT_VERSION,
        )
        .expect("a client");
        (dir, client)
    }

    fn build_against(chunks: &'static [&'static str]) -> Result<Built, BuildError> {
        let (_dir, client) = daemon_answering(chunks);
        let context = Context::empty();
        let args = HashMap::new();
        let request = BuildRequest {
            label: "test",
            context: &context,
            builder: Builder::Classic,
            no_cache: false,
            network: "none",
            target: None,
            build_args: &args,
            tag: None,
            timeout: Duration::from_secs(30),
            session_host: None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(build(&client, request, &Tracker::default()))
    }

    const ID: &str = "sha256:77aa88bb99cc77aa88bb99cc77aa88bb99cc77aa88bb99cc77aa88bb99cc77aa";

    #[test]
    fn a_terminator_read_apart_from_the_last_message_ends_the_build_well() {
        // Docker ends each message with "\r\n"; here the last one's comes in a read of its own
        let built = build_against(&[
            "{\"stream\":\"Step 1/1 : FROM scratch\\n\"}\r\n",
            "{\"aux\":{\"ID\":\"sha256:77aa88bb99cc77aa88bb99cc77aa88bb99cc77aa88bb99cc77aa88bb99cc77aa\"}}",
            "\r\n",
        ])
        .expect("the build ended well");
        assert_eq!(built.image, ID);
        assert_eq!(built.steps.len(), 1);
    }

    #[test]
    fn an_answer_cut_in_a_message_before_the_image_is_a_lost_build() {
        let error = build_against(&[
            "{\"stream\":\"Step 1/1 : FROM scratch\\n\"}\r\n",
            "{\"aux\":{\"ID\":\"sha256:77aa",
        ])
        .expect_err("no image was named");
        assert!(
            matches!(&error.failure, Failure::Lost(why) if why.contains("without naming an image")),
            "{:?}",
            error.failure
        );
    }
}
