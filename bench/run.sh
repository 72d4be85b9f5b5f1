#!/usr/bin/env bash
# bench/run.sh — a whole experiment run, chaos against Chaos Toolkit, side by side in one run.
#
# Usage: bench/run.sh [--help]
#
# The experiment is the same on both sides: a steady-state probe (HTTP GET of a local health endpoint,
# 200 expected), then the method: SIGKILL of a fresh victim (`/bin/sleep 1000` started by this
# script, by pid), then the steady state probed again; the verdict and the journal are written.
#   chaos          `chaos run EXPERIMENT.yaml --output json --gate GATE --state-dir TMP` (the YAML is
#                  written at run time: target {process: {pidfile: ...}}, fault process.kill KILL,
#                  one http probe with tolerance {status: 200} every INTERVAL)
#   chaostoolkit   `chaos run --journal-path TMP/journal-PID.json --var pid=PID --var health_url=URL
#                  bench/chaostoolkit/run-experiment.json` (Chaos Toolkit from PyPI): a
#                  steady-state-hypothesis probe of type http (tolerance 200) and a method action of
#                  type process running `/bin/kill -KILL ${pid}`
# Both sides probe the endpoint as many times per run: chaos's count is measured on its first run
# and Chaos Toolkit gets that many probes in all (its hypothesis runs once before and once after the
# method; the rest are method probes after the kill, back to back). Every probe is counted by the
# health endpoint, per contestant, and shown.
# It reports wall time (hyperfine --shell=none: median, mean, stddev, min; user+sys CPU), peak RSS
# (GNU time %M, median of MEM_RUNS; chaos's exec of chaos-remote keeps its pid, so %M covers it),
# the ratios chaostoolkit/chaos for time (goal >= 15x) and chaos/chaostoolkit for memory
# (goal <= 0.5), and where chaos's seconds go (its own journal's timestamps; strace if installed).
#
# Checked, or the script fails loudly (exit 1): every victim died of SIGKILL (the C helper
# bench/lib/benchctl.c starts each victim in hyperfine's --prepare, reaps it and records how it
# died), every chaos run's verdict is passed/completed (exit status 0, and one line per run in its
# verdicts.jsonl), every Chaos Toolkit journal says completed, not deviated, steady state met before
# and after, and the number of victims started equals the number verified killed.
# The health endpoint is bench/lib/healthd.py (Python http.server on 127.0.0.1, a free port),
# started once. At exit only what this script started is stopped (victims: pid and start time
# checked; the endpoint: by its pid) and the temp dir is removed.
#
# Environment (all optional):
#   CHAOS_BIN        chaos executable (chaos-remote must be beside it); default
#                    .build-static/release/chaos if present with its chaos-remote, else
#                    .build/debug/chaos (a debug build is NOT representative: the script says
#                    so loudly). Never builds.
#   CHAOS_NOTE       free text shown in the table and summary
#   GATE=50ms        chaos run --gate (default 5s): the steady state observed before the kill. chaos
#                    needs one judged sample before the fault, so the gate must outlast its first
#                    probe (~10 ms here; 1ms gives an inconclusive run, which fails this script)
#   INTERVAL=1s      chaos's probe interval (also its default). The recovery window needs the
#                    settle time, max(3 s, 3 x interval), whatever the interval: a shorter one only
#                    adds probes, a longer one lengthens the run
#   RECOVER_WITHIN   sets expect.recoverWithin in chaos's experiment (default: none, chaos's 30s).
#                    Not a wait: the run ends once recovered; see README for why 0s ends it 1 s sooner
#   PROBE_MATCH=1    give Chaos Toolkit as many probes per run as chaos makes; 0: its 2 (before, after)
#   RUNS=8 WARMUP=1          hyperfine runs for chaos (each run takes ~4-5 s, see README)
#   CTK_RUNS=20 CTK_WARMUP=3 hyperfine runs for Chaos Toolkit
#   MEM_RUNS=3       GNU time runs per contestant for peak RSS (median)
#   STRACE=1         0 skips the strace timeline of one chaos run
#   PYTHON           real Python interpreter for the venv (default: resolved past the pyenv shim)
#   RESULTS_DIR      default bench/results; each run writes RESULTS_DIR/run-<UTC time>/ and points
#                    RESULTS_DIR/run-latest at it
#   STRICT=1         exit 3 when a goal (time >= 15x, memory <= 0.5) is missed
#   TIME_LIMIT=150   seconds for everything after the venv; the script fails when spent
#   KEEP_WORK=1      keep the temporary work directory
# Network: only PyPI, and only when bench/.venv is missing or its pins changed (shared with kill.sh).
# Runtime: about 65 s with the defaults (chaos runs dominate: see "where chaos's seconds go").
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
CTK_DIR="$BENCH_DIR/chaostoolkit"
CTK_EXPERIMENT="$CTK_DIR/run-experiment.json"
VENV="$BENCH_DIR/.venv"
RUNS=${RUNS:-8}; WARMUP=${WARMUP:-1}
CTK_RUNS=${CTK_RUNS:-20}; CTK_WARMUP=${CTK_WARMUP:-3}
MEM_RUNS=${MEM_RUNS:-3}; STRACE=${STRACE:-1}; STRICT=${STRICT:-0}; TIME_LIMIT=${TIME_LIMIT:-150}
GATE=${GATE:-50ms}; RECOVER_WITHIN=${RECOVER_WITHIN:-}; INTERVAL=${INTERVAL:-1s}; PROBE_MATCH=${PROBE_MATCH:-1}
CHAOS_NOTE=${CHAOS_NOTE:-}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
for v in RUNS WARMUP CTK_RUNS CTK_WARMUP MEM_RUNS TIME_LIMIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a number" >&2; exit 2; }
done
for v in GATE INTERVAL; do
  [[ ${!v} =~ ^[0-9]+(\.[0-9]+)?(ms|s)$ ]] || { echo "run.sh: $v must be a duration like 100ms or 1s" >&2; exit 2; }
done
((RUNS >= 2 && CTK_RUNS >= 2 && MEM_RUNS >= 1)) || { echo "run.sh: RUNS and CTK_RUNS must be >= 2, MEM_RUNS >= 1" >&2; exit 2; }

say() { printf '== %s\n' "$*" >&2; }
fail() { printf '\nrun.sh: FAILED: %s\n' "$*" >&2; exit 1; }
ms_of() { local d=$1; [[ $d == *ms ]] && echo "${d%ms}" || awk -v s="${d%s}" 'BEGIN{printf "%d", s*1000}'; }

# ---------------------------------------------------------------- tools
# shellcheck source=lib/harness.sh
source "$BENCH_DIR/lib/harness.sh"
need_bench_tools

WORK=$(mktemp -d /tmp/chaos-bench-run.XXXXXX)
BENCHCTL="$WORK/benchctl"
CONTESTANT_DIRS=("$WORK/c-chaos" "$WORK/c-ctk")
HEALTHD_PID=""
OUT=""
cleanup() {
  local rc=$?
  set +e
  [[ $rc != 0 && -n $OUT && -d $OUT ]] && mv "$OUT" "$OUT-failed" && echo "partial results: $OUT-failed" >&2
  for d in "${CONTESTANT_DIRS[@]}"; do
    [[ -x $BENCHCTL && -d $d ]] && "$BENCHCTL" reap "$d"
  done
  if [[ -n $HEALTHD_PID ]] && kill -0 "$HEALTHD_PID" 2>/dev/null; then
    kill -TERM "$HEALTHD_PID"; wait "$HEALTHD_PID" 2>/dev/null
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# static when libc.a is present (saves ~0.1 ms of dynamic loading per timed run), else dynamic
"$CC" -O2 -Wall -static -o "$BENCHCTL" "$BENCH_DIR/lib/benchctl.c" 2>/dev/null \
  || "$CC" -O2 -Wall -o "$BENCHCTL" "$BENCH_DIR/lib/benchctl.c" || fail "cannot compile bench/lib/benchctl.c with $CC"

# ---------------------------------------------------------------- chaos binary (never built here)
if [[ -n ${CHAOS_BIN:-} ]]; then
  CHAOS=$(command -v "$CHAOS_BIN" || true)
  [[ -n $CHAOS && -x $CHAOS ]] || fail "CHAOS_BIN=$CHAOS_BIN is not an executable"
  CHAOS_SOURCE="CHAOS_BIN"
elif [[ -x $REPO_DIR/.build-static/release/chaos && -x $REPO_DIR/.build-static/release/chaos-remote ]]; then
  CHAOS="$REPO_DIR/.build-static/release/chaos"; CHAOS_SOURCE="static release build (.build-static/release)"
elif [[ -x $REPO_DIR/.build/debug/chaos ]]; then
  [[ -x $REPO_DIR/.build-static/release/chaos ]] && say "skipping .build-static/release/chaos: no chaos-remote beside it (chaos run execs it)"
  CHAOS="$REPO_DIR/.build/debug/chaos"; CHAOS_SOURCE="DEBUG build (.build/debug) - not representative"
else
  fail "no chaos binary: set CHAOS_BIN, or build .build-static/release/chaos (swift build -c release --product chaos --product chaos-remote --static-swift-stdlib --scratch-path .build-static)"
fi
CHAOS=$(readlink -f "$CHAOS")
[[ -x $(dirname "$CHAOS")/chaos-remote ]] || fail "$(dirname "$CHAOS")/chaos-remote is missing: 'chaos run' execs chaos-remote from beside chaos"
IS_DEBUG=0
if [[ $CHAOS_SOURCE == DEBUG* || $CHAOS == */debug/* ]]; then
  IS_DEBUG=1
  printf '\n%s\n%s\n\n' "!!! WARNING: benchmarking a DEBUG build of chaos ($CHAOS)." \
    "!!! Debug builds are several times slower and larger: these numbers are NOT representative." >&2
fi

# ---------------------------------------------------------------- Chaos Toolkit venv (shared with kill.sh)
REQ="$CTK_DIR/requirements.txt"
[[ -f $CTK_EXPERIMENT ]] || fail "missing $CTK_EXPERIMENT"
ensure_ctk_venv "$VENV" "$REQ" "$WORK/pip.log"

DEADLINE=$((SECONDS + TIME_LIMIT))

# ---------------------------------------------------------------- health endpoint (started once)
"$VPY" "$BENCH_DIR/lib/healthd.py" "$WORK/health.port" </dev/null >"$WORK/healthd.log" 2>&1 &
HEALTHD_PID=$!
for ((i = 0; i < 100; i++)); do [[ -s $WORK/health.port ]] && break; sleep 0.05; done
[[ -s $WORK/health.port ]] || { cat "$WORK/healthd.log" >&2; fail "the health endpoint (bench/lib/healthd.py) did not start"; }
PORT=$(cat "$WORK/health.port")
HEALTH="http://127.0.0.1:$PORT"
probes_of() { # probes_of NAME: how many probes the endpoint has answered for NAME
  "$VPY" -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1]+"/counts", timeout=5)).get(sys.argv[2], 0))' "$HEALTH" "$1"
}

# ---------------------------------------------------------------- the two experiments
mkdir -p "$WORK/c-chaos" "$WORK/c-ctk" "$WORK/chaos-state" "$WORK/ctk"
PROBE_TIMEOUT=1s
(($(ms_of "$INTERVAL") < 1000)) && PROBE_TIMEOUT=$INTERVAL
CHAOS_EXPERIMENT="$WORK/chaos-experiment.yaml"
cat >"$CHAOS_EXPERIMENT" <<EOF
# bench/run.sh contestant (written at run time): the same experiment as bench/chaostoolkit/run-experiment.json
apiVersion: chaos/v1
kind: Experiment
name: bench-run-kill
description: steady state (HTTP 200) -> SIGKILL of a victim by pid -> steady state again; verdict and journal written
target: {process: {pidfile: $WORK/c-chaos/pid}}
fault:
  type: process.kill
  with: {signal: KILL}
probes:
  - name: health
    type: http
    url: $HEALTH/health/chaos
    interval: $INTERVAL
    timeout: $PROBE_TIMEOUT
    tolerance: {status: 200}
EOF
[[ -z $RECOVER_WITHIN ]] || printf 'expect:\n  recoverWithin: %s\n' "$RECOVER_WITHIN" >>"$CHAOS_EXPERIMENT"
"$CHAOS" validate "$CHAOS_EXPERIMENT" >"$WORK/validate.out" 2>&1 || { cat "$WORK/validate.out" >&2; fail "chaos validate rejects the generated experiment"; }

q() { local out="" a; for a in "$@"; do out+=" '${a//\'/\'\\\'\'}'"; done; printf '%s' "${out# }"; } # shell-words quoting for hyperfine -N
CHAOS_ARGV=("$CHAOS" run "$CHAOS_EXPERIMENT" --output json --gate "$GATE" --state-dir "$WORK/chaos-state")
CMD_CHAOS=$(q "$BENCHCTL" exec "$WORK/c-chaos" "${CHAOS_ARGV[@]}")
CTK_RUN_EXPERIMENT="$WORK/ctk-experiment.json"   # written after chaos's probe count is known
CTK_ARGV=("$VENV/bin/chaos" --no-version-check --no-log-file --settings "$WORK/ctk/settings.yaml"
          run --no-verify-tls --journal-path "$WORK/ctk/journal-{pid}.json"
          --var "pid={pid}" --var "health_url=$HEALTH/health/ctk" "$CTK_RUN_EXPERIMENT")
CMD_CTK=$(q "$BENCHCTL" exec "$WORK/c-ctk" "${CTK_ARGV[@]}")

# ---------------------------------------------------------------- preflight: one run each, output kept
say "preflight: chaos runs the experiment once (gate $GATE, probe interval $INTERVAL)"
"$BENCHCTL" next "$WORK/c-chaos" || fail "chaos: cannot start a victim"
p0=$(probes_of chaos)
T0=$EPOCHREALTIME
rc=0; eval "timeout $(left 90) ${CMD_CHAOS}" >"$WORK/chaos-preflight.json" 2>"$WORK/chaos-preflight.err" || rc=$?
T1=$EPOCHREALTIME
p1=$(probes_of chaos)
if ((rc != 0)); then
  cat "$WORK/chaos-preflight.err" >&2; head -c 2000 "$WORK/chaos-preflight.json" >&2
  fail "chaos run exited $rc on its preflight run (0 = passed; 1 failed, 2 inconclusive: with 'no observation before the fault' raise GATE; command: $CMD_CHAOS)"
fi
"$BENCHCTL" check "$WORK/c-chaos" || { cat "$WORK/chaos-preflight.err" >&2; fail "chaos run exited 0 but did not SIGKILL its victim"; }
CHAOS_PROBES=$((p1 - p0))
echo "$T0 $T1" >"$WORK/chaos-preflight.times"
"$VPY" - "$WORK/chaos-preflight.json" <<'EOF' || fail "chaos's preflight verdict is not passed/completed (see above)"
import json, sys
r = json.load(open(sys.argv[1]))
v = r["verdict"]
print(f"   chaos verdict: {v['outcome']} ({r['status']}); {len(r['journal']['samples'])} samples in its journal", file=sys.stderr)
if v["outcome"] != "passed" or r["status"] != "completed":
    print(json.dumps(v, indent=1)[:2000], file=sys.stderr); sys.exit(1)
EOF

CTK_EXTRA=0
if [[ $PROBE_MATCH == 1 ]]; then
  CTK_EXTRA=$((CHAOS_PROBES - 2)); ((CTK_EXTRA >= 0)) || CTK_EXTRA=0
fi
"$VPY" - "$CTK_EXPERIMENT" "$CTK_RUN_EXPERIMENT" "$CTK_EXTRA" <<'EOF'
import copy, json, sys
src, dst, extra = sys.argv[1], sys.argv[2], int(sys.argv[3])
e = json.load(open(src))
probe = e["steady-state-hypothesis"]["probes"][0]
for i in range(1, extra + 1):
    p = copy.deepcopy(probe); p["name"] = f"observe-{i}"; p.pop("tolerance", None)
    e["method"].append(p)
json.dump(e, open(dst, "w"), indent=2)
EOF
say "preflight: Chaos Toolkit runs the experiment once ($((CTK_EXTRA + 2)) probes: hypothesis before and after, $CTK_EXTRA after the kill)"
"$BENCHCTL" next "$WORK/c-ctk" || fail "chaostoolkit: cannot start a victim"
p0=$(probes_of ctk)
rc=0; eval "timeout $(left 60) ${CMD_CTK}" >"$WORK/ctk-preflight.out" 2>&1 || rc=$?
p1=$(probes_of ctk)
((rc == 0)) || { cat "$WORK/ctk-preflight.out" >&2; fail "Chaos Toolkit exited $rc on its preflight run (command: $CMD_CTK)"; }
"$BENCHCTL" check "$WORK/c-ctk" || { cat "$WORK/ctk-preflight.out" >&2; fail "Chaos Toolkit exited 0 but did not SIGKILL its victim"; }
CTK_PROBES=$((p1 - p0))
say "probes per run: chaos $CHAOS_PROBES, Chaos Toolkit $CTK_PROBES"

CHAOS_VERSION=$("$CHAOS" --version 2>/dev/null | head -n1 || true)
CTK_VERSION=$("$VENV/bin/chaos" --version 2>/dev/null | head -n1 || true)
CTK_LIB_VERSION=$("$VPY" -c 'import chaoslib; print(chaoslib.__version__)' 2>/dev/null || true)

# ---------------------------------------------------------------- wall time (hyperfine)
TS=$(date -u +%Y%m%dT%H%M%SZ)
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
OUT="$RESULTS_DIR/run-$TS"
mkdir -p "$OUT"
hf_fail() { # hf_fail LABEL   (call right after the failed command: reads $?)
  local rc=$? d f=""
  ((rc == 124)) && fail "hyperfine ($1) timed out: time budget TIME_LIMIT=${TIME_LIMIT}s"
  for d in "${CONTESTANT_DIRS[@]}"; do [[ -s $d/FAILED ]] && f+="$(basename "$d"): $(cat "$d/FAILED")"$'\n'; done
  fail "hyperfine ($1) failed (a non-zero exit is a run that did not pass). ${f:+Victim check: $f}See the hyperfine output above."
}
say "hyperfine: chaos run (runs=$RUNS warmup=$WARMUP; about $(( (RUNS + WARMUP) * 5 )) s)"
p0=$(probes_of chaos)
timeout "$(left 300)" hyperfine -N --style basic --time-unit millisecond --runs "$RUNS" --warmup "$WARMUP" \
  --export-json "$OUT/hyperfine-chaos.json" \
  -n chaos --prepare "$(q "$BENCHCTL" next "$WORK/c-chaos")" "$CMD_CHAOS" >&2 || hf_fail chaos
"$BENCHCTL" check "$WORK/c-chaos" || hf_fail "last chaos victim check"
echo $(($(probes_of chaos) - p0)) "$((RUNS + WARMUP))" >"$WORK/c-chaos/hf-probes"

say "hyperfine: Chaos Toolkit run (runs=$CTK_RUNS warmup=$CTK_WARMUP)"
p0=$(probes_of ctk)
timeout "$(left 300)" hyperfine -N --style basic --time-unit millisecond --runs "$CTK_RUNS" --warmup "$CTK_WARMUP" \
  --export-json "$OUT/hyperfine-chaostoolkit.json" \
  -n chaostoolkit --prepare "$(q "$BENCHCTL" next "$WORK/c-ctk")" "$CMD_CTK" >&2 || hf_fail chaostoolkit
"$BENCHCTL" check "$WORK/c-ctk" || hf_fail "last Chaos Toolkit victim check"
echo $(($(probes_of ctk) - p0)) "$((CTK_RUNS + CTK_WARMUP))" >"$WORK/c-ctk/hf-probes"

# ---------------------------------------------------------------- peak RSS (GNU time), exact probes per run
say "peak RSS: /usr/bin/time -f %M, $MEM_RUNS runs each"
for c in chaos ctk; do
  d="$WORK/c-$c"; cmd=CMD_CHAOS; [[ $c == ctk ]] && cmd=CMD_CTK
  : >"$d/rss"; : >"$d/probes"
  for ((i = 0; i < MEM_RUNS; i++)); do
    "$BENCHCTL" next "$d" || fail "$c: victim check failed during the RSS runs"
    p0=$(probes_of "$c")
    eval "timeout $(left 90) /usr/bin/time -f '%M %e %U %S' -a -o $(q "$d/rss") ${!cmd}" >/dev/null 2>&1 || fail "$c failed during the RSS runs"
    echo $(($(probes_of "$c") - p0)) >>"$d/probes"
  done
  "$BENCHCTL" check "$d" || fail "$c did not kill its last RSS victim"
done

# ---------------------------------------------------------------- where chaos's seconds go (strace)
: >"$OUT/strace-chaos.txt"
if [[ $STRACE == 1 ]] && command -v strace >/dev/null 2>&1; then
  say "strace -f of one chaos run"
  d="$WORK/c-chaos"
  "$BENCHCTL" next "$d"
  eval "timeout $(left 90) strace -f -ttt -e trace=execve,connect,kill,tgkill,pidfd_send_signal,fsync,fdatasync,exit_group -o $(q "$WORK/strace.t") ${CMD_CHAOS}" \
    >"$WORK/chaos-strace.json" 2>/dev/null || fail "chaos failed under strace"
  "$BENCHCTL" check "$d" || fail "chaos did not kill its victim under strace"
  awk 'NR==1{t0=$2} /connect\(.*AF_UNIX/{next} {printf "%9.3f ms  %s\n", ($2-t0)*1000, substr($0, index($0,$3))}' "$WORK/strace.t" \
    | grep -v -e 'resumed>' -e '+++ exited' \
    | sed -E -e 's/(execve\("[^"]*"), \[.*$/\1, ...)/' \
             -e 's/connect\([0-9]+, \{sa_family=AF_INET, sin_port=htons\(([0-9]+)\), sin_addr=inet_addr\("([^"]+)"\)\}.*/connect(\2:\1)  an HTTP probe/' \
    >"$OUT/strace-chaos.txt" || true
fi

# ---------------------------------------------------------------- every run verified
for c in chaos ctk; do
  d="$WORK/c-$c"
  started=$(wc -l <"$d/victims"); killed=$(wc -l <"$d/killed")
  [[ $started == "$killed" ]] || fail "$c: $started victims started but only $killed verified killed by SIGKILL"
  echo "$killed" >"$d/verified-count"
done
cp "$CHAOS_EXPERIMENT" "$OUT/chaos-experiment.yaml"
cp "$CTK_RUN_EXPERIMENT" "$OUT/chaostoolkit-experiment.json"
cp "$WORK/chaos-preflight.json" "$OUT/chaos-run-record.json"
for c in chaos ctk; do cp "$WORK/c-$c/rss" "$OUT/rss-$c.txt"; cp "$WORK/c-$c/probes" "$OUT/probes-$c.txt"; done
ln -sfn "run-$TS" "$RESULTS_DIR/run-latest"
export OUT WORK CHAOS CHAOS_SOURCE CHAOS_NOTE CHAOS_VERSION CTK_VERSION CTK_LIB_VERSION IS_DEBUG RUNS WARMUP CTK_RUNS CTK_WARMUP \
  MEM_RUNS TS STRICT LOAD_AT_START GATE INTERVAL RECOVER_WITHIN PROBE_MATCH CTK_EXTRA CHAOS_PROBES CTK_PROBES REPO_DIR
export HYPERFINE_VERSION=$(hyperfine --version) PY_VERSION=$("$VPY" -c 'import sys; print(sys.version.split()[0])')
export CHAOS_CMD="${CHAOS_ARGV[*]}" CTK_CMD="${CTK_ARGV[*]}"
"$VPY" - <<'EOF'
import glob, json, os, platform, statistics, sys
E = os.environ
out, work = E["OUT"], E["WORK"]
def die(msg):
    print(f"\nrun.sh: FAILED: {msg}", file=sys.stderr); sys.exit(1)

# --- every run's verdict / journal
n_chaos = 1 + int(E["RUNS"]) + int(E["WARMUP"]) + int(E["MEM_RUNS"]) + (1 if os.path.exists(os.path.join(work, "chaos-strace.json")) else 0)
vpath = os.path.join(work, "chaos-state", "runs", "verdicts.jsonl")
vlines = [json.loads(l) for l in open(vpath) if l.strip()] if os.path.exists(vpath) else []
if len(vlines) != n_chaos:
    die(f"chaos: {n_chaos} runs but {len(vlines)} lines in {vpath}")
def outcome(l):
    v = l.get("verdict", l)
    return (v.get("outcome") if isinstance(v, dict) else v), l.get("status")
bad = [l for l in vlines if outcome(l) != ("passed", "completed")]
if bad:
    die(f"chaos: {len(bad)} run(s) not passed/completed: {json.dumps(bad[0])[:400]}")
journals = sorted(glob.glob(os.path.join(work, "ctk", "journal-*.json")))
n_ctk = 1 + int(E["CTK_RUNS"]) + int(E["CTK_WARMUP"]) + int(E["MEM_RUNS"])
if len(journals) != n_ctk:
    die(f"Chaos Toolkit: {n_ctk} runs but {len(journals)} journals")
for j in journals:
    J = json.load(open(j))
    ss = J.get("steady_states") or {}
    ok = (J.get("status") == "completed" and not J.get("deviated")
          and (ss.get("before") or {}).get("steady_state_met") and (ss.get("after") or {}).get("steady_state_met"))
    kill = [r for r in J.get("run", []) if r["activity"]["name"] == "kill-victim"]
    if not ok or not kill or kill[0].get("status") != "succeeded" or (kill[0].get("output") or {}).get("status") != 0:
        die(f"Chaos Toolkit journal {os.path.basename(j)}: status {J.get('status')}, deviated {J.get('deviated')}, "
            f"steady states {ss}, kill {kill[:1]}")
    obs = [r for r in J.get("run", []) if r["activity"]["name"].startswith("observe-")]
    if any(r.get("status") != "succeeded" or (r.get("output") or {}).get("status") != 200 for r in obs):
        die(f"Chaos Toolkit journal {os.path.basename(j)}: a probe after the kill did not get 200")

# --- numbers
def ms(x): return round(x * 1000, 1)
def hf(name):
    r = json.load(open(os.path.join(out, f"hyperfine-{name}.json")))["results"][0]
    return {"median_ms": ms(r["median"]), "mean_ms": ms(r["mean"]), "stddev_ms": ms(r["stddev"] or 0),
            "min_ms": ms(r["min"]), "max_ms": ms(r["max"]), "runs": len(r["times"]),
            "cpu_user_plus_sys_ms_mean": ms(r["user"] + r["system"])}
C = {"chaos": hf("chaos"), "chaostoolkit": hf("chaostoolkit")}
for name, d in (("chaos", "c-chaos"), ("chaostoolkit", "c-ctk")):
    rows = [l.split() for l in open(os.path.join(work, d, "rss")) if l.strip() and l.split()[0].isdigit()]
    kib = [int(r[0]) for r in rows]
    probes = [int(l) for l in open(os.path.join(work, d, "probes")) if l.strip()]
    hp, hn = map(int, open(os.path.join(work, d, "hf-probes")).read().split())
    C[name].update({"peak_rss_mib_median": round(statistics.median(kib) / 1024, 1), "peak_rss_mib_max": round(max(kib) / 1024, 1),
                    "probes_per_run": probes, "probes_per_run_hyperfine_mean": round(hp / hn, 2),
                    "verified_kills": int(open(os.path.join(work, d, "verified-count")).read())})
ch, ck = C["chaos"], C["chaostoolkit"]
# chaos without its fixed waits: each timed run's wall minus its gate (inject - start) and its recovery
# window (end - verified), from its verdicts.jsonl line (same order as hyperfine's runs)
times = json.load(open(os.path.join(out, "hyperfine-chaos.json")))["results"][0]["times"]
timed = vlines[1 + int(E["WARMUP"]): 1 + int(E["WARMUP"]) + int(E["RUNS"])]
waits = [(l["figures"]["injectedAt"] - l["startedAt"]) + (l["endedAt"] - l["figures"]["verifiedAt"]) for l in timed]
net = [t * 1000 - w for t, w in zip(times, waits)]
ch["fixed_waits_ms_median"] = round(statistics.median(waits), 1)
ch["net_of_fixed_waits_ms_median"] = round(statistics.median(net), 1)
time_ratio = ck["median_ms"] / ch["median_ms"]
mem_ratio = ch["peak_rss_mib_median"] / ck["peak_rss_mib_median"]
cpu_ratio = ck["cpu_user_plus_sys_ms_mean"] / max(ch["cpu_user_plus_sys_ms_mean"], 0.1)

# --- where chaos's seconds go: its own journal (preflight run) and the process's wall clock
rec = json.load(open(os.path.join(work, "chaos-preflight.json")))
t0, t1 = (float(x) * 1000 for x in open(os.path.join(work, "chaos-preflight.times")).read().split())
ev = {}
for e in rec["journal"]["events"]:
    ev.setdefault(e["kind"], e["at"])
def at(k):
    if k not in ev: die(f"chaos journal has no '{k}' event: {list(ev)}")
    return ev[k]
settle_ms = max(3000, 3 * int(float(E["INTERVAL"][:-2]) if E["INTERVAL"].endswith("ms") else float(E["INTERVAL"][:-1]) * 1000))
steps = [
    ("process start -> run start (start-up, exec chaos-remote, parse, plan)", rec["startedAt"] - t0),
    (f"gate (--gate {E['GATE']}): steady state before the kill", at("gateMet") - rec["startedAt"]),
    ("kill (inject)", at("injected") - at("gateMet")),
    ("confirm the victim is gone", at("verified") - at("injected")),
    (f"recovery window (settle {settle_ms / 1000:g} s, checked on 1 s ticks)", rec["endedAt"] - at("verified")),
    ("run end -> process exit (store the journal, verdicts.jsonl, JSON out)", t1 - rec["endedAt"]),
]
breakdown = {"wall_ms": round(t1 - t0, 1), "steps": [{"step": s, "ms": round(v, 1)} for s, v in steps],
             "events": rec["journal"]["events"], "samples": len(rec["journal"]["samples"])}

summary = {
    "benchmark": "bench/run.sh", "utc": E["TS"],
    "machine": {"kernel": platform.release(), "cpus": os.cpu_count(), "loadavg_1min_at_start": float(E["LOAD_AT_START"]),
                "python": E["PY_VERSION"], "hyperfine": E["HYPERFINE_VERSION"]},
    "experiment": {"steps": "http probe (200) -> SIGKILL /bin/sleep 1000 by pid -> http probe (200); verdict + journal",
                   "chaos_gate": E["GATE"], "chaos_recover_within": E["RECOVER_WITHIN"] or "30s (default)", "chaos_probe_interval": E["INTERVAL"], "chaos_settle_ms": settle_ms,
                   "probe_match": E["PROBE_MATCH"] == "1", "ctk_method_probes_after_kill": int(E["CTK_EXTRA"]),
                   "probes_per_run": {"chaos": int(E["CHAOS_PROBES"]), "chaostoolkit": int(E["CTK_PROBES"])},
                   "ctk_probe_spacing": "back to back (Chaos Toolkit has no probe interval)"},
    "chaos": {"bin": E["CHAOS"], "source": E["CHAOS_SOURCE"], "debug_build": E["IS_DEBUG"] == "1", "version": E["CHAOS_VERSION"],
              "note": E["CHAOS_NOTE"], "argv": E["CHAOS_CMD"], "experiment": "chaos-experiment.yaml"},
    "chaostoolkit": {"version": E["CTK_VERSION"], "chaoslib": E["CTK_LIB_VERSION"], "argv": E["CTK_CMD"],
                     "experiment": "chaostoolkit-experiment.json"},
    "runs": {"runs": int(E["RUNS"]), "warmup": int(E["WARMUP"]), "ctk_runs": int(E["CTK_RUNS"]),
             "ctk_warmup": int(E["CTK_WARMUP"]), "mem_runs": int(E["MEM_RUNS"])},
    "wrapper": "every timed command is `benchctl exec DIR PROG ARGS` (reads DIR/pid, substitutes {pid}, execv), hyperfine --shell=none",
    "verified": {"chaos_verdicts_passed": len(vlines), "chaostoolkit_journals_completed": len(journals)},
    "contestants": C,
    "ratios": {"time_chaostoolkit_over_chaos": round(time_ratio, 3), "goal_time_min": 15, "goal_time_met": time_ratio >= 15,
               "rss_chaos_over_chaostoolkit": round(mem_ratio, 3), "goal_rss_max": 0.5, "goal_rss_met": mem_ratio <= 0.5,
               "cpu_chaostoolkit_over_chaos": round(cpu_ratio, 2),
               "time_chaostoolkit_over_chaos_net_of_waits": round(ck["median_ms"] / max(ch["net_of_fixed_waits_ms_median"], 0.1), 2)},
    "chaos_breakdown": breakdown,
}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)

# --- report
note = f"  [{E['CHAOS_NOTE']}]" if E["CHAOS_NOTE"] else ""
print()
print(f"chaos run benchmark  {E['TS']}  ({platform.release()}, {os.cpu_count()} CPUs, load at start {E['LOAD_AT_START']})")
if E["IS_DEBUG"] == "1":
    print("!!! DEBUG build of chaos: NOT representative (use the static release build, or CHAOS_BIN)")
if float(E["LOAD_AT_START"]) > 0.5 * os.cpu_count():
    print("WARNING: the machine was busy (1-min load above half the CPUs): absolute numbers are inflated; rerun when idle")
print(f"chaos: {E['CHAOS']} ({E['CHAOS_SOURCE']}) {E['CHAOS_VERSION']}{note}")
print(f"Chaos Toolkit {E['CTK_VERSION']}, chaostoolkit-lib {E['CTK_LIB_VERSION']}, Python {E['PY_VERSION']}")
print(f"experiment: http probe -> SIGKILL of a fresh /bin/sleep by pid -> http probe; chaos --gate {E['GATE']}, probe every "
      f"{E['INTERVAL']} (settle {settle_ms / 1000:g} s); Chaos Toolkit probes back to back"
      f"{'' if E['PROBE_MATCH'] == '1' else ' (PROBE_MATCH=0: its plain 2 probes)'}")
print()
hdr = f"{'contestant':<14}{'median ms':>11}{'mean ± sd ms':>20}{'min ms':>10}{'CPU ms':>9}{'peak RSS MiB':>14}{'probes/run':>12}{'runs':>6}{'kills ok':>10}"
print(hdr); print("-" * len(hdr))
for name in ("chaos", "chaostoolkit"):
    c = C[name]
    pr = sorted(set(c["probes_per_run"]))
    prs = "/".join(map(str, pr))
    print(f"{name:<14}{c['median_ms']:>11.1f}{c['mean_ms']:>12.1f} ± {c['stddev_ms']:<5.1f}{c['min_ms']:>10.1f}"
          f"{c['cpu_user_plus_sys_ms_mean']:>9.1f}{c['peak_rss_mib_median']:>14.1f}{prs:>12}{c['runs']:>6}{c['verified_kills']:>10}")
print()
R = summary["ratios"]
print(f"chaostoolkit / chaos  = {R['time_chaostoolkit_over_chaos']:>7.3f}x  wall time  (goal >= 15x: {'MET' if R['goal_time_met'] else 'MISSED'})")
print(f"chaos / chaostoolkit  = {R['rss_chaos_over_chaostoolkit']:>7.3f}x  peak RSS   (goal <= 0.5: {'MET' if R['goal_rss_met'] else 'MISSED'})")
print(f"chaostoolkit / chaos  = {R['cpu_chaostoolkit_over_chaos']:>7.2f}x  CPU time (user+sys), informational")
print(f"chaostoolkit / chaos  = {R['time_chaostoolkit_over_chaos_net_of_waits']:>7.2f}x  wall time with chaos's fixed waits taken out "
      f"(gate + recovery window: median {ch['fixed_waits_ms_median']:.0f} of its {ch['median_ms']:.0f} ms), informational")
print(f"verified: {len(vlines)} chaos verdicts passed/completed, {len(journals)} Chaos Toolkit journals completed, "
      f"every victim died of SIGKILL")
print()
print(f"where chaos's seconds go (one run, {breakdown['wall_ms']:.0f} ms wall, from its journal's timestamps):")
for s in breakdown["steps"]:
    print(f"  {s['step']:<72}{s['ms']:>9.1f} ms")
st = open(os.path.join(out, "strace-chaos.txt")).read().splitlines()
if st:
    print("  strace -f (one run; strace slows every syscall; see strace-chaos.txt):")
    for line in st[:24]: print("    " + line[:120])
    if len(st) > 24: print(f"    ... {len(st) - 24} more lines")
print()
print(f"results: {out}/ (summary.json, hyperfine-*.json, rss-*.txt, probes-*.txt, chaos-run-record.json, strace-chaos.txt, both experiments)")
if E["STRICT"] == "1" and not (R["goal_time_met"] and R["goal_rss_met"]):
    raise SystemExit(3)
EOF
