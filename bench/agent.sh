#!/usr/bin/env bash
# bench/agent.sh — the agent's footprint and latency, measured on this host.
#
#   bench/agent.sh [--help]        env: AGENT_BIN (default .build-static/release/chaos-agent, else the
#                                  debug build), REQUESTS (10000), FAULTS (50), PORT (17433), IDLE (30 s)
#
# Reports: resident memory (VmRSS, and its anonymous part) right after start and after REQUESTS
# health requests; idle CPU over IDLE seconds after that (utime+stime from /proc, as a percent of one CPU); and the latency of
# inject→active (POST /v1/faults of a pause, answered once the victim is stopped) and revert→gone
# (DELETE), p50 and p99 over FAULTS faults, beside the same fault done locally by `chaos pause
# --detach` + `chaos revert`. The agent runs in plaintext on 127.0.0.1 (TLS would add the
# handshake per connection; the client keeps one connection open). Everything it starts is
# stopped at exit; only processes it started are signalled.
set -euo pipefail
if [[ "${1:-}" == "--help" ]]; then sed -n '2,14p' "$0"; exit 0; fi
cd "$(dirname "$0")/.."
AGENT=${AGENT_BIN:-.build-static/release/chaos-agent}
[[ -x "$AGENT" ]] || AGENT=.build/debug/chaos-agent
CHAOS=$(dirname "$AGENT")/chaos
[[ -x "$AGENT" && -x "$CHAOS" ]] || { echo "build first: swift build -c release --product chaos-agent --static-swift-stdlib --scratch-path .build-static (and --product chaos)" >&2; exit 1; }
REQUESTS=${REQUESTS:-10000}; FAULTS=${FAULTS:-50}; PORT=${PORT:-17433}; IDLE=${IDLE:-30}
PY=$(command -v /usr/bin/python3 || command -v python3)
state=$(mktemp -d /tmp/chaos-bench-agent.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; rm -rf "$state"; }
trap cleanup EXIT

"$AGENT" --plaintext --listen "127.0.0.1:$PORT" --state-dir "$state/agent" >"$state/agent.log" 2>&1 &
agent=$!; pids+=("$agent")
for _ in $(seq 100); do curl -fs "127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && break; sleep 0.05; done
rss() { awk '/VmRSS/ {print $2/1024}' "/proc/$1/status"; }
# RssAnon: memory the agent owns (heap, stacks). RssFile: pages of the executable mapped in (clean
# page cache, shared and droppable; the kernel maps up to 16 pages around each one touched).
anon() { awk '/RssAnon/ {print $2/1024}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_start=$(rss "$agent"); anon_start=$(anon "$agent")

victim=$(mktemp "$state/victim.XXXX"); sleep 100000 & pids+=($!); vpid=$!
"$PY" - "$PORT" "$REQUESTS" "$FAULTS" "$vpid" "$CHAOS" "$state" >"$state/py.json" <<'PYEOF'
import http.client, json, subprocess, sys, time, os
port, requests, faults, vpid, chaos, state = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
t = time.monotonic()
for _ in range(requests):
    c.request("GET", "/v1/health"); r = c.getresponse(); r.read(); assert r.status == 200
health_s = time.monotonic() - t
def state_of(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("State:"): return line.split()[1]
inject, revert = [], []
for i in range(faults):
    body = json.dumps({"idempotencyKey": "b%d" % i, "lease": "30s", "fault": {"type": "process.pause", "duration": "30s"}, "target": {"process": {"pid": vpid}}})
    t = time.monotonic(); c.request("POST", "/v1/faults", body); r = c.getresponse(); data = json.loads(r.read()); inject.append((time.monotonic() - t) * 1000)
    assert r.status == 201 and state_of(vpid) == "T", (r.status, data)
    t = time.monotonic(); c.request("DELETE", "/v1/faults/" + data["id"]); r = c.getresponse(); r.read(); revert.append((time.monotonic() - t) * 1000)
    assert r.status == 200 and state_of(vpid) != "T"
local_inject, local_revert = [], []
env = dict(os.environ, CHAOS_STATE_DIR=state + "/local")
for i in range(faults):
    t = time.monotonic(); out = subprocess.run([chaos, "pause", "--pid", str(vpid), "--for", "30s", "--detach", "--output", "json"], env=env, capture_output=True, check=True); local_inject.append((time.monotonic() - t) * 1000)
    fid = json.loads(out.stdout)["id"]; assert state_of(vpid) == "T"
    t = time.monotonic(); subprocess.run([chaos, "revert", fid], env=env, capture_output=True, check=True); local_revert.append((time.monotonic() - t) * 1000)
    assert state_of(vpid) != "T"
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * p / 100))]
print(json.dumps({"health_rps": requests / health_s,
    "agent_inject_p50": pct(inject, 50), "agent_inject_p99": pct(inject, 99), "agent_revert_p50": pct(revert, 50), "agent_revert_p99": pct(revert, 99),
    "local_inject_p50": pct(local_inject, 50), "local_inject_p99": pct(local_inject, 99), "local_revert_p50": pct(local_revert, 50), "local_revert_p99": pct(local_revert, 99)}))
PYEOF
rss_after=$(rss "$agent"); anon_after=$(anon "$agent")
t0=$(cpu_ticks "$agent"); sleep "$IDLE"; t1=$(cpu_ticks "$agent")
hz=$(getconf CLK_TCK)
idle_cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v idle="$IDLE" 'BEGIN { printf "%.3f", (b - a) / hz / idle * 100 }')
"$PY" - "$state/py.json" "$rss_start" "$rss_after" "$idle_cpu" "$REQUESTS" "$FAULTS" "$AGENT" "$anon_start" "$anon_after" "$IDLE" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
print("chaos-agent benchmark (%s)" % sys.argv[7])
print("  resident memory after start        %6.1f MiB   (goal < 16 MiB; of which anonymous %.1f MiB)" % (float(sys.argv[2]), float(sys.argv[8])))
print("  resident memory after %5s reqs   %6.1f MiB   (of which anonymous %.1f MiB; %.0f requests/s on one connection)" % (sys.argv[5], float(sys.argv[3]), float(sys.argv[9]), r["health_rps"]))
print("  idle CPU over %3s s                 %6s %%     (goal < 0.1 %%)" % (sys.argv[10], sys.argv[4]))
print("  %s faults, ms:            p50      p99" % sys.argv[6])
print("  inject->active via agent      %7.2f  %7.2f" % (r["agent_inject_p50"], r["agent_inject_p99"]))
print("  inject->active local chaos    %7.2f  %7.2f" % (r["local_inject_p50"], r["local_inject_p99"]))
print("  revert->gone via agent        %7.2f  %7.2f" % (r["agent_revert_p50"], r["agent_revert_p99"]))
print("  revert->gone local chaos      %7.2f  %7.2f" % (r["local_revert_p50"], r["local_revert_p99"]))
PYEOF
