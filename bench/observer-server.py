#!/usr/bin/env python3
"""bench/observer-server.py — the health endpoints bench/observer.sh points chaos's probes at.

One asyncio HTTP/1.1 server on 127.0.0.1 (standard library only). `GET /health/NAME` answers 200
`ok` and keeps the connection open (HTTP/1.1 keep-alive; the client decides whether to reuse it).
It counts what it actually answered, per NAME: requests, first and last (epoch seconds), requests
per whole second (to cut out any window afterwards), and per connection how many requests it
carried. `GET /stats` answers all of that as JSON (not counted). It writes the port it listens on
to PORTFILE once listening, and exits on SIGTERM/SIGINT.

usage: observer-server.py PORTFILE [PORT]      (PORT 0 or absent: any free port)
"""
import asyncio
import json
import os
import signal
import sys
import time

probes = {}            # name -> {"n": requests, "first": t, "last": t, "sec": {int(t): n}}
connections = 0        # accepted
per_connection = {}    # requests carried by a closed connection -> how many connections
open_now = 0


def stats():
    return {
        "probes": {k: {"n": v["n"], "first": v["first"], "last": v["last"],
                       "sec": {str(s): n for s, n in v["sec"].items()}} for k, v in probes.items()},
        "connections": connections,
        "open": open_now,
        "requestsPerConnection": {str(k): v for k, v in sorted(per_connection.items())},
    }


async def handle(reader, writer):
    global connections, open_now
    connections += 1
    open_now += 1
    carried = 0
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            length = 0
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip() or 0)
            if length:
                await reader.readexactly(length)
            parts = line.split()
            path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
            status, body, close = b"200 OK", b"ok\n", False
            if path == "/stats":
                body, close = json.dumps(stats()).encode(), True
            elif path.startswith("/health"):
                now = time.time()
                name = path[len("/health"):].strip("/") or "health"
                p = probes.get(name)
                if p is None:
                    p = probes[name] = {"n": 0, "first": now, "last": now, "sec": {}}
                p["n"] += 1
                p["last"] = now
                s = int(now)
                p["sec"][s] = p["sec"].get(s, 0) + 1
                carried += 1
            else:
                status, body = b"404 Not Found", b"not found\n"
            head = b"HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n" % (
                status, len(body), b"Connection: close\r\n" if close else b"")
            writer.write(head + body)
            await writer.drain()
            if close:
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        open_now -= 1
        if carried:
            per_connection[carried] = per_connection.get(carried, 0) + 1
        writer.close()


async def main():
    portfile = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024, reuse_address=True)
    got = server.sockets[0].getsockname()[1]
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % got)
    os.rename(tmp, portfile)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
