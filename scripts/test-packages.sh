#!/usr/bin/env bash
# The Debian packages the build and the test suite use, installed when missing (as root, with apt).
# scripts/test.sh and .ci/run call it; a machine without apt or without root skips it, and the suites
# whose tools are missing are then skipped with the package to install (Tests/ChaosCLITests/Requirements.swift).
#   scripts/test-packages.sh          install what is missing
#   scripts/test-packages.sh --list   print the list
set -euo pipefail
packages=(
  # build
  libsystemd-dev libsqlite3-dev
  # services and tools the integration tests run
  systemd dbus-user-session haproxy redis-server redis-sentinel postgresql-15 postgresql-client-15 prometheus
  nftables iptables iproute2 iputils-ping iperf3 socat procps util-linux curl openssl jq time hyperfine
  python3 python3-yaml python3-jsonschema
  # the dashboard in a browser, diagrams
  chromium chromium-driver python3-selenium fonts-liberation graphviz
  # packages (scripts/package.sh, PackageTests)
  dpkg-dev binutils lintian
)
if [ "${1:-}" = "--list" ]; then printf '%s\n' "${packages[@]}"; exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "test-packages: not root or no apt-get; not installing (missing tools make their suites skip)" >&2
  exit 0
fi
need=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
