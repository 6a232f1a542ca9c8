//! Which programs a system package puts on the PATH, and which every image with a shell already
//! has: what tells whether a RUN may call something an earlier RUN installed. Fixes that move
//! instructions ask here; where a package is not known, the answer is "cannot tell".

/// Whether installing `package` (as a system package manager names it: Debian, Alpine, Fedora,
/// openSUSE) puts `program` on the PATH. `None` when it cannot be told: a package this table
/// does not know may install any program.
pub fn provides(package: &str, program: &str) -> Option<bool> {
    let package = package_name(package);
    if let Some((_, programs)) = PACKAGES.iter().find(|(name, _)| *name == package) {
        return Some(programs.contains(&program));
    }
    if let Some(java) = package
        .strip_prefix("openjdk-")
        .or_else(|| package.strip_prefix("openjdk"))
        .or_else(|| package.strip_prefix("java-"))
    {
        let jdk = java.contains("jdk") || java.ends_with("-devel");
        let runs = ["java", "keytool"].contains(&program);
        return Some(runs || (jdk && ["javac", "jar", "jshell", "javadoc"].contains(&program)));
    }
    if package.starts_with("fonts-")
        || package.starts_with("font-")
        || package.ends_with("-doc")
        || package.ends_with("-docs")
        || package.ends_with("-fonts")
    {
        return Some(false);
    }
    // Libraries and their headers hold no programs but `*-config` scripts (`pg_config` with
    // libpq-dev, `xml2-config`, `curl-config`); their `-bin`, `-utils`, `-tools` siblings do.
    let library = package.starts_with("lib")
        && !["-bin", "-utils", "-tools", "-progs", "-runtime"]
            .iter()
            .any(|s| package.ends_with(s));
    if library {
        return Some(program.ends_with("-config") || program.ends_with("_config"));
    }
    None
}

/// A package name without the version or architecture a command may give it
/// (`curl=7.88.1-10`, `gcc:amd64`, `nodejs>=18`).
fn package_name(package: &str) -> &str {
    let end = package
        .find(['=', ':', '<', '>', '~'])
        .unwrap_or(package.len());
    &package[..end]
}

/// Shell builtins and the programs every image with a POSIX shell has (busybox's and
/// coreutils' common ones, and the distribution's own package manager): a later install never
/// makes these callable for the first time.
pub fn always_there(program: &str) -> bool {
    ALWAYS_THERE.contains(&program)
}

/// Shell builtins: the shell runs its own, whatever the PATH holds.
pub fn builtin(program: &str) -> bool {
    let end = ALWAYS_THERE.iter().position(|p| *p == "sh").unwrap_or(0);
    ALWAYS_THERE[..end].contains(&program)
}

const ALWAYS_THERE: &[&str] = &[
    // POSIX shell builtins and special forms
    ":",
    ".",
    "[",
    "alias",
    "break",
    "cd",
    "command",
    "continue",
    "echo",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "getopts",
    "hash",
    "printf",
    "pwd",
    "read",
    "readonly",
    "return",
    "set",
    "shift",
    "source",
    "test",
    "times",
    "trap",
    "true",
    "type",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "wait",
    "sh", // files and text, in busybox and coreutils alike
    "basename",
    "cat",
    "chgrp",
    "chmod",
    "chown",
    "cp",
    "cut",
    "date",
    "dd",
    "df",
    "dirname",
    "du",
    "env",
    "find",
    "grep",
    "head",
    "id",
    "install",
    "kill",
    "ln",
    "ls",
    "mkdir",
    "mktemp",
    "mv",
    "nproc",
    "readlink",
    "rm",
    "rmdir",
    "sed",
    "sleep",
    "sort",
    "tail",
    "tar",
    "tee",
    "touch",
    "tr",
    "uname",
    "uniq",
    "wc",
    "xargs",
    "gzip",
    "gunzip",
    "which",
    // the distributions' package managers
    "apt-get",
    "apt",
    "apt-cache",
    "apt-mark",
    "dpkg",
    "apk",
    "dnf",
    "yum",
    "microdnf",
    "rpm",
    "zypper",
];

/// Packages and the programs they install, by the names the distributions give them.
const PACKAGES: &[(&str, &[&str])] = &[
    ("python3", &["python3"]),
    ("python3-minimal", &["python3"]),
    ("python", &["python", "python2"]),
    ("python2", &["python2"]),
    ("python-is-python3", &["python"]),
    ("python3-pip", &["pip3", "pip"]),
    ("python-pip", &["pip", "pip2"]),
    ("py3-pip", &["pip3", "pip"]),
    ("python3-venv", &[]),
    ("python3-dev", &["python3-config"]),
    ("python3-devel", &["python3-config"]),
    ("python3-setuptools", &[]),
    ("python3-wheel", &[]),
    ("python3-virtualenv", &["virtualenv"]),
    ("pipx", &["pipx"]),
    ("nodejs", &["node", "nodejs"]),
    ("npm", &["npm", "npx"]),
    ("yarn", &["yarn", "yarnpkg"]),
    ("yarnpkg", &["yarnpkg"]),
    ("ruby", &["ruby", "gem", "irb", "erb"]),
    ("ruby-full", &["ruby", "gem", "irb", "erb"]),
    ("ruby-dev", &[]),
    ("ruby-bundler", &["bundle", "bundler"]),
    ("bundler", &["bundle", "bundler"]),
    ("php", &["php"]),
    ("php-cli", &["php"]),
    ("composer", &["composer"]),
    ("perl", &["perl", "cpan"]),
    ("golang", &["go", "gofmt"]),
    ("golang-go", &["go", "gofmt"]),
    ("go", &["go", "gofmt"]),
    ("rustc", &["rustc"]),
    ("cargo", &["cargo"]),
    ("rust", &["rustc", "cargo"]),
    ("maven", &["mvn"]),
    ("gradle", &["gradle"]),
    ("ant", &["ant"]),
    (
        "build-essential",
        &[
            "gcc",
            "g++",
            "cc",
            "c++",
            "cpp",
            "make",
            "dpkg-buildpackage",
        ],
    ),
    ("build-base", &["gcc", "g++", "cc", "c++", "cpp", "make"]),
    ("gcc", &["gcc", "cc", "cpp"]),
    ("g++", &["g++", "c++"]),
    ("gcc-c++", &["g++", "c++"]),
    ("clang", &["clang", "clang++"]),
    ("make", &["make"]),
    ("cmake", &["cmake", "ctest", "cpack"]),
    ("ninja-build", &["ninja"]),
    ("meson", &["meson"]),
    ("autoconf", &["autoconf", "autoreconf", "autoheader"]),
    ("automake", &["automake", "aclocal"]),
    ("libtool", &["libtool", "libtoolize"]),
    ("libtool-bin", &["libtool"]),
    ("pkg-config", &["pkg-config"]),
    ("pkgconf", &["pkgconf", "pkg-config"]),
    ("patch", &["patch"]),
    ("git", &["git"]),
    ("git-core", &["git"]),
    ("git-lfs", &["git-lfs"]),
    ("subversion", &["svn"]),
    ("mercurial", &["hg"]),
    ("curl", &["curl"]),
    ("wget", &["wget"]),
    ("ca-certificates", &["update-ca-certificates"]),
    ("openssl", &["openssl", "c_rehash"]),
    ("gnupg", &["gpg", "gpg-agent", "gpgconf"]),
    ("gnupg2", &["gpg", "gpg2", "gpg-agent", "gpgconf"]),
    ("gpg", &["gpg"]),
    ("dirmngr", &["dirmngr"]),
    ("unzip", &["unzip"]),
    ("zip", &["zip"]),
    ("xz-utils", &["xz", "unxz", "xzcat"]),
    ("xz", &["xz", "unxz", "xzcat"]),
    ("bzip2", &["bzip2", "bunzip2"]),
    ("zstd", &["zstd", "unzstd"]),
    ("p7zip-full", &["7z", "7za"]),
    ("tar", &["tar"]),
    ("gzip", &["gzip", "gunzip", "zcat"]),
    ("jq", &["jq"]),
    ("yq", &["yq"]),
    ("vim", &["vim", "vi", "vimdiff"]),
    ("vim-tiny", &["vi", "vim.tiny"]),
    ("nano", &["nano"]),
    ("less", &["less"]),
    ("sudo", &["sudo"]),
    ("bash", &["bash"]),
    ("zsh", &["zsh"]),
    (
        "procps",
        &["ps", "top", "pgrep", "pkill", "free", "watch", "uptime"],
    ),
    (
        "procps-ng",
        &["ps", "top", "pgrep", "pkill", "free", "watch", "uptime"],
    ),
    ("psmisc", &["killall", "pstree", "fuser"]),
    ("coreutils", &[]),
    ("findutils", &["find", "xargs"]),
    ("sed", &["sed"]),
    ("grep", &["grep"]),
    ("gawk", &["awk", "gawk"]),
    ("mawk", &["awk", "mawk"]),
    ("file", &["file"]),
    ("rsync", &["rsync"]),
    (
        "openssh-client",
        &[
            "ssh",
            "scp",
            "sftp",
            "ssh-keygen",
            "ssh-keyscan",
            "ssh-agent",
        ],
    ),
    (
        "openssh-clients",
        &[
            "ssh",
            "scp",
            "sftp",
            "ssh-keygen",
            "ssh-keyscan",
            "ssh-agent",
        ],
    ),
    ("openssh-server", &["sshd"]),
    ("netcat-openbsd", &["nc", "netcat"]),
    ("netcat-traditional", &["nc", "netcat"]),
    ("iputils-ping", &["ping"]),
    ("iproute2", &["ip", "ss"]),
    ("net-tools", &["netstat", "ifconfig", "route"]),
    ("dnsutils", &["dig", "nslookup", "host"]),
    ("bind-tools", &["dig", "nslookup", "host"]),
    ("bind-utils", &["dig", "nslookup", "host"]),
    ("telnet", &["telnet"]),
    ("tzdata", &[]),
    ("locales", &["locale-gen", "localedef"]),
    ("apt-transport-https", &[]),
    (
        "apt-utils",
        &["apt-extracttemplates", "apt-ftparchive", "apt-sortpkgs"],
    ),
    ("software-properties-common", &["add-apt-repository"]),
    ("lsb-release", &["lsb_release"]),
    (
        "debconf-utils",
        &["debconf-get-selections", "debconf-set-selections"],
    ),
    ("dumb-init", &["dumb-init"]),
    ("tini", &["tini"]),
    ("gosu", &["gosu"]),
    ("su-exec", &["su-exec"]),
    (
        "shadow",
        &[
            "useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel",
        ],
    ),
    (
        "passwd",
        &[
            "useradd", "usermod", "userdel", "groupadd", "groupmod", "groupdel", "passwd",
        ],
    ),
    ("adduser", &["adduser", "addgroup", "deluser", "delgroup"]),
    ("supervisor", &["supervisord", "supervisorctl"]),
    ("cron", &["cron", "crontab"]),
    ("nginx", &["nginx"]),
    (
        "apache2",
        &[
            "apache2",
            "apache2ctl",
            "a2enmod",
            "a2ensite",
            "a2dismod",
            "a2dissite",
        ],
    ),
    (
        "postgresql-client",
        &["psql", "pg_dump", "pg_restore", "pg_isready"],
    ),
    (
        "default-mysql-client",
        &["mysql", "mysqldump", "mysqladmin"],
    ),
    (
        "mariadb-client",
        &["mysql", "mysqldump", "mysqladmin", "mariadb"],
    ),
    ("mysql-client", &["mysql", "mysqldump", "mysqladmin"]),
    ("redis-tools", &["redis-cli"]),
    ("sqlite3", &["sqlite3"]),
    ("sqlite", &["sqlite3"]),
    ("ffmpeg", &["ffmpeg", "ffprobe"]),
    ("imagemagick", &["convert", "identify", "mogrify", "magick"]),
    ("graphviz", &["dot"]),
    ("pandoc", &["pandoc"]),
    ("xvfb", &["Xvfb", "xvfb-run"]),
    ("chromium", &["chromium"]),
    ("firefox-esr", &["firefox", "firefox-esr"]),
    ("awscli", &["aws"]),
    ("docker.io", &["docker", "dockerd"]),
    ("docker-ce-cli", &["docker"]),
    (
        "openjdk-17-jdk-headless",
        &["java", "javac", "jar", "keytool"],
    ),
    (
        "default-jdk",
        &["java", "javac", "jar", "jshell", "keytool"],
    ),
    (
        "default-jdk-headless",
        &["java", "javac", "jar", "jshell", "keytool"],
    ),
    ("default-jre", &["java", "keytool"]),
    ("default-jre-headless", &["java", "keytool"]),
    ("nodejs-npm", &["npm", "npx"]),
    ("R", &["R", "Rscript"]),
    ("r-base", &["R", "Rscript"]),
    ("r-base-core", &["R", "Rscript"]),
    ("lua5.4", &["lua5.4"]),
    ("tcl", &["tclsh"]),
    ("gettext", &["gettext", "msgfmt", "envsubst"]),
    ("gettext-base", &["gettext", "envsubst"]),
    ("moreutils", &["sponge", "ts", "chronic"]),
    ("time", &["time"]),
    ("strace", &["strace"]),
    ("gdb", &["gdb"]),
    ("valgrind", &["valgrind"]),
    ("bc", &["bc"]),
    ("dos2unix", &["dos2unix", "unix2dos"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_packages_name_their_programs() {
        assert_eq!(provides("python3-pip", "pip3"), Some(true));
        assert_eq!(provides("python3-pip=23.0.1+dfsg-1", "pip"), Some(true));
        assert_eq!(provides("python3", "pip3"), Some(false));
        assert_eq!(provides("build-essential", "make"), Some(true));
        assert_eq!(provides("openjdk-17-jdk", "javac"), Some(true));
        assert_eq!(provides("openjdk-17-jre-headless", "javac"), Some(false));
    }

    #[test]
    fn libraries_bring_config_scripts_and_unknown_packages_cannot_be_told() {
        assert_eq!(provides("libpq-dev", "pg_config"), Some(true));
        assert_eq!(provides("libpq-dev", "psql"), Some(false));
        assert_eq!(provides("libxml2-utils", "xmllint"), None);
        assert_eq!(provides("fonts-noto", "fc-cache"), Some(false));
        assert_eq!(provides("some-tool", "some-tool"), None);
        assert_eq!(provides("python3-flask", "flask"), None);
    }
}
