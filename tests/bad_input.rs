//! Bad input at the command line, one test per kind: every run ends with exit 0, 1 or 2 and a
//! message that names the file (never a panic, a hang or a signal), and `fix` leaves a file it
//! cannot parse byte for byte as it was. The big inputs are made here, not committed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::big_inputs;

/// Far above what any case takes even in a debug build on a busy machine: a guard against
/// hangs, not a speed check (speed is measured in `benches/speed.rs`).
const HANG: Duration = Duration::from_secs(300);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn layerwise(args: &[&str], dir: &Path) -> Run {
    layerwise_as(args, dir, None)
}

/// Runs the binary in `dir` (as `uid` when given), killed if it outlives [`HANG`].
fn layerwise_as(args: &[&str], dir: &Path, uid: Option<u32>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_layerwise"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(uid) = uid {
        use std::os::unix::process::CommandExt;
        command.uid(uid).gid(uid);
    }
    let child = command.spawn().expect("layerwise starts");
    let out = common::output_within(child, HANG)
        .unwrap_or_else(|e| panic!("layerwise {args:?} hung: {e}"));
    let status = out.status;
    let run = Run {
        code: status
            .code()
            .unwrap_or_else(|| panic!("layerwise {args:?} was killed by a signal: {status:?}")),
        stdout: common::stdout(&out),
        stderr: common::stderr(&out),
    };
    assert!(
        !run.all().contains("panicked") && !run.all().contains("RUST_BACKTRACE"),
        "layerwise {args:?} panicked:\n{}",
        run.all()
    );
    run
}

/// A folder readable by everyone (for the run as another user), with one file in it.
fn folder_with(name: &str, bytes: &[u8]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    dir
}

/// `lint` exits 2 and says `reason` about `name`, in both formats; `fix` refuses the file too,
/// names it, and leaves its bytes alone.
fn check(name: &str, bytes: &[u8], reason: &str) {
    let dir = folder_with(name, bytes);
    for format in ["human", "json"] {
        let run = layerwise(&["lint", "--format", format, name], dir.path());
        assert_eq!(run.code, 2, "lint --format {format} {name}:\n{}", run.all());
        assert!(
            run.stdout.contains(name) && run.stdout.contains(reason),
            "lint --format {format} {name} should name the file and say {reason:?}:\n{}",
            run.all()
        );
        if format == "json" {
            let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(json["errors"][0]["file"], name, "{json}");
        }
    }
    let run = layerwise(&["fix", "--unsafe", name], dir.path());
    assert_eq!(run.code, 2, "fix {name}:\n{}", run.all());
    assert!(
        run.stderr.contains(name) && run.stderr.contains(reason),
        "fix {name} should name the file and say {reason:?}:\n{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(dir.path().join(name)).unwrap(),
        bytes,
        "fix left {name} untouched"
    );
}

/// Odd but valid: `lint` finds nothing wrong, and `fix` changes nothing.
fn check_valid(name: &str, bytes: &[u8]) {
    let dir = folder_with(name, bytes);
    let run = layerwise(&["lint", name], dir.path());
    assert_eq!(run.code, 0, "lint {name}:\n{}", run.all());
    assert!(
        run.stdout.contains("1 file checked: no findings"),
        "{}",
        run.all()
    );
    let run = layerwise(&["fix", "--unsafe", name], dir.path());
    assert_eq!(run.code, 0, "fix {name}:\n{}", run.all());
    assert_eq!(std::fs::read(dir.path().join(name)).unwrap(), bytes);
}

/// Bytes from a fixed-seed xorshift, so that the case is the same on every run.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn random_bytes_are_refused() {
    check("random.Dockerfile", &random_bytes(64 * 1024), "binary file");
}

#[test]
fn random_bytes_without_nul_are_not_utf8() {
    let bytes: Vec<u8> = random_bytes(64 * 1024)
        .into_iter()
        .map(|b| b.max(1))
        .collect();
    check("noise.Dockerfile", &bytes, "not UTF-8 text");
}

#[test]
fn nul_bytes_are_refused_with_their_offset() {
    check(
        "nul.Dockerfile",
        b"FROM a\nRUN x\0y\n",
        "binary file (NUL byte at offset 12)",
    );
}

#[test]
fn invalid_utf8_is_refused_with_its_line() {
    check(
        "latin1.Dockerfile",
        b"FROM a\nLABEL x=caf\xe9\n",
        "not UTF-8 text: invalid byte at offset 18 (line 2)",
    );
    // JSON gives the place too: line 2, after the 11 valid characters `LABEL x=caf`
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), b"FROM a\nLABEL x=caf\xe9\n").unwrap();
    let run = layerwise(&["lint", "--format", "json", "Dockerfile"], dir.path());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["errors"][0]["line"], 2, "{v}");
    assert_eq!(v["errors"][0]["column"], 12, "{v}");
}

#[test]
fn an_empty_file_has_no_instructions() {
    check("empty.Dockerfile", b"", "file with no instructions");
    check(
        "blank.Dockerfile",
        b"\n\n# just a comment\n",
        "file with no instructions",
    );
}

#[test]
fn a_directory_is_searched_and_never_read_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    // A folder with a Dockerfile's name: not a file to read.
    std::fs::create_dir_all(dir.path().join("svc/Dockerfile")).unwrap();
    // So the folder holds no Dockerfile: an error that names it, never a green "0 files".
    for command in ["lint", "fix"] {
        let run = layerwise(&[command, "svc"], dir.path());
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.all().contains("no Dockerfile in svc"), "{}", run.all());
    }
    // A folder as the report file.
    std::fs::write(dir.path().join("Dockerfile"), "FROM a\n").unwrap();
    let run = layerwise(&["lint", "-o", "svc", "Dockerfile"], dir.path());
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("cannot write svc: Is a directory"),
        "{}",
        run.all()
    );
}

#[test]
fn a_missing_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["lint", "fix"] {
        let run = layerwise(&[command, "no/such.Dockerfile"], dir.path());
        assert_eq!(run.code, 2, "{command}: {}", run.all());
        assert!(
            run.all()
                .contains("cannot read no/such.Dockerfile: No such file or directory"),
            "{command}: {}",
            run.all()
        );
    }
    // nothing was there to check
    let run = layerwise(
        &["lint", "--format", "json", "no/such.Dockerfile"],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["files_checked"], 0, "{v}");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{v}");
    let human = layerwise(&["lint", "no/such.Dockerfile"], dir.path());
    assert!(human.stdout.contains("0 files checked"), "{}", human.all());
}

/// The uid to run as so that a mode-000 file cannot be read: root reads anything, so root
/// runs the binary as `nobody`.
fn reader_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    (std::fs::metadata("/proc/self").map(|m| m.uid()).ok() == Some(0)).then_some(65534)
}

#[test]
fn an_unreadable_file_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = folder_with(
        "Dockerfile",
        b"FROM a\nRUN apt-get update && apt-get install -y x\n",
    );
    let path = dir.path().join("Dockerfile");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let uid = reader_uid();
    for args in [
        &["lint", "Dockerfile"][..],
        &["lint", "."],
        &["fix", "Dockerfile"],
    ] {
        let run = layerwise_as(args, dir.path(), uid);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.all().contains("Dockerfile") && run.all().contains("Permission denied"),
            "{args:?}: {}",
            run.all()
        );
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"FROM a\nRUN apt-get update && apt-get install -y x\n"
    );
}

#[test]
fn an_unreadable_folder_is_named_not_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = folder_with("Dockerfile", b"FROM a\n");
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("Dockerfile"), "FROM a\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let run = layerwise_as(&["lint", "."], dir.path(), reader_uid());
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.all().contains("locked") && run.all().contains("Permission denied"),
        "{}",
        run.all()
    );
}

#[test]
fn an_8_mib_file_is_linted() {
    let text = big_inputs::typical(8 << 20);
    let dir = folder_with("big.Dockerfile", text.as_bytes());
    let run = layerwise(&["lint", "--format", "json", "big.Dockerfile"], dir.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["errors"].as_array().unwrap().len(), 0);
    // Layer rules about bytes look at the final stage only (the others do not reach the image).
    let findings = json["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["rule"] == "LW104"),
        "{} findings",
        findings.len()
    );
    let last_line = text.lines().count();
    assert!(
        findings
            .iter()
            .any(|f| f["line"].as_u64().unwrap() as usize > last_line - 30),
        "findings reach the end of the file"
    );
}

#[test]
fn two_hundred_thousand_lines_are_linted() {
    let text = big_inputs::lines(200_000);
    let dir = folder_with("long.Dockerfile", text.as_bytes());
    let run = layerwise(&["lint", "--format", "json", "long.Dockerfile"], dir.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let lines: Vec<u64> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|&l| l == 200_000),
        "{lines:?}"
    );
}

#[test]
fn a_twenty_thousand_line_continuation_is_linted_and_fixed() {
    let text = big_inputs::continuation(20_000);
    let dir = folder_with("Dockerfile", text.as_bytes());
    let run = layerwise(&["lint", "--format", "json", "Dockerfile"], dir.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"LW102"), "{rules:?}");
    let run = layerwise(&["fix", "Dockerfile"], dir.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let fixed = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
    assert!(
        fixed.starts_with(&text[..text.len() - 1]),
        "only appended to"
    );
    assert!(
        fixed.contains("rm -rf /var/lib/apt/lists/*"),
        "the fix went in"
    );
}

#[test]
fn an_unterminated_heredoc_is_an_error() {
    check(
        "heredoc.Dockerfile",
        b"FROM a\nRUN <<EOF\napt-get install -y x\n",
        "unterminated heredoc EOF",
    );
}

#[test]
fn broken_json_forms() {
    check(
        "numbers.Dockerfile",
        b"FROM a\nCMD [\"serve\", 80]\n",
        "arrays must be comprised of strings only",
    );
    check(
        "nested.Dockerfile",
        b"FROM a\nENTRYPOINT [\"a\", [\"b\"]]\n",
        "arrays must be comprised of strings only",
    );
    // Not JSON at all, so BuildKit runs them in a shell: no error, but no crash either.
    check_valid(
        "unclosed.Dockerfile",
        b"FROM a\nRUN [\"echo\", \"hi\"\nCMD {\"a\": 1}\nRUN [\"\\u12\"]\n",
    );
}

#[test]
fn instructions_with_no_arguments() {
    for (text, reason) in [
        ("FROM a\nRUN\n", "RUN requires at least one argument"),
        ("FROM a\nCOPY\n", "COPY requires at least one argument"),
        ("FROM a\nENV\n", "ENV requires at least one argument"),
        ("FROM a\nENV PATH\n", "ENV must have two arguments"),
        ("FROM\n", "FROM requires an image"),
        ("FROM a\nONBUILD\n", "ONBUILD requires an instruction"),
        ("FROM a\nRUN \\\n\n", "RUN requires at least one argument"),
        (
            "FROM a\nWORKDIR\n",
            "WORKDIR requires at least one argument",
        ),
    ] {
        check("noargs.Dockerfile", text.as_bytes(), reason);
    }
    // CMD and HEALTHCHECK may be empty, as in BuildKit.
    check_valid("cmd.Dockerfile", b"FROM a\nCMD\n");
}

#[test]
fn duplicate_and_conflicting_directives() {
    check(
        "twice.Dockerfile",
        b"# syntax=docker/dockerfile:1\n# syntax=docker/dockerfile:1.7\nFROM a\n",
        "only one syntax parser directive can be used",
    );
    check(
        "conflict.Dockerfile",
        b"# escape=`\n# escape=\\\nFROM a\nRUN x `\n  y\n",
        "only one escape parser directive can be used",
    );
    check(
        "bad-escape.Dockerfile",
        b"# escape=x\nFROM a\n",
        "invalid escape token 'x' does not match ` or \\",
    );
    // A directive after the first comment is a comment, as in BuildKit.
    check_valid("late.Dockerfile", b"# hello\n# escape=x\nFROM a\n");
}
