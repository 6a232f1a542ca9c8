//! LW402 dockerignore-gaps: a `.dockerignore` exists but lets large or sensitive paths through.

use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::fix::{FileChange, Fix, Safety};
use crate::model::context::{ignore_lines, needed_sources};
use crate::model::paths::copies_whole_context;
use crate::rules::Context;
use crate::rules::Rule;
use crate::rules::edit::first_line;

/// LW402's options: context paths the build needs even though they look unwanted (`.git` for a
/// version stamp).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DockerignoreGapsOptions {
    /// Paths relative to the build context, `/`-separated.
    #[serde(default)]
    pub allow: Vec<String>,
}

pub struct DockerignoreGaps;

impl Rule for DockerignoreGaps {
    fn id(&self) -> &'static str {
        "LW402"
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
        let path = &ignore_file.path;
        // A file Docker would refuse is the build's problem to report, not a gap.
        let (Some(text), Some(ignore)) = (&ignore_file.text, &ignore_file.parsed) else {
            return;
        };
        // Paths the config allows count as needed, like those a COPY names.
        let allowed = &cx.options.dockerignore_gaps.allow;
        let mut needed = needed_sources(cx.df);
        needed.extend(allowed.iter().map(|a| a.trim_matches('/').to_string()));
        let gaps = context.unwanted(&|p| ignore.is_excluded(p), &needed);
        if gaps.is_empty() {
            return;
        }
        let listed = gaps
            .iter()
            .take(4)
            .map(|g| format!("`{}` ({})", g.path, g.why))
            .collect::<Vec<_>>()
            .join(", ");
        let more = if gaps.len() > 4 {
            format!(" and {} more", gaps.len() - 4)
        } else {
            String::new()
        };
        let separator = if text.is_empty() || text.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let appended = format!("{separator}# Added by layerwise\n{}", ignore_lines(&gaps));
        let fix = Fix::new(
            format!(
                "add {} to {}",
                plural(gaps.len(), "entry", "entries"),
                path.display()
            ),
            Safety::Unsafe,
            Vec::new(),
        )
        .with_file(FileChange::Append {
            path: path.clone(),
            text: appended,
        });
        out.push(
            Diagnostic::new(
                self.id(),
                first_line(cx.df, copy),
                format!(
                    "the whole context is copied and {} does not exclude {listed}{more}",
                    path.file_name().map_or_else(
                        || path.display().to_string(),
                        |n| n.to_string_lossy().into_owned()
                    ),
                ),
            )
            .with_help("add them to the .dockerignore unless the image needs them")
            .with_fix(Some(fix)),
        );
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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
            only: Some(vec!["LW402".into()]),
            ..LintOptions::default()
        }
    }

    #[test]
    fn allowed_paths_from_the_config_are_not_gaps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*.log\n").unwrap();
        let df = Dockerfile::parse("FROM a\nCOPY . /app\n");
        assert_eq!(lint(&df, &options(dir.path())).len(), 1);
        let configured = LintOptions {
            config: crate::rules::test_support::configured("rules: {LW402: {allow: [.git/]}}")
                .config,
            ..options(dir.path())
        };
        assert!(lint(&df, &configured).is_empty());
    }

    #[test]
    fn gaps_are_what_the_ignore_file_lets_through() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::create_dir_all(dir.path().join("node_modules/a")).unwrap();
        std::fs::write(dir.path().join("deploy.pem"), "k").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "node_modules\n**/*.pem").unwrap();
        let df = Dockerfile::parse("FROM a\nCOPY . /app\n");
        let found = lint(&df, &options(dir.path()));
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("`.git` (version control history)"),
            "{}",
            found[0].message
        );
        assert!(!found[0].message.contains("node_modules"));
        let outcome = fix_text(df.text(), &options(dir.path()), Safety::Unsafe);
        assert_eq!(
            outcome.files,
            [FileChange::Append {
                path: dir.path().join(".dockerignore"),
                text: "\n# Added by layerwise\n.git\n".into()
            }]
        );
    }

    #[test]
    fn exceptions_and_needed_paths_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "A=1").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*\n!src\n").unwrap();
        let df = Dockerfile::parse("FROM a\nCOPY . /app\n");
        assert!(
            lint(&df, &options(dir.path())).is_empty(),
            "`*` excludes everything"
        );
        std::fs::write(dir.path().join(".dockerignore"), "docs\n").unwrap();
        let needs_env = Dockerfile::parse("FROM a\nCOPY . /app\nCOPY .env /app/\n");
        assert!(
            lint(&needs_env, &options(dir.path())).is_empty(),
            "a COPY names .env"
        );
    }

    #[test]
    fn never_adds_what_copy_patterns_folders_or_bind_mounts_read() {
        let dir = tempfile::tempdir().unwrap();
        for d in [".git", "keys", "conf", ".ssh"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("keys/a.key"), "k").unwrap();
        std::fs::write(dir.path().join("conf/tls.key"), "k").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "*.log\n").unwrap();
        let text = "FROM a\nCOPY conf /etc/conf\nCOPY keys/*.key /keys/\n\
                    RUN --mount=source=.git,target=/src/.git git -C /src describe\n\
                    COPY . .\n";
        let outcome = fix_text(text, &options(dir.path()), Safety::Unsafe);
        assert_eq!(
            outcome.files,
            [FileChange::Append {
                path: dir.path().join(".dockerignore"),
                text: "# Added by layerwise\n.ssh\n".into()
            }]
        );
    }
}
