//! What layerwise knows about building software: toolchain packages, the commands that compile
//! or install from source, what an image's start command says about its purpose, and which
//! smaller image of the same family runs what a toolchain image built.

/// A toolchain package: compilers, build systems, headers. Gives the ecosystem it builds for.
pub fn build_package(name: &str) -> Option<&'static str> {
    let name = name.split(['=', ':']).next().unwrap_or(name);
    match name {
        "build-essential" | "build-base" | "gcc" | "g++" | "make" | "cmake" | "clang"
        | "autoconf" | "automake" | "libtool" | "pkg-config" | "pkgconf" | "gcc-c++" => Some("c"),
        "golang" | "go" => Some("go"),
        "rustc" | "cargo" => Some("rust"),
        "maven" | "gradle" | "ant" | "default-jdk" | "default-jdk-headless" => Some("java"),
        n if n.starts_with("golang-") => Some("go"),
        // LLVM's compilers and linker, versioned as Debian and Ubuntu name them (`clang-16`)
        n if n.starts_with("clang-")
            || n == "lld"
            || n.starts_with("lld-")
            || n == "llvm"
            || n.starts_with("llvm-") =>
        {
            Some("c")
        }
        n if jdk(n) => Some("java"),
        n if n == "linux-headers" || headers(n) => Some("c"),
        _ => None,
    }
}

/// A JDK package: `openjdk-17-jdk`, `openjdk-17-jdk-headless` (Debian, Ubuntu),
/// `openjdk17-jdk` and `openjdk17` (Alpine, where the bare name is the JDK).
fn jdk(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("openjdk") else {
        return false;
    };
    let rest = rest.trim_start_matches('-');
    let version = rest.trim_end_matches("-headless").trim_end_matches("-jdk");
    (rest.ends_with("-jdk") || rest.ends_with("-jdk-headless") || rest == version)
        && !version.is_empty()
        && version.chars().all(|c| c.is_ascii_digit())
}

/// A package a runtime stage leaves out besides the toolchain: what only builds or installs
/// (npm and yarn, pip, venv's wheels, Python's headers and build backends).
pub fn build_only_package(name: &str) -> bool {
    let name = name.split(['=', ':']).next().unwrap_or(name);
    build_package(name).is_some()
        || matches!(
            name,
            "npm"
                | "yarnpkg"
                | "node-gyp"
                | "python3-pip"
                | "python3-venv"
                | "python3-setuptools"
                | "python3-wheel"
                | "python3-virtualenv"
                | "virtualenv"
                | "py3-pip"
                | "py3-setuptools"
                | "py3-wheel"
        )
        || name.starts_with("python3.") && name.ends_with("-venv")
}

/// The package that runs what a toolchain package built: a JDK's runtime, for a jar.
/// `default-jdk` → `default-jre-headless`, `openjdk-17-jdk` → `openjdk-17-jre-headless`,
/// Alpine's `openjdk17` → `openjdk17-jre-headless`.
pub fn runtime_package(name: &str) -> Option<String> {
    let name = name.split(['=', ':']).next().unwrap_or(name);
    if matches!(name, "default-jdk" | "default-jdk-headless") {
        return Some("default-jre-headless".into());
    }
    if !jdk(name) {
        return None;
    }
    let stem = name.trim_end_matches("-headless").trim_end_matches("-jdk");
    Some(format!("{stem}-jre-headless"))
}

/// Headers whose runtime part the interpreter that needs them already is: a Python
/// extension built against `python3-dev` runs on `python3`.
pub fn interpreter_headers(name: &str) -> bool {
    let name = name.split(['=', ':']).next().unwrap_or(name);
    matches!(name, "python3-dev" | "python-dev" | "python3-all-dev")
        || (name.starts_with("libpython3") || name.starts_with("python3."))
            && name.ends_with("-dev")
}

/// Headers and nothing else: a `-dev`/`-devel` package (`libpcap-dev`), not a compiler or a
/// build system.
pub fn headers_only(name: &str) -> bool {
    let name = name.split(['=', ':']).next().unwrap_or(name);
    headers(name) || name == "linux-headers"
}

/// Packages that say the image compiles when it runs: tools that load kernel modules (`kmod`:
/// `modprobe`, `insmod`) or build them for the running kernel (`dkms`), and LLVM's and Clang's
/// libraries, with which BPF tools such as bcc compile their programs at run time.
pub fn compiles_at_run_time(name: &str) -> bool {
    let name = name.split(['=', ':']).next().unwrap_or(name);
    matches!(name, "kmod" | "dkms" | "module-init-tools")
        || ((name.starts_with("llvm") || name.starts_with("libclang"))
            && (name.ends_with("-dev") || name.ends_with("-devel")))
}

/// A `-dev`/`-devel` package of headers. Browsers publish development channels under the same
/// suffix (`microsoft-edge-dev`, `brave-browser-dev`): those are programs, not headers.
fn headers(name: &str) -> bool {
    let Some(stem) = name
        .strip_suffix("-dev")
        .or_else(|| name.strip_suffix("-devel"))
    else {
        return false;
    };
    !BROWSER_CHANNELS.iter().any(|b| stem.ends_with(b))
}

const BROWSER_CHANNELS: &[&str] = &[
    "microsoft-edge",
    "google-chrome",
    "brave-browser",
    "vivaldi",
    "opera",
    "firefox",
    "chromium-browser",
];

/// Packages whose files every image of the family already has the runtime part of: the C
/// library's headers. A program built against nothing else needs no library re-installed.
pub fn libc_headers(name: &str) -> bool {
    let name = name.split(['=', ':']).next().unwrap_or(name);
    matches!(
        name,
        "libc6-dev" | "libc-dev" | "musl-dev" | "linux-libc-dev" | "glibc-devel" | "linux-headers"
    )
}

/// A compiler driver's name without the version Debian and Ubuntu give it: `clang-16` and
/// `gcc-12` are `clang` and `gcc`; any other name as it is.
pub fn compiler_name(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((stem, version))
            if matches!(stem, "gcc" | "g++" | "clang" | "clang++")
                && !version.is_empty()
                && version.chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            stem
        }
        _ => name,
    }
}

/// A command that compiles, or installs from source (which compiles native parts with the
/// toolchain in the image): what makes installed headers and compilers a toolchain in use.
/// `args` are the words after the program.
pub fn builds_from_source(name: &str, args: &[&str]) -> bool {
    let sub = args.iter().find(|a| !a.starts_with('-')).copied();
    let base = compiler_name(name.rsplit('/').next().unwrap_or(name));
    match base {
        "gcc"
        | "g++"
        | "cc"
        | "c++"
        | "clang"
        | "clang++"
        | "cmake"
        | "make"
        | "gmake"
        | "ninja"
        | "meson"
        | "qmake"
        | "configure"
        | "cpanm"
        | "dpkg-buildpackage"
        | "docker-php-ext-install"
        | "javac"
        | "mvn"
        | "mvnw"
        | "gradle"
        | "gradlew"
        | "rebar3"
        | "cabal"
        | "stack"
        | "bazel" => true,
        "go" | "cargo" => matches!(sub, Some("build" | "install" | "get")),
        "pip" | "pip3" | "npm" | "yarn" | "pnpm" | "gem" | "bundle" | "pecl" | "luarocks" => {
            matches!(sub, Some("install" | "ci" | "add") | None)
        }
        "python" | "python2" | "python3" => args.contains(&"setup.py"),
        "R" => sub == Some("CMD"),
        "Rscript" => true,
        "apt-get" | "apt" => args.contains(&"--compile") || sub == Some("build-dep"),
        "dotnet" => matches!(sub, Some("build" | "publish")),
        _ => false,
    }
}

/// The caches a toolchain fills in the home folder of the user who builds (`~` is that home):
/// what a build leaves besides its output. Gives the cache's name.
const BUILD_CACHES: &[(&str, &str)] = &[
    ("~/.cache/go-build", "Go's build cache"),
    ("~/go/pkg/mod", "Go's module cache"),
    ("~/.cargo/registry", "Cargo's registry"),
    ("~/.cargo/git", "Cargo's git checkouts"),
    ("~/.cargo/.package-cache", "Cargo's lock on its caches"),
    ("~/.cache/ccache", "ccache's cache"),
    ("~/.ccache", "ccache's cache"),
    ("~/.m2/repository", "Maven's repository"),
    ("~/.gradle/caches", "Gradle's caches"),
];

/// The toolchain cache holding `path` (an image path without the leading `/`, as a layer's
/// tar names it), for root's home or a home under `/home`; the cache's folder itself is in it.
pub fn build_cache_of(path: &str) -> Option<&'static str> {
    let rest = in_home(path)?;
    BUILD_CACHES.iter().find_map(|(dir, name)| {
        let dir = dir.trim_start_matches("~/");
        let inside = rest == dir || rest.strip_prefix(dir).is_some_and(|r| r.starts_with('/'));
        inside.then_some(*name)
    })
}

/// The toolchain cache that the folder `path` holds (`root/.cache` holds Go's build cache):
/// a folder made only to hold it.
pub fn build_cache_below(path: &str) -> Option<&'static str> {
    let rest = in_home(path)?;
    BUILD_CACHES.iter().find_map(|(dir, name)| {
        let dir = dir.trim_start_matches("~/");
        dir.strip_prefix(rest)
            .is_some_and(|r| r.starts_with('/'))
            .then_some(*name)
    })
}

/// `path` relative to the home folder it is in (`root/` or `home/NAME/`).
fn in_home(path: &str) -> Option<&str> {
    path.strip_prefix("root/").or_else(|| {
        path.strip_prefix("home/")
            .and_then(|p| p.split_once('/'))
            .map(|(_, rest)| rest)
    })
}

/// The image's start program says the toolchain is what it is for: a shell or an interpreter's
/// prompt (a build environment, a development container), or a toolchain itself (`ENTRYPOINT
/// ["javac"]`, `CMD ["make"]`). `command` is the start command's words.
pub fn toolchain_is_the_product(command: &[&str]) -> bool {
    let Some(program) = command.first() else {
        return false;
    };
    let program = program.rsplit('/').next().unwrap_or(program);
    let only_flags = command[1..]
        .iter()
        .all(|a| a.starts_with('-') && *a != "-c");
    if PROMPTS.contains(&program) {
        return only_flags;
    }
    // A wrapper named after its toolchain (`go.bash`, `mvn.sh`) is the toolchain too.
    let stem = program.split('.').next().unwrap_or(program);
    TOOLCHAIN_PROGRAMS.contains(&program) || TOOLCHAIN_PROGRAMS.contains(&stem)
}

/// Shells and interpreters that give a prompt when started with no script.
const PROMPTS: &[&str] = &[
    "sh", "bash", "ash", "dash", "zsh", "fish", "ksh", "python", "python2", "python3", "node",
    "irb", "ruby", "php", "perl", "R", "julia", "ghci", "iex", "erl", "jshell", "pwsh", "lua",
];

/// Programs that build software: an image started as one of these is a build tool.
const TOOLCHAIN_PROGRAMS: &[&str] = &[
    "gcc", "g++", "cc", "c++", "clang", "make", "cmake", "go", "cargo", "rustc", "mvn", "gradle",
    "javac", "bazel", "bazelisk", "distccd", "dotnet", "tsc", "swift", "ghc", "kotlinc",
];

/// Images whose own start command is a shell or an interpreter's prompt: operating systems,
/// language and toolchain images, development containers. A file that sets no CMD or
/// ENTRYPOINT on one of these keeps that prompt, so its toolchain is what the image is for.
pub fn starts_a_prompt(image: &str) -> bool {
    if dev_container(image) {
        return true;
    }
    let repo = image_repository(image);
    let name = repo.rsplit('/').next().unwrap_or(repo);
    PROMPT_IMAGES.contains(&name)
}

/// Folders every image of a Linux distribution has (and the language and toolchain images
/// built on one): a COPY into them creates none of them.
const STANDARD_FOLDERS: &[&str] = &[
    "/bin",
    "/etc",
    "/home",
    "/opt",
    "/root",
    "/srv",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/lib",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/local/share",
    "/usr/sbin",
    "/usr/share",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
];

/// Whether the image (a distribution's, or a language or toolchain image built on one) is
/// known to have the folder `dir` (absolute, normalized). busybox has few of them.
pub fn has_standard_folder(image: &str, dir: &str) -> bool {
    let repo = image_repository(image);
    let name = repo.rsplit('/').next().unwrap_or(repo);
    dir == "/" || (starts_a_prompt(image) && name != "busybox" && STANDARD_FOLDERS.contains(&dir))
}

/// A development container's base image (`mcr.microsoft.com/devcontainers/…`).
pub fn dev_container(image: &str) -> bool {
    let repo = image_repository(image);
    repo.contains("devcontainers") || repo.contains("/vscode/")
}

const PROMPT_IMAGES: &[&str] = &[
    "debian",
    "ubuntu",
    "alpine",
    "busybox",
    "fedora",
    "centos",
    "rockylinux",
    "almalinux",
    "amazonlinux",
    "archlinux",
    "oraclelinux",
    "photon",
    "leap",
    "tumbleweed",
    "ubi",
    "ubi8",
    "ubi9",
    "buildpack-deps",
    "golang",
    "rust",
    "python",
    "node",
    "ruby",
    "php",
    "perl",
    "gcc",
    "openjdk",
    "eclipse-temurin",
    "amazoncorretto",
    "maven",
    "gradle",
    "haskell",
    "elixir",
    "erlang",
    "julia",
    "swift",
    "r-base",
    "clojure",
    "sdk",
];

/// `registry:5000/library/debian:bookworm@sha256:…` → `registry:5000/library/debian`.
pub fn image_repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// The tag of an image reference (`latest` when none is written).
pub fn image_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[colon + 1..],
        _ => "latest",
    }
}

/// The smaller image of the same family that runs what a toolchain image built: an
/// operating system's slim variant (`debian:bookworm` → `debian:bookworm-slim`), the
/// distribution a toolchain image is made from when its tag names it (`golang:1.22-bookworm` →
/// `debian:bookworm-slim`, `rust:1-alpine3.20` → `alpine:3.20`), the image itself when nothing
/// smaller of its family is known and it is an operating system. `None` when the family's
/// distribution cannot be told from the tag (`golang:1.22`): its release changes with the
/// image's, and a program linked against a newer C library does not start on an older one.
pub fn runtime_base(image: &str) -> Option<String> {
    let repo = image_repository(image);
    let tag = image_tag(image);
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let official = repo == name || repo.starts_with("docker.io/") || repo.starts_with("library/");
    match name {
        _ if !official => None,
        "debian" if tag.ends_with("-slim") => Some(image.to_string()),
        "debian" if tag == "latest" => Some("debian:stable-slim".into()),
        "debian" if !tag.contains("backports") => Some(format!("{repo}:{tag}-slim")),
        "ubuntu" | "alpine" | "fedora" | "rockylinux" | "almalinux" | "amazonlinux" => {
            Some(image.to_string())
        }
        "golang" | "rust" | "gcc" | "buildpack-deps" => distribution_of(tag),
        // The slim variant of a language image is made from the same release: the
        // interpreter sits at the same path, so a virtualenv or node_modules moves across.
        "node" | "python" => Some(slim_variant(repo, name, tag)),
        "eclipse-temurin" => {
            let jre = match tag.split_once("-jdk") {
                Some((version, rest)) => format!("{version}-jre{rest}"),
                None if tag.contains("-jre") || tag == "latest" => return None,
                None => format!("{tag}-jre"),
            };
            Some(format!("{repo}:{jre}"))
        }
        // `maven:3.9-eclipse-temurin-21` builds with Temurin 21: its JRE runs the jar.
        "maven" => tag
            .split_once("-eclipse-temurin-")
            .map(|(_, version)| format!("eclipse-temurin:{version}-jre")),
        _ => None,
    }
}

/// `node:20` → `node:20-slim`, `node:20-bookworm` → `node:20-bookworm-slim`, `python:3.12` →
/// `python:3.12-slim`, `python:3.12-bookworm` → `python:3.12-slim-bookworm`; a slim or Alpine
/// tag is kept.
fn slim_variant(repo: &str, name: &str, tag: &str) -> String {
    if tag.contains("slim") || tag.contains("alpine") {
        return format!("{repo}:{tag}");
    }
    if tag == "latest" {
        return format!("{repo}:slim");
    }
    let distribution = tag
        .split('-')
        .position(|p| DEBIAN.contains(&p) || UBUNTU.contains(&p));
    let parts: Vec<&str> = tag.split('-').collect();
    match distribution {
        // Python names the variant before the distribution, Node after it.
        Some(at) if name == "python" => format!(
            "{repo}:{}-slim-{}",
            parts[..at].join("-"),
            parts[at..].join("-")
        ),
        _ => format!("{repo}:{tag}-slim"),
    }
}

/// The distribution a toolchain image's tag names: `1.22-bookworm`, `1-slim-bookworm`,
/// `1.22-alpine3.20`, `bookworm-curl`.
fn distribution_of(tag: &str) -> Option<String> {
    for part in tag.split('-') {
        if DEBIAN.contains(&part) {
            return Some(format!("debian:{part}-slim"));
        }
        if UBUNTU.contains(&part) {
            return Some(format!("ubuntu:{part}"));
        }
        if let Some(version) = part.strip_prefix("alpine") {
            return Some(if version.is_empty() {
                "alpine".to_string()
            } else {
                format!("alpine:{version}")
            });
        }
    }
    None
}

const DEBIAN: &[&str] = &["buster", "bullseye", "bookworm", "trixie", "forky", "sid"];
const UBUNTU: &[&str] = &["focal", "jammy", "noble", "oracular", "plucky", "questing"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_but_not_browser_channels() {
        assert_eq!(build_package("libssl-dev"), Some("c"));
        assert_eq!(build_package("openssl-devel"), Some("c"));
        assert_eq!(build_package("microsoft-edge-dev"), None);
        assert_eq!(build_package("google-chrome-dev"), None);
        assert_eq!(build_package("gcc=4:12.2.0-3"), Some("c"));
        assert_eq!(build_package("openjdk-17-jdk-headless"), Some("java"));
        assert_eq!(build_package("openjdk17"), Some("java"));
        assert_eq!(build_package("clang-16"), Some("c"));
        assert_eq!(build_package("lld-16"), Some("c"));
        assert_eq!(build_package("lldpd"), None);
        assert_eq!(compiler_name("clang-16"), "clang");
        assert_eq!(compiler_name("gcc-12"), "gcc");
        assert_eq!(compiler_name("clang-format-16"), "clang-format-16");
        assert_eq!(build_package("openjdk-17-jre-headless"), None);
        assert!(build_only_package("npm") && build_only_package("python3.11-venv"));
        assert!(!build_only_package("nodejs") && !build_only_package("python3"));
    }

    #[test]
    fn runtime_packages_of_jdks() {
        let jre = |n| runtime_package(n);
        assert_eq!(jre("default-jdk").as_deref(), Some("default-jre-headless"));
        assert_eq!(
            jre("openjdk-17-jdk-headless").as_deref(),
            Some("openjdk-17-jre-headless")
        );
        assert_eq!(jre("openjdk17").as_deref(), Some("openjdk17-jre-headless"));
        assert_eq!(
            jre("openjdk17-jdk").as_deref(),
            Some("openjdk17-jre-headless")
        );
        assert_eq!(jre("gcc"), None);
        assert!(interpreter_headers("python3-dev") && interpreter_headers("libpython3.11-dev"));
        assert!(!interpreter_headers("libssl-dev"));
    }

    #[test]
    fn start_commands() {
        assert!(toolchain_is_the_product(&["/bin/bash"]));
        assert!(toolchain_is_the_product(&["bash", "-l"]));
        assert!(!toolchain_is_the_product(&["bash", "-c", "run-app"]));
        assert!(!toolchain_is_the_product(&["python3", "app.py"]));
        assert!(toolchain_is_the_product(&["python3"]));
        assert!(toolchain_is_the_product(&["javac"]));
        assert!(toolchain_is_the_product(&["go.bash"]));
        assert!(!toolchain_is_the_product(&["gopher.sh"]));
        assert!(!toolchain_is_the_product(&["/usr/local/bin/app"]));
        assert!(!toolchain_is_the_product(&[]));
    }

    #[test]
    fn images() {
        assert!(starts_a_prompt("debian:bookworm-slim"));
        assert!(starts_a_prompt("docker.io/library/golang:1.22@sha256:abc"));
        assert!(starts_a_prompt(
            "mcr.microsoft.com/devcontainers/base:ubuntu"
        ));
        assert!(!starts_a_prompt("jupyter/scipy-notebook"));
        assert_eq!(
            image_repository("localhost:5000/app:1"),
            "localhost:5000/app"
        );
        assert_eq!(image_repository("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(image_tag("debian:bookworm"), "bookworm");
        assert_eq!(image_tag("localhost:5000/app"), "latest");
    }

    #[test]
    fn runtime_bases() {
        let base = |i| runtime_base(i);
        assert_eq!(
            base("debian:bookworm").as_deref(),
            Some("debian:bookworm-slim")
        );
        assert_eq!(
            base("debian:bookworm-slim").as_deref(),
            Some("debian:bookworm-slim")
        );
        assert_eq!(
            base("golang:1.22-bookworm").as_deref(),
            Some("debian:bookworm-slim")
        );
        assert_eq!(
            base("rust:1-slim-bookworm").as_deref(),
            Some("debian:bookworm-slim")
        );
        assert_eq!(
            base("golang:1.22-alpine3.20").as_deref(),
            Some("alpine:3.20")
        );
        assert_eq!(
            base("buildpack-deps:jammy").as_deref(),
            Some("ubuntu:jammy")
        );
        assert_eq!(
            base("golang:1.22"),
            None,
            "the distribution changes with the tag"
        );
        assert_eq!(base("ghcr.io/acme/debian:12"), None);
        assert_eq!(base("alpine:3.20").as_deref(), Some("alpine:3.20"));
        assert_eq!(base("node:20").as_deref(), Some("node:20-slim"));
        assert_eq!(
            base("node:20-bookworm").as_deref(),
            Some("node:20-bookworm-slim")
        );
        assert_eq!(base("node:20-alpine").as_deref(), Some("node:20-alpine"));
        assert_eq!(
            base("python:3.12-bookworm").as_deref(),
            Some("python:3.12-slim-bookworm")
        );
        assert_eq!(base("python").as_deref(), Some("python:slim"));
        assert_eq!(
            base("eclipse-temurin:21-jdk-jammy").as_deref(),
            Some("eclipse-temurin:21-jre-jammy")
        );
        assert_eq!(
            base("maven:3.9-eclipse-temurin-21").as_deref(),
            Some("eclipse-temurin:21-jre")
        );
        assert_eq!(base("maven:3.9"), None);
    }

    #[test]
    fn standard_folders_of_distribution_images() {
        assert!(has_standard_folder(
            "debian:bookworm-slim",
            "/usr/local/bin"
        ));
        assert!(has_standard_folder("python:3.12", "/opt"));
        assert!(!has_standard_folder("busybox", "/usr/local/bin"));
        assert!(!has_standard_folder("debian", "/app"));
        assert!(!has_standard_folder("acme/app:1", "/usr/local/bin"));
        assert!(has_standard_folder("acme/app:1", "/"));
    }

    #[test]
    fn build_caches_in_any_home() {
        assert_eq!(
            build_cache_of("root/.cache/go-build/01/ab-a"),
            Some("Go's build cache")
        );
        assert_eq!(
            build_cache_of("root/.cache/go-build"),
            Some("Go's build cache")
        );
        assert_eq!(
            build_cache_of("home/dev/.cargo/registry/index"),
            Some("Cargo's registry")
        );
        assert_eq!(build_cache_of("root/.cache/go-builder"), None);
        assert_eq!(build_cache_of("root/.cache"), None);
        assert_eq!(build_cache_of("srv/.cache/go-build/x"), None);
        assert_eq!(build_cache_below("root/.cache"), Some("Go's build cache"));
        assert_eq!(
            build_cache_below("home/dev/go/pkg"),
            Some("Go's module cache")
        );
        assert_eq!(build_cache_below("root/.cache/go-build"), None);
        assert_eq!(build_cache_below("root/.config"), None);
    }

    #[test]
    fn source_builds() {
        assert!(builds_from_source("make", &[]));
        assert!(builds_from_source("./configure", &["--prefix=/usr"]));
        assert!(builds_from_source("pip", &["install", "-r", "req.txt"]));
        assert!(builds_from_source("go", &["build", "-o", "/app"]));
        assert!(!builds_from_source("go", &["version"]));
        assert!(!builds_from_source("curl", &["-o", "x"]));
    }
}
