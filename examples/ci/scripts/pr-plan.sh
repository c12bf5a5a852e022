#!/usr/bin/env bash
# Pull request: validate, sync, plan. Writes plan.json and plan.md in OUT.
# Usage: pr-plan.sh CONFIG_DIR OUT_DIR [AUTHOR]
set -euo pipefail
dir=${1:?config directory}
out=${2:?output directory}
author=${3:-${ACCESSHIVE_AUTHOR:-}}
mkdir -p "$out"
accesshive validate "$dir"
# a source that cannot be read keeps its last snapshot; the plan says so
accesshive sync "$dir" --format json > "$out/sync.json" || [ $? -eq 5 ]
args=(plan "$dir" --out "$out/plan.json" --detailed-exitcode)
[ -n "$author" ] && args+=(--author "$author")
status=0
accesshive "${args[@]}" || status=$?
# 0: no changes, 2: changes; anything else is an error
[ $status -eq 0 ] || [ $status -eq 2 ]
# the comment, with the approvals already given (approvals/ and those recorded from GitHub)
accesshive show "$out/plan.json" --format markdown -C "$dir" > "$out/plan.md"
echo "saved $out/plan.json and $out/plan.md"
