"""The training path end to end on a tiny sample: fine-tune, export to int8 ONNX, load and run.

The full `socialdesk triage train` takes about half an hour on two cores; this checks, in
seconds, that what it produces is what the runtime loads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the ml extra (torch) is not installed")

from socialdesk.adapters.classifiers.encoder import OnnxEncoder
from socialdesk.ml.datasets import decode_escapes
from socialdesk.ml.encoder import Task, export, fine_tune


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
