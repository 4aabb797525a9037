#!/usr/bin/env bash
# What the swarm's scores stand beside: every constant action of each game's minimal set and
# random play, 3 episodes each under v5 (`fil-learn baselines`), for the 17 games of
# bench/swarm_scores.py. One JSON file per game in results/swarm/baselines/, which
# `bench/swarm_scores.py --baselines results/swarm/baselines` reads for its table. Resumable: a
# game whose file exists is skipped. Two games at a time.
# Usage: bash results/swarm/baselines.sh [EPISODES]
set -euo pipefail
episodes=${1:-3}
out=results/swarm/baselines
mkdir -p "$out"
games=$(uv run python -c "import sys; sys.path.insert(0, 'bench'); import swarm_scores; print(' '.join(swarm_scores.REFERENCES))")
for game in $games; do
    [ -f "$out/$game-v5.json" ] || echo "$game"
done | xargs -P 2 -I{} uv run fil-learn baselines --game {} --episodes "$episodes" \
    --protocol v5 --json "$out/{}-v5.json" --quiet
