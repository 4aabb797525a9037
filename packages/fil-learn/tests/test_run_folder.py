"""What a call of `fit` decides in a run folder, before any training (no JAX needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fil_learn.config import FitConfig
from fil_learn.run_folder import Stage, StagePlan, plan_stages

OUT = Path("runs/x")
CONTENT = {"episodes": 4, "samples": 100}


def _plan(
    previous: dict[str, Any] | None, digests: list[str], epochs: int, last_epoch: int, **fit: Any
) -> StagePlan:
    config = FitConfig(epochs=epochs, **fit)
    return plan_stages(previous, ["a.h5"], digests, CONTENT, config, last_epoch, OUT)


def _run(plan: StagePlan) -> dict[str, Any]:
    return {"game": "Pong", "stages": plan.stages_json()}


def test_a_run_goes_new_continue_done_then_a_new_stage() -> None:
    new = _plan(None, ["d1"], epochs=2, last_epoch=0)
    assert new.text == "new run runs/x: 2 epoch(s)" and not new.nothing_to_do
    assert (new.first_new_epoch, new.final_epoch, new.resumes_stage) == (1, 2, False)
    more = _plan(_run(new), ["d1"], epochs=3, last_epoch=2)
    assert "continues stage 1 on the same data: epochs 3-3 of 3" in more.text
    assert (more.first_new_epoch, more.final_epoch, more.resumes_stage) == (3, 3, True)
    assert more.stage.epochs == 3 and len(more.stages) == 1
    done = _plan(_run(more), ["d1"], epochs=3, last_epoch=3)
    assert done.nothing_to_do and "nothing to do" in done.text
    other = _plan(_run(more), ["d1", "d2"], epochs=2, last_epoch=3)
    assert other.number == 2 and other.stage.first_epoch == 4 and other.final_epoch == 5
    assert not other.resumes_stage and "stage 2 trains 2 epoch(s)" in other.text


def test_a_continued_stage_keeps_the_settings_that_shape_it() -> None:
    first = _plan(None, ["d1"], epochs=2, last_epoch=0, learning_rate=1e-3)
    with pytest.raises(ValueError, match=r"--learning-rate 0.001: give the same .* --force"):
        _plan(_run(first), ["d1"], epochs=4, last_epoch=2)
    # nothing trained yet in the stage: other settings are simply taken
    assert _plan(_run(first), ["d1"], epochs=4, last_epoch=0).stage.fit["learning_rate"] == 3e-4


def test_stages_of_older_runs_read_and_write_back_as_they_were() -> None:
    legacy = {"datasets": ["a.h5"], "first_epoch": 1}
    assert Stage.from_json(legacy).to_json() == legacy
    # before checksums, data was the same by paths and content
    plan = _plan({"game": "Pong", "stages": [{**legacy, "content": CONTENT}]}, ["d"], 3, 2)
    assert "continues stage 1" in plan.text and plan.stage.data == ("d",)
    with_bar = plan.with_bar(1.5)
    assert with_bar.stage.bar == 1.5 and plan.stage.bar == float("inf")
    assert with_bar.stages_json()[-1]["start_val_loss"] == 1.5


def test_the_run_folder_module_does_not_import_jax() -> None:
    probe = "import sys, fil_learn.run_folder; print('jax' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert imported.stdout.strip() == "False", imported.stderr
