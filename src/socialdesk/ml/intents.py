"""`socialdesk triage train-intents`: an organisation's own intents from its labelled examples.

Features are the hashed TF-IDF n-grams plus the shared encoder's sentence vectors, so a few dozen
examples per intent go a long way; a logistic regression reads them. A tenth of the examples
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

from sklearn.model_selection import train_test_split

from socialdesk.adapters.classifiers import CUSTOM_INTENTS
from socialdesk.adapters.classifiers.encoder import OnnxEncoder
from socialdesk.adapters.classifiers.triage import unit_rows
from socialdesk.ml.datasets import Labelled
from socialdesk.ml.linear import train_linear

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
    examples: Labelled, encoder: OnnxEncoder, out_dir: Path, *, seed: int = 13, c: float = 10.0
) -> dict[str, Any]:
    check_examples(examples)
    vectors = unit_rows(encoder.embed(examples.texts))
    holdout: dict[str, Any] = {}
    counts = Counter(examples.labels)
    if len(examples.texts) >= 20 and min(counts.values()) >= 2:
        indices = list(range(len(examples.texts)))
        train_i, test_i = train_test_split(
            indices,
            test_size=max(0.1, len(counts) / len(indices)),
            random_state=seed,
            stratify=examples.labels,
        )
        model = train_linear(
            [examples.texts[i] for i in train_i],
            [examples.labels[i] for i in train_i],
            c=c,
            seed=seed,
            balanced=False,
            dense=vectors[train_i],
        )
        p = model.scores([examples.texts[i] for i in test_i], dense=vectors[test_i])
        predicted = [model.classes[j] for j in p.argmax(1)]
        correct = sum(
            1 for i, label in zip(test_i, predicted, strict=True) if examples.labels[i] == label
        )
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
    final = train_linear(
        examples.texts, examples.labels, c=c, seed=seed, balanced=False, dense=vectors, meta=meta
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    final.save(out_dir / CUSTOM_INTENTS)
    return meta
