"""fil-learn: imitation learning on fil demonstration datasets.

The public API, imported lazily so that `import fil_learn` does not start JAX:

    policy = fil_learn.load_policy("runs/si")        # a run folder or an .onnx file
    action = policy.act(observation)                  # (4, 84, 84) uint8, FrameStackObservation's
    logits = policy.logits(observations)              # (N, 4, 84, 84) uint8 -> (N, n_actions)
    with fil_learn.open_dataset("ds.h5") as dataset:  # a fil dataset, episode by episode
        for episode in dataset: episode.observations, episode.actions, episode.rewards
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Dataset", "Episode", "Policy", "__version__", "load_policy", "open_dataset"]

if TYPE_CHECKING:
    from fil_learn.data import Dataset, Episode, open_dataset
    from fil_learn.policy import Policy, load_policy

_LAZY = {
    "Dataset": "fil_learn.data",
    "Episode": "fil_learn.data",
    "open_dataset": "fil_learn.data",
    "Policy": "fil_learn.policy",
    "load_policy": "fil_learn.policy",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'fil_learn' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
