#!/usr/bin/env bash
# user-manager.sh: run a real systemd user manager on a host whose PID 1 is not systemd, so that
# chaos can test systemd faults and its sd-bus client against the real thing.
#
#   user-manager.sh start DIR        start a manager whose state lives in DIR; print its bus address
#   user-manager.sh stop DIR         stop it, kill everything in its cgroup, remove the cgroup (idempotent)
#   user-manager.sh unit DIR NAME    install the unit file read from stdin as NAME, then daemon-reload
#
# How (see "systemd without systemd as PID 1" in field-notes.md):
#   - `unshare --mount` gives the manager a private mount namespace (`mount --make-rprivate /` first),
#     where a tmpfs on /run/systemd holds an empty `system/` directory, so sd_booted() is true there.
#     Nothing is mounted in the caller's namespace; the namespace dies with its last process.
#   - The manager gets its own cgroup `/chaos-user-manager-<random>` in every hierarchy systemd uses
#     (cgroup v2: /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified and /sys/fs/cgroup/systemd;
#     legacy: /sys/fs/cgroup/systemd). Units run in `<cgroup>/app.slice/<unit>`.
#   - XDG_RUNTIME_DIR is DIR/runtime, outside the private mounts, so processes in the caller's
#     namespace reach the manager's sockets:
#       DIR/runtime/bus              the session bus (dbus-user-session, socket-activated by the manager):
#                                    connect as a bus client (Hello), destination org.freedesktop.systemd1
#       DIR/runtime/systemd/private  the manager's own peer-to-peer socket (what systemctl --user uses):
#                                    connect without Hello
#   - Unit files installed with `unit` go to DIR/runtime/systemd/user, the manager's runtime unit
#     directory, so nothing is written under $HOME.
#
# Files in DIR: pid (the manager's pid), cgroup (its cgroup name), env (KEY=VALUE lines, shell-sourceable:
# XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS, CHAOS_SYSTEMD_PRIVATE_ADDRESS, CHAOS_USER_MANAGER_PID,
# CHAOS_USER_MANAGER_CGROUP, CHAOS_USER_UNIT_DIR), manager.log (the manager's own log).
#
# Environment: CHAOS_USER_MANAGER_START_TIMEOUT (seconds, default 30), CHAOS_USER_MANAGER_STOP_TIMEOUT
# (seconds, default 15), SYSTEMD_LOG_LEVEL for the manager (default info).
#
# Needs root, systemd, util-linux (unshare, mount), cgroupfs mounted under /sys/fs/cgroup.
set -euo pipefail

readonly PROGRAM="user-manager.sh"
readonly CGROUP_PREFIX="chaos-user-manager-"
SELF="$(readlink -f "${BASH_SOURCE[0]}")"
readonly SELF

die() {
    printf '%s: %s\n' "$PROGRAM" "$*" >&2
    exit 1
}

usage() {
    cat >&2 <<'EOF'
usage: user-manager.sh start DIR        start a systemd user manager with its state in DIR
       user-manager.sh stop DIR         stop it and remove everything it left (idempotent)
       user-manager.sh unit DIR NAME    install the unit file on stdin as NAME and daemon-reload
EOF
    exit 64
}

now_us() { printf '%s' "${EPOCHREALTIME/./}"; }

# The state directory as an absolute path (it need not exist yet). Only plain characters, so that paths can go into D-Bus
# addresses and the env file without escaping.
state_dir() {
    local dir="$1"
    [[ -n "$dir" ]] || usage
    dir="$(readlink -m -- "$dir")"
    [[ "$dir" =~ ^/[A-Za-z0-9._/-]+$ ]] ||
        die "state directory '$dir' has characters other than letters, digits, '.', '_', '-' and '/'; choose a plainer path."
    case "$dir" in
        /run/systemd | /run/systemd/*) die "state directory '$dir' is inside /run/systemd, which the manager's namespace hides; use e.g. a directory under /tmp." ;;
    esac
    # sun_path holds 108 bytes; the longest socket path is DIR/runtime/systemd/private.
    ((${#dir} + 24 < 108)) || die "state directory '$dir' is too long for a unix socket path; use a shorter one (at most 80 characters)."
    printf '%s' "$dir"
}

# The cgroup hierarchies systemd uses on this host, one mount point per line.
hierarchies() {
    if [[ "$(stat -f -c %T /sys/fs/cgroup)" == cgroup2fs ]]; then
        echo /sys/fs/cgroup
        return
    fi
    if [[ -d /sys/fs/cgroup/unified && "$(stat -f -c %T /sys/fs/cgroup/unified)" == cgroup2fs ]]; then
        echo /sys/fs/cgroup/unified
    fi
    if [[ -d /sys/fs/cgroup/systemd && "$(stat -f -c %T /sys/fs/cgroup/systemd)" == cgroupfs ]]; then
        echo /sys/fs/cgroup/systemd
    fi
}

systemd_binary() {
    local candidate
    for candidate in /lib/systemd/systemd /usr/lib/systemd/systemd; do
        if [[ -x "$candidate" ]]; then
            printf '%s' "$candidate"
            return
        fi
    done
    die "cannot find the systemd binary in '/lib/systemd' or '/usr/lib/systemd'; install the 'systemd' package."
}

# True when PID exists and is not a zombie (a zombie counts as dead: PID 1 here reaps slowly).
alive() {
    local pid="$1" state
    [[ -n "$pid" && -r "/proc/$pid/status" ]] || return 1
    state="$(awk '$1 == "State:" { print $2 }' "/proc/$pid/status" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# Runs a command with the manager's environment (argv only, no shell strings).
with_manager_env() {
    local rt="$1"
    shift
    env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$rt" DBUS_SESSION_BUS_ADDRESS="unix:path=$rt/bus" "$@"
}

cgroup_name_of() {
    local dir="$1" name
    [[ -f "$dir/cgroup" ]] || return 1
    name="$(<"$dir/cgroup")"
    [[ "$name" =~ ^${CGROUP_PREFIX}[a-f0-9]+$ ]] || die "file '$dir/cgroup' holds '$name', not a cgroup this script made; remove it by hand after checking."
    printf '%s' "$name"
}

# Pids in a cgroup directory and all its children.
cgroup_pids() {
    local root="$1"
    [[ -d "$root" ]] || return 0
    find "$root" -name cgroup.procs -type f -exec cat {} + 2>/dev/null || true
}

cmd_start() {
    [[ $# -eq 1 ]] || usage
    local dir
    dir="$(state_dir "$1")"
    mkdir -p -- "$dir"
    [[ "$(id -u)" -eq 0 ]] || die "starting a user manager this way needs root (mount namespaces, cgroups); run as root."
    local systemd
    systemd="$(systemd_binary)"
    if [[ -f "$dir/pid" ]] && alive "$(<"$dir/pid")"; then
        die "a user manager already runs for '$dir' (pid $(<"$dir/pid")); stop it first with '$PROGRAM stop $dir'."
    fi
    # Leftovers of an earlier run that was not stopped cleanly.
    cmd_stop "$dir"

    local -a roots
    mapfile -t roots < <(hierarchies)
    ((${#roots[@]} > 0)) || die "no cgroup hierarchy systemd can use is mounted under '/sys/fs/cgroup'; mount cgroup2 there."

    local rt="$dir/runtime" name
    mkdir -m 0700 -- "$rt"
    name="${CGROUP_PREFIX}$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$name" >"$dir/cgroup"
    local root
    for root in "${roots[@]}"; do
        mkdir -- "$root/$name"
    done

    setsid unshare --mount --propagation private -- "$BASH" "$SELF" _exec "$dir" "$systemd" \
        >"$dir/manager.log" 2>&1 </dev/null &
    local launcher=$!

    local timeout_s="${CHAOS_USER_MANAGER_START_TIMEOUT:-30}"
    local deadline=$(($(now_us) + timeout_s * 1000000))
    local pid="" state="" why="it did not answer yet"
    while :; do
        if [[ -z "$pid" && -f "$dir/pid" ]]; then
            pid="$(<"$dir/pid")"
        fi
        if [[ -n "$pid" ]]; then
            alive "$pid" || { why="it exited"; break; }
        elif ! alive "$launcher"; then
            why="its launcher exited before the manager started"
            break
        fi
        if [[ -n "$pid" && -S "$rt/systemd/private" ]]; then
            state="$(with_manager_env "$rt" timeout 5 systemctl --user show --property=SystemState --value 2>/dev/null)" || state=""
            case "$state" in
                running | degraded)
                    if with_manager_env "$rt" timeout 5 busctl --user get-property org.freedesktop.systemd1 \
                        /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Version >/dev/null 2>&1; then
                        why=""
                        break
                    fi
                    why="it is '$state' but does not answer on the session bus '$rt/bus' yet"
                    ;;
                "") why="its private socket does not answer yet" ;;
                *) why="its state is '$state'" ;;
            esac
        fi
        if (($(now_us) > deadline)); then
            why="$why (waited ${timeout_s} s)"
            break
        fi
        sleep 0.05
    done
    if [[ -n "$why" ]]; then
        {
            printf '%s: the systemd user manager for '\''%s'\'' did not become ready: %s. Its log '\''%s'\'' ends with:\n' \
                "$PROGRAM" "$dir" "$why" "$dir/manager.log"
            tail -n 40 "$dir/manager.log" || true
            printf '%s: cleaning up; raise CHAOS_USER_MANAGER_START_TIMEOUT if the machine is just slow.\n' "$PROGRAM"
        } >&2
        # The launcher may not have joined the cgroup yet: kill it as well.
        kill -KILL "$launcher" 2>/dev/null || true
        wait "$launcher" 2>/dev/null || true
        cmd_stop "$dir" || true
        exit 1
    fi

    cat >"$dir/env.tmp" <<EOF
XDG_RUNTIME_DIR=$rt
DBUS_SESSION_BUS_ADDRESS=unix:path=$rt/bus
CHAOS_SYSTEMD_PRIVATE_ADDRESS=unix:path=$rt/systemd/private
CHAOS_USER_MANAGER_PID=$pid
CHAOS_USER_MANAGER_CGROUP=/$name
CHAOS_USER_UNIT_DIR=$rt/systemd/user
EOF
    mv -- "$dir/env.tmp" "$dir/env"
    printf 'unix:path=%s/bus\n' "$rt"
}

# Runs inside the new mount namespace and becomes the manager (same pid through every exec).
cmd_exec() {
    local dir="$1" systemd="$2" fd
    # Do not keep the caller's pipes open: whoever started us reads our stdout to its end.
    for fd in "/proc/$$/fd/"*; do
        fd="${fd##*/}"
        if ((fd > 2)) && [[ -e "/proc/$$/fd/$fd" ]]; then
            exec {fd}>&-
        fi
    done
    mount --make-rprivate /
    # /run/systemd exists on Debian even without systemd as PID 1; create it only when missing.
    [[ -d /run/systemd ]] || mkdir -p /run/systemd
    # daemon-reload refuses to run with less than 16 MiB free here ("safety buffer"); tmpfs only
    # uses what it stores, so give it room.
    mount -t tmpfs -o mode=0755,size=64m chaos-run-systemd /run/systemd
    mkdir /run/systemd/system
    local name root
    name="$(<"$dir/cgroup")"
    while read -r root; do
        printf '%s\n' "$$" >"$root/$name/cgroup.procs"
    done < <(hierarchies)
    printf '%s\n' "$$" >"$dir/pid.tmp"
    mv -- "$dir/pid.tmp" "$dir/pid"
    unset DBUS_SESSION_BUS_ADDRESS NOTIFY_SOCKET LISTEN_PID LISTEN_FDS LISTEN_FDNAMES INVOCATION_ID \
        WATCHDOG_PID WATCHDOG_USEC MANAGERPID SYSTEMD_EXEC_PID JOURNAL_STREAM
    export XDG_RUNTIME_DIR="$dir/runtime"
    export SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0 SYSTEMD_LOG_LEVEL="${SYSTEMD_LOG_LEVEL:-info}"
    exec "$systemd" --user
}

cmd_stop() {
    [[ $# -eq 1 ]] || usage
    local dir
    dir="$(state_dir "$1")"
    local name
    if ! name="$(cgroup_name_of "$dir")"; then
        rm -f -- "$dir/pid" "$dir/pid.tmp" "$dir/env" "$dir/env.tmp"
        rm -rf -- "$dir/runtime"
        return 0
    fi
    local -a roots
    mapfile -t roots < <(hierarchies)
    local timeout_s="${CHAOS_USER_MANAGER_STOP_TIMEOUT:-15}"
    local deadline=$(($(now_us) + timeout_s * 1000000))

    # Ask the manager to stop its units and exit (SIGTERM starts exit.target in a user manager).
    local pid=""
    [[ -f "$dir/pid" ]] && pid="$(<"$dir/pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && grep -q -- "/$name/" "/proc/$pid/cgroup" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        while alive "$pid" && (($(now_us) < deadline)); do
            sleep 0.05
        done
    fi

    # Then kill whatever is left in its cgroup, until every cgroup.procs is empty.
    local root p left
    while :; do
        left=""
        for root in "${roots[@]}"; do
            [[ -d "$root/$name" ]] || continue
            if [[ -f "$root/$name/cgroup.kill" ]]; then
                printf '1\n' >"$root/$name/cgroup.kill" 2>/dev/null || true
            fi
            for p in $(cgroup_pids "$root/$name"); do
                left="$left $p"
                kill -KILL "$p" 2>/dev/null || true
            done
        done
        [[ -z "$left" ]] && break
        if (($(now_us) > deadline)); then
            die "processes$left are still in cgroup '/$name' after SIGKILL (waited ${timeout_s} s); look at them with 'ps -o pid,stat,cmd -p ${left# }'."
        fi
        sleep 0.05
    done

    # Remove the cgroup tree, children first. rmdir can briefly fail with EBUSY right after the kill.
    local d remaining
    while :; do
        remaining=""
        for root in "${roots[@]}"; do
            [[ -d "$root/$name" ]] || continue
            while read -r d; do
                rmdir -- "$d" 2>/dev/null || remaining="$remaining '$d'"
            done < <(find "$root/$name" -depth -type d)
        done
        [[ -z "$remaining" ]] && break
        if (($(now_us) > deadline)); then
            die "cannot remove cgroup directories$remaining (waited ${timeout_s} s); check 'cgroup.procs' in them and remove them with rmdir."
        fi
        sleep 0.05
    done
    rm -f -- "$dir/pid" "$dir/pid.tmp" "$dir/env" "$dir/env.tmp" "$dir/cgroup"
    rm -rf -- "$dir/runtime"
}

cmd_unit() {
    [[ $# -eq 2 ]] || usage
    local dir unit="$2"
    dir="$(state_dir "$1")"
    [[ "$unit" =~ ^[A-Za-z0-9:_.@-]+\.(service|socket|target|timer|path|slice|mount)$ ]] ||
        die "'$unit' is not a unit file name chaos tests use; use letters, digits, ':', '_', '.', '@', '-' and a suffix such as '.service'."
    local pid=""
    [[ -f "$dir/pid" ]] && pid="$(<"$dir/pid")"
    if [[ ! -f "$dir/env" ]] || ! alive "$pid"; then
        die "no user manager runs for '$dir'; start one with '$PROGRAM start $dir'."
    fi
    local rt="$dir/runtime" units="$dir/runtime/systemd/user"
    mkdir -p -- "$units"
    cat >"$units/.$unit.tmp"
    mv -- "$units/.$unit.tmp" "$units/$unit"
    with_manager_env "$rt" timeout 20 systemctl --user daemon-reload ||
        die "'systemctl --user daemon-reload' failed after installing '$units/$unit'; see '$dir/manager.log'."
}

[[ $# -ge 1 ]] || usage
command="$1"
shift
case "$command" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    unit) cmd_unit "$@" ;;
    _exec) cmd_exec "$@" ;;
    *) usage ;;
esac
