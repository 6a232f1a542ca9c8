//! `layerwise explain LW102`: a rule's docs.

use std::io::Write;

use super::Exit;
use crate::rules::lookup;

pub fn run(key: &str) -> Exit {
    let Some(meta) = lookup(key) else {
        if let Some(code) = crate::hadolint::uncovered(key) {
            // Not an error: the answer is that this is hadolint's business.
            let name = if code.code == "SC" {
                key.to_ascii_uppercase()
            } else {
                code.code.to_string()
            };
            let text = format!(
                "{name} is a hadolint rule layerwise does not cover: {}.\n\
                 layerwise's rules are about layers, bytes and cache; `layerwise rules` lists \
                 them, with the hadolint codes they cover.\n",
                code.checks
            );
            return match std::io::stdout().write_all(text.as_bytes()) {
                Ok(()) => Exit::Clean,
                Err(_) => Exit::Trouble,
            };
        }
        eprintln!("error: {}", crate::config::unknown_rule(key));
        return Exit::Trouble;
    };
    let mut text = format!(
        "{} {} ({}; fix: {})\n",
        meta.id,
        meta.name,
        meta.severity.as_str(),
        meta.fix.as_str()
    );
    if !meta.aliases.is_empty() {
        text.push_str(&format!("aliases: {}\n", meta.aliases.join(", ")));
    }
    text.push('\n');
    // The docs start with their own `# ID name` heading; the line above already says it.
    let body = meta
        .docs
        .split_once('\n')
        .map_or(meta.docs, |(first, rest)| {
            if first.starts_with("# ") {
                rest.trim_start()
            } else {
                meta.docs
            }
        });
    text.push_str(body);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => Exit::Clean,
        Err(_) => Exit::Trouble,
    }
}
