#!/usr/bin/python3
"""bench/netprobe.py — real traffic for bench/net.sh's accuracy mode (standard library only).

  netprobe.py server --bind ADDR [--udp-port P] [--tcp-port P ...] [--ready-file F]
      UDP echo server (one thread) and TCP stream echo servers (a thread per connection).
      Writes READY-FILE once every socket listens; runs until SIGTERM/SIGINT.

  netprobe.py udp --to ADDR --port P --count N --rate R [--size B] [--wait S] [--rtt-list]
      Paced UDP client: N datagrams at R per second (perf_counter busy-wait pacing), each carrying
      its sequence number and send time; a second thread receives the echoes. The receive time is
      the kernel's (SO_TIMESTAMPNS, when the echo reached the socket), so a late Python thread does
      not inflate the RTT. Prints one JSON object: counts (sent, send errors, received, lost,
      duplicates, out-of-order echoes = echoes whose sequence is lower than the highest seen so
      far), the achieved send rate and pacing lateness, RTT statistics in ms; with --rtt-list also
      the RTT of every datagram by sequence (null = no echo).

  netprobe.py tcp --to ADDR --port P --count N [--size B] [--ready-file F --go-file G]
      One long-lived TCP connection (TCP_NODELAY) doing N request/response round trips of B bytes.
      With --ready-file/--go-file it connects first, writes "PID LOCAL_PORT" to READY-FILE, waits
      until GO-FILE exists, then starts (to measure a connection opened before a fault). Prints the
      same JSON shape; a connection that breaks (reset, timeout) adds "error" and exits 3.
"""
import argparse
import json
import math
import os
import signal
import socket
import statistics
import struct
import sys
import threading
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)      # Linux, x86_64/aarch64 value
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
HEADER = struct.Struct("!QQ")                                 # sequence, send time (ns, CLOCK_REALTIME)


def big_buffers(sock, size=8 << 20):
    for force, plain in ((SO_RCVBUFFORCE, socket.SO_RCVBUF), (SO_SNDBUFFORCE, socket.SO_SNDBUF)):
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)   # root: beyond rmem_max
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, plain, size)


def pct(sorted_values, p):
    """Percentile with linear interpolation between closest ranks (p in 0..100)."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def rtt_stats(rtts):
    v = sorted(rtts)
    if not v:
        return None
    out = {"min": v[0], "max": v[-1], "mean": statistics.fmean(v),
           "stdev": statistics.pstdev(v) if len(v) > 1 else 0.0}
    for p in (1, 10, 25, 50, 75, 90, 99):
        out[f"p{p}"] = pct(v, p)
    return {k: round(x, 4) for k, x in out.items()}


# ------------------------------------------------------------------ server
def serve(args):
    stop = threading.Event()
    socks = []
    if args.udp_port:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        big_buffers(u)
        u.bind((args.bind, args.udp_port))
        socks.append(u)

        def udp_echo():
            recvfrom, sendto = u.recvfrom, u.sendto
            while True:
                try:
                    data, peer = recvfrom(4096)
                    sendto(data, peer)
                except OSError:
                    if stop.is_set():
                        return
        threading.Thread(target=udp_echo, daemon=True).start()

    def tcp_conn(c):
        with c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                try:
                    data = c.recv(65536)
                    if not data:
                        return
                    c.sendall(data)
                except OSError:
                    return

    def tcp_accept(l):
        while True:
            try:
                c, _ = l.accept()
            except OSError:
                if stop.is_set():
                    return
                continue
            threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()

    for port in args.tcp_port or []:
        l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((args.bind, port))
        l.listen(64)
        socks.append(l)
        threading.Thread(target=tcp_accept, args=(l,), daemon=True).start()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.rename(args.ready_file + ".tmp", args.ready_file)
    while not stop.wait(0.5):
        pass
    for s in socks:
        s.close()
    return 0


# ------------------------------------------------------------------ UDP client
def udp_client(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    big_buffers(sock)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.connect((args.to, args.port))
    sock.settimeout(0.1)
    n, size = args.count, max(args.size, HEADER.size)
    pad = b"\0" * (size - HEADER.size)
    arrivals = []                       # (seq, kernel receive ns, send ns) in arrival order
    done = threading.Event()
    sending_over = threading.Event()
    unique = set()

    def receiver():
        anc = socket.CMSG_SPACE(16)
        recvmsg = sock.recvmsg
        while True:
            try:
                data, ancdata, _, _ = recvmsg(4096, anc)
            except socket.timeout:
                if done.is_set():
                    return
                continue
            except OSError:             # e.g. ICMP unreachable reported on a connected socket
                if done.is_set():
                    return
                continue
            rx = None
            for level, typ, cdata in ancdata:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(cdata) >= 16:
                    sec, nsec = struct.unpack("qq", cdata[:16])
                    rx = sec * 1_000_000_000 + nsec
            if rx is None:
                rx = time.time_ns()
            if len(data) < HEADER.size:
                continue
            seq, sent_ns = HEADER.unpack_from(data)
            arrivals.append((seq, rx, sent_ns))
            unique.add(seq)
            if sending_over.is_set() and len(unique) >= n:
                done.set()

    # The sender spins: give the receiver the GIL often (it only drains the socket; times are the kernel's).
    sys.setswitchinterval(0.0002)
    t = threading.Thread(target=receiver, daemon=True)
    t.start()
    interval = 1.0 / args.rate
    pc, tns, send, pack = time.perf_counter, time.time_ns, sock.send, HEADER.pack
    sleep = time.sleep
    send_errors = 0
    lateness = []
    start = pc()
    first = last = start
    for i in range(n):
        target = start + i * interval
        while True:
            now = pc()
            d = target - now
            if d <= 0:
                break
            if d > 0.002:
                sleep(d - 0.0015)
        lateness.append(now - target)
        try:
            send(pack(i, tns()) + pad)
        except OSError:                 # EPERM: dropped by a netfilter rule on the way out
            send_errors += 1
        if i == 0:
            first = now
        last = now
    sending_over.set()
    if len(unique) >= n:
        done.set()
    done.wait(args.wait)
    done.set()
    t.join(1.0)

    rtt_by_seq = {}
    out_of_order = duplicates = 0
    highest = -1
    for seq, rx, sent_ns in list(arrivals):
        if seq in rtt_by_seq:
            duplicates += 1
            continue
        rtt_by_seq[seq] = (rx - sent_ns) / 1e6
        if seq < highest:
            out_of_order += 1
        highest = max(highest, seq)
    lat = sorted(x * 1000 for x in lateness)
    result = {
        "mode": "udp", "to": f"{args.to}:{args.port}", "size": size,
        "sent": n, "send_errors": send_errors,
        "received": len(rtt_by_seq), "lost": n - len(rtt_by_seq),
        "loss_ratio": round((n - len(rtt_by_seq)) / n, 6),
        "duplicates": duplicates, "out_of_order": out_of_order,
        "rate_requested": args.rate,
        "rate_achieved": round((n - 1) / (last - first), 1) if n > 1 and last > first else None,
        "send_duration_s": round(last - first, 4),
        "send_lateness_ms": {"p50": round(pct(lat, 50), 4), "p99": round(pct(lat, 99), 4), "max": round(lat[-1], 4)},
        "rtt_ms": rtt_stats(list(rtt_by_seq.values())),
    }
    if args.rtt_list:
        result["rtts_ms"] = [round(rtt_by_seq[i], 4) if i in rtt_by_seq else None for i in range(n)]
    json.dump(result, sys.stdout)
    print()
    return 0


# ------------------------------------------------------------------ TCP client
def tcp_client(args):
    size = max(args.size, HEADER.size)
    pad = b"\0" * (size - HEADER.size)
    sock = socket.create_connection((args.to, args.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.ready_file:                 # "PID LOCAL_PORT", written once connected
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()} {sock.getsockname()[1]}\n")
        os.rename(args.ready_file + ".tmp", args.ready_file)
    if args.go_file:
        deadline = time.monotonic() + args.go_timeout
        while not os.path.exists(args.go_file):
            if time.monotonic() > deadline:
                print(json.dumps({"mode": "tcp", "error": f"no {args.go_file} within {args.go_timeout}s"}))
                return 1
            time.sleep(0.005)
    # RTT = the kernel's receive time of the echo's last segment (SO_TIMESTAMPNS, as for UDP) minus
    # the send time; the time the client itself saw (perf_counter around send/recv, which includes
    # its wake-up from the blocking recv) is reported too, as rtt_user_ms.
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    anc = socket.CMSG_SPACE(16)
    rtts, user_rtts = [], []
    pc = time.perf_counter_ns
    buf = bytearray(size)
    view = memoryview(buf)
    error = None
    sock.settimeout(args.io_timeout)
    try:
        for i in range(args.count):
            t0 = pc()
            sent_ns = time.time_ns()
            sock.sendall(HEADER.pack(i, sent_ns) + pad)
            got = 0
            rx = None
            while got < size:
                k, ancdata, _, _ = sock.recvmsg_into([view[got:]], anc)
                if k == 0:
                    raise ConnectionError("the peer closed the connection")
                got += k
                for level, typ, cdata in ancdata:
                    if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(cdata) >= 16:
                        sec, nsec = struct.unpack("qq", cdata[:16])
                        rx = sec * 1_000_000_000 + nsec
            t1 = pc()
            seq, _ = HEADER.unpack_from(buf)
            if seq != i:
                raise ConnectionError(f"echo {seq} where {i} was expected")
            user_rtts.append((t1 - t0) / 1e6)
            rtts.append((rx - sent_ns) / 1e6 if rx is not None else (t1 - t0) / 1e6)
            if args.interval_ms:
                time.sleep(args.interval_ms / 1000)
    except OSError as e:                # reset, timeout, closed: reported, not a traceback
        error = f"{type(e).__name__}: {e} after {len(rtts)} round trips"
    sock.close()
    result = {"mode": "tcp", "to": f"{args.to}:{args.port}", "size": size, "sent": args.count,
              "received": len(rtts), "rtt_ms": rtt_stats(rtts), "rtt_user_ms": rtt_stats(user_rtts)}
    if error:
        result["error"] = error
    if args.rtt_list:
        result["rtts_ms"] = [round(x, 4) for x in rtts]
    json.dump(result, sys.stdout)
    print()
    return 3 if error else 0


def main():
    p = argparse.ArgumentParser(prog="netprobe.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--udp-port", type=int)
    s.add_argument("--tcp-port", type=int, action="append")
    s.add_argument("--ready-file")
    u = sub.add_parser("udp")
    u.add_argument("--to", required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--count", type=int, required=True)
    u.add_argument("--rate", type=float, required=True, help="datagrams per second")
    u.add_argument("--size", type=int, default=64, help="datagram payload bytes (>= 16)")
    u.add_argument("--wait", type=float, default=1.0, help="seconds to wait for echoes after the last send")
    u.add_argument("--rtt-list", action="store_true")
    t = sub.add_parser("tcp")
    t.add_argument("--to", required=True)
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--count", type=int, required=True)
    t.add_argument("--size", type=int, default=64)
    t.add_argument("--interval-ms", type=float, default=0)
    t.add_argument("--ready-file")
    t.add_argument("--go-file")
    t.add_argument("--go-timeout", type=float, default=60)
    t.add_argument("--io-timeout", type=float, default=10, help="seconds a round trip may take before giving up")
    t.add_argument("--rtt-list", action="store_true")
    args = p.parse_args()
    if args.cmd in ("udp", "tcp") and args.count < 1:
        p.error("--count must be >= 1")
    if args.cmd == "udp" and args.rate <= 0:
        p.error("--rate must be > 0")
    return {"server": serve, "udp": udp_client, "tcp": tcp_client}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
