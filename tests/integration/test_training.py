"""The training path end to end on a tiny sample: fine-tune, export to int8 ONNX, load and run.

The full `socialdesk triage train` takes about half an hour on two cores; this checks, in
seconds, that what it produces is what the runtime loads.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the ml extra (torch) is not installed")

import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from socialdesk.adapters.classifiers import BUILTIN_MODELS, GENERAL_ENCODER
from socialdesk.adapters.classifiers.encoder import (
    OnnxEncoder,
    load_tokenizer,
    open_session,
    padded_batches,
    token_ids,
)
from socialdesk.ml.datasets import decode_escapes
from socialdesk.ml.encoder import Task, drop_nan_guards, export, fine_tune, fix_activation_scales


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
        calibration=texts,
        threads=1,
    )
    assert {"encoder.onnx", "heads.npz", "tokenizer.json", "encoder.json"} <= {
        p.name for p in tmp_path.iterdir()
    }
    ops = _ops(tmp_path / "encoder.onnx")
    assert ops["IsNaN"] == 0  # the export's guard is dropped
    assert ops["DynamicQuantizeLinear"] == 0  # activation scales fixed, not per batch
    assert ops["MatMulIntegerToFloat"] > 0
    encoder = OnnxEncoder(tmp_path, threads=1)
    vectors = encoder.embed(["short", "a much longer post about a parcel that never came", ""])
    assert vectors.shape == (3, encoder.dim)
    probabilities = encoder.head("sentiment", vectors)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    # Padding is masked and the activation scales are fixed: the same text gives the same
    # vector alone or in a batch with longer texts.
    alone = encoder.embed(["short"])
    assert np.allclose(alone[0], vectors[0], rtol=0, atol=1e-6)


def _ops(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


@pytest.mark.parametrize("model_dir", [BUILTIN_MODELS, GENERAL_ENCODER])
def test_the_shipped_encoders_carry_no_nan_guards_nor_batch_scales(model_dir: Path) -> None:
    ops = _ops(model_dir / "encoder.onnx")
    assert ops["IsNaN"] == 0
    assert ops["Softmax"] > 0
    assert ops["DynamicQuantizeLinear"] == 0
    assert (
        ops["MatMulIntegerToFloat"]
        == 6 * json.loads((model_dir / "encoder.json").read_text(encoding="utf-8"))["layers"]
    )


def _tiny_encoder(path: Path, vocab: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """An encoder-shaped fp32 graph (token embeddings through tanh, one dense layer with a bias and
    a ReLU, mean over the real tokens) quantised as the export does; returns tanh(table) @ W + b,
    from which the test works out the exact vectors."""
    dim, out = 8, 6
    table = rng.normal(0, 1, (vocab, dim)).astype(np.float32)
    weight = rng.normal(0, 0.5, (dim, out)).astype(np.float32)
    bias = rng.normal(0, 0.5, out).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["looked_up"]),
        helper.make_node("Tanh", ["looked_up"], ["states"]),  # an activation, as in an encoder
        helper.make_node("MatMul", ["states", "weight"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["dense"]),
        helper.make_node("Relu", ["dense"], ["active"]),
        helper.make_node("Cast", ["attention_mask"], ["mask"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask", "last"], ["mask3"]),
        helper.make_node("Mul", ["active", "mask3"], ["kept"]),
        helper.make_node("ReduceSum", ["kept", "tokens_axis"], ["total"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "tokens_axis"], ["count"], keepdims=0),
        helper.make_node("Div", ["total", "count"], ["pooled"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [
            helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
            for name in ("input_ids", "attention_mask")
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", out])],
        [
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(weight, "weight"),
            numpy_helper.from_array(bias, "bias"),
            numpy_helper.from_array(np.array([-1], np.int64), "last"),
            numpy_helper.from_array(np.array([1], np.int64), "tokens_axis"),
        ],
    )
    fp32 = path.with_name("fp32.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(fp32))
    quantize_dynamic(str(fp32), str(path), per_channel=True, weight_type=QuantType.QInt8)
    dense: NDArray[np.float32] = np.tanh(table) @ weight + bias
    return dense


def test_fixed_activation_scales_keep_the_vectors_and_drop_the_batch(tmp_path: Path) -> None:
    """The quantiser of the dense layer's input gets the range its input took over the
    calibration texts: vectors as close to fp32 as before, the same in any batch."""
    shutil.copy(BUILTIN_MODELS / "tokenizer.json", tmp_path / "tokenizer.json")
    path = tmp_path / "encoder.onnx"
    tokenizer = load_tokenizer((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    dense = _tiny_encoder(path, tokenizer.get_vocab_size(), np.random.default_rng(5))
    texts = ["my parcel never came", "great", "", "where is the refund for order 123?"]
    tokens = token_ids(tokenizer, texts)
    expected = np.vstack([np.maximum(dense[t], 0).mean(axis=0) for t in tokens])

    assert fix_activation_scales(path, texts, threads=1) == 1
    assert _ops(path)["DynamicQuantizeLinear"] == 0
    assert _ops(path)["MatMulIntegerToFloat"] == 1
    session = open_session(path, threads=1)
    vectors = np.zeros_like(expected)
    for chunk, inputs in padded_batches(tokens):
        (vectors[chunk],) = session.run(None, inputs)
    assert np.allclose(vectors, expected, atol=0.05)
    for i, single in enumerate(tokens):
        (alone,) = session.run(None, next(padded_batches([single]))[1])
        assert np.allclose(alone[0], vectors[i], rtol=0, atol=1e-6)
    assert fix_activation_scales(path, texts, threads=1) == 0  # nothing left to fix


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
