"""ModelTriage: the Classifier port over the shipped models and an organisation's own intents.

Per batch of texts: one encoder pass (sentence vectors), the sentiment and needs-response heads
averaged with the hashed TF-IDF models by the weights the training chose on validation data,
intents (the organisation's model when one is installed, reading the general encoder's vectors,
which costs a second encoder pass; else the built-in rules), language,
PII, spam and question. Never raises on odd text: empty, emoji-only, very long or mixed-script
posts all get a result.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from socialdesk.adapters.classifiers import BUILTIN_MODELS, CUSTOM_INTENTS, GENERAL_ENCODER
from socialdesk.adapters.classifiers.encoder import OnnxEncoder
from socialdesk.adapters.classifiers.intents import builtin_intent, is_question
from socialdesk.adapters.classifiers.language import DEFAULT_LANGUAGES, LanguageGuesser
from socialdesk.adapters.classifiers.linear import Counts, LinearModel
from socialdesk.adapters.classifiers.pii import PiiDetector
from socialdesk.adapters.classifiers.spam import spam_probability
from socialdesk.domain.triage import SENTIMENTS, TextSignals


def unit_rows(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Sentence vectors scaled to length 1 (how custom intent models take them as features)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    scaled: NDArray[np.float32] = (vectors / norms).astype(np.float32)
    return scaled


class ModelTriage:
    def __init__(
        self,
        models: Path = BUILTIN_MODELS,
        custom: Path | None = None,
        *,
        pii_patterns: Mapping[str, str] | None = None,
        pii_region: str = "US",
        languages: tuple[str, ...] = DEFAULT_LANGUAGES,
        threads: int = 2,
    ) -> None:
        card = json.loads((models / "triage.json").read_text(encoding="utf-8"))
        ensemble = card["ensemble"]
        self.base_version: str = card["version"]
        self.w_sentiment = float(ensemble["sentiment_encoder_weight"])
        self.w_needs = float(ensemble["needs_response_encoder_weight"])
        self.threshold = float(ensemble["needs_response_threshold"])
        self.encoder = OnnxEncoder(models, threads=threads)
        self.sentiment = LinearModel.load(models / "sentiment")
        self.needs = LinearModel.load(models / "needs_response")
        self.language = LanguageGuesser(languages)
        self.pii = PiiDetector(pii_patterns, region=pii_region)
        self.custom_path = custom / CUSTOM_INTENTS if custom is not None else None
        self.general_path = models / GENERAL_ENCODER.name
        self.general_version = json.loads(
            (self.general_path / "encoder.json").read_text(encoding="utf-8")
        )["version"]
        self.threads = threads
        self._general: OnnxEncoder | None = None
        self._custom: LinearModel | None = None
        self._custom_mtime: float | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        custom = self._current_custom()
        if custom is None:
            return self.base_version
        return f"{self.base_version}+intents:{custom.meta.get('version', 'custom')}"

    def _current_custom(self) -> LinearModel | None:
        """The organisation's intent model, reloaded when `train-intents` replaced its file."""
        if self.custom_path is None:
            return None
        meta = self.custom_path.with_suffix(".json")
        mtime = meta.stat().st_mtime if meta.exists() else None
        with self._lock:
            if mtime != self._custom_mtime:
                found = LinearModel.load(self.custom_path) if mtime is not None else None
                # A model trained on another encoder's vectors would read these ones wrongly.
                usable = found is not None and found.meta.get("encoder") == self.general_version
                self._custom = found if usable else None
                self._custom_mtime = mtime
            return self._custom

    def general(self) -> OnnxEncoder:
        """The general sentence encoder, loaded when the first custom intents need it."""
        with self._lock:
            if self._general is None:
                self._general = OnnxEncoder(
                    self.general_path, threads=self.threads, shares=self.encoder
                )
            return self._general

    def classify(self, texts: Sequence[str]) -> list[TextSignals]:
        batch = list(texts)
        if not batch:
            return []
        tokens = self.encoder.tokenize(batch)
        vectors = self.encoder.embed_tokens(tokens)
        counts = self.sentiment.features.counts(batch)  # hashed once, weighed per model
        sentiment = self.w_sentiment * self.encoder.head("sentiment", vectors) + (
            1 - self.w_sentiment
        ) * _aligned(self.sentiment, batch, list(SENTIMENTS), counts)
        needs = (
            self.w_needs * self.encoder.head("needs_response", vectors)[:, 1]
            + (1 - self.w_needs) * _aligned(self.needs, batch, ["no", "yes"], counts)[:, 1]
        )
        custom = self._current_custom()
        custom_p = None
        if custom is not None:
            general = self.general()
            shared = general.tokenizer is self.encoder.tokenizer
            dense = general.embed_tokens(tokens) if shared else general.embed(batch)
            custom_p = custom.scores(batch, dense=unit_rows(dense), counts=counts)
        version = self.version
        languages = self.language.guess_many(batch)
        results = []
        for i, text in enumerate(batch):
            probabilities = {
                s: round(float(p), 4) for s, p in zip(SENTIMENTS, sentiment[i], strict=True)
            }
            label = max(probabilities, key=lambda s: probabilities[s])
            needs_p = round(float(needs[i]), 4)
            if custom is not None and custom_p is not None:
                best = int(custom_p[i].argmax())
                intent, intent_p = custom.classes[best], round(float(custom_p[i][best]), 4)
                intent_model, reason = "custom", "organisation's intent model"
            else:
                intent, intent_p, reason = builtin_intent(
                    text, positive=probabilities["positive"], needs_response=needs_p
                )
                intent_model = "builtin"
            language, language_p = languages[i]
            results.append(
                TextSignals(
                    sentiment=label,
                    sentiment_p=probabilities,
                    needs_response=needs_p >= self.threshold,
                    needs_response_p=needs_p,
                    intent=intent,
                    intent_p=intent_p,
                    intent_model=intent_model,
                    language=language,
                    language_p=round(language_p, 4),
                    pii=self.pii.find(text),
                    spam_p=spam_probability(text),
                    question=is_question(text),
                    model_version=version,
                    intent_reason=reason,
                )
            )
        return results


def _aligned(
    model: LinearModel, texts: list[str], order: list[str], counts: Counts
) -> NDArray[np.float32]:
    scores = model.scores(texts, counts=counts)
    aligned: NDArray[np.float32] = scores[:, [model.classes.index(c) for c in order]]
    return aligned
