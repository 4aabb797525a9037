"""Published reference scores for the standard Atari-57 set, one row per game.

The names are fil's (`fil_collect.games.resolve_game(name).name`). Every number was read from
the source named beside it; None where no stored source was found (the table then shows "—").
`bench/swarm_scores.py --atari57` puts these beside the swarm's scores.
"""

from __future__ import annotations

from dataclasses import dataclass

NATURE = "Nature DQN"
ZOO = "DQN Zoo DQN"
GO_EXPLORE_SOURCE = "Ecoffet et al. 2021, Nature, 'First return, then explore'"


@dataclass(frozen=True)
class Reference:
    random: float
    human: float
    dqn: float | None
    dqn_source: str | None
    go_explore: float | None = None


# Random and human scores of the 57 games (no-op starts, up to 30 no-ops, episodes capped at
# 108,000 frames): google-deepmind/dqn_zoo, dqn_zoo/atari_data.py (_ATARI_DATA), commit
# 359945dcb6f6a04f16e380b210c4f22b57681905. Keys are (random, human).
_RANDOM_HUMAN: dict[str, tuple[float, float]] = {
    "Alien": (227.8, 7127.7),
    "Amidar": (5.8, 1719.5),
    "Assault": (222.4, 742.0),
    "Asterix": (210.0, 8503.3),
    "Asteroids": (719.1, 47388.7),
    "Atlantis": (12850.0, 29028.1),
    "BankHeist": (14.2, 753.1),
    "BattleZone": (2360.0, 37187.5),
    "BeamRider": (363.9, 16926.5),
    "Berzerk": (123.7, 2630.4),
    "Bowling": (23.1, 160.7),
    "Boxing": (0.1, 12.1),
    "Breakout": (1.7, 30.5),
    "Centipede": (2090.9, 12017.0),
    "ChopperCommand": (811.0, 7387.8),
    "CrazyClimber": (10780.5, 35829.4),
    "Defender": (2874.5, 18688.9),
    "DemonAttack": (152.1, 1971.0),
    "DoubleDunk": (-18.6, -16.4),
    "Enduro": (0.0, 860.5),
    "FishingDerby": (-91.7, -38.7),
    "Freeway": (0.0, 29.6),
    "Frostbite": (65.2, 4334.7),
    "Gopher": (257.6, 2412.5),
    "Gravitar": (173.0, 3351.4),
    "Hero": (1027.0, 30826.4),
    "IceHockey": (-11.2, 0.9),
    "Jamesbond": (29.0, 302.8),
    "Kangaroo": (52.0, 3035.0),
    "Krull": (1598.0, 2665.5),
    "KungFuMaster": (258.5, 22736.3),
    "MontezumaRevenge": (0.0, 4753.3),
    "MsPacman": (307.3, 6951.6),
    "NameThisGame": (2292.3, 8049.0),
    "Phoenix": (761.4, 7242.6),
    "Pitfall": (-229.4, 6463.7),
    "Pong": (-20.7, 14.6),
    "PrivateEye": (24.9, 69571.3),
    "Qbert": (163.9, 13455.0),
    "Riverraid": (1338.5, 17118.0),
    "RoadRunner": (11.5, 7845.0),
    "Robotank": (2.2, 11.9),
    "Seaquest": (68.4, 42054.7),
    "Skiing": (-17098.1, -4336.9),
    "Solaris": (1236.3, 12326.7),
    "SpaceInvaders": (148.0, 1668.7),
    "StarGunner": (664.0, 10250.0),
    "Surround": (-10.0, 6.5),
    "Tennis": (-23.8, -8.3),
    "TimePilot": (3568.0, 5229.2),
    "Tutankham": (11.4, 167.6),
    "UpNDown": (533.4, 11693.2),
    "Venture": (0.0, 1187.5),
    "VideoPinball": (16256.9, 17667.9),
    "WizardOfWor": (563.5, 4756.5),
    "YarsRevenge": (3092.9, 54576.9),
    "Zaxxon": (32.5, 9173.3),
}

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
    random, human = _RANDOM_HUMAN[game]
    if game in _NATURE_DQN:
        dqn, source = _NATURE_DQN[game], NATURE
    else:
        dqn, source = _ZOO_DQN[game], ZOO
    return Reference(random, human, dqn, source, HARD_EXPLORATION.get(game))


ATARI57: dict[str, Reference] = {game: _reference(game) for game in _RANDOM_HUMAN}
