#!/usr/bin/env bash
# Plain behaviour cloning on SpaceInvaders with the default swarm, evaluated under v5.
# Usage: bash results/bc_spaceinvaders.sh [OUT]   (about 10 minutes on 2 cores)
set -euo pipefail
out=${1:-runs/bc-si}
mkdir -p "$out"
uv run fil-collect --game SpaceInvaders --out "$out/ds.h5" --episodes 16 --seed 1 --quiet
uv run fil-collect info "$out/ds.h5"
uv run fil-learn fit "$out/ds.h5" --out "$out/run" --epochs 8 --batch-size 128 --quiet
uv run fil-learn eval "$out/run" --episodes 10 --protocol v5 --json "$out/eval-v5.json" --quiet
