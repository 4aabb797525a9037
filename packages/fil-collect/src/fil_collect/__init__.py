"""fil-collect: FMC swarm demonstrations for Atari."""

__version__ = "0.1.0"
