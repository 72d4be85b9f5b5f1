#!/usr/bin/env python3
"""Hammer one agent with valid and hostile requests from many clients at once, and watch it.

usage: hostile.py PORT AGENT_PID SECONDS CLIENTS STATE_DIR

Each client keeps one connection and picks, at random: a valid pause (of one of the victims, with a
lease), a revert of a fault it made, a renew, a halt followed by a resume, a preview with a nasty regex,
or an invalid body (junk, a YAML alias bomb, deep nesting, huge numbers, a huge body). A monitor asks
/v1/health every 50 ms and samples the agent's resident memory. At the end it halts, and checks that the
ledger is empty and that no victim is left stopped. Prints one JSON object.
"""
import http.client, json, os, random, subprocess, sys, threading, time

port, agent, seconds, clients, state = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
victims = [subprocess.Popen(["/bin/sleep", "100000"]) for _ in range(8)]
stop = time.monotonic() + seconds
counts, lock = {}, threading.Lock()
health_ms, rss_kib, errors = [], [], []

def count(what):
    with lock:
        counts[what] = counts.get(what, 0) + 1

def alias_bomb():
    lines = ['a0: &a0 [' + ','.join(['"xxxxxxxx"'] * 9) + ']']
    for l in range(1, 9):
        lines.append('a%d: &a%d [' % (l, l) + ','.join(['*a%d' % (l - 1)] * 9) + ']')
    return '\n'.join(lines)

HOSTILE = [
    lambda: alias_bomb(),
    lambda: '[' * 20000,
    lambda: '{"idempotencyKey":"x","fault":{"type":"network.loss","duration":"10s","with":{"lossPercent":1e19}},"target":{}}',
    lambda: '{"idempotencyKey":"x","fault":{"type":"process.kill"},"target":{"process":{"pid":99999999999999999999}}}',
    lambda: '{"idempotencyKey":"%s","fault":{"type":"process.kill"},"target":{"process":{"match":"(a+)+b"}}}' % random.random(),
    lambda: '{"idempotencyKey":"x","fault":{"type":"process.kill"},"target":{"process":{"pidfile":"/etc/shadow"}}}',
    lambda: bytes(random.getrandbits(8) for _ in range(random.randint(1, 2000))).decode('latin-1'),
    lambda: 'x' * 70000,
    lambda: '{"idempotencyKey":"x","fault":{"type":"systemd.stop","duration":"10s"},"target":{"process":{"unit":"user-0.slice"}}}',
]

def client(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine = []
    def call(method, path, body=None):
        nonlocal c
        try:
            c.request(method, path, body=body.encode('utf-8', 'surrogateescape') if body is not None else None,
                      headers={"content-type": "application/json"} if body is not None else {})
            r = c.getresponse(); data = r.read(); return r.status, data
        except Exception as e:
            c.close(); c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            count("connection error"); return 0, b""
    while time.monotonic() < stop:
        pick = random.random()
        if pick < 0.30:
            v = random.choice(victims).pid
            body = json.dumps({"idempotencyKey": "c%d-%f" % (n, random.random()), "lease": "3s",
                               "fault": {"type": "process.pause", "duration": "20s"}, "target": {"process": {"pid": v}}})
            s, d = call("POST", "/v1/faults", body); count("inject %d" % s)
            if s in (200, 201): mine.append(json.loads(d)["id"])
        elif pick < 0.45 and mine:
            s, _ = call("DELETE", "/v1/faults/" + mine.pop(random.randrange(len(mine)))); count("revert %d" % s)
        elif pick < 0.50 and mine:
            s, _ = call("POST", "/v1/faults/%s/renew" % random.choice(mine), '{"lease":"3s"}'); count("renew %d" % s)
        elif pick < 0.53:
            s, _ = call("POST", "/v1/halt", '{"reason":"hostile load"}'); count("halt %d" % s)
            time.sleep(0.05)
            s, _ = call("POST", "/v1/resume"); count("resume %d" % s)
        elif pick < 0.60:
            s, _ = call("POST", "/v1/preview", random.choice(HOSTILE)()); count("preview %d" % s)
        else:
            s, _ = call("POST", random.choice(["/v1/faults", "/v1/preview", "/v1/halt", "/v1/faults/x/renew"]), random.choice(HOSTILE)())
            count("hostile %d" % s)

def monitor():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < stop:
        t = time.monotonic()
        try:
            c.request("GET", "/v1/health"); r = c.getresponse(); r.read()
            ok = r.status == 200
        except Exception:
            c.close(); c = http.client.HTTPConnection("127.0.0.1", port, timeout=10); ok = False
        ms = (time.monotonic() - t) * 1000
        health_ms.append(ms if ok else 10000.0)
        for line in open("/proc/%d/status" % agent):
            if line.startswith("VmRSS:"): rss_kib.append(int(line.split()[1]))
        time.sleep(max(0, 0.05 - (time.monotonic() - t)))

threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)] + [threading.Thread(target=monitor)]
for t in threads: t.start()
for t in threads: t.join()

c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
c.request("POST", "/v1/halt", '{"reason":"end of hostile load"}', {"content-type": "application/json"}); c.getresponse().read()
c.request("GET", "/v1/faults"); left = json.loads(c.getresponse().read())
def state_of(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("State:"): return line.split()[1]
stopped = sum(1 for v in victims if state_of(v.pid) == "T")
for v in victims: v.kill(); v.wait()
h = sorted(health_ms)
pct = lambda p: round(h[min(len(h) - 1, int(len(h) * p / 100))], 1) if h else None
print(json.dumps({"seconds": seconds, "clients": clients, "requests": sum(counts.values()), "health": len(h),
                  "healthP50Ms": pct(50), "healthP99Ms": pct(99), "healthMaxMs": round(h[-1], 1) if h else None,
                  "rssMaxMiB": round(max(rss_kib) / 1024, 1) if rss_kib else None, "rssEndMiB": round(rss_kib[-1] / 1024, 1) if rss_kib else None,
                  "openFaultsAtEnd": len(left), "victimsLeftStopped": stopped, "outcomes": dict(sorted(counts.items()))}))
