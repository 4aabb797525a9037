#!/usr/bin/env bash
# The scaling recipe's accelerator leg: on a machine with a GPU and no network (Python, JAX with
# CUDA, flax, h5py and onnxruntime preinstalled), run the two packages from this tree with the
# wheels they add carried in `.whl/` (docs/scaling.md lists them: ale-py, gymnasium, typer with
# pydantic, optax, orbax at the lock's versions; the machine's own flax, which matches its jax).
# Every step prints what it measured; outputs go to $OUT (default runs/gpu).
#
#   bash bench/gpu_session.sh speed DATA...             # fit's samples/s at batch 256 and 1024
#   bash bench/gpu_session.sh collect FIRST LAST DIR    # shards FIRST..LAST of the scale recipe
#   bash bench/gpu_session.sh fit RUN E1,E2,.. DATA...  # fit to E1, export, continue to E2, ...
#
# Shards are the scale recipe's (docs/scaling.md): shard k is 50 episodes of a 16-walker,
# 150,000-frame swarm with --seed k, the same bytes wherever they are collected.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"
SITE=${FIL_SITE:-/tmp/fil-site}
if [ ! -d "$SITE" ] && [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" .whl/*.whl
fi
export PYTHONPATH="$SITE:$PWD/packages/fil-collect/src:$PWD/packages/fil-learn/src"
export PYTHONUNBUFFERED=1
collect() { python3 -c 'from fil_collect.cli import main; main()' "$@"; }
learn() { python3 -m fil_learn "$@"; }

case "${1:-}" in
speed)
    shift
    python3 -c 'import jax; print("jax", jax.__version__, jax.devices())'
    for batch in 256 1024; do  # epoch 2's samples/s: epoch 1 holds the compilation
        learn fit "$@" --out "/tmp/speed-$batch" --epochs 2 --batch-size "$batch" --quiet
        python3 - "/tmp/speed-$batch/metrics.jsonl" "$batch" <<'PY' | tee -a "$OUT/speed.txt"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"batch {sys.argv[2]}: " + ", ".join(
    f"epoch {r['epoch']} {r['samples_per_second']:,.0f} samples/s" for r in rows))
PY
    done
    ;;
collect)
    first=$2 last=$3 dir=$4
    mkdir -p "$dir"
    for k in $(seq "$first" "$last"); do
        collect --game SpaceInvaders --out "$dir/shard-$(printf %02d "$k").h5" --episodes "${FIL_EPISODES:-50}" \
            --walkers 16 --max-frames 150000 --seed "$k" --quiet
        echo "shard $k: $(date +%T)"
    done
    ;;
fit)
    run=$2 epochs=$3
    shift 3
    for e in ${epochs//,/ }; do
        start=$(date +%s)
        learn fit "$@" --out "$run" --epochs "$e" --batch-size "${FIL_BATCH:-1024}" --keep last \
            --seed 0 --quiet
        echo "fit to epoch $e: $(($(date +%s) - start)) s"
        learn export "$run" --out "$OUT/policy-e$e.onnx" --quiet
    done
    cp "$run/run.json" "$run/metrics.jsonl" "$OUT/"
    ;;
*)
    echo "usage: bash bench/gpu_session.sh speed | collect FIRST LAST DIR | fit RUN E1,E2 DATA..." >&2
    exit 2
    ;;
esac
