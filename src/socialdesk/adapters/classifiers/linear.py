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
from collections import Counter
from dataclasses import InitVar, dataclass, field
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
        word_rows: list[Counter[int]] = []
        char_rows: list[Counter[int]] = []
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


def _word_counts(text: str) -> Counter[int]:
    tokens = TOKEN.findall(text)
    grams = itertools.chain(tokens, map(" ".join, itertools.pairwise(tokens)))
    return Counter(_hash(gram) % WORD_FEATURES for gram in grams)


def _char_counts(text: str) -> Counter[int]:
    # Counter counts in C; the per-word grams come from the cache
    return Counter(itertools.chain.from_iterable(map(_char_wb_indices, text.split())))


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


def _csr(rows: list[Counter[int]], width: int) -> sparse.csr_matrix:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    count = int(indptr[-1])
    chained = itertools.chain.from_iterable
    indices = np.fromiter(chained(rows), dtype=np.int32, count=count)
    data = np.fromiter(chained(map(Counter.values, rows)), dtype=np.float32, count=count)
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


class BlockWeights:
    """One hashed block's weights, features x classes, for sparse x dense products. Where most
    of the block's features have no weight (an organisation's intents: 25,000 of 262,144 hashed
    features each), only those rows are kept and each text's features are renumbered to them:
    a model of Banking77's 77 intents added 157 MB to the process as whole float32 matrices
    (peak 279 MB while loading) and adds 25 MB so (peak 150). A block mostly in use (the shipped
    models) stays whole, as renumbering costs a single post more than it saves."""

    def __init__(self, weights: NDArray[np.floating[Any]]) -> None:
        rows = np.flatnonzero(np.any(weights != 0, axis=1))
        self.lookup: NDArray[np.int32] | None = None
        if len(rows) * 2 > len(weights):
            # a copy: a view would keep the whole coefficient matrix it came from alive
            self.matrix: NDArray[np.float32] = np.array(weights, dtype=np.float32, order="C")
            return
        # A feature without weights reads the last row, all zeros.
        self.lookup = np.full(len(weights), len(rows), dtype=np.int32)
        self.lookup[rows] = np.arange(len(rows), dtype=np.int32)
        compact = np.zeros((len(rows) + 1, weights.shape[1]), dtype=np.float32)
        compact[:-1] = weights[rows]  # made float32
        self.matrix = compact

    def times(self, block: sparse.csr_matrix) -> NDArray[np.float32]:
        """block (texts x features) times these weights: texts x classes."""
        if self.lookup is not None:
            renumbered = (block.data, self.lookup[block.indices], block.indptr)
            block = sparse.csr_matrix(renumbered, shape=(block.shape[0], len(self.matrix)))
        return np.asarray(block @ self.matrix, dtype=np.float32)

    def whole(self) -> NDArray[np.float32]:
        """All features' weights (features x classes), as training made them."""
        if self.lookup is None:
            return self.matrix
        return self.matrix[self.lookup]


@dataclass
class LinearModel:
    """Softmax over classes of a linear model on HashedTfidf features (and optional dense ones).
    `coef` (classes x features: [word | char | dense]) is kept by block (`BlockWeights`), not
    as given."""

    classes: list[str]
    coef: InitVar[NDArray[np.floating[Any]]]
    intercept: NDArray[np.float32]
    features: HashedTfidf
    meta: dict[str, Any]
    _blocks: tuple[BlockWeights, BlockWeights] = field(init=False, repr=False)
    _dense: NDArray[np.float32] = field(init=False, repr=False)  # dense features x classes

    def __post_init__(self, coef: NDArray[np.floating[Any]]) -> None:
        cut = WORD_FEATURES + CHAR_FEATURES
        self._blocks = (
            BlockWeights(coef[:, :WORD_FEATURES].T),
            BlockWeights(coef[:, WORD_FEATURES:cut].T),
        )
        self._dense = np.array(coef[:, cut:].T, dtype=np.float32, order="C")  # a copy, as above

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
        word_w, char_w = self._blocks
        logits = word_w.times(word) + char_w.times(char) + self.intercept
        if dense is not None:
            logits = logits + (dense * float(self.meta.get("dense_weight", 1.0))) @ self._dense
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
        if len(self.classes) == 2 and logits.shape[1] == 1:  # a binary model's single score
            p1 = 1 / (1 + np.exp(-logits[:, 0]))
            return np.stack([1 - p1, p1], axis=1).astype(np.float32)
        return softmax(logits)

    def weights(self) -> NDArray[np.float32]:
        """The coefficients as given: classes x features [word | char | dense]."""
        word, char = (block.whole() for block in self._blocks)
        return np.concatenate([word, char, self._dense]).T

    def save(self, path: Path) -> None:
        assert self.features.idf is not None
        np.savez_compressed(
            path.with_suffix(".npz"),
            coef=self.weights().astype(np.float16),
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
            coef = arrays["coef"]  # float16: made float32 block by block, kept rows only
            intercept = arrays["intercept"].astype(np.float32)
            idf = arrays["idf"].astype(np.float32)
        classes = meta.pop("classes")
        return cls(classes, coef, intercept, HashedTfidf(idf), meta)
