//! `layerwise measure`: build the Dockerfile as it is and as `layerwise fix` would write it,
//! through the Docker Engine API, and compare the two images.
//!
//! Order of work: both cold builds first (so a rewrite that breaks the build is found before
//! anything else is spent), then each version is rebuilt with the cache after one source file
//! is edited, then both cold images are saved and analysed while the daemon removes what the
//! run no longer needs (the rebuilds' images, and the cold builds' that neither saved image is
//! built on); no build runs beside other work, so its time is its own. Whatever ends the run
//! (success, a failed build, `--timeout`, a lost daemon, Ctrl-C), every image and container
//! the builds made is removed, unless `--keep-images`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;

use super::{Exit, load, print_config_error};
use crate::cli::{BuilderChoice, MeasureArgs, MeasureFormat};
use crate::config::{ConfigError, Configs};
use crate::discover::display_path;
use crate::docker::build::{
    BuildError, BuildRequest, Builder, Built, Failure, Tracker, build, image_sizes,
};
use crate::docker::compare::{Comparison, Rebuild, Side, Timings};
use crate::docker::connect::{
    build_cache_bytes, connect, containerd_store, default_builder, docker_host,
};
use crate::docker::context::{Context, ContextSpec, Reads, edit_target, edited};
use crate::docker::image::read_images;
use crate::docker::proof::{
    Rewrite, SmokeOutcome, SmokeRun, StartProgram, build_stage_dirs, compare_configs,
    compare_filesystems, copied_from_build_stages, start_program,
};
use crate::docker::{DockerError, cleanup};
use crate::docker::{session, smoke};
use crate::fix::Safety;
use crate::fixer::{FixOutcome, fix_text, summary};
use crate::fsutil::write_atomic;
use crate::lint::LintOptions;
use crate::model::ModelInput;
use crate::picture::bars::terminal_width;
use crate::source::Span;
use crate::syntax::{Dockerfile, Instruction, Keyword};

/// One version of the Dockerfile, ready to build.
struct Version {
    label: &'static str,
    df: Dockerfile,
    /// The `.dockerignore` the rewrite proposes; `None`: the context's own.
    ignore: Option<String>,
    context: Context,
    tag: &'static str,
}

/// Everything decided before the daemon is asked anything.
struct Plan {
    display: String,
    dockerfile: PathBuf,
    context_dir: PathBuf,
    before: Version,
    after: Version,
    applied: Vec<String>,
    /// What `fix` wrote where, to name the fix behind a failing step; `None` when the rewrite
    /// came from `--rewrite-from`.
    fixed: Option<FixOutcome>,
    /// Only safe fixes made the rewrite: then any difference they do not explain is a defect.
    only_safe: bool,
    build_args: HashMap<String, String>,
    /// Each `--smoke` command and its words.
    smoke: Vec<(String, Vec<String>)>,
    /// `--network`, as the daemon takes it.
    network: &'static str,
}

impl Plan {
    /// No fix applies and no rewrite was given: the one build serves for both.
    fn unchanged(&self) -> bool {
        self.applied.is_empty() && self.after.df.text() == self.before.df.text()
    }

    fn spec<'a>(
        &'a self,
        version: &'a Version,
        replaced: &'a [(String, Vec<u8>)],
    ) -> ContextSpec<'a> {
        ContextSpec {
            dir: &self.context_dir,
            dockerfile: &self.dockerfile,
            dockerfile_text: version.df.text(),
            ignore_text: version.ignore.as_deref(),
            replaced,
        }
    }
}

/// Where measure's time goes, phase by phase, beside the builds' own.
struct Clock {
    started: Instant,
    phases: BTreeMap<&'static str, f64>,
    builds: f64,
    smoke: f64,
}

impl Clock {
    /// Adds the time since `since` to `phase`.
    fn add(&mut self, phase: &'static str, since: Instant) {
        self.add_span(phase, since, Instant::now());
    }

    /// Adds the time from `from` to `to` to `phase`.
    fn add_span(&mut self, phase: &'static str, from: Instant, to: Instant) {
        *self.phases.entry(phase).or_default() += to.saturating_duration_since(from).as_secs_f64();
    }

    fn timings(&self) -> Timings {
        let total = self.started.elapsed().as_secs_f64();
        let overhead = (total - self.builds - self.smoke).max(0.0);
        Timings {
            total_seconds: total,
            build_seconds: self.builds,
            smoke_seconds: self.smoke,
            phases: self.phases.clone(),
            overhead_share: if self.builds > 0.0 {
                overhead / self.builds
            } else {
                0.0
            },
        }
    }
}

pub fn run(args: &MeasureArgs, color: bool) -> Exit {
    let mut clock = Clock {
        started: Instant::now(),
        phases: BTreeMap::new(),
        builds: 0.0,
        smoke: 0.0,
    };
    let plan = match prepare(args) {
        Ok(plan) => plan,
        Err(Unprepared::Config(e)) => {
            print_config_error(e);
            return Exit::Trouble;
        }
        Err(Unprepared::Other(message)) => {
            eprintln!("error: {message}");
            return Exit::Trouble;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Trouble;
        }
    };
    clock.add("prepare", clock.started);
    runtime.block_on(measure(args, &plan, color, &mut clock))
}

/// Why there is nothing to build: a config file that is not valid, or another reason.
enum Unprepared {
    Config(ConfigError),
    Other(String),
}

impl From<String> for Unprepared {
    fn from(message: String) -> Self {
        Unprepared::Other(message)
    }
}

/// Reads the Dockerfile and its config, makes the rewrite with `fix`'s own code, and the two
/// context tars.
fn prepare(args: &MeasureArgs) -> Result<Plan, Unprepared> {
    let dockerfile = args
        .dockerfile
        .clone()
        .unwrap_or_else(|| PathBuf::from("Dockerfile"));
    let display = display_path(&dockerfile);
    if dockerfile == Path::new("-") {
        return Err(Unprepared::Other(
            "measure needs a Dockerfile on disk, not stdin".into(),
        ));
    }
    let df = load(&dockerfile).map_err(|e| format!("{display}: {}", e.message))?;
    let df = if args.builtin_frontend {
        Dockerfile::parse(without_syntax(&df))
    } else {
        df
    };
    if let Some(error) = df.errors.first() {
        let line = df.position(error.span.start).line + 1;
        return Err(Unprepared::Other(format!(
            "{display}: does not parse (line {line}: {}); nothing to build",
            error.message
        )));
    }
    let context_dir = match &args.context {
        Some(dir) => dir.clone(),
        None => match dockerfile.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    if !context_dir.is_dir() {
        return Err(Unprepared::Other(format!(
            "the build context {} is not a folder",
            display_path(&context_dir)
        )));
    }
    let max = if args.unsafe_fixes {
        Safety::Unsafe
    } else {
        Safety::Safe
    };
    // The config `fix` would use, so the rewrite is the one `fix` writes.
    let config = Configs::new(args.config.as_deref())
        .and_then(|mut configs| configs.for_file(&dockerfile))
        .map_err(Unprepared::Config)?;
    let build_args = parse_build_args(&args.build_args)?;
    // The stage and arguments the build uses, so the rules read the image that is built.
    let options = LintOptions {
        path: Some(dockerfile.clone()),
        context: Some(context_dir.clone()),
        config,
        target: args.target.clone(),
        build_args: build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..LintOptions::default()
    };
    let smoke = args
        .smoke
        .iter()
        .map(|command| smoke::words(command).map(|words| (command.clone(), words)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut outcome = fix_text(df.text(), &options, max);
    let only_safe =
        max == Safety::Safe || fix_text(df.text(), &options, Safety::Safe).text == outcome.text;
    let mut fixed = Some(outcome.clone());
    if let Some(path) = &args.rewrite_from {
        let rewrite = load(path).map_err(|e| format!("{}: {}", display_path(path), e.message))?;
        outcome.text = rewrite.text().to_string();
        fixed = None;
    }
    // The files the fixes write, folded as `fix` folds them.
    let mut written = LintOptions::default();
    for change in &outcome.files {
        written.overlay_change(change);
    }
    let ignore_path = context_dir.join(".dockerignore");
    let mut after_ignore = None;
    for (path, text) in &written.overlay {
        if *path == ignore_path {
            after_ignore = Some(text.clone());
        } else {
            eprintln!(
                "warning: the rewrite also writes {}, which measure does not apply to the \
                 context it sends; measured without it",
                display_path(path)
            );
        }
    }
    let mut plan = Plan {
        display,
        dockerfile,
        context_dir,
        before: Version {
            label: "before",
            df: Dockerfile::parse(df.text()),
            ignore: None,
            context: empty_context(),
            tag: "layerwise-measure:before",
        },
        after: Version {
            label: "after",
            df: Dockerfile::parse(outcome.text.as_str()),
            ignore: after_ignore,
            context: empty_context(),
            tag: "layerwise-measure:after",
        },
        applied: outcome.applied.iter().map(|s| s.to_string()).collect(),
        fixed,
        only_safe,
        build_args,
        smoke,
        network: args.network.as_str(),
    };
    let context_error = |e: crate::docker::context::ContextError| e.to_string();
    plan.before.context = Context::build(&plan.spec(&plan.before, &[])).map_err(context_error)?;
    plan.after.context = Context::build(&plan.spec(&plan.after, &[])).map_err(context_error)?;
    Ok(plan)
}

fn empty_context() -> Context {
    Context::empty()
}

/// The text with its `# syntax=` directive left out, so BuildKit uses the daemon's built-in
/// frontend. Directives must stay together at the top, so a comment saying what was left out
/// goes after the last of them: the instructions keep their line numbers.
fn without_syntax(df: &Dockerfile) -> String {
    let directives: Vec<_> = df.directives().collect();
    let Some(syntax) = directives
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case("syntax"))
    else {
        return df.text().to_string();
    };
    let text = df.text();
    let line_end = |at: usize| text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    let (start, end) = (syntax.span.start, line_end(syntax.span.start));
    let last_end = directives
        .iter()
        .map(|d| line_end(d.span.start))
        .max()
        .unwrap_or(end);
    let note = format!(
        "# (layerwise measure --builtin-frontend left out: syntax={})\n",
        syntax.value
    );
    let mut out = String::with_capacity(text.len() + note.len());
    out.push_str(&text[..start]);
    out.push_str(&text[end..last_end]);
    out.push_str(&note);
    out.push_str(&text[last_end..]);
    out
}

/// `K=V` pairs; `K` alone takes K's value from the environment, and is left out when unset
/// (as `docker build` does).
fn parse_build_args(args: &[String]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for arg in args {
        match arg.split_once('=') {
            Some(("", _)) => return Err(format!("--build-arg {arg}: the name is empty")),
            Some((key, value)) => {
                out.insert(key.to_string(), value.to_string());
            }
            None => {
                if let Ok(value) = std::env::var(arg) {
                    out.insert(arg.clone(), value);
                }
            }
        }
    }
    Ok(out)
}

async fn measure(args: &MeasureArgs, plan: &Plan, color: bool, clock: &mut Clock) -> Exit {
    let daemon = Instant::now();
    let host = docker_host();
    // The request timeout bounds the wait for the daemon's first answer; `docker save` gives
    // it only once the whole image is written.
    let request_timeout = Duration::from_secs(args.timeout.max(60) + 60);
    let client = match connect(&host, request_timeout).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Trouble;
        }
    };
    let present = match cleanup::snapshot(&client).await {
        Ok(present) => present,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Trouble;
        }
    };
    let Chosen {
        builder,
        session,
        containerd,
        why,
    } = match choose_builder(args.builder, &client, &host).await {
        Ok(chosen) => chosen,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Trouble;
        }
    };
    if let Some(why) = why {
        eprintln!("note: {why}");
    }
    if let Err(message) = check_builder(plan, builder, why) {
        eprintln!("error: {message}");
        return Exit::Trouble;
    }
    note_mounts(plan, builder);
    let cache_before = match builder {
        Builder::BuildKit => build_cache_bytes(&client, &host, Duration::from_secs(60))
            .await
            .ok()
            .flatten(),
        Builder::Classic => None,
    };
    clock.add("daemon", daemon);
    let how = How {
        builder,
        // the context through a session of our own, where the daemon cannot read a body
        session_host: session.then_some(host.as_str()),
        containerd,
    };
    let tracker = Tracker::default();
    // what went while the images were saved
    let mut early = cleanup::Removed::default();
    let exit = tokio::select! {
        exit = run_builds(&client, &host, how, args, plan, &tracker, &present, &mut early, color, clock) => exit,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: the build was stopped");
            Exit::Trouble
        }
    };
    if let Some(before) = cache_before
        && let Ok(Some(after)) = build_cache_bytes(&client, &host, Duration::from_secs(60)).await
    {
        // BuildKit keeps its cache as `docker build` leaves it; say what this run added
        eprintln!(
            "the builds added {} to the daemon's build cache (`docker builder prune` removes it)",
            indicatif::HumanBytes(after.saturating_sub(before))
        );
    }
    if args.keep_images {
        eprintln!("kept the images built (--keep-images)");
        return exit;
    }
    let made = tracker.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // what could not go early is tried again here, and said only if it fails again
    let mut removed = cleanup::remove(&client, &made, &present).await;
    removed.images += early.images;
    removed.containers += early.containers;
    let containers = match removed.containers {
        0 => String::new(),
        n => format!(" and {n} container{}", plural(n)),
    };
    eprintln!(
        "removed the {} image{}{containers} the builds made",
        removed.images,
        plural(removed.images)
    );
    if removed.left.is_empty() {
        return exit;
    }
    for (id, why) in &removed.left {
        eprintln!("error: could not remove {id}: {why}");
    }
    exit.max(Exit::Trouble)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[allow(clippy::too_many_arguments)]
async fn run_builds(
    client: &Docker,
    host: &str,
    how: How<'_>,
    args: &MeasureArgs,
    plan: &Plan,
    tracker: &Tracker,
    present: &cleanup::Before,
    early: &mut cleanup::Removed,
    color: bool,
    clock: &mut Clock,
) -> Exit {
    match builds(
        client, host, how, args, plan, tracker, present, early, clock,
    )
    .await
    {
        Ok(mut comparison) => {
            comparison.timings = clock.timings();
            let text = match args.format {
                MeasureFormat::Table => comparison.to_terminal(color, terminal_width()),
                MeasureFormat::Json => comparison.to_json() + "\n",
            };
            print!("{text}");
            if let Some(html) = &args.html {
                let page = crate::docker::page::render(&comparison, &rewrite_diffs(plan));
                if let Err(e) = write_atomic(html, page.as_bytes()) {
                    eprintln!("error: {e}");
                    return Exit::Trouble;
                }
                eprintln!("wrote {}", display_path(html));
            }
            let defects = defects(&comparison, plan.only_safe);
            if defects.is_empty() {
                return Exit::Clean;
            }
            let why = if plan.only_safe {
                "the rewrite, of safe fixes only, does not keep the image"
            } else {
                "the rewritten image does not run as the original did"
            };
            eprintln!("error: {why}: a fix defect");
            for line in defects {
                eprintln!("  {line}");
            }
            let fs = &comparison.filesystem;
            if plan.only_safe
                && !fs.unexpected.is_empty()
                && fs.unexpected.iter().all(|u| u.change == "content")
            {
                eprintln!(
                    "  (only contents differ: if a step makes different files on every build, \
                     such as random data, timestamps or a download of `latest`, the build is not \
                     reproducible and the difference is not the fixes')"
                );
            }
            eprintln!("fixes applied: {}", summary(&plan.applied));
            Exit::FixDefect
        }
        Err(exit) => exit,
    }
}

/// The label of one build in the progress: `before`, or `before, run 2 of 3`.
fn run_label(label: &str, run: usize, runs: usize) -> String {
    if runs == 1 {
        label.to_string()
    } else {
        format!("{label}, run {} of {runs}", run + 1)
    }
}

#[allow(clippy::too_many_arguments)]
async fn builds(
    client: &Docker,
    host: &str,
    how: How<'_>,
    args: &MeasureArgs,
    plan: &Plan,
    tracker: &Tracker,
    present: &cleanup::Before,
    early: &mut cleanup::Removed,
    clock: &mut Clock,
) -> Result<Comparison, Exit> {
    let fixes = if plan.unchanged() {
        "no fix applies, so one build".to_string()
    } else {
        format!("fixes {}", summary(&plan.applied))
    };
    let runs = args.runs.max(1) as usize;
    let times = if runs == 1 {
        String::new()
    } else {
        format!(", {runs} times each")
    };
    eprintln!(
        "measuring {} before and after `layerwise fix` ({fixes}) on the daemon at {host}, \
         with {}{times}",
        plan.display,
        how.builder.name()
    );
    // Cold builds, before and after in turn, so that a load on the machine falls on both.
    let mut befores: Vec<Built> = Vec::new();
    let mut afters: Vec<Built> = Vec::new();
    for run in 0..runs {
        let label = run_label(plan.before.label, run, runs);
        let before_request = request(
            args,
            plan,
            how,
            &plan.before,
            &label,
            &plan.before.context,
            true,
        );
        let built = build(client, before_request, tracker)
            .await
            .map_err(|e| stop_original(&e, host, plan, "the original"))?;
        clock.builds += built.seconds;
        befores.push(built);
        if plan.unchanged() {
            continue;
        }
        let label = run_label(plan.after.label, run, runs);
        let after_request = request(
            args,
            plan,
            how,
            &plan.after,
            &label,
            &plan.after.context,
            true,
        );
        match build(client, after_request, tracker).await {
            Ok(built) => {
                clock.builds += built.seconds;
                afters.push(built);
            }
            Err(e) if matches!(e.failure, Failure::Failed(_)) => {
                report_defect(plan, &e, args.format);
                return Err(Exit::FixDefect);
            }
            Err(e) => return Err(stop_original(&e, host, plan, "the rewrite")),
        }
    }
    let before = &befores[0];
    let after = afters.first();

    // Every run must build the same image; say where one did not.
    let sizes = Instant::now();
    let mut size_differences = Vec::new();
    for (name, built) in [("before", &befores), ("after", &afters)] {
        let Some(first) = built.first().filter(|_| built.len() > 1) else {
            continue;
        };
        let first_sizes = image_sizes(client, &first.image).await.map_err(|e| {
            eprintln!("error: {e}");
            Exit::Trouble
        })?;
        for (run, later) in built.iter().enumerate().skip(1) {
            let sizes = image_sizes(client, &later.image).await.map_err(|e| {
                eprintln!("error: {e}");
                Exit::Trouble
            })?;
            if let Some(what) = size_difference(&first_sizes, &sizes) {
                size_differences.push(format!("{name}, run {}: {what}", run + 1));
            }
        }
    }
    clock.add("sizes", sizes);

    let edit = if args.no_rebuild {
        Err("skipped with --no-rebuild".to_string())
    } else {
        let input = model_input(args, plan);
        let reads_before = Reads::new(&plan.before.df, &input);
        let reads_after = Reads::new(&plan.after.df, &input);
        edit_target(
            &plan.before.context.visible,
            &plan.after.context.visible,
            &[&reads_before, &reads_after],
        )
    };
    let (edited_file, rebuild_not_measured) = match edit {
        Ok(file) => (Some(file), None),
        Err(why) => (None, Some(why)),
    };
    let mut rebuilds: [Vec<Rebuild>; 2] = [Vec::new(), Vec::new()];
    if let Some(file) = &edited_file {
        let bytes = std::fs::read(plan.context_dir.join(file)).map_err(|e| {
            eprintln!("error: cannot read {file} for the rebuild after an edit: {e}");
            Exit::Trouble
        })?;
        let versions: &[(&Version, &'static str)] = if plan.unchanged() {
            &[(&plan.before, "before (rebuild)")]
        } else {
            &[
                (&plan.before, "before (rebuild)"),
                (&plan.after, "after (rebuild)"),
            ]
        };
        for run in 0..runs {
            for (i, (version, label)) in versions.iter().enumerate() {
                // An edit of its own for each: the rewrite's stages that repeat the original's
                // (LW301's build stage) would take the original's rebuild from the cache; and
                // a new one each run, else the second would come from the cache.
                let edits = Instant::now();
                let replaced = [(file.clone(), edited(&bytes))];
                let context = Context::build(&plan.spec(version, &replaced)).map_err(|e| {
                    eprintln!("error: {e}");
                    Exit::Trouble
                })?;
                clock.add("edits", edits);
                let label = run_label(label, run, runs);
                let rebuild_request = request(args, plan, how, version, &label, &context, false);
                let built = build(client, rebuild_request, tracker)
                    .await
                    .map_err(|e| stop_original(&e, host, plan, "the rebuild after an edit"))?;
                clock.builds += built.seconds;
                rebuilds[i].push(Rebuild {
                    seconds: built.seconds,
                    rebuilt: built.rebuilt(),
                });
            }
        }
        if plan.unchanged() {
            rebuilds[1] = rebuilds[0].clone();
        }
    }

    // Both saved at once: the daemon writes the layers they share once. Meanwhile it removes
    // what the run no longer needs (the rebuilds are done): the classic builder's layers, which
    // it deletes file by file, go while the disk may not have written them yet (DEVELOPERS.md).
    let images = Instant::now();
    let ids: Vec<&str> = std::iter::once(before.image.as_str())
        .chain(after.map(|a| a.image.as_str()))
        .collect();
    let made = tracker.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let removal = async {
        if args.keep_images {
            return cleanup::Removed::default();
        }
        cleanup::remove_sparing(client, &made, present, &ids).await
    };
    let read = async {
        let read = read_images(client, &ids, how.containerd).await;
        (read, Instant::now())
    };
    let ((read, read_done), removed) = tokio::join!(read, removal);
    *early = removed;
    let (facts, first_byte) = read.map_err(|e: DockerError| {
        eprintln!("error: {e}");
        Exit::Trouble
    })?;
    // the daemon writing the archive, reading it, and the removal's wait beyond the reading
    let first_byte = first_byte.unwrap_or(read_done);
    clock.add_span("save", images, first_byte);
    clock.add_span("images", first_byte, read_done);
    clock.add("removal", read_done);
    let mut facts = facts.into_iter();
    let before_facts = facts.next().ok_or(Exit::Trouble)?;
    let after_facts = facts.next();

    let proof = Instant::now();
    let target = args.target.as_deref();
    let seconds = |built: &[Built]| built.iter().map(|b| b.seconds).collect::<Vec<_>>();
    let before_side = Side::new(
        &plan.before.df,
        target,
        &before_facts,
        &seconds(&befores),
        &rebuilds[0],
    );
    let after_side = match &after_facts {
        Some(facts) => Side::new(
            &plan.after.df,
            target,
            facts,
            &seconds(&afters),
            &rebuilds[1],
        ),
        None => before_side.clone(),
    };
    let mut comparison = Comparison::new(
        plan.display.clone(),
        how.builder,
        plan.applied.clone(),
        edited_file,
        before_side,
        after_side,
    );
    comparison.rebuild_not_measured = rebuild_not_measured;
    comparison.runs = runs;
    comparison.size_differences = size_differences;
    let after_image = after.map_or(&before.image, |a| &a.image);
    let after_facts = after_facts.as_ref().unwrap_or(&before_facts);
    if after.is_some() {
        let (before_files, after_files) =
            (&plan.before.context.visible, &plan.after.context.visible);
        let ignored: Vec<String> = before_files
            .iter()
            .filter(|f| after_files.binary_search(f).is_err())
            .cloned()
            .collect();
        let added: Vec<String> = after_files
            .iter()
            .filter(|f| before_files.binary_search(f).is_err())
            .cloned()
            .collect();
        let dockerfile = &plan.before.context.dockerfile;
        let build_dirs = build_stage_dirs(&plan.after.df, &model_input(args, plan));
        let copied = copied_from_build_stages(&plan.after.df, &model_input(args, plan));
        let rewrite = Rewrite {
            applied: &plan.applied,
            ignored: &ignored,
            added: &added,
            dockerfile: before_files
                .binary_search(dockerfile)
                .is_ok()
                .then_some(dockerfile.as_str()),
            build_dirs: &build_dirs,
            copied: &copied,
        };
        comparison.filesystem =
            compare_filesystems(&before_facts.filesystem, &after_facts.filesystem, &rewrite);
        comparison.config_changes = compare_configs(&before_facts.config, &after_facts.config);
    }
    comparison.start_program =
        start_program(&before_facts.filesystem, &before_facts.config).map(|(program, found)| {
            StartProgram {
                before: found,
                after: start_program(&after_facts.filesystem, &after_facts.config)
                    .and_then(|(_, found)| found),
                program,
            }
        });
    clock.add("proof", proof);
    let limit = Duration::from_secs(args.timeout);
    let smoke = Instant::now();
    for (command, words) in &plan.smoke {
        let before_outcome = smoke_in(
            client,
            "before",
            &before.image,
            command,
            words,
            limit,
            tracker,
        )
        .await?;
        let after_outcome =
            smoke_in(client, "after", after_image, command, words, limit, tracker).await?;
        comparison.smoke.push(SmokeRun {
            command: command.clone(),
            before: before_outcome,
            after: after_outcome,
        });
    }
    clock.smoke += smoke.elapsed().as_secs_f64();
    Ok(comparison)
}

/// How a later run's image sizes differ from the first run's (`(image, history steps)`), in
/// words; `None` when they are the same.
fn size_difference(first: &(u64, Vec<u64>), later: &(u64, Vec<u64>)) -> Option<String> {
    let bytes = |n: u64| indicatif::HumanBytes(n).to_string();
    if first.0 != later.0 {
        return Some(format!(
            "the image is {} ({} bytes), the first run's {} ({} bytes)",
            bytes(later.0),
            later.0,
            bytes(first.0),
            first.0
        ));
    }
    if first.1.len() != later.1.len() {
        return Some(format!(
            "{} history steps, the first run's {}",
            later.1.len(),
            first.1.len()
        ));
    }
    let (step, (a, b)) = first
        .1
        .iter()
        .zip(&later.1)
        .enumerate()
        .find(|(_, (a, b))| a != b)?;
    Some(format!(
        "history step {} is {b} bytes, the first run's {a}",
        step + 1
    ))
}

/// What the model of either version is built from: the target and build arguments.
fn model_input(args: &MeasureArgs, plan: &Plan) -> ModelInput {
    ModelInput {
        target: args.target.clone(),
        build_args: plan
            .build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..ModelInput::default()
    }
}

/// Runs one `--smoke` command in a container of `image`, with progress.
async fn smoke_in(
    client: &Docker,
    label: &str,
    image: &str,
    command: &str,
    words: &[String],
    limit: Duration,
    tracker: &Tracker,
) -> Result<SmokeOutcome, Exit> {
    eprintln!("{label}: smoke `{command}`");
    smoke::run(client, image, words, limit, tracker)
        .await
        .map_err(|e| {
            eprintln!("error: {e}");
            Exit::Trouble
        })
}

/// What makes the rewrite a fix defect once both images are compared: its start program is
/// gone, a smoke command runs differently, or, with only safe fixes applied, a difference
/// or config change that no fix explains. Each as a line to show; empty when none.
fn defects(comparison: &Comparison, only_safe: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = comparison.start_program.as_ref().filter(|p| p.lost()) {
        out.push(format!(
            "the start program `{}` (/{}) is not in the rewritten image",
            p.program,
            p.before.as_deref().unwrap_or_default()
        ));
    }
    for run in comparison.smoke.iter().filter(|r| r.differs()) {
        out.push(format!("smoke `{}` runs differently", run.command));
    }
    if only_safe {
        for u in comparison.filesystem.unexpected.iter().take(20) {
            out.push(format!("unexpected: {} /{}", u.change, u.path));
        }
        if comparison.filesystem.unexpected.len() > 20 {
            out.push(format!(
                "unexpected: … and {} more",
                comparison.filesystem.unexpected.len() - 20
            ));
        }
        for c in &comparison.config_changes {
            out.push(format!(
                "config: {} was {} and is {}",
                c.field, c.before, c.after
            ));
        }
    }
    out
}

/// Which builder builds, how the context reaches it, and how the daemon keeps images.
#[derive(Clone, Copy)]
struct How<'a> {
    builder: Builder,
    session_host: Option<&'a str>,
    /// The containerd image store (the sizes are then counted from the layers read).
    containerd: bool,
}

fn request<'a>(
    args: &'a MeasureArgs,
    plan: &'a Plan,
    how: How<'a>,
    version: &'a Version,
    label: &'a str,
    context: &'a Context,
    cold: bool,
) -> BuildRequest<'a> {
    BuildRequest {
        label,
        context,
        builder: how.builder,
        session_host: how.session_host,
        // the rewrite on what the original's build left, when asked
        no_cache: cold && !(args.share_cache && version.tag == plan.after.tag),
        network: args.network.as_str(),
        target: args.target.as_deref(),
        build_args: &plan.build_args,
        tag: (cold && args.keep_images).then_some(version.tag),
        timeout: Duration::from_secs(args.timeout),
    }
}

/// BuildKit through the Engine API cannot read a context sent as the build request's body on
/// the containerd image store (moby/moby#47717): layerwise then sends it through a session of
/// its own ([`crate::docker::session`]), which it can open over a socket or TCP; through ssh it
/// cannot, and `auto` takes the classic builder there.
const CONTAINERD_STORE: &str = "the daemon keeps its images in the containerd image store, where \
     BuildKit cannot read a build context sent as the request's body (moby/moby#47717), and \
     layerwise cannot open a session of its own through ssh to send it: measuring with the \
     classic builder";

/// The builder to use, whether the context goes through a session of layerwise's own, and why
/// when `auto` did not take the daemon's default.
#[derive(Debug, PartialEq, Eq)]
struct Chosen {
    builder: Builder,
    session: bool,
    /// The daemon keeps its images in the containerd image store.
    containerd: bool,
    why: Option<&'static str>,
}

async fn choose_builder(
    choice: BuilderChoice,
    client: &Docker,
    host: &str,
) -> Result<Chosen, String> {
    let builder = match choice {
        BuilderChoice::BuildKit => Builder::BuildKit,
        BuilderChoice::Classic => Builder::Classic,
        BuilderChoice::Auto => default_builder(host, Duration::from_secs(30))
            .await
            .map_err(|e| format!("cannot ask the daemon at {host} for its builder: {e}"))?,
    };
    // a daemon that does not say is taken for a graph driver
    let containerd = containerd_store(client).await.unwrap_or(false);
    Ok(chosen(choice, builder, containerd, session::can_open(host)))
}

/// [`choose_builder`]'s choice, from what it learnt of the daemon: its builder, whether it keeps
/// images in the containerd store, and whether layerwise can open a session on it.
fn chosen(choice: BuilderChoice, builder: Builder, containerd: bool, can_open: bool) -> Chosen {
    let buildkit_there = containerd && builder == Builder::BuildKit;
    match (buildkit_there, can_open, choice) {
        (true, true, _) => Chosen {
            builder,
            session: true,
            containerd,
            why: None,
        },
        (true, false, BuilderChoice::Auto) => Chosen {
            builder: Builder::Classic,
            session: false,
            containerd,
            why: Some(CONTAINERD_STORE),
        },
        _ => Chosen {
            builder,
            session: false,
            containerd,
            why: None,
        },
    }
}

/// Where the Dockerfile uses what only BuildKit builds: `(line, what)`.
fn needs_buildkit(df: &Dockerfile) -> Option<(usize, String)> {
    for inst in df.instructions() {
        let line = df.position(inst.span().start).line + 1;
        if !inst.heredocs().is_empty() {
            return Some((line, "a heredoc".into()));
        }
        for flag in inst.flags() {
            let name = flag.name.to_ascii_lowercase();
            let buildkit_only = match inst.keyword {
                Keyword::Run => matches!(name.as_str(), "mount" | "security"),
                Keyword::Copy | Keyword::Add => {
                    matches!(
                        name.as_str(),
                        "link" | "chmod" | "parents" | "exclude" | "checksum" | "keep-git-dir"
                    )
                }
                _ => false,
            };
            if buildkit_only {
                return Some((line, format!("{} --{name}", inst.keyword.as_str())));
            }
        }
    }
    None
}

/// The classic builder cannot build BuildKit's syntax: say so before building anything.
fn check_builder(plan: &Plan, builder: Builder, why: Option<&str>) -> Result<(), String> {
    if builder == Builder::BuildKit {
        return Ok(());
    }
    for version in [&plan.before, &plan.after] {
        if let Some((line, what)) = needs_buildkit(&version.df) {
            let whose = if version.label == "before" {
                plan.display.clone()
            } else {
                format!("the rewrite of {}", plan.display)
            };
            let advice = match why {
                // BuildKit is the daemon's, but cannot be given the context from here
                Some(_) => {
                    "BuildKit on this daemon's containerd image store takes a context only \
                     through a session, which layerwise opens over a socket or TCP, not \
                     through ssh: measure with DOCKER_HOST naming the daemon's socket (or a \
                     tunnel to it)"
                }
                None => "try --builder buildkit",
            };
            return Err(format!(
                "{whose} uses {what} (line {line}), which only BuildKit builds, and the builder \
                 here is the classic one: {advice}"
            ));
        }
    }
    Ok(())
}

/// `RUN --mount=type=secret|ssh` mounts of the Dockerfile: `(line, type, id)`.
fn secret_mounts(df: &Dockerfile) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for inst in df.instructions() {
        if inst.keyword != Keyword::Run {
            continue;
        }
        for mount in inst.flag_values("mount") {
            let fields: Vec<(&str, &str)> = mount
                .split(',')
                .map(|f| f.split_once('=').unwrap_or((f, "")))
                .collect();
            let get = |key: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| *v)
            };
            let kind = get("type").unwrap_or("bind").to_ascii_lowercase();
            if kind == "secret" || kind == "ssh" {
                let id = get("id").unwrap_or("default").to_string();
                out.push((df.position(inst.span().start).line + 1, kind, id));
            }
        }
    }
    out
}

/// measure passes no secrets and no ssh agent to its builds: say so before they start.
fn note_mounts(plan: &Plan, builder: Builder) {
    if builder != Builder::BuildKit {
        return;
    }
    for (line, kind, id) in secret_mounts(&plan.before.df) {
        let what = if kind == "secret" {
            format!("secret `{id}`")
        } else {
            format!("ssh agent `{id}`")
        };
        eprintln!(
            "note: line {line} mounts the {what} (RUN --mount=type={kind}); measure provides \
             none to its builds, so BuildKit mounts nothing there, or fails the step when the \
             mount is required"
        );
    }
}

/// What the daemon's message alone does not say: a `# syntax=` frontend that could not be
/// pulled, or a step that needed a secret or ssh agent measure does not provide.
fn explain_failure(plan: &Plan, e: &BuildError, message: &str) {
    if let Some(syntax) = plan
        .before
        .df
        .directives()
        .find(|d| d.name.eq_ignore_ascii_case("syntax"))
    {
        let image = syntax.value.split_whitespace().next().unwrap_or_default();
        let name = image.split([':', '@']).next().unwrap_or(image);
        let failed_vertex = e
            .step
            .as_ref()
            .map(|s| s.instruction.as_str())
            .unwrap_or("");
        if !name.is_empty() && (message.contains(name) || failed_vertex.contains(name)) {
            let line = plan.before.df.position(syntax.span.start).line + 1;
            eprintln!(
                "  the `# syntax={}` line (line {line}) asks BuildKit to run the frontend image \
                 {image}, which the daemon could not get; --builtin-frontend builds with the \
                 daemon's own Dockerfile frontend instead",
                syntax.value
            );
            return;
        }
    }
    if message.contains("network bridge not found") {
        eprintln!(
            "  the daemon has no bridge network, which BuildKit needs for --network default: \
             use --network none, or --network host when a step downloads"
        );
        return;
    }
    let Some(step) = &e.step else { return };
    if plan.network != "host" && cannot_reach_network(message, &step.output) {
        eprintln!(
            "  the step could not reach the network: with --network {} a daemon without a \
             bridge network (as in many CI setups) gives RUN only loopback; --network host \
             lets it download",
            plan.network
        );
        return;
    }
    for (line, kind, id) in secret_mounts(&plan.before.df) {
        let in_step = step.instruction.contains(&format!("type={kind}"));
        let named = message.contains(&id) || step.output.iter().any(|l| l.contains(&id));
        if in_step || (named && (message.contains("secret") || message.contains("ssh"))) {
            eprintln!(
                "  line {line} mounts the {} `{id}` (RUN --mount=type={kind}), which measure \
                 does not provide to its builds",
                if kind == "secret" {
                    "secret"
                } else {
                    "ssh agent"
                }
            );
            return;
        }
    }
}

/// Whether a failed step's words say it could not reach the network (apt, curl, wget, pip,
/// npm, DNS).
fn cannot_reach_network(message: &str, output: &[String]) -> bool {
    const SIGNS: &[&str] = &[
        "Temporary failure resolving",
        "Could not resolve",
        "Network is unreachable",
        "Temporary failure in name resolution",
        "bad address",
        "getaddrinfo",
        "Failed to establish a new connection",
        "EAI_AGAIN",
    ];
    std::iter::once(message)
        .chain(output.iter().map(String::as_str))
        .any(|line| SIGNS.iter().any(|sign| line.contains(sign)))
}

/// A build that did not give an image for a reason other than a fix defect.
fn stop_original(e: &BuildError, host: &str, plan: &Plan, what: &str) -> Exit {
    match &e.failure {
        Failure::Failed(message) => {
            eprintln!("error: {what} does not build: {message}");
            show_step(e);
            explain_failure(plan, e, message);
        }
        Failure::TimedOut(limit) => {
            eprintln!(
                "error: {what}'s build ran past --timeout ({} s) and was stopped",
                limit.as_secs()
            );
            show_step(e);
        }
        Failure::Lost(reason) => {
            eprintln!(
                "error: the Docker daemon at {host} stopped answering during {what}'s build: \
                 {reason}"
            );
        }
    }
    eprintln!("no comparison made");
    Exit::Trouble
}

/// The step that was running and the end of what it printed.
fn show_step(e: &BuildError) {
    let Some(step) = &e.step else { return };
    const TAIL: usize = 30;
    if step.output.is_empty() {
        eprintln!("  in step `{}`, which printed nothing", step.instruction);
        return;
    }
    eprintln!("  in step `{}`, which printed:", step.instruction);
    let skip = step.output.len().saturating_sub(TAIL);
    if skip > 0 {
        eprintln!("  | … ({skip} lines before)");
    }
    for line in &step.output[skip..] {
        eprintln!("  | {line}");
    }
}

/// The rewrite broke a build that worked: show the failure, the step and the fixes that wrote
/// it, the rules, and the rewrite; with `--format json`, the same as JSON on stdout.
fn report_defect(plan: &Plan, e: &BuildError, format: MeasureFormat) {
    let message = match &e.failure {
        Failure::Failed(message) => message.as_str(),
        _ => "",
    };
    eprintln!("error: the original builds, but the rewrite does not: a fix defect ({message})");
    show_step(e);
    let blame = e
        .step
        .as_ref()
        .and_then(|step| blame(plan, &step.instruction));
    if let Some(blame) = &blame {
        eprintln!("  {}", blame.sentence());
    }
    eprintln!("fixes applied: {}", summary(&plan.applied));
    eprintln!("the rewrite:");
    for (_, diff) in rewrite_diffs(plan) {
        eprint!("{diff}");
    }
    if format == MeasureFormat::Json {
        let report = serde_json::json!({
            "dockerfile": plan.display,
            "error": "the original builds, but the rewrite does not: a fix defect",
            "message": message,
            "applied": plan.applied,
            "failed_step": blame,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    }
}

/// The step of the rewrite that failed, and the fixes that wrote it.
#[derive(Debug, serde::Serialize)]
struct Blame {
    /// Its place among the rewrite's instructions (the classic builder's `Step N/M`).
    step: usize,
    steps: usize,
    /// Its first line in the rewrite.
    line: usize,
    instruction: String,
    /// The fixes that wrote some of it, most bytes first.
    written_by: Vec<Writer>,
    /// When no fix wrote any of it: its line in the original.
    original_line: Option<usize>,
    /// The fixes that wrote files beside the Dockerfile (a `.dockerignore` changes what the
    /// build's COPY finds).
    files_written_by: Vec<Writer>,
    /// The rewrite came from `--rewrite-from`: which fix wrote what is not known.
    rewrite_from: bool,
}

#[derive(Debug, serde::Serialize)]
struct Writer {
    rule: &'static str,
    fix: String,
    files: Vec<String>,
}

impl Blame {
    /// `step 5 of 6 (line 4 of the rewrite) was written by LW203 (move the RUN …)`.
    fn sentence(&self) -> String {
        let place = format!(
            "step {} of {} (line {} of the rewrite)",
            self.step, self.steps, self.line
        );
        if self.rewrite_from {
            return format!("{place} comes from the file --rewrite-from gave");
        }
        let fixes = |writers: &[Writer]| {
            writers
                .iter()
                .map(|w| format!("{} ({})", w.rule, w.fix))
                .collect::<Vec<_>>()
                .join(" and ")
        };
        if !self.written_by.is_empty() {
            return format!("{place} was written by {}", fixes(&self.written_by));
        }
        let original = self
            .original_line
            .map_or(String::new(), |l| format!(", line {l} of the original,"));
        let mut out = format!("{place}{original} was written by no fix");
        if !self.files_written_by.is_empty() {
            let files: Vec<&str> = self
                .files_written_by
                .iter()
                .flat_map(|w| w.files.iter().map(String::as_str))
                .collect();
            out.push_str(&format!(
                "; {} wrote {}, which changes what the build's context holds",
                fixes(&self.files_written_by),
                files.join(", ")
            ));
        }
        out
    }
}

/// The instruction as the builders echo it: continuations joined, blanks collapsed.
fn echoed(inst: &Instruction) -> String {
    inst.line
        .as_str()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The instruction of `df` a builder's step names (`RUN apt-get update`), and its place.
fn find_step<'a>(df: &'a Dockerfile, step: &str) -> Option<(usize, &'a Instruction)> {
    let step = step.split_whitespace().collect::<Vec<_>>().join(" ");
    let same = |inst: &Instruction| {
        let text = echoed(inst);
        text.eq_ignore_ascii_case(&step)
    };
    // a builder may shorten a long step's name: then its start
    let starts = |inst: &Instruction| {
        let text = echoed(inst);
        step.len() >= 20 && text.starts_with(step.trim_end_matches(['…', '.']))
    };
    df.instructions()
        .enumerate()
        .find(|(_, i)| same(i))
        .or_else(|| df.instructions().enumerate().find(|(_, i)| starts(i)))
}

/// Which fix wrote the rewrite's step that failed: from the stretches of the rewrite each fix
/// wrote (`fix`'s own record), or, for a step no fix wrote, the files the fixes wrote beside it.
fn blame(plan: &Plan, step: &str) -> Option<Blame> {
    let df = &plan.after.df;
    let (index, inst) = find_step(df, step)?;
    let steps = df.instructions().count();
    let line = df.position(inst.span().start).line + 1;
    let text = echoed(inst);
    let Some(fixed) = &plan.fixed else {
        return Some(Blame {
            step: index + 1,
            steps,
            line,
            instruction: text,
            written_by: Vec::new(),
            original_line: None,
            files_written_by: Vec::new(),
            rewrite_from: true,
        });
    };
    let span = Span::new(df.lines().line_start(inst.lines().0), inst.span().end);
    let mut written = fixed.written_in(span);
    written.sort_by_key(|w| std::cmp::Reverse(w.1));
    let writer = |f: &crate::fixer::AppliedFix| Writer {
        rule: f.rule,
        fix: f.title.clone(),
        files: f
            .files
            .iter()
            .map(|p| display_path(p.strip_prefix(&plan.context_dir).unwrap_or(p)))
            .collect(),
    };
    let written_by: Vec<Writer> = written.iter().map(|(f, _)| writer(f)).collect();
    let original_line = written_by.is_empty().then(|| {
        let before = &plan.before.df;
        before
            .instructions()
            .find(|i| echoed(i) == text)
            .map(|i| before.position(i.span().start).line + 1)
    });
    Some(Blame {
        step: index + 1,
        steps,
        line,
        instruction: text,
        written_by,
        original_line: original_line.flatten(),
        files_written_by: fixed
            .fixes
            .iter()
            .filter(|f| !f.files.is_empty())
            .map(writer)
            .collect(),
        rewrite_from: false,
    })
}

/// The rewrite as unified diffs, each with the file it changes: the Dockerfile's, and the
/// `.dockerignore` proposed, when there is one.
fn rewrite_diffs(plan: &Plan) -> Vec<(String, String)> {
    let name = &plan.display;
    let mut diffs = vec![(
        name.clone(),
        similar::TextDiff::from_lines(plan.before.df.text(), plan.after.df.text())
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string(),
    )];
    if let Some(ignore) = &plan.after.ignore {
        let path = plan.context_dir.join(".dockerignore");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let shown = display_path(&path);
        let diff = similar::TextDiff::from_lines(old.as_str(), ignore.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{shown}"), &format!("b/{shown}"))
            .to_string();
        diffs.push((shown, diff));
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_the_containerd_store_buildkit_gets_the_context_through_a_session_of_ours() {
        use BuilderChoice::{Auto, BuildKit, Classic};
        // a graph driver: the daemon's builder or the one named, the context as the body
        for (choice, builder) in [
            (Auto, Builder::BuildKit),
            (Auto, Builder::Classic),
            (BuildKit, Builder::BuildKit),
            (Classic, Builder::Classic),
        ] {
            for can_open in [true, false] {
                let got = chosen(choice, builder, false, can_open);
                assert_eq!(got.builder, builder);
                assert!(!got.session && got.why.is_none());
            }
        }
        // the containerd store over a socket or TCP: BuildKit through our session
        for choice in [Auto, BuildKit] {
            let got = chosen(choice, Builder::BuildKit, true, true);
            assert_eq!(
                (got.builder, got.session, got.why),
                (Builder::BuildKit, true, None)
            );
        }
        // through ssh no session of ours: `auto` falls back to the classic builder, saying why;
        // BuildKit named is tried as asked (and fails as the README's known limits say)
        let got = chosen(Auto, Builder::BuildKit, true, false);
        assert_eq!((got.builder, got.session), (Builder::Classic, false));
        assert!(got.why.is_some_and(|w| w.contains("moby/moby#47717")));
        let got = chosen(BuildKit, Builder::BuildKit, true, false);
        assert_eq!(
            (got.builder, got.session, got.why),
            (Builder::BuildKit, false, None)
        );
    }

    #[test]
    fn a_step_that_could_not_resolve_or_connect_is_a_network_failure() {
        let apt = [
            "Ign:1 http://deb.debian.org/debian bookworm InRelease".to_string(),
            "Err:1 http://deb.debian.org/debian bookworm InRelease".to_string(),
            "  Temporary failure resolving 'deb.debian.org'".to_string(),
        ];
        assert!(cannot_reach_network("exit code: 100", &apt));
        let wget = ["wget: bad address 'example.com'".to_string()];
        assert!(cannot_reach_network("", &wget));
        let other = ["E: Unable to locate package nosuch".to_string()];
        assert!(!cannot_reach_network("exit code: 100", &other));
    }

    #[test]
    fn build_args_take_values_or_the_environment() {
        let args =
            parse_build_args(&["A=1".into(), "B==x".into(), "LW_UNSET_FOR_TEST".into()]).unwrap();
        assert_eq!(args.get("A").map(String::as_str), Some("1"));
        assert_eq!(args.get("B").map(String::as_str), Some("=x"));
        assert!(!args.contains_key("LW_UNSET_FOR_TEST"));
        assert!(parse_build_args(&["=v".into()]).is_err());
    }

    #[test]
    fn the_syntax_line_leaves_and_the_other_directives_and_lines_stay() {
        let df = Dockerfile::parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN a\n");
        let text = without_syntax(&df);
        assert_eq!(
            text,
            "# escape=`\n# (layerwise measure --builtin-frontend left out: \
             syntax=docker/dockerfile:1)\nFROM x\nRUN a\n"
        );
        let again = Dockerfile::parse(text.as_str());
        assert_eq!(again.escape, '`');
        assert_eq!(again.directives().count(), 1);
        let plain = Dockerfile::parse("FROM x\n");
        assert_eq!(without_syntax(&plain), "FROM x\n");
    }

    #[test]
    fn buildkit_only_syntax_is_found_with_its_line() {
        let needs = |text: &str| needs_buildkit(&Dockerfile::parse(text));
        assert_eq!(needs("FROM x\nRUN true\nCOPY --from=a / /\n"), None);
        assert_eq!(
            needs("FROM x\nRUN true\nCOPY --chmod=755 a /a\n"),
            Some((3, "COPY --chmod".to_string()))
        );
        assert_eq!(
            needs("FROM x\nRUN --mount=type=cache,target=/c true\n"),
            Some((2, "RUN --mount".to_string()))
        );
        assert_eq!(
            needs("FROM x\nCOPY <<EOF /a\nhi\nEOF\n"),
            Some((2, "a heredoc".to_string()))
        );
    }

    #[test]
    fn secret_and_ssh_mounts_are_found() {
        let df = Dockerfile::parse(
            "FROM x\nRUN --mount=type=secret,id=npm --mount=type=cache,target=/c true\n\
             RUN --mount=type=ssh true\n",
        );
        assert_eq!(
            secret_mounts(&df),
            [
                (2, "secret".to_string(), "npm".to_string()),
                (3, "ssh".to_string(), "default".to_string())
            ]
        );
    }
}
