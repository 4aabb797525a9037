"""Published reference scores for the standard Atari-57 set, one row per game.

The names are fil's (`fil_collect.games.resolve_game(name).name`). Every number was read from
the source named beside it; None where no stored source was found (the table then shows "—").
`bench/swarm_scores.py --atari57` puts these beside the swarm's scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from fil_learn.games import reference_scores

NATURE = "Nature DQN"
ZOO = "DQN Zoo DQN"
GO_EXPLORE_SOURCE = "Ecoffet et al. 2021, Nature, 'First return, then explore'"


@dataclass(frozen=True)
class Reference:
    """One game's references. Random and human come from the project's one table,
    `fil_learn.games.REFERENCE_SCORES` (the standard Atari-57 numbers; they agree with
    google-deepmind/dqn_zoo, dqn_zoo/atari_data.py, commit 359945dc)."""

    random: float
    human: float
    dqn: float | None
    dqn_source: str | None
    go_explore: float | None = None


# Nature DQN, no-op starts (Mnih et al. 2015, Extended Data Table 2, 49 games), as copied in
# seungjaeryanlee/rldb, rldb/db/paper__dqn/algo__dqn/entries.py (commit 1f608c8f). Atlantis:
# that copy says 85,641; the no-op DQN column of the Double DQN paper as copied in the same
# repository (rldb/db/paper__deep_reinforcement_learning_with_double_q_learning/algo__dqn2015/
# entries.py, commit 06d3bca1) says 85,950.00, the number this project has used since
# 2026-11-30: kept, the two copies disagree.
_NATURE_DQN: dict[str, float] = {
    "Alien": 3069.0,
    "Amidar": 739.5,
    "Assault": 3359.0,
    "Asterix": 6012.0,
    "Asteroids": 1629.0,
    "Atlantis": 85950.0,
    "BankHeist": 429.7,
    "BattleZone": 26300.0,
    "BeamRider": 6846.0,
    "Bowling": 42.4,
    "Boxing": 71.8,
    "Breakout": 401.2,
    "Centipede": 8309.0,
    "ChopperCommand": 6687.0,
    "CrazyClimber": 114103.0,
    "DemonAttack": 9711.0,
    "DoubleDunk": -18.1,
    "Enduro": 301.8,
    "FishingDerby": -0.8,
    "Freeway": 30.3,
    "Frostbite": 328.3,
    "Gopher": 8520.0,
    "Gravitar": 306.7,
    "Hero": 19950.0,
    "IceHockey": -1.6,
    "Jamesbond": 576.7,
    "Kangaroo": 6740.0,
    "Krull": 3805.0,
    "KungFuMaster": 23270.0,
    "MontezumaRevenge": 0.0,
    "MsPacman": 2311.0,
    "NameThisGame": 7257.0,
    "Pong": 18.9,
    "PrivateEye": 1788.0,
    "Qbert": 10596.0,
    "Riverraid": 8316.0,
    "RoadRunner": 18257.0,
    "Robotank": 51.6,
    "Seaquest": 5286.0,
    "SpaceInvaders": 1976.0,
    "StarGunner": 57997.0,
    "Tennis": -2.5,
    "TimePilot": 5947.0,
    "Tutankham": 186.7,
    "UpNDown": 8456.0,
    "Venture": 380.0,
    "VideoPinball": 42684.0,
    "WizardOfWor": 3393.0,
    "Zaxxon": 4977.0,
}

# DQN Zoo's own DQN (google-deepmind/dqn_zoo) for the 8 games Nature does not list: its
# per-game results are not in the stored copy of the repository (only the code and a summary
# plot), so these stay None until a source is found.
_ZOO_DQN: dict[str, float | None] = {
    "Berzerk": None,
    "Defender": None,
    "Phoenix": None,
    "Pitfall": None,
    "Skiing": None,
    "Solaris": None,
    "Surround": None,
    "YarsRevenge": None,
}

# Go-Explore on the hard-exploration games (Ecoffet et al. 2021, Nature, "First return, then
# explore"): the paper's table was not found in a stored source (the uber-research/go-explore
# READMEs give no scores), so None: the column names the source and shows "—".
HARD_EXPLORATION: dict[str, float | None] = {
    "MontezumaRevenge": None,
    "Pitfall": None,
    "PrivateEye": None,
    "Venture": None,
    "Gravitar": None,
    "Solaris": None,
}


def _reference(game: str) -> Reference:
    found = reference_scores(game)
    assert found is not None, f"fil_learn.games has no random and human scores for {game}"
    random, human = found
    if game in _NATURE_DQN:
        dqn, source = _NATURE_DQN[game], NATURE
    else:
        dqn, source = _ZOO_DQN[game], ZOO
    return Reference(random, human, dqn, source, HARD_EXPLORATION.get(game))


ATARI57: dict[str, Reference] = {game: _reference(game) for game in sorted(_NATURE_DQN | _ZOO_DQN)}
