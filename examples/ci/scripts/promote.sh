#!/usr/bin/env bash
# Promotion: what sandbox applied cleanly may go to production.
# Usage: promote.sh CONFIG_DIR [FROM] [TO]
set -euo pipefail
dir=${1:?config directory}
from=${2:-sandbox}
to=${3:-production}
accesshive promote "$dir" --from "$from" --to "$to"
accesshive sync "$dir" --env "$to" || [ $? -eq 5 ]
accesshive plan "$dir" --env "$to" --out "plan-$to.json"
accesshive apply "plan-$to.json" -C "$dir" --env "$to"
