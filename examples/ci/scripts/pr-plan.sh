#!/usr/bin/env bash
# Pull request: validate and plan against the stored snapshot. Writes plan.json and
# plan.md in OUT.
# Usage: pr-plan.sh CONFIG_DIR OUT_DIR [AUTHOR]
#
# No sync here: a pull request's configuration is untrusted input (it can point a
# source's connection at any host), so the job that plans it holds neither the sources'
# credentials nor the master key. It plans against the snapshots the merge and nightly
# jobs stored; apply reads the targets again and refuses a plan they no longer match.
set -euo pipefail
dir=${1:?config directory}
out=${2:?output directory}
author=${3:-${ACCESSHIVE_AUTHOR:-}}
mkdir -p "$out"
accesshive validate "$dir"
args=(plan "$dir" --out "$out/plan.json" --detailed-exitcode)
[ -n "$author" ] && args+=(--author "$author")
status=0
accesshive "${args[@]}" || status=$?
# 0: no changes, 2: changes; anything else is an error
[ $status -eq 0 ] || [ $status -eq 2 ]
# the comment, with the approvals already given (approvals/ and those recorded from GitHub)
# (read on the pull request: its approve command names the plan as reviewers save this
# run's artefact, run from their checkout, with none of this runner's paths)
accesshive show "$out/plan.json" --format markdown -C "$dir" --plan-name plan.json > "$out/plan.md"
echo "saved $out/plan.json and $out/plan.md"
