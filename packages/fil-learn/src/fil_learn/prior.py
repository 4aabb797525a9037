"""`fit --prior`: the logits of a trained policy at every sample, the prior of `--target
improved`.

A guided swarm draws its actions from its guide; where its values tell no actions apart, its
one drawn action is noise around the guide's choice, and cloning it loses about half of the
guide's score (results/own-play-beside-guided). Taking the guide as the improved target's prior
fits the guide's own policy there and moves it only where the swarm's values differ. The logits
are computed once, before training, so a fit pays one forward pass of the prior per sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fil_learn.config import STACK
from fil_learn.data import Demonstrations
from fil_learn.policy import Policy, load_policy

BATCH = 512
"""Samples per forward pass of the prior (a few MiB of frames at a time)."""


def load_prior(path: Path, data: Demonstrations) -> Policy:
    """The policy at `path` (an .onnx file or a run folder), checked against `data` before any
    training starts: a policy of another game, action set or frame rate is refused in one line,
    since its logits would name other actions or see other screens."""
    policy = load_policy(path)
    _check_matches(policy, data, path)
    stack = data.stacks.shape[1]
    if stack != STACK:
        raise ValueError(f"--prior needs {STACK}-frame samples, the policy's input, got {stack}")
    return policy


def with_prior(data: Demonstrations, policy: Policy) -> Demonstrations:
    """`data` with `policy`'s logits attached to every sample: one forward pass a sample, so a
    fit computes them only for the samples it trains and validates on, once it will train."""
    logits = np.empty((data.n_samples, data.n_actions), np.float32)
    for start in range(0, data.n_samples, BATCH):
        rows = data.stacks[start : start + BATCH]
        logits[start : start + rows.shape[0]] = policy.logits(data.frames[rows])
    return data.with_prior(logits)


def _check_matches(policy: Policy, data: Demonstrations, path: Path) -> None:
    """The prior plays the data's game, with its actions in the same order, at its frame rate."""
    if policy.game != data.game or policy.action_meanings != tuple(data.action_meanings):
        raise ValueError(
            f"--prior {path} plays {policy.game} with actions {', '.join(policy.action_meanings)}"
            f" but the data is {data.game} with {', '.join(data.action_meanings)}: give a "
            f"policy of {data.game}"
        )
    if policy.frameskip != data.frameskip:
        raise ValueError(
            f"--prior {path} plays at frameskip {policy.frameskip} but the data was recorded "
            f"at {data.frameskip}: give a policy trained at frameskip {data.frameskip}"
        )
