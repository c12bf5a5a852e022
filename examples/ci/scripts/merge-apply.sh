#!/usr/bin/env bash
# Merge to main: apply the reviewed plan. Fails on any order that is not verified.
# Usage: merge-apply.sh CONFIG_DIR PLAN_FILE [OWNER/REPO PR_NUMBER]
set -euo pipefail
dir=${1:?config directory}
plan=${2:?plan file}
repo=${3:-}
pr=${4:-}
if [ -n "$repo" ] && [ -n "$pr" ]; then
  accesshive approvals from-github "$plan" --repo "$repo" --pr "$pr" -C "$dir"
fi
# report approvals (exit 6 when some are missing: those orders wait, apply says so)
accesshive approvals verify "$plan" -C "$dir" || [ $? -eq 6 ]
status=0
accesshive apply "$plan" -C "$dir" --format json > apply.json || status=$?
cat apply.json
if [ $status -ne 0 ]; then
  echo "apply left orders unverified (exit $status): see apply.json" >&2
  exit $status
fi
