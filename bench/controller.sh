#!/usr/bin/env bash
# bench/controller.sh — one controller driving N simulated agents: how long an injection takes to fan
# out to all of them, how long a global halt takes to be acknowledged by all, and the controller's memory.
#
# Usage: bench/controller.sh [--help]
#
# In one run, on this host:
#   fleet      bench/simfleet.py: N simulated agents in one Python program (WORKERS processes), agent i
#              at its own loopback address 127.1.X.Y:PORT (sim-0001 ... sim-N), speaking the agent API
#              over mutual TLS with keep-alive; each request is timestamped on arrival. Faults are only
#              bookkeeping (nothing is done to the host); leases are enforced like a real agent's.
#   certs      a fresh CA and the controller's and an operator's certificates from `chaos certs`; the
#              agents' certificates, one per agent naming its address, signed by that CA with openssl
#              (AGENT_CERTS=shared: one `chaos certs issue --agent` certificate listing all N addresses;
#              that makes every handshake parse N SANs, which inflates the controller's CPU and memory)
#   controller `chaos controller` with N experiments (one per host: FAULT for DURATION, one tcp probe to
#              the fleet's stats port, GATE), all scheduled by cron at the same minute (the first one at
#              least LEAD seconds after the script starts), API on 127.0.0.1:API_PORT
# and it measures:
#   fan-out    from the scheduled minute S: the first and last inject arriving at the fleet, and per
#              run inject - (S + GATE) (p50/p99): every run observes its steady state for GATE first, so
#              S + GATE is the earliest any inject can come; split into the controller noticing the fire
#              (tick), preparing the run (a connection and a preview), and the inject after the gate
#   halt       with the N runs holding their faults: `chaos halt --controller ... --output json` as the
#              operator (wall time of the command, the controller's elapsedMs, N acknowledgements or the
#              script fails), when the halts arrive at the agents, and that the controller stored the N
#              runs as aborted. Then, REPEAT times each: the same halt through the idle controller (no
#              runs), and the floor: `chaos halt --inventory` from the CLI straight to the N agents (after
#              `chaos resume --inventory`); ratios controller / floor
#   memory     the controller's VmRSS, RssAnon, VmHWM, threads and open files, sampled every 0.5 s: before
#              the fire, with the N runs in progress, after the halt, at the end
#   CPU        for each timed command, the CPU time of the command, the controller and the fleet in the
#              meantime: on one machine the simulated fleet competes with chaos for the CPUs
#
# Environment (all optional):
#   N=1000          simulated agents (and experiments, and runs)
#   CHAOS_BIN       chaos executable (chaos-remote must be beside it); default: the first of
#                   .build-bench/release, .build-static/release, .build/release, .build/debug,
#                   .build-bench/debug whose `chaos halt` has --controller; else it builds
#                   `swift build --product chaos --scratch-path .build-bench`, then the same for
#                   chaos-remote (BUILD=release adds -c release: ~10 min on 2 CPUs)
#   PORT=17500      the agents' port; STATS_PORT=17600 (and up, one per worker); API_PORT=17434
#   WORKERS=2       simfleet processes (default: the number of CPUs)
#   AGENT_CERTS=each | shared
#   FAULT=stress.cpu  DURATION=180s  TICK=1s  PROBE_INTERVAL=1s
#   GATE=5s         the controller's default. With 1s and N=1000, runs started first saw no probe
#                   observation while the controller was busy starting the rest: inconclusive, nothing
#                   injected, and the script fails
#   LEAD=20         seconds at least between the start and the first fire (the next whole minute after)
#   SETTLE=5        seconds between the last inject and the halt (renewals run meanwhile)
#   FANOUT_TIMEOUT=120  seconds after S for all N injects, else the script fails
#   REPEAT=3        idle-controller halts and direct halts (medians)
#   FIRES=1         fires in a row (each: fan-out, halt, stored); from the second on, the controller is
#                   resumed and every experiment rescheduled to a minute after the planner's busy window
#                   of the previous fire (gate + DURATION + 10 s): shows whether memory is given back
#   NOFILE=65536    `ulimit -n` for everything started here, capped at the hard limit (the controller
#                   holds one connection per run and opens one more per agent for a halt: with 1024,
#                   the soft limit systemd gives services by default, N=1000 fails)
#   RESULTS_DIR=bench/results: writes RESULTS_DIR/controller-<UTC time>/ and points controller-latest
#                   at it (a failed run leaves controller-<time>-failed/)
#   TIME_LIMIT=900  seconds for everything after the build; the script fails when spent
#   KEEP_WORK=1     keep the temp work directory (certificates, store, logs)
# Needs: python3 (standard library), openssl, curl. No network. Everything it starts (the fleet, the
# controller, a memory sampler) is stopped at exit, by pid. Runtime with N=1000 and a release build:
# about 2 minutes (FIRES=2: about 5).
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "controller.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
N=${N:-1000}; PORT=${PORT:-17500}; STATS_PORT=${STATS_PORT:-17600}; API_PORT=${API_PORT:-17434}
WORKERS=${WORKERS:-$(nproc)}; AGENT_CERTS=${AGENT_CERTS:-each}
FAULT=${FAULT:-stress.cpu}; DURATION=${DURATION:-180s}; GATE=${GATE:-5s}; TICK=${TICK:-1s}; PROBE_INTERVAL=${PROBE_INTERVAL:-1s}
LEAD=${LEAD:-20}; SETTLE=${SETTLE:-5}; FANOUT_TIMEOUT=${FANOUT_TIMEOUT:-120}; REPEAT=${REPEAT:-3}; FIRES=${FIRES:-1}
NOFILE=${NOFILE:-65536}; TIME_LIMIT=${TIME_LIMIT:-900}; RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
for v in N PORT STATS_PORT API_PORT WORKERS LEAD SETTLE FANOUT_TIMEOUT REPEAT FIRES NOFILE TIME_LIMIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "controller.sh: $v must be a whole number" >&2; exit 2; }
done
((N >= 1 && N <= 64000)) || { echo "controller.sh: N must be 1..64000" >&2; exit 2; }
((REPEAT >= 1 && WORKERS >= 1 && FIRES >= 1)) || { echo "controller.sh: REPEAT, WORKERS and FIRES must be >= 1" >&2; exit 2; }
[[ $AGENT_CERTS == each || $AGENT_CERTS == shared ]] || { echo "controller.sh: AGENT_CERTS must be each or shared" >&2; exit 2; }
for d in DURATION GATE TICK PROBE_INTERVAL; do
  [[ ${!d} =~ ^[0-9]+(ms|s|m)$ ]] || { echo "controller.sh: $d must be a duration like 1s, 500ms, 3m" >&2; exit 2; }
done

say() { printf '== %s\n' "$*" >&2; }
fail() {
  printf '\ncontroller.sh: FAILED: %s\n' "$*" >&2
  if [[ -n ${OUT:-} && -d ${OUT:-} && -n ${WORK:-} ]]; then
    cp "$WORK/controller.log" "$OUT/" 2>/dev/null || true
    cp "$WORK/mem.txt" "$OUT/controller-mem.txt" 2>/dev/null || true
    [[ -n ${FLEET_PID:-} && ! -s $OUT/simfleet-stats.json ]] && kill -0 "$FLEET_PID" 2>/dev/null \
      && "$PY" "$BENCH_DIR/simfleet.py" stats --stats-port "$STATS_PORT" --workers "$WORKERS" >"$OUT/simfleet-stats.json" 2>/dev/null
    [[ -s $WORK/controller.log ]] && { echo "--- last lines of the controller's log ($OUT/controller.log):" >&2; tail -n 15 "$WORK/controller.log" >&2; }
  fi
  exit 1
}
PY=$(command -v /usr/bin/python3 || command -v python3) || fail "python3 is needed"
for c in openssl curl; do command -v "$c" >/dev/null || fail "$c is needed (apt-get install $c)"; done

# ---------------------------------------------------------------- chaos
has_controller() { [[ -x $1 && -x $(dirname "$1")/chaos-remote ]] && "$1" halt --help 2>/dev/null | grep -q -- '--controller'; }
CHAOS=""
if [[ -n ${CHAOS_BIN:-} ]]; then
  has_controller "$CHAOS_BIN" || fail "CHAOS_BIN=$CHAOS_BIN: not executable, no chaos-remote beside it, or too old (no 'chaos halt --controller')"
  CHAOS=$CHAOS_BIN
else
  for c in .build-bench/release .build-static/release .build/release .build/debug .build-bench/debug; do
    if has_controller "$REPO_DIR/$c/chaos"; then CHAOS="$REPO_DIR/$c/chaos"; break; fi
  done
  if [[ -z $CHAOS ]]; then
    conf=debug; flags=(); [[ ${BUILD:-} == release ]] && { conf=release; flags=(-c release); }
    # One product per call: given several --product options, swift build builds only the last one.
    for product in chaos chaos-remote; do
      say "building: swift build ${flags[*]} --product $product --scratch-path .build-bench"
      (cd "$REPO_DIR" && swift build "${flags[@]}" --product "$product" --scratch-path .build-bench) >&2 \
        || fail "swift build --product $product failed (others may be mid-edit); retry, or set CHAOS_BIN"
    done
    CHAOS="$REPO_DIR/.build-bench/$conf/chaos"
    has_controller "$CHAOS" || fail "built $CHAOS but it has no 'chaos halt --controller'"
  fi
fi
CHAOS=$(readlink -f "$CHAOS")
BUILD_KIND=$([[ $CHAOS == */debug/* ]] && echo debug || echo release)

# ---------------------------------------------------------------- work dir, results, cleanup
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS_DIR/controller-$STAMP"
WORK=$(mktemp -d /tmp/chaos-bench-controller.XXXXXX)
mkdir -p "$OUT"
FLEET_PID=""; CTRL_PID=""; SAMPLER_PID=""; WATCHDOG_PID=""; FLEET_WORKERS=()
stop_pid() { # stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS; only a process we started
  local p=$1 t=$2 i
  [[ -n $p ]] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < t * 10; i++)); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
}
cleanup() {
  local rc=$?
  set +e
  [[ -n $WATCHDOG_PID ]] && kill "$WATCHDOG_PID" 2>/dev/null
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null
  stop_pid "$CTRL_PID" 30
  stop_pid "$FLEET_PID" 5
  for p in "${FLEET_WORKERS[@]}"; do stop_pid "$p" 2; done
  if ((rc != 0)) && [[ -d $OUT ]]; then
    cp "$WORK/controller.log" "$OUT/" 2>/dev/null
    mv "$OUT" "$OUT-failed" && echo "partial results: $OUT-failed" >&2
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'fail "TIME_LIMIT=${TIME_LIMIT}s spent"' USR1
( trap 'kill "$s" 2>/dev/null; exit 0' TERM; sleep "$TIME_LIMIT" & s=$!; wait "$s" && kill -USR1 $$ ) 2>/dev/null &
WATCHDOG_PID=$!
DEADLINE=$((SECONDS + TIME_LIMIT))

hard=$(ulimit -Hn)
[[ $hard == unlimited ]] || ((NOFILE <= hard)) || NOFILE=$hard
ulimit -n "$NOFILE" || fail "cannot raise the open-files limit to $NOFILE"
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
now_ms() { local t=$EPOCHREALTIME; echo $((${t/./} / 1000)); }
say "chaos: $CHAOS ($BUILD_KIND build, $(stat -c %y "$CHAOS" | cut -d. -f1)); N=$N, WORKERS=$WORKERS, load $LOAD_AT_START, ulimit -n $NOFILE"
awk -v l="$LOAD_AT_START" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }' \
  && say "WARNING: the machine is busy (1-min load $LOAD_AT_START on $(nproc) CPUs): absolute numbers will be inflated"

# ---------------------------------------------------------------- certificates
PKI="$WORK/pki"; AGENTS_PKI="$WORK/agents"
mkdir -p "$AGENTS_PKI"
"$CHAOS" certs init --pki-dir "$PKI" >"$WORK/certs.log" 2>&1 || fail "chaos certs init: $(cat "$WORK/certs.log")"
"$CHAOS" certs issue --pki-dir "$PKI" --controller --san 127.0.0.1 >>"$WORK/certs.log" 2>&1 || fail "chaos certs issue --controller failed"
"$CHAOS" certs issue --pki-dir "$PKI" --operator bench >>"$WORK/certs.log" 2>&1 || fail "chaos certs issue --operator failed"
addr() { echo "127.1.$(($1 / 250)).$(($1 % 250 + 1))"; }
name() { printf 'sim-%04d' $(($1 + 1)); }
if [[ $AGENT_CERTS == shared ]]; then
  sans=$(for ((i = 0; i < N; i++)); do addr "$i"; done | paste -sd,)
  "$CHAOS" certs issue --pki-dir "$PKI" --out "$AGENTS_PKI" --agent simfleet --san "$sans" >>"$WORK/certs.log" 2>&1 \
    || fail "chaos certs issue --agent simfleet with $N SANs failed: $(tail -n 3 "$WORK/certs.log")"
  FLEET_CERT=(--cert "$AGENTS_PKI/simfleet.pem" --key "$AGENTS_PKI/simfleet-key.pem")
else
  # One key for all (a bench shortcut), one certificate per agent with chaos's agent profile:
  # O=chaos, OU=agent, CN=name; SANs its name and address; serverAuth+clientAuth; signed by the chaos CA.
  say "issuing $N agent certificates (openssl, signed with the CA key of 'chaos certs init')"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$AGENTS_PKI/agent-key.pem" 2>/dev/null
  for ((i = 0; i < N; i++)); do echo "$(name "$i") $(addr "$i")"; done \
    | xargs -P "$(nproc)" -n 2 sh -c 'openssl req -new -x509 -key "$0/agent-key.pem" -CA "$1/ca.pem" -CAkey "$1/ca-key.pem" \
        -subj "/O=chaos/OU=agent/CN=$2" -days 7 -sha256 -set_serial "0x$(openssl rand -hex 16)" \
        -addext "subjectAltName=DNS:$2,IP:$3" -addext "extendedKeyUsage=serverAuth,clientAuth" \
        -addext "keyUsage=critical,digitalSignature" -addext "basicConstraints=critical,CA:FALSE" \
        -addext "authorityKeyIdentifier=keyid" -out "$0/$2.pem" 2>/dev/null' "$AGENTS_PKI" "$PKI"
  FLEET_CERT=(--cert-dir "$AGENTS_PKI" --key "$AGENTS_PKI/agent-key.pem")
  for ((i = 0; i < N; i++)); do [[ -s $AGENTS_PKI/$(name "$i").pem ]] || fail "openssl did not write $(name "$i").pem"; done
  "$CHAOS" certs verify "$AGENTS_PKI/$(name $((N - 1))).pem" --usage server --ca "$PKI/ca.pem" >>"$WORK/certs.log" 2>&1 \
    || fail "chaos certs verify rejects the agent certificate made with openssl: $(tail -n 2 "$WORK/certs.log")"
fi

# ---------------------------------------------------------------- inventory, experiments, controller.yaml
dur_ms() { local t=$1; case $t in *ms) echo "${t%ms}" ;; *s) echo $((${t%s} * 1000)) ;; *m) echo $((${t%m} * 60000)) ;; esac; }
# The planner keeps a target busy for gate + duration + recoverWithin after each fire: a later fire
# of the same experiments must come after that, or it is skipped ("target busy").
RUN_SECONDS=$((($(dur_ms "$GATE") + $(dur_ms "$DURATION") + 10000) / 1000))
next_minute() { # next_minute NOT_BEFORE_EPOCH: the first whole minute at or after it
  echo $((($1 + 59) / 60 * 60))
}
write_experiments() { # write_experiments EPOCH: N experiment files whose cron fires at that minute (UTC)
  local cron i
  cron="$(date -u -d "@$1" +%-M) $(date -u -d "@$1" +%-H) * * *"
  for ((i = 0; i < N; i++)); do
    cat >"$WORK/experiments/$(name "$i").yaml.tmp" <<EOF
apiVersion: chaos/v1
kind: Experiment
name: $(name "$i")-load
description: bench/controller.sh - one of $N runs fired at the same minute
target: {host: $(name "$i")}
fault: {type: $FAULT, duration: $DURATION}
probes:
  - {name: fleet, type: tcp, address: "127.0.0.1:$((STATS_PORT + i % WORKERS))", interval: $PROBE_INTERVAL}
expect: {recoverWithin: 10s}
schedule:
  cron: "$cron"
  timezone: UTC
  workdays: [mon, tue, wed, thu, fri, sat, sun]
  hours: "00:00-24:00"
EOF
    mv "$WORK/experiments/$(name "$i").yaml.tmp" "$WORK/experiments/$(name "$i").yaml"
  done
  CRON=$cron
}
mkdir -p "$WORK/experiments" "$WORK/state"
{
  echo "apiVersion: chaos/v1"; echo "kind: Inventory"; echo "hosts:"
  for ((i = 0; i < N; i++)); do a=$(addr "$i"); printf '  - name: %s\n    address: %s\n    agent: https://%s:%s\n' "$(name "$i")" "$a" "$a" "$PORT"; done
} >"$WORK/fleet.yaml"
printf 'apiVersion: chaos/v1\nkind: Inventory\nhosts:\n  - name: sim-0001\n    address: 127.1.0.1\n    agent: https://127.1.0.1:%s\n' "$PORT" >"$WORK/one.yaml"
S_EPOCH=$(next_minute $(($(date +%s) + LEAD)))    # the first fire: a whole minute, at least LEAD s away
write_experiments "$S_EPOCH"
cat >"$WORK/controller.yaml" <<EOF
apiVersion: chaos/v1
kind: ControllerConfig
experiments: $WORK/experiments
inventory: $WORK/fleet.yaml
stateDir: $WORK/state
identity: {name: controller, pkiDir: $PKI}
schedule: {seed: 1, grace: 5m, tick: $TICK}
gate: $GATE
api: {listen: "127.0.0.1:$API_PORT"}
EOF
"$CHAOS" validate "$WORK/fleet.yaml" "$WORK/experiments/sim-0001.yaml" "$WORK/experiments/$(name $((N - 1))).yaml" >"$WORK/validate.log" 2>&1 \
  || fail "chaos validate: $(cat "$WORK/validate.log")"
cp "$WORK/controller.yaml" "$WORK/experiments/sim-0001.yaml" "$OUT/"

# ---------------------------------------------------------------- the fleet
CURL_OP=(--cacert "$PKI/ca.pem" --cert "$PKI/bench.pem" --key "$PKI/bench-key.pem" -s --max-time 30)
"$PY" "$BENCH_DIR/simfleet.py" serve --n "$N" --port "$PORT" --stats-port "$STATS_PORT" --workers "$WORKERS" \
  "${FLEET_CERT[@]}" --ca "$PKI/ca.pem" --ready-file "$WORK/fleet.ready" >"$WORK/fleet.log" 2>&1 &
FLEET_PID=$!
for ((i = 0; i < 600; i++)); do [[ -s $WORK/fleet.ready ]] && break; kill -0 "$FLEET_PID" 2>/dev/null || break; sleep 0.1; done
[[ -s $WORK/fleet.ready ]] || fail "simfleet did not start: $(tail -n 5 "$WORK/fleet.log")"
fleet_counts() { # fleet_counts: the workers' pids ("pid=P" lines), then their summed counts ("key=value ...")
  local k
  for ((k = 0; k < WORKERS; k++)); do curl -s --max-time 10 "http://127.0.0.1:$((STATS_PORT + k))/counts"; echo; done \
    | "$PY" -c 'import json,sys
c={}
for l in sys.stdin:
    if l.strip():
        w=json.loads(l)
        for k,v in w["counts"].items(): c[k]=c.get(k,0)+v
        print("pid=%d" % w["pid"])
print(" ".join("%s=%d" % kv for kv in c.items()))'
}
count_of() { local x=" $1 "; x=${x#* $2=}; echo "${x%% *}"; }
mapfile -t lines < <(fleet_counts)
for l in "${lines[@]}"; do [[ $l == pid=* ]] && FLEET_WORKERS+=("${l#pid=}"); done
for i in 0 $((N - 1)); do
  h=$(curl "${CURL_OP[@]}" "https://$(addr "$i"):$PORT/v1/health") || fail "mutual TLS to the simulated agent $(addr "$i") failed (curl)"
  [[ $h == *'"status":"ok"'* ]] || fail "simulated agent $(addr "$i") answered: $h"
done
say "$(cat "$WORK/fleet.ready")"

# ---------------------------------------------------------------- the controller
mem_line() { # mem_line PID: epoch_ms rss_kib anon_kib hwm_kib threads fds cpu_ticks (no forks)
  local k v rest rss=0 anon=0 hwm=0 thr=0 st fds
  while read -r k v rest; do
    case $k in VmRSS:) rss=$v ;; RssAnon:) anon=$v ;; VmHWM:) hwm=$v ;; Threads:) thr=$v ;; esac
  done <"/proc/$1/status" || return 1
  read -r -a st <"/proc/$1/stat" || return 1
  fds=("/proc/$1/fd/"*)
  echo "$(now_ms) $rss $anon $hwm $thr ${#fds[@]} $((st[13] + st[14]))"
}
mem_text() { awk '{printf "RSS %.1f MiB (anonymous %.1f, peak %.1f), %d threads, %d fds", $2/1024, $3/1024, $4/1024, $5, $6}' <<<"$1"; }
CHAOS_STATE_DIR="$WORK/local-state" "$CHAOS" controller --config "$WORK/controller.yaml" >"$WORK/controller.log" 2>&1 &
CTRL_PID=$!
for ((i = 0; i < 600; i++)); do
  kill -0 "$CTRL_PID" 2>/dev/null || fail "the controller exited at start"
  grep -q "chaos-controller: started" "$WORK/controller.log" && curl -s --max-time 2 --cacert "$PKI/ca.pem" \
    "https://127.0.0.1:$API_PORT/healthz" >/dev/null && break
  sleep 0.1
done
grep -q "chaos-controller: started" "$WORK/controller.log" || fail "the controller did not start within 60 s"
READY_MS=$(now_ms)
( echo "ms rss_kib anon_kib hwm_kib threads fds cpu_ticks"
  while mem_line "$CTRL_PID"; do sleep 0.5; done ) >"$WORK/mem.txt" 2>/dev/null &
SAMPLER_PID=$!
sleep 2
MEM_START=$(mem_line "$CTRL_PID")
say "controller up (pid $CTRL_PID) with $N experiments: $(mem_text "$MEM_START")"

# ---------------------------------------------------------------- helpers for the fan-outs
OP=(--identity bench --pki-dir "$PKI")
HZ=$(getconf CLK_TCK)
cpu_ticks() { local st; read -r -a st <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }; echo $((st[13] + st[14])); }
fleet_ticks() { local p s=0; for p in "${FLEET_WORKERS[@]}"; do s=$((s + $(cpu_ticks "$p"))); done; echo "$s"; }
timed() { # timed OUTFILE CMD...: runs CMD, stdout to OUTFILE; sets T_START_MS T_END_MS WALL_MS RC, and the CPU
          # time spent meanwhile by the command (CPU_CLI_MS), the controller (CPU_CTRL_MS) and the fleet (CPU_FLEET_MS)
  local out=$1 a b c0 c1 f0 f1; shift
  c0=$(cpu_ticks "$CTRL_PID"); f0=$(fleet_ticks); times >"$WORK/times0"
  a=$EPOCHREALTIME; set +e; "$@" >"$out" 2>"$out.err"; RC=$?; set -e; b=$EPOCHREALTIME
  times >"$WORK/times1"; c1=$(cpu_ticks "$CTRL_PID"); f1=$(fleet_ticks)
  T_START_MS=$((${a/./} / 1000)); T_END_MS=$((${b/./} / 1000)); WALL_MS=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
  # `times`, second line: the CPU time of this shell's finished children (user, system), e.g. 0m1.250s 0m0.120s
  CPU_CLI_MS=$(awk 'function s(x) { split(x, p, "m"); sub("s", "", p[2]); return p[1] * 60 + p[2] }
                    FNR == 2 { t[FILENAME] = s($1) + s($2) } END { printf "%.0f", (t[ARGV[2]] - t[ARGV[1]]) * 1000 }' "$WORK/times0" "$WORK/times1")
  CPU_CTRL_MS=$(((c1 - c0) * 1000 / HZ)); CPU_FLEET_MS=$(((f1 - f0) * 1000 / HZ))
}
acks() { # acks FILE KEY: prints how many hosts acknowledged (0 when unreadable); why the others failed goes to FILE.failures
  "$PY" - "$1" "$2" <<'EOF' 2>/dev/null || echo 0
import collections, json, re, sys
acks = json.load(open(sys.argv[1]))[sys.argv[2]]
bad = [a for a in acks if not a["ok"]]
why = collections.Counter(re.sub(r"sim-\d+|127\.1\.\d+\.\d+", "*", str(a.get("error") or "")) for a in bad)
with open(sys.argv[1] + ".failures", "w") as f:
    for w, c in why.most_common():
        f.write("%d x %s\n" % (c, w))
print(len(acks) - len(bad))
EOF
}
: >"$WORK/fires.env"

# ---------------------------------------------------------------- one fire: fan-out, then the global halt with the runs in progress
# shellcheck disable=SC2034  # MEM_*, HALT_* and the like reach fires.env through ${!v}
fire() { # fire K (S_EPOCH is its minute; the experiments are written for it)
  local k=$1 c injects ended gave_up left i t0 t1 v
  S_MS=$((S_EPOCH * 1000))
  ((S_MS - $(now_ms) > 3000)) || fail "fire $k: the controller was ready only $(((S_MS - $(now_ms)) / 1000)) s before the fire: raise LEAD"
  say "fire $k: all $N experiments scheduled at $(date -u -d "@$S_EPOCH" +%H:%M:%S) UTC (cron '$CRON'), in $((S_EPOCH - $(date +%s))) s"
  while (($(now_ms) < S_MS - 1000)); do sleep 0.2; done
  MEM_IDLE=$(mem_line "$CTRL_PID")
  while (($(now_ms) < S_MS)); do sleep 0.05; done
  MEM_FIRE=$(mem_line "$CTRL_PID"); FLEET_TICKS_FIRE=$(fleet_ticks)
  injects=0; gave_up=0
  while :; do
    c=$(fleet_counts | tail -n 1) || c=""
    injects=$(count_of "$c" inject)
    if [[ $injects =~ ^[0-9]+$ ]]; then injects=$((injects - INJECTS_BEFORE)); else injects=0; fi
    ((injects >= N)) && break
    # runs that ended without injecting: could not start, or a verdict already (gate not met, errors)
    ended=$(tail -n +"$LOG_LINE" "$WORK/controller.log" | grep -c -E "chaos-controller: run r-[0-9a-f]+ of '[^']*'(: [A-Z]+ \(| could not start)" || true)
    if ((injects + ended >= N)); then gave_up=1; break; fi
    (($(now_ms) - S_MS < FANOUT_TIMEOUT * 1000)) || { gave_up=1; break; }
    ((SECONDS < DEADLINE)) || fail "TIME_LIMIT=${TIME_LIMIT}s spent during the fan-out"
    kill -0 "$CTRL_PID" 2>/dev/null || fail "the controller died during the fan-out ($injects of $N injected)"
    sleep 0.25
  done
  ALL_INJECTED_MS=$(now_ms)
  if ((gave_up)); then
    tail -n +"$LOG_LINE" "$WORK/controller.log" | grep -E "could not start|': [A-Z]+ \(" | sed -E 's/^[^ ]+ //; s/r-[0-9a-f]+/r-*/; s/sim-[0-9]+/sim-*/g' | sort | uniq -c | sort -rn | head -5 >&2
    fail "fire $k: only $injects of $N injects arrived within $FANOUT_TIMEOUT s of the fire (counts: $c)"
  fi
  say "fire $k: all $N injects arrived (seen $((ALL_INJECTED_MS - S_MS)) ms after the scheduled minute)"
  # The fire records say when the controller decided each start (restamped when the run ends).
  "$PY" - "$WORK/state/runs/chaos.sqlite" "$S_MS" >"$OUT/fires-started-$k.json" <<'EOF' || say "could not read the fire records"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
rows = db.execute("SELECT experiment, state, decidedMs, runID FROM fires WHERE scheduledMs = ?", (int(sys.argv[2]),)).fetchall()
json.dump([{"experiment": e, "state": s, "decidedMs": d, "runID": r} for e, s, d, r in rows], sys.stdout)
EOF
  sleep "$SETTLE"
  MEM_RUNNING=$(mem_line "$CTRL_PID"); FLEET_CPU_FANOUT_MS=$((($(fleet_ticks) - FLEET_TICKS_FIRE) * 1000 / HZ))
  t0=$EPOCHREALTIME
  curl "${CURL_OP[@]}" "https://127.0.0.1:$API_PORT/api/v1/overview" >"$WORK/overview.json" || fail "GET /api/v1/overview failed"
  t1=$EPOCHREALTIME
  OVERVIEW_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
  RUNNING=$("$PY" -c 'import json,sys; o=json.load(open(sys.argv[1])); r=o["running"]; print(len(r), sum(x["step"] in ("injected","verified") for x in r))' "$WORK/overview.json")
  say "fire $k: $(mem_text "$MEM_RUNNING"); the API's overview lists ${RUNNING% *} runs, ${RUNNING#* } holding a fault (answered in $OVERVIEW_MS ms)"

  MEM_PRE_HALT=$(mem_line "$CTRL_PID")
  timed "$WORK/halt-controller-$k.json" "$CHAOS" halt --controller "https://127.0.0.1:$API_PORT" --reason "bench/controller.sh fire $k" "${OP[@]}" --output json
  MEM_HALTED=$(mem_line "$CTRL_PID")
  cp "$WORK/halt-controller-$k.json" "$OUT/"
  HALT_START_MS=$T_START_MS; HALT_END_MS=$T_END_MS; HALT_WALL_MS=$WALL_MS
  HALT_CPU="$CPU_CLI_MS $CPU_CTRL_MS $CPU_FLEET_MS"
  HALT_ACKS=$(acks "$WORK/halt-controller-$k.json" agents)
  ((HALT_ACKS == N)) || fail "fire $k: halt through the controller: $HALT_ACKS of $N agents acknowledged (exit $RC; $OUT/halt-controller-$k.json): $(head -c 300 "$WORK/halt-controller-$k.json.err") $(head -n 3 "$WORK/halt-controller-$k.json.failures" 2>/dev/null)"
  ((RC == 0)) || fail "chaos halt --controller exited $RC: $(head -c 600 "$WORK/halt-controller-$k.json.err")"
  say "fire $k: halt through the controller: $HALT_WALL_MS ms wall, all $N agents acknowledged; waiting for the runs to be stored"
  for ((i = 0; ; i++)); do
    curl "${CURL_OP[@]}" "https://127.0.0.1:$API_PORT/api/v1/overview" >"$WORK/overview2.json" || true
    left=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["running"]))' "$WORK/overview2.json" 2>/dev/null || echo "?")
    [[ $left == 0 ]] && break
    ((i < 240)) || fail "fire $k: $left runs still in progress 120 s after the halt"
    ((SECONDS < DEADLINE)) || fail "TIME_LIMIT=${TIME_LIMIT}s spent waiting for the runs to end"
    sleep 0.5
  done
  RUNS_DONE_MS=$(now_ms)
  "$CHAOS" verdicts --store-dir "$WORK/state/runs" --output json --limit $((N * (k + 1) + 10)) >"$WORK/verdicts.json" 2>"$WORK/verdicts.err" \
    || fail "chaos verdicts failed: $(cat "$WORK/verdicts.err")"
  STORED=$("$PY" - "$WORK/verdicts.json" "$S_MS" "$OUT/verdicts-$k.json" <<'EOF'
import collections, json, sys
runs = [r for r in json.load(open(sys.argv[1]))["runs"] if r["startedAt"] >= int(sys.argv[2]) - 1000]
json.dump({"runs": runs}, open(sys.argv[3], "w"))
print(len(runs), sum(r["status"] == "aborted" for r in runs), dict(collections.Counter(r["status"] for r in runs)))
EOF
  )
  read -r STORED_N STORED_ABORTED _ <<<"$STORED"
  ((STORED_N == N && STORED_ABORTED == N)) || fail "fire $k: the controller stored $STORED_N runs, $STORED_ABORTED of them aborted (want $N and $N): ${STORED#* * }"
  sleep 1
  MEM_AFTER=$(mem_line "$CTRL_PID")
  say "fire $k: all $N runs stored as aborted $((RUNS_DONE_MS - HALT_START_MS)) ms after the halt; controller now $(mem_text "$MEM_AFTER")"
  for v in S_MS CRON ALL_INJECTED_MS HALT_START_MS HALT_END_MS HALT_WALL_MS HALT_CPU FLEET_CPU_FANOUT_MS RUNS_DONE_MS OVERVIEW_MS RUNNING \
           MEM_IDLE MEM_FIRE MEM_RUNNING MEM_PRE_HALT MEM_HALTED MEM_AFTER; do
    echo "${v}_$k=${!v}" >>"$WORK/fires.env"
  done
}

INJECTS_BEFORE=0; LOG_LINE=1
fire 1
for ((k = 2; k <= FIRES; k++)); do
  # Next fire: resume (the controller is halted), new minute in every experiment (the catalog reloads).
  c=$(fleet_counts | tail -n 1); INJECTS_BEFORE=$(count_of "$c" inject)
  LOG_LINE=$(($(wc -l <"$WORK/controller.log") + 1))
  timed "$WORK/resume-fire-$k.json" "$CHAOS" resume --controller "https://127.0.0.1:$API_PORT" "${OP[@]}" --output json
  ((RC == 0)) || fail "chaos resume --controller exited $RC before fire $k: $(head -c 600 "$WORK/resume-fire-$k.json.err")"
  S_EPOCH=$(next_minute $(( $(date +%s) + LEAD > S_EPOCH + RUN_SECONDS + 5 ? $(date +%s) + LEAD : S_EPOCH + RUN_SECONDS + 5 )))
  write_experiments "$S_EPOCH"
  fire "$k"
done

# ---------------------------------------------------------------- idle controller halts, and the floor: the CLI straight to the agents
: >"$WORK/rounds.txt"
INCOMPLETE=()
round_cmd() { # round_cmd KIND KEY CMD...: one timed fan-out; a line "KIND wall start end acks cpu_cli cpu_ctrl cpu_fleet" (ms) in rounds.txt
  local kind=$1 key=$2 file="$WORK/$1-$r.json" a; shift 2
  timed "$file" "$@"
  a=$(acks "$file" "$key")
  echo "$kind $WALL_MS $T_START_MS $T_END_MS $a $CPU_CLI_MS $CPU_CTRL_MS $CPU_FLEET_MS" >>"$WORK/rounds.txt"
  if ((a != N)); then
    INCOMPLETE+=("$kind (round $r): $a of $N agents acknowledged, exit $RC: $(head -c 200 "$file.err")$(head -n 2 "$file.failures" 2>/dev/null | tr '\n' ' ')")
    say "INCOMPLETE: ${INCOMPLETE[-1]}"
  fi
}
r=0
timed "$WORK/halt-one.json" "$CHAOS" halt --inventory "$WORK/one.yaml" "${OP[@]}" --reason "bench: CLI start-up" --output json
((RC == 0)) || fail "chaos halt --inventory (one host) exited $RC: $(head -c 600 "$WORK/halt-one.json.err")"
echo "one $WALL_MS $T_START_MS $T_END_MS 1 $CPU_CLI_MS $CPU_CTRL_MS $CPU_FLEET_MS" >>"$WORK/rounds.txt"
for ((r = 1; r <= REPEAT; r++)); do
  ((SECONDS < DEADLINE)) || fail "TIME_LIMIT=${TIME_LIMIT}s spent in round $r"
  round_cmd resume-direct hosts "$CHAOS" resume --inventory "$WORK/fleet.yaml" "${OP[@]}" --output json
  round_cmd halt-direct hosts "$CHAOS" halt --inventory "$WORK/fleet.yaml" "${OP[@]}" --reason "bench: direct $r" --output json
  d=$WALL_MS
  round_cmd resume-controller agents "$CHAOS" resume --controller "https://127.0.0.1:$API_PORT" "${OP[@]}" --output json
  round_cmd halt-idle agents "$CHAOS" halt --controller "https://127.0.0.1:$API_PORT" --reason "bench: idle $r" "${OP[@]}" --output json
  say "round $r: direct halt $d ms, idle controller halt $WALL_MS ms"
done
cp "$WORK"/halt-direct-*.json "$WORK"/halt-idle-*.json "$WORK/rounds.txt" "$OUT/"
printf '%s\n' "${INCOMPLETE[@]}" >"$OUT/incomplete.txt"
MEM_END=$(mem_line "$CTRL_PID")

# ---------------------------------------------------------------- collect, stop, report
"$PY" "$BENCH_DIR/simfleet.py" stats --stats-port "$STATS_PORT" --workers "$WORKERS" >"$OUT/simfleet-stats.json" \
  || fail "could not read the fleet's stats"
kill "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""
cp "$WORK/mem.txt" "$OUT/controller-mem.txt"
stop_pid "$CTRL_PID" 30; CTRL_PID=""
cp "$WORK/controller.log" "$OUT/"
{
  cat <<EOF
N=$N
FIRES=$FIRES
CHAOS=$CHAOS
BUILD_KIND=$BUILD_KIND
CHAOS_MTIME=$(stat -c %y "$CHAOS" | cut -d. -f1)
GIT=$(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo unknown)
WORKERS=$WORKERS
AGENT_CERTS=$AGENT_CERTS
FAULT=$FAULT
DURATION=$DURATION
GATE_MS=$(dur_ms "$GATE")
GATE=$GATE
TICK=$TICK
PROBE_INTERVAL=$PROBE_INTERVAL
SETTLE=$SETTLE
REPEAT=$REPEAT
NOFILE=$NOFILE
LOAD_AT_START=$LOAD_AT_START
CPUS=$(nproc)
READY_MS=$READY_MS
MEM_START=$MEM_START
MEM_END=$MEM_END
EOF
  cat "$WORK/fires.env"
} >"$OUT/env.txt"
"$PY" - "$OUT" <<'EOF'
import json, os, statistics, sys, time
out = sys.argv[1]
E = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(out, "env.txt")) if "=" in l)
N = int(E["N"]); FIRES = int(E["FIRES"]); gate = int(E["GATE_MS"])
fleet = json.load(open(os.path.join(out, "simfleet-stats.json")))["perAgent"]
HZ = os.sysconf("SC_CLK_TCK")
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, -(-len(xs) * p // 100) - 1))] if xs else None
def stats(xs):
    return {"n": len(xs), "min": min(xs), "p50": pct(xs, 50), "p99": pct(xs, 99), "max": max(xs)} if xs else {"n": 0}
def med(xs): return statistics.median(xs) if xs else None
CTRL = "controller:controller"
def mem(text):
    ms, rss, anon, hwm, thr, fds, cpu = (int(x) for x in text.split())
    return {"rssMiB": rss / 1024, "anonMiB": anon / 1024, "hwmMiB": hwm / 1024, "threads": thr, "fds": fds, "cpuS": cpu / HZ}

R = {"n": N, "env": E, "fires": []}
for k in range(1, FIRES + 1):
    F = {key[: -len("_%d" % k)]: v for key, v in E.items() if key.endswith("_%d" % k)}
    S, done = int(F["S_MS"]), int(F["ALL_INJECTED_MS"])
    def first(kind, lo, hi, caller=CTRL):
        out = {}
        for a, v in fleet.items():
            ts = [e[0] for e in v["events"][kind] if e[1] == caller and lo <= e[0] <= hi]
            if ts:
                out[a] = min(ts)
        return out
    inject = first("inject", S - 1000, done + 2000)
    preview = first("preview", S - 1000, done + 2000)
    fires = {}
    try:
        for f in json.load(open(os.path.join(out, "fires-started-%d.json" % k))):
            if f["state"] == "started":
                fires[f["experiment"].rsplit("-", 1)[0]] = f["decidedMs"]
    except (OSError, ValueError):
        pass
    arr = sorted(inject.values())
    fo = {"injected": len(inject), "firstMs": arr[0] - S, "lastMs": arr[-1] - S,
          "lateness": stats([t - (S + gate) for t in arr]),
          "noticed": stats([fires[a] - S for a in inject if a in fires]),
          "prepare": stats([preview[a] - fires[a] for a in inject if a in fires and a in preview]),
          "gateToInject": stats([inject[a] - preview[a] - gate for a in inject if a in preview]),
          "connectionsPerAgent": stats([len([c for c in v["connections"] if S - 1000 <= c <= done]) for v in fleet.values()])}
    hs, he, rd = int(F["HALT_START_MS"]), int(F["HALT_END_MS"]), int(F["RUNS_DONE_MS"])
    halt = json.load(open(os.path.join(out, "halt-controller-%d.json" % k)))
    harr = [e[0] for v in fleet.values() for e in v["events"]["halt"] if e[1] == CTRL and hs <= e[0] <= he + 1000]
    deletes = [e[0] for v in fleet.values() for e in v["events"]["revert"] if e[1] == CTRL and hs <= e[0] <= rd]
    faults = [f for v in fleet.values() for f in v["faults"] if f["requestedBy"] == CTRL and S - 1000 <= f["_injectedAt"] <= done + 2000]
    reverted = [f["_revertedAt"] for f in faults if f.get("_revertedAt")]
    by_halt = sum(1 for f in faults if (f.get("note") or "").startswith("halt by"))
    expired = [e for v in fleet.values() for e in v["events"]["expired"] if S <= e[0] <= rd]
    renews = [t for v in fleet.values() for t in v["renews"] if S <= t <= rd]
    gaps = []
    for v in fleet.values():
        rs = sorted(t for t in v["renews"] if S <= t <= hs)
        gaps += [b - a for a, b in zip(rs, rs[1:])]
    verdicts = json.load(open(os.path.join(out, "verdicts-%d.json" % k)))["runs"]
    h = {"wallMs": float(F["HALT_WALL_MS"]), "elapsedMs": halt["elapsedMs"], "acks": sum(a["ok"] for a in halt["agents"]),
         "abortedRuns": len(halt["abortedRuns"]), "arrivalsMs": stats([t - hs for t in harr]),
         "lastFaultRevertedMs": (max(reverted) - hs) if reverted else None, "faultsEndedByHalt": by_halt,
         "faultsEndedByRunDelete": len(reverted) - by_halt, "runDeletesMs": stats([t - hs for t in deletes]),
         "runsStoredMs": rd - hs, "stored": len(verdicts), "storedAborted": sum(r["status"] == "aborted" for r in verdicts)}
    m = {key: mem(F[var]) for key, var in (("idle", "MEM_IDLE"), ("fire", "MEM_FIRE"), ("running", "MEM_RUNNING"),
                                           ("prehalt", "MEM_PRE_HALT"), ("halted", "MEM_HALTED"), ("after", "MEM_AFTER"))}
    m["perRunKiB"] = (m["running"]["rssMiB"] - m["idle"]["rssMiB"]) * 1024 / N
    m["perRunAnonKiB"] = (m["running"]["anonMiB"] - m["idle"]["anonMiB"]) * 1024 / N
    cli, ctl, flt = (int(x) / 1000 for x in F["HALT_CPU"].split())
    R["fires"].append({"k": k, "scheduled": S, "cron": F["CRON"], "fanout": fo, "halt": h, "memory": m,
                       "cpuS": {"fanout": m["running"]["cpuS"] - m["fire"]["cpuS"], "fanoutFleet": int(F["FLEET_CPU_FANOUT_MS"]) / 1000,
                                "haltCli": cli, "haltController": ctl, "haltFleet": flt},
                       "leases": {"renews": len(renews), "expired": len(expired), "renewGapMs": stats(gaps)},
                       "overviewMs": int(F["OVERVIEW_MS"]), "overviewRunning": F["RUNNING"]})

rounds = [l.split() for l in open(os.path.join(out, "rounds.txt"))]
def walls(kind, complete=True): return [float(x[1]) for x in rounds if x[0] == kind and (not complete or int(x[4]) == (1 if kind == "one" else N))]
def elapsed(kind):
    xs = []
    for i in range(1, 1 + len([x for x in rounds if x[0] == kind])):
        try:
            d = json.load(open(os.path.join(out, "%s-%d.json" % (kind, i))))
            if sum(a["ok"] for a in d["agents"]) == N:
                xs.append(d["elapsedMs"])
        except (OSError, ValueError, KeyError):
            pass
    return xs
def last_arrival(kind, caller):
    xs = []
    for kd, w, a, b, n, *_ in rounds:
        if kd == kind and int(n) == N:
            ts = [e[0] for v in fleet.values() for e in v["events"]["halt"] if e[1] == caller and int(a) <= e[0] <= int(b) + 1000]
            if ts:
                xs.append(max(ts) - int(a))
    return xs
def cpu(kind):  # median CPU seconds of the complete rounds: the command, the controller, the fleet
    xs = [x for x in rounds if x[0] == kind and int(x[4]) == (1 if kind == "one" else N)]
    return [med([int(x[i]) / 1000 for x in xs]) for i in (5, 6, 7)] if xs else [None] * 3
R["direct"] = {"wallMs": walls("halt-direct"), "medianMs": med(walls("halt-direct")), "incomplete": len(walls("halt-direct", False)) - len(walls("halt-direct")),
               "cpuS": cpu("halt-direct"),
               "lastArrivalMs": last_arrival("halt-direct", "operator:bench"), "resumeWallMs": walls("resume-direct", False),
               "oneHostWallMs": walls("one")[0]}
R["idle"] = {"wallMs": walls("halt-idle"), "medianMs": med(walls("halt-idle")), "incomplete": len(walls("halt-idle", False)) - len(walls("halt-idle")),
             "cpuS": cpu("halt-idle"),
             "elapsedMs": elapsed("halt-idle"), "lastArrivalMs": last_arrival("halt-idle", CTRL), "resumeWallMs": walls("resume-controller", False)}
R["incomplete"] = [l.strip() for l in open(os.path.join(out, "incomplete.txt")) if l.strip()]
f1 = R["fires"][0]
d = R["direct"]["medianMs"]
R["ratios"] = {"controllerWithRunsOverDirect": f1["halt"]["wallMs"] / d if d else None,
               "controllerIdleOverDirect": R["idle"]["medianMs"] / d if d and R["idle"]["medianMs"] else None}
R["memory"] = {"start": mem(E["MEM_START"]), "end": mem(E["MEM_END"])}
json.dump(R, open(os.path.join(out, "summary.json"), "w"), indent=2)

def ms(x): return "-" if x is None else ("%.0f" % x if abs(x) >= 100 else "%.1f" % x)
def row(label, value, note=""): return "  %-48s %20s   %s" % (label, value, note)
def pp(s): return "%s / %s ms" % (ms(s.get("p50")), ms(s.get("p99")))
L = ["chaos controller driving %d simulated agents (%s build %s, %s; %d CPUs, load %s at start)" % (
    N, E["BUILD_KIND"], E["CHAOS_MTIME"], E["GIT"], int(E["CPUS"]), E["LOAD_AT_START"])]
for F in R["fires"]:
    fo, h = F["fanout"], F["halt"]
    L.append("fire %d: fan-out of the injection (%d experiments at %s UTC, gate %s, tick %s)" % (
        F["k"], N, time.strftime("%H:%M:%S", time.gmtime(F["scheduled"] / 1000)), E["GATE"], E["TICK"]))
    L.append(row("first / last inject at the agents after S", "%s / %s ms" % (ms(fo["firstMs"]), ms(fo["lastMs"]))))
    L.append(row("inject - (S + gate), p50 / p99", pp(fo["lateness"]), "every run holds its gate first"))
    if fo["noticed"].get("n"):
        L.append(row("  S -> the controller starts the run", pp(fo["noticed"]), "tick; from the fire records"))
    if fo["prepare"].get("n"):
        L.append(row("  start -> preview at the agent", pp(fo["prepare"]), "new HTTP client, TLS handshake, preview"))
    L.append(row("  preview -> inject, minus the gate", pp(fo["gateToInject"])))
    L.append(row("TLS connections per agent during the fan-out", "%s (max %s)" % (fo["connectionsPerAgent"]["p50"], fo["connectionsPerAgent"]["max"])))
    L.append("fire %d: global halt with the %d runs holding their faults" % (F["k"], N))
    L.append(row("chaos halt --controller, wall", "%s ms" % ms(h["wallMs"]), "goal < 1000 ms: %s" % ("met" if h["wallMs"] < 1000 else "MISSED")))
    L.append(row("controller's elapsedMs (flag -> last agent)", "%s ms" % ms(h["elapsedMs"])))
    L.append(row("agents acknowledged / runs aborted", "%d / %d" % (h["acks"], h["abortedRuns"])))
    L.append(row("halt arrivals at the agents after the command", "%s .. %s ms" % (ms(h["arrivalsMs"].get("min")), ms(h["arrivalsMs"].get("max"))), "p50 %s" % ms(h["arrivalsMs"].get("p50"))))
    L.append(row("every fault reverted at the agents after", "%s ms" % ms(h["lastFaultRevertedMs"]), "%d by the halt, %d by the run's DELETE first" % (h["faultsEndedByHalt"], h["faultsEndedByRunDelete"])))
    L.append(row("runs stored after", "%s ms" % ms(h["runsStoredMs"]), "%d stored, %d aborted" % (h["stored"], h["storedAborted"])))
    L.append(row("lease renewals / expired at the agents", "%d / %d" % (F["leases"]["renews"], F["leases"]["expired"]),
                 "renew gap p50 %s, max %s ms" % (ms(F["leases"]["renewGapMs"].get("p50")), ms(F["leases"]["renewGapMs"].get("max")))))
    c = F["cpuS"]
    L.append(row("CPU during the fan-out: controller / fleet", "%.1f / %.1f s" % (c["fanout"], c["fanoutFleet"]), "from S to %s s after the last inject" % E["SETTLE"]))
    L.append(row("CPU during the halt: CLI / controller / fleet", "%.2f / %.2f / %.2f s" % (c["haltCli"], c["haltController"], c["haltFleet"])))
def runs(xs): return ", ".join(ms(x) for x in xs)
def incomplete(x): return "; %d INCOMPLETE left out" % x["incomplete"] if x["incomplete"] else ""
def ratio(x): return "-" if x is None else "%.2fx" % x
L.append("halt fan-out compared (wall of the command; median of the complete rounds)")
L.append(row("floor: chaos halt --inventory (CLI -> agents)", "%s ms" % ms(R["direct"]["medianMs"]), "runs %s%s" % (runs(R["direct"]["wallMs"]), incomplete(R["direct"]))))
L.append(row("chaos halt --controller, idle controller", "%s ms" % ms(R["idle"]["medianMs"]), "runs %s; elapsedMs %s%s" % (runs(R["idle"]["wallMs"]), runs(R["idle"]["elapsedMs"]), incomplete(R["idle"]))))
L.append(row("chaos halt --inventory, one host (start-up)", "%s ms" % ms(R["direct"]["oneHostWallMs"])))
def cpus(c): return "-" if c[0] is None else "%.2f / %.2f / %.2f s" % tuple(c)
L.append(row("CPU, floor: CLI / controller / fleet", cpus(R["direct"]["cpuS"]), "medians"))
L.append(row("CPU, idle controller: CLI / controller / fleet", cpus(R["idle"]["cpuS"])))
L.append(row("ratio controller (runs in progress) / floor", ratio(R["ratios"]["controllerWithRunsOverDirect"])))
L.append(row("ratio controller (idle) / floor", ratio(R["ratios"]["controllerIdleOverDirect"])))
L.append("controller memory (MiB) and resources")
L.append("  %-34s %8s %8s %8s %8s %6s %8s" % ("", "VmRSS", "RssAnon", "VmHWM", "threads", "fds", "CPU s"))
def mrow(label, x): return "  %-34s %8.1f %8.1f %8.1f %8d %6d %8.1f" % (label, x["rssMiB"], x["anonMiB"], x["hwmMiB"], x["threads"], x["fds"], x["cpuS"])
L.append(mrow("started, %d experiments loaded" % N, R["memory"]["start"]))
for F in R["fires"]:
    m = F["memory"]
    L.append(mrow("fire %d: just before" % F["k"], m["idle"]))
    L.append(mrow("fire %d: %d runs holding" % (F["k"], N), m["running"]))
    L.append(mrow("fire %d: just halted" % F["k"], m["halted"]))
    L.append(mrow("fire %d: runs stored" % F["k"], m["after"]))
L.append(mrow("end (after %d+%d more halts)" % (len(walls("halt-idle", False)), len(walls("halt-direct", False))), R["memory"]["end"]))
m = f1["memory"]
L.append(row("per run in progress (RSS / anonymous)", "%.0f / %.0f KiB" % (m["perRunKiB"], m["perRunAnonKiB"]), "fire 1, over the memory just before"))
text = "\n".join(L)
print(text)
open(os.path.join(out, "summary.txt"), "w").write(text + "\n")
for F in R["fires"]:
    if F["leases"]["expired"]:
        print("WARNING: fire %d: %d leases expired at the agents: the controller did not renew in time" % (F["k"], F["leases"]["expired"]))
for l in R["incomplete"]:
    print("INCOMPLETE %s" % l)
EOF
((${#INCOMPLETE[@]} == 0)) || fail "${#INCOMPLETE[@]} fan-out(s) were not acknowledged by all $N agents (left out of the medians; see above)"
ln -sfn "$(basename "$OUT")" "$RESULTS_DIR/controller-latest"
echo "results: $OUT/ (summary.txt, summary.json, simfleet-stats.json, controller-mem.txt, controller.log, halt-*.json, verdicts-*.json)"
