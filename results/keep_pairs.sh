#!/usr/bin/env bash
# --keep last against --keep best on Atlantis: for each seed, one demonstrations file (24 swarm
# episodes, 16 walkers x 600 epochs) shared by two DAgger value loops that differ only in which
# epoch of each fit becomes the round's policy (results/dagger_loop.sh, 9 rounds, 80 labels a
# round). Both loops of a seed run at once, so they share the machine alike; training is
# bit-reproducible on one machine only, so compare pairs from the same machine.
# Resumable: rerun the same command. Usage: bash results/keep_pairs.sh SEED...
#   bash results/keep_pairs.sh 8 9   -> results/atlantis-dagger-value-keep{last,best}-seed{8,9}
set -uo pipefail
mkdir -p runs/demos
for seed in "$@"; do
    demos=runs/demos/atlantis-seed$seed.h5
    [[ -e $demos.done ]] || (nice -n 5 uv run fil-collect --game Atlantis --out "$demos" \
        --episodes 24 --walkers 16 --epochs 600 --seed "$seed" --workers 1 --quiet \
        && touch "$demos.done") &
done
wait
status=0
for seed in "$@"; do
    for keep in last best; do
        DEMOS=runs/demos/atlantis-seed$seed.h5 bash "$(dirname "$0")/dagger_loop.sh" Atlantis \
            "value-keep$keep-seed$seed" 9 --episodes 24 --seed "$seed" --max-labels 80 \
            --keep "$keep" > "runs/keep-$keep-seed$seed.log" 2>&1 &
    done
    wait -n || status=1
    wait -n || status=1
done
exit $status
