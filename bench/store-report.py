#!/usr/bin/env python3
"""bench/store-report.py - the small jobs of bench/store.sh that want Python.

  store-report.py key DB FILE... [-- PARAM...]
      The cache key of a generated store: the schema chaos created in the empty store DB (tables,
      indexes, GRDB's migration records), the helper files and the generation parameters.
  store-report.py sql DB EXPERIMENT NOW_MS RUNS
      EXPLAIN QUERY PLAN and the time of the history's SQL run by SQLite alone (Python's sqlite3,
      read-only, median of RUNS), as JSON lines. The SQL is RunRows.query's in
      Sources/ChaosStore/RunRows.swift and the fires query of FireRows.swift (kept in step by hand).
  store-report.py drop-fires DB
      Deletes every fire record (the store as chaos run/CI would have left it: runs without a controller).
  store-report.py summary OUT_DIR
      Reads OUT_DIR/{generation.json, hyperfine-cli.json, sql.jsonl, pages.jsonl, meta.json}, writes
      OUT_DIR/summary.json and prints the table.
"""
import hashlib
import json
import os
import sqlite3
import statistics
import sys
import time

RUN_COLUMNS = "runID, experiment, file, host, faultKind, target, status, outcome, startedAt, endedAt, verdict, journal"
FIRE_COLUMNS = "experiment, scheduledMs, target, groups, trigger, state, reason, runID, decidedMs"
GOAL_MS = 100.0


def run_query(experiment=None, outcome=None, since=None, limit=50):
    """RunRows.query (Sources/ChaosStore/RunRows.swift)."""
    conditions, values = [], []
    if experiment is not None:
        conditions.append("experiment = ?"); values.append(experiment)
    if outcome is not None:
        conditions.append("outcome = ?"); values.append(outcome)
    if since is not None:
        conditions.append("startedAt >= ?"); values.append(since)
    sql = "SELECT %s FROM runs" % RUN_COLUMNS
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += " ORDER BY startedAt DESC, runID DESC"
    if limit > 0:
        sql += " LIMIT ?"; values.append(limit)
    return sql, values


def key(argv):
    db, rest = argv[0], argv[1:]
    files, params = (rest[:rest.index("--")], rest[rest.index("--") + 1:]) if "--" in rest else (rest, [])
    h = hashlib.sha256()
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    for (sql,) in con.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"):
        h.update(sql.encode() + b"\n")
    for (m,) in con.execute("SELECT identifier FROM grdb_migrations ORDER BY identifier"):
        h.update(m.encode() + b"\n")
    migrations = [m for (m,) in con.execute("SELECT identifier FROM grdb_migrations ORDER BY identifier")]
    for f in files:
        with open(f, "rb") as fh:
            h.update(fh.read())
    for p in params:
        h.update(p.encode() + b"\n")
    last = migrations[-1].split(":")[0] if migrations else "none"
    print("%s-%s" % (last, h.hexdigest()[:12]))


def sql(argv):
    db, experiment, now_ms, runs = argv[0], argv[1], int(argv[2]), int(argv[3])
    since30 = now_ms - 30 * 86_400_000
    queries = [
        ("verdicts --since 30d --experiment X", run_query(experiment, None, since30, 50)),
        ("verdicts (newest 50)", run_query(limit=50)),
        ("verdicts --status failed --since 30d", run_query(None, "failed", since30, 50)),
        ("/runs (newest 100)", run_query(limit=100)),
        ("/runs?experiment=X (newest 100)", run_query(experiment, None, None, 100)),
        ("/runs names (newest 500)", run_query(limit=500)),
        ("/ latest verdicts (newest 10)", run_query(limit=10)),
        ("fires of the last 30 days (overview, every tick)",
         ("SELECT %s FROM fires WHERE scheduledMs >= ? ORDER BY scheduledMs, experiment" % FIRE_COLUMNS, [since30])),
    ]
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    for name, (q, args) in queries:
        plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + q, args)]
        times, rows = [], 0
        deadline = time.monotonic() + 20
        for i in range(runs):
            t = time.perf_counter()
            rows = len(con.execute(q, args).fetchall())
            times.append((time.perf_counter() - t) * 1000)
            if time.monotonic() > deadline and len(times) >= 3:
                break
        print(json.dumps({"name": name, "plan": plan, "rows": rows, "medianMs": round(statistics.median(times), 2),
                          "runs": len(times)}), flush=True)


def drop_fires(argv):
    con = sqlite3.connect(argv[0], isolation_level=None)
    con.execute("PRAGMA busy_timeout=10000")
    n = con.execute("DELETE FROM fires").rowcount
    con.close()
    print(n)


def summary(argv):
    out = argv[0]

    def load(name, lines=False):
        p = os.path.join(out, name)
        if not os.path.exists(p):
            return [] if lines else {}
        with open(p) as fh:
            return [json.loads(l) for l in fh if l.strip()] if lines else json.load(fh)

    gen, meta = load("generation.json"), load("meta.json")
    cli = load("hyperfine-cli.json").get("results", [])
    sqls, pages = load("sql.jsonl", True), load("pages.jsonl", True)
    L = []
    L.append("chaos run store at %s runs, %s fire records (%s experiments over %s days; %.2f GB); %s" % (
        format(gen.get("runs", 0), ","), format(gen.get("fires", 0), ","), gen.get("experiments"), gen.get("days"),
        gen.get("bytes", 0) / 1e9, meta.get("binary", "?")))
    if gen.get("generatedNow"):
        L.append("store generated now: %.1f s (rows %.1f s, indexes %.1f s)" % (gen["seconds"], gen["insertSeconds"], gen["indexSeconds"]))
    else:
        L.append("store from the cache (%s; generated in %.1f s)" % (meta.get("cache", "?"), gen.get("seconds", 0)))
    L.append("")
    L.append("%-90s %10s %10s %8s" % ("command (hyperfine, %s runs)" % (cli[0]["times"].__len__() if cli else "?"), "median ms", "mean ms", "min ms"))
    medians = {}
    for r in cli:
        name = r["command"].replace(meta.get("storeDir", "\0"), "D")
        for b in (meta.get("chaos", "\0"), meta.get("remote", "\0")):
            name = name.replace(os.path.dirname(b) + "/", "")
        m = statistics.median(r["times"]) * 1000
        medians[name] = m
        L.append("%-90s %10.1f %10.1f %8.1f" % (name[:90], m, r["mean"] * 1000, r["min"] * 1000))
    L.append("")
    L.append("%-66s %10s %8s  %s" % ("SQL alone (Python sqlite3, warm cache)", "median ms", "rows", "plan"))
    for s in sqls:
        L.append("%-66s %10.2f %8d  %s" % (s["name"][:66], s["medianMs"], s["rows"], " / ".join(s["plan"])))
    L.append("")
    L.append("%-66s %10s %8s %6s" % ("dashboard page (curl time_total)", "median ms", "max ms", "n"))
    for p in pages:
        L.append("%-66s %10.1f %8.1f %6d" % (("[%s] %s" % (p["store"], p["page"]))[:66], p["medianMs"], p["maxMs"], p["n"]))
    goal = []
    for name, m in medians.items():
        if " verdicts " in name and "--since 30d --experiment" in name:
            goal.append((name, m))
    for p in pages:
        if p["page"] != "/healthz":
            goal.append(("[%s] GET %s" % (p["store"], p["page"]), p["medianMs"]))
    missed = [(n, m) for n, m in goal if m >= GOAL_MS]
    L.append("")
    L.append("goal: each < %.0f ms: %s" % (GOAL_MS, "met" if not missed else "MISSED by " + "; ".join("%s %.0f ms" % nm for nm in missed)))
    text = "\n".join(L)
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump({"generation": gen, "meta": meta, "cliMedianMs": medians, "sql": sqls, "pages": pages,
                   "goalMs": GOAL_MS, "missed": [n for n, _ in missed]}, fh, indent=1)
    with open(os.path.join(out, "summary.txt"), "w") as fh:
        fh.write(text + "\n")
    print(text)
    sys.exit(3 if missed else 0)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "--help"
    {"key": key, "sql": sql, "drop-fires": drop_fires, "summary": summary}.get(cmd, lambda _: print(__doc__))(sys.argv[2:])
