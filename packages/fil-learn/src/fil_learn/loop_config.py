"""The settings of `fil-learn loop`, in a module without JAX (the CLI reads them for `--help`).

A loop holds each setting once: the fits' settings are a `FitConfig` (what `fil-learn fit`
takes, `config.fit_argv`), the demonstration swarms' a `CollectSettings` and the label swarms'
a `RelabelSettings` (what `fil-collect` and `fil-collect relabel` take, `settings_argv`); the
rest is the loop's own. The command line, the presets and `rounds.json` name every setting by
one flat name (`flat_settings`), the name its `fil-learn loop` option has.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

from fil_learn.config import STACK, FitConfig

Mode = Literal["dagger", "bc", "exit"]
"""What a round after round 0 adds to the training data."""
MODES: tuple[str, ...] = get_args(Mode)
Guide = Literal["best", "last"]
"""`exit`: which round's policy guides the next swarm."""
GUIDES: tuple[str, ...] = get_args(Guide)
RoundSeeds = Literal["fixed", "per-round"]
"""Which episodes a round's evaluation plays."""
ROUND_SEEDS: tuple[str, ...] = get_args(RoundSeeds)
Rule = Literal["vote", "best", "value"]
"""How `fil-collect relabel` labels a visited state."""
RULES: tuple[str, ...] = get_args(Rule)

FIRST_ROUND_SEED = 1000
"""Round evaluations start here; the final evaluation (seeds 10000 on) never overlaps them."""
GUIDE_PLAY_SEED = 20_000
"""The first seed of `guide_play`'s episodes: apart from the round seeds (1000 onward, 1000 a
round with `--round-seeds per-round`, so a loop of 19 rounds or fewer) and the finals' (10000-
10029), so a student is never chosen, or scored, on games its guide showed it."""


def _option(name: str) -> dict[str, str]:
    """Field metadata: the option of the command the field is handed to, where the loop's own
    name for it differs (the loop has two kinds of swarm, each with its `--epochs`)."""
    return {"option": name}


@dataclass(frozen=True)
class CollectSettings:
    """The demonstration swarms' settings, given to every `fil-collect` run of the loop."""

    episodes: int = 16
    """Swarm episodes of round 0 (and, in `bc` mode, added every later round; in `exit` mode,
    collected every later round under the policy)."""
    walkers: int = 16
    swarm_epochs: int = field(default=1000, metadata=_option("--epochs"))
    """Most epochs of a demonstration swarm."""
    total_frames: int | None = None
    """Budget each collected file in emulator frames (`fil-collect --total-frames`): episodes
    are added until they cost this many, `episodes` being then the most. A game whose episodes
    run long (Atlantis, Pong) gets fewer, longer ones for the same cost as one whose games end
    soon (SpaceInvaders), instead of episodes cut at `swarm_epochs` before the game's late
    states (None: `episodes` episodes)."""


@dataclass(frozen=True)
class RelabelSettings:
    """The label swarms' settings, given to every `fil-collect relabel` run of the loop."""

    max_labels: int = 400
    """Most labels per visited episode (bounds the relabelling cost per round)."""
    label_walkers: int = field(default=16, metadata=_option("--walkers"))
    label_epochs: int = field(default=10, metadata=_option("--epochs"))
    rule: Rule = "vote"
    """How a visited state is labelled: `fil-collect relabel --rule` (vote, best, value)."""


LOOP_FIT = FitConfig(epochs=8)
"""The fits' settings when none are given: 8 epochs a round (a fit alone trains 10)."""


@dataclass(frozen=True)
class LoopConfig:
    game: str
    workdir: Path
    rounds: int = 4
    mode: Mode = "dagger"
    collect: CollectSettings = CollectSettings()
    eval_episodes: int = 10
    """Episodes played (v5) per round; their visited states are what `dagger` relabels."""
    state_every: int = 4
    """Save and label every k-th visited state."""
    relabel: RelabelSettings = RelabelSettings()
    keep_demos: bool = True
    """Keep training on the swarm demonstrations after round 0 (False: relabelled data only;
    FMC's own actions are uniform draws, so its labels are mostly noise)."""
    final_episodes: int = 30
    """Episodes per protocol (v5 and noop30) of the final evaluation; 0 skips it."""
    baseline_episodes: int = 3
    """Episodes (v5) of each constant action and of random play, the plot's reference lines;
    0 skips them."""
    eval_max_steps: int | None = None
    """Cut evaluation episodes after this many steps (smoke tests only; None plays them out)."""
    workers: int | None = None
    policy_temperature: float = 0.5
    """`exit`: softmax temperature of the guiding policy. 0.5 with epsilon 0.2 is the measured
    best on SpaceInvaders (468 under v5 after 3 guided rounds, against 362 at 1 and 0.5;
    results/README.md)."""
    policy_epsilon: float = 0.2
    """`exit`: share of each guided draw that stays uniform (in round 1)."""
    policy_epsilon_step: float = 0.0
    """`exit`: lower the uniform share by this much every round after round 1 (down to 0): a
    search that starts near plain FMC and trusts the policy more as it improves."""
    guide: Guide = "best"
    """`exit`: which policy guides a round's swarm, `best` (the best round evaluation so far)
    or `last` (the previous round's). With `best`, a round whose policy got worse does not
    guide the next one, so a collapse does not feed on itself."""
    guided_relabel: bool = False
    """`dagger`: the label swarms draw from the policy whose states they label
    (`fil-collect relabel --policy`, at `policy_temperature` and `policy_epsilon`)."""
    round_seeds: RoundSeeds = "fixed"
    """Every round's evaluation plays the same seeds (`fixed`), so an unchanged policy scores
    the same and rounds differ only by their policies, or other seeds each round
    (`per-round`, loops recorded before this setting existed: 10-episode evaluations of one
    policy moved by up to 65 points on SpaceInvaders, enough to pick the wrong best round)."""
    fresh: bool = False
    """Every round's fit trains a new network (its own run folder, `run-K`) on what the round
    trains on, instead of fine-tuning the round before's: with `--drop-demos --window 1`, a
    round's policy is a clone of its guided swarm alone, as the one-frame expert iteration that
    lifted SpaceInvaders from 536 to 634 was trained (results/journal 2026-12-04-4)."""
    candidates: int = 1
    """With `fresh`: networks trained each round (fit seeds `seed`, `seed + 1`, ...); each plays
    the round evaluation and the best becomes the round's policy. Fits of one round's data
    differ by hundreds of points (SpaceInvaders, one round's guided episodes: 407.5 and 721.3
    under v5 for fit seeds 0 and 1; results/journal 2026-12-04-5), so one fit a round is a
    lottery. The choice plays the round seeds (1000 on), never the final evaluation's."""
    start: str | None = None
    """`exit`: an exported policy (.onnx) that is round 0 instead of a clone of swarm
    demonstrations: round 0 only evaluates it and round 1's swarm is guided by it, so a recipe
    continues from a published policy. It is copied into the loop's folder when round 0 is
    played (its sha256 in round 0's row); later changes to the file do not reach the loop."""
    window: int = 0
    """`exit`: train on round 0's demonstrations and only the last `window` rounds of guided
    episodes (0: all of them), so the policy's earlier, weaker choices fade out of the data."""
    candidate_histories: tuple[int, ...] = ()
    """With `fresh`: the frame histories (`fit --history`) every candidate seed is trained at,
    so a round compares `candidates` x histories networks and keeps the best by the same round
    evaluation (empty: the fits' `history` alone). Which input a game needs is then measured,
    not set per game: a network that sees one frame cannot tell which way things move (a
    one-frame clone of the 98,680 Atlantis policy played 31,470 at best, a four-frame clone
    85,373), and one that sees four learns to repeat the action the stack shows
    (SpaceInvaders: a four-frame clone fell from 498 to 217, a one-frame one held 513-544);
    results/journal 2026-12-04-4 and 2026-12-05-3."""
    fit_samples: int = 0
    """A fixed training budget per fit (0: off): each fit the loop starts trains
    `max(1, round(fit_samples / S))` epochs instead of `epochs`, S being the labelled samples of
    what the round trains on, so that games whose rounds hold more or fewer samples process about
    the same number. About: a fit holds ~10% of the episodes out for validation, so it processes
    ~90% of the budget; the rounds' `samples_processed` is what was measured."""
    guide_labels: bool = False
    """`exit`: every guided round also labels states its guide played itself (the states saved
    in the guide's round evaluation, `--state-every` and `--max-labels` of them) with the label
    swarms (`fil-collect relabel`: `--rule`, `--label-walkers`, `--label-epochs`) and trains on
    them beside its guided episodes. A guided swarm reaches the states the guide steers it to,
    not the ones a policy that plays alone drifts into; DAgger's labels are made there, and only
    DAgger has lifted Atlantis past 85,950 (98,876.7), while expert iteration lifted
    SpaceInvaders (1,005.7) and kept Atlantis under 50,000 (results/journal 2026-12-05-5)."""
    guide_play: int = 0
    """`exit` with `--prior guide`: every guided round also records this many episodes of its
    guide playing alone (`fil-learn eval --save-states`, v5, seeds from `GUIDE_PLAY_SEED`) and
    its fits train on them beside the guided episodes, fitted to the guide (0: off). A guided
    swarm visits the states its search steers to; the guide alone reaches others, and those
    are the states its student will meet. On Atlantis a loop round with 30 such episodes kept
    98,226.7 held out, against 90,490.0 without (results/journal 2026-12-05-7)."""
    fit: FitConfig = LOOP_FIT
    """Every round's fit; its `seed` also seeds collection and relabelling (`seed`). Last, so
    that the flat settings keep the order the record has always had."""

    def __post_init__(self) -> None:
        # a record or a command line gives a list; the setting is compared and hashed as a tuple
        object.__setattr__(self, "candidate_histories", tuple(self.candidate_histories))

    def candidate_fits(self) -> list[tuple[int, int]]:
        """The (fit seed, history) of each network a round trains, in candidate order: every
        seed at the first history, then every seed at the next. Without `candidate_histories`
        candidate j is seed `seed + j` at the fits' history, as loops always trained them."""
        histories = self.candidate_histories or (self.fit.history,)
        return [(self.seed + j, history) for history in histories for j in range(self.candidates)]

    @property
    def seed(self) -> int:
        """Seeds collection, training and relabelling: one number, kept in the fit's settings."""
        return self.fit.seed

    @classmethod
    def from_settings(cls, game: str, workdir: Path | None = None, **flat: Any) -> LoopConfig:
        """The loop that flat settings (option names, as `flat_settings` writes them) describe;
        the work folder is runs/loop-GAME-MODE unless one is given."""
        parts = {name: {} for name in NESTED}
        own: dict[str, Any] = {}
        for key, value in flat.items():
            (parts[OWNER[key]] if key in OWNER else own)[key] = value
        folder = workdir or Path("runs") / f"loop-{game.lower()}-{own.get('mode', cls.mode)}"
        nested = {name: replace(DEFAULTS[name], **parts[name]) for name in NESTED}
        return cls(game=game, workdir=Path(folder), **nested, **own)

    def with_settings(self, **flat: Any) -> LoopConfig:
        """This loop with some flat settings changed (as `dataclasses.replace`, by flat name)."""
        return LoopConfig.from_settings(**{**flat_settings(self), **flat})

    def validate(self) -> None:
        """Every setting, checked before any work starts."""
        _check_counts(self)
        for name, value, choices in (
            ("mode", self.mode, MODES),
            ("rule", self.relabel.rule, RULES),
            ("guide", self.guide, GUIDES),
            ("round-seeds", self.round_seeds, ROUND_SEEDS),
        ):
            if value not in choices:
                raise ValueError(f"--{name} must be one of {', '.join(choices)}")
        if not self.policy_temperature > 0 or not 0 <= self.policy_epsilon <= 1:
            raise ValueError("--policy-temperature must be > 0 and --policy-epsilon in [0, 1]")
        if not 0 <= self.policy_epsilon_step <= 1:
            raise ValueError("--policy-epsilon-step must be in [0, 1]")
        if self.window < 0:
            raise ValueError("--window must be 0 (every guided round) or more")
        if self.fit_samples < 0:
            raise ValueError("--fit-samples must be 0 (each fit trains --epochs) or more")
        if self.collect.total_frames is not None and self.mode == "bc" and self.rounds > 1:
            raise ValueError(
                "--total-frames budgets one file, and --mode bc adds --episodes to it every "
                "round: give --episodes instead"
            )
        prior = self.fit.prior
        if prior == GUIDE_PRIOR and self.mode != "exit":
            raise ValueError("--prior guide needs --mode exit (it is a guided round's guide)")
        if prior not in (None, GUIDE_PRIOR) and not Path(prior).exists():
            raise ValueError(
                f"--prior {prior} does not exist: give an .onnx policy, a run folder, or guide"
            )
        if self.guide_play and prior != GUIDE_PRIOR:
            raise ValueError(
                "--guide-play needs --target improved --prior guide (a guide's own play is "
                "fitted to the guide; its recorded actions are not labels)"
            )
        if self.guide_labels and self.mode != "exit":
            raise ValueError("--guide-labels needs --mode exit (it labels a guide's states)")
        if self.candidates > 1 and not (self.fresh and self.mode == "exit"):
            raise ValueError("--candidates above 1 needs --fresh and --mode exit")
        if self.candidate_histories and not (self.fresh and self.mode == "exit"):
            raise ValueError("--candidate-histories needs --fresh and --mode exit")
        histories = self.candidate_histories
        if len(set(histories)) < len(histories) or not all(1 <= h <= STACK for h in histories):
            raise ValueError(
                f"--candidate-histories must be distinct histories of 1-{STACK} frames"
            )
        if self.start is not None:
            if self.mode != "exit":
                raise ValueError("--start needs --mode exit (round 1 collects guided by it)")
            if not Path(self.start).is_file() or Path(self.start).suffix != ".onnx":
                raise ValueError(f"--start {self.start}: give an exported policy file (.onnx)")
        self.fit.validate()

    def eval_seed(self, round_index: int) -> int:
        """The first seed of round `round_index`'s evaluation episodes."""
        if self.round_seeds == "fixed":
            return FIRST_ROUND_SEED
        return FIRST_ROUND_SEED * (round_index + 1)

    def epsilon(self, round_index: int) -> float:
        """The uniform share of round `round_index`'s guided draws (round 1 first)."""
        return max(0.0, self.policy_epsilon - self.policy_epsilon_step * (round_index - 1))


GUIDE_PRIOR = "guide"
"""`--prior guide`: every guided round's fits take the round's guide as `--target improved`'s
prior (`Loop.fit_command`)."""

NESTED = {"fit": FitConfig, "collect": CollectSettings, "relabel": RelabelSettings}
"""The loop's fields that hold another command's settings."""
DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(LoopConfig) if f.name in NESTED}
OWNER = {f.name: name for name, kind in NESTED.items() for f in fields(kind)}
"""Which settings object holds each flat setting (`epochs` -> `fit`, `walkers` -> `collect`)."""

AT_LEAST_ONE = (
    "rounds", "episodes", "walkers", "swarm_epochs", "epochs", "batch_size",
    "eval_episodes", "state_every", "max_labels", "label_walkers", "label_epochs", "candidates",
)  # fmt: skip
"""Counts that must be positive (the fit's own are checked again by `FitConfig.validate`, but
here first, so the loop's message names the loop's option)."""


def _check_counts(config: LoopConfig) -> None:
    """Every count that must be positive, or may be 0 to skip, or None for its default."""
    flat = flat_settings(config)
    for name in AT_LEAST_ONE:
        if flat[name] < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("final_episodes", "baseline_episodes", "guide_play"):
        if flat[name] < 0:
            raise ValueError(f"--{name.replace('_', '-')} must be 0 (skip) or more")
    for name in ("eval_max_steps", "workers", "total_frames"):
        value = flat[name]
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")


def flat_settings(config: LoopConfig) -> dict[str, Any]:
    """Every setting by its flat name (the loop's option name), the nested ones included: what
    `rounds.json` records, what a preset sets and what the command line overrides."""
    flat: dict[str, Any] = {}
    for loop_field in fields(config):
        value = getattr(config, loop_field.name)
        flat.update(asdict(value) if loop_field.name in NESTED else {loop_field.name: value})
    return flat


def default_settings() -> dict[str, Any]:
    """Each flat setting's default (the loop command's option defaults read them here)."""
    return flat_settings(LoopConfig("", Path()))
