#!/usr/bin/env bash
# The whole test suite: unit tests everywhere, plus integration tests with real processes, a tmpfs,
# and a systemd user manager when run as root (CHAOS_INTEGRATION=1 is set here when root). As root it
# first installs the Debian packages the tests use (scripts/test-packages.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then export CHAOS_INTEGRATION="${CHAOS_INTEGRATION:-1}"; fi
# On a fresh Debian machine as root: install the packages the build and the tests use (skip with
# CHAOS_NO_INSTALL=1). A suite whose tools are still missing is skipped, saying which package to install.
if [ "${CHAOS_NO_INSTALL:-0}" != 1 ]; then scripts/test-packages.sh; fi
# Debian's python3 (not a pyenv shim) checks the JSON Schemas in the schema agreement test.
export CHAOS_PYTHON="${CHAOS_PYTHON:-/usr/bin/python3}"
# Tests run one at a time: many are real-time measurements (deadlines, leases, latency) that must
# not starve each other of the two cores; the whole suite still takes a few minutes.
exec swift test --no-parallel "$@"
