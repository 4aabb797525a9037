"""A run's best policy as a self-describing ONNX file (`fil-learn export`).

The graph is written node by node with `onnx.helper` from the network's weights, so it runs in
onnxruntime alone (no JAX, no fil-learn) and its input is Gymnasium's own frame-stack layout:

    observations uint8 (N, 4, 84, 84) -> Cast -> Div 255 -> Conv 8x8/4 -> Relu -> Conv 4x4/2
    -> Relu -> Conv 3x3/1 -> Relu -> Flatten -> Gemm -> Relu -> Gemm -> logits float32 (N, A)

The 4 stacked frames are the convolutions' input channels, as in the network (which takes them
channels last), so the kernels only change from (kh, kw, in, out) to ONNX's (out, in, kh, kw).
The network flattens the last feature map channels last, (h, w, c), while ONNX's Flatten of an
NCHW map gives (c, h, w): the rows of the first dense layer's weights are permuted to match,
which is exact and costs nothing at run time (no Transpose node). The exporter checks its own
output: onnxruntime's logits must match JAX's within `TOLERANCE` on a batch of frames, else
nothing is written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

import fil_learn
from fil_learn.config import run_model
from fil_learn.outputs import check_output, fil_policy, write_atomic
from fil_learn.policy import ONNX_EXTRA, SIZE, STACK, run_frameskip

OPSET = 17
IR_VERSION = 8
"""Opset 17 in IR version 8: readable by onnxruntime 1.13 and later."""
TOLERANCE = 1e-3
FORMAT = "fil-policy"
FORMAT_VERSION = 1


def require_onnx() -> Any:
    """The onnx module, or a ValueError naming the extra that installs it."""
    try:
        import onnx
    except ImportError:
        raise ValueError(f"ONNX export needs onnx and onnxruntime: {ONNX_EXTRA}") from None
    return onnx


def weights(model: Any) -> dict[str, np.ndarray]:
    """The network's parameters in ONNX's layouts (see the module docstring)."""
    tensors: dict[str, np.ndarray] = {}
    for name in ("conv1", "conv2", "conv3"):
        layer = getattr(model, name)
        tensors[f"{name}.weight"] = np.asarray(layer.kernel[...]).transpose(3, 2, 0, 1)
        tensors[f"{name}.bias"] = np.asarray(layer.bias[...])
    # a network that looks at the newest `history` frames: zero weights for the older ones,
    # so the graph's input stays the 4-frame stack
    older = STACK - tensors["conv1.weight"].shape[1]
    tensors["conv1.weight"] = np.pad(tensors["conv1.weight"], ((0, 0), (older, 0), (0, 0), (0, 0)))
    hidden = np.asarray(model.hidden.kernel[...])
    channels = tensors["conv3.weight"].shape[0]
    side = math.isqrt(hidden.shape[0] // channels)
    tensors["hidden.weight"] = (
        hidden.reshape(side, side, channels, -1).transpose(2, 0, 1, 3).reshape(hidden.shape)
    )
    tensors["hidden.bias"] = np.asarray(model.hidden.bias[...])
    tensors["logits.weight"] = np.asarray(model.logits.kernel[...])
    tensors["logits.bias"] = np.asarray(model.logits.bias[...])
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}


def policy_graph(model: Any, metadata: dict[str, str]) -> Any:
    """The ONNX model of a `NatureCNN`, with `metadata` as its metadata properties."""
    require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    tensors = weights(model)
    n_actions = tensors["logits.bias"].shape[0]
    initializers = [numpy_helper.from_array(v, k) for k, v in tensors.items()]
    initializers.append(numpy_helper.from_array(np.array(255.0, np.float32), "scale"))
    nodes = [
        helper.make_node("Cast", ["observations"], ["frames"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["frames", "scale"], ["x0"]),
    ]
    for i, (size, stride) in enumerate(((8, 4), (4, 2), (3, 1)), start=1):
        nodes += [
            helper.make_node(
                "Conv",
                [f"x{i - 1}", f"conv{i}.weight", f"conv{i}.bias"],
                [f"c{i}"],
                kernel_shape=[size, size],
                strides=[stride, stride],
            ),
            helper.make_node("Relu", [f"c{i}"], [f"x{i}"]),
        ]
    nodes += [
        helper.make_node("Flatten", ["x3"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "hidden.weight", "hidden.bias"], ["h"]),
        helper.make_node("Relu", ["h"], ["hr"]),
        helper.make_node("Gemm", ["hr", "logits.weight", "logits.bias"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fil_policy",
        [
            helper.make_tensor_value_info(
                "observations", TensorProto.UINT8, ["N", STACK, SIZE, SIZE]
            )
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_actions])],
        initializers,
    )
    return policy_model(graph, metadata)


def policy_model(graph: Any, metadata: dict[str, str]) -> Any:
    """A fil policy file's model around `graph`: its opset and IR version, producer and
    metadata, checked by onnx's checker (every fil-policy writer goes through here)."""
    onnx = require_onnx()
    from onnx import helper

    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="fil-learn",
        producer_version=fil_learn.__version__,
    )
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto)
    return proto


def run_metadata(run_dir: Path, settings: dict[str, Any], epoch: int) -> dict[str, str]:
    """What a user of the file needs to play it and to trace it back (all strings)."""
    return {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "game": settings["game"],
        "env_id": settings["env_id"],
        "action_meanings": json.dumps(settings["action_meanings"]),
        "frameskip": str(run_frameskip(settings)),
        "model": run_model(settings),
        "observation": "uint8 (N, 4, 84, 84): FrameStackObservation(AtariPreprocessing(...), 4)",
        "fil_learn_version": fil_learn.__version__,
        "run": str(run_dir.resolve()),
        "epoch": str(epoch),
        "datasets": json.dumps(training_datasets(settings)),
    }


def training_datasets(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Every dataset the run trained on (all stages), with the file's sha256 as it is now
    (None when the file has moved or has no checksum)."""
    stages = settings.get("stages") or [{"datasets": settings.get("datasets", [])}]
    paths = list(dict.fromkeys(p for stage in stages for p in stage["datasets"]))
    return [{"path": p, "sha256": _file_sha256(Path(p))} for p in paths]


def _file_sha256(path: Path) -> str | None:
    from fil_learn.data import open_dataset

    try:
        with open_dataset(path, states=True) as dataset:  # a guide's play (`fit --prior`)
            return dataset.sha256
    except (ValueError, FileNotFoundError):
        return None


def check_against_jax(proto: Any, forward: Any, frames: np.ndarray) -> float:
    """Max |onnxruntime - JAX| over `frames` (N, 4, 84, 84) uint8; `forward` takes them
    channels last, as the network does.

    The JAX side runs at full float32 matmul precision: on GPUs JAX's default lets matrix
    products use TF32, which on an H200 put a Nature-CNN policy 6e-3 away from the same
    weights in onnxruntime, so a correct export was refused there.
    """
    import jax

    from fil_learn.policy import onnx_session

    session = onnx_session(proto.SerializeToString())
    ours = session.run(["logits"], {"observations": frames})[0]
    with jax.default_matmul_precision("highest"):
        theirs = np.asarray(forward(np.moveaxis(frames, 1, -1)))
    return float(np.max(np.abs(ours - theirs)))


def probe_frames(n: int = 8, seed: int = 0) -> np.ndarray:
    """Frames to check an export on: uniform noise, plus all-black and all-white stacks."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, size=(n, STACK, SIZE, SIZE), dtype=np.uint8)
    frames[0], frames[1] = 0, 255
    return frames


def export_run(run_dir: Path, out: Path, force: bool = False) -> tuple[Path, float]:
    """Write the run's best policy to `out` (atomically); returns the path and the checked
    max |onnxruntime - JAX| difference. An existing `out` is replaced when it is a fil policy
    (a re-export) or with `force`, never when it is a fil dataset."""
    from fil_learn.policy import read_run_settings

    require_onnx()
    read_run_settings(run_dir)  # a wrong folder fails before JAX starts
    check_output("--out", out, force, fil_policy)
    proto, difference = run_proto(run_dir)
    write_atomic(out, proto.SerializeToString())  # a failed write leaves no temporary file
    return out, difference


def run_proto(run_dir: Path) -> tuple[Any, float]:
    """The run's best policy as a checked ONNX model, and its max |onnxruntime - JAX| on probe
    frames; over `TOLERANCE` it is a ValueError, so nothing unchecked is ever written."""
    from fil_learn.policy import load_best

    best = load_best(run_dir)
    proto = policy_graph(best.model(), run_metadata(run_dir, best.settings, best.epoch))
    difference = check_against_jax(proto, best.forward, probe_frames())
    if difference > TOLERANCE:
        raise ValueError(
            f"the ONNX graph differs from the JAX policy by {difference:.2e} (> {TOLERANCE}): "
            "not written; please report this"
        )
    return proto, difference
