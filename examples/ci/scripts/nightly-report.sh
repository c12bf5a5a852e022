#!/usr/bin/env bash
# Nightly: verify the audit log whole, sync and report. Exit 7 when drift or orphans
# were found (the workflow then opens or updates an issue with report.md as its body);
# exit 1 when the audit log was tampered with (a run checks only what the last run
# wrote; this hashes every entry).
# Usage: nightly-report.sh CONFIG_DIR OUT_DIR
set -euo pipefail
dir=${1:?config directory}
out=${2:?output directory}
mkdir -p "$out"
accesshive audit verify "$dir"
# One sync, three renderings of it: the --no-sync ones are of the snapshot the first
# reported, so they compare with the previous night's report as it does (not with it).
accesshive report "$dir" --format html --out "$out/report.html" || [ $? -eq 7 ]
accesshive report "$dir" --no-sync --format json --out "$out/report.json" || [ $? -eq 7 ]
accesshive report "$dir" --no-sync --format markdown --out "$out/report.md" \
  --fail-on drift --fail-on orphans
