#!/usr/bin/env bash
# DAgger with value relabelling (the loop that took Atlantis from 23,940 to 46,347): round 0 =
# plain behaviour cloning on swarm demonstrations; every later round plays the policy for 10
# v5 episodes, labels every 4th visited state with one 4-walker, 10-epoch swarm per first action
# (common random numbers; most lives, then score) and fine-tunes 3 epochs on all relabelled
# states so far (the demonstrations dropped). One process for relabelling, so two loops share a
# 2-core machine. Resumable: rerun the same command; a larger ROUNDS continues the same loop.
# DEMOS=FILE reuses a demonstrations file made by the same `fil-collect` settings the loop would
# use (the same seed gives the same episodes), instead of collecting them again.
# Usage: [DEMOS=FILE] bash results/dagger_loop.sh GAME VARIANT ROUNDS [LOOP OPTIONS...]
#   DEMOS=runs/unguided-atlantis-16w600e-seed7.h5 bash results/dagger_loop.sh Atlantis value-long 8 \
#       --episodes 24 --seed 7 --max-labels 80           -> results/atlantis-dagger-value-long
#   DEMOS=runs/bc-equivalent/demos.h5 bash results/dagger_loop.sh SpaceInvaders guided 5 \
#       --episodes 32 --seed 0 --target visits --max-labels 60 --guided-relabel \
#       --policy-temperature 0.5 --policy-epsilon 0.2    -> results/spaceinvaders-dagger-guided
set -euo pipefail
game=$1
variant=$2
rounds=$3
shift 3
name=$(echo "$game" | tr '[:upper:]' '[:lower:]')-dagger-$variant
work=runs/$name
mkdir -p "$work"
if [[ -n "${DEMOS:-}" && ! -e "$work/demos.h5" ]]; then
    cp "$DEMOS" "$work/demos.h5"
fi
nice -n 5 uv run fil-learn loop --game "$game" --workdir "$work" --rounds "$rounds" --mode dagger \
    --rule value --walkers 16 --swarm-epochs 600 --epochs 3 --eval-episodes 10 --state-every 4 \
    --label-walkers 4 --label-epochs 10 --final-episodes 30 --workers 1 --drop-demos "$@"
bash "$(dirname "$0")/publish_loop.sh" "$name"
