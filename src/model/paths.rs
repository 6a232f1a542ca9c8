//! Paths inside the image and the build context: which COPY/ADD sources mean "the whole
//! context", and (from [`crate::unixpath`]) resolving against WORKDIR and containment.

use crate::syntax::{Instruction, Keyword};

pub use crate::unixpath::{resolve, within};

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
    let heredocs: Vec<&str> = inst.heredocs().iter().map(|h| h.name.as_str()).collect();
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
