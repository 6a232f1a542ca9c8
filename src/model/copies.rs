//! What a COPY or ADD brings in: its sources (the build context, another stage, an image, a
//! remote URL, a heredoc; whether ADD unpacks an archive), its destination resolved against
//! WORKDIR, and its flags.

use crate::knowledge::tools::is_archive;
use crate::model::stages::{Source, Stages};
use crate::model::vars::State;
use crate::syntax::{Instruction, Keyword};
use crate::unixpath::resolve;

/// Where one source of a COPY/ADD comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The build context, by a path relative to it (a pattern, maybe).
    Context,
    /// Another stage of this file (`--from=build`).
    Stage(usize),
    /// An image (`--from=nginx:1`).
    Image(String),
    /// A remote file or repository (ADD only).
    Url,
    /// A heredoc of the instruction (`COPY <<EOF /x`).
    Heredoc,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopySource {
    /// As written, variables expanded where known.
    pub path: String,
    pub origin: Origin,
    /// ADD unpacks a local tar archive into the destination.
    pub unpacked: bool,
}

/// A COPY or ADD, understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    pub sources: Vec<CopySource>,
    /// The destination as written (expanded).
    pub dest: String,
    /// Absolute; `None` when relative to a WORKDIR that is not known.
    pub dest_abs: Option<String>,
    /// The sources go into `dest` as a folder (a trailing `/`, or several sources).
    pub into_dir: bool,
    pub chmod: Option<String>,
    pub chown: Option<String>,
    pub link: bool,
}

impl Copy {
    /// Where a source lands: `dest/<name>` into a folder, else `dest` itself. `None` when the
    /// destination is not known.
    pub fn landing(&self, source: &CopySource) -> Option<String> {
        let dest = self.dest_abs.as_deref()?;
        let name = source
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        Some(
            if self.into_dir && !matches!(name, "" | "." | "*") && !source.unpacked {
                resolve(dest, name)
            } else {
                dest.to_string()
            },
        )
    }
}

/// Reads a COPY or ADD; `None` for other instructions.
pub fn read(inst: &Instruction, state: Option<&State>, stages: &Stages<'_>) -> Option<Copy> {
    if !matches!(inst.keyword, Keyword::Copy | Keyword::Add) {
        return None;
    }
    let (sources, dest) = inst.copy_paths()?;
    let expand = |raw: &str| {
        state
            .and_then(|s| s.vars.expand(raw))
            .unwrap_or_else(|| raw.to_string())
    };
    let from = inst
        .flag("from")
        .and_then(|f| f.value.as_deref())
        .map(|f| stages.source(f));
    let heredocs: Vec<&str> = inst.heredocs().iter().map(|h| h.name.as_str()).collect();
    let add = inst.keyword == Keyword::Add;
    let sources: Vec<CopySource> = sources
        .iter()
        .map(|raw| {
            let path = expand(raw);
            let origin = match &from {
                Some(Source::Stage(s)) => Origin::Stage(*s),
                Some(Source::Image(i)) => Origin::Image(i.clone()),
                None if raw.starts_with("<<") || heredocs.contains(&raw.as_str()) => {
                    Origin::Heredoc
                }
                None if add && (path.contains("://") || path.starts_with("git@")) => Origin::Url,
                None => Origin::Context,
            };
            let unpacked = add && origin == Origin::Context && is_archive(&path) && {
                let name = path.rsplit('/').next().unwrap_or(&path);
                name.contains(".tar") || name.ends_with(".tgz") || name.ends_with(".txz")
            };
            CopySource {
                path,
                origin,
                unpacked,
            }
        })
        .collect();
    let dest = expand(&dest);
    let workdir = state.and_then(|s| s.workdir.as_deref());
    let dest_abs = match (dest.starts_with('/'), workdir) {
        (true, _) => Some(resolve("/", &dest)),
        (false, Some(w)) => Some(resolve(w, &dest)),
        (false, None) => None,
    };
    Some(Copy {
        into_dir: dest.ends_with('/') || dest == "." || sources.len() > 1,
        sources,
        dest,
        dest_abs,
        chmod: inst.flag("chmod").and_then(|f| f.value.clone()),
        chown: inst.flag("chown").and_then(|f| f.value.clone()),
        link: inst
            .flag("link")
            .is_some_and(|f| f.value.as_deref() != Some("false")),
    })
}

#[cfg(test)]
mod tests {
    use crate::model::{Model, ModelInput};
    use crate::syntax::Dockerfile;

    use super::*;

    fn copies(text: &str) -> Vec<Copy> {
        let df = Dockerfile::parse(text);
        let input = ModelInput::default();
        let model = Model::new(&df, &input);
        df.instructions().filter_map(|i| model.copy(i)).collect()
    }

    #[test]
    fn sources_destinations_and_flags() {
        let got = copies(
            "FROM alpine AS build\nFROM scratch\nWORKDIR /app\nENV D=conf\n\
             COPY --from=build --chmod=755 /out/bin ./\n\
             ADD https://x/a.tgz vendor.tar.gz $D/ /opt/\n\
             COPY --link <<EOF /etc/motd\nhi\nEOF\n",
        );
        assert_eq!(got[0].sources[0].origin, Origin::Stage(0));
        assert_eq!(got[0].chmod.as_deref(), Some("755"));
        assert_eq!(
            got[0].landing(&got[0].sources[0]).as_deref(),
            Some("/app/bin")
        );
        let add = &got[1];
        let origins: Vec<&Origin> = add.sources.iter().map(|s| &s.origin).collect();
        assert_eq!(origins, [&Origin::Url, &Origin::Context, &Origin::Context]);
        assert!(!add.sources[0].unpacked && add.sources[1].unpacked);
        assert_eq!(add.sources[2].path, "conf/");
        // An archive ADD unpacks lands in the folder itself.
        assert_eq!(add.landing(&add.sources[1]).as_deref(), Some("/opt"));
        assert_eq!(add.landing(&add.sources[2]).as_deref(), Some("/opt/conf"));
        assert_eq!(got[2].sources[0].origin, Origin::Heredoc);
        assert!(got[2].link);
    }

    #[test]
    fn a_relative_destination_under_an_unknown_workdir_is_unknown() {
        let got = copies("FROM python\nCOPY app.py .\n");
        assert_eq!(got[0].dest_abs, None);
        assert_eq!(got[0].landing(&got[0].sources[0]), None);
    }
}
