#!/usr/bin/env bash
# Stand-ins for the two base images of the project's own Dockerfile, for a machine that reaches
# no image registry (as here): with DOCKER_HOST set (a BuildKit daemon, such as
# `scripts/docker-env.sh start DIR 26`, holding debian:bookworm-slim):
#
#   scripts/image-standins.sh
#       makes `rust:RUST_VERSION-slim-bookworm` (debian:bookworm-slim with gcc and libc6-dev
#       from Debian's apt, this machine's Rust toolchain, and the crates of Cargo.lock vendored
#       so cargo works offline) and `gcr.io/distroless/cc-debian12` (this machine's glibc,
#       libgcc and CA certificates, as distroless's has). Then:
#           docker build --network none -t layerwise .
#
# The real images come from their registries; these only let the build be proven here.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUST_VERSION="$(sed -n 's/^ARG RUST_VERSION=//p' "$REPO_ROOT/Dockerfile")"
work="$(mktemp -d "${TMPDIR:-/tmp}/layerwise-standins.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log() { printf 'image-standins: %s\n' "$*" >&2; }

[[ -n "${DOCKER_HOST:-}" ]] || { log "DOCKER_HOST is not set"; exit 1; }

if ! docker image inspect "rust:$RUST_VERSION-slim-bookworm" >/dev/null 2>&1; then
    toolchain="$(rustc --print sysroot)"
    mkdir -p "$work/rust/toolchain" "$work/rust/cargo"
    cp -a "$toolchain/bin" "$toolchain/lib" "$work/rust/toolchain/"
    log "vendoring the crates of Cargo.lock"
    (cd "$REPO_ROOT" && CARGO_NET_OFFLINE=true cargo vendor --locked --quiet "$work/rust/cargo/vendor") \
        >/dev/null
    printf '[source.crates-io]\nreplace-with = "vendored"\n[source.vendored]\ndirectory = "%s"\n' \
        /usr/local/cargo-offline/vendor >"$work/rust/cargo/config.toml"
    cat >"$work/rust/Dockerfile" <<'EOF'
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY toolchain /usr/local/rust
COPY cargo /usr/local/cargo-offline
ENV PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HOME=/usr/local/cargo-offline CARGO_NET_OFFLINE=true
EOF
    log "building rust:$RUST_VERSION-slim-bookworm (Rust $(rustc --version | cut -d' ' -f2))"
    docker build --network host -q -t "rust:$RUST_VERSION-slim-bookworm" "$work/rust" >/dev/null
fi

if ! docker image inspect gcr.io/distroless/cc-debian12 >/dev/null 2>&1; then
    root="$work/distroless"
    mkdir -p "$root/tmp" "$root/etc" "$root/usr/lib" "$root/usr/lib64" "$root/usr/bin"
    chmod 1777 "$root/tmp"
    # merged /usr, as Debian 12: /lib, /lib64 and /bin are links into /usr
    ln -s usr/lib "$root/lib"
    ln -s usr/lib64 "$root/lib64"
    ln -s usr/bin "$root/bin"
    dpkg -L libc6 libgcc-s1 ca-certificates | while read -r path; do
        if [[ ! -d "$path" && -e "$path" && "$path" != /usr/share/* ]]; then
            mkdir -p "$root$(dirname "$path")"
            cp -a "$path" "$root$path"
        fi
    done
    cp -a /etc/ssl "$root/etc/"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
    tar --numeric-owner -C "$root" -c . |
        docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - gcr.io/distroless/cc-debian12 >/dev/null
    log "made gcr.io/distroless/cc-debian12"
fi
