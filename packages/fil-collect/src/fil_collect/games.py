"""Game names as users type them, mapped to the ALE ROM ids that ship inside the ale-py wheel.

Users write `SpaceInvaders`, `space_invaders` or `ALE/SpaceInvaders-v5`; all of them mean the
ROM `space_invaders`. Old Gym ids (`SpaceInvadersNoFrameskip-v4`, `-Deterministic`, `-ram`,
`-v0`) name other emulator settings than the v5 ones fil collects with, so they are refused
with a line that says which name to use instead of being silently read as v5. Resolving names
in one place keeps the CLI, the dataset attributes and the error messages consistent.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache

from ale_py import roms

_GYM_DECORATIONS = re.compile(r"(NoFrameskip|Deterministic)?(-ram)?(-v\d+)?$")


@dataclass(frozen=True)
class Game:
    """A resolved game: the ROM id ALE loads and the names other tools use for it."""

    rom: str

    @property
    def name(self) -> str:
        """CamelCase name, as in Gymnasium ids (`space_invaders` -> `SpaceInvaders`)."""
        return self.rom.title().replace("_", "")

    @property
    def env_id(self) -> str:
        """The Gymnasium id a policy trained on this game is evaluated on."""
        return f"ALE/{self.name}-v5"


@cache
def available_roms() -> tuple[str, ...]:
    """Every ROM id the installed ale-py ships."""
    return tuple(sorted(roms.get_all_rom_ids()))


def name_key(text: str) -> str:
    """A spelling-independent game name: `SpaceInvaders`, `space_invaders` -> `spaceinvaders`."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def resolve_game(text: str) -> Game:
    """Map a user's game name to a Game, or raise ValueError naming the closest valid names."""
    stripped = text.strip()
    if stripped.startswith("ALE/"):
        stripped = stripped[4:]
    decoration = _GYM_DECORATIONS.search(stripped)
    if decoration is not None and decoration.group(0) not in ("", "-v5"):
        bare = stripped[: decoration.start()]
        raise ValueError(
            f"{text!r} is a Gym id with other emulator settings than fil's: fil collects with "
            f"the ALE v5 settings without sticky actions (--frameskip sets the frames per step): "
            f"use --game {bare}"
        )
    stripped = _GYM_DECORATIONS.sub("", stripped)
    by_key = {name_key(rom): rom for rom in available_roms()}
    rom = by_key.get(name_key(stripped))
    if rom is not None:
        return Game(rom)
    names = [Game(r).name for r in available_roms()]
    close = difflib.get_close_matches(stripped, names, n=5, cutoff=0.5)
    close += [
        n
        for n in names
        if name_key(stripped) and name_key(stripped) in name_key(n) and n not in close
    ]
    hint = (
        f"did you mean {', '.join(close[:5])}?" if close else "run `fil-collect games` for the list"
    )
    raise ValueError(f"unknown game {text!r}: {hint}")
