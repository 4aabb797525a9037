"""bench/ensemble_eval.py plays its members' mean log-probabilities through fil-learn's own
evaluation: an ensemble of one policy with itself plays exactly that policy's episodes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import ensemble_eval  # noqa: E402

POLICY = ROOT / "results" / "best" / "spaceinvaders.onnx"


def test_the_ensemble_averages_log_probabilities() -> None:
    one = ensemble_eval.load_policy(POLICY, threads=1)
    both = ensemble_eval.ensemble([POLICY, POLICY])
    frames = np.random.default_rng(0).integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)
    expected = ensemble_eval.log_softmax(one.logits(frames))
    np.testing.assert_allclose(both.logits(frames), expected, rtol=1e-6, atol=1e-6)
    assert np.allclose(np.exp(expected).sum(axis=1), 1.0)


def test_an_ensemble_of_one_policy_plays_its_episodes(tmp_path: Path) -> None:
    common = ["--episodes", "2", "--seed", "10000", "--max-steps", "300"]
    alone, together = tmp_path / "alone.json", tmp_path / "together.json"
    subprocess.run(
        [sys.executable, "-m", "fil_learn", "eval", str(POLICY), *common, "--json", str(alone),
         "--quiet"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ensemble_eval.py"), str(POLICY), str(POLICY),
         *common, "--json", str(together)],
        check=True, capture_output=True,
    )  # fmt: skip
    mine, theirs = json.loads(together.read_text()), json.loads(alone.read_text())
    for key in ("returns", "lengths", "action_counts"):
        assert mine[key] == theirs[key], key
    assert sum(mine["action_counts"]) == 600 and max(mine["action_counts"]) < 600
