#!/usr/bin/env bash
# bench/build.sh — what a build and the test suite cost on this machine, from cold.
#
# Usage: bench/build.sh [debug|release|tests]...     (default: debug tests)
#   debug    a cold debug build with the tests (`swift build --build-tests`), what CI builds
#   release  a cold static release build of the three shipped programs (`swift build -c release
#            --static-swift-stdlib`), what scripts/package.sh ships
#   tests    scripts/test.sh on the existing debug build (its lanes; CHAOS_NO_INSTALL=1)
# Cold means an empty scratch directory (a temporary one; .build is not touched) with the package
# checkouts copied from .build, so no network is used. Each step prints its wall time and the CPU
# time it used (user+sys, so the ratio shows how much of the two cores it kept busy); results go to
# bench/results/build-<UTC>/summary.json. A cold debug build is about 9 min here, the static release
# build of all three programs about 30 min, the suite about 11 min.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=("$@"); [[ ${#steps[@]} -gt 0 ]] || steps=(debug tests)
for s in "${steps[@]}"; do [[ $s =~ ^(debug|release|tests)$ ]] || { echo "build.sh: unknown step '$s' (debug, release, tests)" >&2; exit 2; }; done
out=bench/results/build-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$out"
scratch=$(mktemp -d /tmp/chaos-bench-build.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
seed() { # copies the resolved checkouts so a cold build fetches nothing
  mkdir -p "$1"
  [[ -d .build/checkouts ]] && cp -a .build/checkouts .build/repositories "$1/" 2>/dev/null || true
  [[ -f .build/workspace-state.json ]] && cp .build/workspace-state.json "$1/"
}
timed() { # timed NAME COMMAND...: wall and CPU seconds of COMMAND and its children
  local name=$1; shift
  echo "== $name: $*" >&2
  /usr/bin/time -f "%e %U %S" -o "$out/$name.time" "$@" >"$out/$name.log" 2>&1 || { tail -20 "$out/$name.log" >&2; echo "build.sh: $name failed (log: $out/$name.log)" >&2; exit 1; }
  read -r wall user sys <"$out/$name.time"
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN { printf "%-8s wall %7.1f s   cpu %7.1f s   (%.2f cores)\n", n, w, u + s, (u + s) / w }'
  printf '{"step":"%s","wallSeconds":%s,"userSeconds":%s,"sysSeconds":%s}\n' "$name" "$wall" "$user" "$sys" >>"$out/steps.jsonl"
}
for s in "${steps[@]}"; do
  case $s in
    debug) seed "$scratch/debug"; timed debug swift build --build-tests --scratch-path "$scratch/debug" ;;
    release) seed "$scratch/release"; timed release swift build -c release --static-swift-stdlib --scratch-path "$scratch/release" ;;
    tests) CHAOS_NO_INSTALL=1 timed tests scripts/test.sh ;;
  esac
done
{ echo "{\"date\":\"$(date -u +%FT%TZ)\",\"cpus\":$(nproc),\"swift\":\"$(swift --version 2>&1 | head -1)\",\"steps\":["; paste -sd, "$out/steps.jsonl"; echo "]}"; } >"$out/summary.json"
echo "results: $out/summary.json"
