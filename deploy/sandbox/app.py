#!/usr/bin/env python3
"""A tiny web app for the chaos sandbox: its health depends on the database.

    app.py --listen ADDR:PORT (--sentinel ADDR:PORT ... | --redis ADDR:PORT) [--master mymaster]

GET /health  200 {"status": "up", "master": "10.80.0.21:6379"} when the Redis primary accepts a write
             (SET of a 1 KiB record, the size of a small session, with a 500 ms socket timeout), else
             503 {"status": "down", "error": "..."}. The record's size makes a full data disk show at
             once: Redis appends it to its log, and a few bytes would fit in the last page for seconds.
GET /        200 with a visit counter (INCR), or 503.
The primary is asked of the sentinels on every request (the first that answers), so the app follows a
failover; the sentinel that answered is asked first next time, as redis-py's Sentinel does, so a
sentinel that hangs costs one timeout rather than one per request; with --redis it is fixed (the
SPOF variant). Plain sockets and RESP: no dependencies.

Connections are pooled, as real clients do (redis-py, Jedis, Lettuce): each Redis or sentinel address
keeps its idle connections open for the next request, so the app talks to Redis over long-lived
connections opened before any fault. A pooled connection that fails is closed; if it had served
before (the server may have restarted or failed over), the command is retried once on a new one.
--no-pool opens a connection per command instead.
"""
import argparse, json, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POOL = {}
POOL_LOCK = threading.Lock()
SENTINELS_LOCK = threading.Lock()
POOLING = True

def connect(addr, timeout):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.settimeout(timeout)
    return s, s.makefile("rb")

def resp(addr, *args, timeout=0.5):
    request = ("*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a.encode()), a) for a in args)).encode()
    if not POOLING:
        s, f = connect(addr, timeout)
        with s:
            s.sendall(request)
            return read(f)
    for attempt in (0, 1):
        with POOL_LOCK:
            idle = POOL.setdefault(addr, [])
            conn = idle.pop() if idle else None
        reused = conn is not None
        if conn is None:
            conn = connect(addr, timeout)
        s, f = conn
        try:
            s.sendall(request)
            reply = read(f)
        except RuntimeError:
            # A Redis error reply: the connection is fine.
            with POOL_LOCK:
                POOL[addr].append(conn)
            raise
        except ConnectionError:
            # Closed or reset: a pooled connection may be stale (the server restarted); try a new one.
            s.close()
            if reused and attempt == 0:
                continue
            raise
        except Exception:
            # A timeout or anything else: the server may have the command; never send it twice.
            s.close()
            raise
        with POOL_LOCK:
            POOL[addr].append(conn)
        return reply

def read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n").decode()
    if kind == b"+": return rest
    if kind == b"-": raise RuntimeError(rest)
    if kind == b":": return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0: return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read(f) for _ in range(n)]
    raise RuntimeError("bad reply %r" % line)

class App(BaseHTTPRequestHandler):
    def primary(self):
        if self.server.redis:
            return self.server.redis
        errors = []
        with SENTINELS_LOCK:
            order = list(self.server.sentinels)
        for s in order:
            try:
                r = resp(s, "SENTINEL", "get-master-addr-by-name", self.server.master)
                if r:
                    # As redis-py's Sentinel does: the sentinel that answered is asked first next time,
                    # so one that hangs (its host cut off) costs one timeout, not one per request.
                    with SENTINELS_LOCK:
                        if self.server.sentinels[0] != s:
                            self.server.sentinels.remove(s)
                            self.server.sentinels.insert(0, s)
                    return "%s:%s" % (r[0], r[1])
            except Exception as e:
                errors.append("%s: %s" % (s, e))
        raise RuntimeError("no sentinel knows the primary (%s)" % "; ".join(errors))

    def do_GET(self):
        try:
            primary = self.primary()
            if self.path == "/health":
                record = json.dumps({"app": self.server.name, "at": time.time()})
                resp(primary, "SET", "chaos:health:" + self.server.name, record.ljust(1024))
                self.answer(200, {"status": "up", "master": primary})
            elif self.path == "/":
                self.answer(200, {"visits": resp(primary, "INCR", "chaos:visits"), "master": primary})
            else:
                self.answer(404, {"error": "not found"})
        except Exception as e:
            self.answer(503, {"status": "down", "error": str(e)})

    def answer(self, status, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--sentinel", action="append", default=[])
    p.add_argument("--redis")
    p.add_argument("--master", default="mymaster")
    p.add_argument("--no-pool", action="store_true", help="a new connection per Redis command")
    a = p.parse_args()
    global POOLING
    POOLING = not a.no_pool
    if not a.sentinel and not a.redis:
        p.error("give --sentinel ADDR:PORT (repeat) or --redis ADDR:PORT")
    host, port = a.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), App)
    server.daemon_threads = True
    server.sentinels, server.redis, server.master, server.name = a.sentinel, a.redis, a.master, a.listen
    server.serve_forever()

if __name__ == "__main__":
    sys.exit(main())
