#!/usr/bin/env bash
# Regenerates what the code decides in the docs.
#
#   scripts/generate-docs.sh              the experiment JSON Schema and the fault tables of docs/formats.md
#                                         (what the fault descriptors decide; DocsTests fails until this has
#                                         been run after a descriptor changed)
#   scripts/generate-docs.sh --images     instead, the pictures of docs/images/ made from real runs (about a
#                                         minute): report.png, a game day's HTML report (haproxy in front of
#                                         two web servers on 127.0.0.1: a backend paused passes, the load
#                                         balancer paused fails), and spof-map.png, chaos spof analyze of
#                                         deploy/inventory.example.yaml drawn by Graphviz. Needs root,
#                                         haproxy, python3, graphviz and chromium (all in .ci/run).
#   scripts/generate-docs.sh --dashboard  instead (or with --images), docs/images/dashboard.png: runs the
#                                         sandbox test that drives the controller's dashboard in headless
#                                         Chromium (SandboxTests, "halt from the dashboard", a few minutes;
#                                         root) with CHAOS_DOCS_IMAGES=docs/images, which makes
#                                         Tests/browser/dashboard.py copy its screenshot of the running
#                                         experiment there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

images=0 dashboard=0
for a in "$@"; do
  case "$a" in
  --images) images=1 ;;
  --dashboard) dashboard=1 ;;
  *) echo "usage: scripts/generate-docs.sh [--images] [--dashboard]" >&2; exit 64 ;;
  esac
done

swift build --product chaos >/dev/null 2>&1 || { swift build --product chaos; exit 1; }
chaos=$(swift build --show-bin-path)/chaos
if [ "$images" = 0 ] && [ "$dashboard" = 0 ]; then
  "$chaos" schema experiment > docs/schema/experiment.schema.json
  "$chaos" schema fault-tables --into docs/formats.md
  echo "updated docs/schema/experiment.schema.json and docs/formats.md"
fi

if [ "$images" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "--images needs root (the game day pauses processes and keeps a ledger)" >&2; exit 64; }
  for tool in haproxy python3 dot chromium; do
    command -v "$tool" >/dev/null || { echo "--images needs $tool (apt-get install haproxy python3 graphviz chromium)" >&2; exit 1; }
  done
  swift build --product chaos-remote >/dev/null 2>&1 || { swift build --product chaos-remote; exit 1; }
  work=$(mktemp -d /tmp/chaos-docs-images.XXXXXX)
  pids=()
  cleanup() {
    exec 2>/dev/null  # not bash's "Killed" line for each helper
    for p in "${pids[@]}"; do kill -CONT "$p" || true; kill -KILL "$p" || true; wait "$p" || true; done
    rm -rf "$work"
  }
  trap cleanup EXIT
  mkdir -p docs/images "$work/www1" "$work/www2" "$work/staging" "$work/state"
  echo ok > "$work/www1/index.html"; echo ok > "$work/www2/index.html"

  # The SPOF diagram: the example inventory's map as chaos spof analyze draws it.
  "$chaos" spof analyze --inventory deploy/inventory.example.yaml --dot "$work/spof.dot" >/dev/null || [ -s "$work/spof.dot" ]
  dot -Tpng -Gdpi=80 "$work/spof.dot" -o docs/images/spof-map.png

  # A small staging system on loopback: haproxy (28080) in front of two web servers (28081, 28082).
  python3 -m http.server 28081 --bind 127.0.0.1 --directory "$work/www1" >/dev/null 2>&1 & pids+=($!)
  python3 -m http.server 28082 --bind 127.0.0.1 --directory "$work/www2" >/dev/null 2>&1 & pids+=($!)
  cat > "$work/haproxy.cfg" <<'EOF'
defaults
  mode http
  timeout connect 200ms
  timeout client 5s
  timeout server 300ms
  retries 2
  option redispatch
frontend site
  bind 127.0.0.1:28080
  default_backend web
backend web
  option httpchk GET /
  server web1 127.0.0.1:28081 check inter 500 fall 2 rise 2
  server web2 127.0.0.1:28082 check inter 500 fall 2 rise 2
EOF
  haproxy -db -f "$work/haproxy.cfg" >/dev/null 2>&1 & pids+=($!)
  for _ in $(seq 1 50); do curl -fsS -o /dev/null http://127.0.0.1:28080/ 2>/dev/null && break; sleep 0.2; done

  cat > "$work/staging/10-pause-web-backend.yaml" <<'EOF'
apiVersion: chaos/v1
kind: Experiment
name: pause-web-backend
description: Freeze one of the two web servers for 8 s; haproxy must take it out and route around it.
target: {process: {port: 28081}}
fault: {type: process.pause, duration: 8s}
probes:
  - {name: site, type: http, url: "http://127.0.0.1:28080/", interval: 400ms, timeout: 400ms}
expect:
  availability: {during: 80%}
  maxOutage: 2s
  recoverWithin: 10s
EOF
  cat > "$work/staging/20-pause-load-balancer.yaml" <<'EOF'
apiVersion: chaos/v1
kind: Experiment
name: pause-load-balancer
description: Freeze the only haproxy for 5 s; nothing stands in for it.
target: {process: {port: 28080}}
fault: {type: process.pause, duration: 5s}
probes:
  - {name: site, type: http, url: "http://127.0.0.1:28080/", interval: 400ms, timeout: 400ms}
expect:
  availability: {during: 80%}
  maxOutage: 2s
  recoverWithin: 10s
EOF
  CHAOS_STATE_DIR="$work/state" "$chaos" gameday "$work/staging" --gate 3s --settle 15s --report "$work/gameday.html" || true
  [ -s "$work/gameday.html" ] || { echo "the game day wrote no report" >&2; exit 1; }
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size=1100,2500 --screenshot="$work/report.png" "file://$work/gameday.html" >/dev/null 2>&1
  cp "$work/report.png" docs/images/report.png
  echo "updated docs/images/report.png and docs/images/spof-map.png"
fi

if [ "$dashboard" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "--dashboard needs root (the sandbox uses network namespaces)" >&2; exit 64; }
  swift build --build-tests
  CHAOS_INTEGRATION=1 CHAOS_DOCS_IMAGES="$root/docs/images" swift test --skip-build --filter "SandboxTests.controllerHaltDashboard"
  echo "updated docs/images/dashboard.png"
fi
