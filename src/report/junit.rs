//! `--format junit`: JUnit XML, which Jenkins, GitLab, Azure Pipelines and most CI dashboards
//! count. Each file is a test suite and each rule that ran on it a test case, failed when the
//! rule found something there (one `<failure>` listing its findings: dashboards read the
//! first only). A file that does not parse is an `<error>` of the case `parse`.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::{FileResult, Report, Reporter};
use crate::diagnostic::Diagnostic;
use crate::rules;

pub struct Junit;

/// One file's test cases: each rule that ran, and each rule that found something there, in
/// rule order, with how many findings it has. The findings themselves are walked again per case
/// as they are written (a pass per rule, and rules are few), so nothing of them is held.
fn cases(file: &FileResult) -> Vec<(&'static str, usize)> {
    let mut cases: Vec<(&'static str, usize)> = file.rules.iter().map(|&r| (r, 0)).collect();
    for d in &file.diagnostics {
        match cases.iter_mut().find(|(r, _)| *r == d.rule) {
            Some((_, found)) => *found += 1,
            None => cases.push((d.rule, 1)),
        }
    }
    cases.sort_by_key(|(r, _)| *r);
    cases
}

/// How many test cases, failures and errors a file's suite holds.
fn counts(file: &FileResult, cases: &[(&'static str, usize)]) -> (usize, usize, usize) {
    let errors = file.errors.len().min(1);
    let failures = cases.iter().filter(|(_, found)| *found > 0).count();
    (cases.len() + errors, failures, errors)
}

impl Reporter for Junit {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let (mut tests, mut failures, mut errors) = (0, 0, 0);
        for file in report.files {
            let (t, f, e) = counts(file, &cases(file));
            tests += t;
            failures += f;
            errors += e;
        }
        let mut buffered = io::BufWriter::with_capacity(64 << 10, out);
        let mut writer = Writer::new_with_indent(&mut buffered, b' ', 2);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        writer
            .create_element("testsuites")
            .with_attribute(("name", "layerwise"))
            .with_attribute(("tests", tests.to_string().as_str()))
            .with_attribute(("failures", failures.to_string().as_str()))
            .with_attribute(("errors", errors.to_string().as_str()))
            .write_inner_content(|w| {
                for file in report.files {
                    suite(w, file)?;
                }
                Ok(())
            })?;
        writeln!(buffered)?;
        buffered.flush()
    }
}

fn suite<W: Write>(w: &mut Writer<W>, file: &FileResult) -> io::Result<()> {
    let cases = cases(file);
    let (tests, failures, errors) = counts(file, &cases);
    w.create_element("testsuite")
        .with_attribute(("name", file.display.as_str()))
        .with_attribute(("tests", tests.to_string().as_str()))
        .with_attribute(("failures", failures.to_string().as_str()))
        .with_attribute(("errors", errors.to_string().as_str()))
        .with_attribute(("file", file.display.as_str()))
        .write_inner_content(|w| {
            if let Some(first) = file.errors.first() {
                w.create_element("testcase")
                    .with_attribute(("name", "parse"))
                    .with_attribute(("classname", file.display.as_str()))
                    .write_inner_content(|w| {
                        w.create_element("error")
                            .with_attribute(("message", first.message.as_str()))
                            .with_attribute(("type", "parse-error"))
                            .write_inner_content(|w| {
                                for (n, e) in file.errors.iter().enumerate() {
                                    let line = match e.position {
                                        Some(p) => format!(
                                            "{}:{}:{}: {}",
                                            file.display,
                                            p.line + 1,
                                            p.column + 1,
                                            e.message
                                        ),
                                        None => format!("{}: {}", file.display, e.message),
                                    };
                                    let line = if n > 0 { format!("\n{line}") } else { line };
                                    w.write_event(Event::Text(BytesText::new(&line)))?;
                                }
                                Ok(())
                            })?;
                        Ok(())
                    })?;
            }
            for &(rule, found) in &cases {
                case(w, file, rule, found)?;
            }
            Ok(())
        })?;
    Ok(())
}

/// One rule's test case: empty when it found nothing, else a `<failure>` listing its findings,
/// written one by one.
fn case<W: Write>(
    w: &mut Writer<W>,
    file: &FileResult,
    rule: &'static str,
    found: usize,
) -> io::Result<()> {
    let name = match rules::meta(rule) {
        Some(meta) => format!("{rule} {}", meta.name),
        None => rule.to_string(),
    };
    let case = w
        .create_element("testcase")
        .with_attribute(("name", name.as_str()))
        .with_attribute(("classname", file.display.as_str()));
    let findings = || file.diagnostics.iter().filter(move |d| d.rule == rule);
    let Some(first) = findings().next() else {
        case.write_empty()?;
        return Ok(());
    };
    let message = match found {
        1 => first.message.to_string(),
        n => format!("{n} findings; the first: {}", first.message),
    };
    let kind = findings()
        .map(|d| d.severity)
        .max()
        .map_or("warning", |s| s.as_str());
    case.write_inner_content(|w| {
        w.create_element("failure")
            .with_attribute(("message", message.as_str()))
            .with_attribute(("type", kind))
            .write_inner_content(|w| {
                for d in findings() {
                    w.write_event(Event::Text(BytesText::new(&finding_text(file, &d))))?;
                }
                Ok(())
            })?;
        Ok(())
    })?;
    Ok(())
}

fn finding_text(file: &FileResult, d: &Diagnostic) -> String {
    let p = file.position(d.span.start);
    let mut text = format!(
        "{}:{}:{}: {}: {}\n",
        file.display,
        p.line + 1,
        p.column + 1,
        d.severity,
        d.message
    );
    if let Some(help) = &d.help {
        text.push_str(&format!("  help: {help}\n"));
    }
    if let Some(fix) = &d.fix {
        text.push_str(&format!("  fix ({}): {}\n", fix.safety.as_str(), fix.title));
    }
    text
}
