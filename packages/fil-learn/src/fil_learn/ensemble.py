"""Several policies of one game as one ONNX policy (`fil-learn ensemble`): the mean of their
action log-probabilities.

Why: fits that differ only by their seed land far apart on the same data. On SpaceInvaders the
three fits of one loop round scored 603, 839 and 641 (journal 2026-12-04-6), so keeping the best
on the round seeds is a lottery whose ticket is drawn on those seeds. Averaging the members'
log-probabilities (a normalised geometric mean of their distributions) is the usual remedy for
that variance, and it chooses nothing, so no evaluation seed is spent on a choice. It costs one
forward pass per member at play time, far below the emulator's cost for the tiny network.

The file is an ordinary fil policy (format fil-policy, version 1): the same uint8 input and a
`logits` output, here the members' mean log-softmax. Argmax plays the ensemble's choice,
softmax gives its probabilities, and every reader of the format plays it unchanged:

    observations -> member 1 ... member K (each its own graph, names prefixed m0., m1., ...)
    -> LogSoftmax each -> Mean -> logits

The writer checks its own output: onnxruntime's logits must match the members' log-softmax
averaged in NumPy within `TOLERANCE`, else nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import fil_learn
from fil_learn.export import (
    FORMAT,
    TOLERANCE,
    policy_model,
    probe_frames,
    require_onnx,
    run_proto,
)
from fil_learn.outputs import check_output, fil_policy, write_atomic
from fil_learn.policy import onnx_session

SAME = ("game", "env_id", "action_meanings", "frameskip", "observation")
"""Metadata every member must share: they play one game through one observation pipeline."""
INPUT = "observations"


def member_proto(path: Path) -> Any:
    """A member as an ONNX model: an exported .onnx file as it is, a run folder exported in
    memory (its best epoch, checked against JAX as `fil-learn export` does)."""
    onnx = require_onnx()
    if path.is_dir():
        return run_proto(path)[0]
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: give .onnx policies or run folders of `fil-learn fit`"
        )
    if not fil_policy(path):
        raise ValueError(f"{path} is not a fil policy (.onnx written by `fil-learn export`)")
    return onnx.load(str(path))


def metadata_of(proto: Any) -> dict[str, str]:
    return {prop.key: prop.value for prop in proto.metadata_props}


def _prefixed(proto: Any, prefix: str) -> tuple[list[Any], list[Any]]:
    """The member's nodes and initializers with every name but the shared input prefixed."""

    def rename(name: str) -> str:
        return name if name in ("", INPUT) else prefix + name

    nodes, tensors = [], []
    for node in proto.graph.node:
        copy = type(node)()
        copy.CopyFrom(node)
        copy.name = rename(node.name)
        copy.input[:] = [rename(name) for name in node.input]
        copy.output[:] = [rename(name) for name in node.output]
        nodes.append(copy)
    for tensor in proto.graph.initializer:
        copy = type(tensor)()
        copy.CopyFrom(tensor)
        copy.name = rename(tensor.name)
        tensors.append(copy)
    return nodes, tensors


def ensemble_metadata(members: Sequence[dict[str, str]], sources: Sequence[Path]) -> dict[str, str]:
    """The shared playing fields, and each member's own metadata for tracing it back."""
    first = members[0]
    datasets: list[Any] = []
    for meta in members:
        for entry in json.loads(meta.get("datasets", "[]")):
            if entry not in datasets:
                datasets.append(entry)
    return {
        **{key: first[key] for key in ("format", "format_version", *SAME)},
        "model": f"ensemble of {len(members)}: " + ", ".join(m["model"] for m in members),
        "fil_learn_version": fil_learn.__version__,
        "datasets": json.dumps(datasets),
        "members": json.dumps(
            [{"source": str(s), **m} for s, m in zip(sources, members, strict=True)]
        ),
    }


def check_members(members: Sequence[dict[str, str]], sources: Sequence[Path]) -> None:
    """Raise ValueError unless every member is a fil policy of the same game and pipeline."""
    for meta, source in zip(members, sources, strict=True):
        if meta.get("format") != FORMAT:
            raise ValueError(f"{source} is not a fil policy (no format=fil-policy metadata)")
        for key in SAME:
            if meta.get(key) != members[0].get(key):
                raise ValueError(
                    f"{source} has {key} {meta.get(key)!r}, {sources[0]} has "
                    f"{members[0].get(key)!r}: an ensemble's members must play the same game "
                    "the same way"
                )


def ensemble_graph(protos: Sequence[Any], metadata: dict[str, str]) -> Any:
    """One ONNX model: each member's graph on the shared input, and their mean log-softmax."""
    require_onnx()
    from onnx import helper

    nodes: list[Any] = []
    tensors: list[Any] = []
    for index, proto in enumerate(protos):
        prefix = f"m{index}."
        member_nodes, member_tensors = _prefixed(proto, prefix)
        nodes += member_nodes
        tensors += member_tensors
        nodes.append(helper.make_node("LogSoftmax", [prefix + "logits"], [prefix + "logp"], axis=1))
    nodes.append(helper.make_node("Mean", [f"m{i}.logp" for i in range(len(protos))], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "fil_policy_ensemble",
        [protos[0].graph.input[0]],
        [protos[0].graph.output[0]],
        tensors,
    )
    return policy_model(graph, metadata)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities of (N, A) logits, in float64."""
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def mean_log_probability_gap(model: Any, protos: Sequence[Any], frames: np.ndarray) -> float:
    """Max |ensemble logits - mean of the members' log-softmax| on `frames`."""

    def run(proto: Any) -> np.ndarray:
        return onnx_session(proto.SerializeToString()).run(["logits"], {INPUT: frames})[0]

    expected = np.mean([log_softmax(run(proto)) for proto in protos], axis=0)
    return float(np.max(np.abs(run(model) - expected)))


def write_ensemble(sources: Sequence[Path], out: Path, force: bool = False) -> tuple[Path, float]:
    """Write the ensemble of `sources` (.onnx policies or run folders) to `out`, atomically;
    returns the path and the checked gap to the members' mean log-probabilities. An existing
    `out` is replaced when it is a fil policy or with `force`, never when it is a fil dataset.
    Bad input is refused before any member is loaded (a run folder starts JAX)."""
    if len(sources) < 2:
        raise ValueError("an ensemble needs at least 2 policies")
    require_onnx()
    check_output("--out", out, force, fil_policy)
    protos = [member_proto(Path(source)) for source in sources]
    members = [metadata_of(proto) for proto in protos]
    check_members(members, sources)
    model = ensemble_graph(protos, ensemble_metadata(members, sources))
    gap = mean_log_probability_gap(model, protos, probe_frames())
    if gap > TOLERANCE:
        raise ValueError(
            f"the ensemble's logits differ from its members' mean log-probabilities by {gap:.2e} "
            f"(> {TOLERANCE}): not written; please report this"
        )
    write_atomic(out, model.SerializeToString())
    return out, gap
