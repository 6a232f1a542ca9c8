//! LW401 missing-dockerignore: the whole context is copied and nothing keeps junk out of it.

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::{FileChange, Fix, Safety};
use crate::model::context::{ignore_lines, needed_sources};
use crate::model::paths::copies_whole_context;
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::first_line;

pub struct MissingDockerignore;

impl Rule for MissingDockerignore {
    fn id(&self) -> &'static str {
        "LW401"
    }

    fn reads_context(&self) -> bool {
        true
    }

    fn check(&self, cx: &Context<'_>, out: &mut Findings) {
        let Some(context) = cx.context.as_ref() else {
            return;
        };
        let Some(copy) = cx.df.instructions().find(|i| copies_whole_context(i)) else {
            return;
        };
        let ignore_file = context.ignore_file();
        // Podman and Buildah read a .containerignore: such a project has chosen its ignore file.
        if ignore_file.found || ignore_file.containerignore {
            return;
        }
        let path = &ignore_file.path;
        let needed = needed_sources(cx.df);
        let unwanted = context.unwanted(&|_| false, &needed);
        // Nothing to keep out: an ignore file would change nothing.
        if unwanted.is_empty() {
            return;
        }
        let fix = Some({
            Fix::new(
                format!(
                    "create {} excluding {} path(s)",
                    path.display(),
                    unwanted.len()
                ),
                Safety::Unsafe,
                Vec::new(),
            )
            .with_file(FileChange::Create {
                path: path.clone(),
                text: format!(
                    "# Kept out of the build context (written by layerwise)\n{}",
                    ignore_lines(&unwanted)
                ),
            })
        });
        let examples = unwanted
            .iter()
            .take(3)
            .map(|u| format!("`{}`", u.path))
            .collect::<Vec<_>>()
            .join(", ");
        let detail = if examples.is_empty() {
            String::new()
        } else {
            format!(", including {examples}")
        };
        out.push(
            Diagnostic::new(
                self.id(),
                first_line(cx.df, copy),
                format!(
                    "the whole build context is copied and it has no .dockerignore: everything in it goes to the builder and into the image{detail}"
                ),
            )
            .with_help("add a .dockerignore next to the Dockerfile that excludes what the image does not need")
            .with_fix(fix),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::fix::{FileChange, Safety};
    use crate::fixer::fix_text;
    use crate::lint::{LintOptions, lint};
    use crate::syntax::Dockerfile;

    fn options(dir: &std::path::Path) -> LintOptions {
        LintOptions {
            path: Some(dir.join("Dockerfile")),
            only: Some(vec!["LW401".into()]),
            ..LintOptions::default()
        }
    }

    #[test]
    fn fires_only_without_an_ignore_file() {
        let dir = tempfile::tempdir().unwrap();
        let df = Dockerfile::parse("FROM a\nCOPY . /app\n");
        // A context with nothing to keep out needs no ignore file.
        std::fs::write(dir.path().join("main.go"), "package main\n").unwrap();
        assert!(lint(&df, &options(dir.path())).is_empty());
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        assert_eq!(lint(&df, &options(dir.path())).len(), 1);
        // Podman's and Buildah's own ignore file counts.
        std::fs::write(dir.path().join(".containerignore"), ".git\n").unwrap();
        assert!(lint(&df, &options(dir.path())).is_empty());
        std::fs::remove_file(dir.path().join(".containerignore")).unwrap();
        std::fs::write(dir.path().join("Dockerfile.dockerignore"), ".git\n").unwrap();
        assert!(lint(&df, &options(dir.path())).is_empty());
        let specific = Dockerfile::parse("FROM a\nCOPY src /app\n");
        std::fs::remove_file(dir.path().join("Dockerfile.dockerignore")).unwrap();
        assert!(lint(&specific, &options(dir.path())).is_empty());
    }

    #[test]
    fn fix_creates_it_from_what_the_context_holds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("node_modules/a")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".env"), "X=1").unwrap();
        let outcome = fix_text(
            "FROM a\nCOPY . /app\nCOPY .env /app/.env\n",
            &options(dir.path()),
            Safety::Unsafe,
        );
        assert_eq!(outcome.applied, ["LW401"]);
        assert_eq!(
            outcome.files,
            [FileChange::Create {
                path: dir.path().join(".dockerignore"),
                text:
                    "# Kept out of the build context (written by layerwise)\n.git\nnode_modules\n"
                        .into()
            }]
        );
    }

    #[test]
    fn never_excludes_what_copy_patterns_folders_or_bind_mounts_read() {
        let dir = tempfile::tempdir().unwrap();
        for d in [".git", "node_modules/a", "keys", "conf"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("keys/a.key"), "k").unwrap();
        std::fs::write(dir.path().join("conf/tls.key"), "k").unwrap();
        let text = "FROM node\nFROM a AS b\nCOPY conf /etc/conf\nCOPY keys/*.key /keys/\n\
                    COPY --from=0 node_modules /n\n\
                    RUN --mount=type=bind,source=.git,target=/src/.git git -C /src describe\n\
                    COPY . .\n";
        let outcome = fix_text(text, &options(dir.path()), Safety::Unsafe);
        assert_eq!(
            outcome.files,
            [FileChange::Create {
                path: dir.path().join(".dockerignore"),
                text: "# Kept out of the build context (written by layerwise)\nnode_modules\n"
                    .into()
            }]
        );
    }
}
