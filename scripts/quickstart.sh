#!/usr/bin/env bash
# The main job as it stands, on a fresh Debian machine as root: install what is missing, build chaos,
# check the example experiments and inventory, then run real faults against processes and a tmpfs
# this script creates itself, and show that nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then echo "Run as root (faults signal processes and mount a tmpfs)." >&2; exit 64; fi
export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in libsystemd-dev libsqlite3-dev systemd procps util-linux nftables iproute2; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; fi
command -v swift >/dev/null || { echo "Swift 6.2 or later is needed on PATH (https://swift.org/install)." >&2; exit 1; }

swift build -c release --product chaos --static-swift-stdlib --scratch-path .build-static
chaos=.build-static/release/chaos
state=$(mktemp -d /tmp/chaos-quickstart.XXXXXX)
export CHAOS_STATE_DIR=$state
disk=$state/disk
victims=()
cleanup() {
  for p in "${victims[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
  mountpoint -q "$disk" && umount "$disk"
  rm -rf "$state"
}
trap cleanup EXIT

echo "== chaos validate: examples and inventory"
$chaos validate experiments/examples/*.yaml deploy/inventory.example.yaml

echo; echo "== chaos pause: freeze a process for 2s, then it runs again"
sleep 600 & victims+=($!)
$chaos pause --pid "${victims[0]}" --for 2s
grep State "/proc/${victims[0]}/status"

echo; echo "== chaos pause, then chaos is SIGKILLed: the guardian still resumes the process at the deadline"
$chaos pause --pid "${victims[0]}" --for 2s & c=$!
sleep 0.5; grep State "/proc/${victims[0]}/status"; kill -KILL $c; wait $c 2>/dev/null || true
sleep 2.5; grep State "/proc/${victims[0]}/status"

echo; echo "== chaos disk fill: a 64 MiB tmpfs to 90 % for 2s"
mkdir -p "$disk" && mount -t tmpfs -o size=64m tmpfs "$disk"
$chaos disk fill --path "$disk" --used 90 --for 2s
df -h "$disk" | tail -1

echo; echo "== chaos kill: by name, one of two, confirmed from /proc"
ln -sf /bin/sleep "$state/demo-victim"
"$state/demo-victim" 600 & victims+=($!)
"$state/demo-victim" 600 & victims+=($!)
$chaos kill --name demo-victim --count 1

echo; echo "== chaos capabilities: what this host can do"
$chaos capabilities

echo; echo "== chaos net reject, in a network namespace of its own: port 9 is refused for 2s, then nothing is left"
ns=chaos-quickstart-$$
ip netns add "$ns"; ip -n "$ns" link set lo up
ip -n "$ns" addr add 192.0.2.1/24 dev lo
ip netns exec "$ns" env CHAOS_STATE_DIR="$state" $chaos net reject --to 192.0.2.1 --ports 9 --interface lo --for 2s
echo "rules left in the namespace: $(ip netns exec "$ns" nft list ruleset | wc -l) lines"
ip netns del "$ns"

echo; echo "== chaos status: nothing left"
$chaos status
