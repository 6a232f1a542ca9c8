#!/usr/bin/env bash
# Podman's Docker API and an ssh:// address, for layerwise's tests of `measure` through them.
# Run it under scripts/docker-env.sh, whose daemon (DOCKER_HOST) gives the images and is the
# daemon behind ssh:
#
#   scripts/remote-env.sh run DIR -- CMD...
#       (root) start, with everything under DIR:
#       - Debian's podman serving the Docker API (`podman system service`) on DIR/podman.sock,
#         with storage of its own, holding layerwise/busybox:latest from DOCKER_HOST's
#         `docker save`; exported as LAYERWISE_TEST_PODMAN=unix://…
#       - Debian's sshd on a free loopback port with a throwaway host key, user key, config and
#         known_hosts, whose sessions get DOCKER_HOST; exported as LAYERWISE_TEST_SSH (an
#         ssh://USER@HOST address) and LAYERWISE_TEST_SSH_BIN (a folder whose `ssh` reads the
#         throwaway client config: ssh reads ~/.ssh from the passwd entry, not from $HOME)
#       then run CMD and always stop both and remove DIR; exits with CMD's status. Their output
#       goes to DIR/podman.log and DIR/sshd.log. A service that cannot start is skipped with a
#       reason (its variable stays unset, so the tests say why), or with CI set, an error.
#
# Install the packages with `apt-get install podman openssh-server` (.ci/run does).
set -euo pipefail

readonly START_TIMEOUT=30
readonly IMAGE=layerwise/busybox:latest
readonly SSH_ALIAS=layerwise-test-ssh

DIR=""
SERVICE_PIDS=()

log() { printf 'remote-env: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# A service that cannot start: an error under CI, else a reason and no service.
cannot_start() {
    if [[ -n "${CI:-}" ]]; then die "$1"; fi
    log "skipping: $1"
}

# Every descendant of the given pids (children before their parents are gone).
descendants() {
    local pid child
    for pid in "$@"; do
        for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
            descendants "$child"
            printf '%s\n' "$child"
        done
    done
}

stop_services() {
    local pids=() pid
    ((${#SERVICE_PIDS[@]})) || return 0
    mapfile -t pids < <(descendants "${SERVICE_PIDS[@]}")
    pids+=("${SERVICE_PIDS[@]}")
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
        pid=""
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && pid=$p; done
        [[ -n "$pid" ]] || return 0
        sleep 0.2
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

on_exit() {
    local status=$?
    stop_services
    if [[ -n "$DIR" && -d "$DIR" ]]; then
        # podman's overlay mounts, deepest first
        grep -F " $DIR/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
            while read -r mnt; do umount "$mnt" 2>/dev/null || umount -l "$mnt" || true; done
        rm -rf --one-file-system "$DIR" || log "warning: could not remove $DIR"
    fi
    exit "$status"
}

# Wait until "$@" succeeds, at most START_TIMEOUT seconds, while pid $1 lives.
wait_for() {
    local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || return 1
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

start_podman() {
    local sock="$DIR/podman.sock" pid
    command -v podman >/dev/null || {
        cannot_start "podman is not installed (apt-get install podman)"
        return 0
    }
    local podman=(podman --root "$DIR/podman/storage" --runroot "$DIR/podman/run"
        --tmpdir "$DIR/podman/tmp" --cgroup-manager cgroupfs --events-backend file)
    mkdir -p "$DIR/podman/tmp"
    setsid "${podman[@]}" system service --time=0 "unix://$sock" \
        </dev/null >"$DIR/podman.log" 2>&1 &
    pid=$!
    SERVICE_PIDS+=("$pid")
    if ! wait_for "$pid" env DOCKER_HOST="unix://$sock" docker version; then
        tail -n 15 "$DIR/podman.log" >&2
        cannot_start "podman system service did not answer on $sock (log above)"
        return 0
    fi
    if ! docker save "$IMAGE" | DOCKER_HOST="unix://$sock" docker load >>"$DIR/podman.log" 2>&1; then
        tail -n 15 "$DIR/podman.log" >&2
        cannot_start "loading $IMAGE from $DOCKER_HOST into podman failed (log above)"
        return 0
    fi
    export LAYERWISE_TEST_PODMAN="unix://$sock"
    log "podman $(podman --version | awk '{print $3}') ready on $sock with $IMAGE"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_sshd() {
    local ssh="$DIR/ssh" port user pid
    [[ -x /usr/sbin/sshd ]] || {
        cannot_start "sshd is not installed (apt-get install openssh-server)"
        return 0
    }
    mkdir -p "$ssh/bin"
    chmod 700 "$ssh"
    user="$(id -un)"
    port="$(free_port)"
    ssh-keygen -q -t ed25519 -N '' -C layerwise-test-host -f "$ssh/host_key"
    ssh-keygen -q -t ed25519 -N '' -C layerwise-test-user -f "$ssh/user_key"
    cp "$ssh/user_key.pub" "$ssh/authorized_keys"
    printf '%s %s\n' "$SSH_ALIAS" "$(cut -d' ' -f1,2 "$ssh/host_key.pub")" >"$ssh/known_hosts"
    cat >"$ssh/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $ssh/host_key
PidFile $ssh/sshd.pid
AuthorizedKeysFile $ssh/authorized_keys
AllowUsers $user
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
SetEnv DOCKER_HOST=$DOCKER_HOST
EOF
    cat >"$ssh/ssh_config" <<EOF
Host $SSH_ALIAS
    HostName 127.0.0.1
    Port $port
    User $user
    IdentityFile $ssh/user_key
    IdentitiesOnly yes
    HostKeyAlias $SSH_ALIAS
    UserKnownHostsFile $ssh/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
EOF
    printf '#!/bin/sh\nexec /usr/bin/ssh -F %q "$@"\n' "$ssh/ssh_config" >"$ssh/bin/ssh"
    chmod 755 "$ssh/bin/ssh"
    # sshd's privilege separation folder, which Debian's init script makes
    mkdir -p /run/sshd
    setsid /usr/sbin/sshd -D -e -f "$ssh/sshd_config" </dev/null >"$DIR/sshd.log" 2>&1 &
    pid=$!
    SERVICE_PIDS+=("$pid")
    if ! wait_for "$pid" "$ssh/bin/ssh" "$SSH_ALIAS" docker version; then
        tail -n 15 "$DIR/sshd.log" >&2
        cannot_start "docker through sshd on 127.0.0.1:$port did not answer (log above)"
        return 0
    fi
    export LAYERWISE_TEST_SSH="ssh://$user@$SSH_ALIAS" LAYERWISE_TEST_SSH_BIN="$ssh/bin"
    log "sshd ready on 127.0.0.1:$port ($LAYERWISE_TEST_SSH reaches $DOCKER_HOST)"
}

cmd_run() {
    (($# >= 3)) && [[ "$2" == -- ]] || usage
    [[ $EUID -eq 0 ]] || die "run needs root"
    [[ -n "${DOCKER_HOST:-}" ]] || die "DOCKER_HOST is not set (run under scripts/docker-env.sh run)"
    [[ ! -e "$1" ]] || die "$1 exists; give a new folder"
    DIR="$(realpath -m -- "$1")"
    shift 2
    trap on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$DIR"
    start_podman
    start_sshd
    local status=0
    "$@" || status=$?
    exit "$status"
}

case "${1:-}" in
    run) shift && cmd_run "$@" ;;
    *) usage ;;
esac
