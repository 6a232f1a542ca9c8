//! `layerwise rules`: the list of rules.

use std::io::Write;

use super::Exit;
use crate::rules::all_meta;

pub fn run(json: bool) -> Exit {
    let mut out = String::new();
    if json {
        let list: Vec<serde_json::Value> = all_meta()
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id, "name": m.name, "severity": m.severity, "fix": m.fix.as_str(),
                    "aliases": m.aliases, "summary": m.summary, "url": m.url(),
                })
            })
            .collect();
        out = serde_json::to_string_pretty(&list).unwrap_or_default();
        out.push('\n');
    } else {
        out.push_str(&format!(
            "{:<6} {:<28} {:<8} {:<13} {}\n",
            "ID", "NAME", "SEVERITY", "FIX", "SUMMARY"
        ));
        for m in all_meta() {
            out.push_str(&format!(
                "{:<6} {:<28} {:<8} {:<13} {}\n",
                m.id,
                m.name,
                m.severity.as_str(),
                m.fix.as_str(),
                m.summary
            ));
        }
    }
    match std::io::stdout().write_all(out.as_bytes()) {
        Ok(()) => Exit::Clean,
        Err(_) => Exit::Trouble,
    }
}
