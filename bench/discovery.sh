#!/usr/bin/env bash
# bench/discovery.sh — what the agent's architecture discovery (GET /v1/discovery, POST
# /v1/discovery/watch) costs per 1,000 connections: CPU time and memory, next to `ss -tanp`.
#
# Usage: bench/discovery.sh [--help]
#
# For each N in NS it opens N loopback TCP connections (one Python process listens on 127.0.0.1 and
# holds the N accepted ends, another holds the N connecting ends: 2N sockets on this host), starts a
# fresh agent (plaintext, 127.0.0.1) and measures, over at least RUNS requests and MIN_SECONDS
# seconds on one keep-alive connection, each request 1.05 s after the last (the agent shares a
# snapshot, and its encoding, with the readers of the next second; spaced requests each pay for a
# fresh one):
#   GET /v1/discovery   wall time (median, p90), the agent's CPU per request (utime and stime from
#                       /proc/PID/stat), the response size and entries, the agent's VmRSS, RssAnon
#                       and VmHWM idle and after the requests. The first answer is checked: its
#                       conversations must account for the 2N sockets (`seen`, or `omitted` past the
#                       agent's cap), each with the pid of the process that holds it, or the run fails.
#   ss -tanp | wc -l    the floor doing the same work (TCP sockets, each mapped to its process by the
#                       same scan of /proc/PID/fd): wall, CPU (ss + sh + wc, from wait4) and peak RSS.
#   two partial floors  `cat` of /proc/net/{tcp,tcp6,udp,udp6} (the kernel writing the tables) and
#                       `find /proc/[0-9]*/fd/ -type l -printf '%l\n'` (readlink of every fd on the
#                       host: the socket→process mapping), to show where the time goes.
# Three shapes of the same N: "one peer" (all N from one client address: the agent answers with one
# conversation per direction), "spread" (over SPREAD processes, SPREAD/2 such pairs: fd scanning
# costs per process and per fd) and "distinct peers" (each client bound to its own source address
# 127.1.x.y, as a server with N client hosts: N conversations, the largest answer, up to the agent's
# cap). Then, for N in WATCH_NS (distinct peers), POST /v1/discovery/watch {"for": WATCH_FOR,
# "every": WATCH_EVERY}: the agent's CPU over the watch as % of one core and per sample, its memory at
# the end, and what GET lists after it. At the largest N (distinct peers, else one peer) it also
# times GET /v1/health (every 10 ms, CONTEND seconds) while 0, 1 and 2 clients GET /v1/discovery
# back to back. Per-1,000 figures are per 1,000 sockets (a loopback connection is two), taken as
# the difference to N=0 of the same run.
#
# Env: AGENT_BIN    default .build-static/release/chaos-agent, else .build/debug/chaos-agent (the
#                   output says which); build it with
#                   swift build -c release --product chaos-agent --static-swift-stdlib --scratch-path .build-static
#      NS="0 1000 5000 10000"   connections per level (the other shapes take those above 0)
#      SPREAD=50    processes of the spread shape (0 skips it); DISTINCT=1 (0 skips distinct peers)
#      RUNS=5 MIN_SECONDS=1     requests (and `ss` runs) per level: at least RUNS and MIN_SECONDS
#      WATCH_NS="1000 10000" WATCH_FOR=30 WATCH_EVERY=1   watch levels and seconds ("" skips)
#      CONTEND=3    seconds of each health-under-load sample (0 skips them)
#      PORT=17433   the agent's port (one per level: PORT, PORT+1, ...); BASE_PORT=17800 the
#                   holders' listeners (BASE_PORT + 100 x level + pair)
#      RESULTS_DIR  default bench/results: writes RESULTS_DIR/discovery-<UTC time>/ (summary.txt,
#                   summary.json, env.txt) and points RESULTS_DIR/discovery-latest at it
#      TIME_LIMIT=300  seconds; the run fails when spent
# Needs: root (to read every /proc/PID/fd), /usr/bin/python3 (standard library), ss. No network.
# Runtime with the defaults about 2 minutes (the two watches are 60 s of it). Everything it starts
# (the agents, the connection holders) is SIGKILLed at exit, checked by pid and start time; its temp
# dir is removed.
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "discovery.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
AGENT=${AGENT_BIN:-.build-static/release/chaos-agent}
[[ -x "$AGENT" ]] || AGENT=.build/debug/chaos-agent
[[ -x "$AGENT" ]] || { echo "build first: swift build -c release --product chaos-agent --static-swift-stdlib --scratch-path .build-static" >&2; exit 1; }
NS=${NS-0 1000 5000 10000}; SPREAD=${SPREAD:-50}; DISTINCT=${DISTINCT:-1}; RUNS=${RUNS:-5}; MIN_SECONDS=${MIN_SECONDS:-1}
WATCH_NS=${WATCH_NS-1000 10000}; WATCH_FOR=${WATCH_FOR:-30}; WATCH_EVERY=${WATCH_EVERY:-1}
PORT=${PORT:-17433}; BASE_PORT=${BASE_PORT:-17800}; TIME_LIMIT=${TIME_LIMIT:-300}; CONTEND=${CONTEND:-3}
RESULTS_DIR=${RESULTS_DIR:-bench/results}
for v in SPREAD DISTINCT RUNS MIN_SECONDS WATCH_FOR WATCH_EVERY PORT BASE_PORT TIME_LIMIT CONTEND; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "discovery.sh: $v must be a whole number" >&2; exit 2; }
done
for n in $NS $WATCH_NS; do [[ $n =~ ^[0-9]+$ ]] || { echo "discovery.sh: NS and WATCH_NS are whole numbers" >&2; exit 2; }; done
((RUNS >= 1 && WATCH_EVERY >= 1 && WATCH_FOR >= WATCH_EVERY)) || { echo "discovery.sh: RUNS >= 1, 1 <= WATCH_EVERY <= WATCH_FOR" >&2; exit 2; }
for n in $NS $WATCH_NS; do ((n <= 60000)) || { echo "discovery.sh: at most 60000 connections per level" >&2; exit 2; }; done
[[ $(id -u) == 0 ]] || { echo "discovery.sh: run as root (the agent must read every /proc/PID/fd)" >&2; exit 1; }
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
command -v ss >/dev/null || { echo "discovery.sh: needs ss (iproute2)" >&2; exit 1; }

# A holder process keeps one end of up to max(NS) connections: N fds and some.
need=$(($(printf '%s\n' $NS $WATCH_NS 0 | sort -n | tail -1) + 256))
(($(ulimit -n) >= need)) || ulimit -n "$need" || { echo "discovery.sh: cannot raise the open-files limit to $need" >&2; exit 1; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS_DIR/discovery-$STAMP"
mkdir -p "$OUT"
state=$(mktemp -d /tmp/chaos-bench-discovery.XXXXXX)
: > "$state/pids"
driver=""
# Stops only what this script started: the driver, then every pid it recorded (agents, holders), each
# only while its start time is still the one recorded.
cleanup() {
  local rc=$? pid start
  set +e
  [[ -n $driver ]] && kill -KILL "$driver" 2>/dev/null && wait "$driver" 2>/dev/null
  while read -r pid start; do
    [[ -r /proc/$pid/stat ]] && [[ $(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f20) == "$start" ]] && kill -KILL "$pid" 2>/dev/null
  done < "$state/pids"
  rm -rf "$state"
  if ((rc != 0)); then mv "$OUT" "$OUT-failed" 2>/dev/null && echo "partial results: $OUT-failed" >&2; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }'; then
  echo "WARNING: 1-minute load $load on $(nproc) CPUs: numbers will be inflated; compare rows of this run only" >&2
fi
case $AGENT in *release*) build=release ;; *debug*) build=debug ;; *) build=given ;; esac
{
  echo "agent $AGENT ($build build, built $(date -u -r "$AGENT" +%Y-%m-%dT%H:%M:%SZ), git $(git describe --always --dirty 2>/dev/null || echo '?'))"
  echo "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(ls -d /proc/[0-9]* | wc -l) processes, $(ss -V 2>&1 | head -1)"
  echo "ulimit -n $(ulimit -n), started $STAMP"
} > "$OUT/env.txt"

cat > "$state/driver.py" <<'PYEOF'
import ctypes, http.client, json, os, signal, socket, statistics, struct, subprocess, sys, time
agent_bin, build, state, out = sys.argv[1:5]
levels = [int(n) for n in sys.argv[5].split()]
(spread, distinct), runs, min_s = map(int, sys.argv[6].split()), int(sys.argv[7]), float(sys.argv[8])
watch_ns, watch_for, watch_every = [int(n) for n in sys.argv[9].split()], int(sys.argv[10]), int(sys.argv[11])
port0, base0, time_limit, contend = int(sys.argv[12]), int(sys.argv[13]), int(sys.argv[14]), int(sys.argv[15])
HZ = os.sysconf("SC_CLK_TCK")
libc = ctypes.CDLL(None, use_errno=True)
t_start = time.monotonic()

def die(msg):
    sys.stderr.write("discovery.sh: FAILED: %s\n" % msg); sys.exit(1)
def check_time(at):
    if time.monotonic() - t_start > time_limit: die("TIME_LIMIT=%d s spent (at: %s)" % (time_limit, at))
def start_time(pid):
    with open("/proc/%d/stat" % pid) as f: return f.read().rsplit(")", 1)[1].split()[19]
def record(pid):
    with open(state + "/pids", "a") as f: f.write("%d %s\n" % (pid, start_time(pid)))
def die_with_parent():
    libc.prctl(1, signal.SIGKILL)          # PR_SET_PDEATHSIG: nothing outlives this driver
def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]), int(f[12])          # utime, stime (ticks), the whole process
def mem(pid):
    m = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "VmHWM", "Threads"): m[k] = int(v.split()[0])
    return m                               # KiB (Threads: a count)
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * p / 100))]

# ---- connection holders: `pairs` pairs of forked processes; in pair k one process listens on
# base+k and holds the accepted ends, the other holds the connecting ends of its share of the n
# connections. SO_LINGER 0: closing resets, so no TIME_WAIT rows are left behind to swell the next
# level's tables.
def peer(i):                               # 127.1.0.1, 127.1.0.2, ... (all of 127/8 is loopback)
    return "127.%d.%d.%d" % (1 + i // 62500, (i // 250) % 250, 1 + i % 250)
def hold(n, pairs, base, distinct=False):
    counts = [n // pairs + (1 if k < n % pairs else 0) for k in range(pairs)]
    r, w = os.pipe()
    kids, owners = [], {}
    linger = struct.pack("ii", 1, 0)
    def child(body):
        pid = os.fork()
        if pid == 0:
            try:
                die_with_parent(); os.close(r)
                signal.signal(signal.SIGTERM, signal.SIG_DFL); signal.signal(signal.SIGINT, signal.SIG_DFL)
                keep = body()
                os.write(w, b"1")
                while True: signal.pause()
            except BaseException as e:
                sys.stderr.write("holder: %r\n" % (e,)); os._exit(1)
        kids.append(pid); record(pid)
        return pid
    for k, c in enumerate(counts):
        lst = socket.socket(); lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", base + k)); lst.listen(4096)
        def serve(lst=lst, c=c):
            keep = [lst]
            for _ in range(c):
                sv, _ = lst.accept(); sv.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger); keep.append(sv)
            return keep
        def connect(lst=lst, c=c, k=k):
            lst.close(); keep = []
            for j in range(c):
                cl = socket.socket(); cl.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                if distinct: cl.bind((peer(k * n + j), 0))
                cl.connect(("127.0.0.1", base + k)); keep.append(cl)
            return keep
        owners[base + k] = (child(serve), child(connect))   # (incoming end, outgoing end)
        lst.close()
    os.close(w)
    got, deadline = 0, time.monotonic() + 120
    while got < len(kids):
        b = os.read(r, 64)
        if not b or time.monotonic() > deadline: release(kids); die("a connection holder failed (n=%d, pairs=%d)" % (n, pairs))
        got += len(b)
    os.close(r)
    return kids, owners
def release(kids):
    for k in kids:
        try: os.kill(k, signal.SIGKILL)
        except ProcessLookupError: pass
    for k in kids:
        try: os.waitpid(k, 0)
        except ChildProcessError: pass

# ---- the agent, fresh for every level
def start_agent(port):
    log = open("%s/agent-%d.log" % (state, port), "w")
    p = subprocess.Popen([agent_bin, "--plaintext", "--listen", "127.0.0.1:%d" % port, "--state-dir", "%s/agent-%d" % (state, port)],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
    record(p.pid)
    deadline = time.monotonic() + 20
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/v1/health")
            if c.getresponse().status == 200: c.close(); break
        except OSError: pass
        if p.poll() is not None or time.monotonic() > deadline:
            die("the agent did not start on port %d: %s" % (port, open(log.name).read()[-2000:]))
        time.sleep(0.05)
    time.sleep(0.3)                        # let start-up settle before the idle sample
    return p
def stop_agent(p):
    p.kill(); p.wait()

def request(c, method, path, body=None):
    c.request(method, path, body); r = c.getresponse(); data = r.read()
    if r.status != 200: die("%s %s answered %d: %s" % (method, path, r.status, data[:500]))
    return data

# The first answer of a level must account for every socket of the holders: one conversation per
# (process, direction, remote address, service port), `seen` its sockets; with distinct peers one
# incoming conversation per connection, the least busy past the agent's cap counted in `omitted`.
# Every socket must carry the pid of the process that holds it.
def check(view, owners, n, distinct):
    seen_out, seen_in, convs_in, wrong = 0, 0, 0, 0
    for c in view["connections"]:
        if c["proto"] != "tcp": continue
        if c["direction"] == "outgoing" and c["remotePort"] in owners:
            seen_out += c["seen"]; wrong += c["seen"] * (c["owner"].get("pid") != owners[c["remotePort"]][1])
        elif c["direction"] == "incoming" and c["localPort"] in owners:
            seen_in += c["seen"]; convs_in += 1; wrong += c["seen"] * (c["owner"].get("pid") != owners[c["localPort"]][0])
    omitted = view.get("omitted", 0)
    ok = seen_out == n and n - omitted <= seen_in <= n and not wrong and (not distinct or convs_in == seen_in)
    if not ok:
        die("GET /v1/discovery with %d connections held: sockets accounted for %d outgoing, %d incoming (in %d conversations; omitted %d), %d with the wrong owner" % (
            n, seen_out, seen_in, convs_in, omitted, wrong))
    return len(view["connections"]), omitted, len(view["listeners"])

# A command through `sh -c`, as often as the GETs: wall, CPU (the shell and all it waited for:
# wait4's rusage), peak RSS, the output's first line.
def timed_shell(cmd):
    walls, cpus, rss, line = [], [], 0, ""
    t0 = time.monotonic()
    while len(walls) < runs or (time.monotonic() - t0 < min_s and len(walls) < 500):
        t = time.perf_counter()
        p = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        o = p.stdout.read(); p.stdout.close()
        _, st, ru = os.wait4(p.pid, 0); p.returncode = os.waitstatus_to_exitcode(st)
        walls.append(time.perf_counter() - t); cpus.append(ru.ru_utime + ru.ru_stime); rss = max(rss, ru.ru_maxrss)
        line = o.decode().strip()
    return {"wall_ms": statistics.median(walls) * 1000, "cpu_ms": sum(cpus) / len(cpus) * 1000, "peak_rss_kib": rss,
            "runs": len(walls), "output": line}

# GET /v1/health every 10 ms for `seconds`, while `k` clients GET /v1/discovery back to back:
# the snapshot and the JSON encoding run on Swift concurrency's cooperative threads (one per CPU).
def health_under(port, k, seconds):
    import threading
    stop = threading.Event(); done = [0]
    def loop():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while not stop.is_set(): request(c, "GET", "/v1/discovery"); done[0] += 1
        c.close()
    ts = [threading.Thread(target=loop, daemon=True) for _ in range(k)]
    for t in ts: t.start()
    time.sleep(0.3)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120); lat = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        t = time.perf_counter(); request(c, "GET", "/v1/health"); lat.append((time.perf_counter() - t) * 1000); time.sleep(0.01)
    stop.set()
    for t in ts: t.join()
    c.close()
    return {"clients": k, "health": len(lat), "discovery": done[0], "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": max(lat)}

SS = "ss -tanp | wc -l"
TABLES = "cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 > /dev/null"
FDS = "find /proc/[0-9]*/fd/ -maxdepth 1 -type l -printf '%l\\n' 2>/dev/null | grep -c '^socket:'"

def level(i, n, pairs, shape, contended=False):
    procs = 2 * pairs if n > 0 else 0
    check_time("n=%d %s" % (n, shape))
    base, port = base0 + 100 * i, port0 + i
    kids, owners = hold(n, pairs, base, shape == "distinct peers") if n > 0 else ([], {})
    try:
        agent = start_agent(port)
        idle = mem(agent.pid)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        first = request(c, "GET", "/v1/discovery")       # warm-up, and the check
        entries, omitted, listeners = check(json.loads(first), owners, n, shape == "distinct peers")
        walls, sizes = [], []
        u0, s0 = cpu(agent.pid); t0 = time.monotonic()
        while len(walls) < runs or (time.monotonic() - t0 < min_s and len(walls) < 500):
            # The agent shares a snapshot with the readers of the next second: wait past it, so
            # every request measured walks the tables again (the cost of a fresh view).
            time.sleep(1.05)
            t = time.perf_counter(); body = request(c, "GET", "/v1/discovery"); walls.append(time.perf_counter() - t); sizes.append(len(body))
        u1, s1 = cpu(agent.pid)
        after = mem(agent.pid)
        c.close()
        contention = []
        if contended and contend > 0:
            contention = [health_under(port, 0, contend), health_under(port, 1, contend), health_under(port, 2, contend)]
        stop_agent(agent)
        ss, tables, fds = timed_shell(SS), timed_shell(TABLES), timed_shell(FDS)
        k = len(walls)
        r = {"n": n, "shape": shape, "processes": procs, "sockets": 2 * n, "entries": entries, "omitted": omitted, "listeners": listeners, "gets": k,
             "wall_ms": statistics.median(walls) * 1000, "wall_p90_ms": pct(walls, 90) * 1000,
             "cpu_ms": (u1 - u0 + s1 - s0) / HZ * 1000 / k, "user_ms": (u1 - u0) / HZ * 1000 / k, "sys_ms": (s1 - s0) / HZ * 1000 / k,
             "bytes": statistics.median(sizes), "idle": idle, "after": after, "ss": ss, "tables": tables, "fds": fds,
             "contention": contention}
        sys.stderr.write("  n=%-6d %-14s entries %-6d GET %7.1f ms  cpu %7.1f ms  %8d B  RssAnon %6.1f -> %6.1f MiB   ss %6.1f ms (%s lines)\n" % (
            n, shape, entries, r["wall_ms"], r["cpu_ms"], r["bytes"], idle["RssAnon"] / 1024, after["RssAnon"] / 1024, ss["wall_ms"], ss["output"]))
        return r
    finally:
        release(kids)

def watch(i, n):
    check_time("watch n=%d" % n)
    base, port = base0 + 100 * i, port0 + i
    kids, owners = hold(n, 1, base, distinct == 1) if n > 0 else ([], {})
    try:
        agent = start_agent(port)
        idle = mem(agent.pid)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        u0, s0 = cpu(agent.pid); t0 = time.monotonic()
        status = json.loads(request(c, "POST", "/v1/discovery/watch", json.dumps({"for": "%ds" % watch_for, "every": "%ds" % watch_every})))
        time.sleep(watch_for + 0.5)
        u1, s1 = cpu(agent.pid); dt = time.monotonic() - t0
        end = mem(agent.pid)
        c.close()                          # the agent closes connections idle for 30 s
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        view = json.loads(request(c, "GET", "/v1/discovery"))
        c.close(); stop_agent(agent)
        samples = watch_for // watch_every + 1
        busy = (u1 - u0 + s1 - s0) / HZ
        r = {"n": n, "for_s": watch_for, "every_s": watch_every, "status": status, "samples": samples, "seconds": dt,
             "cpu_s": busy, "cpu_pct": busy / dt * 100, "cpu_ms_per_sample": busy * 1000 / samples,
             "idle": idle, "end": end, "listed_after": len(view["connections"]), "omitted_after": view.get("omitted", 0),
             "window_ms": view["windowMs"], "shape": "distinct peers" if distinct == 1 else "one peer"}
        sys.stderr.write("  watch n=%-6d %d s every %d s: cpu %.2f s = %.2f %% of a core, RssAnon %.1f -> %.1f MiB, listed after %d\n" % (
            n, watch_for, watch_every, busy, r["cpu_pct"], idle["RssAnon"] / 1024, end["RssAnon"] / 1024, r["listed_after"]))
        return r
    finally:
        release(kids)

sys.stderr.write("measuring (%s build: %s)\n" % (build, agent_bin))
i = 0
rows, spread_rows, distinct_rows = [], [], []
top = max(levels) if levels else 0
for n in levels:
    rows.append(level(i, n, 1, "one peer", contended=(n == top and n > 0 and distinct != 1))); i += 1
if spread > 2:
    for n in levels:
        if n > 0: spread_rows.append(level(i, n, spread // 2, "spread")); i += 1
if distinct == 1:
    for n in levels:
        if n > 0: distinct_rows.append(level(i, n, 1, "distinct peers", contended=(n == top))); i += 1
watches = []
for n in watch_ns:
    watches.append(watch(i, n)); i += 1

# ---- report
base_row = next((r for r in rows if r["n"] == 0), None)
every_row = rows + spread_rows + distinct_rows
def per_k(r, key_fn):                       # per 1,000 sockets, over N=0
    if base_row is None or r["n"] == 0: return float("nan")
    return (key_fn(r) - key_fn(base_row)) / (r["sockets"] / 1000)
anon_growth = lambda r: r["after"]["RssAnon"] - r["idle"]["RssAnon"]
peak_growth = lambda r: r["after"]["VmHWM"] - r["idle"]["VmRSS"]
lines = []
p = lines.append
p("chaos-agent discovery benchmark (%s build: %s)" % (build, agent_bin))
p(open(out + "/env.txt").read().strip())
p("")
p("GET /v1/discovery, a fresh agent per level, %d+ requests per level: medians; CPU is the agent's utime+stime per request;" % runs)
p("sockets: 2 per connection (both ends on this host); entries: conversations listed (+ omitted past the cap).")
p("| connections | shape | processes | entries | GET ms | GET p90 ms | agent CPU ms (user/sys) | response KiB | agent RssAnon MiB idle → after | VmHWM MiB | `ss -tanp` ms | ss CPU ms | ss peak RSS MiB | chaos/ss wall | chaos/ss CPU |")
p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in every_row:
    ss = r["ss"]
    p("| %d | %s | %d | %d%s | %.1f | %.1f | %.1f (%.1f/%.1f) | %.0f | %.1f → %.1f | %.1f | %.1f | %.1f | %.1f | %.1fx | %.1fx |" % (
        r["n"], r["shape"], r["processes"], r["entries"], " (+%d)" % r["omitted"] if r["omitted"] else "", r["wall_ms"], r["wall_p90_ms"],
        r["cpu_ms"], r["user_ms"], r["sys_ms"], r["bytes"] / 1024, r["idle"]["RssAnon"] / 1024, r["after"]["RssAnon"] / 1024, r["after"]["VmHWM"] / 1024,
        ss["wall_ms"], ss["cpu_ms"], ss["peak_rss_kib"] / 1024, r["wall_ms"] / ss["wall_ms"], r["cpu_ms"] / max(ss["cpu_ms"], 1e-9)))
p("")
p("Partial floors (same levels): the kernel writing the four socket tables, and readlink of every fd on the host:")
p("| connections | shape | cat /proc/net/{tcp,tcp6,udp,udp6} ms (CPU) | find /proc/*/fd readlink ms (CPU) | socket fds on the host |")
p("|---:|---|---:|---:|---:|")
for r in every_row:
    p("| %d | %s | %.1f (%.1f) | %.1f (%.1f) | %s |" % (r["n"], r["shape"], r["tables"]["wall_ms"], r["tables"]["cpu_ms"],
                                            r["fds"]["wall_ms"], r["fds"]["cpu_ms"], r["fds"]["output"]))
p("")
if base_row is not None and len(every_row) > 1:
    p("Per 1,000 sockets (difference to N=0; 1,000 connections of a host whose peers are elsewhere):")
    p("| connections | shape | agent CPU ms | GET wall ms | response KiB | agent RssAnon KiB (after − idle) | agent peak KiB (VmHWM − idle VmRSS) | ss CPU ms | ss wall ms | chaos/ss CPU |")
    p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in every_row:
        if r["n"] == 0: continue
        a, b = per_k(r, lambda x: x["cpu_ms"]), per_k(r, lambda x: x["ss"]["cpu_ms"])
        p("| %d | %s | %.2f | %.2f | %.1f | %.0f | %.0f | %.2f | %.2f | %.1fx |" % (r["n"], r["shape"], a, per_k(r, lambda x: x["wall_ms"]),
            per_k(r, lambda x: x["bytes"] / 1024), per_k(r, anon_growth), per_k(r, peak_growth), b, per_k(r, lambda x: x["ss"]["wall_ms"]), a / b if b > 0 else float("nan")))
    p("")
for r in every_row:
    if r["contention"]:
        p("Health while clients GET /v1/discovery back to back (%d connections, %s, %d entries; GET /v1/health every 10 ms for %d s):" % (
            r["n"], r["shape"], r["entries"], contend))
        p("| discovery clients | discovery GETs done | health p50 ms | health p99 ms | health max ms |")
        p("|---:|---:|---:|---:|---:|")
        for h in r["contention"]:
            p("| %d | %d | %.1f | %.1f | %.1f |" % (h["clients"], h["discovery"], h["p50_ms"], h["p99_ms"], h["max_ms"]))
        p("")
if watches:
    p("POST /v1/discovery/watch {\"for\": \"%ds\", \"every\": \"%ds\"} (%s), then one GET:" % (watch_for, watch_every, watches[0]["shape"]))
    p("| connections | samples | agent CPU s | % of one core | CPU ms per sample | RssAnon MiB idle → end | VmRSS MiB end | VmHWM MiB | entries by GET after |")
    p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for w in watches:
        p("| %d | %d | %.2f | %.2f | %.1f | %.1f → %.1f | %.1f | %.1f | %d%s |" % (w["n"], w["samples"], w["cpu_s"], w["cpu_pct"], w["cpu_ms_per_sample"],
            w["idle"]["RssAnon"] / 1024, w["end"]["RssAnon"] / 1024, w["end"]["VmRSS"] / 1024, w["end"]["VmHWM"] / 1024, w["listed_after"],
            " (+%d)" % w["omitted_after"] if w["omitted_after"] else ""))
    p("")
p("CPU comes in clock ticks of %.0f ms, summed over every request of a level (`gets` in summary.json)." % (1000 / HZ))
text = "\n".join(lines) + "\n"
open(out + "/summary.txt", "w").write(text)
json.dump({"agent": agent_bin, "build": build, "levels": rows, "spread": spread_rows, "distinct": distinct_rows, "watches": watches,
           "seconds": time.monotonic() - t_start}, open(out + "/summary.json", "w"), indent=1)
print(text, end="")
PYEOF
"$PY" "$state/driver.py" "$AGENT" "$build" "$state" "$OUT" "$NS" "$SPREAD $DISTINCT" "$RUNS" "$MIN_SECONDS" "$WATCH_NS" \
  "$WATCH_FOR" "$WATCH_EVERY" "$PORT" "$BASE_PORT" "$TIME_LIMIT" "$CONTEND" &
driver=$!
wait "$driver"
driver=""
ln -sfn "$(basename "$OUT")" "$RESULTS_DIR/discovery-latest"
echo "results: $OUT/ (summary.txt, summary.json, env.txt)"
