#!/usr/bin/env bash
# Expert iteration at the size one 2-core session affords: round 0 = plain behaviour cloning on
# 8 swarm demonstrations; rounds 1-2 collect 8 demonstrations each with the previous round's
# policy guiding the swarm and fine-tune on everything. Resumable: rerun the same command.
# Usage: bash results/exit_loop.sh [GAME] [TARGET: action|visits] [EPSILON] [ROUNDS]
#   bash results/exit_loop.sh SpaceInvaders visits 0.5   -> results/spaceinvaders-exit-visits
# A rerun with more ROUNDS continues the same loop.
set -euo pipefail
game=${1:-SpaceInvaders}
target=${2:-visits}
epsilon=${3:-0.5}
rounds=${4:-3}
name=$(echo "$game" | tr '[:upper:]' '[:lower:]')-exit-$target
work=runs/$name
uv run fil-learn loop --game "$game" --mode exit --target "$target" \
    --policy-temperature 1.0 --policy-epsilon "$epsilon" --rounds "$rounds" --episodes 8 \
    --walkers 16 --swarm-epochs 600 --epochs 4 --batch-size 128 --eval-episodes 5 \
    --final-episodes 10 --baseline-episodes 1 --workers 2 --seed 0 --workdir "$work"
out=results/$name
mkdir -p "$out"
cp "$work"/rounds.* "$work"/score.png "$work"/run/training.png "$work"/final-*.json "$out"/
cp "$work"/policies/round-$((rounds - 1))/policy.onnx "$out"/policy.onnx
