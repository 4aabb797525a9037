#!/usr/bin/env bash
# Plain behaviour cloning on 32 SpaceInvaders swarm demonstrations (16 walkers, 600 epochs,
# seed 0; format v4, so every step says which actions were equivalent), fitted on the visit
# shares three ways (--equivalent ignore | inclusive | pool), 8 epochs each, then 30 episodes
# under v5 (and noop30 for the default). About 40 minutes of 2 cores.
# Usage: [SHIFT=N] [COMPARED=1] [KEEP=last] bash results/bc_equivalent.sh [OUT] [EQUIVALENT...]
#   SHIFT=4 bash results/bc_equivalent.sh runs/bc-equivalent ignore
#     -> the same data and fit with random-shift augmentation (fit --shift 4), in fit-ignore-shift4
#   COMPARED=1 bash results/bc_equivalent.sh runs/bc-equivalent ignore
#     -> only the steps where the swarm compared outcomes (fit --compared-only), in
#        fit-ignore-compared
#   KEEP=last bash results/bc_equivalent.sh runs/bc-equivalent ignore
#     -> play the 8th epoch's parameters, not the lowest validation loss's (fit --keep last), in
#        fit-ignore-last
set -euo pipefail
shift_px=${SHIFT:-0}
out=${1:-runs/bc-equivalent}
shift $(($# < 1 ? $# : 1))
variants=("${@:-ignore inclusive pool}")
mkdir -p "$out"
uv run fil-collect --game SpaceInvaders --out "$out/demos.h5" --episodes 32 --walkers 16 \
    --epochs 600 --seed 0 --workers 2 --quiet
uv run fil-learn label-stats "$out/demos.h5" | tee "$out/label-stats.txt"
compared=${COMPARED:-0}
suffix=$([ "$shift_px" = 0 ] || echo "-shift$shift_px")$([ "$compared" = 0 ] || echo "-compared")
compared_option=$([ "$compared" = 0 ] || echo "--compared-only")
keep=${KEEP:-best}
suffix=$suffix$([ "$keep" = best ] || echo "-$keep")
for equivalent in ${variants[*]}; do
    run=$out/fit-$equivalent$suffix
    uv run fil-learn fit "$out/demos.h5" --out "$run" --epochs 8 --batch-size 128 --seed 0 \
        --target visits --equivalent "$equivalent" --shift "$shift_px" $compared_option --keep "$keep" --quiet
    uv run fil-learn eval "$run" --episodes 30 --seed 10000 --protocol v5 \
        --json "$run-v5.json" --quiet
done
if [[ " ${variants[*]} " == *" ignore "* ]]; then
    uv run fil-learn eval "$out/fit-ignore$suffix" --episodes 30 --seed 10000 --protocol noop30 \
        --json "$out/fit-ignore$suffix-noop30.json" --quiet
fi
