#!/usr/bin/env python3
"""bench/simfleet.py - many simulated chaos agents in one program, for bench/controller.sh.

  simfleet.py serve --n N --port PORT --stats-port SPORT (--cert F | --cert-dir D) --key F --ca F [--workers W] [--ready-file F]
  simfleet.py stats --stats-port SPORT --workers W [--counts]   merged JSON of every worker, to stdout
  simfleet.py addr I                                            the address of agent I (0-based)

Agent i (0-based) is host sim-%04d (i+1) at 127.1.(i // 250).(i % 250 + 1), port PORT: each agent has
an address of its own on the loopback (all of 127.0.0.0/8 is local on Linux), so a client that talks
to N agents really opens N connections, with N TLS handshakes, as with N hosts. Agent i is served by
worker i % W (W forked processes, one asyncio loop each, one listening socket per agent address), so
an agent's state is in exactly one process whichever connection asks.

Each agent speaks the agent API of docs/agent-api.md over HTTP/1.1 with keep-alive and mutual TLS
(the client certificate must chain to --ca, like a real agent's; the server certificate must name
the agent's address: with --cert-dir D agent sim-0001 presents D/sim-0001.pem, as one real host
each would; with --cert F every agent presents F, which must then list every address):
GET /v1/health, POST /v1/preview, POST /v1/faults (inject, idempotent by key; 201 with the fault
"injected", verified "active"), GET /v1/faults[?all=true], GET /v1/faults/ID,
POST /v1/faults/ID/renew (409 fault.alreadyReverted once reverted), DELETE /v1/faults/ID, POST
/v1/halt (reverts every open fault, refuses injects with 409 agent.halted until resume), POST
/v1/resume. Faults are only bookkeeping: nothing is done to the host. Host-wide fault kinds only
(stress, disk, network): previews answer "this host" with no victims. The dead-man's switch is
simulated too: a fault whose lease (or deadline) runs out is reverted within 0.5 s and counted as
"expired" (a controller that stops renewing shows up there).

Every request is timestamped on arrival (ms since the epoch, time.time()) per agent and kind; the
plaintext stats server of worker k (127.0.0.1:SPORT+k) answers GET /stats (everything) and GET
/counts (totals), and accepts bare TCP connections (a cheap target for tcp probes). On SIGTERM
each worker exits at once; the parent stops its workers. Standard library only.
"""
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import time
import urllib.request

PER_OCTET = 250


def address(i):
    return "127.1.%d.%d" % (i // PER_OCTET, i % PER_OCTET + 1)


def index_of(addr):
    parts = addr.split(".")
    if len(parts) != 4 or parts[0] != "127" or parts[1] != "1":
        return None
    return int(parts[2]) * PER_OCTET + int(parts[3]) - 1


def now_ms():
    return time.time() * 1000.0


UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}


def duration_ms(text):
    if not isinstance(text, str):
        return None
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", text)
    if not parts or "".join(a + b for a, b in parts) != text.strip():
        return None
    return sum(int(n) * UNITS[u] for n, u in parts)


class Fail(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Agent:
    __slots__ = ("i", "name", "halted", "faults", "keys", "ev", "renews", "conns")

    def __init__(self, i):
        self.i = i
        self.name = "sim-%04d" % (i + 1)
        self.halted = False
        self.faults = {}  # id -> AgentFault JSON (plus "_lease" ms)
        self.keys = {}  # idempotencyKey -> id
        # kind -> [[t_ms, caller, detail], ...]
        self.ev = {"preview": [], "inject": [], "revert": [], "halt": [], "resume": [], "expired": []}
        self.renews = []  # t_ms of each renew
        self.conns = []  # t_ms of each TLS connection accepted

    def view(self, f):
        return {k: v for k, v in f.items() if not k.startswith("_")}

    def open_faults(self):
        return [f for f in self.faults.values() if f["state"] not in ("reverted", "applied")]

    def revert(self, f, note, t):
        if f["state"] != "reverted":
            f["state"] = "reverted"
            f["note"] = note
            f["_revertedAt"] = t
            return True
        return False

    def handle(self, method, path, query, body, t, caller):
        """(status, JSON object) for one request."""
        if path == "/v1/health" and method == "GET":
            return 200, {"status": "ok", "halted": self.halted, "faults": len(self.open_faults())}
        if path == "/v1/preview" and method == "POST":
            req = self.body(body)
            self.ev["preview"].append([t, caller, (req.get("fault") or {}).get("type")])
            return 200, {"target": "this host", "victims": [], "matched": 0, "unit": None}
        if path == "/v1/faults" and method == "POST":
            return self.inject(self.body(body), t, caller)
        if path == "/v1/faults" and method == "GET":
            faults = list(self.faults.values()) if query.get("all") == "true" else self.open_faults()
            return 200, [self.view(f) for f in faults]
        if path == "/v1/halt" and method == "POST":
            req = self.body(body)
            self.halted = True
            reverted = [f["id"] for f in self.open_faults() if self.revert(f, "halt by %s: %s" % (caller, req.get("reason", "")), t)]
            self.ev["halt"].append([t, caller, len(reverted)])
            return 200, {"halted": True, "reverted": reverted, "failed": []}
        if path == "/v1/resume" and method == "POST":
            self.halted = False
            self.ev["resume"].append([t, caller, None])
            return 200, {"halted": False}
        m = re.fullmatch(r"/v1/faults/([^/]+)(/renew)?", path)
        if m:
            f = self.faults.get(m.group(1))
            if f is None:
                raise Fail(404, "ledger.unknownFault", "No fault '%s' on this agent." % m.group(1))
            if m.group(2) and method == "POST":
                lease = duration_ms(self.body(body).get("lease"))
                if lease is None or lease < 500:
                    raise Fail(400, "request.invalid", 'Send {"lease": "15s"}: a duration with a unit, at least 500ms.')
                if f["state"] == "reverted":
                    raise Fail(409, "fault.alreadyReverted", "Fault %s is already reverted (%s)." % (f["id"], f.get("note")))
                self.renews.append(t)
                exp = t + lease
                if f.get("deadline"):
                    exp = min(exp, f["deadline"])
                f["leaseExpiresAt"] = int(exp)
                return 200, self.view(f)
            if not m.group(2) and method == "DELETE":
                if self.revert(f, "revert by %s" % caller, t):
                    self.ev["revert"].append([t, caller, f["id"]])
                return 200, self.view(f)
            if not m.group(2) and method == "GET":
                return 200, self.view(f)
        raise Fail(404, "request.unknown", "No %s %s on this agent." % (method, path))

    def inject(self, req, t, caller):
        key = req.get("idempotencyKey")
        fault = req.get("fault") or {}
        if not key or not fault.get("type"):
            raise Fail(400, "request.invalid", "The request is not valid: idempotencyKey and fault.type are required.")
        if key in self.keys:
            f = dict(self.faults[self.keys[key]])
            f["created"] = False
            return 200, self.view(f)
        if self.halted:
            raise Fail(409, "agent.halted", "This agent is halted and refuses new faults. Run 'chaos resume' when it is safe again.")
        lease = duration_ms(req.get("lease")) if req.get("lease") else 15000
        if lease is None or lease > 300000:
            raise Fail(403, "policy.denied", "Refused by this host's policy: a lease longer than 5m.")
        duration = duration_ms(fault.get("duration")) if fault.get("duration") else None
        fid = "f-" + secrets.token_hex(4)
        deadline = int(t + duration) if duration else None
        f = {"id": fid, "kind": fault["type"], "state": "injected", "target": "this host",
             "actions": ["simulated %s on %s (nothing is done)" % (fault["type"], self.name)],
             "deadline": deadline, "leaseExpiresAt": int(min(t + lease, deadline or t + lease)),
             "runID": req.get("runID"), "idempotencyKey": key, "requestedBy": caller,
             "failure": None, "note": None, "verified": "active", "created": True, "_injectedAt": t}
        self.faults[fid] = f
        self.keys[key] = fid
        self.ev["inject"].append([t, caller, fid])
        return 201, self.view(f)

    def reap(self, t):
        for f in self.open_faults():
            if f["leaseExpiresAt"] is not None and t > f["leaseExpiresAt"]:
                self.revert(f, "its lease ran out", t)
                self.ev["expired"].append([t, "lease", f["id"]])
            elif f.get("deadline") and t > f["deadline"]:
                self.revert(f, "its deadline passed", t)
                self.ev["expired"].append([t, "deadline", f["id"]])

    @staticmethod
    def body(body):
        if not body:
            return {}
        try:
            v = json.loads(body)
        except ValueError:
            raise Fail(400, "request.invalid", "The body is not JSON.")
        if not isinstance(v, dict):
            raise Fail(400, "request.invalid", "The body is not a JSON object.")
        return v


REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}


class Worker:
    def __init__(self, k, args):
        self.k, self.args = k, args
        self.agents = {}
        for i in range(k, args.n, args.workers):
            self.agents[i] = Agent(i)
        self.handshake_failures = 0
        self.last_handshake_error = None
        self.errors = 0

    def caller(self, writer):
        cert = writer.get_extra_info("peercert") or {}
        subject = dict(x[0] for x in cert.get("subject", ()))
        return "%s:%s" % (subject.get("organizationalUnitName", "?"), subject.get("commonName", "?"))

    async def serve_agent(self, reader, writer):
        sockname = writer.get_extra_info("sockname")
        agent = self.agents.get(index_of(sockname[0]) if sockname else None)
        if agent is None:
            writer.close()
            return
        agent.conns.append(now_ms())
        caller = self.caller(writer)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    method, target, version = line.decode("latin-1").split()
                except ValueError:
                    break
                headers = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    while True:
                        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        body += await reader.readexactly(size)
                        await reader.readline()
                t = now_ms()
                path, _, qs = target.partition("?")
                query = dict(p.partition("=")[::2] for p in qs.split("&") if p)
                try:
                    status, obj = agent.handle(method, path, query, body, t, caller)
                except Fail as e:
                    status, obj = e.status, {"error": {"code": e.code, "message": "%s: %s" % (agent.name, e.message)}}
                except Exception as e:  # a bug here must show, not hang the client
                    self.errors += 1
                    status, obj = 500, {"error": {"code": "internal", "message": repr(e)}}
                data = json.dumps(obj, separators=(",", ":")).encode()
                close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
                writer.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
                    status, REASONS.get(status, "Status").encode(), len(data), b"connection: close\r\n" if close else b"", data))
                await writer.drain()
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    def stats(self, full):
        agents = self.agents.values()
        counts = {k: sum(len(a.ev[k]) for a in agents) for k in ("preview", "inject", "revert", "halt", "resume", "expired")}
        counts.update(renew=sum(len(a.renews) for a in agents), connections=sum(len(a.conns) for a in agents),
                      open=sum(len(a.open_faults()) for a in agents), halted=sum(a.halted for a in agents),
                      handshakeFailures=self.handshake_failures, errors=self.errors)
        out = {"worker": self.k, "pid": os.getpid(), "agents": len(self.agents), "counts": counts,
               "lastHandshakeError": self.last_handshake_error}
        if full:
            out["perAgent"] = {a.name: {"i": a.i, "events": a.ev, "renews": a.renews, "connections": a.conns,
                                        "faults": [dict(f) for f in a.faults.values()]} for a in agents}
        return out

    async def serve_stats(self, reader, writer):
        try:
            line = await reader.readline()
            if line:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                path = line.decode("latin-1").split()[1] if len(line.split()) > 1 else "/"
                if path in ("/stats", "/counts"):
                    status, obj = 200, self.stats(full=path == "/stats")
                else:
                    status, obj = 404, {"error": "GET /stats or /counts"}
                data = json.dumps(obj, separators=(",", ":")).encode()
                writer.write(b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s" % (status, len(data), data))
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def reaper(self):
        while True:
            await asyncio.sleep(0.5)
            t = now_ms()
            for a in self.agents.values():
                if a.faults:
                    a.reap(t)

    def exception_handler(self, loop, context):
        msg = context.get("message", "")
        exc = context.get("exception")
        if "handshake" in msg.lower() or isinstance(exc, ssl.SSLError):
            self.handshake_failures += 1
            self.last_handshake_error = "%s %r" % (msg, exc)
            return
        if isinstance(exc, (ConnectionError, OSError)):
            return
        loop.default_exception_handler(context)

    async def main(self, ready_fd):
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self.exception_handler)
        a = self.args
        def context(cert):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cert, a.key)
            ctx.load_verify_locations(a.ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
            return ctx
        shared = context(a.cert) if a.cert else None
        servers = []
        for i in self.agents:
            ctx = shared or context(os.path.join(a.cert_dir, self.agents[i].name + ".pem"))
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address(i), a.port))
            s.listen(1024)
            s.setblocking(False)
            servers.append(await asyncio.start_server(self.serve_agent, sock=s, ssl=ctx, ssl_handshake_timeout=30))
        servers.append(await asyncio.start_server(self.serve_stats, "127.0.0.1", a.stats_port + self.k, backlog=4096))
        loop.create_task(self.reaper())
        os.write(ready_fd, b"%d\n" % self.k)
        os.close(ready_fd)
        await asyncio.Event().wait()


def serve(args):
    r, w = os.pipe()
    children = []
    for k in range(args.workers):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                asyncio.run(Worker(k, args).main(w))
            except BaseException as e:  # report, then die: the parent notices
                print("simfleet worker %d: %r" % (k, e), file=sys.stderr)
                os._exit(1)
            os._exit(0)
        children.append(pid)
    os.close(w)

    def stop(*_):
        for c in children:
            try:
                os.kill(c, signal.SIGTERM)
            except ProcessLookupError:
                pass
    signal.signal(signal.SIGTERM, lambda *_: (stop(), os._exit(0)))
    signal.signal(signal.SIGINT, lambda *_: (stop(), os._exit(0)))
    ready = 0
    with os.fdopen(r) as pipe:
        for _ in pipe:
            ready += 1
            if ready == args.workers:
                break
    if ready < args.workers:
        stop()
        print("simfleet: a worker failed to start", file=sys.stderr)
        sys.exit(1)
    msg = "simfleet ready: %d agents, %s..%s port %d, %d workers, stats 127.0.0.1:%d-%d\n" % (
        args.n, address(0), address(args.n - 1), args.port, args.workers, args.stats_port, args.stats_port + args.workers - 1)
    sys.stdout.write(msg)
    sys.stdout.flush()
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(msg)
    # Any worker that ends ends the fleet.
    _, status = os.wait()
    stop()
    sys.exit(0 if status == 0 else 1)


def stats(args):
    merged = {"workers": [], "counts": {}, "perAgent": {}}
    for k in range(args.workers):
        path = "/counts" if args.counts else "/stats"
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (args.stats_port + k, path), timeout=30) as r:
            w = json.load(r)
        merged["perAgent"].update(w.pop("perAgent", {}))
        for key, v in w["counts"].items():
            merged["counts"][key] = merged["counts"].get(key, 0) + v
        merged["workers"].append(w)
    if args.counts:
        del merged["perAgent"]
    json.dump(merged, sys.stdout, separators=(",", ":"))


def main():
    import argparse
    head, _, rest = __doc__.partition("\n")
    p = argparse.ArgumentParser(description=head, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=rest)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--stats-port", type=int, required=True)
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    certs = s.add_mutually_exclusive_group(required=True)
    certs.add_argument("--cert", help="one certificate for every agent (it must name every address)")
    certs.add_argument("--cert-dir", help="DIR/sim-NNNN.pem per agent")
    s.add_argument("--key", required=True)
    s.add_argument("--ca", required=True)
    s.add_argument("--ready-file")
    t = sub.add_parser("stats")
    t.add_argument("--stats-port", type=int, required=True)
    t.add_argument("--workers", type=int, required=True)
    t.add_argument("--counts", action="store_true")
    a = sub.add_parser("addr")
    a.add_argument("i", type=int)
    args = p.parse_args()
    if args.cmd == "serve":
        if not 1 <= args.n <= PER_OCTET * 256:
            p.error("--n must be 1..%d" % (PER_OCTET * 256))
        args.workers = max(1, min(args.workers, args.n))
        serve(args)
    elif args.cmd == "stats":
        stats(args)
    else:
        print(address(args.i))


if __name__ == "__main__":
    main()
