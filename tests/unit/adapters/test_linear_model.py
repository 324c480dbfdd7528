"""The hashed linear models' weights: kept whole or by their used rows, same scores either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from socialdesk.adapters.classifiers.linear import (
    CHAR_FEATURES,
    WORD_FEATURES,
    BlockWeights,
    HashedTfidf,
    LinearModel,
)

TEXTS = ["my parcel never came", "love the new app!", "refund please, order 1234", ""]


def weights(rows: int, classes: int, used: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(rows, classes)).astype(np.float32)
    w[rng.random(rows) >= used] = 0.0
    return w


@pytest.mark.parametrize(("used", "renumbered"), [(0.05, True), (0.9, False)])
def test_a_block_multiplies_as_its_whole_matrix(used: float, renumbered: bool) -> None:
    """Mostly unused weights keep only their used rows (a text's features are renumbered,
    unused ones read a row of zeros); mostly used ones stay whole."""
    whole = weights(5000, 7, used, seed=1)
    block = BlockWeights(whole)
    assert (block.lookup is not None) is renumbered
    texts = sparse.random(6, 5000, density=0.02, format="csr", random_state=2, dtype=np.float32)
    assert np.allclose(block.times(texts), texts @ whole, atol=1e-5)
    assert np.array_equal(block.whole(), whole)
    if renumbered:
        assert len(block.matrix) == np.count_nonzero(whole.any(axis=1)) + 1


def test_a_model_saves_and_loads_the_same_scores_without_its_whole_matrix(tmp_path: Path) -> None:
    """An organisation's intents use few hashed features: the loaded model keeps their rows
    only, no view of the file's whole matrix (Fortran-ordered, as scikit-learn gives it), and
    saves the same coefficients again."""
    features = HashedTfidf().fit(TEXTS * 2)
    width = WORD_FEATURES + CHAR_FEATURES + 4
    coef = np.asfortranarray(weights(width, 5, 0.02, seed=3).T)
    meta = {"dense": 4, "dense_weight": 2.0}
    model = LinearModel(list("abcde"), coef, np.arange(5, dtype=np.float32), features, meta)
    dense = np.random.default_rng(4).normal(size=(len(TEXTS), 4)).astype(np.float32)
    model.save(tmp_path / "intents")
    loaded = LinearModel.load(tmp_path / "intents")

    assert np.array_equal(model.weights(), coef)
    assert np.array_equal(loaded.weights(), coef.astype(np.float16).astype(np.float32))
    assert np.allclose(loaded.scores(TEXTS, dense), model.scores(TEXTS, dense), atol=1e-3)
    word, char = features.weigh(features.counts(TEXTS))
    expected = word @ coef[:, :WORD_FEATURES].T + char @ coef[:, WORD_FEATURES:-4].T
    expected += 2.0 * dense @ coef[:, -4:].T + np.arange(5)
    assert np.allclose(model.logits(TEXTS, dense), expected, atol=1e-4)
    for kept in (model, loaded):
        arrays = [block.matrix for block in kept._blocks] + [kept._dense]
        assert all(a.base is None and a.nbytes < 2_000_000 for a in arrays)
