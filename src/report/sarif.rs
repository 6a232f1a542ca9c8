//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning ingests it, typed by `serde-sarif`.
//!
//! Artifact URIs are relative to the folder layerwise runs in (`%SRCROOT%`, given in
//! `originalUriBaseIds`); columns count UTF-16 code units, SARIF's default. A result's
//! `partialFingerprints` are [`Fingerprints`], which survive edits elsewhere in the file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_sarif::sarif;

use super::fingerprint::Fingerprints;
use super::{FileResult, Report, Reporter, Streamed};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Safety;
use crate::rules::{self, RuleMeta};
use crate::source::Span;

pub struct Sarif;

const SRCROOT: &str = "%SRCROOT%";
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Characters kept as they are in a URI path: RFC 3986 unreserved, and `/`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

impl Reporter for Sarif {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let root = std::env::current_dir()?;
        let log = SarifLog {
            schema: SCHEMA,
            runs: [RunWithResults {
                run: run_without_results(report, &root)?,
                results: Streamed::new(results(report, &root)),
            }],
            version: sarif::Version::V2_1_0,
        };
        super::write_json_pretty(out, &log)
    }
}

/// The log as serde-sarif writes it, its keys in its (alphabetical) order, with the results of
/// its one run streamed.
#[derive(Serialize)]
#[serde(bound(serialize = "Streamed<R>: Serialize"))]
struct SarifLog<R> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [RunWithResults<R>; 1],
    version: sarif::Version,
}

/// A run's other keys (tool, invocations, …: small) with `results` put in its place among them.
struct RunWithResults<R> {
    run: serde_json::Map<String, serde_json::Value>,
    results: Streamed<R>,
}

impl<R> Serialize for RunWithResults<R>
where
    Streamed<R>: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.run.len() + 1))?;
        let mut results = Some(&self.results);
        for (key, value) in &self.run {
            if key.as_str() > "results"
                && let Some(results) = results.take()
            {
                map.serialize_entry("results", results)?;
            }
            map.serialize_entry(key, value)?;
        }
        if let Some(results) = results {
            map.serialize_entry("results", results)?;
        }
        map.end()
    }
}

/// Everything of the run but its results: the tool and its rules, the parse errors as
/// notifications, the root.
fn run_without_results(
    report: &Report<'_>,
    root: &Path,
) -> io::Result<serde_json::Map<String, serde_json::Value>> {
    let metas = rules::all_meta();
    let mut notifications = Vec::new();
    for file in report.files {
        let location = artifact(&file.path, root);
        for error in &file.errors {
            let mut physical = sarif::PhysicalLocation::builder()
                .artifact_location(location.clone())
                .build();
            if let (Some(span), Some(_)) = (error.span, error.position) {
                physical.region = Some(region(file, span));
            }
            notifications.push(
                sarif::Notification::builder()
                    .level(serde_json::json!(sarif::NotificationLevel::Error))
                    .message(sentence(&error.message).as_str())
                    .locations(vec![
                        sarif::Location::builder()
                            .physical_location(physical)
                            .build(),
                    ])
                    .build(),
            );
        }
    }
    let driver = sarif::ToolComponent::builder()
        .name("layerwise")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(metas.iter().map(descriptor).collect::<Vec<_>>())
        .build();
    let invocation = sarif::Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();
    let mut bases = BTreeMap::new();
    bases.insert(
        SRCROOT.to_string(),
        sarif::ArtifactLocation::builder()
            .uri(directory_uri(root))
            .build(),
    );
    let run = sarif::Run::builder()
        .tool(driver)
        .invocations(vec![invocation])
        .original_uri_base_ids(bases)
        .column_kind(serde_json::json!(sarif::ResultColumnKind::Utf16CodeUnits))
        .build();
    match serde_json::to_value(run)? {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(io::Error::other("a SARIF run is an object")),
    }
}

/// The results, made one at a time as they are written.
fn results<'a>(report: &'a Report<'a>, root: &'a Path) -> impl Iterator<Item = Expanded<'a>> + 'a {
    let metas = rules::all_meta();
    report.files.iter().flat_map(move |file| {
        let location = Shared(Rc::new(artifact(&file.path, root)));
        let mut fingerprints = Fingerprints::new(file);
        file.diagnostics.iter().map(move |d| Expanded {
            file,
            fingerprint: fingerprints.next(&d),
            d,
            location: location.clone(),
            metas,
        })
    })
}

/// A finding, expanded from its compact record, and what its result is made of; the result
/// borrows from it, so it is made as it is written.
struct Expanded<'a> {
    file: &'a FileResult,
    d: Cow<'a, Diagnostic>,
    location: Shared<sarif::ArtifactLocation>,
    fingerprint: String,
    metas: &'a [RuleMeta],
}

impl Serialize for Expanded<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Expanded {
            file,
            d,
            location,
            fingerprint,
            metas,
        } = self;
        result(file, d, location, fingerprint, metas).serialize(serializer)
    }
}

fn descriptor(meta: &RuleMeta) -> sarif::ReportingDescriptor {
    let level = match meta.severity {
        Severity::Error => sarif::ReportingConfigurationLevel::Error,
        Severity::Warning => sarif::ReportingConfigurationLevel::Warning,
        Severity::Info => sarif::ReportingConfigurationLevel::Note,
    };
    let what = section(meta.docs, "What it does");
    let markdown = format!(
        "{what}\n\n**Why.** {}\n\n[Docs, examples and fix safety]({})",
        section(meta.docs, "Why"),
        meta.url()
    );
    sarif::ReportingDescriptor::builder()
        .id(meta.id.as_str())
        .name(pascal_case(&meta.name))
        .short_description(&sentence(&meta.summary))
        .full_description(&sentence(&what))
        .help(
            sarif::MultiformatMessageString::builder()
                .text(sentence(&what))
                .markdown(markdown)
                .build(),
        )
        .help_uri(meta.url())
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(serde_json::json!(level))
                .build(),
        )
        .build()
}

// A result is written from these borrowed views rather than from serde-sarif's owned types,
// which cost a copy of every string and a map per result. Their keys are in serde-sarif's
// (alphabetical) order, so the output is the same.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<[FixView<'a>; 1]>,
    level: &'static str,
    locations: [LocationView; 1],
    message: Text<Sentence<'a>>,
    partial_fingerprints: PartialFingerprints<'a>,
    rule_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationView {
    physical_location: PhysicalView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalView {
    artifact_location: Shared<sarif::ArtifactLocation>,
    region: RegionView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegionView {
    end_column: usize,
    end_line: usize,
    start_column: usize,
    start_line: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixView<'a> {
    artifact_changes: [ArtifactChangeView<'a>; 1],
    description: Text<Sentence<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChangeView<'a> {
    artifact_location: Shared<sarif::ArtifactLocation>,
    replacements: Vec<ReplacementView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplacementView<'a> {
    deleted_region: RegionView,
    inserted_content: Text<&'a str>,
}

/// A file's location, made once and written with each of its results.
#[derive(Clone)]
struct Shared<T>(Rc<T>);

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// `{"text": …}`, SARIF's message and content objects.
#[derive(Serialize)]
struct Text<T> {
    text: T,
}

#[derive(Serialize)]
struct PartialFingerprints<'a> {
    /// The key of our fingerprint; its version changes if the recipe does.
    #[serde(rename = "layerwiseFingerprint/v1")]
    v1: &'a str,
}

/// A message and a suffix as a sentence (SARIF wants them so), written without building it.
struct Sentence<'a>(&'a str, &'a str);

impl Serialize for Sentence<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::fmt::Display for Sentence<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As `sentence` does to the two joined: trimmed, and a full stop unless one ends it.
        let (head, tail) = match self.1 {
            "" => (self.0.trim(), ""),
            tail => (self.0.trim_start(), tail.trim_end()),
        };
        f.write_str(head)?;
        f.write_str(tail)?;
        let last = if tail.is_empty() { head } else { tail };
        if !last.ends_with(['.', '!', '?']) {
            f.write_str(".")?;
        }
        Ok(())
    }
}

fn result<'a>(
    file: &'a FileResult,
    d: &'a Diagnostic,
    location: &Shared<sarif::ArtifactLocation>,
    fingerprint: &'a str,
    metas: &[RuleMeta],
) -> ResultView<'a> {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    };
    ResultView {
        fixes: d
            .fix
            .as_ref()
            .and_then(|f| sarif_fix(file, f, location))
            .map(|f| [f]),
        level,
        locations: [LocationView {
            physical_location: PhysicalView {
                artifact_location: location.clone(),
                region: region_view(file, d.span),
            },
        }],
        message: Text {
            text: Sentence(&d.message, ""),
        },
        partial_fingerprints: PartialFingerprints { v1: fingerprint },
        rule_id: d.rule,
        rule_index: metas.iter().position(|m| m.id == d.rule),
    }
}

/// A fix as SARIF replacements. Fixes that only write other files (a `.dockerignore`) have no
/// replacement in the Dockerfile and are left out.
fn sarif_fix<'a>(
    file: &FileResult,
    fix: &'a crate::fix::Fix,
    location: &Shared<sarif::ArtifactLocation>,
) -> Option<FixView<'a>> {
    if fix.edits.is_empty() {
        return None;
    }
    let replacements = fix
        .edits
        .iter()
        .map(|edit| ReplacementView {
            deleted_region: region_view(file, edit.span),
            inserted_content: Text { text: &edit.text },
        })
        .collect();
    let safety = match fix.safety {
        Safety::Safe => " (safe)",
        Safety::Unsafe => " (unsafe: it changes what is installed or the order of steps)",
        Safety::DisplayOnly => " (a suggestion, never applied by `layerwise fix`)",
    };
    Some(FixView {
        artifact_changes: [ArtifactChangeView {
            artifact_location: location.clone(),
            replacements,
        }],
        description: Text {
            text: Sentence(&fix.title, safety),
        },
    })
}

fn region_view(file: &FileResult, span: Span) -> RegionView {
    let start = file.position(span.start);
    let end = file.position(span.end);
    RegionView {
        end_column: end.utf16_column + 1,
        end_line: end.line + 1,
        start_column: start.utf16_column + 1,
        start_line: start.line + 1,
    }
}

fn region(file: &FileResult, span: Span) -> sarif::Region {
    let start = file.position(span.start);
    let end = file.position(span.end);
    sarif::Region::builder()
        .start_line(start.line as i64 + 1)
        .start_column(start.utf16_column as i64 + 1)
        .end_line(end.line as i64 + 1)
        .end_column(end.utf16_column as i64 + 1)
        .build()
}

/// Where a file is: relative to `root` under `%SRCROOT%`, or an absolute `file:` URI when it
/// is elsewhere.
fn artifact(path: &Path, root: &Path) -> sarif::ArtifactLocation {
    if path == Path::new("-") {
        return sarif::ArtifactLocation::builder().uri("stdin").build();
    }
    let absolute = normalize(&root.join(path));
    match absolute.strip_prefix(root) {
        Ok(relative) => sarif::ArtifactLocation::builder()
            .uri(encode(&slashed(relative)))
            .uri_base_id(SRCROOT)
            .build(),
        Err(_) => sarif::ArtifactLocation::builder()
            .uri(format!("file://{}", encode(&slashed(&absolute))))
            .build(),
    }
}

fn directory_uri(root: &Path) -> String {
    let mut path = slashed(root);
    if !path.ends_with('/') {
        path.push('/');
    }
    format!("file://{}", encode(&path))
}

/// `a/./b/../c` is `a/c`, without asking the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn slashed(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn encode(path: &str) -> String {
    utf8_percent_encode(path, PATH).to_string()
}

/// SARIF wants messages as sentences.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

fn pascal_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The paragraphs of a docs section, joined into one.
fn section(docs: &str, name: &str) -> String {
    let Some(start) = docs.find(&format!("## {name}\n")) else {
        return String::new();
    };
    let body = &docs[start + name.len() + 4..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    body.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_to_the_root_and_encoded() {
        let root = Path::new("/work/repo");
        let inside = artifact(Path::new("./svc/my app/Dockerfile"), root);
        assert_eq!(inside.uri.as_deref(), Some("svc/my%20app/Dockerfile"));
        assert_eq!(inside.uri_base_id.as_deref(), Some(SRCROOT));
        let outside = artifact(Path::new("../other/Dockerfile"), root);
        assert_eq!(
            outside.uri.as_deref(),
            Some("file:///work/other/Dockerfile")
        );
        assert!(outside.uri_base_id.is_none());
        assert_eq!(directory_uri(root), "file:///work/repo/");
    }

    #[test]
    fn names_and_sentences() {
        assert_eq!(pascal_case("apt-lists-not-cleaned"), "AptListsNotCleaned");
        assert_eq!(sentence("a `b`"), "a `b`.");
        assert_eq!(sentence("done."), "done.");
    }
}
