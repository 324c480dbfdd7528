"""Saved listening queries: names, the tag a match gives, and where a matched post is marked."""

from __future__ import annotations

import pytest

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.listening import check_name, highlights, parse_query, query_tag


def marked(query: str, text: str) -> list[str]:
    return [text[start:end] for start, end in highlights(parse_query(query), text)]


class TestHighlights:
    def test_words_phrases_handles_and_tags_as_written(self) -> None:
        text = "Acme  Bank refunds! @AcmeBank #FAIL, café"
        query = '("acme bank" OR @acmebank) refund* #fail cafe -lang:de'
        assert marked(query, text) == ["Acme  Bank", "refunds", "@AcmeBank", "#FAIL", "café"]

    def test_excluded_terms_and_filters_are_not_marked(self) -> None:
        assert marked("down -outage lang:en", "outage: app down") == ["down"]

    def test_whole_words_only_and_overlaps_merged(self) -> None:
        assert marked("bank", "banking at the bank") == ["bank"]
        assert marked('"app is down" OR down', "the app is down") == ["app is down"]

    def test_a_mention_only_by_the_author_marks_nothing(self) -> None:
        assert marked("@acme", "no handle here") == []

    def test_the_spans_index_the_text(self) -> None:
        text = "<b>DOWN</b>"
        assert highlights(parse_query("down"), text) == [(3, 7)]


class TestNames:
    def test_blank_space_is_collapsed(self) -> None:
        assert check_name("  Outage \n Watch ") == "Outage Watch"

    @pytest.mark.parametrize("raw", ["", "   ", "x" * 101, "bad\x00name"])
    def test_empty_long_or_broken_names_are_refused(self, raw: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            check_name(raw)
        assert refused.value.field == "name"

    @pytest.mark.parametrize(
        ("name", "tag"),
        [
            ("Outage Watch", "listening:outage-watch"),
            ("Café / Crème", "listening:cafe-creme"),
            ("☃☃", "listening:query"),
            ("a" * 60, "listening:" + "a" * 40),
        ],
    )
    def test_the_tag_is_a_slug_of_the_name(self, name: str, tag: str) -> None:
        assert query_tag(name) == tag
