"""`socialdesk triage train-intents`: an organisation's own intents from its labelled examples.

Features are the hashed TF-IDF n-grams plus the general encoder's sentence vectors, so a few dozen
examples per intent go a long way; a linear SVM reads them. A tenth of the examples
(stratified) is held out to report accuracy, then the model is refitted on all of them and saved
where the running desk picks it up (it replaces the built-in taxonomy in `predict` and intake).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split

from socialdesk.adapters.classifiers import CUSTOM_INTENTS
from socialdesk.adapters.classifiers.encoder import OnnxEncoder
from socialdesk.adapters.classifiers.linear import softmax
from socialdesk.adapters.classifiers.triage import unit_rows
from socialdesk.ml.datasets import Labelled
from socialdesk.ml.linear import train_svm

# A category is a label people read: printable, 1-64 characters, not starting or ending with a space
# (Banking77 itself has `reverted_card_payment?`). Rendering escapes it; the filter keeps out
# control characters and blank names.
CATEGORY = re.compile(r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,62}[^\s\x00-\x1f\x7f])?$")
MIN_PER_CATEGORY = 2


def check_examples(examples: Labelled) -> None:
    counts = Counter(examples.labels)
    if len(counts) < 2:
        raise ValueError("custom intents need at least two categories")
    bad = [c for c in counts if not CATEGORY.match(c)]
    if bad:
        raise ValueError(
            f"category {bad[0]!r} is not a name: use 1-64 printable characters, no control "
            "characters and no leading or trailing space"
        )
    thin = sorted(c for c, n in counts.items() if n < MIN_PER_CATEGORY)
    if thin:
        raise ValueError(
            f"categories need at least {MIN_PER_CATEGORY} examples each; too few for: "
            + ", ".join(thin[:10])
        )


def train_intents(
    examples: Labelled, encoder: OnnxEncoder, out_dir: Path, *, seed: int = 13
) -> dict[str, Any]:
    """Train, report accuracy on a held-out tenth, refit on everything, save.

    A linear SVM reads the hashed TF-IDF n-grams and the general encoder's sentence vectors
    (weighted 3 to 1: chosen on a held-out fifth of Banking77 train, 92.65 against 92.3 for the
    vectors alone and 90.1 for the n-grams alone). It trains in seconds where a logistic
    regression over the same half-million columns took minutes. Its scores become probabilities
    through a softmax whose temperature is fitted on the held-out tenth.
    """
    check_examples(examples)
    vectors = unit_rows(encoder.embed(examples.texts))
    counts = Counter(examples.labels)
    holdout: dict[str, Any] = {}
    temperature = 1.0
    if len(examples.texts) >= 20:
        indices = list(range(len(examples.texts)))
        train_i, test_i = train_test_split(
            indices,
            test_size=max(0.1, len(counts) / len(indices)),
            random_state=seed,
            stratify=examples.labels,
        )
        model = train_svm(
            [examples.texts[i] for i in train_i],
            [examples.labels[i] for i in train_i],
            vectors[train_i],
            seed=seed,
        )
        texts = [examples.texts[i] for i in test_i]
        logits = model.logits(texts, dense=vectors[test_i])
        truth = np.array([model.classes.index(examples.labels[i]) for i in test_i])
        temperature = fit_temperature(logits, truth)
        correct = int((logits.argmax(1) == truth).sum())
        holdout = {
            "holdout_examples": len(test_i),
            "holdout_accuracy": round(correct / len(test_i), 4),
        }
    digest = hashlib.sha256(
        "\n".join(
            f"{text}\t{label}" for text, label in zip(examples.texts, examples.labels, strict=True)
        ).encode()
    ).hexdigest()[:10]
    meta = {
        "version": f"{datetime.now(UTC):%Y%m%d%H%M}-{digest}",
        "encoder": encoder.version,
        "examples": len(examples.texts),
        "categories": len(counts),
        **holdout,
    }
    final = train_svm(
        examples.texts,
        examples.labels,
        vectors,
        seed=seed,
        meta={**meta, "temperature": temperature},
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    final.save(out_dir / CUSTOM_INTENTS)
    return meta


def fit_temperature(logits: NDArray[np.float32], truth: NDArray[np.int64]) -> float:
    """The softmax temperature that makes held-out probabilities honest (least log loss)."""
    best = (1.0, float("inf"))
    for temperature in np.geomspace(0.02, 5.0, 60):
        p = softmax(logits / temperature)
        loss = -float(np.log(np.clip(p[np.arange(len(truth)), truth], 1e-9, 1.0)).mean())
        if loss < best[1]:
            best = (float(temperature), loss)
    return round(best[0], 4)
