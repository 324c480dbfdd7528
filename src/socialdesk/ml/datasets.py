"""The training and tuning data in ../shared/data, read as (text, label) lists.

The source files keep literal escapes (`\\u2019`, `\\u002c`, `\\"`, doubled quotes); they are decoded
here, surrogate pairs included, so the models see the characters people typed.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")
SENTIMENT_LABELS = ("negative", "neutral", "positive")


def default_data_dir() -> Path:
    return Path(os.environ.get("SOCIALDESK_DATA_DIR", "../shared/data"))


def decode_escapes(text: str) -> str:
    def decode(match: re.Match[str]) -> str:
        units = match.group(0).encode("ascii").decode("unicode_escape")
        return units.encode("utf-16", "surrogatepass").decode("utf-16", "replace")

    return ESCAPES.sub(decode, text).replace('\\"', '"').replace('""', '"').strip()


@dataclass(frozen=True)
class Labelled:
    texts: list[str]
    labels: list[str]


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; point --data (or SOCIALDESK_DATA_DIR) at the shared data folder"
        )
    return path


def sentiment_train(data: Path) -> Labelled:
    texts, labels = [], []
    with _need(data / "tweeteval_sentiment" / "train_reconstructed.tsv").open(
        encoding="utf-8"
    ) as f:
        next(f)
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            texts.append(decode_escapes(text))
            labels.append(SENTIMENT_LABELS[int(label)])
    return Labelled(texts, labels)


def sentiment_validation(data: Path) -> Labelled:
    folder = data / "tweeteval_sentiment"
    texts = [
        decode_escapes(line.rstrip("\n"))
        for line in _need(folder / "val_text.txt").open(encoding="utf-8")
    ]
    labels = [SENTIMENT_LABELS[int(line)] for line in _need(folder / "val_labels.txt").open()]
    return Labelled(texts, labels)


def complaints(data: Path) -> Labelled:
    with _need(data / "complaints" / "train.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return Labelled(
        [decode_escapes(r["text"]) for r in rows],
        ["yes" if r["label"] == "1" else "no" for r in rows],
    )


def intents_csv(path: Path) -> Labelled:
    """An organisation's labelled examples: a CSV with `text` and `category` columns."""
    with _need(path).open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"text", "category"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{path} needs the columns text and category; missing {sorted(missing)}"
            )
        texts, labels = [], []
        for line, row in enumerate(reader, start=2):
            text, category = (row.get("text") or "").strip(), (row.get("category") or "").strip()
            if not text or not category:
                raise ValueError(f"{path}, line {line}: text and category must both be filled in")
            texts.append(text)
            labels.append(category)
    return Labelled(texts, labels)
