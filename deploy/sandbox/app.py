#!/usr/bin/env python3
"""A tiny web app for the chaos sandbox: its health depends on the database.

    app.py --listen ADDR:PORT (--sentinel ADDR:PORT ... | --redis ADDR:PORT) [--master mymaster]

GET /health  200 {"status": "up", "master": "10.80.0.21:6379"} when the Redis primary accepts a write
             (SET of a 1 KiB record, the size of a small session, with a 500 ms socket timeout), else
             503 {"status": "down", "error": "..."}. The record's size makes a full data disk show at
             once: Redis appends it to its log, and a few bytes would fit in the last page for seconds.
GET /        200 with a visit counter (INCR), or 503.
The primary is asked of the sentinels on every request (the first that answers), so the app follows a
failover; with --redis it is fixed (the SPOF variant). Plain sockets and RESP: no dependencies.
"""
import argparse, json, socket, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def resp(addr, *args, timeout=0.5):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(("*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a.encode()), a) for a in args)).encode())
        f = s.makefile("rb")
        return read(f)

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
        for s in self.server.sentinels:
            try:
                r = resp(s, "SENTINEL", "get-master-addr-by-name", self.server.master)
                if r:
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
    a = p.parse_args()
    if not a.sentinel and not a.redis:
        p.error("give --sentinel ADDR:PORT (repeat) or --redis ADDR:PORT")
    host, port = a.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), App)
    server.daemon_threads = True
    server.sentinels, server.redis, server.master, server.name = a.sentinel, a.redis, a.master, a.listen
    server.serve_forever()

if __name__ == "__main__":
    sys.exit(main())
