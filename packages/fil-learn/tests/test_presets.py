"""Every setting in one place: the loop derives its fits' arguments from `FitConfig`, and every
preset builds a loop whose fit arguments the real `fil-learn fit` parser accepts (no
subprocesses; fil-collect's parsers are checked in tests/test_presets.py, one preset runs in
tests/test_loop.py)."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest
import typer

from fil_learn.cli import app
from fil_learn.config import (
    RESUME_SETTINGS,
    STAGE_SETTINGS,
    FitConfig,
    fit_argv,
    option_name,
)
from fil_learn.loop import Loop
from fil_learn.loop_config import GUIDE_PRIOR, LoopConfig, default_settings, flat_settings
from fil_learn.presets import PRESETS, build_config, for_game, preset_publish

COMMANDS = typer.main.get_command(app)


def parse(command: str, argv: list[object]) -> dict[str, Any]:
    """What the real command's parser makes of `argv` (nothing runs)."""
    commands: dict[str, Any] = COMMANDS.commands  # type: ignore[attr-defined]
    return commands[command].make_context(command, list(map(str, argv))).params


def test_every_fit_setting_reaches_the_loops_fit_and_its_parser(tmp_path: Path) -> None:
    """Each field by its option in the argv, and parsed back to the loop's value; the known
    ones at a value other than their default, so that one the argv left out would show as the
    fit command's default (a field added later is checked at its default)."""
    changed = {
        "epochs": 3, "batch_size": 64, "learning_rate": 1e-3, "steps_per_call": 2,
        "val_fraction": 0.2, "patience": 2, "seed": 5, "target": "visits",
        "equivalent": "pool", "shift": 4, "compared_only": True, "keyframes": True, "keep": "last",
    }  # fmt: skip
    config = LoopConfig.from_settings("Pong", tmp_path, **changed)
    argv = Loop(config).fit_command(0)
    parsed = parse("fit", argv[1:])
    for f in fields(FitConfig):
        assert parsed[f.name] == getattr(config.fit, f.name), f.name
        if getattr(config.fit, f.name) is None:  # left out: the option's default, None
            assert option_name(f.name) not in argv, f.name
            continue
        assert option_name(f.name) in argv or f"--no-{f.name.replace('_', '-')}" in argv
    assert {name: getattr(config.fit, name) for name in changed} == changed


@pytest.mark.parametrize("compared_only", [True, False])
def test_fit_argv_writes_switches_as_the_fit_command_takes_them(compared_only: bool) -> None:
    parsed = parse("fit", ["d.h5", *fit_argv(FitConfig(compared_only=compared_only))])
    assert parsed["compared_only"] is compared_only


def test_a_continued_fit_keeps_every_setting_but_how_long_and_how_it_dispatches() -> None:
    names = {f.name for f in fields(FitConfig)}
    assert set(RESUME_SETTINGS) == names - set(STAGE_SETTINGS)
    assert set(STAGE_SETTINGS) <= names


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_a_valid_loop_whose_fit_the_fit_command_accepts(name: str) -> None:
    config = build_config(name, {})
    config.validate()
    assert config.workdir == Path("runs") / name
    settings = flat_settings(config)
    expected = {k: for_game(v, config.game) for k, v in PRESETS[name].settings.items()}
    assert {k: settings[k] for k in PRESETS[name].settings} == expected
    # a samples budget sets the epochs from the round's data, which is not here; it changes
    # the epochs alone (tests/test_loop.py: test_a_fixed_samples_budget_sets_each_fits_epochs)
    loop = Loop(config.with_settings(fit_samples=0))
    parsed = parse("fit", loop.fit_command(1, guide_round=0)[1:])
    seed, history = config.candidate_fits()[0]  # the first candidate: the fit's own seed
    assert seed == config.fit.seed
    fitted = FitConfig(**{f.name: parsed[f.name] for f in fields(FitConfig)})
    prior = str(loop.policy_onnx(0)) if config.fit.prior == GUIDE_PRIOR else config.fit.prior
    assert fitted == replace(config.fit, history=history, prior=prior)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_loop_option_and_named_in_the_docs(name: str) -> None:
    assert parse("loop", ["--preset", name])["preset"] == name
    docs = Path(__file__).resolve().parents[3] / "docs" / "presets.md"
    assert f"`{name}`" in docs.read_text()


def test_options_given_override_the_preset_and_the_rest_keep_its_values() -> None:
    preset = PRESETS["atlantis-dagger"].settings
    config = build_config("atlantis-dagger", {"keep": "best", "seed": 8, "workdir": Path("w")})
    assert (config.fit.keep, config.seed, config.workdir) == ("best", 8, Path("w"))
    assert config.relabel.rule == preset["rule"] and config.fit.epochs == preset["epochs"]
    assert config == replace(
        build_config("atlantis-dagger", {"workdir": Path("w")}),
        fit=replace(config.fit, keep="best", seed=8),
    )


def test_without_a_preset_the_loop_keeps_its_defaults_and_needs_a_game() -> None:
    config = build_config(None, {"game": "Pong"})
    assert flat_settings(config) | {"game": "", "workdir": Path()} == default_settings()
    assert config.workdir == Path("runs/loop-pong-dagger")
    with pytest.raises(ValueError, match="--game is required"):
        build_config(None, {})
    with pytest.raises(ValueError, match="--preset must be one of atlantis-dagger"):
        build_config("atlantis", {})


def test_every_loop_setting_is_a_loop_option() -> None:
    """A setting a preset can hold but the command line cannot give (as `--history` once was)
    makes a preset's variant impossible to run."""
    options = parse("loop", ["--game", "Pong"])
    assert set(default_settings()) - {"game", "workdir"} <= set(options)
    own = "SpaceInvaders"
    assert preset_publish("spaceinvaders-exit-1frame", own) == Path(
        "results/spaceinvaders-exit-1frame"
    )
    assert preset_publish("atlantis-dagger", "Atlantis") is None
    assert preset_publish(None, own) is None


def test_a_preset_played_on_another_game_uses_that_games_files_or_none() -> None:
    """`{game}` in a preset's paths becomes the game the loop plays, so one recipe serves every
    game: its start policy and its published folder are that game's, and its work folder is
    its own. A preset whose folder names one game publishes nothing for another (its record
    would land in the other game's folder)."""
    config = build_config("exit-from-best", {"game": "ALE/Atlantis-v5"})
    assert config.start == "results/best/atlantis.onnx"
    assert config.workdir == Path("runs/exit-from-best-atlantis")
    assert preset_publish("exit-from-best", "Atlantis") == Path("results/atlantis-exit-from-best")
    own = build_config("exit-from-best", {})
    assert own.start == "results/best/spaceinvaders.onnx"
    assert own.workdir == Path("runs/exit-from-best")
    assert own.candidate_fits() == [(0, 1), (1, 1), (2, 1), (0, 4), (1, 4), (2, 4)]
    assert preset_publish("spaceinvaders-exit-1frame", "Atlantis") is None
