"""The shipped triage models, loaded from the package: sane answers, odd input never crashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from socialdesk.adapters.classifiers import BUILTIN_MODELS
from socialdesk.adapters.classifiers.encoder import MAX_TOKENS
from socialdesk.adapters.classifiers.triage import ModelTriage
from socialdesk.domain.triage import SENTIMENTS


@pytest.fixture(scope="module")
def model() -> ModelTriage:
    return ModelTriage(threads=1)


def test_the_model_card_records_validation_figures() -> None:
    card = json.loads((BUILTIN_MODELS / "triage.json").read_text())
    assert card["validation"]["sentiment_macro_recall"] > 0.6
    assert card["validation"]["needs_response_macro_f1"] > 0.7
    size = sum(p.stat().st_size for p in BUILTIN_MODELS.iterdir())
    assert size < 60 * 1024 * 1024, "model files must stay small enough to ship"


def test_the_model_version_names_the_files_that_ship() -> None:
    """Messages store the model's version: it ends with a digest of the model files and the
    ensemble, so a changed file without `socialdesk triage train` making a new card fails here."""
    from socialdesk.ml.train import model_digest

    card = json.loads((BUILTIN_MODELS / "triage.json").read_text())
    assert card["version"].endswith("-" + model_digest(BUILTIN_MODELS, card["ensemble"]))


def test_clear_cases(model: ModelTriage) -> None:
    angry, happy, question = model.classify(
        [
            "@AcmeHelp worst service ever, my order never arrived and nobody answers",
            "@AcmeHelp thank you so much, the new phone is amazing!",
            "@AcmeHelp do you ship to Canada?",
        ]
    )
    assert angry.sentiment == "negative"
    assert angry.needs_response
    assert happy.sentiment == "positive"
    assert not happy.needs_response
    assert happy.intent == "praise"
    assert question.question
    assert angry.model_version == model.version
    assert abs(sum(angry.sentiment_p.values()) - 1) < 0.01
    assert set(angry.sentiment_p) == set(SENTIMENTS)


ODD = [
    "",
    "   ",
    "😡😡😡😡",
    "a" * 65536,
    "word " * 13000,
    "Mi pedido 📦 no llegó — 我的包裹 — где посылка?",
    "\\ud83d\\ude21 literal escapes \\u2019 left in text",
    "\ud83d lone surrogate \udc00 from a broken escape",
    "<script>alert(1)</script>",
    "\u202e\u0000 control \u200b chars",
]


def test_emoji_are_read_not_unknown(model: ModelTriage) -> None:
    """The encoder's vocabulary has no emoji: each was one [UNK] token, so "😡😡😡" and "😍" got
    the same sentiment (0.10/0.46/0.45 and 0.10/0.45/0.45). They are read as their names now."""
    common = "😂❤😍😭😊🙏😘💕🔥😁👍😩😒👌😡🙄👎😤🤬💔🎉✨⭐😱"
    tokens = model.encoder.tokenize(list(common))
    assert model.encoder.tokenizer.token_to_id("[UNK]") not in {t for row in tokens for t in row}
    angry, love, thumbs_down = model.classify(["😡😡😡", "😍", "👎"])
    assert angry.sentiment == "negative"
    assert love.sentiment == "positive"
    assert thumbs_down.sentiment == "negative"


def test_odd_input_gets_a_result(model: ModelTriage) -> None:
    results = model.classify(ODD)
    assert len(results) == len(ODD)
    for result in results:
        assert result.sentiment in SENTIMENTS
        assert 0 <= result.needs_response_p <= 1
        assert 0 <= result.spam_p <= 1
    assert results[0].language == "und"


def test_a_text_gets_the_same_triage_in_any_batch(model: ModelTriage) -> None:
    """The encoders' int8 activation scales are fixed at export, not worked out per batch: a
    post's triage does not depend on the posts that share its batch or their length (with
    scales per batch, one tweet's p(negative) moved by up to 0.15 between batch sizes)."""
    texts = [
        "my bill is wrong",
        "love it",
        "where is my parcel #123?",
        "@AcmeHelp worst service ever, my order never arrived and nobody answers",
        "meh. it's fine I guess",
        *ODD[1:6],
    ]
    batch = model.classify(texts)
    single = [model.classify([t])[0] for t in texts]
    others = model.classify([*reversed(texts), "a much longer post about nothing at all " * 9])
    for result in (single, others[len(texts) - 1 :: -1]):
        for a, b in zip(batch, result, strict=True):
            assert a.sentiment == b.sentiment
            for s in SENTIMENTS:
                assert abs(a.sentiment_p[s] - b.sentiment_p[s]) <= 1e-4  # rounding to 4 places
            assert abs(a.needs_response_p - b.needs_response_p) <= 1e-4
    for encoder in (model.encoder, model.general()):
        together = encoder.embed(texts)
        alone = np.vstack([encoder.embed([t]) for t in texts])
        assert np.allclose(together, alone, rtol=0, atol=1e-6)


def test_custom_intents_replace_the_builtin_taxonomy(tmp_path: Path) -> None:
    from socialdesk.ml.datasets import Labelled
    from socialdesk.ml.intents import train_intents

    model = ModelTriage(custom=tmp_path, threads=1)
    assert model.classify(["my card never arrived"])[0].intent_model == "builtin"
    texts, labels = [], []
    for i in range(12):
        texts += [
            f"my card has not arrived yet {i}",
            f"what is the exchange rate today {i}",
            f"why was the payment on my card reverted {i}",
        ]
        # Banking77's own names: any printable label is a category.
        labels += ["card_arrival", "exchange_rate", "reverted_card_payment?"]
    # A model read off the shared triage encoder's vectors is not used with the general ones.
    train_intents(Labelled(texts, labels), model.encoder, tmp_path, seed=1)
    assert model.classify(["my card never arrived"])[0].intent_model == "builtin"
    meta = train_intents(Labelled(texts, labels), model.general(), tmp_path, seed=1)
    assert (meta["categories"], meta["encoder"]) == (3, "minilm-l6-general-int8")
    found = model.classify(
        [
            "still waiting for the card to arrive",
            "exchange rate for euros?",
            "my card payment was reverted",
        ]
    )
    assert [s.intent for s in found] == ["card_arrival", "exchange_rate", "reverted_card_payment?"]
    assert found[0].intent_model == "custom"
    assert 0.34 < found[0].intent_p <= 1.0  # a calibrated probability, not a raw SVM score
    assert "+intents:" in model.version


def test_both_encoders_share_the_pool_and_arena(model: ModelTriage) -> None:
    """Two encoders in one process take turns on one thread pool and one memory arena, and keep
    no memory plan per batch shape (docs/triage.md: speed and peak memory with custom intents)."""
    for encoder in (model.encoder, model.general()):
        options = encoder.session.get_session_options()
        assert not options.use_per_session_threads
        assert not options.enable_mem_pattern
        assert options.get_session_config_entry("session.use_env_allocators") == "1"


def test_the_encoders_share_one_tokenizer_and_its_tokens(model: ModelTriage) -> None:
    """The shipped encoders ship the same tokenizer file: the general encoder takes the triage
    encoder's tokenizer (one copy in memory) and reads the token ids made for it, so custom
    intents tokenise each text once."""
    general = model.general()
    assert general.tokenizer is model.encoder.tokenizer
    texts = ["my card never arrived 😡", "", "🙂", "x " * 40_000, "Привет 世界 hello \ud800"]
    tokens = model.encoder.tokenize(texts)
    assert max(map(len, tokens)) == MAX_TOKENS
    assert [t[0] for t in tokens] == [model.encoder.tokenizer.token_to_id("[CLS]")] * len(texts)
    assert np.array_equal(general.embed_tokens(tokens), general.embed(texts))


def test_a_general_encoder_with_another_tokenizer_tokenises_for_itself(tmp_path: Path) -> None:
    """Models built apart (another tokenizer file beside the general encoder): custom intents
    still read the general encoder's vectors of its own tokens."""
    from socialdesk.ml.datasets import Labelled
    from socialdesk.ml.intents import train_intents

    models = tmp_path / "models"
    shutil.copytree(BUILTIN_MODELS, models)
    spec = json.loads((models / "general" / "tokenizer.json").read_text(encoding="utf-8"))
    spec["truncation"]["max_length"] = 256  # another file; the runtime sets its own limit
    (models / "general" / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    triage = ModelTriage(models, custom=tmp_path, threads=1)
    general = triage.general()
    assert general.tokenizer is not triage.encoder.tokenizer
    texts = [f"card never arrived {i}" for i in range(6)] + [f"exchange rate {i}" for i in range(6)]
    labels = ["card_arrival"] * 6 + ["exchange_rate"] * 6
    train_intents(Labelled(texts, labels), general, tmp_path, seed=1)
    found = triage.classify(["my card has not arrived", "what is the exchange rate"])
    assert [s.intent for s in found] == ["card_arrival", "exchange_rate"]
