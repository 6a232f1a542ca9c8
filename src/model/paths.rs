//! Paths inside the image and the build context: resolving against WORKDIR, containment, and
//! which COPY/ADD sources mean "the whole context".

use crate::syntax::{Instruction, Keyword};

/// `path` is `dir` or below it, by whole components.
pub fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// An absolute, normalized image path for `path` written in a stage whose WORKDIR is `workdir`.
pub fn resolve(workdir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", workdir.trim_end_matches('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A COPY or ADD of the whole build context (`COPY . .`, `ADD ./ /app`), not from a stage.
pub fn copies_whole_context(inst: &Instruction) -> bool {
    if !matches!(inst.keyword, Keyword::Copy | Keyword::Add) || inst.flag("from").is_some() {
        return false;
    }
    inst.copy_paths().is_some_and(|(sources, _)| {
        sources
            .iter()
            .any(|s| matches!(s.as_str(), "." | "./" | "./." | "*" | "./*"))
    })
}

/// The sources a COPY/ADD names from the context (not `--from`, not heredocs, not URLs).
pub fn context_sources(inst: &Instruction) -> Vec<String> {
    if !matches!(inst.keyword, Keyword::Copy | Keyword::Add) || inst.flag("from").is_some() {
        return Vec::new();
    }
    let heredocs: Vec<&str> = inst.heredocs.iter().map(|h| h.name.as_str()).collect();
    inst.copy_paths()
        .map(|(sources, _)| {
            sources
                .into_iter()
                .filter(|s| {
                    !s.contains("://") && !s.starts_with("<<") && !heredocs.contains(&s.as_str())
                })
                .map(|s| s.trim_start_matches("./").trim_end_matches('/').to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_against_workdir() {
        assert_eq!(resolve("/app", "dist/../x"), "/app/x");
        assert_eq!(resolve("/app", "/tmp/"), "/tmp");
        assert_eq!(resolve("/", "."), "/");
    }

    #[test]
    fn within_by_components() {
        assert!(within("/var/lib/apt/lists/x", "/var/lib/apt"));
        assert!(!within("/var/lib/aptitude", "/var/lib/apt"));
    }
}
