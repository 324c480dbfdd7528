"""The hashed linear models' weights: kept whole or by their used rows, same scores either way."""

from __future__ import annotations

import json
import tracemalloc
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from socialdesk.adapters.classifiers.linear import (
    CACHED_WORDS,
    CHAR_FEATURES,
    LONGEST_CACHED_WORD,
    WORD_FEATURES,
    BlockWeights,
    HashedTfidf,
    LinearModel,
    _cached_char_grams,
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
    block = BlockWeights.of(whole)
    assert (block.lookup is not None) is renumbered
    texts = sparse.random(6, 5000, density=0.02, format="csr", random_state=2, dtype=np.float32)
    assert np.allclose(block.times(texts), texts @ whole, atol=1e-5)
    rows, kept = block.used()
    assert np.array_equal(rows, np.flatnonzero(whole.any(axis=1)))
    assert np.array_equal(kept, whole[rows])
    if renumbered:
        assert len(block.matrix) == np.count_nonzero(whole.any(axis=1)) + 1


def test_a_model_saves_and_loads_the_same_scores_without_its_whole_matrix(tmp_path: Path) -> None:
    """An organisation's intents use few hashed features: the file and the loaded model keep
    their rows only, no view of the whole matrix (Fortran-ordered, as scikit-learn gives it)."""
    features = HashedTfidf().fit(TEXTS * 2)
    width = WORD_FEATURES + CHAR_FEATURES + 4
    coef = np.asfortranarray(weights(width, 5, 0.02, seed=3).T)
    meta = {"dense": 4, "dense_weight": 2.0}
    model = LinearModel.from_coef(
        list("abcde"), coef, np.arange(5, dtype=np.float32), features, meta
    )
    dense = np.random.default_rng(4).normal(size=(len(TEXTS), 4)).astype(np.float32)
    model.save(tmp_path / "intents")
    loaded = LinearModel.load(tmp_path / "intents")

    with np.load(tmp_path / "intents.npz") as arrays:
        assert "coef" not in arrays.files
        assert all(arrays[f].nbytes < 2_000_000 for f in arrays.files if f != "idf")
    halved = coef.astype(np.float16).astype(np.float32)
    for i, (first, last) in enumerate([(0, WORD_FEATURES), (WORD_FEATURES, width - 4)]):
        rows, kept = loaded.blocks[i].used()
        assert np.array_equal(rows, np.flatnonzero(halved[:, first:last].any(axis=0)))
        assert np.array_equal(kept, halved[:, first:last][:, rows].T)
    assert np.allclose(loaded.scores(TEXTS, dense), model.scores(TEXTS, dense), atol=1e-3)
    word, char = features.weigh(features.counts(TEXTS))
    expected = word @ coef[:, :WORD_FEATURES].T + char @ coef[:, WORD_FEATURES:-4].T
    expected += 2.0 * dense @ coef[:, -4:].T + np.arange(5)
    assert np.allclose(model.logits(TEXTS, dense), expected, atol=1e-4)
    for kept_model in (model, loaded):
        arrays_kept = [block.matrix for block in kept_model.blocks] + [kept_model.dense]
        assert all(a.base is None and a.nbytes < 2_000_000 for a in arrays_kept)


def test_a_file_with_the_whole_matrix_still_loads(tmp_path: Path) -> None:
    """Custom intents trained before the files kept used rows only (one `coef` array) load and
    score as they did."""
    features = HashedTfidf().fit(TEXTS * 2)
    width = WORD_FEATURES + CHAR_FEATURES
    coef = weights(width, 3, 0.05, seed=5).T.astype(np.float16)
    assert features.idf is not None
    np.savez_compressed(
        tmp_path / "intents.npz",
        coef=coef,
        intercept=np.zeros(3, dtype=np.float32),
        idf=features.idf.astype(np.float16),
    )
    (tmp_path / "intents.json").write_text(json.dumps({"classes": ["a", "b", "c"], "dense": 0}))
    loaded = LinearModel.load(tmp_path / "intents")
    word, char = features.weigh(features.counts(TEXTS))
    whole = coef.astype(np.float32)
    expected = word @ whole[:, :WORD_FEATURES].T + char @ whole[:, WORD_FEATURES:].T
    assert np.allclose(loaded.logits(TEXTS), expected, atol=1e-4)
    assert loaded.blocks[0].lookup is not None  # 5% used: its rows only


def test_counts_add_up_repeated_ngrams() -> None:
    """A text's repeated n-grams become one feature each with their count, in either block."""
    word, char = HashedTfidf().counts(["No no NO", ""])
    assert word.shape == (2, WORD_FEATURES)
    assert char.shape == (2, CHAR_FEATURES)
    assert word[1].nnz == char[1].nnz == 0
    expected = {zlib.crc32(b"no") % WORD_FEATURES: 3, zlib.crc32(b"no no") % WORD_FEATURES: 2}
    assert dict(zip(word[0].indices.tolist(), word[0].data.tolist(), strict=True)) == expected
    # " no " padded: " n", "no", "o ", " no", "no ", " no " -- each once per word, three words
    assert sorted(char[0].data.tolist()) == [3.0] * 6


def test_the_word_cache_is_bounded_in_entries_and_bytes() -> None:
    """Every new word a live desk meets is cached; the cache must stop at CACHED_WORDS and stay
    small when full (it once kept tuples of Python ints: 227 MB for 200,000 words)."""
    _cached_char_grams.cache_clear()
    words = [f"w{i:06d}x" for i in range(CACHED_WORDS + 5000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        HashedTfidf().counts([" ".join(words[i : i + 100]) for i in range(0, len(words), 100)])
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        _cached_char_grams.cache_clear()
    assert _cached_char_grams.cache_info().maxsize == CACHED_WORDS
    assert grown < 10 * 2**20, f"a full word cache took {grown / 2**20:.1f} MB"


def test_long_words_are_counted_but_not_cached() -> None:
    """A post of long "words" (pasted codes, key mashing) cannot fill the cache with big entries;
    its n-grams are counted all the same."""
    _cached_char_grams.cache_clear()
    word = "ab" * (LONGEST_CACHED_WORD // 2) + "c"
    _, char = HashedTfidf().counts([f"{word} {word}", "ok"])
    assert _cached_char_grams.cache_info().currsize == 1  # "ok" only
    padded = f" {word} "
    grams = [padded[i : i + n] for n in range(2, 6) for i in range(len(padded) - n + 1)]
    assert char[0].sum() == 2 * len(grams)
    expected = Counter(zlib.crc32(g.encode()) % CHAR_FEATURES for g in grams)
    found = dict(zip(char[0].indices.tolist(), char[0].data.tolist(), strict=True))
    assert found == {index: 2 * count for index, count in expected.items()}
