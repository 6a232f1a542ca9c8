//! `layerwise inspect IMAGE`: where an existing image's bytes go. IMAGE is a path to an image
//! archive (`docker save`, any layout; `-` reads one from stdin) or, when no such file exists,
//! an image of the daemon at `DOCKER_HOST`, saved through the Engine API and read as it streams.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;

use super::{Exit, load, print_config_error};
use crate::cli::{InspectArgs, InspectFormat};
use crate::config::Configs;
use crate::discover::display_path;
use crate::docker::archive::{self, ArchiveError, ImageArchive};
use crate::docker::connect::{connect, docker_host};
use crate::docker::layers::LayerFiles;
use crate::fsutil::write_atomic;
use crate::inspect::gates;
use crate::inspect::{Inspection, Source};
use crate::limits::Gates;
use crate::lint::LintOptions;

pub fn run(args: &InspectArgs, color: bool) -> Exit {
    let config_for = args
        .dockerfile
        .clone()
        .unwrap_or_else(|| PathBuf::from("Dockerfile"));
    let config =
        match Configs::new(args.config.as_deref()).and_then(|mut c| c.for_file(&config_for)) {
            Ok(config) => config,
            Err(e) => {
                print_config_error(e);
                return Exit::Trouble;
            }
        };
    let dockerfile = match &args.dockerfile {
        Some(path) => {
            let display = display_path(path);
            let df = match load(path) {
                Ok(df) => df,
                Err(e) => {
                    eprintln!("error: {display}: {}", e.message);
                    return Exit::Trouble;
                }
            };
            if let Some(error) = df.errors.first() {
                let line = df.position(error.span.start).line + 1;
                eprintln!(
                    "error: {display}: does not parse (line {line}: {})",
                    error.message
                );
                return Exit::Trouble;
            }
            Some((path.clone(), display, df))
        }
        None => None,
    };
    if !super::context_is_a_folder(args.context.as_deref()) {
        return Exit::Trouble;
    }

    let (name, source, image) = match read(args) {
        Ok(read) => read,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Trouble;
        }
    };
    let mut report = Inspection::new(name, source, image, args.top);
    if let Some((path, display, df)) = &dockerfile {
        let options = LintOptions {
            path: Some(path.clone()),
            context: args.context.clone(),
            config: config.clone(),
            ..LintOptions::default()
        };
        if let Err(why) =
            report.map_dockerfile(df, display.clone(), args.target.as_deref(), &options)
        {
            eprintln!("warning: {why}; {display} is not mapped to the layers");
        }
    }
    let from_config = config.as_ref().map(|c| c.inspect).unwrap_or_default();
    let limits = Gates {
        max_wasted_bytes: args.max_wasted_bytes,
        max_wasted_percent: args.max_wasted_percent,
        min_efficiency: args.min_efficiency,
        max_cache_bytes: args.max_cache_bytes,
    }
    .or(&from_config);
    report.gates = gates::check(&limits, &report);

    let text = match args.format {
        InspectFormat::Table => report.to_table(color),
        InspectFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    };
    print!("{text}");
    if let Some(html) = &args.html {
        let page = crate::inspect::page::render(&report);
        if let Err(e) = write_atomic(html, page.as_bytes()) {
            eprintln!("error: {e}");
            return Exit::Trouble;
        }
        eprintln!("wrote {}", display_path(html));
    }
    let crossed: Vec<_> = report.gates.iter().filter(|g| !g.passed).collect();
    for gate in &crossed {
        eprintln!("gate crossed: {gate}");
    }
    if crossed.is_empty() {
        Exit::Clean
    } else {
        Exit::Findings
    }
}

/// The image read, with the name to show and where it came from.
type Loaded = (String, Source, ImageArchive<LayerFiles>);

/// The image, from its archive or the daemon, with the name to show.
fn read(args: &InspectArgs) -> Result<Loaded, String> {
    let given = args.image.as_str();
    if given == "-" {
        let image = archive::read(std::io::stdin().lock(), |tar| LayerFiles::read(tar))
            .map_err(|e| format!("stdin: {e}"))?;
        let name = image.name.clone().unwrap_or_else(|| "-".to_string());
        return Ok((name, Source::Archive, image));
    }
    let path = Path::new(given);
    if path.is_dir() {
        return Err(format!(
            "{given} is a folder; inspect takes an image archive (tar it: tar -C {given} -cf image.tar .)"
        ));
    }
    if path.exists() {
        let image = archive::read_file(path, |tar| LayerFiles::read(tar))
            .map_err(|e| archive_error(given, e))?;
        let name = image.name.clone().unwrap_or_else(|| display_path(path));
        return Ok((name, Source::Archive, image));
    }
    let image = from_daemon(given, Duration::from_secs(args.timeout))?;
    Ok((given.to_string(), Source::Daemon, image))
}

fn archive_error(path: &str, e: ArchiveError) -> String {
    match e {
        ArchiveError::Io(io) => format!("{path}: {}", crate::discover::io_reason(&io)),
        other => format!("{path}: {other}"),
    }
}

/// Saves the image through the Engine API and reads the archive as it streams.
fn from_daemon(name: &str, timeout: Duration) -> Result<ImageArchive<LayerFiles>, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(async {
        let host = docker_host();
        let client = connect(&host, timeout).await.map_err(|e| {
            let archive_like = [".tar", ".tar.gz", ".tgz", ".tar.zst"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if archive_like {
                format!("{name}: no such file")
            } else {
                format!("{e} (and no file {name} exists)")
            }
        })?;
        client.inspect_image(name).await.map_err(|e| {
            format!(
                "no image {name} in the daemon at {host}, and no file of that name ({})",
                crate::docker::reason(&e)
            )
        })?;
        let reader = crate::docker::image::read_ahead(
            client
                .export_image(name)
                .map(|chunk| chunk.map_err(|e| std::io::Error::other(crate::docker::reason(&e)))),
        );
        let read = tokio::task::spawn_blocking(move || {
            archive::read(reader, |tar: &mut dyn Read| LayerFiles::read(tar))
        });
        tokio::select! {
            read = read => read
                .map_err(|e| format!("saving image {name}: {e}"))?
                .map_err(|e| format!("saving image {name}: {e}")),
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        }
    });
    // a read still blocked on the daemon's stream is not waited for
    runtime.shutdown_background();
    result
}
