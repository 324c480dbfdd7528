"""What text may be stored: valid Unicode, no NUL, at most 64 KiB of UTF-8."""

from __future__ import annotations

import pytest

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.text import MAX_TEXT_BYTES, check_text, text_problem


def test_exactly_the_limit_is_accepted_and_one_byte_more_is_not() -> None:
    assert text_problem("a" * MAX_TEXT_BYTES) is None
    assert (
        text_problem("a" * (MAX_TEXT_BYTES + 1)) == "is 65,537 bytes of UTF-8; the limit is 65,536"
    )


def test_limit_counts_utf8_bytes_not_characters() -> None:
    assert text_problem("é" * (MAX_TEXT_BYTES // 2)) is None
    assert text_problem("é" * (MAX_TEXT_BYTES // 2 + 1)) is not None


def test_lone_surrogate_is_named_with_its_position() -> None:
    problem = text_problem("ok \ud800 no")
    assert problem is not None
    assert "position 3" in problem
    assert "surrogate" in problem


def test_nul_is_refused() -> None:
    assert text_problem("a\x00b") == "contains a NUL character at position 1"


def test_emoji_and_mixed_scripts_are_fine() -> None:
    assert text_problem("😡📦 посылка 包裹 طرد") is None


def test_check_text_strips_and_refuses_empty() -> None:
    assert check_text("  hi \n", field="text") == "hi"
    with pytest.raises(InvalidInput, match="text is empty"):
        check_text(" \n ", field="text")
    assert check_text("", field="text", allow_empty=True) == ""
