#!/usr/bin/env bash
# bench/agent.sh — the agent's footprint and latency, measured on this host.
#
#   bench/agent.sh [--help]        env: AGENT_BIN (default .build-static/release/chaos-agent, else the
#                                  debug build, said loudly), REQUESTS (10000), FAULTS (50), PORT (17433),
#                                  SETTLE (31 s), IDLE (30 s), HELD (100), HOLD (10 s), RSS_GOAL_MIB (12),
#                                  IDLE_GOAL_PCT (0.05)
#
# Reports: resident memory (VmRSS, and its anonymous and file-backed parts, /proc/PID/status) at three
# points: right after start, after REQUESTS health requests, and with HELD faults held at once (HELD
# process.pause faults on HELD sleep victims started here, injected through the agent API, held HOLD
# seconds, then reverted and confirmed gone); CPU over SETTLE seconds right after the requests and
# faults (the FAULTS faults' 30 s leases still wake it), then idle CPU over IDLE seconds (utime+stime
# from /proc, and the threads' schedstat in ns, as a percent of one CPU; wake-ups per second, by
# thread) and CPU while the HELD faults are held; and the latency of inject→active (POST /v1/faults of a pause,
# answered once the victim is stopped) and revert→gone (DELETE), p50 and p99 over FAULTS faults,
# beside the same fault done locally by `chaos pause --detach` + `chaos revert`. The agent runs in
# plaintext on 127.0.0.1 (TLS would add the handshake per connection; the client keeps one
# connection open). Everything it starts is stopped at exit (victims get SIGCONT, then SIGKILL);
# only processes it started are signalled.
set -euo pipefail
if [[ "${1:-}" == "--help" ]]; then sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0; fi
cd "$(dirname "$0")/.."
AGENT=${AGENT_BIN:-.build-static/release/chaos-agent}
[[ -x "$AGENT" ]] || AGENT=.build/debug/chaos-agent
CHAOS=$(dirname "$AGENT")/chaos
[[ -x "$AGENT" && -x "$CHAOS" ]] || { echo "build first: swift build -c release --product chaos-agent --static-swift-stdlib --scratch-path .build-static (and --product chaos)" >&2; exit 1; }
if [[ $(readlink -f "$AGENT") == */debug/* ]]; then
  echo "!! $AGENT is a DEBUG build: its memory, CPU and latency are NOT representative (-Onone)." >&2
fi
REQUESTS=${REQUESTS:-10000}; FAULTS=${FAULTS:-50}; PORT=${PORT:-17433}; IDLE=${IDLE:-30}
HELD=${HELD:-100}; HOLD=${HOLD:-10}; SETTLE=${SETTLE:-31}; RSS_GOAL_MIB=${RSS_GOAL_MIB:-12}; IDLE_GOAL_PCT=${IDLE_GOAL_PCT:-0.05}
PY=$(command -v /usr/bin/python3 || command -v python3)
state=$(mktemp -d /tmp/chaos-bench-agent.XXXXXX)
pids=()      # the agent and the first victim
victims=()   # the HELD victims
cleanup() {
  set +e
  local p
  # The agent first (SIGTERM: it reverts what it holds), then every victim: SIGCONT, SIGKILL, reaped.
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  for p in "${victims[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  for p in "${pids[@]}" "${victims[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$state"
}
trap cleanup EXIT

"$AGENT" --plaintext --listen "127.0.0.1:$PORT" --state-dir "$state/agent" >"$state/agent.log" 2>&1 &
agent=$!; pids+=("$agent")
for _ in $(seq 100); do curl -fs "127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fs "127.0.0.1:$PORT/v1/health" >/dev/null || { echo "the agent does not answer: $(tail -n 3 "$state/agent.log")" >&2; exit 1; }
rss() { awk '/VmRSS/ {print $2/1024}' "/proc/$1/status"; }
# RssAnon: memory the agent owns (heap, stacks). RssFile: pages of the executable mapped in (clean
# page cache, shared and droppable; the kernel maps up to 16 pages around each one touched).
anon() { awk '/RssAnon/ {print $2/1024}' "/proc/$1/status"; }
file() { awk '/RssFile/ {print $2/1024}' "/proc/$1/status"; }
mem() { echo "$(rss "$1") $(anon "$1") $(file "$1")"; }   # "VmRSS RssAnon RssFile" in MiB
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# Per thread: "TID CPU-NANOSECONDS VOLUNTARY-SWITCHES NAME" (schedstat: finer than ticks; switches:
# wake-ups; the name from comm, spaces as _).
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s %s\n' "${t##*/}" "$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null)" \
      "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status" 2>/dev/null)" "$(tr ' ' _ <"$t/comm" 2>/dev/null)"
  done
}
# cpu_over PID SECONDS: "ticks-percent schedstat-percent wakeups-per-second by-thread" over SECONDS of
# sleep; by-thread: NAME=wake-ups/s of each thread that woke (e.g. NIO-SGLTN-1-#0=1.0,...).
# The schedstat and wake-up figures sum the threads alive at both ends (a thread that ends takes its
# time with it; a thread that starts meanwhile is counted from zero).
cpu_over() {
  local t0 t1 hz
  t0=$(cpu_ticks "$1"); threads "$1" >"$state/threads.0"
  sleep "$2"
  t1=$(cpu_ticks "$1"); threads "$1" >"$state/threads.1"
  hz=$(getconf CLK_TCK)
  awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$2" '
    NR == FNR { ns[$1] = $2; w[$1] = $3; next }
    { dn += $2 - ($1 in ns ? ns[$1] : 0); x = $3 - ($1 in w ? w[$1] : 0); dw += x
      if (x > 0) by = by (by == "" ? "" : ",") $4 "=" sprintf("%.1f", x / s) }
    END { printf "%.3f %.4f %.2f %s", (b - a) / hz / s * 100, dn / 1e9 / s * 100, dw / s, (by == "" ? "-" : by) }' "$state/threads.0" "$state/threads.1"
}
mem_start=$(mem "$agent")

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
mem_after=$(mem "$agent")
# The FAULTS faults above had 30 s leases: for about 30 s the agent still wakes at their old
# deadlines (see bench/README.md). Measured apart (SETTLE s), then the idle agent (IDLE s).
settle=$(cpu_over "$agent" "$SETTLE")
idle=$(cpu_over "$agent" "$IDLE")

# HELD faults at once: HELD victims of our own, one process.pause each through the agent API, held HOLD s.
for _ in $(seq "$HELD"); do sleep 100000 & victims+=($!); done
"$PY" - "$PORT" "inject" "$HOLD" "${victims[@]}" >"$state/held.json" <<'PYEOF'
import http.client, json, sys, time
port, hold, vs = int(sys.argv[1]), int(sys.argv[3]), [int(p) for p in sys.argv[4:]]
def state_of(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("State:"): return line.split()[1]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
lease = "%ds" % max(60, hold + 60)   # outlives the hold: the agent must not revert on its own
ids, t = [], time.monotonic()
for i, v in enumerate(vs):
    body = json.dumps({"idempotencyKey": "held-%d" % i, "lease": lease, "fault": {"type": "process.pause", "duration": lease}, "target": {"process": {"pid": v}}})
    c.request("POST", "/v1/faults", body); r = c.getresponse(); data = json.loads(r.read())
    assert r.status == 201, (r.status, data)
    ids.append(data["id"])
inject_s = time.monotonic() - t
stopped = sum(state_of(v) == "T" for v in vs)
c.request("GET", "/v1/health"); r = c.getresponse(); health = json.loads(r.read())
print(json.dumps({"ids": ids, "inject_s": inject_s, "stopped": stopped, "open": health.get("faults")}))
PYEOF
held_inject=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["stopped"], d["open"], "%.2f" % d["inject_s"])' "$state/held.json")
read -r held_stopped held_open held_inject_s <<<"$held_inject"
[[ $held_stopped == "$HELD" && $held_open == "$HELD" ]] \
  || { echo "with $HELD faults injected: $held_stopped victims stopped, the agent reports $held_open open faults" >&2; exit 1; }
agent_children=$({ ps -o pid= --ppid "$agent" || true; } | wc -l)
mem_held=$(mem "$agent")
hold_cpu=$(cpu_over "$agent" "$HOLD")
mem_held_end=$(mem "$agent")
# Revert them all, and confirm: no victim stopped, no fault open on the agent.
"$PY" - "$PORT" "$state/held.json" "${victims[@]}" >"$state/reverted.json" <<'PYEOF'
import http.client, json, sys, time
port, ids, vs = int(sys.argv[1]), json.load(open(sys.argv[2]))["ids"], [int(p) for p in sys.argv[3:]]
def state_of(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("State:"): return line.split()[1]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
t = time.monotonic()
for i in ids:
    c.request("DELETE", "/v1/faults/" + i); r = c.getresponse(); r.read(); assert r.status == 200, r.status
revert_s = time.monotonic() - t
still = sum(state_of(v) == "T" for v in vs)
c.request("GET", "/v1/faults"); r = c.getresponse(); body = json.loads(r.read())
still_open = len(body if isinstance(body, list) else body.get("faults", []))   # GET /v1/faults: the open ones
c.request("GET", "/v1/health"); r = c.getresponse(); health = json.loads(r.read())
print(json.dumps({"revert_s": revert_s, "stillStopped": still, "stillOpen": still_open, "healthFaults": health.get("faults")}))
PYEOF
read -r still_stopped still_open health_faults held_revert_s < <("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["stillStopped"], d["stillOpen"], d["healthFaults"], "%.2f" % d["revert_s"])' "$state/reverted.json")
[[ $still_stopped == 0 && $still_open == 0 && $health_faults == 0 ]] \
  || { echo "after reverting the $HELD faults: $still_stopped victims still stopped, $still_open faults open ($health_faults by /v1/health)" >&2; exit 1; }
mem_reverted=$(mem "$agent")

"$PY" - "$state/py.json" "$AGENT" "$REQUESTS" "$FAULTS" "$IDLE" "$HELD" "$HOLD" "$RSS_GOAL_MIB" "$IDLE_GOAL_PCT" \
  "$mem_start" "$mem_after" "$mem_held" "$mem_held_end" "$mem_reverted" "$idle" "$hold_cpu" "$held_inject_s" "$held_revert_s" "$agent_children" \
  "$settle" "$SETTLE" <<'PYEOF'
import json, sys
a = sys.argv
r = json.load(open(a[1]))
agent, requests, faults, idle_s, held, hold = a[2], a[3], a[4], a[5], a[6], a[7]
rss_goal, idle_goal = float(a[8]), float(a[9])
m = {k: [float(x) for x in v.split()] for k, v in zip(("start", "after", "held", "held_end", "reverted"), a[10:15])}
idle_ticks, idle_ns, idle_wake, idle_by = a[15].split()
hold_ticks, hold_ns, hold_wake, hold_by = a[16].split()
idle_ticks, idle_ns, idle_wake, hold_ticks, hold_ns, hold_wake = map(float, (idle_ticks, idle_ns, idle_wake, hold_ticks, hold_ns, hold_wake))
held_inject_s, held_revert_s, children = float(a[17]), float(a[18]), int(a[19])
settle_ticks, settle_ns, settle_wake, settle_by = a[20].split()
settle_s = a[21]
def goal(v): return "goal < %g MiB: %s" % (rss_goal, "met" if v < rss_goal else "MISSED")
def line(label, k, extra=""):
    rss, anon, filed = m[k]
    print("  %-35s %6.1f MiB   (anonymous %.1f, file-backed %.1f)  %s%s" % (label, rss, anon, filed, goal(rss), extra))
print("chaos-agent benchmark (%s)" % agent)
line("resident memory after start", "start")
line("resident memory after %s reqs" % requests, "after", "; %.0f requests/s on one connection" % r["health_rps"])
line("resident memory, %s faults held" % held, "held")
print("  %-35s %6.1f MiB   (anonymous %.1f; after %s s held %.1f MiB, after the revert %.1f MiB)" % (
    "", m["held"][0], m["held"][1], hold, m["held_end"][0], m["reverted"][0]))
print("  CPU over %3s s after the work      %6.3f %%     (schedstat %.4f %%, %.2f wake-ups/s: stray timers of the %s faults' leases)" % (
    settle_s, float(settle_ticks), float(settle_ns), float(settle_wake), faults))
print("  idle CPU over %3s s                 %6.3f %%     (schedstat %.4f %%, %.2f wake-ups/s)  goal < %g %%: %s" % (
    idle_s, idle_ticks, idle_ns, idle_wake, idle_goal, "met" if idle_ns < idle_goal else "MISSED"))
print("      wake-ups/s by thread: %s" % idle_by.replace(",", ", "))
print("  CPU with %s faults held, %3s s     %6.3f %%     (schedstat %.4f %%, %.2f wake-ups/s)" % (held, hold, hold_ticks, hold_ns, hold_wake))
print("      wake-ups/s by thread: %s" % hold_by.replace(",", ", "))
print("  %s faults: injected in %.2f s, reverted in %.2f s, all confirmed (victims running, none open); %d child processes of the agent while held" % (
    held, held_inject_s, held_revert_s, children))
print("  %s faults, ms:            p50      p99" % faults)
print("  inject->active via agent      %7.2f  %7.2f" % (r["agent_inject_p50"], r["agent_inject_p99"]))
print("  inject->active local chaos    %7.2f  %7.2f" % (r["local_inject_p50"], r["local_inject_p99"]))
print("  revert->gone via agent        %7.2f  %7.2f" % (r["agent_revert_p50"], r["agent_revert_p99"]))
print("  revert->gone local chaos      %7.2f  %7.2f" % (r["local_revert_p50"], r["local_revert_p99"]))
PYEOF
