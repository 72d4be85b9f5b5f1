#!/usr/bin/env python3
"""bench/store-gen.py - fills a chaos run store (chaos.sqlite) with N runs shaped like a real one.

Usage: store-gen.py --seed SEED_DB --out OUT_DB [--runs N] [--experiments E] [--days D]
                    [--fires-per-run F] [--skipped-fires S] [--now-ms MS] [--rng-seed R]

SEED_DB is a store that chaos itself created and wrote one real run into (`chaos run`): its schema
(tables, indexes, GRDB's migration records) is copied as it is, and its run is the template of every
generated row: the verdict and journal JSON keep their shape and size; the run id, the experiment name
and every timestamp inside them are replaced. Nothing about the schema is assumed beyond the columns
chaos's own INSERTs name, so a store written by a newer chaos (another index, another migration) is
filled the same way.

What it writes, in one transaction (then the secondary indexes are rebuilt and the WAL mode restored):
  runs     N runs of E experiments, start times spread uniformly over the last D days (one per distinct
           minute of each experiment, a little after the minute, as a controller fires them), in start
           order (so the table is in roughly chronological order, like a real one). Verdicts: 82 %
           passed, 11 % failed, 7 % inconclusive; status completed, 3 % aborted, 1 % interrupted,
           0.5 % error. Run ids as chaos writes them ("r-" and 8 hex digits), unique.
  fires    F fire records a run (state finished, with the run id), and S per run more skipped ones
           (target busy, blackout, spacing), as the controller keeps them
  audit    a few hundred halt/resume entries
Nothing is written to the verdict log (verdicts.jsonl): no query reads it.
Prints one JSON line: rows written, seconds, the database's size.
"""
import argparse
import json
import os
import random
import re
import sqlite3
import sys
import time

FAULTS = ["process.kill", "process.pause", "process.signal", "network.delay", "network.loss", "network.partition",
          "network.blackhole", "stress.cpu", "stress.memory", "disk.fill", "systemd.stop", "systemd.kill"]
VERBS = ["kill", "pause", "delay", "loss", "partition", "stress-cpu", "fill-disk", "stop", "blackhole", "signal"]
THINGS = ["db-primary", "db-replica", "app-worker", "cache", "lb", "queue", "search", "auth", "payments", "gateway",
          "scheduler", "ingest", "dns", "mail", "billing"]
HOSTS = ["db1", "db2", "db3", "app1", "app2", "app3", "app4", "cache1", "cache2", "lb1", "lb2", "mq1", "es1", "es2"]


def args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--runs", type=int, default=1_000_000)
    p.add_argument("--experiments", type=int, default=50)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--fires-per-run", type=float, default=1.0)
    p.add_argument("--skipped-fires", type=float, default=0.1)
    p.add_argument("--now-ms", type=int, default=int(time.time() * 1000))
    p.add_argument("--rng-seed", type=int, default=20261207)
    return p.parse_args()


def template(text, run_id, experiment, lo, hi, base):
    """Splits the JSON `text` into literal parts and holes: ('t', offset) for a timestamp in [lo, hi]
    (relative to base), ('id',) for the run id, ('exp',) for the experiment name."""
    marks = []

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, bool):
            return v
        if isinstance(v, int) and lo <= v <= hi:
            marks.append(("t", v - base))
            return "\x00%d\x00" % (len(marks) - 1)
        if isinstance(v, str):
            if v == run_id:
                marks.append(("id",))
                return "\x00%d\x00" % (len(marks) - 1)
            if v == experiment:
                marks.append(("exp",))
                return "\x00%d\x00" % (len(marks) - 1)
        return v

    dumped = json.dumps(walk(json.loads(text)), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    parts = re.split(r'"\\u0000(\d+)\\u0000"', dumped)
    # parts: literal, index, literal, index, ..., literal
    return [parts[i] if i % 2 == 0 else marks[int(parts[i])] for i in range(len(parts))]


def fill(tpl, run_id, experiment, base):
    out = []
    for p in tpl:
        if isinstance(p, str):
            out.append(p)
        elif p[0] == "t":
            out.append(str(base + p[1]))
        elif p[0] == "id":
            out.append(json.dumps(run_id))
        else:
            out.append(json.dumps(experiment))
    return "".join(out)


def main():
    a = args()
    rng = random.Random(a.rng_seed)
    t0 = time.monotonic()
    if os.path.exists(a.out):
        os.remove(a.out)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(a.out + suffix):
            os.remove(a.out + suffix)
    seed = sqlite3.connect(a.seed)
    seed_row = seed.execute("SELECT * FROM runs ORDER BY startedAt DESC LIMIT 1").fetchone()
    if seed_row is None:
        sys.exit("store-gen.py: the seed store %s has no run" % a.seed)
    run_columns = [d[0] for d in seed.execute("SELECT * FROM runs LIMIT 0").description]
    seed_run = dict(zip(run_columns, seed_row))
    out = sqlite3.connect(a.out, isolation_level=None)
    seed.backup(out)  # the schema and GRDB's migration records, exactly as chaos made them
    seed.close()
    out.execute("PRAGMA journal_mode=OFF")
    out.execute("PRAGMA synchronous=OFF")
    out.execute("PRAGMA cache_size=-1000000")
    out.execute("PRAGMA temp_store=MEMORY")
    # Secondary indexes are dropped during the load and rebuilt after it (same SQL, same names).
    indexes = out.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall()

    sid, sexp, sstart, send = seed_run["runID"], seed_run["experiment"], seed_run["startedAt"], seed_run["endedAt"]
    lo, hi = sstart - 3_600_000, send + 3_600_000
    journal_tpl = template(seed_run["journal"], sid, sexp, lo, hi, sstart)
    verdict = json.loads(seed_run["verdict"])
    figures = verdict.get("figures", {})

    def verdict_text(outcome, i):
        v = dict(verdict)
        f = dict(figures)
        v["outcome"] = outcome
        if outcome == "passed":
            v["failures"] = []
            v["reasons"] = verdict["reasons"] if verdict.get("outcome") == "passed" else ["degraded gracefully and recovered"]
            v.pop("inconclusive", None)
            if "longestOutageMs" in f:
                f["longestOutageMs"] = 500 * (i % 7)
        elif outcome == "failed":
            v.pop("inconclusive", None)
            kind = ["outage", "slo_breach", "not_recovered"][i % 3]
            v["failures"] = [kind]
            v["reasons"] = [["probe 'shop' was down for %d.%ds, longer than maxOutage 10s" % (11 + i % 20, i % 10),
                             "availability during the fault was %d.%d%%, below 95%%" % (80 + i % 15, i % 10),
                             "not back within recoverWithin 30s: probe 'shop' still failing at the end"][i % 3]]
            if "longestOutageMs" in f:
                f["longestOutageMs"] = 11_000 + 1000 * (i % 20)
        else:
            v["failures"] = []
            v["inconclusive"] = ["steady_state_not_met", "observer_blind", "fault_not_confirmed", "not_injected"][i % 4]
            v["reasons"] = [["the steady state did not hold before the fault: availability %d%% < 100%%" % (90 + i % 9),
                             "probe 'shop' was blind for %ds" % (5 + i % 9),
                             "the fault could not be confirmed on the target",
                             "nothing was injected: no target process matched"][i % 4]]
        v["figures"] = f
        return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    verdicts = {o: [template(verdict_text(o, i), sid, sexp, lo, hi, sstart) for i in range(24)]
                for o in ("passed", "failed", "inconclusive")}

    # 50 experiments, each with its fault, target, host, file and trigger.
    names, used = [], set()
    i = 0
    while len(names) < a.experiments:
        n = "%s-%s" % (VERBS[i % len(VERBS)], THINGS[(i // len(VERBS) + i) % len(THINGS)])
        if n in used:
            n = "%s-%d" % (n, i)
        used.add(n)
        names.append(n)
        i += 1
    exps = []
    for k, n in enumerate(names):
        host = HOSTS[k % len(HOSTS)] if k % 5 else None
        exps.append({"name": n, "fault": FAULTS[k % len(FAULTS)], "host": host, "target": n.split("-", 1)[1],
                     "file": "/etc/chaos/experiments/%s.yaml" % n, "trigger": "monkey" if k % 4 == 0 else "cron",
                     "groups": json.dumps([n.split("-", 1)[1].split("-")[0]], separators=(",", ":"))})

    # Start times: each experiment gets its share of distinct minutes of the last `days` days.
    minutes = a.days * 1440
    first_minute = a.now_ms // 60_000 - minutes
    per = [a.runs // a.experiments + (1 if k < a.runs % a.experiments else 0) for k in range(a.experiments)]
    if max(per) > minutes:
        sys.exit("store-gen.py: %d runs of one experiment do not fit in %d minutes" % (max(per), minutes))
    duration = max(1000, send - sstart)
    ids = set()
    runs = []  # (startedAt, exp index, scheduledMs)
    skipped = []  # (exp index, scheduledMs)
    for k in range(a.experiments):
        extra = int(per[k] * a.skipped_fires)
        picks = rng.sample(range(minutes), per[k] + extra)
        for m in picks[:per[k]]:
            sched = (first_minute + m) * 60_000
            runs.append((sched + rng.randrange(20, 1500), k, sched))
        for m in picks[per[k]:]:
            skipped.append((k, (first_minute + m) * 60_000))
    runs.sort()

    out.execute("BEGIN")
    for name, _ in indexes:
        out.execute('DROP INDEX "%s"' % name.replace('"', '""'))
    out.execute("DELETE FROM runs")
    out.execute("DELETE FROM fires")
    out.execute("DELETE FROM audit")

    def run_rows():
        for n, (start, k, sched) in enumerate(runs):
            e = exps[k]
            while True:
                rid = "r-%08x" % rng.getrandbits(32)
                if rid not in ids:
                    ids.add(rid)
                    break
            r = rng.random()
            outcome = "passed" if r < 0.82 else "failed" if r < 0.93 else "inconclusive"
            s = rng.random()
            status = "completed" if s < 0.955 else "aborted" if s < 0.985 else "interrupted" if s < 0.995 else "error"
            end = start + duration + rng.randrange(-500, 5000)
            yield (rid, e["name"], e["file"], e["host"], e["fault"], e["target"], status, outcome, start, end,
                   fill(verdicts[outcome][n % 24], rid, e["name"], start), fill(journal_tpl, rid, e["name"], start), 1)
            runs[n] = (start, k, sched, rid, end)

    out.executemany("INSERT INTO runs (runID, experiment, file, host, faultKind, target, status, outcome, startedAt, endedAt, "
                    "verdict, journal, logged) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", run_rows())
    fires = 0
    if a.fires_per_run > 0:
        def fire_rows():
            for n, (start, k, sched, rid, end) in enumerate(runs):
                if a.fires_per_run < 1 and rng.random() >= a.fires_per_run:
                    continue
                e = exps[k]
                yield (e["name"], sched, e["target"], e["groups"], e["trigger"], "finished", None, rid, end)
            reasons = ["target busy: '%s' is still in another run", "in the blackout 'release freeze'",
                       "spacing: the target ran less than 24h ago", "chaos is halted (by alice: incident 4711)"]
            for k, sched in skipped:
                e = exps[k]
                yield (e["name"], sched, e["target"], e["groups"], e["trigger"], "skipped",
                       reasons[sched // 60_000 % 4].replace("%s", e["target"]), None, sched + 5)
        cur = out.executemany("INSERT INTO fires (experiment, scheduledMs, target, groups, trigger, state, reason, runID, decidedMs) "
                              "VALUES (?,?,?,?,?,?,?,?,?)", fire_rows())
        fires = out.execute("SELECT count(*) FROM fires").fetchone()[0]
    audit = []
    for j in range(300):
        at = a.now_ms - rng.randrange(a.days * 86_400_000)
        audit.append((at, "alice (operator, certificate)", "halt" if j % 2 == 0 else "resume", "incident drill %d" % j))
    audit.sort()
    out.executemany("INSERT INTO audit (at, who, action, detail) VALUES (?,?,?,?)", audit)
    t_rows = time.monotonic() - t0
    for _, sql in indexes:
        out.execute(sql)
    out.execute("COMMIT")
    t_indexes = time.monotonic() - t0 - t_rows
    out.execute("PRAGMA journal_mode=WAL")
    out.close()
    size = os.path.getsize(a.out)
    print(json.dumps({"runs": len(runs), "fires": fires, "audit": len(audit), "experiments": a.experiments, "days": a.days,
                      "insertSeconds": round(t_rows, 1), "indexSeconds": round(t_indexes, 1),
                      "seconds": round(time.monotonic() - t0, 1), "bytes": size,
                      "journalBytes": len(seed_run["journal"]), "verdictBytes": len(seed_run["verdict"]),
                      "indexes": [n for n, _ in indexes], "experimentNames": names}))


if __name__ == "__main__":
    main()
