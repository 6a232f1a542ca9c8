#!/usr/bin/env bash
# A private Docker daemon and locally made base images for layerwise's Docker tests.
# No registry can be reached, so nothing is pulled: base images are built here.
#
#   scripts/docker-env.sh start DIR [ENGINE]
#       (root) install missing tools, start dockerd with everything under DIR, wait until it
#       answers; the last stdout line is `export DOCKER_HOST=…`, so: eval "$(… start DIR)".
#       ENGINE is 20 (Debian 12's docker.io, installed; the classic builder by default), 26
#       (Debian 13's docker.io, downloaded with apt from the trixie suite into the cache below
#       and unpacked there, never installed; BuildKit by default) or 26c (that Docker 26 with
#       the containerd image store, its `containerd-snapshotter` feature: images are kept by
#       Debian 12's containerd, `docker save` gives the OCI layout with gzip layers). Default: 20.
#   scripts/docker-env.sh images [busybox|debian|all]...
#       with DOCKER_HOST set, create the missing base images: layerwise/busybox:latest (also
#       tagged busybox:latest) and debian:bookworm-slim. Default: all.
#   scripts/docker-env.sh prepare
#       (root) install missing tools, debootstrap the Debian tree and unpack the Docker 26 engine
#       into the cache below, with no daemon: what `start` and `images` would wait on, done ahead
#       (CI runs it beside the build)
#   scripts/docker-env.sh stop DIR
#       stop the daemon, unmount what it left under DIR, remove DIR. Safe to repeat.
#   scripts/docker-env.sh run DIR [busybox|debian|all]... -- CMD...
#       start the engines (20 in DIR, 26 in DIR.26, 26c in DIR.26c), make the images in each,
#       run CMD with DOCKER_HOST (the first daemon), LAYERWISE_TEST_DAEMONS (the 20 and 26 ones,
#       space-separated) and LAYERWISE_TEST_CONTAINERD_STORE (the 26c one) exported, always
#       stop them; exits with CMD's status. DOCKER_ENV_ENGINES lists the engines to start
#       (default: 20 26 26c).
#
# The Debian root filesystem and the Docker 26 engine are cached in the repo under
# .cache/docker-env/ (git-ignored); delete them to fetch afresh. Environment:
# DOCKER_ENV_STORAGE_DRIVER forces a storage driver (default overlay2, vfs where overlay mounts
# fail; for 26c containerd's overlayfs, native where they fail); DOCKER_ENV_DEBIAN_MIRROR
# overrides debootstrap's default mirror.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly MARKER=.docker-env           # marks a DIR this script made, so stop never removes another
readonly START_TIMEOUT=30             # seconds for dockerd to answer
readonly STOP_TIMEOUT=20              # seconds between TERM and KILL
readonly DEBIAN_RECIPE=v1             # bump when the Debian recipe changes, to miss the old cache
readonly IMAGE_PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

RUN_DIRS=()     # set by `run`: the exit trap stops these daemons
TMP_DIRS=()     # scratch dirs removed on exit

log() { printf 'docker-env: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

on_exit() {
    local status=$?
    local dir
    for dir in "${RUN_DIRS[@]+"${RUN_DIRS[@]}"}"; do
        stop_env "$dir" || log "warning: could not fully stop the daemon in $dir"
    done
    for dir in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do
        unmount_under "$dir" || true
        rm -rf --one-file-system "$dir" || true
    done
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Make a scratch dir named after $2 and store its path in the variable named $1. Not a command
# substitution: the subshell would lose the TMP_DIRS entry.
scratch_dir() {
    local made
    made="$(mktemp -d "${TMPDIR:-/tmp}/layerwise-$2.XXXXXX")"
    TMP_DIRS+=("$made")
    printf -v "$1" '%s' "$made"
}

need_root() { [[ $EUID -eq 0 ]] || die "$1 needs root"; }

socket_of() { printf 'unix://%s/docker.sock' "$1"; }

# ---------------------------------------------------------------------------------------------
# Processes and mounts belonging to DIR

# Every mount point at or below $1, deepest first (mountinfo escapes spaces and such as \ooo).
mounts_under() {
    local root="$1" mnt
    while read -r _ _ _ _ mnt _; do
        mnt="$(printf '%b' "$mnt")"
        if [[ "$mnt" == "$root" || "$mnt" == "$root"/* ]]; then printf '%s\n' "$mnt"; fi
    done </proc/self/mountinfo | sort -r
}

unmount_under() {
    local mnt failed=0
    while IFS= read -r mnt; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || {
            log "cannot unmount $mnt"
            failed=1
        }
    done < <(mounts_under "$1")
    return "$failed"
}

# The dockerd whose pidfile is DIR/docker.pid, found by its command line so a reused pid is
# never mistaken for it.
dockerd_pid() {
    local dir="$1" pid cmdline
    for pid in /proc/[0-9]*; do
        pid="${pid#/proc/}"
        [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */dockerd ]] || continue
        cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || continue
        if [[ "$cmdline" == *" --pidfile $dir/docker.pid "* ]]; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 1
}

# What a killed dockerd can leave running: its containerd and shims, with an argument under DIR.
daemon_leftovers() {
    local dir="$1" pid exe
    for pid in /proc/[0-9]*; do
        pid="${pid#/proc/}"
        exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || continue
        [[ "${exe##*/}" == containerd* || "${exe##*/}" == dockerd ]] || continue
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- " $dir/"; then
            printf '%s\n' "$pid"
        fi
    done
}

# Container init processes: the shims' children. Each is pid 1 of its container's pid namespace,
# so killing it ends the whole container.
container_inits() {
    local pid
    for pid in "$@"; do
        [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */containerd-shim* ]] || continue
        ps -o pid= --ppid "$pid" | tr -d " " || true
    done
}

# Wait until none of the given pids is alive, at most $1 seconds.
wait_gone() {
    local deadline=$((SECONDS + $1)) pid alive
    shift
    while :; do
        alive=0
        for pid in "$@"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# ---------------------------------------------------------------------------------------------
# Docker 26: Debian 13's docker.io, unpacked into the cache and run from there

engine26_dir() {
    printf '%s/.cache/docker-env/docker-26-%s\n' "$REPO_ROOT" "$(dpkg --print-architecture)"
}

# The mirror the system's apt uses (the first Debian one in its sources), for the trixie suite.
system_debian_mirror() {
    local uri
    uri="$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+)https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
        2>/dev/null | head -n 1 | grep -oE 'https?://[^[:space:]]+')" || true
    printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# apt-get download docker.io from trixie with a sources list, lists and archives of its own
# (nothing of the system's apt state is touched), then dpkg -x it into the cache.
fetch_engine26() {
    local dir work mirror
    dir="$(engine26_dir)"
    [[ -x "$dir/usr/sbin/dockerd" ]] && return 0
    scratch_dir work engine26
    mirror="${DOCKER_ENV_DEBIAN_MIRROR:-$(system_debian_mirror)}"
    mkdir -p "$work"/{sources,lists/partial,archives/partial,deb}
    printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' \
        "$mirror" /usr/share/keyrings/debian-archive-keyring.gpg >"$work/sources/trixie.sources"
    local apt=(apt-get -q -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/sources"
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1
        -o APT::Sandbox::User=root)
    log "downloading Debian 13's docker.io from $mirror (trixie)"
    if ! { "${apt[@]}" update && (cd "$work/deb" && "${apt[@]}" download docker.io); } \
        >"$work/apt.log" 2>&1; then
        tail -n 20 "$work/apt.log" >&2
        die "downloading docker.io from trixie failed"
    fi
    rm -rf "$dir.tmp"
    dpkg -x "$work"/deb/docker.io_*.deb "$dir.tmp"
    "$dir.tmp/usr/sbin/dockerd" --version | grep -q 'version 26\.' ||
        die "trixie's docker.io is not Docker 26: $("$dir.tmp/usr/sbin/dockerd" --version)"
    mv "$dir.tmp" "$dir"
    log "unpacked $("$dir/usr/sbin/dockerd" --version) into ${dir#"$REPO_ROOT"/}"
}

# ---------------------------------------------------------------------------------------------
# start

static_busybox() {
    local bb
    bb="$(command -v busybox)" || return 1
    # ldd fails on a static executable
    if ldd "$bb" >/dev/null 2>&1; then return 1; fi
    printf '%s\n' "$bb"
}

install_missing_tools() {
    local log_dir="$1" packages=()
    command -v dockerd >/dev/null && command -v docker >/dev/null || packages+=(docker.io)
    static_busybox >/dev/null || packages+=(busybox-static)
    command -v debootstrap >/dev/null || packages+=(debootstrap)
    ((${#packages[@]})) || return 0
    log "installing ${packages[*]}"
    if ! {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
    } >"$log_dir/apt.log" 2>&1; then
        tail -n 20 "$log_dir/apt.log" >&2
        die "installing ${packages[*]} failed"
    fi
}

overlay_mount_works() {
    local probe="$1/overlay-probe" ok=1
    mkdir -p "$probe"/{lower,upper,work,merged}
    if mount -t overlay overlay \
        -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
        umount "$probe/merged"
        ok=0
    fi
    rm -rf "$probe"
    return "$ok"
}

docker_answers() { DOCKER_HOST="$(socket_of "$1")" timeout 10 docker info >/dev/null 2>&1; }

# Launch the dockerd of engine $3 with storage driver $2 and wait for it: 0 ready, 1 exited,
# 2 timed out.
launch_dockerd() {
    local dir="$1" driver="$2" engine="$3" pid deadline bin_path=$PATH
    if [[ "$engine" == 26* ]]; then
        # its own dockerd, docker-init and docker-proxy first; containerd and runc are Debian 12's
        bin_path="$(engine26_dir)/usr/sbin:$(engine26_dir)/usr/bin:$PATH"
    fi
    log "starting dockerd $engine ($driver) in $dir"
    # setsid: a Ctrl-C at the caller's terminal reaches this script, whose trap stops the daemon
    # in order, rather than reaching the daemon directly.
    PATH="$bin_path" setsid dockerd \
        --config-file "$dir/daemon.json" \
        --iptables=false --ip6tables=false --bridge=none \
        --storage-driver="$driver" \
        --data-root "$dir/root" \
        --exec-root "$dir/exec" \
        --pidfile "$dir/docker.pid" \
        --host "$(socket_of "$dir")" \
        --shutdown-timeout 5 \
        </dev/null >>"$dir/dockerd.log" 2>&1 &
    pid=$!
    deadline=$((SECONDS + START_TIMEOUT))
    until docker_answers "$dir"; do
        kill -0 "$pid" 2>/dev/null || return 1
        ((SECONDS < deadline)) || return 2
        sleep 0.2
    done
}

start_env() {
    local dir="$1" engine="$2" driver status longest
    need_root start
    [[ "$engine" == @(20|26|26c) ]] || die "unknown engine '$engine' (20, 26 or 26c)"
    if [[ -e "$dir" && ! -f "$dir/$MARKER" && -n "$(ls -A "$dir")" ]]; then
        die "$dir is not empty and was not made by this script"
    fi
    # containerd refuses unix socket paths over 104 bytes; this is its longest.
    longest="$dir/exec/containerd/containerd-debug.sock"
    if ((${#longest} > 104)); then
        die "$dir is too long a path for the daemon's sockets; choose a shorter one"
    fi
    mkdir -p "$dir"
    touch "$dir/$MARKER"

    if dockerd_pid "$dir" >/dev/null && docker_answers "$dir"; then
        log "dockerd already running in $dir"
        DOCKER_HOST="$(socket_of "$dir")"
        export DOCKER_HOST
        return 0
    fi

    install_missing_tools "$dir"
    [[ "$engine" == 20 ]] || fetch_engine26
    # A config of our own keeps any /etc/docker/daemon.json from clashing with the flags.
    if [[ "$engine" == 26c ]]; then
        printf '{"features": {"containerd-snapshotter": true}}\n' >"$dir/daemon.json"
    else
        printf '{}\n' >"$dir/daemon.json"
    fi

    # The containerd image store names containerd's snapshotters instead of graph drivers:
    # overlayfs, and native where overlay mounts fail.
    local overlay=overlay2 copying=vfs
    if [[ "$engine" == 26c ]]; then overlay=overlayfs copying=native; fi
    driver="${DOCKER_ENV_STORAGE_DRIVER:-}"
    if [[ -z "$driver" ]]; then
        driver=$overlay
        if ! overlay_mount_works "$dir"; then
            log "overlay mounts fail on $(findmnt -no FSTYPE -T "$dir"); falling back to $copying (slow, big)"
            driver=$copying
        fi
    fi

    status=0
    launch_dockerd "$dir" "$driver" "$engine" || status=$?
    if ((status == 1)) && [[ "$driver" == "$overlay" && -z "${DOCKER_ENV_STORAGE_DRIVER:-}" ]]; then
        log "dockerd exited with $overlay; retrying with $copying"
        driver=$copying
        status=0
        launch_dockerd "$dir" "$driver" "$engine" || status=$?
    fi
    if ((status != 0)); then
        log "dockerd did not answer ($([[ $status == 1 ]] && echo exited || echo "timed out after ${START_TIMEOUT}s")); end of $dir/dockerd.log:"
        grep -v 'module=grpc' "$dir/dockerd.log" | tail -n 15 | sed 's/^/    /' >&2
        stop_env "$dir" || true
        exit 1
    fi
    DOCKER_HOST="$(socket_of "$dir")"
    export DOCKER_HOST
    log "dockerd $engine ready ($driver, pid $(cat "$dir/docker.pid"))"
}

cmd_start() {
    (($# == 1 || $# == 2)) || usage
    local dir
    dir="$(realpath -m -- "$1")"
    start_env "$dir" "${2:-20}"
    printf 'export DOCKER_HOST=%q\n' "$DOCKER_HOST"
}

# ---------------------------------------------------------------------------------------------
# stop

stop_env() {
    local dir="$1" pid failed=0
    local -a rest inits
    [[ -e "$dir" ]] || return 0
    if [[ ! -f "$dir/$MARKER" ]]; then
        log "refusing to remove $dir: it was not made by this script"
        return 1
    fi
    if pid="$(dockerd_pid "$dir")"; then
        # a throwaway daemon need not give running containers their 10 s to stop
        DOCKER_HOST="$(socket_of "$dir")" timeout 10 \
            sh -c 'docker ps -q | xargs -r docker kill' >/dev/null 2>&1 || true
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_gone "$STOP_TIMEOUT" "$pid"; then
            log "dockerd $pid ignored TERM for ${STOP_TIMEOUT}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone 5 "$pid" || true
        fi
    fi
    mapfile -t rest < <(daemon_leftovers "$dir")
    if ((${#rest[@]})); then
        mapfile -t inits < <(container_inits "${rest[@]}")
        if ((${#inits[@]})); then
            log "killing leftover containers ${inits[*]}"
            kill -KILL "${inits[@]}" 2>/dev/null || true
            wait_gone 5 "${inits[@]}" || true
        fi
        log "killing leftover processes ${rest[*]}"
        kill -TERM "${rest[@]}" 2>/dev/null || true
        wait_gone 5 "${rest[@]}" || kill -KILL "${rest[@]}" 2>/dev/null || true
        wait_gone 5 "${rest[@]}" || true
    fi
    unmount_under "$dir" || failed=1
    # --one-file-system: never reach through a mount that would not go away
    rm -rf --one-file-system "$dir" || failed=1
    return "$failed"
}

cmd_stop() {
    (($# == 1)) || usage
    local dir
    dir="$(realpath -m -- "$1")"
    need_root stop
    stop_env "$dir" || die "could not fully clean up $dir"
}

# ---------------------------------------------------------------------------------------------
# images

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

make_busybox() {
    local bb tree name
    if ! image_exists layerwise/busybox:latest; then
        bb="$(static_busybox)" || die "no static busybox (apt-get install busybox-static)"
        scratch_dir tree busybox
        mkdir -p "$tree"/{bin,etc,root,tmp}
        chmod 1777 "$tree/tmp"
        cp "$bb" "$tree/bin/busybox"
        # hard links, as the official image has; linking `busybox` itself would replace the binary
        for name in $("$bb" --list); do
            [[ "$name" == busybox ]] || ln "$tree/bin/busybox" "$tree/bin/$name"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$tree/etc/passwd"
        printf 'root:x:0:\nnobody:x:65534:\n' >"$tree/etc/group"
        tar --numeric-owner -C "$tree" -c . |
            docker import -c "ENV $IMAGE_PATH_ENV" -c 'CMD ["sh"]' - layerwise/busybox:latest >/dev/null
        log "made layerwise/busybox:latest"
    fi
    image_exists busybox:latest || docker tag layerwise/busybox:latest busybox:latest
}

# The settings official Debian images ship so that `apt-get install` in a build leaves no caches
# or docs in the layer, and services do not try to start.
configure_debian_rootfs() {
    local root="$1"
    printf '#!/bin/sh\n# no services start during docker build\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"

    printf 'force-unsafe-io\n' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# slim: keep docs, man pages and translations out of every later install
path-exclude /usr/share/doc/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-include /usr/share/doc/*/copyright
path-include /usr/share/locale/locale.alias
EOF

    local clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<EOF
# an apt-get clean after every install and update, so no .deb or cache lands in a layer
DPkg::Post-Invoke { $clean };
APT::Update::Post-Invoke { $clean };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
    printf 'Acquire::GzipIndexes "true";\n' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
    printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    chmod 0644 "$root"/etc/dpkg/dpkg.cfg.d/docker* "$root"/etc/apt/apt.conf.d/docker-*
}

# What debootstrap leaves that an image should not carry.
trim_debian_rootfs() {
    local root="$1"
    rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/lib/apt/lists/* "$root"/var/cache/ldconfig/aux-cache \
        "$root"/var/log/apt/*.log "$root"/var/log/{dpkg,bootstrap,alternatives}.log \
        "$root"/run/mount/utab "$root"/etc/hostname "$root"/etc/resolv.conf
    mkdir -p "$root/var/lib/apt/lists/partial"
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$root/usr/share/doc" -mindepth 1 -depth -type d -empty -delete
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    rm -rf "$root"/usr/share/{man,info,groff,linda}/* "$root"/usr/share/lintian/overrides/*
}

debian_rootfs_tar() {
    local cache="$1" work mirror=()
    scratch_dir work debian
    [[ -z "${DOCKER_ENV_DEBIAN_MIRROR:-}" ]] || mirror=("$DOCKER_ENV_DEBIAN_MIRROR")
    log "debootstrapping bookworm (minbase); log in $work/debootstrap.log"
    if ! debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror[@]+"${mirror[@]}"}" \
        >"$work/debootstrap.log" 2>&1; then
        tail -n 20 "$work/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    unmount_under "$work/rootfs" || die "debootstrap left mounts in $work/rootfs"
    configure_debian_rootfs "$work/rootfs"
    trim_debian_rootfs "$work/rootfs"
    mkdir -p "$(dirname "$cache")"
    tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        -C "$work/rootfs" -cf "$cache.$$.tmp" .
    mv "$cache.$$.tmp" "$cache"
}

debian_cache() {
    printf '%s/.cache/docker-env/debian-bookworm-slim-%s-%s.tar\n' \
        "$REPO_ROOT" "$(dpkg --print-architecture)" "$DEBIAN_RECIPE"
}

# The Debian tree's tar in the cache, debootstrapped when missing; its path in the variable $1.
cached_debian_rootfs() {
    local tar_path
    tar_path="$(debian_cache)"
    if [[ -s "$tar_path" ]]; then
        log "using cached ${tar_path#"$REPO_ROOT"/}"
    else
        need_root debootstrap
        debian_rootfs_tar "$tar_path"
    fi
    printf -v "$1" '%s' "$tar_path"
}

make_debian() {
    local cache
    image_exists debian:bookworm-slim && return 0
    cached_debian_rootfs cache
    docker import -c "ENV $IMAGE_PATH_ENV" -c 'CMD ["bash"]' "$cache" debian:bookworm-slim >/dev/null
    log "made debian:bookworm-slim"
}

check_image_sets() {
    local want
    for want in "$@"; do
        [[ "$want" == @(busybox|debian|all) ]] || die "unknown image set '$want' (busybox, debian or all)"
    done
}

images() {
    (($#)) || set -- all
    check_image_sets "$@"
    [[ -n "${DOCKER_HOST:-}" ]] || die "DOCKER_HOST is not set (eval the output of: $0 start DIR)"
    if [[ " $* " == *" busybox "* || " $* " == *" all "* ]]; then make_busybox; fi
    if [[ " $* " == *" debian "* || " $* " == *" all "* ]]; then make_debian; fi
}

# ---------------------------------------------------------------------------------------------
# prepare

cmd_prepare() {
    (($# == 0)) || usage
    local logs cache
    need_root prepare
    scratch_dir logs prepare
    install_missing_tools "$logs"
    cached_debian_rootfs cache
    fetch_engine26
    log "prepared: tools installed, ${cache#"$REPO_ROOT"/}, $(engine26_dir | sed "s|^$REPO_ROOT/||")"
}

# ---------------------------------------------------------------------------------------------
# run

cmd_run() {
    (($# >= 1)) || usage
    local dir sets=() status
    dir="$(realpath -m -- "$1")"
    shift
    while (($#)) && [[ "$1" != -- ]]; do
        sets+=("$1")
        shift
    done
    if [[ "${1:-}" != -- ]] || (($# < 2)); then usage; fi
    shift
    check_image_sets "${sets[@]+"${sets[@]}"}"
    local engine engines=() hosts=() first="" containerd_store=""
    read -r -a engines <<<"${DOCKER_ENV_ENGINES:-20 26 26c}"
    for engine in "${engines[@]}"; do
        local engine_dir="$dir"
        [[ "$engine" == 20 ]] || engine_dir="$dir.$engine"
        RUN_DIRS+=("$engine_dir")
        start_env "$engine_dir" "$engine"
        images "${sets[@]+"${sets[@]}"}"
        if [[ "$engine" == 26c ]]; then
            containerd_store="$DOCKER_HOST"
        else
            hosts+=("$DOCKER_HOST")
        fi
        [[ -n "$first" ]] || first="$DOCKER_HOST"
    done
    DOCKER_HOST="$first"
    LAYERWISE_TEST_DAEMONS="${hosts[*]}"
    LAYERWISE_TEST_CONTAINERD_STORE="$containerd_store"
    export DOCKER_HOST LAYERWISE_TEST_DAEMONS LAYERWISE_TEST_CONTAINERD_STORE
    status=0
    "$@" || status=$?
    if ((status != 0)); then
        # what each daemon logged as an error while the command ran: a failure that is the
        # daemon's own shows there (CI keeps only this script's output)
        local run_dir errors
        for run_dir in "${RUN_DIRS[@]}"; do
            errors=$(grep -v 'module=grpc' "$run_dir/dockerd.log" 2>/dev/null \
                | grep -E 'level=(error|fatal|panic)|^panic:' | tail -n 15 | sed 's/^/    /' || true)
            log "the command failed ($status); errors in $run_dir/dockerd.log:${errors:+$'\n'}${errors:- none}"
        done
    fi
    exit "$status"
}

case "${1:-}" in
    start) shift && cmd_start "$@" ;;
    images) shift && images "$@" ;;
    prepare) shift && cmd_prepare "$@" ;;
    stop) shift && cmd_stop "$@" ;;
    run) shift && cmd_run "$@" ;;
    *) usage ;;
esac
