"""The two packages read and write one format with two codebases: here they must agree.

fil-learn keeps its own reader (it proves that `datasets/README.md` is enough to read a dataset),
so nothing stops its names and versions drifting from fil-collect's but this test: it imports
both packages' constants (the packages never import each other) and writes a visited-states
file with fil-learn's writer for fil-collect's reader.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from fil_collect import format as collect_format
from fil_learn import data as learn_data
from fil_learn import visited as learn_visited


def test_both_read_the_same_dataset_format() -> None:
    assert learn_data.FORMAT_NAME == collect_format.FORMAT_NAME == "fil-dataset"
    assert learn_data.FORMAT_VERSION == collect_format.FORMAT_VERSION


@pytest.mark.parametrize(
    "written", [collect_format.SWARM_FORMAT_VERSION, collect_format.RELABEL_FORMAT_VERSION]
)
def test_fil_learn_reads_every_version_fil_collect_writes(written: int) -> None:
    assert 1 <= written <= learn_data.FORMAT_VERSION


def test_both_mark_an_unlabelled_step_alike() -> None:
    assert learn_data.NO_LABEL == collect_format.NO_LABEL
    # a label no action can take: fil-learn tells samples from context by it
    assert collect_format.NO_LABEL < 0


def test_both_name_the_visited_states_format_alike() -> None:
    assert (
        learn_visited.VISITED_FORMAT == learn_data.VISITED_FORMAT == collect_format.VISITED_FORMAT
    )
    assert learn_visited.VISITED_VERSION == collect_format.VISITED_VERSION


def _episode(steps: int = 5, state_every: int = 2) -> learn_visited.VisitedEpisode:
    rng = np.random.default_rng(0)
    state_steps = list(range(0, steps, state_every))
    return learn_visited.VisitedEpisode(
        seed=11,
        observations=list(rng.integers(0, 256, (steps + 1, 84, 84), dtype=np.uint8)),
        actions=rng.integers(0, 6, steps).tolist(),
        rewards=[0.0, 5.0, 0.0, 0.0, 10.0][:steps],
        terminations=[False] * (steps - 1) + [True],
        truncations=[False] * steps,
        lives=[3] * (steps + 1),
        state_steps=state_steps,
        states=[rng.bytes(32) for _ in state_steps],
    )


def test_fil_learn_writes_the_visited_arrays_fil_collect_expects() -> None:
    arrays = _episode().arrays()
    assert {name: data.dtype for name, data in arrays.items()} == collect_format.VISITED_ARRAYS


def test_a_visited_file_fil_learn_writes_is_read_by_fil_collect(tmp_path: Path) -> None:
    path = tmp_path / "visited.h5"
    episode = _episode()
    header = {"game": "SpaceInvaders", "frameskip": 3, "policy": "runs/x", "protocol": "v5"}
    learn_visited.write_visited(path, [episode], header)
    with h5py.File(path, "r") as handle:
        for name in collect_format.VISITED_FILE_ATTRS:
            assert name in handle.attrs, f"fil-learn does not write the file attribute {name}"
        for name in collect_format.VISITED_EPISODE_ATTRS:
            assert name in handle["episode_0"].attrs, f"fil-learn does not write {name}"
    read = collect_format.visited_header(path)
    assert (read.game, read.episodes, read.frameskip) == ("SpaceInvaders", 1, 3)
    assert (read.policy, read.protocol) == ("runs/x", "v5")
    back = collect_format.read_visited_episode(path, 0)
    written = episode.arrays()
    assert back.seed == 11 and back.played.length == 5
    assert (back.played.observations == written["observations"]).all()
    assert (back.states == written["states"]).all()
    assert back.state_steps.tolist() == [0, 2, 4]
