#!/usr/bin/env bash
# bench/net.sh — network faults: how long they take to inject and to revert (next to the raw
# nft/tc/iptables commands that apply the same rules), and how faithfully the packet faults act on
# real traffic.
#
# Usage: bench/net.sh [timing|accuracy|all] [--help]      (or MODE=timing|accuracy|all; default all:
#        both parts, one after the other; the exit status is non-zero when either fails)
#
# == timing ==
# For each network fault (blackhole, reject, loss, delay, corrupt, duplicate, bandwidth, partition,
# dns), in one run and inside a throwaway network namespace (a veth pair to a second namespace,
# 10.77.200.1 <-> 10.77.200.2; nothing on the machine's own interfaces is touched), it times:
#   inject   `chaos net KIND ARGS --for 10m --detach --output json`: wall time until chaos returns,
#            which is after the rules are in place and verified (and the helper, when the fault has
#            one, runs); checked afterwards: the table `inet chaos_<id>`, the qdisc handle `c4a1:`,
#            or, for the packet engine (delay, corrupt, duplicate here: no netem on this kernel),
#            a `chaos-<id>-o` chain in `iptables-legacy -t mangle -S` and the `chaos _netqueue`
#            process of the fault (the relay's `chaos _relay` likewise)
#   revert   `chaos revert ID`: wall time; checked afterwards: all of it is gone
#   raw add  the exact rules chaos would apply (taken from `--dry-run --output json`, renamed):
#            `nft -f FILE`; `tc qdisc add ...`; for the packet engine the exact restore text, loaded
#            with `iptables-legacy-restore -w 5 --noflush FILE`
#   raw del  `nft delete table inet NAME`; `tc qdisc del dev eth0 root`; for the packet engine
#            `iptables-legacy -t mangle -D OUTPUT ...`, `-F CHAIN`, `-X CHAIN` (what chaos runs)
#   plan     `chaos net KIND ARGS --dry-run`: chaos's start-up and planning alone
# The raw rows are the kernel state only: chaos's inject of delay/corrupt/duplicate also starts the
# packet engine and waits until it has bound its queue (the relay: until it listens), which has no
# raw equivalent. Medians over RUNS runs (after WARMUP untimed runs), timed with bash's
# $EPOCHREALTIME (no fork in the measurement). The script re-executes itself inside the namespace,
# so no `ip netns exec` cost is in any number. At the end the namespace's `nft list ruleset`,
# `tc qdisc show`, `iptables-legacy -t mangle -S`, `ip6tables-legacy -t mangle -S` and
# /proc/net/netfilter/nfnetlink_queue must be byte-identical to the start, or the script fails.
#
# == accuracy ==
# Real traffic through the faults, in two throwaway namespaces A (10.77.201.1: chaos and the
# clients) and B (10.77.201.2: bench/netprobe.py's UDP and TCP echo servers), joined by a veth pair.
# UDP: N datagrams paced at R per second, RTT from the send to the kernel's receive timestamp of the
# echo. Measured, each fault injected with `chaos net ... --detach --output json` inside A and
# checked (verified "active", the mechanism named, the engine process alive and its queue bound,
# or the nft table present; all gone after revert):
#   baseline      no fault, 1,000 and 10,000 datagrams/s
#   delay 50ms    error of RTT - baseline median - 50 ms at p50 and p99, at 100, 1k and 10k/s;
#                 out-of-order echoes (must be 0) and losses (must be 0)
#   jitter        delay 50ms --jitter 10ms at 1k/s and 100/s: the delay's p1..p99 and stdev next to a
#                 uniform 40..60 ms (stdev 5.77 ms); out-of-order (per-flow order kept: must be 0)
#   loss 30%      nft, egress on the sender only (the echoes are not lossy): the share lost over
#                 10,000 datagrams must be 27..33 %
#   reorder       --packets 25 --delay 20ms: share not delayed (must be 20..30 %), out-of-order > 0
#   corrupt 5%, duplicate 5%: share lost / duplicated (must be 3..7 %)
#   engine CPU    utime+stime of the `chaos _netqueue` process (/proc/PID/stat) across the 1k and 10k
#                 runs: % of one core, per 10k packets/s and per packet (only the client's outgoing
#                 datagrams pass the engine: the rule is egress)
#   TCP           one connection opened AFTER inject, TCP_ROUNDS request/response round trips under
#                 delay 50ms: error p50/p99 for the engine (port 7001) and the relay
#                 (CHAOS_NO_PACKET_QUEUE=1, port 7002), run side by side, and their CPU; and
#                 connections opened BEFORE inject: delayed by the engine, not by the relay (shown
#                 twice: when conntrack was not yet tracking the connection, as in a fresh
#                 namespace, and when it was, as on a host with any stateful firewall rule)
#   netem         whether `tc qdisc add dev lo root netem delay 1ms` works in a throwaway namespace;
#                 if it does, chaos picks netem for the packet faults (there is no switch to force
#                 the engine or the relay then): the rows name netem, the engine's checks and CPU and
#                 the relay's rows are skipped (this branch has not run: no netem here)
# A failed check is listed as FAILED (exit 1); the other checks are still reported.
# At the end namespace A's rules, queues and chaos processes must be as at the start.
#
# Environment (all optional):
#   CHAOS_BIN     chaos executable; default: .build-static/release/chaos (the shipped form: static
#                 Swift runtime; build it with `swift build -c release --product chaos
#                 --static-swift-stdlib --scratch-path .build-static`) when it has the packet engine
#                 (`chaos _netqueue`), else .build/debug/chaos
#   RUNS=10 WARMUP=1  (timing) timed and untimed runs per fault and contestant
#   FAULTS        (timing) space-separated subset (default: blackhole reject loss delay corrupt
#                 duplicate bandwidth partition dns; reorder is also known)
#   N1K=3000 N10K=20000  (accuracy) datagrams of the 1k/s and 10k/s UDP runs
#   TCP_ROUNDS=1000 PRE_ROUNDS=100  (accuracy) round trips of the connections opened after/before
#   RESULTS_DIR   default bench/results; timing writes RESULTS_DIR/net-<UTC time>/ (samples.csv,
#                 summary.txt, summary.json) and points RESULTS_DIR/net-latest at it; accuracy writes
#                 RESULTS_DIR/netacc-<UTC time>/ (summary.txt, summary.json, every probe's JSON with
#                 per-datagram RTTs, every inject's JSON, env.txt) and RESULTS_DIR/netacc-latest
#   TIME_LIMIT=300  seconds for each part's measurement; the part fails when spent
# Needs: root, ip, nft, tc, iptables-legacy, jq (installed with apt-get when missing),
# /usr/bin/python3 (accuracy). Network: none (apt only if jq is missing). Runtime: timing about
# 20-40 s, accuracy about 100 s with the defaults.
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
MODE=${MODE:-all}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  timing|accuracy|all) MODE=$1 ;;
  "") ;;
  --inner) MODE=inner ;;
  *) echo "net.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
case $MODE in timing|accuracy|all|inner) ;; *) echo "net.sh: MODE must be timing, accuracy or all" >&2; exit 2 ;; esac

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
RUNS=${RUNS:-10}; WARMUP=${WARMUP:-1}; TIME_LIMIT=${TIME_LIMIT:-300}
N1K=${N1K:-3000}; N10K=${N10K:-20000}; TCP_ROUNDS=${TCP_ROUNDS:-1000}; PRE_ROUNDS=${PRE_ROUNDS:-100}
FAULTS=${FAULTS:-blackhole reject loss delay corrupt duplicate bandwidth partition dns}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}
PY=/usr/bin/python3
for v in RUNS WARMUP TIME_LIMIT N1K N10K TCP_ROUNDS PRE_ROUNDS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "net.sh: $v must be a number" >&2; exit 2; }
done
((RUNS >= 1 && N1K >= 100 && N10K >= 100 && TCP_ROUNDS >= 10 && PRE_ROUNDS >= 10)) ||
  { echo "net.sh: RUNS >= 1, N1K and N10K >= 100, TCP_ROUNDS and PRE_ROUNDS >= 10" >&2; exit 2; }
for f in $FAULTS; do
  case $f in blackhole|reject|loss|delay|corrupt|duplicate|reorder|bandwidth|partition|dns) ;;
    *) echo "net.sh: unknown fault '$f' in FAULTS" >&2; exit 2 ;; esac
done

say() { printf '== %s\n' "$*" >&2; }
fail() { printf '\nnet.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# ================================================================ all: both parts in turn
if [[ $MODE == all ]]; then
  rc_t=0; rc_a=0
  say "part 1 of 2: timing"
  bash "$0" timing || rc_t=$?
  say "part 2 of 2: accuracy"
  bash "$0" accuracy || rc_a=$?
  ((rc_t == 0 && rc_a == 0)) && exit 0
  echo "net.sh: timing exited $rc_t, accuracy exited $rc_a" >&2
  exit 1
fi

# The timing lab: A (where chaos runs, eth0 = 10.77.200.1) and its peer B (10.77.200.2).
ADDR_A=10.77.200.1
ADDR_B=10.77.200.2

# Arguments of each fault (after `chaos net`), scoped like a real use.
fault_args() {
  case $1 in
    blackhole) echo "blackhole --to $ADDR_B --ports 6379" ;;
    reject)    echo "reject --ports 5432" ;;
    loss)      echo "loss --percent 30 --ports 8080" ;;
    delay)     echo "delay --delay 200ms --jitter 20ms --to $ADDR_B --ports 6379" ;;
    corrupt)   echo "corrupt --packets 5 --to $ADDR_B" ;;
    duplicate) echo "duplicate --packets 5 --to $ADDR_B" ;;
    reorder)   echo "reorder --packets 25 --delay 20ms --to $ADDR_B" ;;
    bandwidth) echo "bandwidth --rate 1mbit --interface eth0" ;;
    partition) echo "partition --between $ADDR_A --and $ADDR_B" ;;
    dns)       echo "dns --to $ADDR_B" ;;
  esac
}

# helper_pid NAME ID [NS]: pid of the live `chaos NAME --fault-id ID` process (zombies have no
# cmdline, so a reaped-late helper counts as gone); with NS, only processes of that namespace.
helper_pid() {
  local name=$1 id=$2 ns=${3:-} f pids=() p argv
  if [[ -n $ns ]]; then pids=($(ip netns pids "$ns" 2>/dev/null)); else
    for f in /proc/[0-9]*; do pids+=("${f#/proc/}"); done; fi
  for p in "${pids[@]}"; do
    { mapfile -d '' -t argv < "/proc/$p/cmdline"; } 2>/dev/null || continue     # no fork per process
    if [[ " ${argv[*]} " == *" $name --fault-id $id "* ]]; then echo "$p"; return 0; fi
  done
  return 1
}

# =============================================================== timing, inside the namespace
if [[ $MODE == inner ]]; then
  : "${CHAOS_BIN:?}" "${WORK:?}" "${OUT:?}"
  export CHAOS_STATE_DIR=$WORK/state
  START=$SECONDS
  check_time() { ((SECONDS - START < TIME_LIMIT)) || fail "TIME_LIMIT=$TIME_LIMIT s spent"; }
  snapshot() {
    nft list ruleset; echo "# tc"; tc qdisc show
    echo "# iptables-legacy -t mangle -S"; iptables-legacy -w 5 -t mangle -S 2>&1 || true
    echo "# ip6tables-legacy -t mangle -S"; ip6tables-legacy -w 5 -t mangle -S 2>&1 || true
    # absent until the module is first used: absent and empty read the same
    echo "# nfnetlink_queue"; cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null || true
  }
  table_exists() { nft list table inet "$1" >/dev/null 2>&1; }
  qdisc_is() { tc qdisc show dev eth0 root | grep -q "^qdisc [a-z_]* $1 root"; }
  # chains_exist PREFIX: a chain PREFIX-o / PREFIX-i in the mangle table, IPv4 or IPv6
  # (read whole first: with pipefail, grep -q quitting early would fail the pipeline)
  chains_exist() {
    local s; s=$({ iptables-legacy -w 5 -t mangle -S; ip6tables-legacy -w 5 -t mangle -S; } 2>/dev/null || true)
    grep -q -- "^-N $1-[oi]\$" <<< "$s"
  }
  now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
  # run_cmds FILE: one command per line (words split on blanks; none of ours has quoted arguments)
  run_cmds() { local cmd; while read -r -a cmd; do "${cmd[@]}" || return 1; done < "$1"; }
  # in_place WHO NAME ID: the fault's state is all there (WHO=chaos: its helper process too)
  in_place() {
    case $mech in
      tc)  qdisc_is c4a1: ;;
      nft) table_exists "$2" ;;
      ipt) chains_exist "$2" ;;
    esac || return 1
    [[ $1 == raw || -z $helper ]] || helper_pid "$helper" "$3" > /dev/null
  }
  # all_gone WHO NAME ID: none of it is left
  all_gone() {
    case $mech in
      tc)  ! qdisc_is c4a1: ;;
      nft) ! table_exists "$2" ;;
      ipt) ! chains_exist "$2" ;;
    esac || return 1
    [[ $1 == raw || -z $helper ]] || ! helper_pid "$helper" "$3" > /dev/null
  }

  snapshot > "$WORK/before.txt"
  echo "fault,contestant,run,inject_us,revert_us" > "$OUT/samples.csv"
  printf 'fault\tmechanism\traw\n' > "$OUT/mechanisms.tsv"
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
    mechanism=$(jq -r '.actions[0] | capture("^mechanism: (?<m>[^:(]*[^:( ])").m // "nft"' "$WORK/dry.json")
    helper=$(jq -r '[.actions[] | select(startswith("start helper: chaos _")) | split(" ")[3]][0] // ""' "$WORK/dry.json")
    : > "$WORK/$kind.add"; : > "$WORK/$kind.del"; raw_name=""; raw_desc=""
    if [[ $kind == bandwidth ]]; then
      mech=tc; mechanism="tc tbf"
      jq -r '.actions[0]' "$WORK/dry.json" > "$WORK/$kind.add"
      read -r -a a < "$WORK/$kind.add"
      [[ ${a[0]} == tc && ${a[1]} == qdisc && ${a[2]} == add ]] || fail "$kind: unexpected action ${a[*]}"
      echo "tc qdisc del dev eth0 root" > "$WORK/$kind.del"
      raw_desc="tc qdisc add (exact argv) / tc qdisc del dev eth0 root"
    elif jq -e '[.actions[] | select(test("^ip6?tables-legacy-restore "))] | length > 0' "$WORK/dry.json" > /dev/null; then
      # The packet engine through iptables-legacy: "iptables-legacy-restore -w 5 --noflush <<EOF\n*mangle\n...\nCOMMIT\nEOF"
      mech=ipt
      for bin in iptables-legacy ip6tables-legacy; do
        jq -r --arg b "$bin-restore " '[.actions[] | select(startswith($b))][0] // empty | sub("^[^\n]*\n"; "") | sub("\nEOF$"; "")' \
          "$WORK/dry.json" > "$WORK/$kind.$bin.rules"
        [[ -s $WORK/$kind.$bin.rules ]] || continue
        # rename chaos-<id>-o/-i to rawbench-<id>-o/-i: the raw rules never collide with chaos's
        sed -i 's/\bchaos-\([A-Za-z0-9_]*\)-\([oi]\)\b/rawbench-\1-\2/g' "$WORK/$kind.$bin.rules"
        table=$(sed -n 's/^\*\([a-z]*\)$/\1/p' "$WORK/$kind.$bin.rules" | head -1)
        [[ $table == mangle ]] || fail "$kind: unexpected table '$table' in the restore text: $(cat "$WORK/$kind.$bin.rules")"
        echo "$bin-restore -w 5 --noflush $WORK/$kind.$bin.rules" >> "$WORK/$kind.add"
        # undo as chaos does: unhook (-I HOOK 1 SPEC -> -D HOOK SPEC), then -F and -X each chain
        sed -n "s/^-I \([A-Z]*\) [0-9]* \(.*\)\$/$bin -w 5 -t mangle -D \1 \2/p" "$WORK/$kind.$bin.rules" >> "$WORK/$kind.del"
        sed -n "s/^:\([^ ]*\) .*/$bin -w 5 -t mangle -F \1/p" "$WORK/$kind.$bin.rules" >> "$WORK/$kind.del"
        sed -n "s/^:\([^ ]*\) .*/$bin -w 5 -t mangle -X \1/p" "$WORK/$kind.$bin.rules" >> "$WORK/$kind.del"
        raw_name=$(sed -n 's/^:\(rawbench-[A-Za-z0-9_]*\)-[oi] .*/\1/p' "$WORK/$kind.$bin.rules" | head -1)
      done
      [[ -n $raw_name && -s $WORK/$kind.add ]] || fail "$kind: no chain in the dry run's restore text: $(cat "$WORK/dry.json")"
      grep -q -- ' -D ' "$WORK/$kind.del" || fail "$kind: the restore text hooks no chain (no -I line)"
      raw_desc="iptables-legacy-restore --noflush (exact text) / iptables-legacy -D, -F, -X"
    elif jq -e '[.actions[] | select(startswith("nft -f -"))] | length > 0' "$WORK/dry.json" > /dev/null; then
      # the filters: actions[0] is "nft -f - (...):\n<program>"; the relay: "nft -f -:\n<program>"
      mech=nft
      jq -r '[.actions[] | select(startswith("nft -f -"))][0] | sub("^[^\n]*\n"; "")' "$WORK/dry.json" > "$WORK/$kind.nft"
      raw_name=$(sed -n 's/^table inet \([a-z0-9_]*\) {$/\1/p' "$WORK/$kind.nft" | head -1)
      [[ -n $raw_name ]] || fail "$kind: no nft program in the dry run's actions: $(cat "$WORK/dry.json")"
      raw_name=${raw_name/chaos_/rawbench_}
      sed -i "s/^table inet chaos_[a-z0-9_]* {$/table inet $raw_name {/" "$WORK/$kind.nft"
      echo "nft -f $WORK/$kind.nft" > "$WORK/$kind.add"; echo "nft delete table inet $raw_name" > "$WORK/$kind.del"
      raw_desc="nft -f FILE / nft delete table"
    else
      FAILED+=("$kind: mechanism '$mechanism' is not one this bench knows how to check: $(jq -c .actions "$WORK/dry.json" | head -c 300)")
      say "  unknown mechanism, skipping $kind"; continue
    fi
    [[ -z $helper ]] || raw_desc+="; the rules only (no $helper)"
    printf '%s\t%s\t%s\n' "$kind" "$mechanism" "$raw_desc" >> "$OUT/mechanisms.tsv"

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
      case $mech in
        ipt) name=chaos-${id//[^a-zA-Z0-9]/_} ;;
        *)   name=chaos_${id//-/_} ;;
      esac
      in_place chaos "$name" "$id" || fail "$kind: chaos returned but not all of $id is in place (rules${helper:+ and $helper})"
      t2=$(now_us)
      timeout 30 "$CHAOS_BIN" revert "$id" > "$WORK/revert.out" 2>&1 || fail "$kind: chaos revert $id failed: $(cat "$WORK/revert.out")"
      t3=$(now_us)
      all_gone chaos "$name" "$id" || fail "$kind: chaos revert $id returned but the rules${helper:+ or $helper} are still there"
      if ((i >= 1)); then echo "$kind,chaos,$i,$((t1 - t0)),$((t3 - t2))" >> "$OUT/samples.csv"; fi

      # raw: the same rules by hand
      t0=$(now_us); run_cmds "$WORK/$kind.add" || fail "$kind: $(cat "$WORK/$kind.add") failed"; t1=$(now_us)
      in_place raw "$raw_name" "" || fail "$kind: $(cat "$WORK/$kind.add") left nothing"
      t2=$(now_us); run_cmds "$WORK/$kind.del" || fail "$kind: $(cat "$WORK/$kind.del") failed"; t3=$(now_us)
      all_gone raw "$raw_name" "" || fail "$kind: $(cat "$WORK/$kind.del") left the rules"
      if ((i >= 1)); then echo "$kind,raw,$i,$((t1 - t0)),$((t3 - t2))" >> "$OUT/samples.csv"; fi

      # plan: start-up + capability probe + planning, nothing applied
      t0=$(now_us); "$CHAOS_BIN" net "${args[@]}" --for 10m --dry-run > /dev/null; t1=$(now_us)
      if ((i >= 1)); then echo "$kind,plan,$i,$((t1 - t0)),0" >> "$OUT/samples.csv"; fi
    done
  done

  snapshot > "$WORK/after.txt"
  cmp -s "$WORK/before.txt" "$WORK/after.txt" || { diff "$WORK/before.txt" "$WORK/after.txt" >&2 || true; fail "the namespace's ruleset, qdiscs, mangle chains or queues differ from the start"; }
  printf '%s\n' "${FAILED[@]}" > "$OUT/failed.txt"
  exit 0
fi

# =============================================================== common set-up (outside)
[[ $(id -u) == 0 ]] || fail "needs root (network namespaces, nft, tc, iptables)"
for c in ip nft tc iptables-legacy ip6tables-legacy iptables-legacy-restore; do
  command -v "$c" >/dev/null || fail "'$c' is missing (apt-get install iproute2 nftables iptables)"
done
if ! command -v jq >/dev/null; then
  say "installing Debian package jq"
  apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq jq >/dev/null; } || fail "cannot install jq"
fi

# A usable binary has the packet engine (`chaos _netqueue`); an older one (e.g. a static release
# built before it) would bench the old mechanisms.
has_engine() { [[ -x $1 ]] && grep -q -- '--fault-id' <<< "$("$1" _netqueue --help 2>/dev/null)"; }
if [[ -n ${CHAOS_BIN:-} ]]; then
  has_engine "$CHAOS_BIN" || fail "CHAOS_BIN=$CHAOS_BIN has no packet engine ('chaos _netqueue --help' fails)"
else
  for c in "$REPO_DIR/.build-static/release/chaos" "$REPO_DIR/.build/debug/chaos"; do
    if has_engine "$c"; then CHAOS_BIN=$c; break; fi
    [[ -x $c ]] && say "skipping $c: it has no packet engine (built before it? rebuild it)"
  done
  [[ -n ${CHAOS_BIN:-} ]] || fail "no chaos binary with the packet engine: build one (swift build --product chaos) or set CHAOS_BIN"
fi
CHAOS_BIN=$(readlink -f "$CHAOS_BIN")
CHAOS_SRC=$CHAOS_BIN
BIN_TIME=$(stat -c %y "$CHAOS_BIN" | cut -d. -f1)
# private_copy: run a copy kept in WORK, so a rebuild of the binary during the run (another session's
# `swift build`: "Text file busy", or a different binary halfway) cannot touch the measurement
private_copy() {
  cp "$CHAOS_SRC" "$WORK/chaos" && has_engine "$WORK/chaos" || fail "cannot copy $CHAOS_SRC (being rebuilt?)"
  CHAOS_BIN=$WORK/chaos
}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)

# make_lab NS_A NS_B ADDR_A ADDR_B: two namespaces, a veth pair (eth0 in each), lo up
make_lab() {
  ip netns add "$1"; ip netns add "$2"
  ip link add "cb$$${5:-}a" netns "$1" type veth peer name "cb$$${5:-}b" netns "$2"
  ip -n "$1" link set "cb$$${5:-}a" name eth0; ip -n "$2" link set "cb$$${5:-}b" name eth0
  ip -n "$1" addr add "$3/24" dev eth0; ip -n "$2" addr add "$4/24" dev eth0
  local ns; for ns in "$1" "$2"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done
}

# teardown RC: what both parts do at exit (also on failure or Ctrl-C): revert what chaos left in
# namespace A, SIGKILL the processes this script started (STARTED) and those inside its own
# namespaces (guardians, engines, relays, clients, servers), by pid, remove the namespaces and the
# work dir; a failed run's results are kept as OUT-failed.
STARTED=()
teardown() {
  set +e
  if [[ -e /run/netns/$NS_A ]]; then
    ip netns exec "$NS_A" env CHAOS_STATE_DIR="$WORK/state" "$CHAOS_BIN" revert --all > /dev/null 2>&1
  fi
  local pid ns
  for pid in "${STARTED[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for ns in "$NS_A" "$NS_B"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$WORK"
  [[ $1 != 0 && -d $OUT ]] && mv "$OUT" "$OUT-failed" && echo "partial results: $OUT-failed" >&2
}

# =============================================================== timing (outside): set-up, run, report
if [[ $MODE == timing ]]; then
  OUT="$RESULTS_DIR/net-$STAMP"
  mkdir -p "$OUT"
  WORK=$(mktemp -d /tmp/chaos-netbench.XXXXXX)
  NS_A="chaosbench-$$-a"; NS_B="chaosbench-$$-b"
  cleanup() { local rc=$?; teardown "$rc"; exit $rc; }
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  private_copy
  say "chaos: $CHAOS_SRC ($BIN_TIME), run from a copy"
  make_lab "$NS_A" "$NS_B" "$ADDR_A" "$ADDR_B"

  say "measuring: RUNS=$RUNS WARMUP=$WARMUP, faults: $FAULTS"
  timeout $((TIME_LIMIT + 30)) ip netns exec "$NS_A" env CHAOS_BIN="$CHAOS_BIN" WORK="$WORK" OUT="$OUT" RUNS="$RUNS" \
    WARMUP="$WARMUP" TIME_LIMIT="$TIME_LIMIT" FAULTS="$FAULTS" bash "$0" --inner || fail "measurement failed"

  rc=0
  "$PY" - "$OUT" "$CHAOS_SRC" "$RUNS" "$BIN_TIME" <<'EOF' || rc=$?
import csv, json, os, statistics, sys
out, chaos, runs, built = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rows = list(csv.DictReader(open(os.path.join(out, "samples.csv"))))
mechs = {r["fault"]: r for r in csv.DictReader(open(os.path.join(out, "mechanisms.tsv")), delimiter="\t")}
failed = [l for l in open(os.path.join(out, "failed.txt")).read().splitlines() if l.strip()]
order = [f for f in dict.fromkeys(r["fault"] for r in rows)]
def med(fault, who, col):
    v = [int(r[col]) for r in rows if r["fault"] == fault and r["contestant"] == who]
    return statistics.median(v) / 1000 if v else None
summary = {"chaos": chaos, "built": built, "runs": runs, "unit": "ms (median)", "faults": {}, "failed": failed}
lines = []
hdr = f"{'fault':<26} {'chaos inject':>12} {'raw add':>8} {'ratio':>6}   {'chaos revert':>12} {'raw del':>8} {'ratio':>6}   {'chaos plan':>10}"
lines.append(hdr)
lines.append("-" * len(hdr))
for f in order:
    ci, cr = med(f, "chaos", "inject_us"), med(f, "chaos", "revert_us")
    ri, rr = med(f, "raw", "inject_us"), med(f, "raw", "revert_us")
    pl = med(f, "plan", "inject_us")
    m = mechs.get(f, {})
    label = f"{f} ({m.get('mechanism', '?')})"
    summary["faults"][f] = {"mechanism": m.get("mechanism"), "raw": m.get("raw"),
                            "chaosInject": ci, "chaosRevert": cr, "rawAdd": ri, "rawDelete": rr, "chaosPlan": pl,
                            "injectRatio": ci / ri if ri else None, "revertRatio": cr / rr if rr else None}
    lines.append(f"{label:<26} {ci:>12.1f} {ri:>8.1f} {ci/ri:>5.0f}x   {cr:>12.1f} {rr:>8.1f} {cr/rr:>5.1f}x   {pl:>10.1f}")
lines.append("")
lines.append(f"medians of {runs} runs, milliseconds, wall time inside the namespace; raw =")
for raw in dict.fromkeys(m["raw"] for f, m in mechs.items() if f in order):
    kinds = ", ".join(f for f, m in mechs.items() if m["raw"] == raw and f in order)
    lines.append(f"  {kinds}: {raw}")
lines.append("plan = chaos --dry-run of the same fault (start-up, capability probe, planning; nothing applied)")
for l in failed:
    lines.append(f"FAILED {l}")
text = "\n".join(lines)
print(text)
open(os.path.join(out, "summary.txt"), "w").write(f"chaos: {chaos} (built {built})\n" + text + "\n")
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(f"\nresults: {out}/ (samples.csv, mechanisms.tsv, summary.txt, summary.json)")
sys.exit(1 if failed else 0)
EOF
  ((rc == 0)) && ln -sfn "$(basename "$OUT")" "$RESULTS_DIR/net-latest"
  exit $rc
fi

# =============================================================== accuracy
[[ -x $PY ]] || fail "$PY is missing (the accuracy mode's traffic is bench/netprobe.py)"
PROBE=$BENCH_DIR/netprobe.py
[[ -f $PROBE ]] || fail "$PROBE is missing"
ACC_A=10.77.201.1
ACC_B=10.77.201.2
UDP_PORT=7000; TCP_ENGINE_PORT=7001; TCP_RELAY_PORT=7002
OUT="$RESULTS_DIR/netacc-$STAMP"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/chaos-netacc.XXXXXX)
NS_A="chaosacc-$$-a"; NS_B="chaosacc-$$-b"
STARTED=()          # pids of the processes this script started (servers, clients)
cleanup() { local rc=$?; teardown "$rc"; exit $rc; }
trap cleanup EXIT
trap 'exit 130' INT TERM
START=$SECONDS
check_time() { ((SECONDS - START < TIME_LIMIT)) || fail "TIME_LIMIT=$TIME_LIMIT s spent (at: $1)"; }
in_a() { ip netns exec "$NS_A" "$@"; }
chaos_a() { ip netns exec "$NS_A" env CHAOS_STATE_DIR="$WORK/state" "$CHAOS_BIN" "$@"; }
envkv() { printf '%s=%s\n' "$1" "$2" >> "$OUT/env.txt"; }
# cpu_ticks PID: utime + stime (clock ticks) of a live process; fails when it is gone
cpu_ticks() {
  local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }; read -r -a f <<< "$s"          # f[0] is the state (field 3): utime is field 14
  [[ ${f[0]} != Z ]] || return 1
  echo $((f[11] + f[12]))
}
# mangle_a: the mangle table of A, IPv4 and IPv6 (read whole: no early-exit grep in a pipefail pipeline)
mangle_a() { { in_a iptables-legacy -w 5 -t mangle -S; in_a ip6tables-legacy -w 5 -t mangle -S; } 2>/dev/null || true; }
alive() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; [[ ${s:0:1} != Z ]]; }
snapshot_a() {
  in_a nft list ruleset; echo "# tc"; in_a tc qdisc show
  echo "# iptables-legacy -t mangle -S"; in_a iptables-legacy -w 5 -t mangle -S 2>&1 || true
  echo "# ip6tables-legacy -t mangle -S"; in_a ip6tables-legacy -w 5 -t mangle -S 2>&1 || true
  echo "# nfnetlink_queue"; in_a cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null || true
  echo "# chaos processes"
  local p; for p in $(ip netns pids "$NS_A" 2>/dev/null); do
    alive "$p" && tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -o ' _[a-z]* --fault[-id]* [^ ]*' || true
  done
}

# probe NAME ARGS...: run netprobe.py in A, its JSON to OUT/NAME.json
probe() {
  local name=$1 rc=0; shift
  timeout 300 ip netns exec "$NS_A" "$PY" "$PROBE" "$@" > "$OUT/$name.json" 2> "$WORK/$name.err" || rc=$?
  ((rc == 0 || rc == 3)) || fail "netprobe $name ($*) failed (exit $rc): $(head -c 600 "$WORK/$name.err")"
  jq -e .sent "$OUT/$name.json" > /dev/null 2>&1 || fail "netprobe $name printed no result: $(head -c 300 "$OUT/$name.json") $(head -c 300 "$WORK/$name.err")"
  say "  $name: $(jq -c '{sent, received, rate: .rate_achieved, lost, duplicates, out_of_order, error, rtt_p50: .rtt_ms.p50, rtt_p99: .rtt_ms.p99} | with_entries(select(.value != null))' "$OUT/$name.json")"
}
udp() { local name=$1 rate=$2 n=$3 wait=${4:-1.5}; probe "$name" udp --to "$ACC_B" --port "$UDP_PORT" --count "$n" --rate "$rate" --wait "$wait" --rtt-list; }

declare -A FID HPID CHAIN QUEUE MECH
# inject NAME EXPECT [VAR=VALUE ...] -- FAULT ARGS...: chaos net FAULT ARGS --for 10m --detach -o json
# in A, then verify it: verified "active"; the mechanism EXPECT ("nfqueue", "relay", "tc netem" or
# "nft" for the nft filters); the engine running with its queue bound (nfqueue), the relay running
# (relay), the table present (relay, nft).
inject() {
  local name=$1 expect=$2; shift 2
  local envs=(); while [[ $1 != -- ]]; do envs+=("$1"); shift; done; shift
  say "$name: ${envs[*]:+${envs[*]} }chaos net $* --for 10m --detach -o json"
  ip netns exec "$NS_A" env CHAOS_STATE_DIR="$WORK/state" "${envs[@]}" "$CHAOS_BIN" net "$@" --for 10m --detach --output json \
    > "$OUT/inject-$name.json" 2> "$WORK/inject-$name.err" || fail "$name: chaos net $* failed: $(head -c 500 "$WORK/inject-$name.err") $(head -c 500 "$OUT/inject-$name.json")"
  local id verified first
  id=$(jq -r '.id // empty' "$OUT/inject-$name.json"); verified=$(jq -r '.verified // empty' "$OUT/inject-$name.json")
  first=$(jq -r '.actions[0] // ""' "$OUT/inject-$name.json")
  [[ -n $id ]] || fail "$name: no fault id in chaos's output"
  FID[$name]=$id; HPID[$name]=""; CHAIN[$name]=""; QUEUE[$name]=""
  [[ $verified == active ]] || fail "$name: chaos says verified='$verified', not 'active'"
  case $expect in
    nft) [[ $first == "nft -f -"* ]] || fail "$name: expected nft filters, chaos did: ${first:0:200}"; MECH[$name]=nft ;;
    *)   [[ $first == "mechanism: $expect"* ]] || fail "$name: expected mechanism '$expect', chaos did: ${first:0:200}"; MECH[$name]=$expect ;;
  esac
  case $expect in
    nfqueue)
      HPID[$name]=$(helper_pid _netqueue "$id" "$NS_A") || fail "$name: no 'chaos _netqueue --fault-id $id' process in $NS_A"
      QUEUE[$name]=$(sed -n 's/^mechanism: nfqueue: .* on queue \([0-9]*\),.*/\1/p' <<< "$first")
      [[ -n ${QUEUE[$name]} ]] || fail "$name: no queue number in '$first'"
      in_a cat /proc/net/netfilter/nfnetlink_queue | awk -v q="${QUEUE[$name]}" '$1 == q {f=1} END {exit !f}' ||
        fail "$name: queue ${QUEUE[$name]} is not bound (nfnetlink_queue: $(in_a cat /proc/net/netfilter/nfnetlink_queue | tr '\n' ';'))"
      CHAIN[$name]=chaos-${id//[^a-zA-Z0-9]/_}
      if jq -e '[.actions[] | select(test("^ip6?tables-legacy-restore "))] | length > 0' "$OUT/inject-$name.json" > /dev/null; then
        grep -q -- "^-N ${CHAIN[$name]}-[oi]\$" <<< "$(mangle_a)" || fail "$name: no ${CHAIN[$name]}-o/-i chain in the mangle table"
      else
        CHAIN[$name]=""    # the nft backend of the queue: a table
        in_a nft list table inet "chaos_${id//-/_}" > /dev/null 2>&1 || fail "$name: no table inet chaos_${id//-/_}"
      fi ;;
    relay)
      HPID[$name]=$(helper_pid _relay "$id" "$NS_A") || fail "$name: no 'chaos _relay --fault-id $id' process in $NS_A"
      in_a nft list table inet "chaos_${id//-/_}" > /dev/null 2>&1 || fail "$name: no table inet chaos_${id//-/_}" ;;
    nft)
      in_a nft list table inet "chaos_${id//-/_}" > /dev/null 2>&1 || fail "$name: no table inet chaos_${id//-/_}" ;;
  esac
  envkv "inject.$name" "$id ${MECH[$name]// /_} helper=${HPID[$name]:-none} queue=${QUEUE[$name]:-none}"
}
# revert NAME: chaos revert ID, then everything of it must be gone
revert() {
  local name=$1 id=${FID[$1]} i
  chaos_a revert "$id" > "$WORK/revert-$name.out" 2>&1 || fail "$name: chaos revert $id failed: $(cat "$WORK/revert-$name.out")"
  if [[ -n ${HPID[$name]} ]]; then
    for ((i = 0; i < 40; i++)); do alive "${HPID[$name]}" || break; sleep 0.05; done
    ! alive "${HPID[$name]}" || fail "$name: the helper (pid ${HPID[$name]}) still runs 2 s after 'chaos revert $id' returned"
  fi
  if [[ -n ${CHAIN[$name]} ]]; then
    ! grep -q -- "^-N ${CHAIN[$name]}-" <<< "$(mangle_a)" || fail "$name: chain ${CHAIN[$name]} is still there after revert"
  fi
  if [[ -n ${QUEUE[$name]} ]]; then
    ! in_a cat /proc/net/netfilter/nfnetlink_queue | awk -v q="${QUEUE[$name]}" '$1 == q {f=1} END {exit !f}' ||
      fail "$name: queue ${QUEUE[$name]} is still bound after revert"
  fi
  ! in_a nft list table inet "chaos_${id//-/_}" > /dev/null 2>&1 || fail "$name: table inet chaos_${id//-/_} is still there after revert"
}
# tcp_pre NAME PORT ROUNDS [ARGS...]: a TCP client in A that connects now and starts at $WORK/go
tcp_pre() {
  local name=$1 port=$2 rounds=$3; shift 3
  rm -f "$WORK/$name.ready"
  ip netns exec "$NS_A" "$PY" "$PROBE" tcp --to "$ACC_B" --port "$port" --count "$rounds" \
    --ready-file "$WORK/$name.ready" --go-file "$WORK/go" "$@" > "$OUT/$name.json" 2> "$WORK/$name.err" &
  STARTED+=($!); eval "PID_${name//-/_}=$!"
}
wait_file() { local i; for ((i = 0; i < 200; i++)); do [[ -f $1 ]] && return 0; sleep 0.025; done; return 1; }
# tracked NAME PORT: does conntrack in A track the connection of client NAME?
tracked() {
  local lport; lport=$(awk '{print $2}' "$WORK/$1.ready")
  in_a grep -q "sport=$lport dport=$2 " /proc/net/nf_conntrack 2>/dev/null && echo yes || echo no
}
# wait_client NAME: wait for a background client (exit 0, or 3 = its connection broke: in its JSON)
wait_client() {
  local pid rc=0; pid=PID_${1//-/_}; wait "${!pid}" || rc=$?
  ((rc == 0 || rc == 3)) || fail "client $1 failed (exit $rc): $(head -c 400 "$WORK/$1.err")"
  jq -e .sent "$OUT/$1.json" > /dev/null 2>&1 || fail "client $1 printed no result: $(head -c 300 "$WORK/$1.err")"
  say "  $1: $(jq -c '{received, error, rtt_p50: .rtt_ms.p50, rtt_p99: .rtt_ms.p99} | with_entries(select(.value != null))' "$OUT/$1.json")"
}

private_copy
say "chaos: $CHAOS_SRC ($BIN_TIME), run from a copy"
: > "$OUT/env.txt"
envkv chaos "$CHAOS_SRC"; envkv built "$BIN_TIME"
envkv git "$(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo unknown)"
envkv kernel "$(uname -r)"; envkv cpus "$(nproc)"; envkv load "$(cut -d' ' -f1-3 /proc/loadavg)"
envkv python "$("$PY" -c 'import sys; print(sys.version.split()[0])')"; envkv clk_tck "$(getconf CLK_TCK)"
envkv date "$(date -u '+%Y-%m-%d %H:%M UTC')"
envkv n1k "$N1K"; envkv n10k "$N10K"; envkv tcp_rounds "$TCP_ROUNDS"; envkv pre_rounds "$PRE_ROUNDS"

# netem? (a throwaway namespace of its own)
NETEM=0
ip netns add "chaosacc-$$-netem"
if netem_msg=$(ip netns exec "chaosacc-$$-netem" tc qdisc add dev lo root netem delay 1ms 2>&1); then NETEM=1; fi
ip netns del "chaosacc-$$-netem"
envkv netem "$NETEM"; envkv netem_msg "$(tr '\n' ' ' <<< "$netem_msg")"
# Without netem, chaos's packet faults here go through the engine; with it, chaos picks netem (and
# there is no switch to force the engine: the rows then name netem and the engine's checks are skipped).
if ((NETEM)); then PKT="tc netem"; say "netem works here: chaos will use it for the packet faults"; else PKT=nfqueue; fi

make_lab "$NS_A" "$NS_B" "$ACC_A" "$ACC_B" x
ip netns exec "$NS_B" "$PY" "$PROBE" server --bind "$ACC_B" --udp-port "$UDP_PORT" \
  --tcp-port "$TCP_ENGINE_PORT" --tcp-port "$TCP_RELAY_PORT" --ready-file "$WORK/server.ready" > "$WORK/server.log" 2>&1 &
STARTED+=($!); SERVER_PID=$!; disown "$SERVER_PID"     # killed by pid at exit, never waited for
wait_file "$WORK/server.ready" || fail "the echo server did not start: $(cat "$WORK/server.log")"
snapshot_a > "$WORK/before.txt"

# ---------------------------------------------------------------- UDP
check_time baseline
say "baseline (no fault)"
udp base-1k 1000 "$N1K"
udp base-10k 10000 "$N10K"

check_time delay
inject delay "$PKT" -- delay --delay 50ms --to "$ACC_B" --protocol udp --ports "$UDP_PORT"
udp delay-100 100 300
E=${HPID[delay]}
if [[ -n $E ]]; then c0=$(cpu_ticks "$E") || fail "engine $E is gone"; fi
udp delay-1k 1000 "$N1K"
if [[ -n $E ]]; then c1=$(cpu_ticks "$E") || fail "the engine (pid $E) died during the 1k run"; fi
udp delay-10k 10000 "$N10K"
if [[ -n $E ]]; then
  c2=$(cpu_ticks "$E") || fail "the engine (pid $E) died during the 10k run"
  envkv cpu.delay-1k "$((c1 - c0))"; envkv cpu.delay-10k "$((c2 - c1))"
fi
revert delay

check_time jitter
inject jitter "$PKT" -- delay --delay 50ms --jitter 10ms --to "$ACC_B" --protocol udp --ports "$UDP_PORT"
udp jitter-1k 1000 $((N1K * 2 / 3))
udp jitter-100 100 500
revert jitter

check_time loss
inject loss nft -- loss --packets 30 --to "$ACC_B" --protocol udp --ports "$UDP_PORT"
udp loss-10k 10000 10000 0.5
revert loss

check_time reorder
inject reorder "$PKT" -- reorder --packets 25 --delay 20ms --to "$ACC_B" --protocol udp --ports "$UDP_PORT"
udp reorder-1k 1000 "$N1K"
revert reorder

for k in corrupt duplicate; do
  check_time "$k"
  inject "$k" "$PKT" -- "$k" --packets 5 --to "$ACC_B" --protocol udp --ports "$UDP_PORT"
  udp "$k-10k" 10000 10000 0.5
  revert "$k"
done

# ---------------------------------------------------------------- TCP: engine and relay side by side
# side_port SIDE / side_inject NAME SIDE: the engine on port 7001, the relay (CHAOS_NO_PACKET_QUEUE=1)
# on 7002. With netem, chaos never picks the relay (nor the engine): only the first side runs, via netem.
SIDES="engine relay"; ((NETEM == 0)) || SIDES=engine
side_port() { if [[ $1 == engine ]]; then echo "$TCP_ENGINE_PORT"; else echo "$TCP_RELAY_PORT"; fi; }
side_inject() {
  if [[ $2 == engine ]]; then inject "$1" "$PKT" -- delay --delay 50ms --to "$ACC_B" --ports "$TCP_ENGINE_PORT"
  else inject "$1" relay CHAOS_NO_PACKET_QUEUE=1 -- delay --delay 50ms --to "$ACC_B" --ports "$TCP_RELAY_PORT"; fi
}
# clients PREFIX ROUNDS [ARGS...]: one client per side, connected now, started by $WORK/go
clients() {
  local prefix=$1 rounds=$2 side; shift 2
  for side in $SIDES; do tcp_pre "$prefix-$side" "$(side_port "$side")" "$rounds" "$@"; done
  for side in $SIDES; do wait_file "$WORK/$prefix-$side.ready" || fail "client $prefix-$side did not connect: $(head -c 300 "$WORK/$prefix-$side.err")"; done
}
wait_clients() { local side; for side in $SIDES; do wait_client "$1-$side"; done; }

check_time tcp
# Paced like the delayed runs (one round trip, then 50 ms idle): back to back, with hot caches and
# busy CPUs, a round trip is ~0.08 ms faster than after 50 ms of idling, which is not the fault's.
say "TCP baseline: 100 round trips 50 ms apart per port, side by side"
touch "$WORK/go"
clients tcp-base 100 --interval-ms 50
wait_clients tcp-base

# 1. Connections opened before the faults, in a namespace where conntrack has tracked nothing yet.
say "TCP: connections opened before inject (conntrack not tracking them yet)"
rm -f "$WORK/go"
clients pre-fresh "$PRE_ROUNDS"
for side in $SIDES; do envkv "tracked.pre-fresh-$side" "$(tracked "pre-fresh-$side" "$(side_port "$side")")"; done
for side in $SIDES; do side_inject "tcp-$side" "$side"; done
touch "$WORK/go"
wait_clients pre-fresh

# 2. One connection opened after inject per mechanism, TCP_ROUNDS round trips, side by side; CPU.
check_time tcp-after
say "TCP: one connection opened after inject, $TCP_ROUNDS round trips, side by side: $SIDES"
rm -f "$WORK/go"
clients tcp "$TCP_ROUNDS"
declare -A CPU0
for side in $SIDES; do
  [[ -z ${HPID[tcp-$side]} ]] || CPU0[$side]=$(cpu_ticks "${HPID[tcp-$side]}") || fail "the $side helper is gone"
done
t0=${EPOCHREALTIME}
touch "$WORK/go"
wait_clients tcp
t1=${EPOCHREALTIME}
for side in $SIDES; do
  [[ -z ${CPU0[$side]:-} ]] && continue
  c=$(cpu_ticks "${HPID[tcp-$side]}") || fail "the $side helper died during the run"
  envkv "cpu.tcp-$side" $((c - CPU0[$side]))
done
envkv wall.tcp-after "$("$PY" -c "print(round($t1 - $t0, 3))")"
for side in $SIDES; do revert "tcp-$side"; done

# 3. Connections opened before the faults while conntrack already tracks them (a stateful rule of the
#    bench's own is loaded first, as any host firewall would).
check_time tcp-pre-tracked
say "TCP: connections opened before inject (conntrack already tracking)"
printf 'table inet netacc_ct {\n  chain out {\n    type filter hook output priority 0; policy accept;\n    ct state established counter\n  }\n}\n' > "$WORK/ct.nft"
in_a nft -f "$WORK/ct.nft"
rm -f "$WORK/go"
clients pre-ct "$PRE_ROUNDS"
sleep 0.1
for side in $SIDES; do
  envkv "tracked.pre-ct-$side" "$(tracked "pre-ct-$side" "$(side_port "$side")")"
  grep -q "^tracked.pre-ct-$side=yes" "$OUT/env.txt" || fail "conntrack does not track pre-ct-$side although a ct rule is loaded: the premise of this row fails"
done
for side in $SIDES; do side_inject "pre-ct-$side-fault" "$side"; done
touch "$WORK/go"
wait_clients pre-ct
for side in $SIDES; do revert "pre-ct-$side-fault"; done
in_a nft delete table inet netacc_ct

# ---------------------------------------------------------------- leftovers, report
snapshot_a > "$WORK/after.txt"
cmp -s "$WORK/before.txt" "$WORK/after.txt" || { diff "$WORK/before.txt" "$WORK/after.txt" >&2 || true; fail "namespace A's rules, queues or chaos processes differ from the start"; }
alive "$SERVER_PID" || fail "the echo server died"
envkv elapsed_s $((SECONDS - START))

rc=0
"$PY" - "$OUT" <<'EOF' || rc=$?
import json, os, statistics, sys
out = sys.argv[1]
env = {}
for line in open(os.path.join(out, "env.txt")):
    k, _, v = line.rstrip("\n").partition("=")
    env[k] = v
def J(name):
    return json.load(open(os.path.join(out, name + ".json")))
def mech(name):
    v = env.get(f"inject.{name}", "? ?").split()
    return v[1] if len(v) > 1 else "?"
clk = int(env.get("clk_tck", "100"))
rows, checks, failed = [], [], []
summary = {"env": env, "udp": {}, "tcp": {}, "cpu": {}, "checks": checks}

def check(what, ok, detail):
    checks.append({"what": what, "ok": bool(ok), "detail": detail})
    if not ok:
        failed.append(f"{what}: {detail}")
    return "ok" if ok else "FAILED"

def row(what, traffic, result, status="-"):
    rows.append((what, traffic, result, status))

def traffic(r):
    if r["mode"] == "tcp":
        return f"TCP {r['sent']} round trips"
    ach = r.get("rate_achieved")
    s = f"UDP {r['sent']} @ {r['rate_requested']:g}/s"
    if ach and abs(ach - r["rate_requested"]) > 0.02 * r["rate_requested"]:
        s += f" (achieved {ach:.0f}/s)"
    return s

def f2(x): return f"{x:+.2f}"
def pctl(values, p):
    v = sorted(values); k = (len(v) - 1) * p / 100; lo = int(k); hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)

base = {}
for rate, name in ((1000, "base-1k"), (10000, "base-10k")):
    r = J(name); base[rate] = r["rtt_ms"]["p50"]
    st = check(f"baseline {rate}/s", r["lost"] == 0 and r["out_of_order"] == 0 and r["duplicates"] == 0,
               f"lost {r['lost']}, out-of-order {r['out_of_order']}, duplicates {r['duplicates']} (the lab itself must be clean)")
    row("baseline (no fault)", traffic(r),
        f"RTT p50 {r['rtt_ms']['p50']:.3f}  p99 {r['rtt_ms']['p99']:.3f}  max {r['rtt_ms']['max']:.2f} ms; lost {r['lost']}; ooo {r['out_of_order']}", st)
    summary["udp"][name] = {k: r[k] for k in ("sent", "received", "lost", "out_of_order", "rate_achieved", "rtt_ms")}

base[100] = base[1000]      # no baseline run at 100/s: the 1k/s median stands in
for rate, name in ((100, "delay-100"), (1000, "delay-1k"), (10000, "delay-10k")):
    r = J(name); m = mech("delay")
    e50 = r["rtt_ms"]["p50"] - base[rate] - 50; e99 = r["rtt_ms"]["p99"] - base[rate] - 50
    ok = r["out_of_order"] == 0 and r["lost"] == 0 and abs(e50) <= 5
    st = check(f"delay 50ms {rate}/s", ok, f"error p50 {e50:+.2f} ms (|.| <= 5), out-of-order {r['out_of_order']} (0), lost {r['lost']} (0)")
    row(f"delay 50ms [{m}]", traffic(r), f"error p50 {f2(e50)}  p99 {f2(e99)}  max {f2(r['rtt_ms']['max'] - base[rate] - 50)} ms; ooo {r['out_of_order']}; lost {r['lost']}", st)
    summary["udp"][name] = {"mechanism": m, "errorP50Ms": e50, "errorP99Ms": e99, "out_of_order": r["out_of_order"],
                            "lost": r["lost"], "rate_achieved": r["rate_achieved"], "rtt_ms": r["rtt_ms"]}

for rate, name in ((1000, "jitter-1k"), (100, "jitter-100")):
    r = J(name); m = mech("jitter"); b = base[1000]
    d = [x - b for x in r["rtts_ms"] if x is not None]
    sd = statistics.pstdev(d); mean = statistics.fmean(d)
    inside = sum(1 for x in d if 39.5 <= x <= 60.5) / len(d) * 100
    ok = r["out_of_order"] == 0 and sd >= 1.0 and r["lost"] == 0
    st = check(f"jitter {rate}/s", ok, f"out-of-order {r['out_of_order']} (0: per-flow order kept), stdev {sd:.2f} ms (>= 1: jitter applied), lost {r['lost']}")
    ps = "/".join(f"{pctl(d, p):.1f}" for p in (1, 10, 50, 90, 99))
    row(f"delay 50ms ±10ms [{m}]", traffic(r),
        f"delay p1/10/50/90/99 {ps} ms, mean {mean:.1f}, stdev {sd:.2f}; in 40..60: {inside:.0f}%; ooo {r['out_of_order']}", st)
    summary["udp"][name] = {"mechanism": m, "delayMs": {f"p{p}": pctl(d, p) for p in (1, 10, 25, 50, 75, 90, 99)},
                            "meanMs": mean, "stdevMs": sd, "uniformStdevMs": 5.7735, "shareIn40to60": inside / 100,
                            "out_of_order": r["out_of_order"], "lost": r["lost"]}

r = J("loss-10k"); ratio = r["lost"] / r["sent"] * 100
st = check("loss 30%", 27 <= ratio <= 33, f"lost {ratio:.2f}% (27..33)")
row(f"loss 30% [{mech('loss')}]", traffic(r),
    f"lost {ratio:.2f}% ({r['lost']}; {r['send_errors']} refused at send with EPERM); echoes not lossy", st)
summary["udp"]["loss-10k"] = {"lostPercent": ratio, "lost": r["lost"], "send_errors": r["send_errors"], "sent": r["sent"]}

r = J("reorder-1k"); b = base[1000]
got = [x for x in r["rtts_ms"] if x is not None]
undelayed = sum(1 for x in got if x - b < 10) / len(got) * 100
st = check("reorder 25%/20ms", r["out_of_order"] > 0 and 20 <= undelayed <= 30,
           f"out-of-order {r['out_of_order']} (> 0), not delayed {undelayed:.1f}% (20..30)")
row(f"reorder 25% / 20ms [{mech('reorder')}]", traffic(r),
    f"not delayed {undelayed:.1f}%; ooo {r['out_of_order']} echoes; delayed ones p50 {pctl([x - b for x in got if x - b >= 10], 50):.2f} ms", st)
summary["udp"]["reorder-1k"] = {"notDelayedPercent": undelayed, "out_of_order": r["out_of_order"], "lost": r["lost"]}

r = J("corrupt-10k"); share = r["lost"] / r["sent"] * 100
st = check("corrupt 5%", 3 <= share <= 7, f"lost {share:.2f}% (3..7: a flipped bit fails the checksum)")
row(f"corrupt 5% [{mech('corrupt')}]", traffic(r), f"lost {share:.2f}% (discarded by the receiver's checksum); dup {r['duplicates']}", st)
summary["udp"]["corrupt-10k"] = {"lostPercent": share}
r = J("duplicate-10k"); share = r["duplicates"] / r["sent"] * 100
st = check("duplicate 5%", 3 <= share <= 7 and r["lost"] == 0, f"duplicated {share:.2f}% (3..7), lost {r['lost']}")
row(f"duplicate 5% [{mech('duplicate')}]", traffic(r), f"duplicated {share:.2f}%; lost {r['lost']}; ooo {r['out_of_order']}", st)
summary["udp"]["duplicate-10k"] = {"duplicatedPercent": share, "lost": r["lost"]}

# engine CPU
for name, label in (("delay-1k", "1k"), ("delay-10k", "10k")):
    ticks = env.get(f"cpu.{name}")
    if ticks is None:
        row("engine CPU (delay 50ms)", label, "n/a (no engine: netem)")
        continue
    r = J(name); cpu_s = int(ticks) / clk
    dur = r["send_duration_s"] + 0.05
    pct_core = cpu_s / dur * 100
    per10k = pct_core * 10000 / r["rate_achieved"]
    us_pkt = cpu_s / r["sent"] * 1e6
    row("engine CPU (delay 50ms)", f"UDP {r['sent']} @ {r['rate_achieved']:.0f}/s",
        f"{cpu_s:.2f} s CPU in {dur:.2f} s = {pct_core:.1f}% of a core -> {per10k:.1f}% per 10k packets/s; {us_pkt:.1f} µs/packet")
    summary["cpu"][f"engine-{name}"] = {"cpuSeconds": cpu_s, "seconds": dur, "percentOfCore": pct_core,
                                        "percentPer10kPps": per10k, "usPerPacket": us_pkt}

# TCP
sides = ["engine", "relay"] if os.path.exists(os.path.join(out, "tcp-base-relay.json")) else ["engine"]
tb = {who: J(f"tcp-base-{who}")["rtt_ms"]["p50"] for who in sides}
row("TCP baseline (no fault)", traffic(J("tcp-base-engine")) + ", 50 ms apart",
    ", ".join(f"RTT p50 {tb[w]:.3f} ms (port {7001 if w == 'engine' else 7002})" for w in sides))
if "relay" not in sides:
    row("TCP relay", "-", "n/a: netem is present, so chaos never picks the relay (nor the engine); the TCP rows are netem's")
wall = float(env.get("wall.tcp-after", "0") or 0)
for who in sides:
    name = f"tcp-{who}"
    r = J(name); m = mech(name)
    if "error" in r or r["received"] == 0:
        st = check(f"TCP {who}, opened after inject", False, r.get("error", "no round trip"))
        row(f"TCP opened after inject [{m}]", traffic(r), f"BROKEN: {r.get('error')}", st); continue
    e50 = r["rtt_ms"]["p50"] - tb[who] - 50; e99 = r["rtt_ms"]["p99"] - tb[who] - 50
    st = check(f"TCP {who}, opened after inject", abs(e50) <= 5, f"error p50 {e50:+.2f} ms (|.| <= 5)")
    ticks = env.get(f"cpu.{name}")
    cpu = ""
    if ticks is not None and wall:
        cpu_s = int(ticks) / clk
        cpu = f"; CPU of {'_netqueue' if who == 'engine' else '_relay'} {cpu_s:.2f} s ({cpu_s / wall * 100:.2f}% of a core, {cpu_s / r['received'] * 1e6:.0f} µs/round trip)"
        summary["cpu"][name] = {"cpuSeconds": cpu_s, "seconds": wall, "percentOfCore": cpu_s / wall * 100,
                                "usPerRoundTrip": cpu_s / r["received"] * 1e6}
    row(f"TCP opened after inject [{m}]", traffic(r), f"error p50 {f2(e50)}  p99 {f2(e99)} ms{cpu}", st)
    summary["tcp"][name] = {"mechanism": m, "errorP50Ms": e50, "errorP99Ms": e99, "rtt_ms": r["rtt_ms"]}

for cond, label in (("fresh", "conntrack not tracking it"), ("ct", "conntrack tracking it")):
    for who in sides:
        name = f"pre-{cond}-{who}"; r = J(name)
        fault = {"fresh": f"tcp-{who}", "ct": f"pre-ct-{who}-fault"}[cond]
        m = mech(fault); tr = env.get(f"tracked.{name}", "?")
        med = r["rtt_ms"]["p50"] if r.get("rtt_ms") else None
        broken = "error" in r
        res = (f"BROKEN: {r['error']}" if broken else
               f"RTT p50 {med:.2f} ms (baseline {tb[who]:.3f}): {'delayed' if med - tb[who] > 40 else 'not delayed'}")
        if who == "engine":
            st = check(f"TCP engine, opened before inject, {label}", not broken and med - tb[who] > 40,
                       "the engine must delay an established connection" + (f": {r.get('error')}" if broken else f" (p50 {med:.2f} ms)"))
        else:
            # With conntrack off, the connection's next segment is picked up mid-stream as NEW
            # (nf_conntrack_tcp_loose=1): a redirect on 'ct state new' alone sends it to the relay's
            # listening socket, which resets it; only the opening SYN may be redirected.
            st = check(f"TCP relay, opened before inject, {label}", not broken and med - tb[who] < 5,
                       "chaos says connections open before the fault are not delayed; this one was "
                       + (f"broken: {r['error']}" + (" (picked up mid-stream as NEW by conntrack and redirected to the relay?)" if cond == "fresh" else "")
                          if broken else f"at p50 {med:.2f} ms"))
        row(f"TCP opened BEFORE inject [{m}], ct {'on' if tr == 'yes' else 'off' if tr == 'no' else '?'}", traffic(r), res, st)
        summary["tcp"][name] = {"mechanism": m, "conntrackTracked": tr, "error": r.get("error"),
                                "received": r["received"], "rtt_ms": r.get("rtt_ms")}

if env.get("netem") == "1":
    row("netem", "-", "available: chaos picked it for the packet faults above (their rows name it); the engine cannot be forced from the CLI on such a kernel")
else:
    row("netem", "-", f"not available on this kernel (tc qdisc add … netem fails: {env.get('netem_msg', '').strip()})")

w = [max(len(r[i]) for r in rows) for i in range(2)]
hdr = f"{'measurement':<{w[0]}}  {'traffic':<{w[1]}}  {'check':<6}  result"
lines = [f"chaos net accuracy, {env.get('date')}: {env.get('chaos')} (built {env.get('built')}, {env.get('git')})",
         f"kernel {env.get('kernel')}, {env.get('cpus')} CPUs, load at start {env.get('load')}, Python {env.get('python')}; {env.get('elapsed_s')} s",
         "lab: namespace A 10.77.201.1 (chaos, clients) <-veth-> B 10.77.201.2 (netprobe.py echo servers); every fault egress on A",
         "UDP RTT = kernel receive time of the echo - send time; error = RTT - baseline median - delay; ooo = echoes with a",
         "sequence lower than the highest seen; [mechanism] as chaos named it; debug or release: see the binary above",
         "jitter rows: delay = RTT - baseline median (1k/s); a uniform 40..60 ms has p1/10/50/90/99 40.2/42/50/58/59.8, stdev 5.77",
         "delay at 100/s: error against the 1k/s baseline median",
         "TCP: RTT to the kernel's receive timestamp as well; error = RTT - TCP baseline median - 50 ms; engine (port 7001)",
         "and relay (CHAOS_NO_PACKET_QUEUE=1, port 7002) side by side; ct on/off: conntrack was / was not tracking the",
         "connection when the fault came (off: as in a fresh namespace; on: as on a host with any stateful rule)",
         "", hdr, "-" * max(len(hdr), 100)]
for r in rows:
    lines.append(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[3]:<6}  {r[2]}")
lines.append("")
for f in failed: lines.append(f"FAILED {f}")
lines.append(f"all {len(checks)} checks passed" if not failed else f"{len(checks) - len(failed)} of {len(checks)} checks passed")
text = "\n".join(lines)
print("\n" + text)
summary["failed"] = failed
open(os.path.join(out, "summary.txt"), "w").write(text + "\n")
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
print(f"\nresults: {out}/ (summary.txt, summary.json, one JSON per probe and per inject, env.txt)")
sys.exit(1 if failed else 0)
EOF
((rc == 0)) && ln -sfn "$(basename "$OUT")" "$RESULTS_DIR/netacc-latest"
exit $rc
