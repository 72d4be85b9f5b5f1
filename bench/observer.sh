#!/usr/bin/env bash
# bench/observer.sh — what the observer of `chaos run` costs: PROBES http probes at HZ each, held for
# DURATION seconds. Goal (the issue's): 10 probes at 10 Hz for 10 minutes take < 5 % of one core and
# the memory stays flat.
#
# Usage: bench/observer.sh [--help]
#
# In one run, on this host (no network namespace, no root needed beyond signalling its own victim):
#   server   bench/observer-server.py: one asyncio HTTP/1.1 server on 127.0.0.1 answering
#            GET /health/pNN with 200 `ok` and keep-alive, counting what it answered per probe and
#            per second, and how many requests each TCP connection carried
#   victim   /bin/sleep, started here; the fault is a `process.pause` of it for DURATION (reversible,
#            local, touches nothing else)
#   run      `chaos run` of a generated experiment: PROBES http probes p01..pNN, interval 1/HZ s,
#            against the server, plus (STOP_WHEN=1) one stopWhen over all probes as real experiments
#            have; the run observes the gate (5 s), pauses the victim, holds DURATION s, reverts,
#            watches the recovery (about 3 s) and prints its record (--output json)
# and it measures, every SAMPLE s from /proc of the chaos process (`chaos run` execs chaos-remote:
# same pid):
#   CPU      utime+stime as a percent of one core: mean over the hold (inject -> revert, from the
#            run's own journal), its first and last third (does it grow with the run?), the kernel's
#            share (stime) and the max of one SAMPLE interval
#   memory   VmRSS, RssAnon (and RssFile): start / middle / end of the hold, the least-squares slope
#            (KiB/min), and flat = |mean of the last third - mean of the first third| <= FLAT_KIB;
#            VmHWM at the last sample (it includes the end of the run: storing and printing the record)
#   probes   what the server answered while the fault held (requests/s, per probe), which must be
#            PROBES x HZ within 10 %, next to the observations in chaos's journal; the TCP
#            connections the server accepted (requests per connection) and the port's TIME_WAIT sockets
#   others   the server's CPU and the pause guardian's (a separate chaos process): reported, not counted
#
# Environment (all optional):
#   CHAOS_BIN    the chaos executable (chaos-remote must be beside it); default
#                .build-static/release/chaos when chaos-remote is beside it, else .build/debug/chaos
#                (NOT representative: said loudly)
#   DURATION=600 seconds the fault holds (the issue's 10 minutes; the run lasts about 10 s more)
#   PROBES=10    http probes;  HZ=10  observations per second of each (interval 1000/HZ ms)
#   SAMPLE       seconds between /proc samples (default DURATION/120, at least 1)
#   TIMEOUT      each probe's timeout (default: the interval, chaos's own default)
#   STOP_WHEN=1  add `stopWhen: [{availabilityBelow: 50%, for: 10s}]` (0: none)
#   CPU_GOAL=5   percent of one core;  FLAT_KIB=1024  the flatness bound
#   STRICT=1     exit 3 when a goal is missed (default: report only)
#   RESULTS_DIR=bench/results: writes RESULTS_DIR/observer-<UTC time>/ (summary.json, samples.jsonl,
#                server.json, run.json.gz, experiment.yaml, logs) and points observer-latest at it;
#                an invalid run leaves observer-<time>-failed/
#   KEEP_WORK=1  keep the temp work directory;  TIME_LIMIT  seconds in all (default DURATION + 180)
# Exit status: 0 measured; 1 not a valid measurement (no readable verdict, the fault never held, the
# probes answered far from PROBES x HZ, or a helper failed); 3 with STRICT=1 and a goal missed.
# Needs: python3 (standard library), curl. Everything it starts is stopped at exit, by pid.
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "observer.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
DURATION=${DURATION:-600}; PROBES=${PROBES:-10}; HZ=${HZ:-10}; STOP_WHEN=${STOP_WHEN:-1}
CPU_GOAL=${CPU_GOAL:-5}; FLAT_KIB=${FLAT_KIB:-1024}; STRICT=${STRICT:-0}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}; TIME_LIMIT=${TIME_LIMIT:-$((DURATION + 180))}
for v in DURATION PROBES HZ FLAT_KIB TIME_LIMIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] && ((${!v} > 0)) || { echo "observer.sh: $v must be a positive whole number (got '${!v}')" >&2; exit 2; }
done
((PROBES <= 99)) || { echo "observer.sh: PROBES must be at most 99" >&2; exit 2; }
INTERVAL_MS=$((1000 / HZ))
((INTERVAL_MS >= 50)) || { echo "observer.sh: HZ=$HZ gives an interval under 50 ms, chaos's minimum" >&2; exit 2; }
SAMPLE=${SAMPLE:-$(( DURATION / 120 > 1 ? DURATION / 120 : 1 ))}
TIMEOUT=${TIMEOUT:-${INTERVAL_MS}ms}
PY=$(command -v /usr/bin/python3 || command -v python3)
fail() { echo "observer.sh: $*" >&2; exit 1; }
command -v curl >/dev/null || fail "needs curl"

# ---------------------------------------------------------------- binaries
DEBUG=0
if [[ -n ${CHAOS_BIN:-} ]]; then CHAOS=$CHAOS_BIN
elif [[ -x $REPO_DIR/.build-static/release/chaos && -x $REPO_DIR/.build-static/release/chaos-remote ]]; then
  CHAOS=$REPO_DIR/.build-static/release/chaos
else CHAOS=$REPO_DIR/.build/debug/chaos; fi
[[ -x $CHAOS && -x $(dirname "$CHAOS")/chaos-remote ]] \
  || fail "no chaos and chaos-remote at $(dirname "$CHAOS") (set CHAOS_BIN, or build: swift build -c release --static-swift-stdlib --scratch-path .build-static --product chaos, and --product chaos-remote)"
CHAOS=$(readlink -f "$CHAOS")
if [[ $CHAOS == */debug/* ]]; then
  DEBUG=1
  echo "!! $CHAOS is a DEBUG build: its CPU and memory are NOT representative (-Onone, no inlining)." >&2
  echo "!! Build a release one for numbers to quote: swift build -c release --static-swift-stdlib --scratch-path .build-static --product chaos (and chaos-remote)." >&2
fi

# ---------------------------------------------------------------- work dir, results, cleanup
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS_DIR/observer-$STAMP"
WORK=$(mktemp -d /tmp/chaos-bench-observer.XXXXXX)
mkdir -p "$OUT"
SERVER_PID=""; VICTIM_PID=""; RUN_PID=""; SAMPLER_PID=""; WATCHDOG_PID=""
stop_pid() { # stop_pid PID SECONDS [SIGNAL]: SIGNAL (TERM), then SIGKILL after SECONDS; only our children
  local p=$1 t=$2 sig=${3:-TERM} i s=""
  [[ -n $p ]] && kill -0 "$p" 2>/dev/null || return 0
  kill "-$sig" "$p" 2>/dev/null
  for ((i = 0; i < t * 10; i++)); do
    s=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || s=""
    [[ -z $s || $s == Z ]] && break
    sleep 0.1
  done
  [[ -z $s || $s == Z ]] || kill -KILL "$p" 2>/dev/null
  { wait "$p"; } 2>/dev/null
  return 0
}
cleanup() {
  local rc=$?
  set +e
  [[ -n $WATCHDOG_PID ]] && kill "$WATCHDOG_PID" 2>/dev/null
  stop_pid "$RUN_PID" 30            # SIGTERM: chaos reverts the pause before it exits
  [[ -n $SAMPLER_PID ]] && stop_pid "$SAMPLER_PID" 2
  # (its stderr hidden: bash would announce "Killed" for the victim, which is no news)
  if [[ -n $VICTIM_PID ]]; then { kill -CONT "$VICTIM_PID"; stop_pid "$VICTIM_PID" 2 KILL; } 2>/dev/null; fi
  stop_pid "$SERVER_PID" 5
  if ((rc != 0)) && [[ -d $OUT ]]; then
    cp "$WORK"/*.log "$WORK"/*.err "$WORK/experiment.yaml" "$OUT/" 2>/dev/null
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

# ---------------------------------------------------------------- server, victim, experiment
"$PY" "$BENCH_DIR/observer-server.py" "$WORK/port" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.05; done
[[ -s $WORK/port ]] || fail "the server did not start: $(tail -n 3 "$WORK/server.log")"
PORT=$(cat "$WORK/port")
curl -fsS "http://127.0.0.1:$PORT/stats" >/dev/null || fail "the server does not answer on 127.0.0.1:$PORT"

sleep 100000 &
VICTIM_PID=$!

{
  echo "apiVersion: chaos/v1"
  echo "kind: Experiment"
  echo "name: observer-bench"
  echo "description: bench/observer.sh - $PROBES http probes at $HZ Hz while a sleep of its own is paused for ${DURATION}s."
  echo "target: {process: {pid: $VICTIM_PID}}"
  echo "fault: {type: process.pause, duration: ${DURATION}s}"
  echo "probes:"
  for ((i = 1; i <= PROBES; i++)); do
    printf '  - {name: p%02d, type: http, url: "http://127.0.0.1:%d/health/p%02d", interval: %dms, timeout: %s, tolerance: {status: 200}}\n' \
      "$i" "$PORT" "$i" "$INTERVAL_MS" "$TIMEOUT"
  done
  # Generous: this measures the observer; a probe timing out on a busy machine must not stop the run.
  echo "expect: {availability: {before: 90%, during: 90%, after: 90%}, maxOutage: 5s, recoverWithin: 30s}"
  if ((STOP_WHEN)); then echo "stopWhen: [{availabilityBelow: 50%, for: 10s}]"; fi
} >"$WORK/experiment.yaml"
cp "$WORK/experiment.yaml" "$OUT/"
"$CHAOS" validate "$WORK/experiment.yaml" >"$WORK/validate.log" 2>&1 || fail "chaos validate refused the experiment: $(cat "$WORK/validate.log")"

# ---------------------------------------------------------------- the run, sampled
echo "chaos run: $PROBES probes x $HZ Hz, pause held ${DURATION}s, sampled every ${SAMPLE}s (ends in about $((DURATION + 12)) s)" >&2
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
CHAOS_STATE_DIR="$WORK/state" "$CHAOS" run "$WORK/experiment.yaml" --store-dir "$WORK/store" --output json \
  >"$WORK/run.json" 2>"$WORK/run.err" &
RUN_PID=$!
"$PY" "$BENCH_DIR/observer-report.py" sample "$WORK/samples.jsonl" "$SAMPLE" "$RUN_PID" "$SERVER_PID" "$VICTIM_PID" "$PORT" "$WORK/state" \
  2>"$WORK/sampler.err" &
SAMPLER_PID=$!
set +e; wait "$RUN_PID"; RUN_RC=$?; set -e
RUN_PID=""
wait "$SAMPLER_PID" || fail "the sampler failed: $(tail -n 3 "$WORK/sampler.err")"
SAMPLER_PID=""
echo "$RUN_RC" >"$WORK/run.rc"
curl -fsS "http://127.0.0.1:$PORT/stats" >"$WORK/server.json" || fail "cannot read the server's counts"
victim_state=$(awk '{print $3}' "/proc/$VICTIM_PID/stat" 2>/dev/null || echo gone)
[[ $victim_state != T ]] || fail "the victim is still stopped after the run: chaos did not revert the pause"

cat >"$WORK/params.json" <<EOF
{"chaos": "$CHAOS", "debug": $DEBUG, "duration": $DURATION, "probes": $PROBES, "hz": $HZ, "intervalMs": $INTERVAL_MS,
 "timeout": "$TIMEOUT", "sample": $SAMPLE, "stopWhen": $STOP_WHEN, "cpu_goal": $CPU_GOAL, "flat_kib": $FLAT_KIB,
 "strict": $([[ $STRICT == 1 ]] && echo true || echo false), "date": "$STAMP", "host": "$(uname -n)", "kernel": "$(uname -r)",
 "cpus": $(nproc), "loadAtStart": $LOAD_AT_START, "loadAtEnd": $(cut -d' ' -f1 /proc/loadavg)}
EOF
cp "$WORK/params.json" "$WORK/samples.jsonl" "$WORK/server.json" "$WORK/run.rc" "$WORK/run.err" "$OUT/"
gzip -c "$WORK/run.json" >"$OUT/run.json.gz"
set +e; "$PY" "$BENCH_DIR/observer-report.py" report "$OUT"; REPORT_RC=$?; set -e
if ((REPORT_RC == 1)); then
  echo "chaos run's stderr (last lines):" >&2; tail -n 5 "$WORK/run.err" >&2
  exit 1
fi
echo "  load average: $LOAD_AT_START at the start, $(cut -d' ' -f1 /proc/loadavg) at the end, $(nproc) CPUs"
echo "  results: $OUT"
ln -sfn "$(basename "$OUT")" "$RESULTS_DIR/observer-latest"
exit "$REPORT_RC"
