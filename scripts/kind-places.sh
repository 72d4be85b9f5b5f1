#!/usr/bin/env bash
# Where a fault kind is named by hand: every line of source and docs that spells the kind
# (`network.loss`, `.networkLoss`) or one of its own parameters (`lossPercent`), grouped by file.
# Generated text is skipped (docs/schema/*.json, the tables between "generated" markers in docs), and
# so are Swift comment lines: what is counted is what someone must write or change for the kind.
# Usage: scripts/kind-places.sh [KIND [PARAM...]]   e.g. scripts/kind-places.sh network.loss lossPercent
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-network.loss}"; shift || true
params=("$@")
if [ ${#params[@]} -eq 0 ] && [ "$kind" = network.loss ]; then params=(lossPercent); fi
# network.loss -> networkLoss
area="${kind%%.*}"; action="${kind#*.}"
camel="${area}$(tr '[:lower:]' '[:upper:]' <<<"${action:0:1}")${action:1}"
pattern="${kind//./\\.}|\\.${camel}\\b|case ${camel}\\b"
for p in "${params[@]}"; do pattern="$pattern|\\b$p\\b"; done
files=$(grep -rlE "$pattern" Sources docs experiments/examples README.md 2>/dev/null | grep -v '^docs/schema/' || true)
total=0; places=0
for f in $files; do
  # Lines inside <!-- generated ... --> ... <!-- end generated --> are written by `chaos schema`, not by hand.
  n=$(awk '/<!-- generated/{g=1} /<!-- end generated/{g=0; next} /^[[:space:]]*\/\// {next} !g && $0 ~ pat {c++} END{print c+0}' \
        pat="$(sed -E 's/\\b//g' <<<"$pattern")" "$f")
  [ "$n" -gt 0 ] || continue
  printf '%4d  %s\n' "$n" "$f"
  total=$((total + n)); places=$((places + 1))
done
echo "$kind is named on $total hand-written lines in $places files"
