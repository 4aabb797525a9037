"""`fil-learn ensemble`: one fil policy playing its members' mean log-probabilities, checked in
onnxruntime against the members, and refused where the members or the output are wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import fil_learn
from fil_learn.cli import app
from fil_learn.ensemble import log_softmax
from fil_learn.train import FitConfig, fit

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "datasets" / "samples" / "space_invaders-tiny.h5"
BEST = ROOT / "results" / "best"
SPACE_INVADERS = BEST / "spaceinvaders.onnx"
runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny one-frame policy trained one epoch on the real sample (a run folder member)."""
    folder = tmp_path_factory.mktemp("ensemble") / "run"
    fit([SAMPLE], folder, FitConfig(epochs=1, batch_size=64, model="tiny", history=1))
    return folder


def _frames(count: int = 6) -> np.ndarray:
    with fil_learn.open_dataset(SAMPLE) as dataset:
        return dataset[1].stacked_observations()[:count]


def test_the_ensemble_plays_its_members_mean_log_probabilities(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "ens.onnx"
    result = runner.invoke(app, ["ensemble", str(SPACE_INVADERS), str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frames = _frames()
    members = [fil_learn.load_policy(SPACE_INVADERS, threads=1), fil_learn.load_policy(run)]
    expected = np.mean([log_softmax(m.logits(frames)) for m in members], axis=0)
    together = fil_learn.load_policy(out, threads=1)
    np.testing.assert_allclose(together.logits(frames), expected, atol=1e-5)
    assert [together.act(f) for f in frames] == list(np.argmax(expected, axis=1))
    # the two members disagree somewhere, so the test can tell an average from a copy
    assert not np.allclose(log_softmax(members[0].logits(frames)), expected, atol=1e-3)


def test_its_metadata_plays_the_game_and_names_every_member(run: Path, tmp_path: Path) -> None:
    import onnxruntime

    out = tmp_path / "ens.onnx"
    assert (
        runner.invoke(app, ["ensemble", str(SPACE_INVADERS), str(run), "-o", str(out)]).exit_code
        == 0
    )
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["format"] == "fil-policy" and meta["game"] == "SpaceInvaders"
    assert meta["model"] == "ensemble of 2: tiny, tiny"
    members = json.loads(meta["members"])
    assert [m["source"] for m in members] == [str(SPACE_INVADERS), str(run)]
    assert members[1]["run"] == str(run.resolve())
    datasets = json.loads(meta["datasets"])
    assert any(entry["path"].endswith("space_invaders-tiny.h5") for entry in datasets)


def test_an_ensemble_of_one_policy_with_itself_plays_its_episodes(tmp_path: Path) -> None:
    out = tmp_path / "twice.onnx"
    assert (
        runner.invoke(
            app, ["ensemble", str(SPACE_INVADERS), str(SPACE_INVADERS), "-o", str(out)]
        ).exit_code
        == 0
    )
    played = {}
    for name, policy in (("one", SPACE_INVADERS), ("twice", out)):
        report = tmp_path / f"{name}.json"
        common = ["--episodes", "2", "--seed", "10000", "--max-steps", "200", "--quiet"]
        result = runner.invoke(app, ["eval", str(policy), *common, "--json", str(report)])
        assert result.exit_code == 0, result.output
        played[name] = json.loads(report.read_text())
    for key in ("returns", "lengths", "action_counts"):
        assert played["twice"][key] == played["one"][key], key
    assert max(played["one"]["action_counts"]) < sum(played["one"]["action_counts"]) == 400


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (["spaceinvaders.onnx"], "at least 2 policies"),
        (["spaceinvaders.onnx", "atlantis.onnx"], "must play the same game"),
        (["spaceinvaders.onnx", "missing.onnx"], "does not exist"),
        (["spaceinvaders.onnx", "README.md"], "not a fil policy"),
    ],
)
def test_wrong_members_are_one_line_and_write_nothing(
    members: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "ens.onnx"
    result = runner.invoke(app, ["ensemble", *(str(BEST / m) for m in members), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_it_replaces_only_its_own_kind_of_file(tmp_path: Path) -> None:
    out = tmp_path / "ens.onnx"
    out.write_text("someone's notes")
    pair = [str(SPACE_INVADERS), str(SPACE_INVADERS)]
    refused = runner.invoke(app, ["ensemble", *pair, "-o", str(out)])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert out.read_text() == "someone's notes"
    assert runner.invoke(app, ["ensemble", *pair, "-o", str(out), "--force"]).exit_code == 0
    assert runner.invoke(app, ["ensemble", *pair, "-o", str(out)]).exit_code == 0  # its own file
    assert fil_learn.load_policy(out).game == "SpaceInvaders"
