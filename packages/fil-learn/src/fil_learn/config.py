"""Settings of a fit, in a module without JAX: the CLI reads its defaults for `--help`, which
then answers at once instead of after JAX's import (seconds)."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

Target = Literal["action", "visits", "improved"]
TARGETS: tuple[str, ...] = get_args(Target)
Equivalent = Literal["inclusive", "pool", "ignore"]
EQUIVALENTS: tuple[str, ...] = get_args(Equivalent)
Keep = Literal["best", "last"]
KEEPS: tuple[str, ...] = get_args(Keep)
STACK = 4
"""Frames per observation (Gymnasium's `FrameStackObservation(4)`, as in DQN) unless the model
says otherwise (`ModelConfig.stack`); here, without JAX or h5py, so the fit's settings can
refer to it."""


@dataclass(frozen=True)
class ModelSize:
    """Widths of the network's layers (`fil_learn.model.ModelConfig`); the trunk's kernels and
    strides (8x8/4, 4x4/2, 3x3/1) are the same at every size."""

    channels: tuple[int, int, int]
    """Filters of the three convolutions."""
    hidden: int
    """Width of the fully connected layer."""
    why: str
    """What the size is for, in `fil-learn fit --help`."""


MODEL_SIZES: dict[str, ModelSize] = {
    "nature": ModelSize((32, 64, 64), 512, "the Nature-DQN network (Mnih et al. 2015)"),
    "small": ModelSize((16, 32, 32), 256, "about 2x Nature's samples/s on CPU, 1/4 the parameters"),
    "tiny": ModelSize(
        (16, 32, 32), 64, "small's convolutions, a 64-wide dense layer: the fewest parameters"
    ),
}
"""The sizes `fil-learn fit --model` offers, by name: the one table that the CLI's choices,
run.json, the ONNX metadata and the model read. Behaviour cloning at a fixed compute budget
is best served by 0.1-1M parameters (Tuyls et al. 2023), where Nature's 1.69M spends most of
a CPU's time; docs/training-speed.md measures each size's samples per second (the first
convolution, which the small sizes share, limits how much faster they train)."""
MODELS: tuple[str, ...] = tuple(MODEL_SIZES)
ModelName = Literal[MODELS]  # type: ignore[valid-type]
"""The names of `MODEL_SIZES` as a type, from the table itself (the CLI's choices)."""


def run_model(settings: dict[str, Any]) -> str:
    """The `--model` size a run (its run.json) was trained at; runs from before sizes were
    named are `nature`, the only network there was."""
    return str(settings.get("fit", {}).get("model", "nature"))


@dataclass(frozen=True)
class FitConfig:
    """Hyperparameters of a fit; written next to its results in `run.json`."""

    epochs: int = 10
    """Passes over the training episodes (a resumed fit continues up to this total)."""
    batch_size: int = 128
    """Samples per gradient step."""
    learning_rate: float = 3e-4
    """Adam step size."""
    steps_per_call: int = 8
    """Minibatch steps per jitted call (lax.scan over them): fewer Python round trips and
    dispatches (measured in the README's training-speed table, column "1 step/call"). The
    steps of an epoch that do not fill a call run one per call (a second, fixed shape)."""
    val_fraction: float = 0.1
    """Expected share of episodes held out for validation, chosen by a hash of each episode so
    that continued fits on more data never validate on trained episodes (at least one held out
    when there are two or more)."""
    patience: int = 0
    """Stop after this many epochs without a better validation loss; 0 never stops early."""
    seed: int = 0
    """Seeds the initialization, the split and the shuffling."""
    target: Target = "action"
    """What the loss fits: the demonstrated action, or the swarm's visit shares at each step
    (format v3; steps of files without them fall back to their action), a distribution that
    carries the search's judgement rather than its one random draw; or `improved` (format v5
    `visit_counts` and `action_values`), the network's own policy moved towards the actions
    the swarm valued higher (`train.improved_targets`, docs/training.md), which leaves the
    policy as it is where the swarm's values do not differ."""
    prior: str | None = None
    """With `--target improved`: the ONNX policy file (or run folder) whose softmax is the
    target's prior in place of the network's own policy, as Gumbel MuZero's improved policy
    takes its prior from the network the search was guided by. A guided swarm draws its
    actions from its guide, and at the 97-98% of its steps where its values do not differ its
    one drawn action is noise around the guide's choice: there the target is the guide's own
    policy, and elsewhere the guide's policy moved towards the actions the swarm valued higher.
    Episodes without swarm values (a policy's recorded play) are then fitted to the prior
    alone. None: the network's own policy is the prior."""
    equivalent: Equivalent = "ignore"
    """Where the data says which actions lead to the same emulator state at a step (format v4
    `action_classes`), the swarm's draw among them was a coin flip. `inclusive` moves each
    class's target onto its member with the highest index (ALE orders compound actions last,
    so that is the one pressing the most buttons); `pool` fits the probability of the class and
    lets the policy split it; `ignore` fits the drawn actions as they are. `ignore` is the
    default by measurement: on 32 SpaceInvaders demonstrations `inclusive` cloned a policy that
    pressed LEFTFIRE at 98% of its steps (285 in every v5 episode, against 303 for `ignore`;
    results/README.md)."""

    shift: int = 0
    """Random-shift augmentation: each training observation is padded by this many pixels
    (edge copies) and cropped back to 84x84 at a random offset, a fresh one every time it is
    drawn. Demonstrations are a few dozen episodes, so the network can memorize their exact
    pixels; a shift of a few pixels (4, as in DrQ and RAD) keeps what the screen shows and
    breaks the pixel-exact match. 0 trains on the observations as they are."""

    compared_only: bool = False
    """Train (and validate) only on the steps where the swarm compared two or more different
    outcomes: the visit shares (format v3) name at least two children, and where the data
    has `action_classes` (v4) two children of different classes. Elsewhere only one child
    was explored, so the label is the swarm's uniform draw that selection happened to keep,
    which a network can learn only as the draws' marginal frequency (2/3 of SpaceInvaders'
    steps). Files without visit shares have no compared step."""

    keyframes: bool = False
    """Train (and validate) only on the steps whose demonstrated action differs from the
    previous step's (an episode's first step included). The swarm repeats each action for
    several steps (`--min-dt 3`): 80% of SpaceInvaders' steps repeat the previous action,
    which the frame stack shows as motion, so a network can score well by copying the action
    it sees and then, playing, keeps repeating its own (the copycat problem of imitation from
    histories; Wen et al. 2020). At the keyframes the label is never the visible action."""

    history: int = STACK
    """Frames of each 4-frame observation the network looks at, the newest ones (1: the
    current screen alone). A stack shows motion, and so the action just taken: a student that
    reads it learns to repeat its own last action (the copycat problem of imitation from
    histories; Wen et al. 2020). Cloning a policy's own play on SpaceInvaders, a 4-frame
    student fell from 498 to 217 while its accuracy rose from 86% to 93% (results/journal
    2026-12-04-4). The policy's input is still the 4-frame stack (the ONNX contract); the
    first layer's weights for the frames it does not look at are zero in an export."""

    model: ModelName = "nature"
    """Network size, a name of `MODEL_SIZES`. A run keeps one size through all its stages
    (each stage starts from the previous one's parameters)."""

    ema: float = 0.0
    """Decay per step of an exponential moving average of the parameters (0: off; 0.999
    averages over roughly the last 1,000 steps). When on, validation, `best/` (what `eval`
    plays and `export` writes) and the next stage's start are the averaged parameters, while
    training steps on the raw ones. The average is a per-step schedule that knows nothing of
    the fit's planned length, so a fit continued to more epochs carries on smoothly (it is
    saved with the optimizer state); it is debiased, so its first steps are not pulled
    towards the initial parameters. Policies trained at a constant step size swung between
    epochs (a tiny fit played 494 after 3 epochs and one action, 285, after 5)."""

    keep: Keep = "best"
    """Which parameters `best/` holds (what `eval` plays, `export` writes and the next stage
    starts from): `best`, the epoch with the lowest validation loss, where a new stage must
    first beat the starting parameters on its own validation data; or `last`, every epoch's,
    so that each stage's training always reaches the policy. On swarm labels validation loss
    does not predict play, and in the expert-iteration loops `best` kept the previous round's
    parameters unchanged in 11 of 39 guided rounds, and chose epoch 1 for most
    round-0 fits (results/README.md)."""

    def validate(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not 0 < self.learning_rate < math.inf:
            raise ValueError(f"--learning-rate must be a number > 0, got {self.learning_rate}")
        if self.steps_per_call < 1:
            raise ValueError(f"--steps-per-call must be at least 1, got {self.steps_per_call}")
        if self.target not in TARGETS:
            raise ValueError(f"--target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if self.equivalent not in EQUIVALENTS:
            raise ValueError(
                f"--equivalent must be one of {', '.join(EQUIVALENTS)}, got {self.equivalent!r}"
            )
        if self.target == "improved" and self.equivalent != "ignore":
            raise ValueError(
                f"--target improved takes no --equivalent {self.equivalent}: its target comes "
                "from the swarm's values, where equivalent actions keep the policy's own split; "
                "use --equivalent ignore"
            )
        if self.prior is not None and self.target != "improved":
            raise ValueError(
                f"--prior is the prior of --target improved, not of --target {self.target}: "
                "add --target improved or drop --prior"
            )
        if self.model not in MODEL_SIZES:
            raise ValueError(f"--model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.keep not in KEEPS:
            raise ValueError(f"--keep must be one of {', '.join(KEEPS)}, got {self.keep!r}")
        if not 0 <= self.shift <= 16:
            raise ValueError(f"--shift must be between 0 and 16 pixels, got {self.shift}")
        if not 1 <= self.history <= STACK:
            raise ValueError(f"--history must be 1-{STACK} frames of the stack, got {self.history}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"--ema must be in [0, 1) (a decay per step; 0: off), got {self.ema}")
        if self.patience < 0:
            raise ValueError(f"--patience must be >= 0, got {self.patience}")


STAGE_SETTINGS = ("epochs", "steps_per_call", "patience")
"""Fit settings a continued stage may change: how long it trains and how its steps are
dispatched, not what it learns."""
RESUME_SETTINGS = tuple(f.name for f in fields(FitConfig) if f.name not in STAGE_SETTINGS)
"""Settings a continued stage must keep (every other field): they decide the split, the
batches, the steps and the loss."""

ON_ONLY_SWITCHES = frozenset({"compared_only", "keyframes"})
"""Bool fields the `fit` command takes as a bare `--NAME` (left out: off), not `--NAME/--no-NAME`."""


def option_name(field_name: str) -> str:
    """The command-line option of a settings field: `batch_size` -> `--batch-size`."""
    return "--" + field_name.replace("_", "-")


def settings_argv(settings: Any, on_only: Collection[str] = ()) -> list[str]:
    """Every field of the dataclass `settings` as the options a command line gives it, so a
    command that runs another (the loop running `fil-learn fit`, `fil-collect`) derives its
    argv from the settings instead of listing them by hand. A field's `option` metadata names
    its option where it differs from the field's name; bools are `--x/--no-x`, or only `--x`
    for the names in `on_only`; None is left out (the option's default)."""
    argv: list[str] = []
    for field in fields(settings):
        value = getattr(settings, field.name)
        flag = field.metadata.get("option", option_name(field.name))
        if isinstance(value, bool):
            if value or field.name not in on_only:
                argv.append(flag if value else f"--no-{flag[2:]}")
        elif value is not None:
            argv += [flag, str(value)]
    return argv


def fit_argv(config: FitConfig) -> list[str]:
    """The `fil-learn fit` options that reproduce `config`, every field included (a test runs
    them through the fit command's parser), so a new fit setting reaches the loop's fits
    without being listed anywhere else."""
    return settings_argv(config, ON_ONLY_SWITCHES)
