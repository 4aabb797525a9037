"""`fil-learn scale`'s decisions, on real files: milestones -> epochs, what is left given the
shards and fits on disk, the fit's argv derived from `FitConfig`, `--set`, the report and
when a row is published. The whole command runs end to end in tests/test_scale.py."""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from dataclasses import replace
from pathlib import Path
from typing import Any

import h5py
import pytest
import typer
from typer.testing import CliRunner

from fil_learn.cli import app
from fil_learn.config import FitConfig, fit_argv
from fil_learn.data import load, split_by_episode
from fil_learn.scaling import ScaleOptions, fill_distinct_games, plan_lines
from fil_learn.scaling_plan import (
    PRESETS,
    apply_overrides,
    collect_argv,
    cost_path,
    data_refusal,
    data_size,
    describe,
    existing_shards,
    fit_folder,
    milestone_epochs,
    read_shard,
    seed_overlap,
    shard_path,
)
from fil_learn.scaling_publish import WRITTEN_BY, Publisher
from fil_learn.scaling_report import curve_table, write_report

from .conftest import write_dataset

runner = CliRunner()
TINY = apply_overrides(PRESETS["spaceinvaders"], ["shard_episodes=4", "data_sizes=1,2"])


def write_shard(runs: Path, index: int, episodes: int, steps: int = 30) -> Path:
    """A shard as fil-collect writes its metadata: seeds, costs and checksums per episode."""
    path = shard_path(runs, TINY, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_dataset(path, episodes=episodes, steps=steps, seed=index)
    with h5py.File(path, "a") as handle:
        for e in range(episodes):
            handle[f"episode_{e}"].attrs.update(
                {
                    "seed": 1_000_000 * (index + 1) + e,
                    "emulator_frames": 1000 * (e + 1),
                    "wall_seconds": 36.0,
                    "sha256": f"{index}-{e}",
                }
            )
    return path


def test_a_milestone_is_reached_at_its_rounded_epochs_capped_and_never_twice() -> None:
    milestones = PRESETS["spaceinvaders"].milestones
    assert milestone_epochs(milestones, 135_000, 12) == [
        (500_000, 4), (1_000_000, 7), (2_000_000, 12),
    ]  # fmt: skip
    assert milestone_epochs(milestones, 2_700_000, 12) == [
        (500_000, 1), (5_000_000, 2), (10_000_000, 4), (20_000_000, 7),
    ]  # fmt: skip
    assert milestone_epochs((10,), 1_000, 12) == [(10, 1)]  # at least one epoch


def _other_value(param: Any, default: Any) -> Any:
    """A value `fit` accepts for an option that is not the FitConfig default: another of the
    option's choices (as `fit` declares it), the switch flipped, or another number (smaller
    where the default is a bound, as `--history`'s 4 frames of 4)."""
    annotation = param.type_descriptor.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return next(choice for choice in typing.get_args(annotation) if choice != default)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(member.value for member in annotation if member.value != default)
    if isinstance(default, bool):
        return not default
    if isinstance(default, float):
        return default * 2 if default else 0.5
    return default - 3 if param.name == "history" else default + 3


def test_every_fit_config_field_reaches_fit_and_fit_reads_it_back() -> None:
    command = typer.main.get_command(app).commands["fit"]  # type: ignore[attr-defined]
    params = {param.name: param for param in command.params}
    alone = {"prior"}  # goes with --target improved and --equivalent ignore: checked below
    changed = {
        f.name: _other_value(params[f.name], f.default)
        for f in dataclasses.fields(FitConfig)
        if f.name not in alone
    }
    config = FitConfig(**changed)
    config.validate()
    argv = fit_argv(config)
    for name in changed:
        assert "--" + name.replace("_", "-") in argv, name
    parsed = command.make_context("fit", ["ds.h5", *argv]).params
    for name, value in changed.items():
        assert parsed[name] == value, name
    with_prior = FitConfig(target="improved", prior="guide.onnx")
    with_prior.validate()
    parsed = command.make_context("fit", ["ds.h5", *fit_argv(with_prior)]).params
    assert (parsed["target"], parsed["prior"]) == ("improved", "guide.onnx")
    defaults = command.make_context("fit", ["ds.h5", *fit_argv(FitConfig())]).params
    expected = dataclasses.asdict(FitConfig())
    assert {n: defaults[n] for n in expected} == expected


def test_set_parses_each_field_by_its_type_and_refuses_what_it_cannot() -> None:
    preset = apply_overrides(
        PRESETS["atlantis"],
        ["data_sizes=1, 3", "milestones=5e5", "eval_max_steps=none", "fit.batch_size=32",
         "fit.keep=best", "fit.model=small"],
    )  # fmt: skip
    assert preset.data_sizes == (1, 3) and preset.milestones == (500_000,)
    assert preset.eval_max_steps is None
    assert dict(preset.fit)["batch_size"] == 32 and dict(preset.fit)["model"] == "small"
    has_model = "model" in {f.name for f in dataclasses.fields(FitConfig)}  # `fit --model`
    expected = {
        "batch_size": 32,
        "seed": 0,
        "keep": "best",
        **({"model": "small"} if has_model else {}),
        "history": 1,  # the presets' own, untouched by these --set
    }
    assert preset.fit_config(3) == FitConfig(epochs=3, **expected)  # type: ignore[arg-type]
    for bad, words in (
        ("walkers", "KEY=VALUE"),
        ("nope=1", "unknown setting"),
        ("game=Pong", "unknown setting"),
        ("fit.epochs=3", "not a fit setting"),
        ("fit.keep=worst", "must be one of best, last"),
        ("walkers=many", "not a int"),
    ):
        with pytest.raises(ValueError, match=words):
            apply_overrides(preset, [bad])
    with pytest.raises(ValueError, match="increasing"):
        apply_overrides(preset, ["data_sizes=5,2"]).validate()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for args in (["--preset", "tetris"], ["--preset", "atlantis", "--set", "walkers=0"]):
        result = runner.invoke(app, ["scale", *args, "--results", str(tmp_path), "--plan"])
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1 and result.output.startswith("error:")


def test_shards_are_complete_partial_or_missing_and_the_plan_says_what_is_left(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    write_shard(runs, 0, episodes=4)
    write_shard(runs, 1, episodes=2)
    shards = existing_shards(runs, TINY)
    assert [(s.complete, len(s.episodes)) for s in shards] == [(True, 4), (False, 2)]
    assert shards[0].core_seconds == 4 * 36.0  # collected by hand: the episodes' wall time
    cost_path(shards[0].path).write_text(json.dumps({"collect": 10.0, "collected": [0, 1]}))
    assert read_shard(runs, TINY, 0).core_seconds == 10.0 + 2 * 36.0  # measured where it can
    cost_path(shards[0].path).unlink()
    assert collect_argv(runs, TINY, 1, 2) == [
        "--game", "SpaceInvaders", "--out", str(shard_path(runs, TINY, 1)), "--episodes", "4",
        "--walkers", "16", "--max-frames", "150000", "--seed", "1", "--workers", "2", "--quiet",
    ]  # fmt: skip
    text = "\n".join(describe(runs, TINY, [{"shards": 1, "epochs": 12}]))
    assert "00 complete, 01 partial (2/4)" in text
    assert "2 episodes left (~0.02 core-h)" in text  # 36 s an episode, measured
    assert "regenerating a lost shard: ~0.04 core-h" in text
    assert (
        "1 shards: 60 training samples; fit at epoch 0; rows at epochs 12 done, none left" in text
    )
    assert "2 shards: waiting for shard(s) 01" in text
    # a new machine (no shard here): the committed rows' cost prices the regeneration
    rows = [{"shards": 2, "epochs": 1, "episodes": 8, "core_hours": {"collect": 0.08}}]
    text = "\n".join(describe(tmp_path / "elsewhere", TINY, rows))
    assert "8 episodes left, ~0.08 core-h at the 36 core-s an episode the rows' 8 cost" in text


def test_training_samples_are_the_fits_own_split(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    paths = [write_shard(runs, k, episodes=8, steps=20 + k) for k in range(2)]
    config = TINY.fit_config(1)
    planned = data_size([read_shard(runs, TINY, k) for k in range(2)], config)
    loaded = load(paths)
    shards = [read_shard(runs, TINY, k) for k in range(2)]
    assert loaded.episode_keys == tuple(e.key for s in shards for e in s.episodes)
    train, _ = split_by_episode(loaded, config.val_fraction, config.seed)
    assert planned.train_samples == train.n_samples
    assert planned.teacher_mean == sum(range(8)) / 8
    assert planned.emulator_frames == 2 * sum(1000 * (e + 1) for e in range(8))
    keyed = data_size(shards, replace(config, keyframes=True))  # fit --keyframes' samples
    assert 0 < keyed.train_samples == train.keyframes().n_samples < train.n_samples


def test_evaluation_seeds_that_were_collected_on_are_refused(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_shard(runs, 0, episodes=4)
    shards = existing_shards(runs, TINY)
    assert seed_overlap(shards, TINY) is None
    clash = apply_overrides(TINY, ["eval_seed=999990"])  # seeds 999990-1000019 hold 1000000
    refusal = seed_overlap(shards, clash)
    assert refusal is not None and "seed 1000000 of shard-00.h5 episode 0" in refusal
    options = ScaleOptions(clash, runs=runs, results=tmp_path / "results")
    assert any("refused at start" in line for line in plan_lines(options))


def test_a_guided_preset_collects_every_shard_with_its_pinned_guide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`spaceinvaders-guided`: shard k is the swarm guided by the committed policy at seed
    300 + k; a guide file that is missing or not the pinned one is refused before any work."""
    monkeypatch.chdir(Path(__file__).resolve().parents[3])
    guided = PRESETS["spaceinvaders-guided"]
    guided.validate()
    argv = collect_argv(tmp_path, guided, 1, 2)
    assert argv[argv.index("--seed") + 1] == "301"
    assert argv[argv.index("--policy") + 1] == guided.guide
    assert argv[argv.index("--policy-epsilon") + 1] == "0.1"
    assert "spaceinvaders-guided" in argv[argv.index("--out") + 1]  # apart from the plain shards
    assert "--policy" not in collect_argv(tmp_path, PRESETS["spaceinvaders"], 1, 2)
    other = tmp_path / "other.onnx"
    other.write_bytes(b"not the guide")
    with pytest.raises(ValueError, match="is not the policy this preset collects with"):
        apply_overrides(guided, [f"guide={other}"]).validate()
    with pytest.raises(ValueError, match="is missing: run from the repository root"):
        apply_overrides(guided, [f"guide={tmp_path / 'gone.onnx'}"]).validate()


def test_shards_made_by_another_guide_are_refused_not_mixed_in(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    path = write_shard(runs, 0, episodes=2)
    assert data_refusal(existing_shards(runs, TINY), TINY) is None
    guide = tmp_path / "guide.onnx"
    guide.write_bytes(b"a policy")
    import hashlib

    digest = hashlib.sha256(guide.read_bytes()).hexdigest()
    guided = apply_overrides(TINY, [f"guide={guide}", f"guide_sha256={digest}"])
    refusal = data_refusal(existing_shards(runs, guided), guided)
    assert refusal is not None and "was collected unguided, not as preset" in refusal
    with h5py.File(path, "a") as handle:
        settings = json.loads(handle.attrs["config_json"])
        handle.attrs["config_json"] = json.dumps({**settings, "policy_sha256": digest})
    assert data_refusal(existing_shards(runs, guided), guided) is None
    refusal = data_refusal(existing_shards(runs, TINY), TINY)
    assert refusal is not None and f"was collected guided by {digest[:12]}" in refusal


ROW = {
    "shards": 2, "episodes": 100, "epochs": 4, "milestone": 500_000,
    "samples_processed": 540_000, "unique_steps": 135_000, "emulator_frames": 7_500_000,
    "v5_mean": 320.5, "v5_std": 80.0, "v5_ci95": 29.9, "eval_episodes": 30,
    "eval_seeds": [10_000, 10_029], "eval_max_steps": None, "teacher_mean_return": 900.0,
    "core_hours": {"collect": 0.7, "fit": 0.2, "eval": 0.05}, "model": "tiny",
    "parameters": 100_000, "commit": None,
}  # fmt: skip


def test_a_record_written_before_a_setting_existed_reads_it_as_its_default(
    tmp_path: Path,
) -> None:
    # preset.json files of earlier sessions lack the settings added since (first_seed, the
    # guide's): their rows were measured at the defaults, so the curve continues
    options = ScaleOptions(PRESETS["spaceinvaders"], runs=tmp_path / "runs", results=tmp_path)
    options.curve_dir.mkdir(parents=True)
    old = options.preset.as_json()
    for name in ("first_seed", "guide", "guide_sha256", "guide_temperature", "guide_epsilon"):
        del old[name]
    options.preset_file.write_text(json.dumps(old))
    assert plan_lines(options)[-1] == f"  results: {options.curve_dir}"
    options.preset_file.write_text(json.dumps({**old, "walkers": 64}))
    with pytest.raises(ValueError, match="walkers=64"):
        plan_lines(options)


def test_the_report_lists_every_row_and_the_references(tmp_path: Path) -> None:
    preset = PRESETS["spaceinvaders"]
    rows = [ROW, {**ROW, "epochs": 7, "samples_processed": 945_000, "v5_mean": 401.0}]
    written = write_report(tmp_path, preset, rows)
    assert [p.name for p in written] == ["curve.md", "curve.png"]
    assert written[1].stat().st_size > 10_000
    table = curve_table(preset, rows)
    assert "| 2 | 100 | 4 | 540,000 | 135,000 | 7,500,000 | 320.5 ± 29.9 (30 eps)" in table
    assert "945,000" in table
    assert "- random (games.py): 148.0" in table and "285.0" in table and "451.5" in table
    assert "0.67M: 315" in table and "195M: 1,334" in table
    assert "distinct" not in table  # rows written before they recorded it
    distinct = curve_table(preset, [{**ROW, "v5_distinct_games": 3}])
    assert "320.5 ± 29.9 (30 eps, 3 distinct)" in distinct and "N distinct:" in distinct
    # a one-fit curve says how far fits of one dataset spread by their seed alone
    assert "Reading the points:" in table and "295-973" in table
    assert "Reading the points:" not in curve_table(PRESETS["atlantis"], rows)
    # what going on costs, at the rows' rates: 2M needs 15 passes over 2 shards (more than the
    # preset's 12), so 5 shards: 3 to collect at 0.35 core-h each, and 2M samples to fit
    assert (
        "- 2M samples: 5 shards (3 shards to collect), 6 epochs: collect 1.05 + fit 0.42" in table
    )
    assert "- 1M samples" not in table  # reached (945,000) within 10%


def test_a_row_is_published_only_over_a_worse_card_that_scale_wrote(tmp_path: Path) -> None:
    options = ScaleOptions(PRESETS["spaceinvaders"], results=tmp_path, overrides=("walkers=4",))
    publisher = Publisher(options, lambda *args: None, lambda line: None)
    assert publisher.refusal(ROW) is None  # nothing published yet
    publisher.policy.parent.mkdir()
    publisher.policy.write_bytes(b"someone else's policy")
    assert "exists without a card: --force" in (publisher.refusal(ROW) or "")
    publisher.card.write_text(json.dumps({"v5": {"mean": 300.0}}))
    assert "not written by fil-learn scale" in (publisher.refusal(ROW) or "")
    publisher.card.write_text(json.dumps({"v5": {"mean": 300.0}, "written_by": WRITTEN_BY}))
    assert publisher.refusal(ROW) is None
    publisher.card.write_text(json.dumps({"v5": {"mean": 320.5}, "written_by": WRITTEN_BY}))
    assert "does not beat" in (publisher.refusal(ROW) or "")
    assert not publisher.is_card_of(ROW)
    card = {"v5": {"mean": 320.5}, "written_by": WRITTEN_BY, "shards": 2, "epochs": 4}
    publisher.card.write_text(json.dumps({**card, "samples_processed": 540_000}))
    assert publisher.is_card_of(ROW)  # a session killed after publishing, before its row
    row = dict(ROW)
    assert publisher.consider(row, tmp_path, dict) == [publisher.policy, publisher.card]
    assert row["published"] is True
    forced = Publisher(dataclasses.replace(options, force=True), publisher.learn, print)
    assert "does not beat" in (forced.refusal(ROW) or "")  # --force never publishes a worse row
    assert publisher.command(ROW) == (
        "fil-learn scale --preset spaceinvaders --set walkers=4 --set data_sizes=2 "
        "--set milestones=500000"
    )


def test_rows_written_before_they_recorded_distinct_games_get_them_from_their_evaluation(
    tmp_path: Path,
) -> None:
    preset = PRESETS["spaceinvaders"]
    row = {**ROW, "preset": "spaceinvaders", "v5_returns": [300.0, 341.0]}
    rows = [row, {**row, "epochs": 7}, {**row, "epochs": 9}, {**row, "preset": "atlantis"}]
    played = fit_folder(tmp_path, preset, 2)
    played.mkdir(parents=True)
    (played / "eval-epoch004-v5.json").write_text(
        json.dumps({"returns": [300.0, 341.0], "distinct_games": 2})
    )
    (played / "eval-epoch007-v5.json").write_text(  # another evaluation than the row's
        json.dumps({"returns": [1.0], "distinct_games": 1})
    )
    assert fill_distinct_games(tmp_path, preset, rows)
    assert [r.get("v5_distinct_games") for r in rows] == [2, None, None, None]
    assert not fill_distinct_games(tmp_path, preset, rows)  # nothing more to fill
