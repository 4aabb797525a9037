#!/usr/bin/env bash
# Plain behaviour cloning from the default swarm (64 walkers, 2M emulator frames per episode),
# the stronger teacher that the earlier SpaceInvaders loops (16 walkers x 600 epochs, about
# 154,000 frames an episode) never trained on. Collects EPISODES demonstrations, fits them
# twice (the demonstrated action, and the visit shares; 6 epochs, the epoch with the lowest
# validation loss plays), then 30 episodes per fit under v5 and noop30 (seeds 10000-10029).
# Resumable: rerun the same command (collection continues, finished fits and reports are kept).
# The readable outputs go to results/GAME-bc-strongteacher (the action fit's policy.onnx).
# Usage: bash results/bc_teacher.sh GAME OUT EPISODES SEED [FIT OPTIONS...]
#   bash results/bc_teacher.sh SpaceInvaders runs/bc-strong 16 20
set -euo pipefail
game=$1
out=$2
episodes=$3
seed=$4
shift 4
mkdir -p "$out"
uv run fil-collect --game "$game" --out "$out/demos.h5" --episodes "$episodes" --seed "$seed" \
    --workers 2 --quiet
uv run fil-collect info "$out/demos.h5" > "$out/demos-info.txt"
uv run fil-learn label-stats "$out/demos.h5" > "$out/label-stats.txt"
published=results/$(echo "$game" | tr '[:upper:]' '[:lower:]')-bc-strongteacher
mkdir -p "$published"
cp "$out/demos-info.txt" "$out/label-stats.txt" "$published"/
for target in action visits; do
    run=$out/fit-$target
    uv run fil-learn fit "$out/demos.h5" --out "$run" --epochs 6 --batch-size 128 --seed 0 \
        --target "$target" --quiet "$@"
    cp "$run/metrics.jsonl" "$published/metrics-$target.jsonl"
    cp "$run/training.png" "$published/training-$target.png"
    for protocol in v5 noop30; do
        report=$run-$protocol.json
        [[ -e "$report" ]] || uv run fil-learn eval "$run" --episodes 30 --seed 10000 \
            --protocol "$protocol" --json "$report" --quiet
        cp "$report" "$published/final-$target-$protocol.json"
    done
done
uv run fil-learn export "$out/fit-action" --out "$published/policy.onnx" --quiet
