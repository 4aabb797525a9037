#!/usr/bin/env bash
# Expert iteration on SpaceInvaders at the size one 2-core session affords: round 0 = plain
# behaviour cloning on 8 swarm demonstrations; rounds 1-2 collect 8 demonstrations each with the
# previous round's policy guiding the swarm and fine-tune on everything. Resumable: rerun it.
# Usage: bash results/exit_spaceinvaders.sh [TARGET: action|visits] [EPSILON]
set -euo pipefail
target=${1:-action}
epsilon=${2:-0.5}
work=runs/spaceinvaders-exit-$target
uv run fil-learn loop --game SpaceInvaders --mode exit --target "$target" \
    --policy-temperature 1.0 --policy-epsilon "$epsilon" --rounds 3 --episodes 8 \
    --walkers 16 --swarm-epochs 600 --epochs 4 --batch-size 128 --eval-episodes 5 \
    --final-episodes 10 --baseline-episodes 1 --workers 2 --seed 0 --workdir "$work"
out=results/spaceinvaders-exit-$target
mkdir -p "$out"
cp "$work"/rounds.* "$work"/score.png "$work"/run/training.png "$work"/final-*.json "$out"/
cp "$work"/policies/round-2/policy.onnx "$out"/policy.onnx
