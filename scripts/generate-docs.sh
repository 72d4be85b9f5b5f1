#!/usr/bin/env bash
# Regenerates what the fault descriptors decide in the docs: the experiment JSON Schema and the fault
# tables of docs/formats.md. DocsTests fails until this has been run after a descriptor changed.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product chaos >/dev/null 2>&1 || { swift build --product chaos; exit 1; }
chaos=$(swift build --show-bin-path)/chaos
"$chaos" schema experiment > docs/schema/experiment.schema.json
"$chaos" schema fault-tables --into docs/formats.md
echo "updated docs/schema/experiment.schema.json and docs/formats.md"
