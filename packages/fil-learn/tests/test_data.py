from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from fil_learn.data import DatasetError, keyframe_steps, load, split_by_episode, stack_rows

from .conftest import write_dataset

SAMPLE = Path(__file__).resolve().parents[3] / "datasets" / "samples" / "space_invaders-tiny.h5"


def test_stacks_pad_with_the_first_frame_and_never_cross_episodes() -> None:
    assert stack_rows(10, 5).tolist() == [
        [10, 10, 10, 10],
        [10, 10, 10, 11],
        [10, 10, 11, 12],
        [10, 11, 12, 13],
        [11, 12, 13, 14],
    ]


def test_load_several_files(tmp_path: Path) -> None:
    a = write_dataset(tmp_path / "a.h5", episodes=2, steps=10)
    b = write_dataset(tmp_path / "b.h5", episodes=3, steps=7, seed=1)
    data = load([a, b])
    assert data.n_episodes == 5 and data.n_samples == 2 * 10 + 3 * 7
    assert data.frames.shape == (2 * 11 + 3 * 8, 84, 84)
    # the first sample of the third episode starts at its own first row
    first = np.flatnonzero(data.episode_of == 2)[0]
    assert (data.stacks[first] == 22).all()
    with h5py.File(b, "r") as f:
        assert np.array_equal(data.frames[22], f["episode_0/observations"][0])
        assert np.array_equal(data.actions[first : first + 7], f["episode_0/actions"][:])


def test_split_is_by_whole_episodes(dataset: Path) -> None:
    train, val = split_by_episode(load([dataset]), 0.34, seed=0)
    assert val is not None and train.n_samples > 0
    assert set(np.unique(train.episode_of)).isdisjoint(np.unique(val.episode_of))


def test_more_data_never_moves_a_training_episode_into_validation(tmp_path: Path) -> None:
    first = write_dataset(tmp_path / "a.h5", episodes=12)
    more = write_dataset(tmp_path / "b.h5", episodes=12, seed=1)
    before = load([first])
    after = load([first, more])

    def held_out(data):
        _, val = split_by_episode(data, 0.25, seed=0)
        return {data.episode_keys[e] for e in np.unique(val.episode_of)}

    old_val = held_out(before)
    new_val = held_out(after)
    assert old_val and new_val
    assert new_val & set(before.episode_keys) == old_val


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.write_text("hello"), p)[1], "not a fil dataset: not an HDF5 file"),
        (lambda p: (h5py.File(p, "w").close(), p)[1], "not a fil dataset"),
        (lambda p: write_dataset(p, version=6), "format version 6.*upgrade fil-learn"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path / "x.h5")
    with pytest.raises((DatasetError, FileNotFoundError), match=message):
        load([path])


def test_unlabelled_steps_are_stack_context_but_never_samples(tmp_path: Path) -> None:
    path = write_dataset(tmp_path / "relabel.h5", episodes=2, steps=10, version=2)
    with h5py.File(path, "a") as f:
        actions = f["episode_1/actions"][()]
        actions[[0, 1, 2, 5, 9]] = -1  # a relabelled episode: only some steps have labels
        f["episode_1/actions"][...] = actions
    data = load([path])
    assert data.n_samples == 10 + 5
    kept = data.actions[10:]
    assert kept.tolist() == actions[[3, 4, 6, 7, 8]].tolist()
    # step 3 of episode 1 still stacks frames 0..3 of its episode (rows 11..14)
    assert data.stacks[10].tolist() == [11, 12, 13, 14]


def test_a_visited_states_file_says_to_relabel_it_first(tmp_path: Path) -> None:
    path = tmp_path / "visited.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "fil-visited"
    with pytest.raises(DatasetError, match="fil-collect relabel"):
        load([path])


def test_an_append_killed_after_its_commit_point_says_how_to_finish_it(
    dataset: Path,
) -> None:
    journal = dataset.with_name(f".{dataset.name}.journal")
    journal.write_bytes(b'{"state": "begin", "pages": []}\n')
    assert load([dataset]).n_episodes > 0  # a running (or undone) append: the file is whole
    journal.write_bytes(b'{"state": "commit", "pages": [[0, 8]]}\n12345678')
    with pytest.raises(DatasetError, match=r"run `fil-collect info .*ds.*\.h5` once to finish"):
        load([dataset])


def test_mixed_games_are_refused(tmp_path: Path) -> None:
    a = write_dataset(tmp_path / "a.h5")
    b = write_dataset(tmp_path / "b.h5", game="Pong")
    with pytest.raises(DatasetError, match=r"holds Pong episodes but .* holds SpaceInvaders"):
        load([a, b])


def test_data_larger_than_memory_is_refused_before_reading(dataset: Path) -> None:
    with pytest.raises(DatasetError, match=r"GiB decompressed but only .* train on fewer files"):
        load([dataset], memory_limit=1000)
    assert load([dataset], memory_limit=10**9).n_episodes == 6


def test_visit_shares_are_the_soft_targets_and_one_hot_stands_in_without_them(
    tmp_path: Path,
) -> None:
    plain = write_dataset(tmp_path / "plain.h5", episodes=1, steps=6)
    data = load([plain])
    assert np.array_equal(data.targets.argmax(1), data.actions)
    assert (data.targets.sum(1) == 1).all() and data.labels("action") is data.actions
    shared = write_dataset(tmp_path / "v3.h5", episodes=1, steps=6)
    shares = np.full((6, data.n_actions), 1 / data.n_actions, dtype=np.float32)
    with h5py.File(shared, "a") as f:
        f["episode_0"].create_dataset("visit_shares", data=shares)
    assert np.allclose(load([shared]).labels("visits"), shares)


def test_keyframes_are_the_steps_whose_action_changes_and_each_episodes_first() -> None:
    data = load([SAMPLE])
    kept = data.keyframes()
    mask = keyframe_steps(data.actions, data.episode_of)
    assert 0 < kept.n_samples == int(mask.sum()) < data.n_samples
    firsts = np.flatnonzero(np.r_[True, data.episode_of[1:] != data.episode_of[:-1]])
    assert mask[firsts].all()  # an episode's first step has no previous action to copy
    later = np.setdiff1d(np.flatnonzero(mask), firsts)
    assert (data.actions[later] != data.actions[later - 1]).all()
    repeats = np.setdiff1d(np.arange(data.n_samples), np.flatnonzero(mask))
    assert (data.actions[repeats] == data.actions[repeats - 1]).all()
    np.testing.assert_array_equal(kept.stacks, data.stacks[mask])


def test_frames_are_read_once_into_memory_the_device_can_use_as_it_is() -> None:
    """A fit holds its frames once: `load` fills one 64-byte aligned array (no concatenation at
    the end), which `jax.device_put` on a CPU uses without a copy; `without_frames` drops the
    host's reference where a device holds its own copy."""
    import jax

    data = load([SAMPLE])
    assert data.frames.ctypes.data % 64 == 0 and data.frames.flags.c_contiguous
    on_device = jax.device_put(data.frames)
    if jax.default_backend() == "cpu":
        assert on_device.unsafe_buffer_pointer() == data.frames.ctypes.data
    bare = data.without_frames()
    assert bare.frames.size == 0 and bare.frames.base is None
    assert bare.n_samples == data.n_samples and (bare.actions == data.actions).all()
