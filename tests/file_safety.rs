//! No run loses a file: `fix` and `lint -o` on a full disk and on read-only files leave the
//! original as it was and no temporary file behind; symlinked Dockerfiles are fixed at their
//! target and stay symlinks.

mod common;

use std::path::Path;
use std::process::Command;

use common::{cli_fixture, layerwise, stderr};

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A tiny tmpfs, unmounted when dropped (also when a test fails).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None`, with the reason printed, when it cannot be mounted (not root, no mount
    /// permission); under CI that is a failure, since CI runs as root.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Tmpfs { dir }),
            other => {
                let why = match other {
                    Ok(out) => stderr(&out),
                    Err(e) => e.to_string(),
                };
                common::skip(format!("a tmpfs cannot be mounted (root needed): {why}"));
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system to the last byte with a file named `filler`.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = [0u8; 4096];
        while filler.write_all(&block).is_ok() {}
        let byte = [0u8; 1];
        while filler.write_all(&byte).is_ok() {}
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn fix_on_a_full_disk_keeps_the_original() {
    let Some(fs) = Tmpfs::mount("64k") else {
        return;
    };
    let original = std::fs::read(cli_fixture("wasteful.Dockerfile")).unwrap();
    std::fs::write(fs.path().join("Dockerfile"), &original).unwrap();
    fs.fill();
    let out = layerwise(&["fix", "Dockerfile"], fs.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot write Dockerfile: No space left on device"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(fs.path().join("Dockerfile")).unwrap(),
        original
    );
    assert_eq!(
        names(fs.path()),
        ["Dockerfile", "filler"],
        "no temp file left"
    );
    // With room again, the same run fixes it.
    std::fs::remove_file(fs.path().join("filler")).unwrap();
    let out = layerwise(&["fix", "Dockerfile"], fs.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(
        std::fs::read(fs.path().join("Dockerfile")).unwrap(),
        original
    );
}

#[test]
fn lint_output_on_a_full_disk_keeps_the_old_report() {
    let Some(fs) = Tmpfs::mount("64k") else {
        return;
    };
    std::fs::copy(
        cli_fixture("wasteful.Dockerfile"),
        fs.path().join("Dockerfile"),
    )
    .unwrap();
    std::fs::write(fs.path().join("report.json"), "old report\n").unwrap();
    fs.fill();
    let out = layerwise(
        &[
            "lint",
            "--format",
            "json",
            "-o",
            "report.json",
            "Dockerfile",
        ],
        fs.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot write report.json: No space left on device"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(fs.path().join("report.json")).unwrap(),
        "old report\n"
    );
    assert_eq!(names(fs.path()), ["Dockerfile", "filler", "report.json"]);
}

#[test]
fn lint_output_to_a_read_only_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        cli_fixture("wasteful.Dockerfile"),
        dir.path().join("Dockerfile"),
    )
    .unwrap();
    let report = dir.path().join("report.txt");
    std::fs::write(&report, "old report\n").unwrap();
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = layerwise(&["lint", "-o", "report.txt", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("report.txt is read-only: not changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "old report\n");
    assert_eq!(names(dir.path()), ["Dockerfile", "report.txt"]);
}

#[test]
fn fix_follows_a_symlink_chain_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::fs::copy(
        cli_fixture("wasteful.Dockerfile"),
        dir.path().join("real/api.Dockerfile"),
    )
    .unwrap();
    std::os::unix::fs::symlink("real/api.Dockerfile", dir.path().join("middle")).unwrap();
    std::os::unix::fs::symlink("middle", dir.path().join("Dockerfile")).unwrap();
    let out = layerwise(&["fix", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for link in ["Dockerfile", "middle"] {
        let meta = std::fs::symlink_metadata(dir.path().join(link)).unwrap();
        assert!(meta.file_type().is_symlink(), "{link} is still a symlink");
    }
    let fixed = std::fs::read_to_string(dir.path().join("real/api.Dockerfile")).unwrap();
    assert!(fixed.contains("rm -rf /var/lib/apt/lists/*"), "{fixed}");
    assert_eq!(names(&dir.path().join("real")), ["api.Dockerfile"]);
}

#[test]
fn fix_reports_a_dangling_symlink_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("gone.Dockerfile", dir.path().join("Dockerfile")).unwrap();
    let out = layerwise(&["fix", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Dockerfile") && stderr(&out).contains("No such file or directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(names(dir.path()), ["Dockerfile"]);
    assert!(
        std::fs::symlink_metadata(dir.path().join("Dockerfile"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn fix_refuses_a_symlink_to_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.Dockerfile");
    std::fs::copy(cli_fixture("wasteful.Dockerfile"), &real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::os::unix::fs::symlink("real.Dockerfile", dir.path().join("Dockerfile")).unwrap();
    let out = layerwise(&["fix", "Dockerfile"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Dockerfile is read-only: not changed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(&real).unwrap(),
        std::fs::read(cli_fixture("wasteful.Dockerfile")).unwrap()
    );
    assert!(
        std::fs::symlink_metadata(dir.path().join("Dockerfile"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
