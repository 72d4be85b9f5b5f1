#!/usr/bin/env bash
# The main job, on a fresh Debian machine as root: install what is missing, build chaos, bring the
# sandbox staging cluster up (deploy/sandbox), run the game day (experiments/sandbox) on the ha
# variant and then on the spof variant, prove the SPOF analysis of each (chaos spof verify: every
# suspected SPOF and claimed redundancy tested, beside the prediction), print the verdict tables and
# the proofs side by side, write the HTML reports, and tear everything down (also on failure or Ctrl-C).
#
#   scripts/gameday.sh [--dir DIR]        (default DIR: /run/chaos-gameday; reports land in DIR-reports/)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=/run/chaos-gameday
[[ "${1:-}" == "--dir" ]] && dir=$2
reports=$dir-reports

need=()
for pkg in libsystemd-dev libsqlite3-dev systemd nftables iptables iproute2 haproxy redis-server redis-sentinel python3 curl procps util-linux; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; fi
command -v swift >/dev/null || { echo "Swift 6.2 or later is needed on PATH (https://swift.org/install)." >&2; exit 1; }

echo "== building chaos, chaos-agent and chaos-remote (release)"
mkdir -p "$reports"
for p in chaos chaos-agent chaos-remote; do
  swift build -c release --product "$p" --static-swift-stdlib --scratch-path .build-static > "$reports/build.log" 2>&1 ||
    { grep -E 'error:' "$reports/build.log" | head -20; echo "the build of $p failed (log: $reports/build.log)" >&2; exit 1; }
done
export CHAOS_BIN=$PWD/.build-static/release/chaos
sandbox() { deploy/sandbox/sandbox "$@" --dir "$dir"; }
trap 'sandbox down >/dev/null 2>&1 || true' EXIT
mkdir -p "$reports"
# This run's verdicts only: the comparison below reads these logs, and an earlier game day's runs of
# experiments that no longer exist would show up in it.
rm -rf "$reports/state-ha" "$reports/state-spof"

status=0
spof_status=0
for variant in ha spof; do
  echo; echo "== sandbox up: $variant"
  sandbox up --variant "$variant"
  echo "== game day on $variant"
  ip netns exec chsbx-client env CHAOS_IDENTITY=sandbox CHAOS_PKI_DIR="$dir/pki" CHAOS_STATE_DIR="$reports/state-$variant" \
    "$CHAOS_BIN" gameday experiments/sandbox --inventory "$dir/inventory.yaml" --report "$reports/gameday-$variant.html" || status=$?
  echo "== SPOF proof on $variant: the inventory's map analysed, then every suspicion and claimed redundancy tested"
  ip netns exec chsbx-client env CHAOS_IDENTITY=sandbox CHAOS_PKI_DIR="$dir/pki" CHAOS_STATE_DIR="$reports/state-$variant" \
    "$CHAOS_BIN" spof verify --inventory "$dir/inventory.yaml" --report "$reports/spof-$variant.html" --store-dir "$reports/state-$variant/spof-runs" || spof_status=$?
  echo "== chaos leftovers on the $variant hosts"
  sandbox leftovers || status=3
done
sandbox down

echo; echo "== ha vs spof (the same experiments on the redundant and on the single-Redis cluster)"
python3 - "$reports/state-ha/runs/verdicts.jsonl" "$reports/state-spof/runs/verdicts.jsonl" <<'PY'
import json, sys
def load(path):
    try:
        return {d["experiment"]: d for d in (json.loads(l) for l in open(path) if l.strip())}
    except FileNotFoundError:
        return {}
ha, spof = load(sys.argv[1]), load(sys.argv[2])
def cell(d):
    if not d: return "not run"
    out = d.get("outcome", "?")
    o = (d.get("figures") or {}).get("longestOutageMs")
    return out + ("" if o is None else " (outage %.1f s)" % (o / 1000))
rows = [("EXPERIMENT", "HA", "SPOF")] + [(n, cell(ha.get(n)), cell(spof.get(n))) for n in sorted(set(ha) | set(spof))]
w = [max(len(r[i]) for r in rows) for i in range(3)]
for r in rows: print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
PY
echo; echo "== SPOF proof, ha vs spof (predicted → proven)"
python3 - "$reports/spof-ha.json" "$reports/spof-spof.json" <<'PY'
import json, sys
def load(path):
    try:
        return {e["component"]: e for e in json.load(open(path))["entries"]}
    except (FileNotFoundError, KeyError, ValueError):
        return {}
ha, spof = load(sys.argv[1]), load(sys.argv[2])
def cell(e):
    if not e: return "not planned"
    return "%s → %s%s" % (e["predicted"], e["proven"], "" if e.get("agrees") is not False else " (DISAGREES)")
rows = [("COMPONENT", "HA", "SPOF")] + [(c, cell(ha.get(c)), cell(spof.get(c))) for c in sorted(set(ha) | set(spof))]
w = [max(len(r[i]) for r in rows) for i in range(3)]
for r in rows: print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
PY
echo; echo "== reports: $reports/gameday-ha.html $reports/gameday-spof.html $reports/spof-ha.html $reports/spof-spof.html"
echo "   verdict logs: $reports/state-ha/runs/verdicts.jsonl $reports/state-spof/runs/verdicts.jsonl"
# A game day that finds failures did its job: 1 (something failed) is the expected outcome here. A
# SPOF proof that disagrees with the sandbox's own map (1) or could not tell (2) is not.
(( spof_status != 0 )) && { echo "spof verify exited $spof_status (see above)" >&2; exit "$spof_status"; }
exit $(( status == 1 ? 0 : status ))
