#!/usr/bin/env bash
# What the swarm's scores stand beside: every constant action of each game's minimal set and
# random play, 3 episodes each under v5 (`fil-learn baselines`), for the 17 games of
# bench/swarm_scores.py, or with `atari57` for the standard 57 of bench/atari57_references.py
# (the 17 are among them). One JSON file per game in results/swarm/baselines/, which
# `bench/swarm_scores.py --baselines results/swarm/baselines` (and `--atari57`) reads for its
# table. Resumable: a game whose file exists is skipped. Two games at a time.
# Usage: bash results/swarm/baselines.sh [EPISODES] [swarm|atari57]
set -euo pipefail
episodes=${1:-3}
set_name=${2:-swarm}
out=results/swarm/baselines
mkdir -p "$out"
case "$set_name" in
    swarm) names="swarm_scores.REFERENCES" ;;
    atari57) names="atari57_references.ATARI57" ;;
    *) echo "unknown game set '$set_name': swarm or atari57" >&2; exit 2 ;;
esac
games=$(uv run python -c "import sys; sys.path.insert(0, 'bench'); import ${names%%.*}; print(' '.join(${names}))")
for game in $games; do
    [ -f "$out/$game-v5.json" ] || echo "$game"
done | xargs -P 2 -I{} uv run fil-learn baselines --game {} --episodes "$episodes" \
    --protocol v5 --json "$out/{}-v5.json" --quiet
