"""Language of a message (py3langid; its model ships in the wheel, nothing is downloaded).

Handles, links, hashtags and emoji say nothing about the language and are removed first; a text
with too few letters left, or a guess the model is unsure of, is `und` (undetermined) rather than
a confident mistake.

py3langid reads a text by walking a byte automaton in a Python loop, about 0.06 ms a tweet: a
fifth of what triage spends in Python per post. A batch is walked in step instead (`BatchWalk`:
one numpy step per byte position for all texts at once, 0.016 ms a tweet), with the same tables
and the same guesses (probabilities agree to the fifth decimal: float32 sums in another order).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

NOISE = re.compile(r"(?:https?://\S+|www\.\S+|[@#]\w+)")
UNDETERMINED = "und"
MIN_LETTERS = 3
MIN_CONFIDENCE = 0.25
# The batch walk pays a numpy step per byte of a batch's longest text: fewer texts than this, or
# texts longer than the cap (bytes), are walked one by one as py3langid does.
BATCH_WALK_MIN = 16
BATCH_WALK_MAX_BYTES = 512
# Languages a care desk meets most; py3langid knows 97, and a narrower set is more accurate on
# short posts. Settings can change it.
DEFAULT_LANGUAGES = (
    "en",
    "es",
    "pt",
    "fr",
    "de",
    "it",
    "nl",
    "sv",
    "da",
    "no",
    "fi",
    "pl",
    "cs",
    "ro",
    "hu",
    "tr",
    "el",
    "ru",
    "uk",
    "ar",
    "he",
    "fa",
    "hi",
    "bn",
    "ur",
    "id",
    "ms",
    "tl",
    "vi",
    "th",
    "zh",
    "ja",
    "ko",
)


class LanguageGuesser:
    def __init__(self, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> None:
        ptc, pc, classes, nextmove, row, output = _narrowed_model(languages)
        self._identifier = LanguageIdentifier(
            ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row
        )
        self._walk = BatchWalk(self._identifier)

    def guess(self, text: str) -> tuple[str, float]:
        return self.guess_many([text])[0]

    def guess_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(language, probability) for each text: a batch in step, the same as one by one."""
        found: list[tuple[str, float]] = [(UNDETERMINED, 0.0)] * len(texts)
        cleaned = {}
        for i, text in enumerate(texts):
            clean = NOISE.sub(" ", text[:2000])
            if sum(map(str.isalpha, clean)) >= MIN_LETTERS:  # Unicode letters: categories L*
                cleaned[i] = clean
        walked = {}
        if len(cleaned) >= BATCH_WALK_MIN:
            # the bytes py3langid reads: lowered if all capitals, NFC, UTF-8
            data = {i: LanguageIdentifier._encode(clean) for i, clean in cleaned.items()}
            short = [i for i, b in data.items() if len(b) <= BATCH_WALK_MAX_BYTES]
            walked = dict(zip(short, self._walk.classify([data[i] for i in short]), strict=True))
        for i, clean in cleaned.items():
            language, probability = walked[i] if i in walked else self._identifier.classify(clean)
            if probability < MIN_CONFIDENCE:
                found[i] = (UNDETERMINED, float(probability))
            else:
                found[i] = (str(language), float(probability))
        return found


class BatchWalk:
    """py3langid's scoring (naive Bayes over the features its byte automaton emits; probabilities
    normalised as its `norm_probs`) for many texts at once, on numpy views of its tables."""

    def __init__(self, identifier: LanguageIdentifier) -> None:
        self.classes: list[str] = identifier.nb_classes
        self.ptc: NDArray[np.float16] = identifier.nb_ptc
        self.pc: NDArray[np.float32] = identifier.nb_pc
        nextmove, row = identifier.tk_nextmove, identifier.tk_row  # stdlib arrays
        self.next = np.frombuffer(nextmove, dtype=np.dtype(nextmove.typecode))
        self.rowbase = np.frombuffer(row, dtype=np.dtype(row.typecode)).astype(np.int64) << 8
        self.output = np.asarray(identifier.tk_output, dtype=np.int32)
        # A language py3langid knows under two scripts (sr, uz) has two columns: the second is
        # folded into the first, as its classify does with these pairs.
        self.aliases: list[tuple[int, int]] = identifier._alias_pairs

    def classify(self, texts: list[bytes]) -> list[tuple[str, float]]:
        """(language, probability) per text (non-empty byte strings)."""
        if not texts:
            return []
        n = len(texts)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        order = np.argsort(-lengths, kind="stable")  # longest first: the active rows are a prefix
        lengths = lengths[order]
        width = int(lengths[0])
        filled = np.arange(width) < lengths[:, None]
        grid = np.zeros((n, width), dtype=np.uint8)
        grid[filled] = np.frombuffer(b"".join(texts[i] for i in order), dtype=np.uint8)
        active = np.searchsorted(-lengths, -np.arange(width), side="right")
        states = np.zeros(n, dtype=np.int64)
        visited = np.zeros((n, width), dtype=np.int32)  # automaton states (104,583 of them)
        for position in range(width):
            k = active[position]
            states[:k] = self.next[self.rowbase[states[:k]] + grid[:k, position]]
            visited[:k, position] = states[:k]
        features = self.output[visited[filled]]
        rows = np.repeat(np.arange(n), lengths)
        emitted = features >= 0
        keys, counts = np.unique(
            rows[emitted] * len(self.ptc) + features[emitted], return_counts=True
        )
        text_of, feature = np.divmod(keys, len(self.ptc))
        scores = np.zeros((n, len(self.pc)), dtype=np.float32)  # no features: all equal
        if len(keys):
            weighted = np.log1p(counts.astype(np.float32))[:, None] * self.ptc[feature]
            starts = np.flatnonzero(np.r_[True, text_of[1:] != text_of[:-1]])
            scores[text_of[starts]] = np.add.reduceat(weighted, starts, axis=0) + self.pc
        scores *= (1.0 / np.sqrt(lengths)).astype(np.float32)[:, None]
        np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        for kept, folded in self.aliases:
            scores[:, kept] += scores[:, folded]
            scores[:, folded] = 0.0
        best = scores.argmax(axis=1)
        found: list[tuple[str, float]] = [("", 0.0)] * n
        for row, text in enumerate(order):
            found[text] = (self.classes[best[row]], float(scores[row, best[row]]))
        return found


def _narrowed_model(languages: tuple[str, ...]) -> tuple[Any, ...]:
    """py3langid's model tables narrowed to `languages`.

    `set_languages` narrows a loaded identifier the same way (the same columns, the same
    scores) but keeps the whole 97-language table beside the narrow one, for resetting:
    28 MB of the 78 the language model held in every process that triages.
    """
    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    unknown = sorted(set(languages) - set(classes))
    if unknown:
        raise ValueError(f"unknown language code(s): {', '.join(unknown)}")
    wanted = set(languages)
    columns = [i for i, c in enumerate(classes) if c in wanted]
    return ptc[:, columns], pc[columns], [classes[i] for i in columns], nextmove, row, output
