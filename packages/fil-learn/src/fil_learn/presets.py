"""Named loops: the settings of each published result, as `fil-learn loop --preset NAME` runs it.

The recipes used to live in shell scripts whose options differed from the loop's defaults, so a
reader could not tell from the defaults what produced a result. A preset is data: flat loop
settings (`loop_config.flat_settings` names), what it is for and which result it reproduces.
Options given on the command line override a preset's values (`build_config`), so a variant of
a published loop is the preset plus the one option that differs. docs/presets.md lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fil_learn.games import game_key
from fil_learn.loop_config import GUIDE_PRIOR, LoopConfig


@dataclass(frozen=True)
class Preset:
    """One published recipe: the loop settings that differ from the loop's defaults."""

    purpose: str
    """What the loop is for, in a line."""
    reproduces: str
    """The published result it reproduces (a results/ folder and its headline number)."""
    settings: Mapping[str, Any]
    """Flat loop settings; every other setting keeps the loop's default."""
    publish: str | None = None
    """The results/ folder the loop copies its record and best policy into after every round
    (`fil-learn loop --publish`), for recipes that span sessions; None: runs/ only. Here and in
    the settings, `{game}` stands for the game the loop plays (`game_key`), so a recipe given
    another `--game` reads and writes that game's files."""


def _frozen(**settings: Any) -> Mapping[str, Any]:
    return MappingProxyType(settings)


DAGGER_VALUE = _frozen(
    mode="dagger", rule="value", walkers=16, swarm_epochs=600, epochs=3, eval_episodes=10,
    state_every=4, label_walkers=4, label_epochs=10, final_episodes=30, workers=1,
    keep_demos=False,
)  # fmt: skip
"""DAgger with value relabelling, as every relabelling result since 2026-11-24 ran it: 4-walker,
10-epoch label swarms, one per first action, 3 epochs of fine-tuning on the relabelled states
alone (the demonstrations dropped), one worker so that two loops share a 2-core machine."""

TRUSTING_EXIT = _frozen(
    mode="exit", target="visits", policy_temperature=0.5, policy_epsilon=0.2, episodes=8,
    walkers=16, swarm_epochs=600, epochs=4, batch_size=128, eval_episodes=10, final_episodes=30,
    baseline_episodes=3, workers=2,
)  # fmt: skip
"""Expert iteration whose swarm trusts the policy (temperature 0.5, 20% uniform draws), fitted
on the swarm's visit shares: the best of the SpaceInvaders expert-iteration settings."""

ONE_FRAME_EXIT = _frozen(
    mode="exit", episodes=30, walkers=16, swarm_epochs=600, policy_temperature=0.25,
    policy_epsilon=0.1, window=1, keep_demos=False, fresh=True, candidates=3, model="tiny",
    history=1, batch_size=256, epochs=6, keep="last", eval_episodes=30, final_episodes=30,
    baseline_episodes=3, workers=2,
)  # fmt: skip
"""Expert iteration as the one-frame rounds of 2026-12-04 ran it by hand: the swarm trusts its
guide (temperature 0.25, 10% uniform draws), and every round new tiny networks that see the
current screen alone clone that round's guided episodes only (6 epochs, the last kept; a
network that sees the frame stack learns to repeat the action it shows). Three fit seeds a
round, the best on the round evaluation kept: fits of one round's data scored 407.5 and 721.3
(and fine-tuning the guide instead, 473.5); results/journal 2026-12-04-5."""

FROM_BEST = _frozen(
    **ONE_FRAME_EXIT,
    game="SpaceInvaders",
    rounds=2,
    seed=0,
    start="results/best/{game}.onnx",
    candidate_histories=(1, 4),
)
"""One round of `ONE_FRAME_EXIT` from a game's leaderboard policy, fits at one frame and at
four (`exit-from-best` and its variants)."""

BC_32_DEMOS = _frozen(
    mode="bc", rounds=1, episodes=32, walkers=16, swarm_epochs=600, epochs=8, target="visits",
    final_episodes=30, workers=2,
)  # fmt: skip
"""Plain behaviour cloning of 32 swarm demonstrations on their visit shares, one fit."""

PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        "atlantis-dagger": Preset(
            purpose="DAgger value relabelling on Atlantis, each round playing its last epoch",
            reproduces="results/atlantis-dagger-value-keeplast: round 8 98,876.7 ± 7,204.6 under "
            "v5, from 17,453.3 at round 0 (sixth session; other seeds and machines score "
            "lower, seventh session)",
            settings=_frozen(
                **DAGGER_VALUE,
                game="Atlantis",
                rounds=9,
                episodes=24,
                seed=7,
                max_labels=80,
                keep="last",
            ),
        ),
        "atlantis-dagger-keepbest": Preset(
            purpose="the same loop, each round playing its fit's best validation epoch",
            reproduces="results/atlantis-dagger-value-long: round 11 79,620.0 ± 5,801.4 under "
            "v5 (fifth session)",
            settings=_frozen(
                **DAGGER_VALUE, game="Atlantis", rounds=12, episodes=24, seed=7, max_labels=80
            ),
        ),
        "spaceinvaders-dagger-guided": Preset(
            purpose="DAgger value relabelling on SpaceInvaders, label swarms guided by the "
            "policy whose states they label",
            reproduces="results/spaceinvaders-dagger-guided: round 3 371.7 ± 53.2 under v5, "
            "from 231.0 at round 0 (fifth session)",
            settings=_frozen(
                **DAGGER_VALUE,
                game="SpaceInvaders",
                rounds=5,
                episodes=32,
                seed=0,
                target="visits",
                max_labels=60,
                guided_relabel=True,
            ),
        ),
        "spaceinvaders-exit": Preset(
            purpose="expert iteration on SpaceInvaders with a trusting guide, on visit shares",
            reproduces="results/spaceinvaders-exit-visits-trust: round 3 468.3 ± 35.2 under v5, "
            "from 290.2 at round 0 (second session; recorded before fixed round seeds "
            "existed, so it plays per-round seeds as that loop did)",
            settings=_frozen(
                **TRUSTING_EXIT, game="SpaceInvaders", rounds=7, seed=0, round_seeds="per-round"
            ),
        ),
        "spaceinvaders-exit-1frame": Preset(
            purpose="expert iteration at one frame from plain swarm demonstrations: each "
            "round, 30 swarm episodes guided by the best policy so far, cloned by three new "
            "one-frame tiny networks, the best kept",
            reproduces="results/spaceinvaders-exit-1frame (a recipe that spans sessions: "
            "rerun it to play the next round)",
            settings=_frozen(**ONE_FRAME_EXIT, game="SpaceInvaders", rounds=8, seed=0),
            publish="results/spaceinvaders-exit-1frame",
        ),
        "spaceinvaders-exit-1frame-continued": Preset(
            purpose="the same rounds continued from the policy of the first hand-made round "
            "(633.8 under v5), committed and pinned beside the guided curve",
            reproduces="results/spaceinvaders-exit-1frame-continued (spans sessions): round 2 "
            "806.7 ± 57.1 under v5 on seeds 10000-10029 (839.2 on the round seeds); fit seed 9 "
            "on its round-2 data is the leaderboard policy, 1,005.7 (results/journal "
            "2026-12-04-5, 2026-12-05-1)",
            settings=_frozen(
                **ONE_FRAME_EXIT,
                game="SpaceInvaders",
                rounds=8,
                seed=0,
                start="results/spaceinvaders-guided-scaling/guide.onnx",
            ),
            publish="results/spaceinvaders-exit-1frame-continued",
        ),
        "exit-from-best": Preset(
            purpose="one expert-iteration round from a game's leaderboard policy: 30 swarm "
            "episodes guided by it, cloned by fresh tiny networks of three fit seeds at one "
            "frame and at four, the best on the round evaluation kept (any game with a "
            "leaderboard policy: --game G)",
            reproduces="results/spaceinvaders-exit-from-best and results/atlantis-exit-from-"
            "best (results/journal 2026-12-05-3)",
            settings=FROM_BEST,
            publish="results/{game}-exit-from-best",
        ),
        "exit-from-best-prior": Preset(
            purpose="one expert-iteration round from a game's leaderboard policy whose fits "
            "take the guide as their target's prior (`--target improved --prior guide`): the "
            "guide's policy, moved where its guided swarm's values differ, instead of the "
            "swarm's draws; guide at temperature 0.1, fresh tiny networks of three fit seeds at "
            "one frame and at four, the best on the round evaluation kept (any game: --game G)",
            reproduces="results/atlantis-exit-from-best-prior: 90,490.0 ± 6,568.3 under v5 on "
            "seeds 10000-10029 (round 1; Nature DQN 85,950), and "
            "results/spaceinvaders-exit-from-best-prior (results/journal 2026-12-05-7)",
            settings=_frozen(
                **{**FROM_BEST, "policy_temperature": 0.1}, target="improved", prior=GUIDE_PRIOR
            ),
            publish="results/{game}-exit-from-best-prior",
        ),
        "student": Preset(
            purpose="the students table's recipe (bench/student_table.py): three rounds of "
            "expert iteration from plain swarm demonstrations, the guide at temperature 0.1, "
            "every fit a fixed 300,000 samples, fresh tiny networks of three fit seeds at one "
            "frame and at four, the best on the round evaluation kept (any game: --game G)",
            reproduces="results/students/ (one row per held-in game, at one budget)",
            settings=_frozen(
                **{
                    **ONE_FRAME_EXIT,
                    "policy_temperature": 0.1,  # kept students 808.2 and 727.5 against 614.2
                    # and 632.2 at 0.25 (two seeds; results/journal 2026-12-05-5)
                },
                game="SpaceInvaders",
                rounds=3,
                seed=0,
                fit_samples=300_000,
                candidate_histories=(1, 4),
            ),
            publish="results/students/{game}",
        ),
        "spaceinvaders-bc": Preset(
            purpose="plain behaviour cloning on SpaceInvaders, one fit of 32 demonstrations "
            "(variants: --equivalent, --shift 4, --compared-only, --keep last)",
            reproduces="results/spaceinvaders-bc-32demos: 303.0 ± 4.3 under v5 (final-v5.json; "
            "the loop also plays a 10-episode round evaluation and the baselines)",
            settings=_frozen(**BC_32_DEMOS, game="SpaceInvaders", seed=0),
        ),
        "atlantis-bc": Preset(
            purpose="behaviour cloning on Atlantis, a second round with 16 more demonstrations",
            reproduces="results/atlantis-bc: round 0 23,940.0 ± 1,420.7 under v5, round 1 "
            "20,296.7 (first session, the reference for relabelling; per-round seeds as played)",
            settings=_frozen(
                game="Atlantis",
                mode="bc",
                rounds=2,
                episodes=16,
                walkers=16,
                epochs=3,
                final_episodes=30,
                workers=2,
                seed=0,
                round_seeds="per-round",
            ),
        ),
    }
)


def preset_settings(name: str) -> Mapping[str, Any]:
    """A preset's settings by name; an unknown name is refused with the names there are."""
    if name not in PRESETS:
        raise ValueError(f"--preset must be one of {', '.join(PRESETS)}, got {name!r}")
    return PRESETS[name].settings


def for_game(value: Any, game: str) -> Any:
    """A preset's text for the game a loop plays: `{game}` becomes its key (spaceinvaders)."""
    return value.replace("{game}", game_key(game)) if isinstance(value, str) else value


def _own_game(name: str, game: str) -> bool:
    """Whether `game` is the one preset `name` was written for (any, for a preset without)."""
    return game_key(PRESETS[name].settings.get("game", game)) == game_key(game)


def preset_publish(name: str | None, game: str) -> Path | None:
    """Where a preset's loop of `game` publishes its rounds: None without a preset or a
    folder, and for another game than the preset's when the folder does not name `{game}` (it
    holds the preset's own game's record; `--publish` still says where)."""
    if name not in PRESETS or PRESETS[name].publish is None:
        return None
    folder = PRESETS[name].publish
    if "{game}" not in folder and not _own_game(name, game):
        return None
    return Path(for_game(folder, game))


def build_config(preset: str | None, given: Mapping[str, Any]) -> LoopConfig:
    """The loop a preset and the options given on the command line describe: the given
    options win, the preset fills in the rest, the loop's defaults everything else. A preset's
    loop works in runs/NAME unless --workdir says otherwise, or runs/NAME-GAME when --game is
    not the preset's own game (two games never share a folder)."""
    values = {**(preset_settings(preset) if preset else {}), **given}
    game = values.pop("game", None)
    if not game:
        raise ValueError("--game is required (or a --preset that names the game)")
    values = {name: for_game(value, game) for name, value in values.items()}
    workdir = values.pop("workdir", None)
    if workdir is None and preset:
        own = _own_game(preset, game)
        workdir = Path("runs") / (preset if own else f"{preset}-{game_key(game)}")
    return LoopConfig.from_settings(game, workdir, **values)
