#!/usr/bin/env python3
"""bench/observer-report.py — sampler and report of bench/observer.sh (standard library only).

  observer-report.py sample OUT.jsonl SAMPLE CHAOS_PID SERVER_PID VICTIM_PID PORT STATE_DIR
      Every SAMPLE seconds until CHAOS_PID is gone (or a zombie), one JSON line: the time, and from
      /proc of the chaos process utime+stime (ticks), VmRSS, RssAnon, RssFile, VmHWM (KiB), threads,
      open files, context switches; the server's and any chaos `_guardian` (of STATE_DIR) ticks; the
      victim's state; and the TCP sockets of PORT by state (/proc/net/tcp{,6}). Reads only.

  observer-report.py report DIR
      Reads DIR/params.json, samples.jsonl, server.json, run.json[.gz] (chaos run --output json) and
      run.rc; prints the table and writes DIR/summary.json. Exit status: 0, 1 when the measurement
      is not valid (no readable verdict, the fault never held, probes far off their rate), 3 when
      STRICT is set and a goal is missed.
"""
import gzip
import json
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
TCP_STATES = {"01": "established", "06": "time_wait", "08": "close_wait", "0A": "listen"}


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def stat_of(pid):
    """(state, utime+stime ticks, starttime) of a pid, or None."""
    s = read("/proc/%d/stat" % pid)
    if s is None:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[11]) + int(rest[12]), int(rest[12])   # state, utime+stime, stime


def status_of(pid):
    s = read("/proc/%d/status" % pid)
    out = {}
    if s is None:
        return out
    for line in s.splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
            out[k] = int(v.split()[0])
    return out


def switches(pid):
    """Voluntary context switches of all live threads of pid (wake-ups after sleeping)."""
    total = 0
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for t in tasks:
        s = read("/proc/%d/task/%s/status" % (pid, t)) or ""
        for line in s.splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                total += int(line.split()[1])
    return total


def guardians(state_dir):
    """Ticks of every live `chaos _guardian --state-dir STATE_DIR` process (started by the run)."""
    total, pids = 0, []
    needle = state_dir.encode()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"_guardian" in cmd and needle in cmd:
            st = stat_of(int(d))
            if st:
                total += st[1]
                pids.append(int(d))
    return total, pids


def sockets(port):
    counts = {}
    hexport = ":%04X" % port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        s = read(table)
        if not s:
            continue
        for line in s.splitlines()[1:]:
            f = line.split()
            if len(f) < 4 or not (f[1].endswith(hexport) or f[2].endswith(hexport)):
                continue
            name = TCP_STATES.get(f[3], "other")
            counts[name] = counts.get(name, 0) + 1
    return counts


def sample(args):
    out, every, chaos, server, victim, port, state_dir = args[0], float(args[1]), int(args[2]), int(args[3]), int(args[4]), int(args[5]), args[6]
    start = time.monotonic()
    n = 0
    with open(out, "a", buffering=1) as f:
        while True:
            st = stat_of(chaos)
            if st is None or st[0] in ("Z", "X"):
                break
            s = status_of(chaos)
            try:
                fds = len(os.listdir("/proc/%d/fd" % chaos))
            except OSError:
                fds = None
            sv = stat_of(server)
            vt = stat_of(victim)
            g, gp = guardians(state_dir)
            row = {"t": time.time(), "mono": time.monotonic() - start, "ticks": st[1], "sys_ticks": st[2], "state": st[0], "fds": fds,
                   "server_ticks": sv[1] if sv else None, "victim": vt[0] if vt else None,
                   "guardian_ticks": g, "guardians": gp, "sockets": sockets(port)}
            row.update(s)
            row["voluntary_ctxt_switches"] = switches(chaos)
            f.write(json.dumps(row) + "\n")
            n += 1
            time.sleep(max(0.0, start + n * every - time.monotonic()))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else None


def slope_per_min(points):
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx * 60


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def fmt(v, spec="%.2f", none="–"):
    return none if v is None else spec % v


def report(d):
    P = json.load(open(os.path.join(d, "params.json")))
    samples = [json.loads(l) for l in open(os.path.join(d, "samples.jsonl")) if l.strip()]
    server = json.load(open(os.path.join(d, "server.json")))
    rc = int((read(os.path.join(d, "run.rc")) or "-1").strip() or -1)
    problems, missed = [], []

    # --- the run's verdict and its phases, from chaos's own record
    record, verdict, events = None, None, {}
    try:
        path = os.path.join(d, "run.json")
        if os.path.exists(path):
            record = json.load(open(path))
        else:
            with gzip.open(path + ".gz", "rt") as f:
                record = json.load(f)
        verdict = record.get("verdict")
        for e in record.get("journal", {}).get("events", []):
            events.setdefault(e.get("kind"), e.get("at"))
    except (OSError, ValueError) as e:
        problems.append("cannot read the run's record (chaos run --output json): %s" % e)
    outcome = None
    if isinstance(verdict, dict):
        outcome = verdict.get("outcome") or verdict.get("result") or verdict.get("status")
    elif isinstance(verdict, str):
        outcome = verdict
    if record is not None and outcome is None:
        problems.append("the run's record has no readable verdict")
    injected, reverted = events.get("injected"), events.get("reverted")
    if injected is None or reverted is None:
        problems.append("the fault was not injected and reverted (events: %s); nothing was held to measure under" % ", ".join(sorted(events)))

    # --- the hold window: from the inject to the revert (epoch seconds), trimmed by one sample each side
    if injected is not None and reverted is not None:
        w0, w1 = injected / 1000.0, reverted / 1000.0
    elif samples:
        w0, w1 = samples[0]["t"], samples[-1]["t"]
    else:
        w0 = w1 = 0
    hold = [s for s in samples if w0 <= s["t"] <= w1]
    if len(hold) < 3:
        problems.append("only %d samples while the fault held (SAMPLE=%s s, DURATION=%s s)" % (len(hold), P["sample"], P["duration"]))

    def cpu_between(a, b, key="ticks"):
        if a.get(key) is None or b.get(key) is None or b["t"] <= a["t"]:
            return None
        return (b[key] - a[key]) / HZ / (b["t"] - a["t"]) * 100

    cpu_mean = cpu_between(hold[0], hold[-1]) if len(hold) >= 2 else None
    per = [cpu_between(a, b) for a, b in zip(hold, hold[1:])]
    per = [x for x in per if x is not None]
    sys_cpu = cpu_between(hold[0], hold[-1], "sys_ticks") if len(hold) >= 2 else None
    k = len(hold) // 3
    cpu_first = cpu_between(hold[0], hold[k]) if k >= 1 else None          # does the cost grow with the run?
    cpu_last = cpu_between(hold[-1 - k], hold[-1]) if k >= 1 else None
    server_cpu = cpu_between(hold[0], hold[-1], "server_ticks") if len(hold) >= 2 else None
    guardian_cpu = cpu_between(hold[0], hold[-1], "guardian_ticks") if len(hold) >= 2 else None
    whole_cpu_s = samples[-1]["ticks"] / HZ if samples else None

    def mem(key):
        pts = [(s["t"] - w0, s[key]) for s in hold if s.get(key) is not None]
        if not pts:
            return {}
        third = max(1, len(pts) // 3)
        first, last = mean([v for _, v in pts[:third]]), mean([v for _, v in pts[-third:]])
        return {"start": pts[0][1], "middle": pts[len(pts) // 2][1], "end": pts[-1][1], "max": max(v for _, v in pts),
                "slopeKiBPerMin": slope_per_min(pts), "firstThird": first, "lastThird": last, "growth": last - first}

    rss, anon, rssfile = mem("VmRSS"), mem("RssAnon"), mem("RssFile")
    hwm = samples[-1].get("VmHWM") if samples else None

    # --- what the server answered
    probes = server.get("probes", {})
    total = sum(p["n"] for p in probes.values())
    lo, hi = int(w0) + 1, int(w1) - 1          # whole seconds inside the hold window
    secs = max(0, hi - lo + 1)
    in_hold = {k: sum(n for s, n in p["sec"].items() if lo <= int(s) <= hi) for k, p in probes.items()}
    rates = {k: (n / secs if secs else None) for k, n in in_hold.items()}
    want = P["probes"] * P["hz"]
    agg = sum(in_hold.values()) / secs if secs else None
    span = (max(p["last"] for p in probes.values()) - min(p["first"] for p in probes.values())) if probes else 0
    expected_nominal = P["probes"] * P["hz"] * P["duration"]
    answered_hold_nominal = agg * P["duration"] if agg is not None else None
    if len(probes) != P["probes"]:
        problems.append("the server saw %d probes, not %d" % (len(probes), P["probes"]))
    if agg is None or not (0.9 * want <= agg <= 1.1 * want):
        problems.append("probe rate far off: %s requests/s answered while the fault held, %d expected" % (fmt(agg, "%.1f"), want))
    slow = {k: r for k, r in rates.items() if r is None or r < 0.9 * P["hz"]}
    if slow:
        problems.append("probes below 90%% of %s Hz: %s" % (P["hz"], ", ".join("%s %s/s" % (k, fmt(r, "%.2f")) for k, r in sorted(slow.items()))))

    # --- chaos's own count, for comparison (samples it journaled; failures by reason)
    journal_n, journal_ok, reasons = None, None, {}
    if record is not None:
        js = record.get("journal", {}).get("samples", [])
        journal_n = len(js)
        journal_ok = 0
        for s in js:
            j = s.get("judgement")
            if j == "ok" or (isinstance(j, dict) and "ok" in j):
                journal_ok += 1
            else:
                r = json.dumps(j)[:80]
                reasons[r] = reasons.get(r, 0) + 1

    conns = server.get("connections", 0)
    rpc = server.get("requestsPerConnection", {})
    tw = max((s.get("sockets", {}).get("time_wait", 0) for s in hold), default=None)
    est = max((s.get("sockets", {}).get("established", 0) for s in hold), default=None)
    fds = [s["fds"] for s in hold if s.get("fds") is not None]
    threads = [s["Threads"] for s in hold if s.get("Threads") is not None]
    wakeups = None
    if len(hold) >= 2 and hold[0].get("voluntary_ctxt_switches") is not None:
        wakeups = (hold[-1]["voluntary_ctxt_switches"] - hold[0]["voluntary_ctxt_switches"]) / (hold[-1]["t"] - hold[0]["t"])
    observations_per_min = (journal_n / ((samples[-1]["t"] - samples[0]["t"]) / 60)) if journal_n and len(samples) > 1 else want * 60
    bytes_per_obs = (rss["slopeKiBPerMin"] * 1024 / (want * 60)) if rss.get("slopeKiBPerMin") is not None else None

    cpu_goal = P["cpu_goal"]
    flat_kib = P["flat_kib"]
    cpu_met = cpu_mean is not None and cpu_mean < cpu_goal
    flat_met = rss.get("growth") is not None and abs(rss["growth"]) <= flat_kib
    if not cpu_met:
        missed.append("CPU")
    if not flat_met:
        missed.append("flat memory")

    # --- the table
    L = []
    L.append("chaos observer benchmark: %d http probes x %g Hz, fault held %d s (%s)" % (P["probes"], P["hz"], P["duration"], P["chaos"]))
    if P.get("debug"):
        L.append("  !! DEBUG BUILD: not representative of a release build's CPU or memory")
    L.append("  run: exit %d, verdict %s; fault held %.1f s (inject -> revert), %d samples every %s s" % (
        rc, outcome, w1 - w0, len(hold), P["sample"]))
    L.append("")
    L.append("  %-44s %14s   %s" % ("measure (while the fault held)", "value", "goal"))
    L.append("  %-44s %12s %%   < %g %% of one core: %s" % ("chaos CPU, mean", fmt(cpu_mean), cpu_goal, "met" if cpu_met else "MISSED"))
    L.append("  %-44s %12s %%   (the rest, %s %%, in user space)" % ("  of which in the kernel (stime)", fmt(sys_cpu), fmt(cpu_mean - sys_cpu if cpu_mean is not None and sys_cpu is not None else None)))
    L.append("  %-44s %14s" % ("chaos CPU, first / last third of the hold", "%s / %s %%" % (fmt(cpu_first), fmt(cpu_last))))
    L.append("  %-44s %12s %%   (p50 %s %%, of %d intervals)" % ("chaos CPU, max of one SAMPLE interval", fmt(max(per) if per else None), fmt(pct(per, 50)), len(per)))
    L.append("  %-44s %12s MiB" % ("VmRSS at start / middle / end", "%s / %s / %s" % tuple(fmt(rss.get(k) and rss[k] / 1024, "%.1f") for k in ("start", "middle", "end"))))
    L.append("  %-44s %12s MiB" % ("RssAnon at start / middle / end", "%s / %s / %s" % tuple(fmt(anon.get(k) and anon[k] / 1024, "%.1f") for k in ("start", "middle", "end"))))
    L.append("  %-44s %12s KiB/min (RssAnon %s KiB/min; ~%s bytes per observation)" % ("VmRSS slope", fmt(rss.get("slopeKiBPerMin"), "%.1f"), fmt(anon.get("slopeKiBPerMin"), "%.1f"), fmt(bytes_per_obs, "%.0f")))
    L.append("  %-44s %12s KiB   |growth| <= %d KiB (flat): %s" % ("VmRSS last third - first third", fmt(rss.get("growth"), "%+.0f"), flat_kib, "met" if flat_met else "MISSED"))
    L.append("  %-44s %12s MiB" % ("VmHWM (peak, incl. storing/printing the record)", fmt(hwm and hwm / 1024, "%.1f")))
    L.append("  %-44s %12s       (max %s)" % ("threads / open files", "%s / %s" % (fmt(mean(threads), "%.0f"), fmt(mean(fds), "%.0f")), "%s / %s" % (max(threads, default="–"), max(fds, default="–"))))
    L.append("  %-44s %12s /s" % ("voluntary context switches, all threads", fmt(wakeups, "%.0f")))
    L.append("")
    L.append("  %-44s %14s" % ("requests answered while the fault held", "%s /s" % fmt(agg, "%.2f")))
    L.append("  %-44s %14s   want %d /s (%d probes x %g Hz)" % ("  i.e. per probe (min / max)", "%s / %s" % (fmt(min(rates.values(), default=None)), fmt(max(rates.values(), default=None))), want, P["probes"], P["hz"]))
    L.append("  %-44s %14s   %d x %g x %d s = %d" % ("  over DURATION at that rate", fmt(answered_hold_nominal, "%.0f"), P["probes"], P["hz"], P["duration"], expected_nominal))
    L.append("  %-44s %14d   over %.1f s of the whole run (gate + hold + recovery)" % ("requests answered in all", total, span))
    L.append("  %-44s %14s   (%s ok)" % ("observations in chaos's journal", fmt(journal_n, "%d"), fmt(journal_ok, "%d")))
    L.append("  %-44s %14s   requests per connection: %s" % ("TCP connections accepted by the server", conns, ", ".join("%s: %s" % kv for kv in rpc.items())))
    L.append("  %-44s %14s   (established max %s)" % ("sockets of the port in TIME_WAIT, max", fmt(tw, "%d"), fmt(est, "%d")))
    L.append("")
    L.append("  %-44s %12s %%   (not counted)" % ("server CPU (python asyncio), mean", fmt(server_cpu)))
    L.append("  %-44s %12s %%   (not counted; the pause's guardian process)" % ("chaos _guardian CPU, mean", fmt(guardian_cpu)))
    L.append("  %-44s %12s s    (exec, gate, hold, recovery, storing the run)" % ("chaos CPU time over the whole run", fmt(whole_cpu_s)))
    if reasons:
        L.append("  observations not ok: " + "; ".join("%d x %s" % (n, r) for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:4]))
    for p in problems:
        L.append("  INVALID: " + p)
    print("\n".join(L))

    summary = {
        "params": P, "exitStatus": rc, "verdict": outcome, "held_s": w1 - w0, "samplesHeld": len(hold),
        "cpu": {"meanPct": cpu_mean, "systemPct": sys_cpu, "firstThirdPct": cpu_first, "lastThirdPct": cpu_last, "maxPct": max(per) if per else None, "p50Pct": pct(per, 50), "goalPct": cpu_goal, "met": cpu_met,
                "wholeRunSeconds": whole_cpu_s},
        "memoryKiB": {"VmRSS": rss, "RssAnon": anon, "RssFile": rssfile, "VmHWM": hwm, "flatBoundKiB": flat_kib, "flat": flat_met,
                      "bytesPerObservation": bytes_per_obs},
        "probes": {"answeredWhileHeldPerSecond": agg, "perProbePerSecond": rates, "wantPerSecond": want,
                   "answeredTotal": total, "answeredSpan_s": span, "expectedOverDuration": expected_nominal,
                   "journalObservations": journal_n, "journalOk": journal_ok, "notOk": reasons},
        "connections": {"accepted": conns, "requestsPerConnection": rpc, "timeWaitMax": tw, "establishedMax": est,
                        "threadsMean": mean(threads), "fdsMax": max(fds, default=None), "voluntaryCtxtSwitchesPerSecond": wakeups},
        "serverCpuPct": server_cpu, "guardianCpuPct": guardian_cpu,
        "problems": problems, "goalsMissed": missed,
    }
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    if problems:
        return 1
    if missed and P.get("strict"):
        return 3
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "sample":
        sample(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        sys.exit(report(sys.argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
