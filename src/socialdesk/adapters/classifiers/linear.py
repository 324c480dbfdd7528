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
from array import array
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
        word_rows: list[list[int]] = []
        char_rows: list[list[int]] = []
        for text in texts:
            cleaned = normalise_for_model(text)[:MAX_CHARS].lower()
            word_rows.append(_word_indices(cleaned))
            char_rows.append(_char_indices(cleaned))
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


def _word_indices(text: str) -> list[int]:
    tokens = TOKEN.findall(text)
    grams = itertools.chain(tokens, map(" ".join, itertools.pairwise(tokens)))
    return [_hash(gram) % WORD_FEATURES for gram in grams]


def _char_indices(text: str) -> list[int]:
    return list(itertools.chain.from_iterable(map(_word_char_indices, text.split())))


def _char_grams(word: str) -> array[int]:
    """Hashed character 2-5-grams of one word padded with a space on either side."""
    padded = f" {word} "
    length = len(padded)
    return array(
        "i",
        (
            _hash(padded[i : i + n]) % CHAR_FEATURES
            for n in range(2, min(5, length) + 1)
            for i in range(length - n + 1)
        ),
    )


# A live desk meets new words without end (names, hashtags, typos: 87,126 distinct ones in the
# 47,443 TweetEval training tweets), so the cache is bounded by what it may hold, not by how often
# it helps: 20,000 words keep 87% of that stream's words, 50,000 90%, 100,000 90.5%, and a word
# missed costs a few microseconds. Each word's indices sit in a compact array: filled with the
# words of tweets, the cache takes 5-7 MB (15 MB at most: only words of up to LONGEST_CACHED_WORD
# letters are kept), where 200,000 words as tuples of Python ints took 227 MB (2026-12-05). With
# custom intents the process is within a few MB of its 300 MB budget, so the cache stays small.
CACHED_WORDS = 20_000
LONGEST_CACHED_WORD = 32
# Words repeat across posts: their grams are remembered.
_cached_char_grams = lru_cache(maxsize=CACHED_WORDS)(_char_grams)


def _word_char_indices(word: str) -> array[int]:
    """A word's character n-gram indices, from the cache when the word is short enough to keep
    the cache small whatever is posted: a 2,000-letter "word" has 8,000 n-grams (32 KB), so
    20,000 of them would take 640 MB; a word of up to 32 letters at most 126 (about 0.7 KB with
    its cache entry, 15 MB for a full cache). Longer ones (links, pasted codes, key mashing) are
    rare and are hashed each time."""
    return _cached_char_grams(word) if len(word) <= LONGEST_CACHED_WORD else _char_grams(word)


def _hash(gram: str) -> int:
    return zlib.crc32(gram.encode("utf-8", "surrogatepass"))


def _csr(rows: list[list[int]], width: int) -> sparse.csr_matrix:
    """Texts x features counts from each text's feature indices, repeats and all: SciPy adds up
    the repeats in C (a Counter per text took a third longer: 49 -> 38 us a tweet in batches)."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, rows), dtype=np.int64, count=len(rows)), out=indptr[1:])
    count = int(indptr[-1])
    indices = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int32, count=count)
    ones = np.ones(count, dtype=np.float32)
    matrix = sparse.csr_matrix((ones, indices, indptr), shape=(len(rows), width))
    matrix.sum_duplicates()
    return matrix


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

    def __init__(
        self, rows: NDArray[np.integer[Any]], weights: NDArray[np.floating[Any]], size: int
    ) -> None:
        """`weights` (len(rows) x classes) are those of the features `rows` (ascending) of a
        block of `size` features; every other feature weighs nothing."""
        self.lookup: NDArray[np.int32] | None = None
        if len(rows) * 2 > size:
            self.matrix: NDArray[np.float32] = np.zeros((size, weights.shape[1]), np.float32)
            self.matrix[rows] = weights
            return
        # A feature without weights reads the last row, all zeros.
        self.lookup = np.full(size, len(rows), dtype=np.int32)
        self.lookup[rows] = np.arange(len(rows), dtype=np.int32)
        self.matrix = np.zeros((len(rows) + 1, weights.shape[1]), dtype=np.float32)
        self.matrix[:-1] = weights

    @classmethod
    def of(cls, whole: NDArray[np.floating[Any]]) -> BlockWeights:
        """From the whole features x classes matrix (not kept: only the used rows are read)."""
        rows = np.flatnonzero(np.any(whole != 0, axis=1))
        return cls(rows, whole[rows], len(whole))

    def used(self) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """The features with any weight, ascending, and their weights: what a model file keeps."""
        if self.lookup is None:
            rows = np.flatnonzero(np.any(self.matrix != 0, axis=1)).astype(np.int32)
            return rows, self.matrix[rows]
        rows = np.flatnonzero(self.lookup < len(self.matrix) - 1).astype(np.int32)
        return rows, self.matrix[:-1]

    def times(self, block: sparse.csr_matrix) -> NDArray[np.float32]:
        """block (texts x features) times these weights: texts x classes."""
        if self.lookup is not None:
            renumbered = (block.data, self.lookup[block.indices], block.indptr)
            block = sparse.csr_matrix(renumbered, shape=(block.shape[0], len(self.matrix)))
        return np.asarray(block @ self.matrix, dtype=np.float32)


BLOCKS = (("word", WORD_FEATURES), ("char", CHAR_FEATURES))


@dataclass
class LinearModel:
    """Softmax over classes of a linear model on HashedTfidf features (and optional dense ones),
    its weights kept by block (`BlockWeights`)."""

    classes: list[str]
    intercept: NDArray[np.float32]
    features: HashedTfidf
    meta: dict[str, Any]
    blocks: tuple[BlockWeights, BlockWeights] = field(repr=False)
    dense: NDArray[np.float32] = field(repr=False)  # dense features x classes

    @classmethod
    def from_coef(
        cls,
        classes: list[str],
        coef: NDArray[np.floating[Any]],
        intercept: NDArray[np.float32],
        features: HashedTfidf,
        meta: dict[str, Any],
    ) -> LinearModel:
        """From coefficients as training makes them: classes x features [word | char | dense]."""
        cut = WORD_FEATURES + CHAR_FEATURES
        blocks = (
            BlockWeights.of(coef[:, :WORD_FEATURES].T),
            BlockWeights.of(coef[:, WORD_FEATURES:cut].T),
        )
        # a copy: a view would keep the whole coefficient matrix it came from alive
        dense = np.array(coef[:, cut:].T, dtype=np.float32, order="C")
        return cls(classes, intercept, features, meta, blocks, dense)

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
        word_w, char_w = self.blocks
        logits = word_w.times(word) + char_w.times(char) + self.intercept
        if dense is not None:
            logits = logits + (dense * float(self.meta.get("dense_weight", 1.0))) @ self.dense
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

    def save(self, path: Path) -> None:
        """`path`.npz holds each block's used rows and their weights (float16), so loading never
        makes the whole matrix (77 intents x 524,288 features: 80 MB, the process's peak with
        custom intents); `path`.json the classes and the meta."""
        assert self.features.idf is not None
        arrays: dict[str, NDArray[Any]] = {
            "intercept": self.intercept.astype(np.float32),
            "idf": self.features.idf.astype(np.float16),
            "dense": self.dense.astype(np.float16),
        }
        for (name, _), block in zip(BLOCKS, self.blocks, strict=True):
            rows, weights = block.used()
            arrays[f"{name}_rows"] = rows
            arrays[f"{name}_weights"] = weights.astype(np.float16)
        np.savez_compressed(path.with_suffix(".npz"), allow_pickle=False, **arrays)
        path.with_suffix(".json").write_text(
            json.dumps({"classes": self.classes, **self.meta}, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        classes = meta.pop("classes")
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as arrays:
            intercept = arrays["intercept"].astype(np.float32)
            features = HashedTfidf(arrays["idf"].astype(np.float32))
            if "coef" in arrays.files:
                # The whole matrix, as files written before 2026-12-05 keep it (custom intents
                # trained then still load; retraining makes the smaller file).
                return cls.from_coef(classes, arrays["coef"], intercept, features, meta)
            blocks = tuple(
                BlockWeights(arrays[f"{name}_rows"], arrays[f"{name}_weights"], size)
                for name, size in BLOCKS
            )
            dense = arrays["dense"].astype(np.float32)
        return cls(classes, intercept, features, meta, (blocks[0], blocks[1]), dense)
