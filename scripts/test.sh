#!/usr/bin/env bash
# The whole test suite: unit tests everywhere, plus integration tests with real processes, a tmpfs,
# and a systemd user manager when run as root (CHAOS_INTEGRATION=1 is set here when root). As root it
# first installs the Debian packages the tests use (scripts/test-packages.sh).
#
#   scripts/test.sh                  everything, in two lanes (below)
#   scripts/test.sh --filter NAME    what swift test selects, one test at a time in one lane
#   CHAOS_TEST_LANES=1 scripts/test.sh   everything in one lane (the way it ran before issue 21)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then export CHAOS_INTEGRATION="${CHAOS_INTEGRATION:-1}"; fi
# On a fresh Debian machine as root: install the packages the build and the tests use (skip with
# CHAOS_NO_INSTALL=1). A suite whose tools are still missing is skipped, saying which package to install.
if [ "${CHAOS_NO_INSTALL:-0}" != 1 ]; then scripts/test-packages.sh; fi
# Debian's python3 (not a pyenv shim) checks the JSON Schemas in the schema agreement test.
export CHAOS_PYTHON="${CHAOS_PYTHON:-/usr/bin/python3}"
# Within a lane tests run one at a time: many are real-time measurements (deadlines, leases, latency)
# that must not starve each other of the two cores.
if [ $# -gt 0 ] || [ "${CHAOS_TEST_LANES:-4}" = 1 ]; then exec swift test --no-parallel "$@"; fi

# Four lanes at once, each one test at a time. Most of the suite's time is waiting, not computing:
# for real HA software to fail over, for killed services to restart, for a scheduled minute, for
# leases to run out. So lanes overlap their waits on the two cores instead of adding them up:
#   sandbox      SandboxTests: real haproxy, Redis and sentinels in namespaces chsbx-*
#   controllers  SandboxControllerTests: the controller against its own sandbox, chsbxc-*
#   net          the network, delay relay, agent, remote and controller-failover integration suites
#   rest         everything else
# The lanes share nothing: each sandbox has its own namespaces (same addresses, other namespaces),
# and every other test makes its own namespaces, files, ports and processes.
start=$SECONDS
swift build --build-tests
lanes=/tmp/chaos-test-lanes.$$
mkdir -p "$lanes"
trap 'rm -rf "$lanes"' EXIT
trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT TERM
# The test bundle swift test would run, started directly: two `swift test` at once contend for the
# build database even with --skip-build.
bundle=$(swift build --show-bin-path)/chaosPackageTests.xctest
lane() { # lane NAME ARGS...: a serial Swift Testing run, its lines prefixed with [NAME], its status in LANES/NAME
  local name=$1; shift
  { "$bundle" --testing-library swift-testing --no-parallel "$@" 2>&1; echo $? >"$lanes/$name"; } | sed -u "s/^/[$name] /"
}
net='NetworkIntegrationTests|DelayRelayTests|AgentIntegrationTests|RemoteIntegrationTests|ControllerFailoverTests'
lane sandbox --filter 'SandboxTests' &
lane controllers --filter 'SandboxControllerTests' &
lane net --filter "$net" &
lane rest --skip "SandboxTests|SandboxControllerTests|$net" &
wait
status=0
for name in sandbox controllers net rest; do
  rc=$(cat "$lanes/$name" 2>/dev/null || echo 1)
  echo "lane $name: exit $rc"
  [ "$rc" = 0 ] || status=1
done
echo "scripts/test.sh: $((SECONDS - start)) s (build and all lanes)"
exit $status
