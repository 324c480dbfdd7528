"""Training the hashed TF-IDF linear models: logistic regressions for the shipped tasks, a linear
SVM for an organisation's own intents (scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from socialdesk.adapters.classifiers.linear import HashedTfidf, LinearModel


def train_linear(
    texts: list[str],
    labels: list[str],
    *,
    c: float,
    seed: int,
    meta: dict[str, Any] | None = None,
) -> LinearModel:
    """Fit IDF weights and a class-balanced logistic regression (the tasks are judged on macro
    averages)."""
    features = HashedTfidf().fit(texts)
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)
    model.fit(features.transform(texts), labels)
    return LinearModel.from_coef(
        classes=[str(c_) for c_ in model.classes_],
        coef=model.coef_.astype(np.float32),
        intercept=model.intercept_.astype(np.float32),
        features=features,
        meta={"c": c, "trained_on": len(texts), "dense": 0, **(meta or {})},
    )


DENSE_WEIGHT = 3.0


def train_svm(
    texts: list[str],
    labels: list[str],
    dense: NDArray[np.float32],
    *,
    seed: int,
    c: float = 1.0,
    meta: dict[str, Any] | None = None,
) -> LinearModel:
    """A linear SVM (one against the rest) over the n-grams and `dense` vectors weighted by
    DENSE_WEIGHT; `LinearModel.scores` applies the same weight and the softmax temperature kept
    in its meta."""
    features = HashedTfidf().fit(texts)
    x = sparse.hstack([features.transform(texts), sparse.csr_matrix(dense * DENSE_WEIGHT)]).tocsr()
    model = LinearSVC(C=c, random_state=seed)
    model.fit(x, labels)
    return LinearModel.from_coef(
        classes=[str(c_) for c_ in model.classes_],
        coef=model.coef_.astype(np.float32),
        intercept=np.atleast_1d(model.intercept_).astype(np.float32),
        features=features,
        meta={
            "model": "linear_svm",
            "c": c,
            "trained_on": len(texts),
            "dense": dense.shape[1],
            "dense_weight": DENSE_WEIGHT,
            **(meta or {}),
        },
    )
