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
#
# Environment (all optional):
#   N=1000          simulated agents (and experiments, and runs)
#   CHAOS_BIN       chaos executable (chaos-remote must be beside it); default: the first of
#                   .build-bench/release, .build-static/release, .build/release, .build/debug,
#                   .build-bench/debug whose `chaos halt` has --controller; else it builds
#                   `swift build --product chaos --product chaos-remote --scratch-path .build-bench`
#                   (BUILD=release adds -c release: ~10 min on 2 CPUs)
#   PORT=17500      the agents' port; STATS_PORT=17600 (and up, one per worker); API_PORT=17434
#   WORKERS=2       simfleet processes (default: the number of CPUs)
#   AGENT_CERTS=each | shared
#   FAULT=stress.cpu  DURATION=180s  GATE=5s (the controller's default; with 1s, runs started first can see
#                   no probe observation while the controller is busy starting the rest: inconclusive,
#                   nothing injected, and the script fails)  TICK=1s  PROBE_INTERVAL=1s  LEAD=20 (seconds)
#   SETTLE=5        seconds between the last inject and the halt (renewals run meanwhile)
#   FANOUT_TIMEOUT=120  seconds after S for all N injects, else the script fails
#   REPEAT=3        idle-controller halts and direct halts (medians)
#   NOFILE=65536    `ulimit -n` for everything started here (the controller needs about 2 per run)
#   RESULTS_DIR=bench/results: writes RESULTS_DIR/controller-<UTC time>/ and points controller-latest
#                   at it (a failed run leaves controller-<time>-failed/)
#   TIME_LIMIT=900  seconds for everything after the build; the script fails when spent
#   KEEP_WORK=1     keep the temp work directory (certificates, store, logs)
# Needs: python3 (standard library), openssl, curl. No network. Everything it starts (the fleet, the
# controller, a memory sampler) is stopped at exit, by pid. Runtime with N=1000: about 2-4 minutes.
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
LEAD=${LEAD:-20}; SETTLE=${SETTLE:-5}; FANOUT_TIMEOUT=${FANOUT_TIMEOUT:-120}; REPEAT=${REPEAT:-3}
NOFILE=${NOFILE:-65536}; TIME_LIMIT=${TIME_LIMIT:-900}; RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
for v in N PORT STATS_PORT API_PORT WORKERS LEAD SETTLE FANOUT_TIMEOUT REPEAT NOFILE TIME_LIMIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "controller.sh: $v must be a whole number" >&2; exit 2; }
done
((N >= 1 && N <= 64000)) || { echo "controller.sh: N must be 1..64000" >&2; exit 2; }
((REPEAT >= 1 && WORKERS >= 1)) || { echo "controller.sh: REPEAT and WORKERS must be >= 1" >&2; exit 2; }
[[ $AGENT_CERTS == each || $AGENT_CERTS == shared ]] || { echo "controller.sh: AGENT_CERTS must be each or shared" >&2; exit 2; }
for d in DURATION GATE TICK PROBE_INTERVAL; do
  [[ ${!d} =~ ^[0-9]+(ms|s|m)$ ]] || { echo "controller.sh: $d must be a duration like 1s, 500ms, 3m" >&2; exit 2; }
done

say() { printf '== %s\n' "$*" >&2; }
fail() {
  printf '\ncontroller.sh: FAILED: %s\n' "$*" >&2
  if [[ -n ${OUT:-} && -d ${OUT:-} && -n ${WORK:-} ]]; then
    cp "$WORK/controller.log" "$OUT/" 2>/dev/null || true
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
    say "building: swift build ${flags[*]} --product chaos --product chaos-remote --scratch-path .build-bench"
    (cd "$REPO_DIR" && swift build "${flags[@]}" --product chaos --product chaos-remote --scratch-path .build-bench) >&2 \
      || fail "swift build failed (others may be mid-edit); retry, or set CHAOS_BIN"
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
"$CHAOS" certs init --dir "$PKI" >"$WORK/certs.log" 2>&1 || fail "chaos certs init: $(cat "$WORK/certs.log")"
"$CHAOS" certs issue --dir "$PKI" --controller --san 127.0.0.1 >>"$WORK/certs.log" 2>&1 || fail "chaos certs issue --controller failed"
"$CHAOS" certs issue --dir "$PKI" --operator bench >>"$WORK/certs.log" 2>&1 || fail "chaos certs issue --operator failed"
addr() { echo "127.1.$(($1 / 250)).$(($1 % 250 + 1))"; }
name() { printf 'sim-%04d' $(($1 + 1)); }
if [[ $AGENT_CERTS == shared ]]; then
  sans=$(for ((i = 0; i < N; i++)); do addr "$i"; done | paste -sd,)
  "$CHAOS" certs issue --dir "$PKI" --out "$AGENTS_PKI" --agent simfleet --san "$sans" >>"$WORK/certs.log" 2>&1 \
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
S_EPOCH=$(( ( $(date +%s) + LEAD + 59 ) / 60 * 60 ))    # the fire: a whole minute, at least LEAD s away
S_MS=$((S_EPOCH * 1000))
CRON="$(date -u -d "@$S_EPOCH" +%-M) $(date -u -d "@$S_EPOCH" +%-H) * * *"
mkdir -p "$WORK/experiments" "$WORK/state"
{
  echo "apiVersion: chaos/v1"; echo "kind: Inventory"; echo "hosts:"
  for ((i = 0; i < N; i++)); do a=$(addr "$i"); printf '  - name: %s\n    address: %s\n    agent: https://%s:%s\n' "$(name "$i")" "$a" "$a" "$PORT"; done
} >"$WORK/fleet.yaml"
printf 'apiVersion: chaos/v1\nkind: Inventory\nhosts:\n  - name: sim-0001\n    address: 127.1.0.1\n    agent: https://127.1.0.1:%s\n' "$PORT" >"$WORK/one.yaml"
for ((i = 0; i < N; i++)); do
  cat >"$WORK/experiments/$(name "$i").yaml" <<EOF
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
  cron: "$CRON"
  timezone: UTC
  workdays: [mon, tue, wed, thu, fri, sat, sun]
  hours: "00:00-24:00"
EOF
done
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
say "fire scheduled at $(date -u -d "@$S_EPOCH" +%H:%M:%S) UTC (cron '$CRON'), in $((S_EPOCH - $(date +%s))) s"

# ---------------------------------------------------------------- the fleet
CURL_OP=(--cacert "$PKI/ca.pem" --cert "$PKI/bench.pem" --key "$PKI/bench-key.pem" -s --max-time 30)
"$PY" "$BENCH_DIR/simfleet.py" serve --n "$N" --port "$PORT" --stats-port "$STATS_PORT" --workers "$WORKERS" \
  "${FLEET_CERT[@]}" --ca "$PKI/ca.pem" --ready-file "$WORK/fleet.ready" >"$WORK/fleet.log" 2>&1 &
FLEET_PID=$!
for ((i = 0; i < 600; i++)); do [[ -s $WORK/fleet.ready ]] && break; kill -0 "$FLEET_PID" 2>/dev/null || break; sleep 0.1; done
[[ -s $WORK/fleet.ready ]] || fail "simfleet did not start: $(tail -n 5 "$WORK/fleet.log")"
fleet_counts() { # fleet_counts: sums over the workers, as "key=value ..." lines
  local k body
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
((READY_MS < S_MS - 3000)) || fail "the controller was ready only $(((S_MS - READY_MS) / 1000)) s before the fire: raise LEAD"
( echo "ms rss_kib anon_kib hwm_kib threads fds cpu_ticks"
  while mem_line "$CTRL_PID"; do sleep 0.5; done ) >"$WORK/mem.txt" 2>/dev/null &
SAMPLER_PID=$!
sleep 2
MEM_IDLE=$(mem_line "$CTRL_PID")
say "controller up (pid $CTRL_PID), idle: $(awk '{printf "RSS %.1f MiB, anon %.1f MiB, %d threads, %d fds", $2/1024, $3/1024, $5, $6}' <<<"$MEM_IDLE"); waiting for the fire"

# ---------------------------------------------------------------- fan-out
while (($(now_ms) < S_MS)); do sleep 0.2; done
MEM_FIRE=$(mem_line "$CTRL_PID")
injects=0; gave_up=0
while :; do
  c=$(fleet_counts | tail -n 1) || c=""
  injects=$(count_of "$c" inject); [[ $injects =~ ^[0-9]+$ ]] || injects=0
  ((injects >= N)) && break
  # runs that ended without injecting: could not start, or a verdict already (gate not met, errors)
  ended=$(grep -c -E "chaos-controller: run r-[0-9a-f]+ of '[^']*'(: [A-Z]+ \(| could not start)" "$WORK/controller.log" || true)
  if ((injects + ended >= N)); then gave_up=1; break; fi
  (($(now_ms) - S_MS < FANOUT_TIMEOUT * 1000)) || { gave_up=1; break; }
  ((SECONDS < DEADLINE)) || fail "TIME_LIMIT=${TIME_LIMIT}s spent during the fan-out"
  kill -0 "$CTRL_PID" 2>/dev/null || fail "the controller died during the fan-out ($injects of $N injected)"
  sleep 0.25
done
ALL_INJECTED_MS=$(now_ms)
if ((gave_up)); then
  "$PY" "$BENCH_DIR/simfleet.py" stats --stats-port "$STATS_PORT" --workers "$WORKERS" >"$OUT/simfleet-stats.json" 2>/dev/null || true
  grep -E "could not start|': [A-Z]+ \(" "$WORK/controller.log" | sed 's/r-[0-9a-f]*/r-…/; s/sim-[0-9]*/sim-…/g' | sort | uniq -c | sort -rn | head -5 >&2
  fail "only $injects of $N injects arrived within $FANOUT_TIMEOUT s of the fire (counts: $c)"
fi
say "all $N injects arrived, the last $(((ALL_INJECTED_MS - S_MS))) ms (±250 ms polling) after the scheduled minute"
# The fire records say when the controller decided each start (they are restamped when the run ends).
"$PY" - "$WORK/state/runs/chaos.sqlite" "$S_MS" >"$OUT/fires-started.json" <<'EOF' || say "could not read the fire records"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
rows = db.execute("SELECT experiment, state, decidedMs, runID FROM fires WHERE scheduledMs = ?", (int(sys.argv[2]),)).fetchall()
json.dump([{"experiment": e, "state": s, "decidedMs": d, "runID": r} for e, s, d, r in rows], sys.stdout)
EOF
sleep "$SETTLE"
MEM_RUNNING=$(mem_line "$CTRL_PID")
t0=$EPOCHREALTIME
curl "${CURL_OP[@]}" "https://127.0.0.1:$API_PORT/api/v1/overview" >"$WORK/overview.json" || fail "GET /api/v1/overview failed"
t1=$EPOCHREALTIME
OVERVIEW_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
RUNNING=$("$PY" -c 'import json,sys; o=json.load(open(sys.argv[1])); r=o["running"]; print(len(r), sum(x["step"] in ("injected","verified") for x in r))' "$WORK/overview.json")
say "controller holding: $(awk '{printf "RSS %.1f MiB, anon %.1f MiB, %d threads, %d fds", $2/1024, $3/1024, $5, $6}' <<<"$MEM_RUNNING"); overview lists ${RUNNING% *} runs, ${RUNNING#* } holding a fault (answered in $OVERVIEW_MS ms)"

# ---------------------------------------------------------------- halt through the controller, runs in progress
OP=(--identity bench --pki-dir "$PKI")
timed() { # timed OUTFILE CMD...: runs CMD, stdout to OUTFILE; sets T_START_MS T_END_MS WALL_MS RC
  local out=$1 a b; shift
  a=$EPOCHREALTIME; set +e; "$@" >"$out" 2>"$out.err"; RC=$?; set -e; b=$EPOCHREALTIME
  T_START_MS=$((${a/./} / 1000)); T_END_MS=$((${b/./} / 1000)); WALL_MS=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) * 1000 }')
}
check_acks() { # check_acks FILE WHAT KEY: every one of N hosts acknowledged
  "$PY" - "$1" "$N" "$3" <<'EOF' || fail "$2: not every agent acknowledged (see $OUT/$(basename "$1"))"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2]); key = sys.argv[3]
acks = d[key]
ok = sum(a["ok"] for a in acks)
if len(acks) != n or ok != n:
    bad = [a for a in acks if not a["ok"]][:3]
    print("%d answers, %d ok, of %d agents; e.g. %s" % (len(acks), ok, n, bad), file=sys.stderr)
    sys.exit(1)
EOF
}
MEM_PRE_HALT=$(mem_line "$CTRL_PID")
timed "$WORK/halt-controller.json" "$CHAOS" halt --controller "https://127.0.0.1:$API_PORT" --reason "bench/controller.sh" "${OP[@]}" --output json
cp "$WORK/halt-controller.json" "$OUT/"
HALT_START_MS=$T_START_MS; HALT_END_MS=$T_END_MS; HALT_WALL_MS=$WALL_MS
((RC == 0)) || fail "chaos halt --controller exited $RC: $(head -c 600 "$WORK/halt-controller.json.err") $(head -c 600 "$WORK/halt-controller.json")"
check_acks "$WORK/halt-controller.json" "halt through the controller" agents
MEM_HALTED=$(mem_line "$CTRL_PID")
say "halt through the controller: $HALT_WALL_MS ms wall, all $N agents acknowledged; waiting for the runs to be stored"
for ((i = 0; ; i++)); do
  curl "${CURL_OP[@]}" "https://127.0.0.1:$API_PORT/api/v1/overview" >"$WORK/overview2.json" || true
  left=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["running"]))' "$WORK/overview2.json" 2>/dev/null || echo "?")
  [[ $left == 0 ]] && break
  ((i < 240)) || fail "$left runs still in progress 120 s after the halt"
  ((SECONDS < DEADLINE)) || fail "TIME_LIMIT=${TIME_LIMIT}s spent waiting for the runs to end"
  sleep 0.5
done
RUNS_DONE_MS=$(now_ms)
"$CHAOS" verdicts --store-dir "$WORK/state/runs" --output json --limit $((N * 2 + 10)) >"$OUT/verdicts.json" 2>"$WORK/verdicts.err" \
  || fail "chaos verdicts failed: $(cat "$WORK/verdicts.err")"
STORED=$("$PY" - "$OUT/verdicts.json" "$S_MS" <<'EOF'
import collections, json, sys
runs = [r for r in json.load(open(sys.argv[1]))["runs"] if r["startedAt"] >= int(sys.argv[2]) - 60000]
print(len(runs), sum(r["status"] == "aborted" for r in runs), dict(collections.Counter(r["status"] for r in runs)))
EOF
)
read -r STORED_N STORED_ABORTED _ <<<"$STORED"
((STORED_N == N && STORED_ABORTED == N)) || fail "the controller stored $STORED_N runs, $STORED_ABORTED of them aborted (want $N and $N): ${STORED#* * }"
sleep 1
MEM_AFTER=$(mem_line "$CTRL_PID")
say "all $N runs stored as aborted $((RUNS_DONE_MS - HALT_START_MS)) ms after the halt; controller now $(awk '{printf "RSS %.1f MiB, peak %.1f MiB", $2/1024, $4/1024}' <<<"$MEM_AFTER")"

# ---------------------------------------------------------------- idle controller halts, and the floor: the CLI straight to the agents
: >"$WORK/rounds.txt"
timed "$WORK/halt-one.json" "$CHAOS" halt --inventory "$WORK/one.yaml" "${OP[@]}" --reason "bench: CLI start-up" --output json
((RC == 0)) || fail "chaos halt --inventory (one host) exited $RC: $(head -c 600 "$WORK/halt-one.json.err")"
echo "one $WALL_MS $T_START_MS $T_END_MS" >>"$WORK/rounds.txt"
for ((r = 1; r <= REPEAT; r++)); do
  ((SECONDS < DEADLINE)) || fail "TIME_LIMIT=${TIME_LIMIT}s spent in round $r"
  timed "$WORK/resume-direct.json" "$CHAOS" resume --inventory "$WORK/fleet.yaml" "${OP[@]}" --output json
  ((RC == 0)) || fail "chaos resume --inventory exited $RC: $(head -c 600 "$WORK/resume-direct.json.err")"
  echo "resume-direct $WALL_MS $T_START_MS $T_END_MS" >>"$WORK/rounds.txt"
  timed "$WORK/halt-direct-$r.json" "$CHAOS" halt --inventory "$WORK/fleet.yaml" "${OP[@]}" --reason "bench: direct $r" --output json
  ((RC == 0)) || fail "chaos halt --inventory exited $RC: $(head -c 600 "$WORK/halt-direct-$r.json.err")"
  check_acks "$WORK/halt-direct-$r.json" "direct halt $r" hosts
  echo "halt-direct $WALL_MS $T_START_MS $T_END_MS" >>"$WORK/rounds.txt"
  timed "$WORK/resume-controller.json" "$CHAOS" resume --controller "https://127.0.0.1:$API_PORT" "${OP[@]}" --output json
  ((RC == 0)) || fail "chaos resume --controller exited $RC: $(head -c 600 "$WORK/resume-controller.json.err")"
  echo "resume-controller $WALL_MS $T_START_MS $T_END_MS" >>"$WORK/rounds.txt"
  timed "$WORK/halt-idle-$r.json" "$CHAOS" halt --controller "https://127.0.0.1:$API_PORT" --reason "bench: idle $r" "${OP[@]}" --output json
  ((RC == 0)) || fail "chaos halt --controller (idle) exited $RC: $(head -c 600 "$WORK/halt-idle-$r.json.err")"
  check_acks "$WORK/halt-idle-$r.json" "idle controller halt $r" agents
  echo "halt-idle $WALL_MS $T_START_MS $T_END_MS" >>"$WORK/rounds.txt"
  say "round $r: direct halt $(awk '$1=="halt-direct"{w=$2} END{print w}' "$WORK/rounds.txt") ms, idle controller halt $WALL_MS ms"
done
cp "$WORK"/halt-direct-*.json "$WORK"/halt-idle-*.json "$WORK/rounds.txt" "$OUT/"
rm -f "$OUT"/*.err
MEM_END=$(mem_line "$CTRL_PID")

# ---------------------------------------------------------------- collect, stop, report
"$PY" "$BENCH_DIR/simfleet.py" stats --stats-port "$STATS_PORT" --workers "$WORKERS" >"$OUT/simfleet-stats.json" \
  || fail "could not read the fleet's stats"
kill "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""
cp "$WORK/mem.txt" "$OUT/controller-mem.txt"
stop_pid "$CTRL_PID" 30; CTRL_PID=""
cp "$WORK/controller.log" "$OUT/"
cat >"$OUT/env.txt" <<EOF
N=$N
CHAOS=$CHAOS
BUILD_KIND=$BUILD_KIND
CHAOS_MTIME=$(stat -c %y "$CHAOS" | cut -d. -f1)
GIT=$(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo unknown)
WORKERS=$WORKERS
AGENT_CERTS=$AGENT_CERTS
FAULT=$FAULT
DURATION=$DURATION
GATE=$GATE
TICK=$TICK
PROBE_INTERVAL=$PROBE_INTERVAL
SETTLE=$SETTLE
REPEAT=$REPEAT
NOFILE=$NOFILE
LOAD_AT_START=$LOAD_AT_START
CPUS=$(nproc)
S_MS=$S_MS
READY_MS=$READY_MS
ALL_INJECTED_MS=$ALL_INJECTED_MS
HALT_START_MS=$HALT_START_MS
HALT_END_MS=$HALT_END_MS
HALT_WALL_MS=$HALT_WALL_MS
RUNS_DONE_MS=$RUNS_DONE_MS
OVERVIEW_MS=$OVERVIEW_MS
RUNNING=$RUNNING
MEM_IDLE=$MEM_IDLE
MEM_FIRE=$MEM_FIRE
MEM_RUNNING=$MEM_RUNNING
MEM_PRE_HALT=$MEM_PRE_HALT
MEM_HALTED=$MEM_HALTED
MEM_AFTER=$MEM_AFTER
MEM_END=$MEM_END
EOF
"$PY" - "$OUT" "$GATE" <<'EOF'
import json, os, re, statistics, sys
out, gate_text = sys.argv[1], sys.argv[2]
E = dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(out, "env.txt")) if "=" in l)
N = int(E["N"]); S = int(E["S_MS"])
gate = sum(int(n) * {"ms": 1, "s": 1000, "m": 60000}[u] for n, u in re.findall(r"(\d+)(ms|s|m)", gate_text))
fleet = json.load(open(os.path.join(out, "simfleet-stats.json")))["perAgent"]
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(len(xs) * p / 100.0 + 0.5)) - 1))] if xs else None
def stats(xs):
    return {"n": len(xs), "min": min(xs), "p50": pct(xs, 50), "p99": pct(xs, 99), "max": max(xs)} if xs else {"n": 0}
def ctrl(ev):
    return [e for e in ev if e[1] == "controller:controller"]
R = {"n": N, "env": E}

# fan-out
inject = {a: min(e[0] for e in ctrl(v["events"]["inject"])) for a, v in fleet.items() if ctrl(v["events"]["inject"])}
preview = {a: min(e[0] for e in ctrl(v["events"]["preview"]) if e[0] >= S - 1000) for a, v in fleet.items()
           if [e for e in ctrl(v["events"]["preview"]) if e[0] >= S - 1000]}
fires = {}
try:
    for f in json.load(open(os.path.join(out, "fires-started.json"))):
        fires[f["experiment"].rsplit("-", 1)[0]] = f["decidedMs"]
except (OSError, ValueError):
    pass
arr = sorted(inject.values())
R["fanout"] = {
    "injected": len(inject), "firstMs": arr[0] - S, "lastMs": arr[-1] - S,
    "lateness": stats([t - (S + gate) for t in arr]),
    "noticed": stats([fires[a] - S for a in inject if a in fires]),
    "prepare": stats([preview[a] - fires[a] for a in inject if a in fires and a in preview]),
    "gateToInject": stats([inject[a] - preview[a] - gate for a in inject if a in preview]),
    "connectionsPerAgent": stats([len([c for c in v["connections"] if S - 1000 <= c <= int(E["ALL_INJECTED_MS"])]) for v in fleet.values()]),
}
# halt with runs in progress
hs, he = int(E["HALT_START_MS"]), int(E["HALT_END_MS"])
halt = json.load(open(os.path.join(out, "halt-controller.json")))
harr = [e[0] for v in fleet.values() for e in ctrl(v["events"]["halt"]) if hs <= e[0] <= he + 1000]
deletes = [e[0] for v in fleet.values() for e in ctrl(v["events"]["revert"]) if hs <= e[0] <= he + 60000]
reverted = [f["_revertedAt"] for v in fleet.values() for f in v["faults"] if f.get("_revertedAt") and f["requestedBy"] == "controller:controller"]
by_halt = sum(1 for v in fleet.values() for f in v["faults"] if f["requestedBy"] == "controller:controller" and (f.get("note") or "").startswith("halt by"))
expired = [e for v in fleet.values() for e in v["events"]["expired"]]
R["halt"] = {
    "wallMs": float(E["HALT_WALL_MS"]), "elapsedMs": halt["elapsedMs"], "acks": sum(a["ok"] for a in halt["agents"]),
    "abortedRuns": len(halt["abortedRuns"]), "arrivalsMs": stats([t - hs for t in harr]),
    "lastFaultRevertedMs": (max(reverted) - hs) if reverted else None, "faultsEndedByHalt": by_halt,
    "faultsEndedByRunDelete": len(reverted) - by_halt, "runDeletesMs": stats([t - hs for t in deletes]),
    "runsStoredMs": int(E["RUNS_DONE_MS"]) - hs,
}
verdicts = [r for r in json.load(open(os.path.join(out, "verdicts.json")))["runs"] if r["startedAt"] >= S - 60000]
R["stored"] = {"runs": len(verdicts), "aborted": sum(r["status"] == "aborted" for r in verdicts)}
R["leases"] = {"renews": sum(len(v["renews"]) for v in fleet.values()), "expired": len(expired)}
gaps = []
for v in fleet.values():
    rs = sorted(v["renews"])
    gaps += [b - a for a, b in zip(rs, rs[1:])]
R["leases"]["renewGapMs"] = stats(gaps)
# rounds: direct and idle controller halts
rounds = [l.split() for l in open(os.path.join(out, "rounds.txt"))]
def walls(kind): return [float(w) for k, w, *_ in rounds if k == kind]
def elapsed(kind):
    xs = []
    for i in range(1, 1 + len(walls(kind))):
        p = os.path.join(out, "%s-%d.json" % (kind, i))
        if os.path.exists(p):
            xs.append(json.load(open(p))["elapsedMs"])
    return xs
def spread(kind, caller):
    xs = []
    for k, w, a, b in rounds:
        if k == kind:
            ts = [e[0] for v in fleet.values() for e in v["events"]["halt"] if e[1] == caller and int(a) <= e[0] <= int(b) + 1000]
            if ts:
                xs.append(max(ts) - min(ts))
    return xs
R["direct"] = {"wallMs": walls("halt-direct"), "medianMs": statistics.median(walls("halt-direct")),
               "arrivalSpreadMs": spread("halt-direct", "operator:bench"), "resumeWallMs": walls("resume-direct"),
               "oneHostWallMs": walls("one")[0]}
R["idle"] = {"wallMs": walls("halt-idle"), "medianMs": statistics.median(walls("halt-idle")),
             "elapsedMs": elapsed("halt-idle"),
             "arrivalSpreadMs": spread("halt-idle", "controller:controller"), "resumeWallMs": walls("resume-controller")}
R["ratios"] = {"controllerWithRunsOverDirect": R["halt"]["wallMs"] / R["direct"]["medianMs"],
               "controllerIdleOverDirect": R["idle"]["medianMs"] / R["direct"]["medianMs"]}
# memory
def mem(key):
    ms, rss, anon, hwm, thr, fds, cpu = (int(x) for x in E[key].split())
    return {"rssMiB": rss / 1024, "anonMiB": anon / 1024, "hwmMiB": hwm / 1024, "threads": thr, "fds": fds, "cpuS": cpu / os.sysconf("SC_CLK_TCK")}
R["memory"] = {k: mem(v) for k, v in [("idle", "MEM_IDLE"), ("fire", "MEM_FIRE"), ("running", "MEM_RUNNING"), ("halted", "MEM_HALTED"),
                                       ("after", "MEM_AFTER"), ("end", "MEM_END")]}
m = R["memory"]
R["memory"]["perRunKiB"] = (m["running"]["rssMiB"] - m["idle"]["rssMiB"]) * 1024 / N
R["memory"]["perRunAnonKiB"] = (m["running"]["anonMiB"] - m["idle"]["anonMiB"]) * 1024 / N
R["cpu"] = {"fanoutS": m["running"]["cpuS"] - m["fire"]["cpuS"], "haltS": m["halted"]["cpuS"] - mem("MEM_PRE_HALT")["cpuS"]}
json.dump(R, open(os.path.join(out, "summary.json"), "w"), indent=2)

f = R["fanout"]; h = R["halt"]
def ms(x): return "-" if x is None else ("%.0f" % x if abs(x) >= 100 else "%.1f" % x)
def row(label, value, note=""):
    return "  %-44s %14s   %s" % (label, value, note)
L = []
L.append("chaos controller driving %d simulated agents (%s build %s, %s; %d CPUs, load %s at start)" % (
    N, E["BUILD_KIND"], E["CHAOS_MTIME"], E["GIT"], int(E["CPUS"]), E["LOAD_AT_START"]))
L.append("fan-out of the injection (all %d fired at %s UTC, gate %s, tick %s)" % (N, __import__("time").strftime("%H:%M:%S", __import__("time").gmtime(S / 1000)), E["GATE"], E["TICK"]))
L.append(row("first / last inject at the agents after S", "%s / %s ms" % (ms(f["firstMs"]), ms(f["lastMs"]))))
L.append(row("inject - (S + gate), p50 / p99", "%s / %s ms" % (ms(f["lateness"]["p50"]), ms(f["lateness"]["p99"])), "every run holds its gate first"))
if f["noticed"].get("n"):
    L.append(row("  S -> controller starts the run, p50 / p99", "%s / %s ms" % (ms(f["noticed"]["p50"]), ms(f["noticed"]["p99"])), "tick and fire records"))
if f["prepare"].get("n"):
    L.append(row("  start -> preview at the agent, p50 / p99", "%s / %s ms" % (ms(f["prepare"]["p50"]), ms(f["prepare"]["p99"])), "new HTTP client, TLS, preview"))
L.append(row("  preview -> inject, minus the gate, p50 / p99", "%s / %s ms" % (ms(f["gateToInject"]["p50"]), ms(f["gateToInject"]["p99"]))))
L.append(row("TLS connections per agent during the fan-out", "%s (max %s)" % (f["connectionsPerAgent"]["p50"], f["connectionsPerAgent"]["max"])))
L.append("global halt with the %d runs holding their faults" % N)
L.append(row("chaos halt --controller, wall", "%s ms" % ms(h["wallMs"]), "goal < 1000 ms: %s" % ("met" if h["wallMs"] < 1000 else "MISSED")))
L.append(row("controller's elapsedMs (flag -> last agent)", "%s ms" % ms(h["elapsedMs"])))
L.append(row("agents acknowledged / runs aborted", "%d / %d" % (h["acks"], h["abortedRuns"])))
L.append(row("halt arrivals after the command started", "%s .. %s ms" % (ms(h["arrivalsMs"].get("min")), ms(h["arrivalsMs"].get("max"))), "p50 %s" % ms(h["arrivalsMs"].get("p50"))))
L.append(row("every fault reverted at the agents after", "%s ms" % ms(h["lastFaultRevertedMs"]), "%d by the halt, %d by the run's DELETE first" % (h["faultsEndedByHalt"], h["faultsEndedByRunDelete"])))
L.append(row("runs stored (all aborted) after", "%s ms" % ms(h["runsStoredMs"]), "%d stored, %d aborted" % (R["stored"]["runs"], R["stored"]["aborted"])))
L.append("halt fan-out compared (wall of the command; median of %d)" % len(R["direct"]["wallMs"]))
L.append(row("floor: chaos halt --inventory (CLI -> agents)", "%s ms" % ms(R["direct"]["medianMs"]), "runs %s" % ", ".join(ms(x) for x in R["direct"]["wallMs"])))
L.append(row("chaos halt --controller, idle controller", "%s ms" % ms(R["idle"]["medianMs"]), "runs %s" % ", ".join(ms(x) for x in R["idle"]["wallMs"])))
L.append(row("chaos halt --inventory, one host (start-up)", "%s ms" % ms(R["direct"]["oneHostWallMs"])))
L.append(row("ratio controller (runs in progress) / floor", "%.2fx" % R["ratios"]["controllerWithRunsOverDirect"]))
L.append(row("ratio controller (idle) / floor", "%.2fx" % R["ratios"]["controllerIdleOverDirect"]))
L.append("controller memory (MiB) and resources")
L.append("  %-26s %8s %8s %8s %8s %6s %8s" % ("", "VmRSS", "RssAnon", "VmHWM", "threads", "fds", "CPU s"))
for k, label in [("idle", "idle, experiments loaded"), ("running", "%d runs holding" % N), ("halted", "just halted"), ("after", "runs stored"), ("end", "end (after %d+%d halts)" % (len(R["idle"]["wallMs"]), len(R["direct"]["wallMs"])))]:
    x = m[k]
    L.append("  %-26s %8.1f %8.1f %8.1f %8d %6d %8.1f" % (label, x["rssMiB"], x["anonMiB"], x["hwmMiB"], x["threads"], x["fds"], x["cpuS"]))
L.append(row("per run in progress (RSS / anonymous)", "%.0f / %.0f KiB" % (m["perRunKiB"], m["perRunAnonKiB"])))
L.append(row("controller CPU: fan-out / halt", "%.1f / %.1f s" % (R["cpu"]["fanoutS"], R["cpu"]["haltS"])))
L.append(row("lease renewals / expired at the agents", "%d / %d" % (R["leases"]["renews"], R["leases"]["expired"]), "renew gap p50 %s, max %s ms" % (ms(R["leases"]["renewGapMs"].get("p50")), ms(R["leases"]["renewGapMs"].get("max")))))
text = "\n".join(L)
print(text)
open(os.path.join(out, "summary.txt"), "w").write(text + "\n")
if R["leases"]["expired"]:
    print("WARNING: %d leases expired at the agents: the controller did not renew in time" % R["leases"]["expired"])
EOF
ln -sfn "$(basename "$OUT")" "$RESULTS_DIR/controller-latest"
echo "results: $OUT/ (summary.txt, summary.json, simfleet-stats.json, controller-mem.txt, controller.log, halt-*.json, verdicts.json)"
