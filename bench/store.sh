#!/usr/bin/env bash
# bench/store.sh — the run store at a million runs: `chaos verdicts --since 30d --experiment X` and the
# dashboard's history pages (goal: each under 100 ms).
#
# Usage: bench/store.sh [--help]
#
# In one run, on this host:
#   store      a SQLite run store (chaos.sqlite) of RUNS runs of EXPERIMENTS experiments over the last DAYS
#              days, with FIRES_PER_RUN controller fire records a run (+ SKIPPED_FIRES skipped ones) and a
#              few hundred audit entries. Made realistically: chaos creates the store itself (one real
#              `chaos run` of a process.pause of a `sleep`, two probes on a local python http.server, 15 s),
#              then bench/store-gen.py copies that database (schema, indexes, GRDB's migration records)
#              and bulk-inserts rows shaped like the real run in one transaction. Cached in
#              bench/.cache/store-<key>/ (git-ignored), keyed by the schema the binary creates, the
#              helper files and the parameters: a chaos with another migration gets its own store.
#              Each run copies it into a temp dir (the controller writes to it, and a second pass
#              deletes the fire records).
#   CLI        hyperfine (-N, WARMUP, RUNS): `chaos verdicts --since 30d --experiment X` (table and
#              --output json), the same through `chaos-remote` directly (no exec hop), `chaos verdicts`
#              (newest 50) and `--status failed --since 30d`, beside the start-up floor `chaos --version`
#              and `chaos-remote --version`
#   SQL        the same queries run by SQLite alone (Python's sqlite3, warm page cache) with their
#              EXPLAIN QUERY PLAN: what the database costs, apart from chaos's decoding and printing
#   dashboard  `chaos controller` on 127.0.0.1:API_PORT (plain HTTP, a viewer token) on that store, with
#              the EXPERIMENTS experiments scheduled (cron every 7 minutes, all inside a blackout, so
#              nothing fires) and an inventory of 14 hosts whose agents are never contacted; GET with
#              curl, PAGE_RUNS times each (median; at most PAGE_BUDGET seconds a page): /healthz (the
#              HTTP floor), / (overview and the latest verdicts), /runs (the newest 100), /runs?experiment=X,
#              /runs?experiment=X&since=<30 days ago>, /api/v1/runs?experiment=X&limit=50. Twice: on the
#              store as generated, then with the fire records deleted (runs made by `chaos run`/CI
#              only), which separates the cost of the runs from the cost of the controller's schedule.
#
# Environment (all optional):
#   CHAOS_BIN       chaos executable (chaos-remote beside it); default: the first of .build-static/release,
#                   .build/release, .build/debug that has both. Nothing is built here. BUILD_KIND=debug|release
#                   labels a copied binary (default: debug when its path has /debug/)
#   RUNS_TOTAL=1000000  EXPERIMENTS=50  DAYS=90  FIRES_PER_RUN=1  SKIPPED_FIRES=0.1
#   EXPERIMENT      the experiment queried (default: the first generated, kill-db-primary)
#   RUNS=30 WARMUP=3    hyperfine runs of each command;  SQL_RUNS=30
#   PAGE_RUNS=30 PAGE_BUDGET=15   requests a page, and seconds at most a page (at least 3 requests)
#   NO_FIRES=1      also measure the pages without fire records (0: skip that pass)
#   API_PORT=17491  HTTP_PORT=17492 (the seed run's probe server)
#   CACHE_DIR=bench/.cache   REGEN=1 rebuilds the cached store
#   RESULTS_DIR=bench/results: writes RESULTS_DIR/store-<UTC time>/ and points store-latest at it
#   STRICT=1        exit 3 when a goal is missed;  KEEP_WORK=1 keeps the temp dir;  TIME_LIMIT=900 seconds
# Needs: python3 (standard library), hyperfine, curl; about 5 GB in CACHE_DIR and 5 GB in /tmp.
# Runtime: 2.5-4 minutes with the store cached (copying 5 GB is 12-40 s of it); the first run adds
# 1-2 minutes to make the store.
set -euo pipefail

usage() { sed -n '2,/^set -euo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "store.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
RUNS_TOTAL=${RUNS_TOTAL:-1000000}; EXPERIMENTS=${EXPERIMENTS:-50}; DAYS=${DAYS:-90}
FIRES_PER_RUN=${FIRES_PER_RUN:-1}; SKIPPED_FIRES=${SKIPPED_FIRES:-0.1}
RUNS=${RUNS:-30}; WARMUP=${WARMUP:-3}; SQL_RUNS=${SQL_RUNS:-30}; PAGE_RUNS=${PAGE_RUNS:-30}; PAGE_BUDGET=${PAGE_BUDGET:-15}
NO_FIRES=${NO_FIRES:-1}; API_PORT=${API_PORT:-17491}; HTTP_PORT=${HTTP_PORT:-17492}
CACHE_DIR=${CACHE_DIR:-$BENCH_DIR/.cache}; RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}; TIME_LIMIT=${TIME_LIMIT:-900}
for v in RUNS_TOTAL EXPERIMENTS DAYS RUNS WARMUP SQL_RUNS PAGE_RUNS PAGE_BUDGET API_PORT HTTP_PORT TIME_LIMIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "store.sh: $v must be a whole number" >&2; exit 2; }
done
for v in FIRES_PER_RUN SKIPPED_FIRES; do
  [[ ${!v} =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "store.sh: $v must be a number" >&2; exit 2; }
done
((EXPERIMENTS >= 1 && EXPERIMENTS <= 1000 && RUNS_TOTAL >= EXPERIMENTS && RUNS >= 1 && PAGE_RUNS >= 3)) \
  || { echo "store.sh: need EXPERIMENTS 1..1000, RUNS_TOTAL >= EXPERIMENTS, RUNS >= 1, PAGE_RUNS >= 3" >&2; exit 2; }

say() { printf '== %s\n' "$*" >&2; }
fail() {
  printf '\nstore.sh: FAILED: %s\n' "$*" >&2
  [[ -n ${WORK:-} && -s ${WORK:-}/controller.log ]] && { echo "--- last lines of the controller's log:" >&2; tail -n 10 "$WORK/controller.log" >&2; }
  exit 1
}
PY=$(command -v /usr/bin/python3 || command -v python3) || fail "python3 is needed"
for c in hyperfine curl; do command -v "$c" >/dev/null || fail "$c is needed (apt-get install $c)"; done

# ---------------------------------------------------------------- chaos
CHAOS=""
if [[ -n ${CHAOS_BIN:-} ]]; then
  [[ -x $CHAOS_BIN && -x $(dirname "$CHAOS_BIN")/chaos-remote ]] || fail "CHAOS_BIN=$CHAOS_BIN: not executable or no chaos-remote beside it"
  CHAOS=$CHAOS_BIN
else
  for c in .build-static/release .build/release .build/debug; do
    if [[ -x $REPO_DIR/$c/chaos && -x $REPO_DIR/$c/chaos-remote ]]; then CHAOS="$REPO_DIR/$c/chaos"; break; fi
  done
  [[ -n $CHAOS ]] || fail "no chaos + chaos-remote in .build-static/release, .build/release or .build/debug: build them (swift build --product chaos; swift build --product chaos-remote) or set CHAOS_BIN"
fi
CHAOS=$(readlink -f "$CHAOS"); REMOTE=$(dirname "$CHAOS")/chaos-remote
BUILD_KIND=${BUILD_KIND:-$([[ $CHAOS == */debug/* ]] && echo debug || echo release)}

# ---------------------------------------------------------------- work dir, results, cleanup
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS_DIR/store-$STAMP"
WORK=$(mktemp -d /tmp/chaos-bench-store.XXXXXX)
mkdir -p "$OUT" "$CACHE_DIR"
CTRL_PID=""; HTTP_PID=""; VICTIM_PID=""; WATCHDOG_PID=""
stop_pid() { # stop_pid PID SECONDS: SIGTERM, then SIGKILL after SECONDS; only a process we started
  local p=$1 t=$2 i
  [[ -n $p ]] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < t * 10; i++)); do kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  [[ -n $WATCHDOG_PID ]] && kill "$WATCHDOG_PID" 2>/dev/null
  stop_pid "$CTRL_PID" 20
  stop_pid "$HTTP_PID" 2
  [[ -n $VICTIM_PID ]] && kill -CONT "$VICTIM_PID" 2>/dev/null
  stop_pid "$VICTIM_PID" 2
  if ((rc != 0 && rc != 3)) && [[ -d $OUT ]]; then
    cp "$WORK/controller.log" "$OUT/" 2>/dev/null
    mv "$OUT" "$OUT-failed" && echo "partial results: $OUT-failed" >&2
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'fail "TIME_LIMIT=${TIME_LIMIT}s spent"' USR1
( trap 'kill "$s" 2>/dev/null; exit 0' TERM; sleep "$TIME_LIMIT" & s=$!; wait "$s" && kill -USR1 $$ ) 2>/dev/null &
WATCHDOG_PID=$!
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
now_ms() { local t=$EPOCHREALTIME; echo $((${t/./} / 1000)); }
say "chaos: $CHAOS ($BUILD_KIND build, $(stat -c %y "$CHAOS" | cut -d. -f1)); load $LOAD_AT_START on $(nproc) CPUs"
awk -v l="$LOAD_AT_START" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }' \
  && say "WARNING: the machine is busy (1-min load $LOAD_AT_START): absolute numbers will be inflated"

# ---------------------------------------------------------------- the store: schema from chaos, rows generated
# An empty store made by this chaos: its schema is the cache key (a new migration, a new store).
"$CHAOS" verdicts --store-dir "$WORK/probe" >"$WORK/probe.log" 2>&1 || fail "chaos verdicts on an empty store: $(cat "$WORK/probe.log")"
[[ -s $WORK/probe/chaos.sqlite ]] || fail "chaos verdicts did not create $WORK/probe/chaos.sqlite"
KEY=$("$PY" "$BENCH_DIR/store-report.py" key "$WORK/probe/chaos.sqlite" "$BENCH_DIR/store-gen.py" \
  -- "$RUNS_TOTAL" "$EXPERIMENTS" "$DAYS" "$FIRES_PER_RUN" "$SKIPPED_FIRES") || fail "cannot read the schema of the empty store"
CACHED="$CACHE_DIR/store-$KEY"
[[ ${REGEN:-0} == 1 ]] && rm -rf "$CACHED"
if [[ -s $CACHED/chaos.sqlite && -s $CACHED/generation.json ]]; then
  say "store from the cache: $CACHED ($(du -h "$CACHED/chaos.sqlite" | cut -f1))"
  cp "$CACHED/generation.json" "$OUT/generation.json"
else
  say "making the store (schema $KEY): one real run first (15 s)"
  mkdir -p "$WORK/seed/www"; echo ok >"$WORK/seed/www/healthz"
  "$PY" -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$WORK/seed/www" >"$WORK/seed/http.log" 2>&1 &
  HTTP_PID=$!
  sleep 1000 &
  VICTIM_PID=$!
  echo "$VICTIM_PID" >"$WORK/seed/victim.pid"
  for ((i = 0; i < 50; i++)); do curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/healthz" && break; sleep 0.1; done
  cat >"$WORK/seed/seed.yaml" <<EOF
apiVersion: chaos/v1
kind: Experiment
name: bench-seed
description: bench/store.sh - one real run, the template of the generated ones
target: {process: {pidfile: $WORK/seed/victim.pid}}
fault: {type: process.pause, duration: 8s}
probes:
  - {name: shop, type: http, url: "http://127.0.0.1:$HTTP_PORT/healthz", interval: 1s, tolerance: {status: 200, latencyBelow: 500ms}}
  - {name: port, type: tcp, address: "127.0.0.1:$HTTP_PORT", interval: 1s}
expect: {availability: {before: 100%, during: 95%, after: 100%}, maxOutage: 5s, recoverWithin: 10s}
EOF
  CHAOS_STATE_DIR="$WORK/seed/state" "$CHAOS" run "$WORK/seed/seed.yaml" --gate 3s --store-dir "$WORK/seed/runs" \
    >"$WORK/seed/run.log" 2>&1 || say "the seed run's verdict is not 'passed' (exit $?); its row is used all the same"
  stop_pid "$HTTP_PID" 2; HTTP_PID=""
  stop_pid "$VICTIM_PID" 2; VICTIM_PID=""
  [[ -s $WORK/seed/runs/chaos.sqlite ]] || fail "the seed run stored nothing: $(tail -n 5 "$WORK/seed/run.log")"
  say "generating $RUNS_TOTAL runs of $EXPERIMENTS experiments over $DAYS days (one transaction)"
  rm -rf "$CACHED.tmp"; mkdir -p "$CACHED.tmp"
  "$PY" "$BENCH_DIR/store-gen.py" --seed "$WORK/seed/runs/chaos.sqlite" --out "$CACHED.tmp/chaos.sqlite" --runs "$RUNS_TOTAL" \
    --experiments "$EXPERIMENTS" --days "$DAYS" --fires-per-run "$FIRES_PER_RUN" --skipped-fires "$SKIPPED_FIRES" \
    >"$CACHED.tmp/generation.json" || fail "store-gen.py failed"
  "$PY" -c 'import json,sys; g=json.load(open(sys.argv[1])); g["key"]=sys.argv[2]; json.dump(g,open(sys.argv[1],"w"))' "$CACHED.tmp/generation.json" "$KEY"
  cp "$WORK/seed/run.log" "$CACHED.tmp/seed-run.log"
  rm -rf "$CACHED"; mv "$CACHED.tmp" "$CACHED"
  "$PY" -c 'import json,sys; g=json.load(open(sys.argv[1])); g["generatedNow"]=True; json.dump(g,open(sys.argv[2],"w"))' "$CACHED/generation.json" "$OUT/generation.json"
fi
gen() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT/generation.json" "$1"; }
say "$(gen runs) runs, $(gen fires) fire records, $(( $(gen bytes) / 1000000 )) MB; generated in $(gen seconds) s (rows $(gen insertSeconds) s, indexes $(gen indexSeconds) s)"
EXPERIMENT=${EXPERIMENT:-$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["experimentNames"][0])' "$OUT/generation.json")}

STATE="$WORK/state"; STORE="$STATE/runs"
mkdir -p "$STORE"
t0=$(now_ms)
cp "$CACHED/chaos.sqlite" "$STORE/chaos.sqlite"
say "copied the store to $STORE in $(( ($(now_ms) - t0) / 1000 )) s"
# The first open migrates nothing (the cache key is the schema): check it, and warm the page cache.
"$CHAOS" verdicts --store-dir "$STORE" --limit 1 >"$WORK/first.log" 2>&1 || fail "chaos verdicts on the store: $(cat "$WORK/first.log")"
cat "$STORE/chaos.sqlite" >/dev/null
NOW_MS=$(now_ms)
cat >"$OUT/meta.json" <<EOF
{"binary": "$CHAOS ($BUILD_KIND)", "chaos": "$CHAOS", "remote": "$REMOTE", "storeDir": "$STORE", "cache": "$CACHED",
 "experiment": "$EXPERIMENT", "load": "$LOAD_AT_START", "cpus": $(nproc), "date": "$STAMP", "kernel": "$(uname -r)",
 "hyperfine": "$(hyperfine --version | cut -d' ' -f2)", "sqlite": "$("$PY" -c 'import sqlite3; print(sqlite3.sqlite_version)')"}
EOF

# ---------------------------------------------------------------- CLI
V=("$CHAOS" verdicts --store-dir "$STORE")
"${V[@]}" --since 30d --experiment "$EXPERIMENT" >"$OUT/verdicts.txt" 2>&1 || fail "chaos verdicts --since 30d --experiment $EXPERIMENT: $(head -n 3 "$OUT/verdicts.txt")"
[[ $(wc -l <"$OUT/verdicts.txt") -ge 2 ]] || fail "chaos verdicts listed nothing for '$EXPERIMENT': $(cat "$OUT/verdicts.txt")"
say "hyperfine: chaos verdicts (RUNS=$RUNS, WARMUP=$WARMUP)"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/hyperfine-cli.json" \
  "$CHAOS --version" "$REMOTE --version" \
  "${V[*]} --since 30d --experiment $EXPERIMENT" \
  "${V[*]} --since 30d --experiment $EXPERIMENT --output json" \
  "$REMOTE verdicts --store-dir $STORE --since 30d --experiment $EXPERIMENT" \
  "${V[*]}" \
  "${V[*]} --status failed --since 30d" >"$OUT/hyperfine-cli.txt" 2>&1 || fail "hyperfine: $(tail -n 5 "$OUT/hyperfine-cli.txt")"
say "SQL alone (Python sqlite3)"
"$PY" "$BENCH_DIR/store-report.py" sql "$STORE/chaos.sqlite" "$EXPERIMENT" "$NOW_MS" "$SQL_RUNS" >"$OUT/sql.jsonl" || fail "store-report.py sql"

# ---------------------------------------------------------------- dashboard
TOKEN_JSON=$("$CHAOS" controller token --name bench --role viewer --output json) || fail "chaos controller token"
TOKEN=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])' <<<"$TOKEN_JSON")
TOKEN_SHA=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["sha256"])' <<<"$TOKEN_JSON")
mkdir -p "$WORK/experiments"
HOSTS=(db1 db2 db3 app1 app2 app3 app4 cache1 cache2 lb1 lb2 mq1 es1 es2)
{ echo "apiVersion: chaos/v1"; echo "kind: Inventory"; echo "hosts:"
  for i in "${!HOSTS[@]}"; do printf '  - {name: %s, address: 127.0.9.%d, agent: "https://127.0.9.%d:17433"}\n' "${HOSTS[$i]}" $((i + 1)) $((i + 1)); done
} >"$WORK/inventory.yaml"
BLACKOUT_FROM=$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%SZ); BLACKOUT_TO=$(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)
k=0
while read -r name; do
  cat >"$WORK/experiments/$name.yaml" <<EOF
apiVersion: chaos/v1
kind: Experiment
name: $name
description: bench/store.sh - one of the experiments of the generated store
target: {host: ${HOSTS[$((k % ${#HOSTS[@]}))]}}
fault: {type: stress.cpu, duration: 1m}
probes:
  - {name: shop, type: http, url: "http://127.0.0.1:9/healthz"}
schedule:
  cron: "$((k % 7))-59/7 * * * *"
  timezone: UTC
  workdays: [mon, tue, wed, thu, fri, sat, sun]
  hours: "00:00-24:00"
  blackouts:
    - {from: "$BLACKOUT_FROM", to: "$BLACKOUT_TO", reason: "bench/store.sh: nothing fires"}
EOF
  k=$((k + 1))
done < <("$PY" -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["experimentNames"]))' "$OUT/generation.json")
"$CHAOS" validate "$WORK/inventory.yaml" "$WORK/experiments/$EXPERIMENT.yaml" >"$WORK/validate.log" 2>&1 || fail "chaos validate: $(cat "$WORK/validate.log")"
cat >"$WORK/controller.yaml" <<EOF
apiVersion: chaos/v1
kind: ControllerConfig
experiments: $WORK/experiments
inventory: $WORK/inventory.yaml
stateDir: $STATE
identity: {name: controller, pkiDir: $WORK/pki}
api:
  listen: 127.0.0.1:$API_PORT
  plaintext: true
  tokens:
    - {name: bench, sha256: $TOKEN_SHA, role: viewer}
EOF
cp "$WORK/controller.yaml" "$WORK/experiments/$EXPERIMENT.yaml" "$OUT/"
start_controller() {
  : >"$WORK/controller.log"
  CHAOS_STATE_DIR="$WORK/local-state" "$CHAOS" controller --config "$WORK/controller.yaml" >>"$WORK/controller.log" 2>&1 &
  CTRL_PID=$!
  for ((i = 0; i < 600; i++)); do
    kill -0 "$CTRL_PID" 2>/dev/null || fail "the controller exited at start"
    grep -q "chaos-controller: started\|] started as" "$WORK/controller.log" \
      && curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$API_PORT/healthz" && return 0
    sleep 0.1
  done
  fail "the controller did not start within 60 s"
}
SINCE30=$(date -u -d '-30 days' +%Y-%m-%d)
PAGES=("/healthz" "/" "/runs" "/runs?experiment=$EXPERIMENT" "/runs?experiment=$EXPERIMENT&since=$SINCE30" "/api/v1/runs?experiment=$EXPERIMENT&limit=50")
measure_pages() { # measure_pages LABEL: PAGE_RUNS GETs of each page (at most PAGE_BUDGET s each), one JSON line a page
  local label=$1 page t end code times
  for page in "${PAGES[@]}"; do
    times=(); end=$((SECONDS + PAGE_BUDGET))
    # one untimed request first (the page's first rendering compiles nothing, but warms the store's pages)
    code=$(curl -s -o "$WORK/page.html" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" --max-time 120 "http://127.0.0.1:$API_PORT$page") || code=000
    [[ $code == 200 ]] || fail "GET $page answered $code: $(head -c 300 "$WORK/page.html")"
    for ((i = 0; i < PAGE_RUNS; i++)); do
      t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" --max-time 120 "http://127.0.0.1:$API_PORT$page")
      [[ $t == 200\ * ]] || fail "GET $page: $t"
      times+=("${t#* }")
      ((i >= 2 && SECONDS >= end)) && break
    done
    printf '%s\n' "${times[@]}" | "$PY" -c 'import json,statistics,sys
t=[float(x)*1000 for x in sys.stdin.read().split()]
print(json.dumps({"store": sys.argv[1], "page": sys.argv[2], "medianMs": round(statistics.median(t),1), "maxMs": round(max(t),1), "minMs": round(min(t),1), "n": len(t)}))' "$label" "$page" \
      | tee -a "$OUT/pages.jsonl" | "$PY" -c 'import json,sys; p=json.load(sys.stdin); print("   %-60s median %8.1f ms (n=%d)" % (p["page"][:60], p["medianMs"], p["n"]), file=sys.stderr)'
  done
}
say "controller on http://127.0.0.1:$API_PORT/ with $EXPERIMENTS experiments; pages (PAGE_RUNS=$PAGE_RUNS, PAGE_BUDGET=${PAGE_BUDGET}s)"
start_controller
sleep 2
measure_pages "runs + fires"
CPU_TICKS=$(awk '{print $14 + $15}' "/proc/$CTRL_PID/stat")
sleep 10
CPU_IDLE=$(( $(awk '{print $14 + $15}' "/proc/$CTRL_PID/stat") - CPU_TICKS ))
say "the idle controller used $(awk -v t="$CPU_IDLE" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 10 }') % of a CPU over 10 s (its tick reads the last 30 days of fire records)"
echo "{\"controllerIdleCpuPercent\": $(awk -v t="$CPU_IDLE" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 10 }')}" >"$OUT/controller-idle.json"
stop_pid "$CTRL_PID" 20; CTRL_PID=""
cp "$WORK/controller.log" "$OUT/controller.log"
if [[ $NO_FIRES == 1 ]]; then
  say "deleted $("$PY" "$BENCH_DIR/store-report.py" drop-fires "$STORE/chaos.sqlite") fire records; the pages again"
  start_controller
  sleep 2
  measure_pages "runs only"
  stop_pid "$CTRL_PID" 20; CTRL_PID=""
fi

# ---------------------------------------------------------------- summary
echo >&2
rc=0
"$PY" "$BENCH_DIR/store-report.py" summary "$OUT" || rc=$?
((rc == 0 || rc == 3)) || fail "store-report.py summary failed"
ln -sfn "$(basename "$OUT")" "$RESULTS_DIR/store-latest"
echo "results: $OUT" >&2
[[ ${STRICT:-0} == 1 ]] && exit "$rc"
exit 0
