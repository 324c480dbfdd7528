"""Hashed TF-IDF features (word 1-2-grams and character 2-5-grams) and linear models over them.

Hashing needs no vocabulary, so a model file is a few arrays (an IDF vector and the weights) in a
NumPy `.npz` plus JSON metadata: small, fast to load, and not a pickle (loading a model file
cannot run code). The same class computes the features when training (`socialdesk.ml`) and when
predicting, so both always agree.

The feature space is [word block | character block]; each block is weighted (sublinear TF times
IDF) and L2-normalised on its own. Weighting works on the sparse arrays directly: for one post at a
time, SciPy's general matrix operations cost more than the arithmetic.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from socialdesk.adapters.classifiers.normalise import normalise_for_model

WORD_FEATURES = 2**18
CHAR_FEATURES = 2**18
MAX_CHARS = 2000  # enough for any post; long e-mails are judged on their opening
# Words and single punctuation marks ("!", "?" carry sentiment and questions).
TOKEN = re.compile(r"\w+|[^\w\s]")

Counts = tuple[sparse.csr_matrix, sparse.csr_matrix]


class HashedTfidf:
    """TF-IDF over hashed word and character n-grams, each block L2-normalised.

    N-grams are hashed with CRC-32 (stable across processes and machines), so no vocabulary is
    stored and no machine-learning library is needed to predict.
    """

    def __init__(self, idf: NDArray[np.float32] | None = None) -> None:
        self.idf = idf

    def counts(self, texts: list[str]) -> Counts:
        """Hashed n-gram counts (word block, character block): the costly, model-free half."""
        word_rows: list[dict[int, int]] = []
        char_rows: list[dict[int, int]] = []
        for text in texts:
            cleaned = normalise_for_model(text)[:MAX_CHARS].lower()
            word_rows.append(_word_counts(cleaned))
            char_rows.append(_char_counts(cleaned))
        return _csr(word_rows, WORD_FEATURES), _csr(char_rows, CHAR_FEATURES)

    def fit(self, texts: list[str], min_df: int = 2) -> HashedTfidf:
        word, char = self.counts(texts)
        df = np.concatenate(
            [
                np.bincount(word.indices, minlength=WORD_FEATURES),
                np.bincount(char.indices, minlength=CHAR_FEATURES),
            ]
        ).astype(np.float64)
        n = len(texts)
        idf = np.log((1 + n) / (1 + df)) + 1.0
        idf[df < min_df] = 0.0  # features seen in fewer than min_df texts are noise
        self.idf = idf.astype(np.float32)
        return self

    def weigh(self, counts: Counts) -> Counts:
        """TF-IDF blocks from hashed counts (several models can weigh one set of counts)."""
        assert self.idf is not None, "fit or load the IDF weights first"
        word, char = counts
        return (
            _weigh_block(word, self.idf[:WORD_FEATURES]),
            _weigh_block(char, self.idf[WORD_FEATURES:]),
        )

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        """One matrix [word | char], as training wants it."""
        word, char = self.weigh(self.counts(texts))
        return sparse.hstack([word, char]).tocsr()


def _word_counts(text: str) -> dict[int, int]:
    tokens = TOKEN.findall(text)
    counts: dict[int, int] = {}
    for gram in itertools.chain(tokens, (f"{a} {b}" for a, b in itertools.pairwise(tokens))):
        index = _hash(gram) % WORD_FEATURES
        counts[index] = counts.get(index, 0) + 1
    return counts


def _char_counts(text: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for word in text.split():
        for index in _char_wb_indices(word):
            counts[index] = counts.get(index, 0) + 1
    return counts


@lru_cache(maxsize=200_000)
def _char_wb_indices(word: str) -> tuple[int, ...]:
    """Hashed character 2-5-grams of one word padded with a space on either side. Words repeat
    across posts, so their grams are computed once and remembered."""
    padded = f" {word} "
    length = len(padded)
    return tuple(
        _hash(padded[i : i + n]) % CHAR_FEATURES
        for n in range(2, min(5, length) + 1)
        for i in range(length - n + 1)
    )


def _hash(gram: str) -> int:
    return zlib.crc32(gram.encode("utf-8", "surrogatepass"))


def _csr(rows: list[dict[int, int]], width: int) -> sparse.csr_matrix:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    indices = np.fromiter((i for r in rows for i in r), dtype=np.int32, count=int(indptr[-1]))
    data = np.fromiter(
        (v for r in rows for v in r.values()), dtype=np.float32, count=int(indptr[-1])
    )
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), width))


def _weigh_block(block: sparse.csr_matrix, idf: NDArray[np.float32]) -> sparse.csr_matrix:
    data = np.log1p(block.data.astype(np.float32)) * idf[block.indices]
    lengths = np.diff(block.indptr)
    squares = np.zeros(block.shape[0], dtype=np.float32)
    rows = np.repeat(np.arange(block.shape[0]), lengths)
    np.add.at(squares, rows, data * data)
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    data /= np.repeat(norms, lengths)
    return sparse.csr_matrix((data, block.indices, block.indptr), shape=block.shape)


def softmax(logits: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    probabilities: NDArray[np.float32] = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return probabilities


@dataclass
class LinearModel:
    """Softmax over classes of a linear model on HashedTfidf features (and optional dense ones)."""

    classes: list[str]
    coef: NDArray[np.float32]  # classes x features: [word | char | dense]
    intercept: NDArray[np.float32]
    features: HashedTfidf
    meta: dict[str, Any]
    _columns: tuple[NDArray[np.float32], ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        # Weights by block, transposed and contiguous, for fast sparse x dense products.
        cut = WORD_FEATURES + CHAR_FEATURES
        self._columns = (
            np.ascontiguousarray(self.coef[:, :WORD_FEATURES].T),
            np.ascontiguousarray(self.coef[:, WORD_FEATURES:cut].T),
            np.ascontiguousarray(self.coef[:, cut:].T),
        )

    def logits(
        self,
        texts: list[str],
        dense: NDArray[np.float32] | None = None,
        counts: Counts | None = None,
    ) -> NDArray[np.float32]:
        """Raw class scores; dense features are weighed as the model was trained
        (`dense_weight` in its meta)."""
        word, char = self.features.weigh(
            counts if counts is not None else self.features.counts(texts)
        )
        word_w, char_w, dense_w = self._columns
        logits = np.asarray(word @ word_w) + np.asarray(char @ char_w) + self.intercept
        if dense is not None:
            logits = logits + (dense * float(self.meta.get("dense_weight", 1.0))) @ dense_w
        return np.asarray(logits, dtype=np.float32)

    def scores(
        self,
        texts: list[str],
        dense: NDArray[np.float32] | None = None,
        counts: Counts | None = None,
    ) -> NDArray[np.float32]:
        """Class probabilities (a softmax at the model's `temperature`, 1 unless fitted);
        `counts` (from `HashedTfidf.counts`) saves hashing again."""
        logits = self.logits(texts, dense, counts) / float(self.meta.get("temperature", 1.0))
        if len(self.classes) == 2 and self.coef.shape[0] == 1:
            p1 = 1 / (1 + np.exp(-logits[:, 0]))
            return np.stack([1 - p1, p1], axis=1).astype(np.float32)
        return softmax(logits)

    def save(self, path: Path) -> None:
        assert self.features.idf is not None
        np.savez_compressed(
            path.with_suffix(".npz"),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32),
            idf=self.features.idf.astype(np.float16),
        )
        path.with_suffix(".json").write_text(
            json.dumps({"classes": self.classes, **self.meta}, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
            coef = arrays["coef"].astype(np.float32)
            intercept = arrays["intercept"].astype(np.float32)
            idf = arrays["idf"].astype(np.float32)
        classes = meta.pop("classes")
        return cls(classes, coef, intercept, HashedTfidf(idf), meta)
