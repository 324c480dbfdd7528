"""Text as the triage models read it: handles, links, emoji and spaces."""

from __future__ import annotations

import unicodedata

import pytest

from socialdesk.adapters.classifiers.normalise import (
    SPOKEN_EMOJI,
    emoji_as_words,
    normalise_for_model,
)


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("love it 😍", "love it smiling face with heart-shaped eyes"),
        ("worst service 😡😡😡😡😡", "worst service pouting face"),  # a run is spoken once
        ("👍🏽👍🏽 thanks", "thumbs up thanks"),  # skin tones go, the run stays one
        ("❤️ it", "heart it"),  # variation selector gone, "heavy black" describes the glyph
        ("👨\u200d👩\u200d👧", "man woman girl"),  # joined sequences: each part
        ("🇺🇸🇬🇧 hello", "flag hello"),
        ("😂😭", "face with tears of joy loudly crying face"),  # two emoji, two names
        ("5°C ©2020 → next", "5°C ©2020 → next"),  # symbols the encoder knows stay
        ("@AcmeHelp 😡 https://t.co/x", "@user pouting face http"),
        ("plain   text", "plain text"),
        ("", ""),
    ],
)
def test_text_as_the_models_read_it(text: str, read: str) -> None:
    assert normalise_for_model(text) == read


def test_a_lone_surrogate_is_replaced_not_raised() -> None:
    assert normalise_for_model("a \ud83d b") == "a \ufffd b"


def test_an_unnamed_code_point_in_an_emoji_block_is_dropped() -> None:
    # the first one this Python's Unicode tables leave unassigned (new emoji come every year)
    unnamed = next(chr(c) for c in range(0x1FA70, 0x1FB00) if not unicodedata.name(chr(c), ""))
    assert emoji_as_words(f"a {unnamed} b").split() == ["a", "b"]


def test_only_the_first_emoji_are_spoken() -> None:
    """A 64 KiB post of mixed emoji would otherwise grow to some 372,000 characters, none of them
    read past the first few hundred."""
    faces = [chr(c) for c in range(0x1F600, 0x1F650)]  # 80 different faces
    spoken = emoji_as_words("".join(faces) * 200)
    assert spoken.count("face") >= SPOKEN_EMOJI
    assert spoken.endswith(faces[-1])  # the rest stay as they are
    assert len(spoken) < 16_000 + SPOKEN_EMOJI * 60
