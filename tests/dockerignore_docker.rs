//! `DockerIgnore` against a real Docker build: for each context below, a build COPYs the whole
//! context into an image and `find` lists what arrived; that must be exactly the files
//! `context_files` says are sent, less those `is_excluded` hides.
//!
//! Needs a daemon at `DOCKER_HOST` with `layerwise/busybox:latest`:
//! `eval "$(scripts/docker-env.sh start /tmp/lw-d)"; scripts/docker-env.sh images busybox`.
//! Without one the test is skipped with the reason printed, unless `CI` is set: then it fails.
//!
//! The classic builder runs every case. BuildKit runs where a CLI can drive it (buildx, or a
//! Docker 20.10 CLI with its built-in BuildKit); it skips the cases marked classic-only, whose
//! outcome depends on the version of the sender's filter (see `CLASSIC_ONLY`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use layerwise::dockerignore::{Builder, DockerIgnore};

const BASE_IMAGE: &str = "layerwise/busybox:latest";
const DOCKERFILE: &str = "FROM layerwise/busybox\nCOPY . /ctx/\n";

struct Case {
    name: &'static str,
    /// Empty files to create (their content is their name).
    files: &'static [&'static str],
    /// `(path, text)`: the ignore files.
    ignore_files: &'static [(&'static str, &'static str)],
    /// Where the Dockerfile goes, relative to the context.
    dockerfile: &'static str,
    /// Whether BuildKit is left out: a walk quirk where Docker 20.10's BuildKit client (an old
    /// fsutil) and today's differ; the model follows today's, which this test cannot run here.
    classic_only: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "exceptions_under_excluded_dirs",
        files: &[
            "README.md",
            "docs/a.md",
            "docs/keep.md",
            "docs/sub/b.md",
            "docs/sub/c.txt",
            "docs/other/keep.md",
        ],
        ignore_files: &[(".dockerignore", "docs\n!docs/keep.md\n!docs/sub/*.md\n")],
        dockerfile: "Dockerfile",
        classic_only: false,
    },
    Case {
        name: "double_star",
        files: &[
            "main.go",
            "cmd/main.go",
            "cmd/app/main.go",
            "cmd/app/util.go",
            "cmd/app/testdata/main.go",
            "pkg/a/b/c.go",
            "pkg/a/testdata/in.txt",
            "testdata/x.txt",
            "notes.txt",
            "README.md",
            "README.dev.md",
            "CHANGES.md",
            "assets/logo.png",
            "assets/style.css",
            "assets/icons/a.png",
            "logs/2024/01/app.log",
            "logsx/a",
        ],
        ignore_files: &[(
            ".dockerignore",
            "**/*.go\n!cmd/**/main.go\n**/testdata\n*.md\n!README*.md\n\
             assets/**\n!assets/logo.png\nlogs**\n",
        )],
        dockerfile: "Dockerfile",
        classic_only: false,
    },
    Case {
        name: "globs_comments_and_cleaning",
        files: &[
            "# a comment",
            "# indented: a pattern",
            "temp",
            "temp1",
            "temp12",
            "dir/temporary",
            "dir/sub/tempo",
            "ax",
            "cx",
            "dx",
            "ay.txt",
            "dy.txt",
            "*star",
            "xstar",
            "abs/f",
            "dot/f",
            "trail",
            "a.b",
            "axb",
            "q[1]",
        ],
        ignore_files: &[(
            ".dockerignore",
            "# a comment\n   # indented: a pattern\r\n*/temp*\ntemp?\n[a-c]x\n[^a-c]y.txt\n\
             \\*star\n/abs/\n./dot\ntrail/\n../outside\n\n  a.b  \nq\\[1]\n",
        )],
        dockerfile: "Dockerfile",
        classic_only: false,
    },
    Case {
        name: "excluded_dockerfile_and_ignore_file",
        files: &["app.log", "src/a.log", "src/main.c"],
        ignore_files: &[(".dockerignore", "Dockerfile\n.dockerignore\n**/*.log\n")],
        dockerfile: "Dockerfile",
        classic_only: false,
    },
    Case {
        name: "dockerfile_specific_ignore_file",
        files: &["secret.txt", "other.txt"],
        ignore_files: &[
            ("Dockerfile.dockerignore", "secret.txt\n"),
            (".dockerignore", "other.txt\n"),
        ],
        dockerfile: "Dockerfile",
        classic_only: false,
    },
    Case {
        name: "regex_quirks",
        files: &[
            "a/b",
            "axb",
            "ayb",
            "app.log",
            "x/catalog",
            "logs",
            "foobar/baz",
            "fo",
            "a^bc",
            "7x",
            "dx",
            "q/a^b",
        ],
        // What Docker's glob-to-regexp translation makes of these: a negated class matches `/`;
        // `**log` is a plain suffix and `foo**` a plain prefix; a `^` is an anchor, so `a^b*`
        // and `q/^*` match nothing; `\d` is a digit. The 20.10 BuildKit client's older matcher
        // reads `**log` as `(.*/)?log`, so BuildKit is left out.
        ignore_files: &[(".dockerignore", "a[^x]b\n**log\nfoo**\na^b*\n\\dx\nq/^*\n")],
        dockerfile: "Dockerfile",
        classic_only: true,
    },
    Case {
        name: "walk_quirks",
        files: &["top", "keep.md", "docs/keep.md", "docs/x.md", "a/x", "a/y"],
        // `docs` is never read by the classic CLI (no exception starts with it); `a/x` is sent
        // because the last `a` is skipped for the directory and never re-applied below it.
        ignore_files: &[(".dockerignore", "docs\n!**/keep.md\na\n!a/x\na\n")],
        dockerfile: "Dockerfile",
        classic_only: true,
    },
    Case {
        name: "dockerfile_in_excluded_dir",
        files: &["app/keep", "app/drop", "keep", "other"],
        // The CLI appends `!app/build.Dockerfile`, which makes it read `app`, where
        // `!**/keep` then finds `app/keep`.
        ignore_files: &[(".dockerignore", "app\n!**/keep\nother\n")],
        dockerfile: "app/build.Dockerfile",
        classic_only: true,
    },
];

#[test]
fn context_matches_what_docker_receives() {
    let Some(docker) = Docker::reachable() else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for builder in [Builder::Classic, Builder::BuildKit] {
        let Some(cli) = docker.cli_for(builder) else {
            continue;
        };
        for case in CASES {
            if builder == Builder::BuildKit && case.classic_only {
                continue;
            }
            match check(&cli, builder, case) {
                Ok(count) => {
                    checked += 1;
                    eprintln!("{:?} {}: {count} files, as Docker sent", builder, case.name);
                }
                Err(failure) => failures.push(format!("{:?} {}: {failure}", builder, case.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(checked >= CASES.len(), "only {checked} builds were checked");
}

/// Ignore files Docker refuses, each for a reason of its own: we must refuse them too.
const REFUSED: &[&str] = &[
    "ok\n[abc\n", // unterminated class
    "[a-]\n",     // a range without its end
    "x\\\n",      // a trailing backslash
    "!\n",        // a bare exception
    "!/\n",       // one once cleaned
    "[z-a]*\n",   // fine for filepath.Match, not as a regular expression
    "x\\y*\n",    // an escape Go's regexp does not know
];

#[test]
fn refused_where_docker_refuses() {
    let Some(docker) = Docker::reachable() else {
        return;
    };
    let mut failures = Vec::new();
    for builder in [Builder::Classic, Builder::BuildKit] {
        let Some(cli) = docker.cli_for(builder) else {
            continue;
        };
        for text in REFUSED {
            if DockerIgnore::parse(text).is_ok() {
                failures.push(format!("we accept {text:?}"));
            }
            let context = tempfile::tempdir().expect("temp dir");
            let root = context.path();
            write(root, "Dockerfile", DOCKERFILE)
                .and_then(|()| write(root, "f", "f"))
                .and_then(|()| write(root, ".dockerignore", text))
                .expect("context written");
            match cli.copied_files(builder, root, &root.join("Dockerfile"), "refused") {
                Ok(files) => failures.push(format!("{builder:?} built with {text:?}: {files:?}")),
                Err(e) => eprintln!("{builder:?} refuses {text:?}: {}", last_line(&e)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
}

/// Build one case with one builder and compare; the number of files on success.
fn check(cli: &Cli, builder: Builder, case: &Case) -> Result<usize, String> {
    let context = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let root = context.path();
    write(root, case.dockerfile, DOCKERFILE)?;
    for file in case.files {
        write(root, file, file)?;
    }
    for (path, text) in case.ignore_files {
        write(root, path, text)?;
    }
    let dockerfile = root.join(case.dockerfile);

    let (_, ignore) = DockerIgnore::load_for(builder, root, Some(&dockerfile))
        .map_err(|e| format!("our reading: {e}"))?
        .ok_or("our reading found no ignore file")?;
    let sent = ignore.context_files(root);
    let expected: Vec<String> = sent
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !ignore.is_excluded(p))
        .collect();
    let visible = all_files(root)
        .into_iter()
        .filter(|p| !ignore.is_excluded(p))
        .collect::<Vec<_>>();
    if visible != expected {
        return Err(format!(
            "is_excluded and context_files disagree:\n  is_excluded keeps {visible:?}\n  \
             context_files sends {expected:?}"
        ));
    }

    let received = cli.copied_files(builder, root, &dockerfile, case.name)?;
    if received != expected {
        return Err(format!(
            "Docker copied {received:?}\n  we expected {expected:?}\n  .dockerignore: {:?}",
            case.ignore_files
        ));
    }
    Ok(expected.len())
}

fn write(root: &Path, relative: &str, text: &str) -> Result<(), String> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    std::fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// Every non-directory under `root`, relative, sorted.
fn all_files(root: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .filter_map(|e| {
            e.path()
                .strip_prefix(root)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect();
    files.sort();
    files
}

struct Docker;

/// A docker CLI and the environment that makes it use one builder.
struct Cli {
    program: PathBuf,
    buildkit: &'static str,
}

impl Docker {
    /// The daemon at `DOCKER_HOST` (or the default socket), with the base image. `None` after
    /// printing why; under `CI` a missing daemon or image fails the test instead.
    fn reachable() -> Option<Docker> {
        common::docker_ready(&[BASE_IMAGE]).then_some(Docker)
    }

    /// A CLI that builds with `builder`: any CLI for the classic builder; for BuildKit the
    /// first that gets a trivial build through (the one on PATH with buildx, else the
    /// distribution's 20.10 CLI with its built-in BuildKit). `None` after printing why.
    fn cli_for(&self, builder: Builder) -> Option<Cli> {
        if builder == Builder::Classic {
            return Some(Cli {
                program: PathBuf::from("docker"),
                buildkit: "0",
            });
        }
        let mut tried = Vec::new();
        for program in ["docker", "/usr/bin/docker"] {
            let cli = Cli {
                program: PathBuf::from(program),
                buildkit: "1",
            };
            match cli.probe() {
                Ok(()) => return Some(cli),
                Err(e) => tried.push(format!("{program}: {e}")),
            }
        }
        eprintln!(
            "BuildKit cases skipped: no CLI here builds with BuildKit ({})",
            tried.join("; ")
        );
        None
    }
}

impl Cli {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.env("DOCKER_BUILDKIT", self.buildkit);
        command
    }

    fn probe(&self) -> Result<(), String> {
        let context = tempfile::tempdir().map_err(|e| e.to_string())?;
        write(context.path(), "Dockerfile", "FROM layerwise/busybox\n")?;
        let tag = "layerwise-dockerignore-test:probe";
        let built = run(
            self.command()
                .args(["build", "-q", "--network", "none", "-t", tag])
                .arg(context.path()),
            Duration::from_secs(120),
        );
        self.remove(tag);
        built.map(|_| ())
    }

    /// Build `context` with a Dockerfile that copies all of it to `/ctx`, and list what is there.
    fn copied_files(
        &self,
        builder: Builder,
        context: &Path,
        dockerfile: &Path,
        name: &str,
    ) -> Result<Vec<String>, String> {
        let tag = format!(
            "layerwise-dockerignore-test:{}-{}",
            name.replace('_', "-"),
            format!("{builder:?}").to_lowercase()
        );
        let built = run(
            self.command()
                .args([
                    "build",
                    "-q",
                    "--no-cache",
                    "--network",
                    "none",
                    "-t",
                    &tag,
                    "-f",
                ])
                .arg(dockerfile)
                .arg(context),
            Duration::from_secs(300),
        );
        if let Err(e) = built {
            self.remove(&tag);
            return Err(format!("docker build failed: {e}"));
        }
        let listed = run(
            Command::new("docker").args([
                "run",
                "--rm",
                "--network",
                "none",
                &tag,
                "find",
                "/ctx",
                "!",
                "-type",
                "d",
            ]),
            Duration::from_secs(120),
        );
        self.remove(&tag);
        let listed = listed.map_err(|e| format!("listing /ctx failed: {e}"))?;
        let mut files: Vec<String> = listed
            .lines()
            .filter_map(|line| line.strip_prefix("/ctx/"))
            .map(str::to_string)
            .collect();
        files.sort();
        Ok(files)
    }

    fn remove(&self, tag: &str) {
        // best effort: a leftover image only costs space in a throwaway daemon
        let _ = run(
            Command::new("docker").args(["rmi", "-f", tag]),
            Duration::from_secs(60),
        );
    }
}

/// Run a command to completion within `timeout`: its stdout, or an error with its stderr.
fn run(command: &mut Command, timeout: Duration) -> Result<String, String> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let out = common::output_within(child, timeout).map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(common::stdout(&out))
    } else {
        Err(format!("{}: {}", out.status, common::stderr(&out).trim()))
    }
}
