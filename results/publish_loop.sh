#!/usr/bin/env bash
# Publish a finished loop: runs/NAME -> results/NAME, the files a reader needs (the round
# table, plots, final evaluations and the best round's policy.onnx), not the datasets.
# Usage: bash results/publish_loop.sh NAME   (called by exit_loop.sh and dagger_loop.sh)
set -euo pipefail
work=runs/$1
out=results/$1
mkdir -p "$out"
cp "$work"/rounds.* "$work"/score.png "$work"/run/training.png "$work"/final-*.json "$out"/
cp "$work"/policy.onnx "$out"/policy.onnx  # the best round's (`rounds.md` says which)
