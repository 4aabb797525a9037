"""Spending a frame budget the game left unspent: the same episode searched again, wider.

Some games end on their own long before the swarm's frame budget: a clock (FishingDerby,
Freeway) or a finish line. There, every walker reaches game over together and the rest of the
budget is never used. FishingDerby's 64 walkers ended the game 0.52M frames into a 2M budget,
losing by 11. The same episode searched again by 128 walkers on the 1.48M frames left won by 1,
above DQN's -0.8 (seed 0 in `results/swarm/atari57.jsonl`; journal 2026-12-05-1). A wider swarm
is the one lever that needs no knowledge of the game: more walkers hold more alternatives at
every step.

The rule (`SwarmConfig.widen`): when a search ends because every walker reached game over and
the frames left could pay for the same game at least twice over (with a `MARGIN`), search again
from the same start state with the walkers multiplied by floor(`MARGIN` x frames left / frames
spent), at most `MAX_FACTOR`, on the frames left. Repeat while that holds. An attempt replaces
the demonstration only if it also ended the game and scored more: a search the budget cut
short is not compared with a finished game, since a game that charges at its end (Skiing's
missed gates) would look better unfinished.

Only a budget of frames alone is widened (no epoch or time limit): that is the budget a user
sets per episode, and its unspent part is the waste. Games whose search the budget ends
(SpaceInvaders, Atlantis) never end "all walkers dead" first and are searched exactly as before.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from ale_py import ALEState

from fil_collect.env import AtariEmulator
from fil_collect.guide import PolicyGuide
from fil_collect.swarm import ProgressFn, Swarm, SwarmConfig, SwarmResult

MARGIN = 0.8
"""Share of the frames left a wider search is sized to need for a game as long as the last:
a closer game lasts longer. FishingDerby's seed 1 ended at 0.46M frames; 3x the walkers on the
1.54M left led by 13 when the budget cut it, unfinished, so its -25 stood; 2x fits."""
MAX_FACTOR = 4
"""Most the walkers grow in one widening: a game that ends within 2% of the budget would
otherwise ask for 50 times the walkers (and their emulators' memory) at once."""
GAME_OVER = "all walkers dead"


@dataclass(frozen=True)
class Attempt:
    """One search of the episode: its walkers, frames, score and why it stopped."""

    walkers: int
    emulator_frames: int
    score: float
    stop_reason: str


def widening_factor(config: SwarmConfig, stop_reason: str, frames: int, frames_left: int) -> int:
    """How many times wider the search after one of `config` that stopped for `stop_reason`
    having spent `frames` is (0: none), with `frames_left` of the budget: the module's rule."""
    if not config.widen or stop_reason != GAME_OVER:
        return 0
    if config.max_frames is None or config.max_epochs is not None or config.max_minutes:
        return 0
    factor = min(MAX_FACTOR, int(MARGIN * frames_left // max(frames, 1)))
    return factor if factor >= 2 else 0


def wider(
    config: SwarmConfig, current: SwarmConfig, stop_reason: str, frames: int, spent: int
) -> SwarmConfig | None:
    """The settings of the search after one of `current` that stopped for `stop_reason` having
    spent `frames`, when `spent` frames of `config`'s budget are gone (None: no more search)."""
    left = (config.max_frames or 0) - spent
    factor = widening_factor(current, stop_reason, frames, left)
    if not factor:
        return None
    return dataclasses.replace(current, n_walkers=current.n_walkers * factor, max_frames=left)


def follows_rule(config: SwarmConfig, attempts: list[dict[str, Any]]) -> bool:
    """Whether an episode's recorded searches (`Attempt`s as dicts) are those today's rule
    makes for `config`: a record made under another rule must be searched again."""
    current: SwarmConfig | None = config
    spent = 0
    for attempt in attempts:
        if current is None or attempt["walkers"] != current.n_walkers:
            return False
        spent += attempt["emulator_frames"]
        current = wider(config, current, attempt["stop_reason"], attempt["emulator_frames"], spent)
    return current is None


def better(challenger: SwarmResult, kept: SwarmResult) -> bool:
    """A wider attempt replaces the kept one only if it also finished the game, higher."""
    return challenger.stop_reason == GAME_OVER and challenger.score > kept.score


@dataclass(frozen=True)
class EpisodeSearch:
    """The kept search (its `emulator_frames` are every attempt's) and all the attempts."""

    result: SwarmResult
    attempts: list[Attempt]
    kept: int
    """Index in `attempts` of the search whose demonstration is `result`."""

    def attrs(self) -> dict[str, Any]:
        """Episode attributes of a widened search (none for one attempt): every attempt in
        order, and which one the demonstration comes from."""
        if len(self.attempts) < 2:
            return {}
        return {
            "swarm_attempts": json.dumps([asdict(attempt) for attempt in self.attempts]),
            "swarm_kept_attempt": self.kept,
        }


def search_episode(
    make_emulators: Callable[[int], list[AtariEmulator]],
    config: SwarmConfig,
    seed: int,
    root: ALEState,
    progress: ProgressFn | None = None,
    guide: PolicyGuide | None = None,
) -> EpisodeSearch:
    """The episode's best search, widened while the game leaves its budget unspent.
    `make_emulators(n)` gives n fresh emulators on the episode's seed, so each attempt starts
    from the real start screen; each attempt's random draws start from `seed` again."""
    attempt_config, results, attempts, spent = config, [], [], 0
    while True:
        swarm = Swarm(
            make_emulators(attempt_config.n_walkers),
            attempt_config,
            np.random.default_rng(seed),
            guide,
        )
        result = swarm.run(root, progress)
        spent += result.emulator_frames
        results.append(result)
        attempts.append(
            Attempt(
                attempt_config.n_walkers, result.emulator_frames, result.score, result.stop_reason
            )
        )
        following = wider(config, attempt_config, result.stop_reason, result.emulator_frames, spent)
        if following is None:
            break
        attempt_config = following
    kept = 0
    for index, candidate in enumerate(results[1:], start=1):
        if better(candidate, results[kept]):
            kept = index
    return EpisodeSearch(dataclasses.replace(results[kept], emulator_frames=spent), attempts, kept)
