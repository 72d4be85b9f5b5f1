#!/bin/sh
# Controller failover: three controllers on one PostgreSQL 15, a real agent, a schedule firing every
# 10 s (lease 3 s). The leader is SIGKILLed at a random moment, 20 times (CHAOS_TRIALS=N for more or
# fewer); each trial times "killed → a standby leads" and "killed → the next run started", against
# the lease. Everything runs in network namespaces the test creates (NetworkLab) and is removed after.
# Needs root, PostgreSQL 15 (apt install postgresql-15) and a debug build (swift build --build-tests).
#
#   sudo bench/failover.sh            # the table goes to stdout and $TMPDIR/chaos-failover-trials.md
set -eu
cd "$(dirname "$0")/.."
swift build --build-tests >/dev/null
CHAOS_INTEGRATION=1 CHAOS_BENCH=1 swift test --skip-build --filter 'ControllerFailoverTests/trials' 2>&1 | grep -E '^(lease|\||✘)' || true
cat "${TMPDIR:-/tmp}/chaos-failover-trials.md"
