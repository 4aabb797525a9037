"""Game names as users type them, and the reference scores that human-normalize a result.

fil-learn must not need ale-py to train, so names are compared in a normalized form
(`ALE/SpaceInvaders-v5`, `SpaceInvaders` and `space_invaders` all become `spaceinvaders`).
"""

from __future__ import annotations

import re

# (random, human) scores of the standard Atari-57 table used from Wang et al. 2016 (dueling
# networks) through Rainbow and Agent57, keyed by ALE ROM id: all 57 games.
REFERENCE_SCORES: dict[str, tuple[float, float]] = {
    "alien": (227.8, 7127.7),
    "amidar": (5.8, 1719.5),
    "assault": (222.4, 742.0),
    "asterix": (210.0, 8503.3),
    "asteroids": (719.1, 47388.7),
    "atlantis": (12850.0, 29028.1),
    "bank_heist": (14.2, 753.1),
    "battle_zone": (2360.0, 37187.5),
    "beam_rider": (363.9, 16926.5),
    "berzerk": (123.7, 2630.4),
    "bowling": (23.1, 160.7),
    "boxing": (0.1, 12.1),
    "breakout": (1.7, 30.5),
    "centipede": (2090.9, 12017.0),
    "chopper_command": (811.0, 7387.8),
    "crazy_climber": (10780.5, 35829.4),
    "defender": (2874.5, 18688.9),
    "demon_attack": (152.1, 1971.0),
    "double_dunk": (-18.6, -16.4),
    "enduro": (0.0, 860.5),
    "fishing_derby": (-91.7, -38.7),
    "freeway": (0.0, 29.6),
    "frostbite": (65.2, 4334.7),
    "gopher": (257.6, 2412.5),
    "gravitar": (173.0, 3351.4),
    "hero": (1027.0, 30826.4),
    "ice_hockey": (-11.2, 0.9),
    "jamesbond": (29.0, 302.8),
    "kangaroo": (52.0, 3035.0),
    "krull": (1598.0, 2665.5),
    "kung_fu_master": (258.5, 22736.3),
    "montezuma_revenge": (0.0, 4753.3),
    "ms_pacman": (307.3, 6951.6),
    "name_this_game": (2292.3, 8049.0),
    "phoenix": (761.4, 7242.6),
    "pitfall": (-229.4, 6463.7),
    "pong": (-20.7, 14.6),
    "private_eye": (24.9, 69571.3),
    "qbert": (163.9, 13455.0),
    "riverraid": (1338.5, 17118.0),
    "road_runner": (11.5, 7845.0),
    "robotank": (2.2, 11.9),
    "seaquest": (68.4, 42054.7),
    "skiing": (-17098.1, -4336.9),
    "solaris": (1236.3, 12326.7),
    "space_invaders": (148.0, 1668.7),
    "star_gunner": (664.0, 10250.0),
    "surround": (-10.0, 6.5),
    "tennis": (-23.8, -8.3),
    "time_pilot": (3568.0, 5229.2),
    "tutankham": (11.4, 167.6),
    "up_n_down": (533.4, 11693.2),
    "venture": (0.0, 1187.5),
    "video_pinball": (0.0, 17667.9),
    "wizard_of_wor": (563.5, 4756.5),
    "yars_revenge": (3092.9, 54576.9),
    "zaxxon": (32.5, 9173.3),
}

_DECORATIONS = re.compile(r"(NoFrameskip|Deterministic)?(-ram)?(-v\d+)?$")


def game_key(text: str) -> str:
    """A spelling-independent key: `ALE/SpaceInvaders-v5` -> `spaceinvaders`."""
    name = text.strip()
    if name.startswith("ALE/"):
        name = name[4:]
    return re.sub(r"[^a-z0-9]", "", _DECORATIONS.sub("", name).lower())


def same_game(a: str, b: str) -> bool:
    return game_key(a) == game_key(b)


def check_v5_name(text: str) -> None:
    """Refuse old Gym ids (`NoFrameskip-v4`, `-v0`, `-ram`): they name other emulator settings
    than the `ALE/<Game>-v5` ones every protocol plays, and must not pass for them silently."""
    decoration = _DECORATIONS.search(text.strip())
    if decoration is not None and decoration.group(0) not in ("", "-v5"):
        bare = text.strip()[: decoration.start()].removeprefix("ALE/")
        raise ValueError(
            f"--game {text} is a Gym id with other emulator settings: fil-learn plays "
            f"ALE/<Game>-v5 (--protocol v5 or noop30 sets the rest): use --game {bare}"
        )


def reference_scores(game: str) -> tuple[float, float] | None:
    """(random, human) for the game, or None when the literature has none."""
    key = game_key(game)
    for rom, scores in REFERENCE_SCORES.items():
        if rom.replace("_", "") == key:
            return scores
    return None


def human_normalized(score: float, game: str) -> float | None:
    """100 x (score - random) / (human - random), the DQN literature's yardstick."""
    scores = reference_scores(game)
    if scores is None:
        return None
    random_score, human_score = scores
    return 100.0 * (score - random_score) / (human_score - random_score)
