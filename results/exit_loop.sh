#!/usr/bin/env bash
# Expert iteration at the size one 2-core session affords: round 0 = plain behaviour cloning on
# swarm demonstrations; every later round collects as many demonstrations with a policy guiding
# the swarm (the best round's so far, `--guide best`) and fine-tunes on them. Resumable: rerun
# the same command; a rerun with more ROUNDS continues the same loop.
# Usage: bash results/exit_loop.sh [GAME] [TARGET: action|visits] [EPSILON] [ROUNDS] [VARIANT] [LOOP OPTIONS...]
#   bash results/exit_loop.sh SpaceInvaders visits 0.5   -> results/spaceinvaders-exit-visits
#   bash results/exit_loop.sh SpaceInvaders visits 0.8 3 v2 --episodes 32 --final-episodes 30
#     -> results/spaceinvaders-exit-visits-v2 (options after VARIANT override the defaults)
set -euo pipefail
game=${1:-SpaceInvaders}
target=${2:-visits}
epsilon=${3:-0.5}
rounds=${4:-3}
variant=${5:-}
shift $(($# < 5 ? $# : 5))
name=$(echo "$game" | tr '[:upper:]' '[:lower:]')-exit-$target${variant:+-$variant}
work=runs/$name
uv run fil-learn loop --game "$game" --mode exit --target "$target" \
    --policy-temperature 1.0 --policy-epsilon "$epsilon" --rounds "$rounds" --episodes 8 \
    --walkers 16 --swarm-epochs 600 --epochs 4 --batch-size 128 --eval-episodes 5 \
    --final-episodes 10 --baseline-episodes 1 --workers 2 --seed 0 --workdir "$work" "$@"
bash "$(dirname "$0")/publish_loop.sh" "$name"
