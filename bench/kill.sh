#!/usr/bin/env bash
# bench/kill.sh — how fast does `chaos kill` kill a fresh process, next to its floor and a peer?
#
# Usage: bench/kill.sh [--help]
#
# In one run, side by side, three contestants each SIGKILL a fresh victim (`/bin/sleep 1000`):
#   /bin/kill      `/bin/kill -KILL PID`                                   (the floor)
#   chaos          `chaos kill --pid PID --signal KILL`                    (the tool under test)
#   chaostoolkit   `chaos run experiment.json` (Chaos Toolkit from PyPI): one method action of type
#                  `process` running `/bin/kill -KILL ${pid}` (bench/chaostoolkit/experiment.json)
# It reports wall time (hyperfine: median, mean, stddev, min), peak RSS (GNU time %M, median of
# MEM_RUNS runs), the ratios chaostoolkit/chaos (goal >= 20x) and chaos//bin/kill (aim <= 3x), and
# where chaos's milliseconds go (start-up vs kill; strace if installed).
#
# Fairness: every timed command is `benchctl exec DIR PROG ARGS...` run by hyperfine with
# --shell=none. benchctl (a small C helper compiled at run time) reads DIR/pid, puts the pid where
# an argument says {pid}, and execv()s PROG: one identical, documented wrapper cost (measured and
# shown as the "wrapper" row), no shell. Before each timed run (warm-ups included) hyperfine's
# --prepare runs `benchctl next DIR`, which first proves the previous victim died of SIGKILL, then
# starts a new one: a keeper process (new session) forks `/bin/sleep 1000`, waits until it has exec'd
# and is asleep, writes its pid, and later waitpid()s it and records how it died. So victims are
# reaped at once by us (not by a slow PID 1), every kill is verified, and a contestant that fails to
# kill aborts the script loudly instead of reporting a fast time. At exit only the victims this
# script started (pid + start time checked) are SIGKILLed and reaped.
#
# Environment (all optional):
#   CHAOS_BIN        chaos executable to test; default: `swift build -c release --product chaos
#                    --static-swift-stdlib --scratch-path .build-static` (how chaos is shipped: a static
#                    Swift runtime halves start-up), then .build-static/release/chaos
#   CHAOS_KILL_ARGS  arguments after the binary, {pid} is replaced (default: kill --pid {pid} --signal KILL)
#   CHAOS_NOTE       free text shown in the table and summary (e.g. "stand-in, not the real chaos")
#   RUNS=30 WARMUP=3         hyperfine runs for /bin/kill, chaos, wrapper and chaos start-up rows
#   CTK_RUNS=20 CTK_WARMUP=3 hyperfine runs for Chaos Toolkit
#   MEM_RUNS=10      GNU time runs per contestant for peak RSS (median)
#   STRACE=1         0 skips the strace breakdown of one chaos kill
#   PYTHON           real Python interpreter for the venv (default: resolved past the pyenv shim)
#   RESULTS_DIR      default bench/results; each run writes RESULTS_DIR/kill-<UTC time>/ and
#                    points RESULTS_DIR/kill-latest at it
#   STRICT=1         exit 3 when a goal (>= 20x, <= 3x) is missed
#   TIME_LIMIT=300   seconds for everything after the build and venv; the script fails when spent
#   KEEP_WORK=1      keep the temporary work directory
# Network: only PyPI, and only when bench/.venv is missing or its pins changed.
# Runtime: about 10 s with the defaults (hard cap TIME_LIMIT), plus first-time venv creation (~20 s)
# and the chaos build when CHAOS_BIN is unset.
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "kill.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
CTK_DIR="$BENCH_DIR/chaostoolkit"
VENV="$BENCH_DIR/.venv"
RUNS=${RUNS:-30}; WARMUP=${WARMUP:-3}
CTK_RUNS=${CTK_RUNS:-20}; CTK_WARMUP=${CTK_WARMUP:-3}
MEM_RUNS=${MEM_RUNS:-10}; STRACE=${STRACE:-1}; STRICT=${STRICT:-0}; TIME_LIMIT=${TIME_LIMIT:-300}
DEFAULT_KILL_ARGS='kill --pid {pid} --signal KILL'
CHAOS_KILL_ARGS=${CHAOS_KILL_ARGS:-$DEFAULT_KILL_ARGS}
CHAOS_NOTE=${CHAOS_NOTE:-}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
for v in RUNS WARMUP CTK_RUNS CTK_WARMUP MEM_RUNS TIME_LIMIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "kill.sh: $v must be a number" >&2; exit 2; }
done
((RUNS >= 2 && CTK_RUNS >= 2 && MEM_RUNS >= 1)) || { echo "kill.sh: RUNS and CTK_RUNS must be >= 2, MEM_RUNS >= 1" >&2; exit 2; }

say() { printf '== %s\n' "$*" >&2; }
fail() { printf '\nkill.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
# shellcheck source=lib/harness.sh
source "$BENCH_DIR/lib/harness.sh"
need_bench_tools

WORK=$(mktemp -d /tmp/chaos-bench-kill.XXXXXX)
BENCHCTL="$WORK/benchctl"
CONTESTANT_DIRS=()
OUT=""
cleanup() {
  local rc=$?
  set +e
  [[ $rc != 0 && -n $OUT && -d $OUT ]] && mv "$OUT" "$OUT-failed" && echo "partial results: $OUT-failed" >&2
  for d in "${CONTESTANT_DIRS[@]}"; do
    [[ -x $BENCHCTL ]] && "$BENCHCTL" reap "$d"
  done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- benchctl (C helper)
# benchctl.c is shared with bench/run.sh (bench/lib/benchctl.c)
[[ -f $BENCH_DIR/lib/benchctl.c ]] || fail "missing $BENCH_DIR/lib/benchctl.c"
cp "$BENCH_DIR/lib/benchctl.c" "$WORK/benchctl.c"
# static when libc.a is there (saves ~0.1 ms of dynamic loading per timed run), else dynamic
"$CC" -O2 -Wall -static -o "$BENCHCTL" "$WORK/benchctl.c" 2>/dev/null || "$CC" -O2 -Wall -o "$BENCHCTL" "$WORK/benchctl.c" \
  || fail "cannot compile the benchctl helper with $CC"

# ---------------------------------------------------------------- contestants
# chaos binary
if [[ -n ${CHAOS_BIN:-} ]]; then
  CHAOS=$(command -v "$CHAOS_BIN" || true)
  [[ -n $CHAOS && -x $CHAOS ]] || fail "CHAOS_BIN=$CHAOS_BIN is not an executable"
  CHAOS_SOURCE="CHAOS_BIN"
else
  say "building chaos: swift build -c release --product chaos --static-swift-stdlib (a clean release build can take ~7 min)"
  if ! (cd "$REPO_DIR" && swift build -c release --product chaos --static-swift-stdlib --scratch-path .build-static) >"$WORK/build.log" 2>&1; then
    tail -n 30 "$WORK/build.log" >&2
    fail "swift build -c release --product chaos --static-swift-stdlib failed (other engineers may be mid-edit). Retry later, or set CHAOS_BIN=/path/to/chaos."
  fi
  CHAOS="$REPO_DIR/.build-static/release/chaos"
  [[ -x $CHAOS ]] || fail "build succeeded but $CHAOS is missing"
  CHAOS_SOURCE="swift build -c release --static-swift-stdlib"
fi
CHAOS=$(readlink -f "$CHAOS")
read -r -a CHAOS_ARGV <<<"$CHAOS_KILL_ARGS"

# Chaos Toolkit venv, from the real interpreter (the pyenv shim costs 100-160 ms per start)
REQ="$CTK_DIR/requirements.txt"
[[ -f $CTK_DIR/experiment.json ]] || fail "missing $CTK_DIR/experiment.json"
ensure_ctk_venv "$VENV" "$REQ" "$WORK/pip.log"
# Chaos Toolkit's own output goes to a temp dir: no log file, no version check, empty settings, journal in WORK
mkdir -p "$WORK/ctk"
CTK_ARGV=("$VENV/bin/chaos" --no-version-check --no-log-file --settings "$WORK/ctk/settings.yaml"
          run --no-verify-tls --journal-path "$WORK/ctk/journal.json" --var "pid={pid}" "$CTK_DIR/experiment.json")

# contestant table: name | dir | argv...
declare -A CMD
NAMES=(/bin/kill chaos chaostoolkit)
mkdir -p "$WORK/c-kill" "$WORK/c-chaos" "$WORK/c-ctk" "$WORK/c-static"
declare -A DIRS=([/bin/kill]="$WORK/c-kill" [chaos]="$WORK/c-chaos" [chaostoolkit]="$WORK/c-ctk")
CONTESTANT_DIRS=("$WORK/c-kill" "$WORK/c-chaos" "$WORK/c-ctk")
q() { local out="" a; for a in "$@"; do out+=" '${a//\'/\'\\\'\'}'"; done; printf '%s' "${out# }"; } # shell-words quoting for hyperfine -N
CMD[/bin/kill]=$(q "$BENCHCTL" exec "$WORK/c-kill" /bin/kill -KILL '{pid}')
CMD[chaos]=$(q "$BENCHCTL" exec "$WORK/c-chaos" "$CHAOS" "${CHAOS_ARGV[@]}")
CMD[chaostoolkit]=$(q "$BENCHCTL" exec "$WORK/c-ctk" "${CTK_ARGV[@]}")
echo 1 >"$WORK/c-static/pid"

# ---------------------------------------------------------------- time budget (after build and venv)
DEADLINE=$((SECONDS + TIME_LIMIT))

# ---------------------------------------------------------------- preflight: each contestant once, output shown
say "preflight: each contestant kills one victim (output shown on failure)"
for n in "${NAMES[@]}"; do
  d=${DIRS[$n]}
  "$BENCHCTL" next "$d" || fail "$n: cannot start a victim"
  if ! eval "timeout $(left 60) ${CMD[$n]}" >"$WORK/preflight.out" 2>&1; then
    cat "$WORK/preflight.out" >&2
    fail "$n exited non-zero on its preflight kill (command: ${CMD[$n]})"
  fi
  "$BENCHCTL" check "$d" || { cat "$WORK/preflight.out" >&2; fail "$n exited 0 but did not SIGKILL its victim"; }
done
CHAOS_STARTUP_ARG=""
for a in --version --help; do
  if "$CHAOS" "$a" >/dev/null 2>&1; then CHAOS_STARTUP_ARG=$a; break; fi
done
CHAOS_VERSION=$("$CHAOS" --version 2>/dev/null | head -n1 || true)
CTK_VERSION=$("$VENV/bin/chaos" --version 2>/dev/null | head -n1 || true)
CTK_LIB_VERSION=$("$VPY" -c 'import chaoslib; print(chaoslib.__version__)' 2>/dev/null || true)

# ---------------------------------------------------------------- wall time (hyperfine)
TS=$(date -u +%Y%m%dT%H%M%SZ)
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
OUT="$RESULTS_DIR/kill-$TS"
mkdir -p "$OUT"
hf_fail() { # hf_fail LABEL   (call right after the failed command: reads $?)
  local rc=$? d f=""
  ((rc == 124)) && fail "hyperfine ($1) timed out: time budget TIME_LIMIT=${TIME_LIMIT}s"
  for d in "${CONTESTANT_DIRS[@]}"; do [[ -s $d/FAILED ]] && f+="$(basename "$d"): $(cat "$d/FAILED")"$'\n'; done
  fail "hyperfine ($1) failed. ${f:+Victim check: $f}See the hyperfine output above."
}
say "hyperfine: /bin/kill, chaos, wrapper floor, chaos start-up (runs=$RUNS warmup=$WARMUP)"
HF_FAST=(hyperfine -N --style basic --time-unit millisecond --runs "$RUNS" --warmup "$WARMUP"
  --export-json "$OUT/hyperfine-fast.json"
  -n /bin/kill     --prepare "$(q "$BENCHCTL" next "$WORK/c-kill")"  "${CMD[/bin/kill]}"
  -n chaos         --prepare "$(q "$BENCHCTL" next "$WORK/c-chaos")" "${CMD[chaos]}"
  -n wrapper       --prepare /bin/true "$(q "$BENCHCTL" exec "$WORK/c-static" /bin/true)")
if [[ -n $CHAOS_STARTUP_ARG ]]; then
  HF_FAST+=(-n "chaos $CHAOS_STARTUP_ARG" --prepare /bin/true "$(q "$BENCHCTL" exec "$WORK/c-static" "$CHAOS" "$CHAOS_STARTUP_ARG")")
fi
timeout "$(left 300)" "${HF_FAST[@]}" >&2 || hf_fail "fast contestants"
{ "$BENCHCTL" check "$WORK/c-kill" && "$BENCHCTL" check "$WORK/c-chaos"; } || hf_fail "last victim check"

say "hyperfine: chaostoolkit (runs=$CTK_RUNS warmup=$CTK_WARMUP)"
timeout "$(left 300)" hyperfine -N --style basic --time-unit millisecond --runs "$CTK_RUNS" --warmup "$CTK_WARMUP" \
  --export-json "$OUT/hyperfine-chaostoolkit.json" \
  -n chaostoolkit --prepare "$(q "$BENCHCTL" next "$WORK/c-ctk")" "${CMD[chaostoolkit]}" >&2 || hf_fail chaostoolkit
"$BENCHCTL" check "$WORK/c-ctk" || hf_fail "last victim check"
CTK_STATUS=$(jq -r '.status // "?"' "$WORK/ctk/journal.json" 2>/dev/null || "$VPY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$WORK/ctk/journal.json")
[[ $CTK_STATUS == completed ]] || fail "Chaos Toolkit journal status is '$CTK_STATUS', not completed"

# ---------------------------------------------------------------- peak RSS (GNU time)
say "peak RSS: /usr/bin/time -f %M, $MEM_RUNS runs each"
for n in "${NAMES[@]}"; do
  d=${DIRS[$n]}
  : >"$d/rss"
  for ((i = 0; i < MEM_RUNS; i++)); do
    "$BENCHCTL" next "$d" || fail "$n: victim check failed during the RSS runs"
    eval "timeout $(left 60) /usr/bin/time -f %M -a -o $(q "$d/rss") ${CMD[$n]}" >/dev/null 2>&1 || fail "$n failed during the RSS runs"
  done
  "$BENCHCTL" check "$d" || fail "$n did not kill its last RSS victim"
done

# every victim started must have been verified killed
for n in "${NAMES[@]}"; do
  d=${DIRS[$n]}
  started=$(wc -l <"$d/victims"); killed=$(wc -l <"$d/killed")
  [[ $started == "$killed" ]] || fail "$n: $started victims started but only $killed verified killed"
  echo "$killed" >"$d/verified-count"
done

# ---------------------------------------------------------------- where chaos's milliseconds go (strace)
STRACE_TXT="$OUT/strace-chaos.txt"
: >"$STRACE_TXT"
if [[ $STRACE == 1 ]] && command -v strace >/dev/null 2>&1; then
  d="$WORK/c-chaos"
  "$BENCHCTL" next "$d"
  eval "strace -f -ttt -e trace=execve,kill,tgkill,tkill,pidfd_open,pidfd_send_signal,waitid,wait4,nanosleep,clock_nanosleep,exit_group -o $(q "$WORK/strace.t") ${CMD[chaos]}" >/dev/null 2>&1 \
    || fail "chaos failed under strace"
  "$BENCHCTL" check "$d"
  "$BENCHCTL" next "$d"
  eval "strace -f -c -w -o $(q "$WORK/strace.c") ${CMD[chaos]}" >/dev/null 2>&1 || fail "chaos failed under strace -c"
  "$BENCHCTL" check "$d"
  {
    echo "# strace -f -ttt (ms since benchctl exec; strace itself slows every syscall)"
    awk 'NR==1{t0=$2} {printf "%8.3f ms  %s\n", ($2-t0)*1000, substr($0, index($0,$3))}' "$WORK/strace.t"
    echo
    echo "# strace -f -c -w (top 15 by wall time spent in the syscall)"
    head -n 17 "$WORK/strace.c"
  } >"$STRACE_TXT"
fi

# ---------------------------------------------------------------- summary
cp "$CTK_DIR/experiment.json" "$OUT/chaostoolkit-experiment.json"
for n in "${NAMES[@]}"; do cp "${DIRS[$n]}/rss" "$OUT/rss-$(basename "${DIRS[$n]}").txt"; done
export OUT CHAOS CHAOS_SOURCE CHAOS_NOTE CHAOS_VERSION CHAOS_KILL_ARGS CHAOS_STARTUP_ARG CTK_VERSION CTK_LIB_VERSION \
  RUNS WARMUP CTK_RUNS CTK_WARMUP MEM_RUNS WORK STRACE_TXT TS STRICT LOAD_AT_START
ln -sfn "kill-$TS" "$RESULTS_DIR/kill-latest"
HYPERFINE_VERSION=$(hyperfine --version)
PY_VERSION=$("$VPY" -c 'import sys; print(sys.version.split()[0])')
export HYPERFINE_VERSION PY_VERSION
"$VPY" - <<'EOF'
import json, os, statistics, platform
E = os.environ
out, work = E["OUT"], E["WORK"]
rows = {}
for f in ("hyperfine-fast.json", "hyperfine-chaostoolkit.json"):
    for r in json.load(open(os.path.join(out, f)))["results"]:
        rows[r["command_name"] if "command_name" in r else r["command"]] = r
# hyperfine 1.15 names results by -n in "command"
def ms(x): return round(x * 1000, 3)
rss_dirs = {"/bin/kill": "c-kill", "chaos": "c-chaos", "chaostoolkit": "c-ctk"}
summary = {
    "benchmark": "bench/kill.sh", "utc": E["TS"],
    "machine": {"kernel": platform.release(), "cpus": os.cpu_count(), "loadavg_1min_at_start": float(E["LOAD_AT_START"]), "python": E["PY_VERSION"], "hyperfine": E["HYPERFINE_VERSION"]},
    "chaos": {"bin": E["CHAOS"], "source": E["CHAOS_SOURCE"], "version": E["CHAOS_VERSION"], "note": E["CHAOS_NOTE"],
              "argv": E["CHAOS_KILL_ARGS"]},
    "chaostoolkit": {"version": E["CTK_VERSION"], "chaoslib": E["CTK_LIB_VERSION"], "experiment": "chaostoolkit-experiment.json"},
    "runs": {"runs": int(E["RUNS"]), "warmup": int(E["WARMUP"]), "ctk_runs": int(E["CTK_RUNS"]),
             "ctk_warmup": int(E["CTK_WARMUP"]), "mem_runs": int(E["MEM_RUNS"])},
    "wrapper": "every timed command is `benchctl exec DIR PROG ARGS` (reads DIR/pid, substitutes {pid}, execv), hyperfine --shell=none",
    "contestants": {},
}
for name, r in rows.items():
    c = {"median_ms": ms(r["median"]), "mean_ms": ms(r["mean"]), "stddev_ms": ms(r["stddev"] or 0),
         "min_ms": ms(r["min"]), "max_ms": ms(r["max"]), "runs": len(r["times"])}
    if name in rss_dirs:
        d = os.path.join(work, rss_dirs[name])
        kib = [int(l) for l in open(os.path.join(d, "rss")) if l.strip().isdigit()]
        c["peak_rss_mib_median"] = round(statistics.median(kib) / 1024, 2)
        c["peak_rss_mib_max"] = round(max(kib) / 1024, 2)
        c["verified_kills"] = int(open(os.path.join(d, "verified-count")).read())
    summary["contestants"][name] = c
C = summary["contestants"]
ratio_ctk = C["chaostoolkit"]["median_ms"] / C["chaos"]["median_ms"]
ratio_floor = C["chaos"]["median_ms"] / C["/bin/kill"]["median_ms"]
summary["ratios"] = {
    "chaostoolkit_over_chaos": round(ratio_ctk, 2), "goal_chaostoolkit_over_chaos_min": 20, "goal_met_chaostoolkit": ratio_ctk >= 20,
    "chaos_over_bin_kill": round(ratio_floor, 2), "aim_chaos_over_bin_kill_max": 3, "aim_met_bin_kill": ratio_floor <= 3,
    "rss_chaostoolkit_over_chaos": round(C["chaostoolkit"]["peak_rss_mib_median"] / C["chaos"]["peak_rss_mib_median"], 2),
    "rss_chaos_over_bin_kill": round(C["chaos"]["peak_rss_mib_median"] / C["/bin/kill"]["peak_rss_mib_median"], 2),
}
startup = E["CHAOS_STARTUP_ARG"] and f"chaos {E['CHAOS_STARTUP_ARG']}"
w = C["wrapper"]["median_ms"]
bd = {"wrapper_floor_ms": w, "bin_kill_minus_wrapper_ms": round(C["/bin/kill"]["median_ms"] - w, 3)}
if startup and startup in C:
    s = C[startup]["median_ms"]
    bd.update({"startup_command": startup, "chaos_startup_minus_wrapper_ms": round(s - w, 3),
               "chaos_kill_minus_startup_ms": round(C["chaos"]["median_ms"] - s, 3)})
summary["chaos_breakdown"] = bd
# the same ratio with the identical wrapper cost taken out of both sides (informational, harsher)
net = (C["chaos"]["median_ms"] - w) / max(C["/bin/kill"]["median_ms"] - w, 1e-3)
summary["ratios"]["chaos_over_bin_kill_net_of_wrapper"] = round(net, 2)
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)

note = f"  [{E['CHAOS_NOTE']}]" if E["CHAOS_NOTE"] else ""
print()
print(f"chaos kill benchmark  {E['TS']}  ({platform.release()}, {os.cpu_count()} CPUs, load at start {E['LOAD_AT_START']})")
if float(E["LOAD_AT_START"]) > 0.5 * os.cpu_count():
    print("WARNING: the machine was busy (1-min load above half the CPUs): absolute numbers are inflated; rerun when idle")
print(f"chaos: {E['CHAOS']} ({E['CHAOS_SOURCE']}) {E['CHAOS_VERSION']}{note}")
print(f"Chaos Toolkit {E['CTK_VERSION']}, chaostoolkit-lib {E['CTK_LIB_VERSION']}, Python {E['PY_VERSION']}")
print()
hdr = f"{'contestant':<16}{'median ms':>11}{'mean ± sd ms':>18}{'min ms':>9}{'peak RSS MiB':>14}{'runs':>6}{'kills ok':>10}"
print(hdr); print("-" * len(hdr))
order = ["/bin/kill", "chaos", "chaostoolkit", "wrapper"] + ([startup] if startup and startup in C else [])
for name in order:
    c = C[name]
    rss = f"{c['peak_rss_mib_median']:.1f}" if "peak_rss_mib_median" in c else "-"
    kills = str(c.get("verified_kills", "-"))
    label = name if name in rss_dirs else f"({name})"
    print(f"{label:<16}{c['median_ms']:>11.2f}{c['mean_ms']:>11.2f} ± {c['stddev_ms']:<5.2f}{c['min_ms']:>9.2f}{rss:>14}{c['runs']:>6}{kills:>10}")
print()
R = summary["ratios"]
print(f"chaostoolkit / chaos   = {R['chaostoolkit_over_chaos']:>7.1f}x  wall (goal >= 20x: {'MET' if R['goal_met_chaostoolkit'] else 'MISSED'});"
      f"  {R['rss_chaostoolkit_over_chaos']:.1f}x peak RSS")
print(f"chaos / /bin/kill      = {R['chaos_over_bin_kill']:>7.2f}x  wall (aim  <= 3x: {'MET' if R['aim_met_bin_kill'] else 'MISSED'});"
      f"  {R['rss_chaos_over_bin_kill']:.1f}x peak RSS")
print(f"                         ({R['chaos_over_bin_kill_net_of_wrapper']:.1f}x with the {w:.2f} ms wrapper taken out of both)")
print()
print("where chaos's milliseconds go (medians):")
lines = [("wrapper floor (benchctl exec -> /bin/true)", w),
         ("/bin/kill beyond the wrapper", bd["bin_kill_minus_wrapper_ms"])]
if "chaos_startup_minus_wrapper_ms" in bd:
    lines += [(f"chaos start-up ({startup}) beyond the wrapper", bd["chaos_startup_minus_wrapper_ms"]),
              (f"chaos kill beyond start-up", bd["chaos_kill_minus_startup_ms"])]
else:
    lines += [("chaos kill beyond the wrapper", round(C["chaos"]["median_ms"] - w, 3))]
for label, v in lines:
    print(f"  {label:<52}{v:8.2f} ms")
st = open(E["STRACE_TXT"]).read()
if st:
    print("  strace (one run; see strace-chaos.txt):")
    trace = [l for l in st.split("\n\n")[0].splitlines() if l.strip() and not l.startswith("#")]
    for line in trace[:12]: print("    " + line[:110])
    if len(trace) > 12: print(f"    ... {len(trace) - 12} more lines")
print()
print(f"results: {out}/ (hyperfine-*.json, summary.json, rss-*.txt, strace-chaos.txt)")
if E["STRICT"] == "1" and not (R["goal_met_chaostoolkit"] and R["aim_met_bin_kill"]):
    raise SystemExit(3)
EOF
