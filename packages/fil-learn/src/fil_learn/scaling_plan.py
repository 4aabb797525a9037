"""The scaling recipe as data: presets, `--set` overrides, and the plan that follows from them.

`fil-learn scale` (driver: `fil_learn.scaling`) measures how a behaviour-cloned policy scores
as data and training grow. Everything it does is decided here, from a frozen `Preset` and the
files that exist, without JAX or an emulator, so that `--plan` answers in a second and the
unit tests check the decisions themselves:

- shard k is `fil-collect --seed k` with the preset's swarm settings, so any shard can be
  regenerated bit for bit on another machine;
- a data size d trains on shards 0..d-1; its training samples T are known from the files'
  metadata (`fil_learn.data.held_out` is the fit's own split);
- a milestone of m samples processed is reached at max(1, round(m / T)) epochs, at most
  `max_epochs`; milestones that land on an epoch count already planned are skipped.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fil_learn.config import FitConfig
from fil_learn.data import episode_key, file_sha256, held_out, keyframe_steps, open_dataset
from fil_learn.games import reference_scores

TUYLS_2023_BC_SPACEINVADERS = (
    (670_000, 315.0), (2_000_000, 400.0), (3_900_000, 525.0), (7_800_000, 554.0),
    (19_500_000, 852.0), (39_000_000, 1093.0), (195_000_000, 1334.0),
)  # fmt: skip
"""Tuyls et al. 2023, behaviour cloning of a PPO teacher on SpaceInvaders: samples processed
-> best return (read off their scaling figure; ~2M is approximate)."""


@dataclass(frozen=True)
class Preset:
    """One scaling experiment: what to collect, how to fit, how to evaluate, what to compare.

    Every field but `name`, `game`, `references` and `teacher_curve` can be changed for a
    trial with `--set FIELD=VALUE` (`--set fit.FIELD=VALUE` for a fit setting)."""

    name: str
    game: str
    shard_episodes: int = 50
    """Episodes per shard (`fil-collect --episodes`)."""
    walkers: int = 16
    max_frames: int = 150_000
    """Emulator frames of search per episode (`fil-collect --max-frames`)."""
    data_sizes: tuple[int, ...] = (2, 5, 12, 24)
    """Shards per fit: one fit per size, over the first shards. A SpaceInvaders shard holds
    ~97k steps (~87k for training), so 12 is the first size past 1M unique training steps."""
    milestones: tuple[int, ...] = (
        500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000,
    )  # fmt: skip
    """Samples processed (epochs x training samples) at which a fit is evaluated."""
    max_epochs: int = 12
    fit: tuple[tuple[str, Any], ...] = (
        ("batch_size", 256), ("seed", 0), ("keep", "last"), ("model", "tiny"), ("history", 1),
    )  # fmt: skip
    """`FitConfig` settings other than its defaults (`epochs` comes from the milestones). The
    network looks at the newest frame alone (`history` 1): with the 4-frame stack every student
    copied the action the stack shows and played near holding FIRE (251-339 on these shards);
    with one frame the same 2 shards' demonstrated actions give 499.7 at 0.52M samples
    (journal 2026-12-04-4). The target is the demonstrated action, plain behaviour cloning."""
    first_seed: int = 0
    """Shard k is collected with `--seed first_seed + k`."""
    guide: str | None = None
    """An ONNX policy (a path from the repository root) that guides every shard's swarm
    (`fil-collect --policy`): the walkers draw their actions from it instead of uniformly, so
    the demonstrations are a search around a policy that is a function of the screen. None:
    the plain swarm."""
    guide_sha256: str | None = None
    """The guide's sha256: shards made by another policy are other data, so a changed file is
    refused rather than mixed in."""
    guide_temperature: float = 0.25
    guide_epsilon: float = 0.1
    eval_episodes: int = 30
    eval_seed: int = 10_000
    """Evaluation episode i resets with eval_seed + i; never a seed a shard was collected on."""
    eval_max_steps: int | None = None
    """Cut evaluation episodes after this many steps (smoke tests only)."""
    references: tuple[tuple[str, float], ...] = ()
    """(label, v5 score) lines drawn beside the curve, besides random from `games.py`."""
    teacher_curve: tuple[tuple[int, float], ...] = ()
    """(samples processed, return) of a published scaling curve to compare against."""
    notes: tuple[str, ...] = ()
    """What a reader must know to compare the curve's points, printed under its table (each
    point is one fit: how far fits that differ only in their seed spread, for one)."""

    @property
    def folder(self) -> str:
        """The experiment's folder name: runs/scale/FOLDER, results/FOLDER-scaling (the
        preset's name: two presets of one game keep their shards and rows apart)."""
        return self.name

    def fit_config(self, epochs: int) -> FitConfig:
        """The `FitConfig` of a fit up to `epochs`, from this preset's fit settings."""
        return FitConfig(**{**dict(self.fit), "epochs": epochs})

    def validate(self) -> None:
        """Every setting checked before any work starts, each refusal saying what to give."""
        for name in ("shard_episodes", "walkers", "max_frames", "max_epochs", "eval_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"--set {name} must be at least 1, got {getattr(self, name)}")
        for name in ("data_sizes", "milestones"):
            values = getattr(self, name)
            if not values or min(values) < 1 or list(values) != sorted(set(values)):
                raise ValueError(f"--set {name} must be increasing numbers >= 1, got {values}")
        if self.first_seed < 0:
            raise ValueError(f"--set first_seed must be 0 or more, got {self.first_seed}")
        if self.guide is not None:
            check_guide(self)
        if self.eval_seed < 0:
            raise ValueError(f"--set eval_seed must be 0 or more, got {self.eval_seed}")
        if self.eval_max_steps is not None and self.eval_max_steps < 1:
            raise ValueError("--set eval_max_steps must be at least 1 (or none)")
        known = {f.name for f in dataclasses.fields(FitConfig)}
        for key, _ in self.fit:
            if key not in known or key == "epochs":
                raise ValueError(f"--set fit.{key}: not a fit setting; choose from {_fit_keys()}")
        self.fit_config(1).validate()
        if self.fit_config(1).compared_only:
            raise ValueError(
                "--set fit.compared_only: scale counts samples processed from the files' "
                "metadata and cannot count compared steps; run fil-learn fit for that trial"
            )

    def eval_seeds(self) -> range:
        return range(self.eval_seed, self.eval_seed + self.eval_episodes)

    def random_score(self) -> float | None:
        """Random play's score, from the one table the repository keeps (`games.py`)."""
        scores = reference_scores(self.game)
        return None if scores is None else scores[0]

    def as_json(self) -> dict[str, Any]:
        """The preset as results/GAME-scaling/preset.json and a best card record it."""
        values = {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {**values, "fit": dict(self.fit)}


def check_guide(preset: Preset) -> None:
    """The guide exists and is the file the preset names by its sha256, with a one-line
    refusal that says how to get it back."""
    path = Path(str(preset.guide))
    if not path.is_file():
        raise ValueError(
            f"the guide {path} is missing: run from the repository root, or restore it with "
            f"git checkout -- {path}"
        )
    digest = file_sha256(path)
    if preset.guide_sha256 is not None and digest != preset.guide_sha256:
        raise ValueError(
            f"the guide {path} is not the policy this preset collects with (sha256 {digest[:12]}, "
            f"want {preset.guide_sha256[:12]}): restore it with git checkout -- {path}"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


RECORD_DEFAULTS: dict[str, Any] = {
    f.name: _jsonable(f.default)
    for f in dataclasses.fields(Preset)
    if f.default is not dataclasses.MISSING
}
"""Each `Preset` setting's default as `preset.json` records it: what a record written before
the setting existed was measured with."""


LEADERBOARD = (
    "leaderboard: best of ten fits, 0.25M samples",
    1005.7,
)
"""Where the project's best SpaceInvaders policy stands beside the curves."""

ONE_FIT_A_POINT = (
    "Each point is one fit (fit seed 0). Twenty fits that differed only in their seed, on one "
    "30-episode guided dataset at 0.25M samples, scored 295-973 under v5 (mean 609, standard "
    "deviation 151; results/journal/2026-12-05-1-ten-fits.md): two points closer than about "
    "300 may differ by the fit's seed alone.",
)
"""The spread of fit seeds, as measured on SpaceInvaders: how to read a one-fit curve."""

GUIDED_MILESTONES = (250_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000)
"""The guided curve starts at 0.25M samples: 6 epochs of one shard, as the round it grows from."""

PRESETS: dict[str, Preset] = {
    "spaceinvaders": Preset(
        name="spaceinvaders",
        game="SpaceInvaders",
        references=(
            ("hold FIRE (best constant action, results/README.md)", 285.0),
            ("previous best policy (held-out seeds)", 451.5),
            LEADERBOARD,
        ),
        teacher_curve=TUYLS_2023_BC_SPACEINVADERS,
        notes=ONE_FIT_A_POINT,
    ),
    "spaceinvaders-guided": Preset(
        name="spaceinvaders-guided",
        game="SpaceInvaders",
        shard_episodes=30,
        first_seed=300,
        guide="results/spaceinvaders-guided-scaling/guide.onnx",
        guide_sha256="75147cc4fc4aacd67f8236ab53887d705473c658ed84241ec36c21351c6b004c",
        data_sizes=(1, 2, 4, 8, 16, 24),
        milestones=GUIDED_MILESTONES,
        max_epochs=20,
        references=(
            ("hold FIRE (best constant action, results/README.md)", 285.0),
            ("the guide: one round of expert iteration at one frame", 633.8),
            LEADERBOARD,
        ),
        teacher_curve=TUYLS_2023_BC_SPACEINVADERS,
        notes=ONE_FIT_A_POINT,
    ),
    "atlantis": Preset(
        name="atlantis",
        game="Atlantis",
        references=(
            ("hold NOOP (best constant action, results/README.md)", 2_000.0),
            ("DQN (Mnih et al. 2015)", 85_950.0),
        ),
    ),
}

FIXED = ("name", "game", "references", "teacher_curve", "notes")
"""Preset fields `--set` cannot change: they say which experiment this is."""
EXTENDABLE = ("data_sizes", "milestones", "max_epochs", "references", "teacher_curve", "notes")
"""Settings a rerun may change in a results folder: they add (or leave out) rows, or only
redraw the page (the reference lines beside the curve), and never change a row already there."""


def _fit_keys() -> str:
    return ", ".join([f.name for f in dataclasses.fields(FitConfig) if f.name != "epochs"])


def apply_overrides(preset: Preset, assignments: list[str]) -> Preset:
    """The preset with `--set KEY=VALUE` applied, each value parsed as its field's type."""
    changes: dict[str, Any] = {}
    fit = dict(preset.fit)
    hints = typing.get_type_hints(Preset)
    fit_hints = typing.get_type_hints(FitConfig)
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--set {assignment}: write KEY=VALUE, e.g. --set eval_episodes=10")
        if key.startswith("fit."):
            name = key[4:]
            kind = fit_hints.get(name, str)
            if name == "epochs" or name not in fit_hints:
                raise ValueError(f"--set {key}: not a fit setting; choose from {_fit_keys()}")
            fit[name] = parse_value(key, text, kind)
        elif key in hints and key not in FIXED:
            changes[key] = parse_value(key, text, hints[key])
        else:
            choices = ", ".join(k for k in hints if k not in (*FIXED, "fit"))
            raise ValueError(f"--set {key}: unknown setting; choose from {choices}, fit.FIELD")
    if fit != dict(preset.fit):
        changes["fit"] = tuple(fit.items())
    return dataclasses.replace(preset, **changes)


def parse_value(key: str, text: str, kind: Any) -> Any:
    """`text` as a value of type `kind`: int, float, bool, str, a Literal, `int | None`
    ("none") or `tuple[int, ...]` (comma-separated)."""
    text = text.strip()
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if text.lower() == "none":
            return None
        kind = next(a for a in args if a is not type(None))
    if typing.get_origin(kind) is tuple:
        return tuple(parse_value(key, part, args[0]) for part in text.split(",") if part.strip())
    if typing.get_origin(kind) is typing.Literal:
        if text not in args:
            raise ValueError(f"--set {key}: must be one of {', '.join(map(str, args))}")
        return text
    try:
        if kind is bool:
            return {"true": True, "false": False}[text.lower()]
        return kind(float(text)) if kind is int and "e" in text.lower() else kind(text)
    except (ValueError, KeyError):
        raise ValueError(f"--set {key}={text}: not a {kind.__name__}") from None


def milestone_epochs(
    milestones: tuple[int, ...], train_samples: int, max_epochs: int
) -> list[tuple[int, int]]:
    """(milestone, epochs) pairs: the epochs at which a fit has processed about each
    milestone's samples, at most `max_epochs`, each epoch count once (its first milestone)."""
    planned: list[tuple[int, int]] = []
    for milestone in sorted(milestones):
        epochs = min(max_epochs, max(1, round(milestone / train_samples)))
        if all(epochs != e for _, e in planned):
            planned.append((milestone, epochs))
    return planned


@dataclass(frozen=True)
class EpisodeFacts:
    """What a row needs of one collected episode, read from its attributes."""

    index: int
    seed: int
    episode_return: float
    labelled_steps: int
    emulator_frames: int
    wall_seconds: float
    key: str
    keyframes: int = 0
    """Labelled steps whose action differs from the previous one's (`fit --keyframes`)."""


@dataclass(frozen=True)
class Shard:
    """One shard file as found on disk: missing (no episodes), partial or complete."""

    index: int
    path: Path
    episodes: tuple[EpisodeFacts, ...] = ()
    wanted: int = 0
    measured_seconds: float = 0.0
    """CPU seconds `scale` measured collecting this shard (its `shard-KK.cost.json`)."""
    measured: frozenset[int] = frozenset()
    """The episodes those seconds collected."""
    guide_sha256: str | None = None
    """The sha256 of the policy that guided the file's swarms (None: the plain swarm)."""

    @property
    def complete(self) -> bool:
        return len(self.episodes) >= self.wanted

    @property
    def core_seconds(self) -> float:
        """Collection cost: the CPU time `scale` measured for the episodes it collected, and
        for the others (collected by hand) their `wall_seconds`: each swarm runs in one
        process, so that is one core's time, an upper bound on its CPU time (by several
        times on a machine with more processes than cores)."""
        adopted = sum(e.wall_seconds for e in self.episodes if e.index not in self.measured)
        return self.measured_seconds + adopted


def cost_path(shard: Path) -> Path:
    """Where `scale` keeps what collecting a shard cost: `shard-KK.cost.json` beside it."""
    return shard.with_name(shard.stem + ".cost.json")


def shard_path(runs: Path, preset: Preset, index: int) -> Path:
    return runs / preset.folder / f"shard-{index:02d}.h5"


def read_shard(runs: Path, preset: Preset, index: int) -> Shard:
    """The shard's episodes' facts (attributes and labels only: no frame is decompressed)."""
    path = shard_path(runs, preset, index)
    if not path.exists():
        return Shard(index, path, (), preset.shard_episodes)
    facts: list[EpisodeFacts] = []
    with open_dataset(path) as dataset:
        guide = json.loads(dataset.attrs.get("config_json", "{}")).get("policy_sha256")
        for episode in dataset:
            labels = episode.actions[episode.actions >= 0]
            facts.append(
                EpisodeFacts(
                    index=episode.index,
                    seed=int(episode.attrs["seed"]),
                    episode_return=episode.episode_return,
                    labelled_steps=int(labels.shape[0]),
                    emulator_frames=int(episode.attrs.get("emulator_frames", 0)),
                    wall_seconds=float(episode.attrs.get("wall_seconds", 0.0)),
                    key=episode_key(path, episode.name, episode.attrs),
                    keyframes=int(keyframe_steps(labels, np.zeros(labels.shape[0])).sum()),
                )
            )
    costs = json.loads(cost_path(path).read_text()) if cost_path(path).exists() else {}
    measured = frozenset(costs.get("collected", ()))
    return Shard(
        index, path, tuple(facts), preset.shard_episodes, costs.get("collect", 0.0), measured,
        guide,
    )  # fmt: skip


def collect_argv(runs: Path, preset: Preset, index: int, workers: int) -> list[str]:
    """`fil-collect`'s arguments for shard `index` (`--workers` does not change the data)."""
    guide = []
    if preset.guide is not None:
        guide = [
            "--policy", preset.guide, "--policy-temperature", str(preset.guide_temperature),
            "--policy-epsilon", str(preset.guide_epsilon),
        ]  # fmt: skip
    return [
        "--game", preset.game, "--out", str(shard_path(runs, preset, index)),
        "--episodes", str(preset.shard_episodes), "--walkers", str(preset.walkers),
        "--max-frames", str(preset.max_frames), "--seed", str(preset.first_seed + index),
        *guide, "--workers", str(workers), "--quiet",
    ]  # fmt: skip


def eval_argv(preset: Preset, run_dir: Path, protocol: str, result: Path) -> list[str]:
    """`fil-learn eval`'s arguments for a fit of the preset: its episodes and evaluation seeds
    (never collected on), the JSON written to `result`. Every point of a curve, and every
    refit of one (`bench/fit_seeds.py`), is played this way."""
    steps = preset.eval_max_steps
    return [
        "eval", str(run_dir), "--episodes", str(preset.eval_episodes), "--protocol", protocol,
        "--seed", str(preset.eval_seed), "--json", str(result), "--quiet",
        *([] if steps is None else ["--max-steps", str(steps)]),
    ]  # fmt: skip


@dataclass(frozen=True)
class DataSize:
    """The first `shards` shards as one fit sees them."""

    shards: int
    episodes: tuple[EpisodeFacts, ...] = field(repr=False)
    train_samples: int
    collect_core_seconds: float
    measured_episodes: int
    """Episodes whose collection cost is measured CPU time (the others': wall time)."""

    @property
    def teacher_mean(self) -> float:
        return sum(e.episode_return for e in self.episodes) / max(len(self.episodes), 1)

    @property
    def emulator_frames(self) -> int:
        return sum(e.emulator_frames for e in self.episodes)


def data_size(shards: list[Shard], config: FitConfig) -> DataSize:
    """The fit's training samples over these shards: labelled steps (keyframes with
    `--keyframes`) of the episodes its split keeps (the same `held_out` as `fit`, from the
    same keys)."""
    episodes = tuple(e for shard in shards for e in shard.episodes)
    labelled = [e for e in episodes if e.labelled_steps > 0]
    held = held_out([e.key for e in labelled], config.val_fraction, config.seed)
    steps = [e.keyframes if config.keyframes else e.labelled_steps for e in labelled]
    train = sum(n for n, out in zip(steps, held, strict=True) if not out)
    cost = sum(s.core_seconds for s in shards)
    measured = sum(len(s.measured) for s in shards)
    return DataSize(len(shards), episodes, train, cost, measured)


def seed_overlap(shards: list[Shard], preset: Preset) -> str | None:
    """A refusal if an evaluation seed is a seed some collected episode started from (the
    policy would be scored on games it was shown), else None."""
    seeds = set(preset.eval_seeds())
    for shard in shards:
        for number, episode in enumerate(shard.episodes):
            if episode.seed in seeds:
                return (
                    f"evaluation seeds {preset.eval_seed}-{preset.eval_seeds()[-1]} include "
                    f"seed {episode.seed} of {shard.path.name} episode {number}: choose other "
                    "seeds with --set eval_seed=N"
                )
    return None


def guide_mismatch(shards: list[Shard], preset: Preset) -> str | None:
    """A refusal if a shard on disk was collected by another guide than the preset's (or by
    a guide where the preset has none, or the reverse): other data under the same name."""
    want = preset.guide_sha256 if preset.guide is not None else None
    for shard in shards:
        if shard.episodes and shard.guide_sha256 != want:
            made = f"guided by {shard.guide_sha256[:12]}" if shard.guide_sha256 else "unguided"
            return (
                f"{shard.path} was collected {made}, not as preset {preset.name} collects: "
                "move it away, or give --runs another folder"
            )
    return None


def data_refusal(shards: list[Shard], preset: Preset) -> str | None:
    """Why the shards on disk cannot be this preset's data (an evaluation seed among their
    episodes, another guide), or None."""
    return seed_overlap(shards, preset) or guide_mismatch(shards, preset)


def row_key(row: dict[str, Any]) -> tuple[int, int]:
    """A row is one (data size, epochs): rows already written are never recomputed."""
    return (int(row["shards"]), int(row["epochs"]))


def fit_folder(runs: Path, preset: Preset, shards: int) -> Path:
    return runs / preset.folder / f"fit-{shards:02d}shards"


def trained_epochs(run_dir: Path) -> int:
    """The last epoch the fit folder finished (0: none), from its metrics.jsonl."""
    metrics = run_dir / "metrics.jsonl"
    if not metrics.exists():
        return 0
    lines = [line for line in metrics.read_text().splitlines() if line.strip()]
    return max((int(json.loads(line)["epoch"]) for line in lines), default=0)


def existing_shards(runs: Path, preset: Preset) -> list[Shard]:
    """Every shard the largest data size uses, as found (missing ones have no episodes)."""
    return [read_shard(runs, preset, k) for k in range(max(preset.data_sizes))]


def describe(runs: Path, preset: Preset, rows: list[dict[str, Any]]) -> list[str]:
    """`--plan`: what exists, what is left, and what regenerating lost data costs."""
    shards = existing_shards(runs, preset)
    lines = [f"{preset.game} (preset {preset.name}), shards in {runs / preset.folder}:"]
    lines.append("  shards: " + ", ".join(_runs_of(shards)))
    lines += _costs(shards, preset, rows)
    done = {row_key(row) for row in rows}
    for size in preset.data_sizes:
        lines.append(f"  {size} shards: " + _size_state(runs, preset, shards[:size], done))
    lines.append(f"  rows: {len(rows)} written")
    return lines


def _runs_of(shards: list[Shard]) -> list[str]:
    """Shards in words, consecutive ones of one state together: `00-04 complete`."""
    words: list[str] = []
    for group in itertools.groupby(shards, key=_shard_state):
        members = list(group[1])
        first, last = members[0].index, members[-1].index
        span = f"{first:02d}" if first == last else f"{first:02d}-{last:02d}"
        words.append(f"{span} {group[0]}")
    return words


def _shard_state(shard: Shard) -> str:
    if shard.complete:
        return "complete"
    if shard.episodes:
        return f"partial ({len(shard.episodes)}/{shard.wanted})"
    return "missing"


def _costs(shards: list[Shard], preset: Preset, rows: list[dict[str, Any]]) -> list[str]:
    """Collection cost measured from the episodes present (`Shard.core_seconds`: CPU time
    where `scale` collected them, else wall time), and what is left to collect. With no
    episode here (a new machine), the committed rows say what their episodes cost."""
    episodes = sum(len(s.episodes) for s in shards)
    left = sum(max(0, s.wanted - len(s.episodes)) for s in shards)
    if not episodes:
        known = [r for r in rows if r.get("episodes") and r.get("core_hours", {}).get("collect")]
        if not known:
            return [f"  collection: {left} episodes left; no episode yet to measure a cost from"]
        row = max(known, key=lambda r: int(r["episodes"]))
        per_episode = float(row["core_hours"]["collect"]) / int(row["episodes"])
        return [
            f"  collection: {left} episodes left, ~{left * per_episode:.2f} core-h at the "
            f"{per_episode * 3600:.0f} core-s an episode the rows' {row['episodes']} cost"
        ]
    spent = sum(s.core_seconds for s in shards) / 3600
    measured = sum(len(s.measured) for s in shards)
    return [
        f"  collection: {spent:.2f} core-h spent on {episodes} episodes ({measured} costed by "
        f"measured CPU time, the others by wall time); {left} episodes left "
        f"(~{left * spent / episodes:.2f} core-h)",
        f"  regenerating a lost shard: ~{spent / episodes * preset.shard_episodes:.2f} core-h "
        f"(measured over {episodes} episodes)",
    ]


def _size_state(runs: Path, preset: Preset, shards: list[Shard], done: set[tuple[int, int]]) -> str:
    """One data size: waiting for shards, or its fit's epoch and its rows done and left."""
    if not all(s.complete for s in shards):
        waiting = [f"{s.index:02d}" for s in shards if not s.complete]
        return f"waiting for shard(s) {', '.join(waiting)}; epochs decided once collected"
    data = data_size(shards, preset.fit_config(1))
    pairs = milestone_epochs(preset.milestones, data.train_samples, preset.max_epochs)
    have = [e for _, e in pairs if (len(shards), e) in done]
    left = [e for _, e in pairs if (len(shards), e) not in done]
    trained = trained_epochs(fit_folder(runs, preset, len(shards)))
    return (
        f"{data.train_samples:,} training samples; fit at epoch {trained}; rows at epochs "
        f"{_listed(have)} done, {_listed(left)} left"
    )


def _listed(values: list[int]) -> str:
    return ", ".join(map(str, values)) if values else "none"
