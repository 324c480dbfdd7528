"""The training path end to end on a tiny sample: fine-tune, export to int8 ONNX, load and run.

The full `socialdesk triage train` takes about half an hour on two cores; this checks, in
seconds, that what it produces is what the runtime loads.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the ml extra (torch) is not installed")

import onnx
from onnx import TensorProto, helper

from socialdesk.adapters.classifiers import BUILTIN_MODELS, GENERAL_ENCODER
from socialdesk.adapters.classifiers.encoder import OnnxEncoder, open_session
from socialdesk.ml.datasets import decode_escapes
from socialdesk.ml.encoder import Task, drop_nan_guards, export, fine_tune


def test_escapes_in_the_training_files_are_decoded() -> None:
    assert (
        decode_escapes(r"I\u2019m here\u002c ok \ud83d\ude21 \"quoted\"")
        == 'I’m here, ok 😡 "quoted"'
    )


def test_fine_tune_export_and_load(tmp_path: Path) -> None:
    texts = ["I love it", "this is awful", "it is ok", "great job", "terrible service", "fine"] * 4
    labels = [2, 0, 1, 2, 0, 1] * 4
    steps: list[int] = []
    trained = fine_tune(
        [
            Task("sentiment", texts, labels, ["negative", "neutral", "positive"], epochs=1),
            Task("needs_response", texts, [0, 1, 0, 0, 1, 0] * 4, ["no", "yes"], epochs=1),
        ],
        layers=1,
        seed=3,
        threads=1,
        on_step=lambda done, total: steps.append(done),
    )
    assert steps[-1] == len(steps) > 0
    export(
        trained,
        tmp_path,
        version="test",
        classes={"sentiment": ["negative", "neutral", "positive"]},
    )
    assert {"encoder.onnx", "heads.npz", "tokenizer.json", "encoder.json"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert _ops(tmp_path / "encoder.onnx")["IsNaN"] == 0  # the export's guard is dropped
    encoder = OnnxEncoder(tmp_path, threads=1)
    vectors = encoder.embed(["short", "a much longer post about a parcel that never came", ""])
    assert vectors.shape == (3, encoder.dim)
    probabilities = encoder.head("sentiment", vectors)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    # Padding is masked: the same text gives nearly the same vector alone or in a batch (int8
    # activations are quantised per batch, so not bit for bit; fp32 agrees to 1e-6).
    alone = encoder.embed(["short"])
    cosine = float(alone[0] @ vectors[0] / (np.linalg.norm(alone[0]) * np.linalg.norm(vectors[0])))
    assert cosine > 0.99


def _ops(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


@pytest.mark.parametrize("model_dir", [BUILTIN_MODELS, GENERAL_ENCODER])
def test_the_shipped_encoders_carry_no_nan_guards(model_dir: Path) -> None:
    ops = _ops(model_dir / "encoder.onnx")
    assert ops["IsNaN"] == 0
    assert ops["Softmax"] > 0


def test_only_a_softmax_nan_guard_is_dropped(tmp_path: Path) -> None:
    """Where(IsNaN(p), 0, p) after a Softmax goes; a Where on anything else stays."""
    nodes = [
        helper.make_node("Softmax", ["x"], ["p"]),
        helper.make_node("IsNaN", ["p"], ["nan"]),
        helper.make_node("Where", ["nan", "zero", "p"], ["guarded"]),
        helper.make_node("Identity", ["guarded"], ["y"]),
        helper.make_node("IsNaN", ["x"], ["x_nan"]),
        helper.make_node("Where", ["x_nan", "zero", "x"], ["kept"]),
        helper.make_node("Identity", ["kept"], ["z"]),
    ]
    tensor = [2, 3]
    graph = helper.make_graph(
        nodes,
        "guards",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, tensor)],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, tensor),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, tensor),
        ],
        [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
    )
    path = tmp_path / "guards.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))

    assert drop_nan_guards(path) == 1
    assert _ops(path) == Counter(Softmax=1, Identity=2, IsNaN=1, Where=1)
    x = np.array([[1.0, 2.0, 3.0], [0.0, np.nan, 1.0]], dtype=np.float32)
    y, z = open_session(path, threads=1).run(None, {"x": x})
    e = np.exp(x[0] - x[0].max())
    assert np.allclose(y[0], e / e.sum())
    assert z[1].tolist() == [0.0, 0.0, 1.0]
    assert drop_nan_guards(path) == 0
