"""Hashed TF-IDF features (word 1-2-grams and character 2-5-grams) and linear models over them.

Hashing needs no vocabulary, so a model file is a few arrays (an IDF vector and the weights) in a
NumPy `.npz` plus JSON metadata: small, fast to load, and not a pickle (loading a model file
cannot run code). The same class computes the features when training (`socialdesk.ml`) and when
predicting, so both always agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from socialdesk.adapters.classifiers.normalise import normalise_for_model

WORD_FEATURES = 2**18
CHAR_FEATURES = 2**18
MAX_CHARS = 2000
# Words and single punctuation marks ("!", "?" carry sentiment and questions).
WORDS_AND_PUNCTUATION = (
    r"(?u)\b\w+\b|[^\w\s]"  # enough for any post; long e-mails are judged on their opening
)


class HashedTfidf:
    """TF-IDF over hashed word and character n-grams, each block L2-normalised."""

    def __init__(self, idf: NDArray[np.float32] | None = None) -> None:
        self.word = HashingVectorizer(
            n_features=WORD_FEATURES,
            ngram_range=(1, 2),
            alternate_sign=False,
            norm=None,
            lowercase=True,
            token_pattern=WORDS_AND_PUNCTUATION,
        )
        self.char = HashingVectorizer(
            n_features=CHAR_FEATURES,
            analyzer="char_wb",
            ngram_range=(2, 5),
            alternate_sign=False,
            norm=None,
            lowercase=True,
        )
        self.idf = idf

    def counts(self, texts: list[str]) -> sparse.csr_matrix:
        cleaned = [normalise_for_model(t)[:MAX_CHARS] for t in texts]
        return sparse.hstack([self.word.transform(cleaned), self.char.transform(cleaned)]).tocsr()

    def fit(self, texts: list[str], min_df: int = 2) -> HashedTfidf:
        counts = self.counts(texts)
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        n = counts.shape[0]
        idf = np.log((1 + n) / (1 + df)) + 1.0
        idf[df < min_df] = 0.0  # features seen in fewer than min_df texts are noise
        self.idf = idf.astype(np.float32)
        return self

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        assert self.idf is not None, "fit or load the IDF weights first"
        counts = self.counts(texts).astype(np.float32)
        counts.data = np.log1p(counts.data)  # sublinear term frequency
        weighted = counts.multiply(self.idf).tocsr()
        return _normalise_blocks(weighted, WORD_FEATURES)


def softmax(logits: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    probabilities: NDArray[np.float32] = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return probabilities


def _normalise_blocks(matrix: sparse.csr_matrix, split: int) -> sparse.csr_matrix:
    left, right = matrix[:, :split], matrix[:, split:]
    return sparse.hstack([_l2(left), _l2(right)]).tocsr()


def _l2(block: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(block.multiply(block).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms).dot(block).tocsr()


@dataclass
class LinearModel:
    """Softmax over classes of a linear model on HashedTfidf features (and optional dense ones)."""

    classes: list[str]
    coef: NDArray[np.float32]  # classes x features
    intercept: NDArray[np.float32]
    features: HashedTfidf
    meta: dict[str, Any]

    def scores(
        self, texts: list[str], dense: NDArray[np.float32] | None = None
    ) -> NDArray[np.float32]:
        x = self.features.transform(texts)
        if dense is not None:
            x = sparse.hstack([x, sparse.csr_matrix(dense)]).tocsr()
        logits = np.asarray(x @ self.coef.T) + self.intercept
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
