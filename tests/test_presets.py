"""The loop's `fil-collect` arguments, derived from its settings, against fil-collect's own
parsers: every preset's demonstration, guided and relabelling commands parse to the settings
the preset holds. Both packages are imported here only (they never import each other); nothing
runs (tests/test_loop.py runs one preset)."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from fil_collect.cli import app as collect_app
from fil_learn.loop import Loop
from fil_learn.presets import PRESETS, build_config

COLLECT = typer.main.get_command(collect_app)


def parse(argv: list[object]) -> dict[str, Any]:
    """What fil-collect's parser makes of `argv`: the collect options, or a subcommand's."""
    strings = list(map(str, argv))
    commands: dict[str, Any] = COLLECT.commands  # type: ignore[attr-defined]
    if strings[0] in commands:
        return commands[strings[0]].make_context(strings[0], strings[1:]).params
    return COLLECT.make_context("fil-collect", strings, resilient_parsing=False).params


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_presets_collect_and_relabel_arguments_parse_to_its_settings(name: str) -> None:
    config = build_config(name, {})
    loop = Loop(config)
    demos = parse(loop.demos_command(config.collect.episodes))
    guided = parse(loop.guided_command(1, 0))
    for collected in (demos, guided):
        assert (collected["game"], collected["walkers"], collected["epochs"]) == (
            config.game,
            config.collect.walkers,
            config.collect.swarm_epochs,
        )
        assert collected["episodes"] == config.collect.episodes
    assert demos["seed"] == config.seed and guided["seed"] == config.seed + 1000
    budgeted = Loop(build_config(name, {"total_frames": 5_000_000}))
    for command in (budgeted.demos_command(1), budgeted.guided_command(1, 0)):
        assert (parse(command)["total_frames"], config.collect.total_frames) == (5_000_000, None)
    relabel = parse(loop.relabel_command(0))
    assert (relabel["walkers"], relabel["epochs"], relabel["max_labels"], relabel["rule"]) == (
        config.relabel.label_walkers,
        config.relabel.label_epochs,
        config.relabel.max_labels,
        config.relabel.rule,
    )
    assert (relabel["policy"] is not None) == config.guided_relabel
