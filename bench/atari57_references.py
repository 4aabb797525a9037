"""Published reference scores for the standard Atari-57 set, one row per game.

The names are fil's (`fil_collect.games.resolve_game(name).name`). Every number was read from
the source named beside it; None where no stored source was found (the table then shows "—").
`bench/swarm_scores.py --atari57` puts these beside the swarm's scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from fil_learn.games import reference_scores

NATURE = "Nature DQN"
C51_DQN = "DQN, C51 paper"
GO_EXPLORE_SOURCE = "Ecoffet et al. 2021, Nature, 'First return, then explore'"


HELD_IN = [
    "SpaceInvaders", "Atlantis", "Breakout", "Seaquest", "Enduro",
    "MsPacman", "Qbert", "Pong", "Skiing",
]  # fmt: skip
"""The nine games the swarm's defaults were chosen on (bench/swarm_scores.py) and every
held-in table is made over (bench/student_table.py): kept here, beside their references, so a
table that needs no emulator imports them without fil-collect."""


@dataclass(frozen=True)
class Reference:
    """One game's references. Random and human come from the project's one table,
    `fil_learn.games.REFERENCE_SCORES` (the standard Atari-57 numbers; they agree with
    google-deepmind/dqn_zoo, dqn_zoo/atari_data.py, commit 359945dc)."""

    random: float
    human: float
    dqn: float
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

# The 8 games Nature does not list: DQN Zoo's own per-game results are not in any stored copy
# of google-deepmind/dqn_zoo (only its code and a summary plot), so these are the DQN column,
# no-op starts, of Bellemare, Dabney and Munos 2017 ("A distributional perspective on
# reinforcement learning", the C51 paper), which lists all 57 games; as copied in
# seungjaeryanlee/rldb, rldb/db/paper__c51/algo__dqn/entries.py (commit 243a8fb9).
_C51_PAPER_DQN: dict[str, float] = {
    "Berzerk": 585.6,
    "Defender": 23633.0,
    "Phoenix": 8485.2,
    "Pitfall": -286.1,
    "Skiing": -13062.3,
    "Solaris": 3482.8,
    "Surround": -5.6,
    "YarsRevenge": 18098.9,
}

# Go-Explore on the hard-exploration games (Ecoffet et al. 2021, Nature, "First return, then
# explore"): the paper's table is in no stored source (the uber-research/go-explore READMEs and
# seungjaeryanlee/rldb hold no scores). MontezumaRevenge's 43,791 is the paper's figure as
# quoted in reinforcement-learning-kr/rl-montezuma issue #2 ("Add Go-explore to the list"); the
# other games stay None (the column names the source and shows "—").
HARD_EXPLORATION: dict[str, float | None] = {
    "MontezumaRevenge": 43791.0,
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
        dqn, source = _C51_PAPER_DQN[game], C51_DQN
    return Reference(random, human, dqn, source, HARD_EXPLORATION.get(game))


ATARI57: dict[str, Reference] = {
    game: _reference(game) for game in sorted(_NATURE_DQN | _C51_PAPER_DQN)
}
