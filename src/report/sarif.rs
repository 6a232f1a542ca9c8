//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning ingests it, typed by `serde-sarif`.
//!
//! Artifact URIs are relative to the folder layerwise runs in (`%SRCROOT%`, given in
//! `originalUriBaseIds`); columns count UTF-16 code units, SARIF's default. A result's
//! `partialFingerprints` hash its rule, its file, the normalized text of the instruction it is on
//! and how many results before it share those, so they survive edits elsewhere in the file.

use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_sarif::sarif;

use super::{FileResult, Report, Reporter};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Safety;
use crate::rules::{self, RuleMeta};
use crate::source::Span;

pub struct Sarif;

const SRCROOT: &str = "%SRCROOT%";
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of our fingerprint; the version changes if the recipe does.
const FINGERPRINT: &str = "layerwiseFingerprint/v1";

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
        let log = sarif_log(report, &root);
        serde_json::to_writer_pretty(&mut *out, &log)?;
        writeln!(out)
    }
}

/// The whole log for a run whose relative paths are relative to `root`.
pub fn sarif_log(report: &Report<'_>, root: &Path) -> sarif::Sarif {
    let metas = rules::all_meta();
    let mut results = Vec::new();
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
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for d in &file.diagnostics {
            let key = format!(
                "{}\0{}\0{}",
                d.rule,
                file.display,
                context_text(file, d.span)
            );
            let occurrence = seen.entry(key.clone()).or_insert(0);
            let fingerprint = format!("{:016x}:{occurrence}", fnv(&key));
            *occurrence += 1;
            results.push(result(file, d, &location, fingerprint, metas));
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
        .results(results)
        .invocations(vec![invocation])
        .original_uri_base_ids(bases)
        .column_kind(serde_json::json!(sarif::ResultColumnKind::Utf16CodeUnits))
        .build();
    sarif::Sarif::builder()
        .schema(SCHEMA)
        .version(serde_json::json!(sarif::Version::V2_1_0))
        .runs(vec![run])
        .build()
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

fn result(
    file: &FileResult,
    d: &Diagnostic,
    location: &sarif::ArtifactLocation,
    fingerprint: String,
    metas: &[RuleMeta],
) -> sarif::Result {
    let level = match d.severity {
        Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
        Severity::Info => sarif::ResultLevel::Note,
    };
    let physical = sarif::PhysicalLocation::builder()
        .artifact_location(location.clone())
        .region(region(file, d.span))
        .build();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(FINGERPRINT.to_string(), fingerprint);
    let mut result = sarif::Result::builder()
        .rule_id(d.rule)
        .level(level)
        .message(sentence(&d.message).as_str())
        .locations(vec![
            sarif::Location::builder()
                .physical_location(physical)
                .build(),
        ])
        .partial_fingerprints(fingerprints)
        .build();
    result.rule_index = metas.iter().position(|m| m.id == d.rule).map(|i| i as i64);
    if let Some(fix) = d.fix.as_ref().and_then(|f| sarif_fix(file, f, location)) {
        result.fixes = Some(vec![fix]);
    }
    result
}

/// A fix as SARIF replacements. Fixes that only write other files (a `.dockerignore`) have no
/// replacement in the Dockerfile and are left out.
fn sarif_fix(
    file: &FileResult,
    fix: &crate::fix::Fix,
    location: &sarif::ArtifactLocation,
) -> Option<sarif::Fix> {
    if fix.edits.is_empty() {
        return None;
    }
    let replacements: Vec<sarif::Replacement> = fix
        .edits
        .iter()
        .map(|edit| {
            let mut replacement = sarif::Replacement::builder()
                .deleted_region(region(file, edit.span))
                .build();
            replacement.inserted_content = Some(
                sarif::ArtifactContent::builder()
                    .text(edit.text.as_str())
                    .build(),
            );
            replacement
        })
        .collect();
    let safety = match fix.safety {
        Safety::Safe => "safe",
        Safety::Unsafe => "unsafe: it changes what is installed or the order of steps",
        Safety::DisplayOnly => "a suggestion, never applied by `layerwise fix`",
    };
    Some(
        sarif::Fix::builder()
            .description(sentence(&format!("{} ({safety})", fix.title)).as_str())
            .artifact_changes(vec![
                sarif::ArtifactChange::builder()
                    .artifact_location(location.clone())
                    .replacements(replacements)
                    .build(),
            ])
            .build(),
    )
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

/// The text a fingerprint rests on: the instruction (or comment line) holding the span, its
/// whitespace collapsed, so moving it or re-indenting it keeps the fingerprint.
fn context_text(file: &FileResult, span: Span) -> String {
    let Some(df) = &file.source else {
        return String::new();
    };
    let text = match df
        .instructions()
        .find(|i| i.span.start <= span.start && span.start <= i.span.end)
    {
        Some(inst) => df.slice(inst.span),
        None => {
            let line = df.lines().line_of(span.start);
            df.slice(df.lines().line_span(df.text(), line))
        }
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// FNV-1a: a hash whose value never changes between builds (unlike std's).
fn fnv(text: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish()
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
