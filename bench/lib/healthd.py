"""healthd: the health endpoint for bench/run.sh, one process shared by every contestant.

    python healthd.py PORTFILE

Listens on 127.0.0.1 (a free port, written to PORTFILE once it listens). GET /health/NAME answers
200 "ok" and counts one probe for NAME (one path per contestant, so each one's probes are counted
apart); GET /counts answers the counts as JSON. HTTP/1.0, one request per connection, no logging:
the same cheap answer for every prober. Ends on SIGTERM/SIGINT.
"""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.startswith("/health/"):
            with lock:
                name = self.path[len("/health/"):]
                counts[name] = counts.get(name, 0) + 1
            self.answer(200, b"ok\n", "text/plain")
        elif self.path == "/counts":
            with lock:
                body = json.dumps(counts).encode()
            self.answer(200, body, "application/json")
        else:
            self.answer(404, b"not found\n", "text/plain")

    do_HEAD = do_GET

    def answer(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(tmp, sys.argv[1])
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
