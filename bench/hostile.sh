#!/usr/bin/env bash
# bench/hostile.sh — the agent under hostile load: CLIENTS clients hammer inject/revert/renew/halt with random
# valid and invalid bodies (alias bombs, deep nesting, huge numbers, catastrophic regexes, junk) for SECONDS.
#
#   bench/hostile.sh [--help]    env: SECONDS_RUN (60), CLIENTS (10), PORT (17435),
#                                AGENT_BIN (default .build/release/chaos-agent, else the debug build)
#
# Reports health latency p50/p99/max (asked every 50 ms throughout), the agent's resident memory (max and at
# the end), requests by outcome, and what is left after a final halt: open faults and stopped victims
# (both must be 0). Goals (issue 15): RSS < 64 MiB, health p99 < 50 ms. The agent runs in plaintext on
# 127.0.0.1 with its own state directory; only processes this script started are signalled.
set -euo pipefail
if [[ "${1:-}" == "--help" ]]; then sed -n '2,11p' "$0"; exit 0; fi
cd "$(dirname "$0")/.."
AGENT=${AGENT_BIN:-.build/release/chaos-agent}
[[ -x "$AGENT" ]] || AGENT=.build/debug/chaos-agent
[[ -x "$AGENT" ]] || { echo "build first: swift build -c release --product chaos-agent" >&2; exit 1; }
SECONDS_RUN=${SECONDS_RUN:-60}; CLIENTS=${CLIENTS:-10}; PORT=${PORT:-17435}
state=$(mktemp -d /tmp/chaos-bench-hostile.XXXXXX)
agent=""
cleanup() { [[ -n "$agent" ]] && kill "$agent" 2>/dev/null; wait 2>/dev/null; rm -rf "$state"; }
trap cleanup EXIT
"$AGENT" --plaintext --listen "127.0.0.1:$PORT" --state-dir "$state/agent" >"$state/agent.log" 2>&1 &
agent=$!
for _ in $(seq 200); do curl -fs "127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && break; sleep 0.05; done
echo "agent $AGENT (pid $agent), $CLIENTS clients for $SECONDS_RUN s" >&2
/usr/bin/python3 bench/hostile.py "$PORT" "$agent" "$SECONDS_RUN" "$CLIENTS" "$state" | tee "$state/result.json"
kill -0 "$agent" 2>/dev/null || { echo "the agent died" >&2; tail -20 "$state/agent.log" >&2; exit 1; }
jq -e '.openFaultsAtEnd == 0 and .victimsLeftStopped == 0' "$state/result.json" >/dev/null
