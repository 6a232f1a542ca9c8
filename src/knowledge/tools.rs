//! The everyday commands of a RUN that create, move, remove or change files, and the options
//! that say where: data for the model's effects, which reads commands with it.

/// How a downloader names the file it writes.
#[derive(Debug)]
pub struct Downloader {
    pub program: &'static str,
    /// Options whose value is the file written (`-o out`, `-O out`).
    pub output: &'static [&'static str],
    /// Options that write to the URL's file name in the current folder.
    pub remote_name: &'static [&'static str],
    /// Options whose value is the folder the file goes to.
    pub dir: &'static [&'static str],
    /// Options that take a value (so it is not the URL).
    pub valued: &'static [&'static str],
    /// Single-letter options may be bundled (`-fsSLo out`).
    pub bundles: bool,
    /// Without an output option the file goes to the URL's name (wget) or to stdout (curl).
    pub default_remote_name: bool,
}

pub const DOWNLOADERS: &[Downloader] = &[
    Downloader {
        program: "curl",
        output: &["-o", "--output"],
        remote_name: &["-O", "--remote-name", "--remote-name-all", "-J"],
        dir: &["--output-dir"],
        valued: &[
            "-H",
            "--header",
            "-u",
            "--user",
            "-A",
            "--user-agent",
            "-e",
            "--referer",
            "-X",
            "--request",
            "-d",
            "--data",
            "--data-raw",
            "--data-binary",
            "-F",
            "--form",
            "-m",
            "--max-time",
            "--retry",
            "--retry-delay",
            "--retry-max-time",
            "--connect-timeout",
            "-x",
            "--proxy",
            "--cacert",
            "--cert",
            "--key",
            "-w",
            "--write-out",
            "-r",
            "--range",
            "-b",
            "--cookie",
            "-c",
            "--cookie-jar",
            "--url",
            "-T",
            "--upload-file",
            "-K",
            "--config",
            "--limit-rate",
            "-y",
            "--speed-time",
            "-Y",
            "--speed-limit",
            "-z",
            "--time-cond",
            "--resolve",
            "-E",
            "--proto",
            "--proto-redir",
        ],
        bundles: true,
        default_remote_name: false,
    },
    Downloader {
        program: "wget",
        output: &["-O", "--output-document"],
        remote_name: &[],
        dir: &["-P", "--directory-prefix"],
        valued: &[
            "-t",
            "--tries",
            "-T",
            "--timeout",
            "-U",
            "--user-agent",
            "--header",
            "-e",
            "--execute",
            "-o",
            "--output-file",
            "-a",
            "--append-output",
            "--user",
            "--password",
            "--ca-certificate",
            "-w",
            "--wait",
            "--limit-rate",
            "-i",
            "--input-file",
            "-Q",
            "--quota",
            "--post-data",
            "--method",
            "--body-data",
        ],
        bundles: true,
        default_remote_name: true,
    },
];

/// Commands that copy (or move) their sources to a destination, the last argument.
pub const COPIERS: &[&str] = &["cp", "mv", "install", "rsync"];

/// Commands that change the mode or owner of paths, and their recursive flags.
pub const PERMISSION_CHANGERS: &[(&str, Change)] = &[
    ("chmod", Change::Mode),
    ("chown", Change::Owner),
    ("chgrp", Change::Owner),
];

/// What a permission change touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Mode,
    Owner,
}

/// Archive extractors and the options naming the folder they write to.
pub const EXTRACTORS: &[(&str, &[&str])] = &[
    ("tar", &["-C", "--directory"]),
    ("unzip", &["-d"]),
    ("bsdtar", &["-C", "--directory"]),
];

/// File name endings of archives and packages that a later step unpacks or installs.
pub const ARCHIVE_ENDINGS: &[&str] = &[
    ".tar.gz",
    ".tgz",
    ".tar.xz",
    ".txz",
    ".tar.bz2",
    ".tbz2",
    ".tar.zst",
    ".tar",
    ".zip",
    ".gz",
    ".xz",
    ".bz2",
    ".zst",
    ".7z",
    ".deb",
    ".rpm",
    ".apk",
    ".whl",
    ".jar",
    ".run",
    ".sh",
    ".bin",
    ".AppImage",
];

/// Whether a file name looks like an archive, a package or an installer.
pub fn is_archive(name: &str) -> bool {
    let name = name.split(['?', '#']).next().unwrap_or(name);
    ARCHIVE_ENDINGS.iter().any(|e| name.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_by_name() {
        assert!(is_archive("node-v20.tar.xz"));
        assert!(is_archive("pkg.deb?download=1"));
        assert!(!is_archive("README.md"));
    }
}
