//! `--format checkstyle`: Checkstyle's XML, which Jenkins (warnings-ng), GitLab tools and many
//! review bots read. Written with quick-xml, which does the escaping.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, Event};

use super::{Report, Reporter};

pub struct Checkstyle;

impl Reporter for Checkstyle {
    fn write(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut writer = Writer::new_with_indent(&mut *out, b' ', 2);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        writer
            .create_element("checkstyle")
            .with_attribute(("version", "4.3"))
            .write_inner_content(|w| {
                for file in report.files {
                    let element = w
                        .create_element("file")
                        .with_attribute(("name", file.display.as_str()));
                    if file.errors.is_empty() && file.diagnostics.is_empty() {
                        element.write_empty()?;
                        continue;
                    }
                    element.write_inner_content(|w| {
                        for error in &file.errors {
                            let (line, column) =
                                error.position.map_or((String::new(), String::new()), |p| {
                                    ((p.line + 1).to_string(), (p.column + 1).to_string())
                                });
                            let mut e = w.create_element("error");
                            if !line.is_empty() {
                                e = e
                                    .with_attribute(("line", line.as_str()))
                                    .with_attribute(("column", column.as_str()));
                            }
                            e.with_attribute(("severity", "error"))
                                .with_attribute(("message", error.message.as_str()))
                                .with_attribute(("source", "layerwise.parse"))
                                .write_empty()?;
                        }
                        for d in &file.diagnostics {
                            let p = file.position(d.span.start);
                            let line = (p.line + 1).to_string();
                            let column = (p.column + 1).to_string();
                            let source = format!("layerwise.{}", d.rule);
                            w.create_element("error")
                                .with_attribute(("line", line.as_str()))
                                .with_attribute(("column", column.as_str()))
                                .with_attribute(("severity", d.severity.as_str()))
                                .with_attribute(("message", d.message.as_str()))
                                .with_attribute(("source", source.as_str()))
                                .write_empty()?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
        writeln!(out)
    }
}
