#!/usr/bin/env bash
# bench/net.sh — how long do network faults take to inject and to revert, next to the raw nft/tc
# commands that apply the same rules?
#
# Usage: bench/net.sh [--help]
#
# For each network fault (blackhole, reject, loss, delay, bandwidth, partition, dns), in one run and
# inside a throwaway network namespace (a veth pair to a second namespace; nothing on the machine's
# own interfaces is touched), it times:
#   inject   `chaos net KIND ARGS --for 10m --detach --output json`: wall time until chaos returns,
#            which is after the rules are in place and verified (and, for delay, the relay listens);
#            every inject is checked afterwards: the table `inet chaos_<id>` or the qdisc handle
#            `c4a1:` must exist
#   revert   `chaos revert ID`: wall time; checked afterwards: the table or qdisc is gone
#   nft -f   the exact program chaos would apply (taken from `--dry-run --output json`), loaded with
#            `nft -f FILE`; `nft delete table inet NAME` to remove it (tc: the exact `tc qdisc add`
#            argv, then `tc qdisc del dev eth0 root`), each checked the same way
#   plan     `chaos net KIND ARGS --dry-run`: chaos's start-up and planning alone (capability probe
#            included), to show where chaos's milliseconds go
# Medians over RUNS runs (after WARMUP untimed runs), timed with bash's $EPOCHREALTIME (no fork in
# the measurement). The script re-executes itself inside the namespace, so no `ip netns exec` cost
# is in any number. For delay, chaos's inject also starts the relay and waits until it listens; the
# raw row is only the nft NAT program (the relay has no raw equivalent).
# At the end the namespace's `nft list ruleset` and `tc qdisc show` must be byte-identical to the
# start, or the script fails.
#
# Environment (all optional):
#   CHAOS_BIN     chaos executable; default: .build-static/release/chaos (the shipped form: static
#                 Swift runtime; build it with `swift build -c release --product chaos
#                 --static-swift-stdlib --scratch-path .build-static`) when it has the network
#                 faults, else .build/debug/chaos
#   RUNS=10 WARMUP=1  timed and untimed runs per fault and contestant
#   FAULTS        space-separated subset (default: blackhole reject loss delay bandwidth partition dns)
#   RESULTS_DIR   default bench/results; each run writes RESULTS_DIR/net-<UTC time>/ (samples.csv,
#                 summary.txt, summary.json) and points RESULTS_DIR/net-latest at it
#   TIME_LIMIT=300  seconds for the whole measurement; the script fails when spent
# Needs: root, ip, nft, tc, jq (installed with apt-get when missing). Network: none (apt only if jq
# is missing). Runtime: about 15-30 s with the defaults.
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  ""|--inner) ;;
  *) echo "net.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
RUNS=${RUNS:-10}; WARMUP=${WARMUP:-1}; TIME_LIMIT=${TIME_LIMIT:-300}
FAULTS=${FAULTS:-blackhole reject loss delay bandwidth partition dns}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
for v in RUNS WARMUP TIME_LIMIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "net.sh: $v must be a number" >&2; exit 2; }
done
((RUNS >= 1)) || { echo "net.sh: RUNS must be >= 1" >&2; exit 2; }
for f in $FAULTS; do
  case $f in blackhole|reject|loss|delay|bandwidth|partition|dns) ;; *) echo "net.sh: unknown fault '$f' in FAULTS" >&2; exit 2 ;; esac
done

say() { printf '== %s\n' "$*" >&2; }
fail() { printf '\nnet.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# The lab: A (where chaos runs, eth0 = 10.77.200.1) and its peer B (10.77.200.2).
ADDR_A=10.77.200.1
ADDR_B=10.77.200.2

# Arguments of each fault (after `chaos net`), scoped like a real use.
fault_args() {
  case $1 in
    blackhole) echo "blackhole --to $ADDR_B --port 6379" ;;
    reject)    echo "reject --port 5432" ;;
    loss)      echo "loss --percent 30 --port 8080" ;;
    delay)     echo "delay --delay 200ms --jitter 20ms --to $ADDR_B --port 6379" ;;
    bandwidth) echo "bandwidth --rate 1mbit --interface eth0" ;;
    partition) echo "partition --between $ADDR_A --and $ADDR_B" ;;
    dns)       echo "dns --to $ADDR_B" ;;
  esac
}

# =============================================================== inside the namespace
if [[ ${1:-} == --inner ]]; then
  : "${CHAOS_BIN:?}" "${WORK:?}" "${OUT:?}"
  export CHAOS_STATE_DIR=$WORK/state
  START=$SECONDS
  check_time() { ((SECONDS - START < TIME_LIMIT)) || fail "TIME_LIMIT=$TIME_LIMIT s spent"; }
  snapshot() { nft list ruleset; echo "# tc"; tc qdisc show; }
  table_exists() { nft list table inet "$1" >/dev/null 2>&1; }
  qdisc_is() { tc qdisc show dev eth0 root | grep -q "^qdisc [a-z_]* $1 root"; }
  now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
  # gone KIND NAME: the table (or, for bandwidth, our qdisc handle) is absent
  present() { if [[ $1 == bandwidth ]]; then qdisc_is c4a1:; else table_exists "$2"; fi; }

  snapshot > "$WORK/before.txt"
  echo "fault,contestant,run,inject_us,revert_us" > "$OUT/samples.csv"
  FAILED=()

  for kind in $FAULTS; do
    check_time
    read -r -a args <<< "$(fault_args "$kind")"
    say "$kind: chaos net ${args[*]}"
    # 1. The exact program from a dry run (also a timed "plan" sample each run below).
    if ! "$CHAOS_BIN" net "${args[@]}" --for 10m --dry-run --output json > "$WORK/dry.json" 2> "$WORK/dry.err"; then
      FAILED+=("$kind: dry run failed: $(head -c 300 "$WORK/dry.err" | tr '\n' ' ')")
      say "  dry run failed, skipping $kind"; continue
    fi
    raw_add=(); raw_del=(); raw_name=""
    if [[ $kind == bandwidth ]]; then
      read -r -a raw_add <<< "$(jq -r '.actions[0]' "$WORK/dry.json")"
      [[ ${raw_add[0]} == tc && ${raw_add[1]} == qdisc && ${raw_add[2]} == add ]] || fail "$kind: unexpected action ${raw_add[*]}"
      raw_del=(tc qdisc del dev eth0 root)
    else
      # delay (relay): actions[2] is "nft -f -:\n<program>"; the filters: actions[0] is "nft -f - (...):\n<program>"
      jq -r '[.actions[] | select(startswith("nft -f -"))][0] | sub("^[^\n]*\n"; "")' "$WORK/dry.json" > "$WORK/$kind.nft"
      raw_name=$(sed -n 's/^table inet \([a-z0-9_]*\) {$/\1/p' "$WORK/$kind.nft" | head -1)
      [[ -n $raw_name ]] || fail "$kind: no nft program in the dry run's actions: $(cat "$WORK/dry.json")"
      raw_name=${raw_name/chaos_/rawbench_}
      sed -i "s/^table inet chaos_[a-z0-9_]* {$/table inet $raw_name {/" "$WORK/$kind.nft"
      raw_add=(nft -f "$WORK/$kind.nft"); raw_del=(nft delete table inet "$raw_name")
    fi

    for ((i = 1 - WARMUP; i <= RUNS; i++)); do
      check_time
      # chaos: inject (detached), check, revert, check
      t0=$(now_us)
      if ! timeout 30 "$CHAOS_BIN" net "${args[@]}" --for 10m --detach --output json > "$WORK/inject.json" 2> "$WORK/inject.err"; then
        FAILED+=("$kind: inject failed: $(head -c 300 "$WORK/inject.err" | tr '\n' ' ') $(head -c 300 "$WORK/inject.json" | tr '\n' ' ')")
        say "  chaos inject failed, skipping $kind"; "$CHAOS_BIN" revert --all > /dev/null 2>&1 || true; continue 2
      fi
      t1=$(now_us)
      id=$(jq -r .id "$WORK/inject.json")
      table=chaos_${id//-/_}
      present "$kind" "$table" || fail "$kind: chaos returned but nothing of $id is in place"
      t2=$(now_us)
      timeout 30 "$CHAOS_BIN" revert "$id" > "$WORK/revert.out" 2>&1 || fail "$kind: chaos revert $id failed: $(cat "$WORK/revert.out")"
      t3=$(now_us)
      ! present "$kind" "$table" || fail "$kind: chaos revert $id returned but the rules are still there"
      if ((i >= 1)); then echo "$kind,chaos,$i,$((t1 - t0)),$((t3 - t2))" >> "$OUT/samples.csv"; fi

      # raw: the same rules by hand
      t0=$(now_us); "${raw_add[@]}" || fail "$kind: ${raw_add[*]} failed"; t1=$(now_us)
      present "$kind" "$raw_name" || fail "$kind: ${raw_add[*]} left nothing"
      t2=$(now_us); "${raw_del[@]}" || fail "$kind: ${raw_del[*]} failed"; t3=$(now_us)
      ! present "$kind" "$raw_name" || fail "$kind: ${raw_del[*]} left the rules"
      if ((i >= 1)); then echo "$kind,raw,$i,$((t1 - t0)),$((t3 - t2))" >> "$OUT/samples.csv"; fi

      # plan: start-up + capability probe + planning, nothing applied
      t0=$(now_us); "$CHAOS_BIN" net "${args[@]}" --for 10m --dry-run > /dev/null; t1=$(now_us)
      if ((i >= 1)); then echo "$kind,plan,$i,$((t1 - t0)),0" >> "$OUT/samples.csv"; fi
    done
  done

  snapshot > "$WORK/after.txt"
  cmp -s "$WORK/before.txt" "$WORK/after.txt" || { diff "$WORK/before.txt" "$WORK/after.txt" >&2 || true; fail "the namespace's ruleset or qdiscs differ from the start"; }
  printf '%s\n' "${FAILED[@]}" > "$OUT/failed.txt"
  exit 0
fi

# =============================================================== outside: setup, run, report
[[ $(id -u) == 0 ]] || fail "needs root (network namespaces, nft, tc)"
for c in ip nft tc; do command -v "$c" >/dev/null || fail "'$c' is missing (apt-get install iproute2 nftables)"; done
if ! command -v jq >/dev/null; then
  say "installing Debian package jq"
  apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq jq >/dev/null; } || fail "cannot install jq"
fi

# An old build answers `net blackhole --help` with its root help (exit 0): look for an option of the command.
has_net() { [[ -x $1 ]] && "$1" net blackhole --help 2>/dev/null | grep -q -- '--include-control-port'; }
if [[ -n ${CHAOS_BIN:-} ]]; then
  has_net "$CHAOS_BIN" || fail "CHAOS_BIN=$CHAOS_BIN does not run 'chaos net blackhole --help'"
else
  for c in "$REPO_DIR/.build-static/release/chaos" "$REPO_DIR/.build/debug/chaos"; do
    if has_net "$c"; then CHAOS_BIN=$c; break; fi
    [[ -x $c ]] && say "skipping $c: it has no 'net' faults (built before them? rebuild it)"
  done
  [[ -n ${CHAOS_BIN:-} ]] || fail "no chaos binary with network faults: build one (swift build --product chaos) or set CHAOS_BIN"
fi
CHAOS_BIN=$(readlink -f "$CHAOS_BIN")

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS_DIR/net-$STAMP"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/chaos-netbench.XXXXXX)
NS_A="chaosbench-$$-a"; NS_B="chaosbench-$$-b"
cleanup() {
  local rc=$?
  set +e
  if ip netns list 2>/dev/null | grep -q "^$NS_A\b"; then
    ip netns exec "$NS_A" env CHAOS_STATE_DIR="$WORK/state" "$CHAOS_BIN" revert --all > /dev/null 2>&1
  fi
  for ns in "$NS_A" "$NS_B"; do
    # Only processes inside our own namespaces (guardians, relays): killed by pid.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$WORK"
  [[ $rc != 0 && -d $OUT ]] && mv "$OUT" "$OUT-failed" && echo "partial results: $OUT-failed" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "chaos: $CHAOS_BIN ($(stat -c %y "$CHAOS_BIN" | cut -d. -f1))"
ip netns add "$NS_A"; ip netns add "$NS_B"
ip link add "cb$$a" netns "$NS_A" type veth peer name "cb$$b" netns "$NS_B"
ip -n "$NS_A" link set "cb$$a" name eth0; ip -n "$NS_B" link set "cb$$b" name eth0
ip -n "$NS_A" addr add "$ADDR_A/24" dev eth0; ip -n "$NS_B" addr add "$ADDR_B/24" dev eth0
for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done

say "measuring: RUNS=$RUNS WARMUP=$WARMUP, faults: $FAULTS"
timeout $((TIME_LIMIT + 30)) ip netns exec "$NS_A" env CHAOS_BIN="$CHAOS_BIN" WORK="$WORK" OUT="$OUT" RUNS="$RUNS" \
  WARMUP="$WARMUP" TIME_LIMIT="$TIME_LIMIT" FAULTS="$FAULTS" bash "$0" --inner || fail "measurement failed"

# ---------------------------------------------------------------- report
rc=0
/usr/bin/python3 - "$OUT" "$CHAOS_BIN" "$RUNS" <<'EOF' || rc=$?
import csv, json, os, statistics, sys
out, chaos, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = list(csv.DictReader(open(os.path.join(out, "samples.csv"))))
failed = [l for l in open(os.path.join(out, "failed.txt")).read().splitlines() if l.strip()]
order = [f for f in dict.fromkeys(r["fault"] for r in rows)]
def med(fault, who, col):
    v = [int(r[col]) for r in rows if r["fault"] == fault and r["contestant"] == who]
    return statistics.median(v) / 1000 if v else None
summary = {"chaos": chaos, "runs": runs, "unit": "ms (median)", "faults": {}, "failed": failed}
lines = []
hdr = f"{'fault':<10} {'chaos inject':>12} {'raw add':>8} {'ratio':>6}   {'chaos revert':>12} {'raw del':>8} {'ratio':>6}   {'chaos plan':>10}"
lines.append(hdr)
lines.append("-" * len(hdr))
for f in order:
    ci, cr = med(f, "chaos", "inject_us"), med(f, "chaos", "revert_us")
    ri, rr = med(f, "raw", "inject_us"), med(f, "raw", "revert_us")
    pl = med(f, "plan", "inject_us")
    summary["faults"][f] = {"chaosInject": ci, "chaosRevert": cr, "rawAdd": ri, "rawDelete": rr, "chaosPlan": pl,
                            "injectRatio": ci / ri if ri else None, "revertRatio": cr / rr if rr else None}
    lines.append(f"{f:<10} {ci:>12.1f} {ri:>8.1f} {ci/ri:>5.0f}x   {cr:>12.1f} {rr:>8.1f} {cr/rr:>5.1f}x   {pl:>10.1f}")
raw_kinds = "nft -f FILE / nft delete table (bandwidth: tc qdisc add / tc qdisc del)"
lines.append("")
lines.append(f"medians of {runs} runs, milliseconds, wall time inside the namespace; raw = {raw_kinds}")
lines.append("plan = chaos --dry-run of the same fault (start-up, capability probe, planning; nothing applied)")
for l in failed:
    lines.append(f"FAILED {l}")
text = "\n".join(lines)
print(text)
open(os.path.join(out, "summary.txt"), "w").write(f"chaos: {chaos}\n" + text + "\n")
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(f"\nresults: {out}/ (samples.csv, summary.txt, summary.json)")
sys.exit(1 if failed else 0)
EOF
((rc == 0)) && ln -sfn "$(basename "$OUT")" "$RESULTS_DIR/net-latest"
exit $rc
