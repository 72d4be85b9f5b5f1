#!/usr/bin/env bash
# bench/fuzz.sh — fuzz every parser chaos feeds with a stranger's bytes, for long.
#
#   bench/fuzz.sh [--help]     env: INPUTS (1000000), SECONDS_MAX (3600), SEED (random), WORK (/tmp/chaos-fuzz),
#                              FUZZ_BIN (default .build/release/chaos-fuzz, built when missing)
#
# chaos-fuzz mutates a corpus (experiments/, deploy/, the docs' API bodies) with byte flips, splices and
# hostile tokens (huge numbers, YAML aliases, deep nesting, control bytes, catastrophic regexes) and feeds
# each input to the experiment/inventory reader, the agent API body reader, the JSON parser, the agent
# configuration reader and the linear-time regex engine. A crash kills the fuzzer: this driver keeps the
# input that did it (WORK/crashes/N) and starts it again with the inputs left, so one run counts every
# crash. Reports inputs, crashes, hangs (> 1 s), other findings (a diagnostic outside the text, a raw
# control character in a message) and the slowest input. Exit 0 when nothing was found.
set -uo pipefail
if [[ "${1:-}" == "--help" ]]; then sed -n '2,13p' "$0"; exit 0; fi
cd "$(dirname "$0")/.."
INPUTS=${INPUTS:-1000000}; SECONDS_MAX=${SECONDS_MAX:-3600}; SEED=${SEED:-$RANDOM$RANDOM}; WORK=${WORK:-/tmp/chaos-fuzz}
BIN=${FUZZ_BIN:-.build/release/chaos-fuzz}
if [[ ! -x "$BIN" ]]; then
  echo "building chaos-fuzz (release)…" >&2
  swift build -c release --product chaos-fuzz >&2 || exit 1
fi
mkdir -p "$WORK/crashes"
left=$INPUTS; crashes=0; hangs=0; problems=0; slowest=0; round=0; start=$(date +%s)
while (( left > 0 )) && (( $(date +%s) - start < SECONDS_MAX )); do
  round=$((round + 1))
  remaining=$((SECONDS_MAX - ($(date +%s) - start))); (( remaining > 0 )) || break
  out=$("$BIN" --inputs "$left" --seconds "$remaining" --seed $((SEED + round)) \
        --corpus experiments --corpus deploy --work "$WORK" 2>"$WORK/stderr")
  rc=$?
  cat "$WORK/stderr" >> "$WORK/stderr.log"
  if [[ -n "$out" ]]; then
    done_now=$(jq -r .inputs <<<"$out"); hangs=$((hangs + $(jq -r .hangs <<<"$out"))); problems=$((problems + $(jq -r .problems <<<"$out")))
    s=$(jq -r .slowestMs <<<"$out"); slowest=$(awk -v a="$slowest" -v b="$s" 'BEGIN{print (b>a)?b:a}')
    left=$((left - done_now))
    (( rc == 0 || rc == 1 )) && continue
  fi
  # Killed by a signal: the input in WORK/current did it.
  crashes=$((crashes + 1))
  cp "$WORK/current" "$WORK/crashes/$crashes" 2>/dev/null
  echo "crash $crashes (exit $rc): $WORK/crashes/$crashes; $(tail -1 "$WORK/stderr")" >&2
  left=$((left - 1000))
done
elapsed=$(( $(date +%s) - start ))
printf '{"inputs":%d,"crashes":%d,"hangs":%d,"problems":%d,"slowestMs":%s,"seconds":%d,"seed":%s,"findings":"%s"}\n' \
  $((INPUTS - left)) "$crashes" "$hangs" "$problems" "$slowest" "$elapsed" "$SEED" "$WORK"
(( crashes == 0 && hangs == 0 && problems == 0 ))
