"""Training the hashed TF-IDF linear models (scikit-learn logistic regression)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from socialdesk.adapters.classifiers.linear import HashedTfidf, LinearModel


def train_linear(
    texts: list[str],
    labels: list[str],
    *,
    c: float,
    seed: int,
    balanced: bool = True,
    dense: NDArray[np.float32] | None = None,
    meta: dict[str, Any] | None = None,
) -> LinearModel:
    """Fit IDF weights and a logistic regression; `dense` features (sentence vectors) are
    appended to the sparse ones, as `LinearModel.scores` expects them at prediction time."""
    features = HashedTfidf().fit(texts)
    x = features.transform(texts)
    if dense is not None:
        x = sparse.hstack([x, sparse.csr_matrix(dense)]).tocsr()
    model = LogisticRegression(
        C=c, max_iter=3000, class_weight="balanced" if balanced else None, random_state=seed
    )
    model.fit(x, labels)
    return LinearModel(
        classes=[str(c_) for c_ in model.classes_],
        coef=model.coef_.astype(np.float32),
        intercept=model.intercept_.astype(np.float32),
        features=features,
        meta={
            "c": c,
            "trained_on": len(texts),
            "dense": 0 if dense is None else dense.shape[1],
            **(meta or {}),
        },
    )
