"""Listening queries: the boolean language, word matching, normal form and the errors people see."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.listening import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    And,
    Lang,
    Mention,
    Not,
    Or,
    Phrase,
    Platform,
    Post,
    Query,
    QueryError,
    Tag,
    Word,
    parse_query,
    prepare,
)


def matches(query: str, text: str, **post: str) -> bool:
    return parse_query(query).matches(Post(text, **post))


class TestOperators:
    def test_terms_side_by_side_are_anded(self) -> None:
        assert parse_query("refund late") == And((Word("refund"), Word("late")))
        assert matches("refund late", "my refund is late")
        assert not matches("refund late", "my refund arrived")

    def test_explicit_and_is_the_same_as_juxtaposition(self) -> None:
        assert parse_query("refund AND late") == parse_query("refund late")

    def test_or(self) -> None:
        query = parse_query("outage OR down")
        assert query == Or((Word("outage"), Word("down")))
        assert query.matches(Post("the app is down"))
        assert query.matches(Post("another outage"))
        assert not query.matches(Post("all fine"))

    def test_not_and_minus_exclude(self) -> None:
        assert parse_query("bank NOT river") == parse_query("bank -river")
        assert matches("bank -river", "my bank account")
        assert not matches("bank -river", "the river bank")

    def test_minus_before_a_group_phrase_handle_or_filter(self) -> None:
        assert parse_query('bank -(river OR "west bank")') == And(
            (Word("bank"), Not(Or((Word("river"), Phrase(("west", "bank"))))))
        )
        assert parse_query("bank -@river") == And((Word("bank"), Not(Mention("river"))))
        assert parse_query("bank -lang:de") == And((Word("bank"), Not(Lang("de"))))

    def test_lower_case_keywords_are_words(self) -> None:
        assert parse_query("black and white") == And((Word("black"), Word("and"), Word("white")))
        assert parse_query('"OR"') == Word("or")

    def test_a_hyphen_inside_a_word_is_not_an_operator(self) -> None:
        assert parse_query("e-mail") == Phrase(("e", "mail"))
        assert matches("e-mail", "send an E-Mail please")
        assert not matches("e-mail", "mail me")


class TestPrecedence:
    def test_and_binds_tighter_than_or(self) -> None:
        assert parse_query("a b OR c") == Or((And((Word("a"), Word("b"))), Word("c")))
        assert parse_query("a OR b c") == Or((Word("a"), And((Word("b"), Word("c")))))

    def test_not_binds_tighter_than_and(self) -> None:
        assert parse_query("NOT a b") == And((Not(Word("a")), Word("b")))
        assert parse_query("b NOT a OR c") == Or((And((Word("b"), Not(Word("a")))), Word("c")))

    def test_parentheses_override(self) -> None:
        assert parse_query("(a OR b) c") == And((Or((Word("a"), Word("b"))), Word("c")))
        assert matches("(a OR b) c", "b c")
        assert not matches("(a OR b) c", "b")
        assert matches("a OR b c", "a")

    def test_nested_groups_of_the_same_operator_flatten(self) -> None:
        assert parse_query("(a b) c") == parse_query("a (b c)") == parse_query("a b c")
        assert parse_query("(a OR b) OR c") == Or((Word("a"), Word("b"), Word("c")))


class TestWords:
    def test_whole_words_only(self) -> None:
        assert matches("down", "it's down!")
        assert not matches("down", "download failed")
        assert not matches("bank", "banking app")

    def test_case_and_accents_are_ignored_both_ways(self) -> None:
        assert matches("cafe", "Great CAFÉ")
        assert matches("Café", "cafe")
        assert matches("strasse", "Berliner Straße 5")
        assert matches("zurich", "Zürich")

    def test_wildcard_matches_words_starting_with_the_stem(self) -> None:
        query = parse_query("refund*")
        assert query == Word("refund", prefix=True)
        for text in ("refund", "REFUNDS please", "was it refunded?"):
            assert query.matches(Post(text)), text
        assert not query.matches(Post("unrefunded"))

    def test_phrase_matches_consecutive_words(self) -> None:
        assert matches('"acme bank"', "I love Acme-Bank!")
        assert not matches('"acme bank"', "acme is my bank")
        assert not matches('"acme bank"', "bank acme")

    def test_one_word_in_quotes_is_a_word(self) -> None:
        assert parse_query('"Refund"') == Word("refund")

    def test_words_inside_handles_and_hashtags_match(self) -> None:
        assert matches("acmebank", "hey @acmebank")
        assert matches("outage", "#outage again")

    def test_chinese_is_matched_character_by_character(self) -> None:
        assert matches("包裹", "我的包裹丢了")
        assert not matches("包裹", "我的包丢了裹")


class TestHandlesTagsAndFilters:
    def test_handle_mentioned_in_the_text(self) -> None:
        assert matches("@AcmeBank", "why is @acmebank down")
        assert matches("@acme.bank", "hi @Acme.Bank.")
        assert not matches("@acmebank", "write to help@acmebank.com")
        assert not matches("@acmebank", "acmebank is down")

    def test_handle_as_author(self) -> None:
        assert matches("@acmebank", "We are looking into it", author_handle="@AcmeBank")
        assert matches("@acmebank", "We are looking into it", author_handle="acmebank")
        assert not matches("@acmebank", "We are looking into it", author_handle="other")

    def test_hashtag(self) -> None:
        assert matches("#Outage", "again #OUTAGE")
        assert not matches("#outage", "an outage")
        assert not matches("#39", "it&#39;s fine")

    def test_language(self) -> None:
        assert matches("bank lang:pt", "banco e bank", language="pt-BR")
        assert matches("bank lang:PT", "bank", language="pt")
        assert not matches("bank lang:pt", "bank", language="en")
        assert not matches("bank lang:pt", "bank")  # unknown language: not Portuguese
        assert matches("bank -lang:pt", "bank")

    def test_platform(self) -> None:
        assert matches("bank platform:x", "bank", platform="x")
        assert not matches("bank platform:x", "bank", platform="facebook")


def test_competitor_example() -> None:
    query = parse_query('("acme bank" OR @acmebank) AND (outage OR down) -lang:de')
    assert query.matches(Post("Acme Bank is DOWN again", language="en"))
    assert query.matches(Post("any outage?", author_handle="AcmeBank", language="en"))
    assert query.matches(Post("@ACMEBANK down?"))  # language not detected
    assert not query.matches(Post("Acme Bank down", language="de"))
    assert not query.matches(Post("bank acme down", language="en"))
    assert not query.matches(Post("Acme Bank is great", language="en"))
    assert str(query) == '("acme bank" OR @acmebank) (outage OR down) -lang:de'
    assert query.terms() == (
        Phrase(("acme", "bank")),
        Mention("acmebank"),
        Word("outage"),
        Word("down"),
    )


def test_one_prepared_post_serves_many_queries() -> None:
    post = prepare(Post("Refunds at #AcmeBank are slow", author_handle="jo"))
    results = [parse_query(q).matches(post) for q in ("refund*", "#acmebank", "@jo", "fast")]
    assert results == [True, True, True, False]


def test_terms_skip_excluded_ones_and_repeat_once() -> None:
    assert parse_query("a -b (a OR #c) lang:en").terms() == (Word("a"), Tag("c"))


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "position", "says"),
        [
            ("", 0, "empty"),
            ("   ", 0, "empty"),
            ("(refund late", 0, "never closed"),
            ("refund (late OR (slow)", 7, "never closed"),
            ("refund late)", 11, "no matching '('"),
            ("refund OR", 7, "'OR' needs a term after it"),
            ("refund AND", 7, "'AND' needs a term after it"),
            ("OR refund", 0, "'OR' needs a term before it"),
            ("refund OR AND late", 7, "'OR' needs a term after it"),
            ("refund NOT", 7, "'NOT' needs a term after it"),
            ("refund (OR late)", 8, "'OR' needs a term before it"),
            ("refund ()", 7, "empty parentheses"),
            ('refund "late', 7, "quote opened here is never closed"),
            ('refund ""', 7, "no letters or digits"),
            ("refund - late", 7, "directly before"),
            ("refund ...", 7, "no letters or digits"),
            ("NOT refund", 0, "must look for"),
            ("-refund -late", 0, "must look for"),
            ("lang:de", 0, "must look for"),
            ("refund OR -late", 10, "must look for"),
            ("refund OR platform:x", 10, "must look for"),
            ("refund from:acme", 7, "unknown filter 'from:'"),
            ("refund lang:german", 7, "not a language code"),
            ("refund platform:X!", 7, "not a platform name"),
            ("re*fund", 0, "only at the end"),
            ("refund a*", 7, "at least 2 letters"),
            ("refund @", 7, "not a handle"),
            ("refund #", 7, "not a hashtag"),
        ],
    )
    def test_syntax_errors_name_the_position(self, text: str, position: int, says: str) -> None:
        with pytest.raises(QueryError, match=f"at position {position}\\)$") as caught:
            parse_query(text)
        assert says in caught.value.message
        assert caught.value.position == position
        assert isinstance(caught.value, InvalidInput)
        assert caught.value.field == "query"

    def test_too_long(self) -> None:
        parse_query("a" * MAX_QUERY_CHARS)
        with pytest.raises(QueryError, match="2,001 characters long; the limit is 2,000"):
            parse_query("a" * (MAX_QUERY_CHARS + 1))

    def test_too_deep(self) -> None:
        parse_query("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
        with pytest.raises(QueryError, match=f"more than {MAX_DEPTH} deep") as caught:
            parse_query("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
        assert caught.value.position == MAX_DEPTH
        with pytest.raises(QueryError, match="deep"):
            parse_query("a " + "-" * (MAX_DEPTH + 1) + "b")

    def test_constructors_check_their_values(self) -> None:
        with pytest.raises(InvalidInput, match="single word"):
            Word("two words")
        with pytest.raises(InvalidInput, match="at least two words"):
            Phrase(("one",))
        with pytest.raises(InvalidInput, match="two operands"):
            And((Word("a"),))


# -- normal form ----------------------------------------------------------------------------------

words = st.text(alphabet="abcxyzéüß019_", min_size=1, max_size=6)
atoms: st.SearchStrategy[Query] = st.one_of(
    st.builds(Word, words),
    st.builds(Word, st.text(alphabet="abcé", min_size=2, max_size=6), prefix=st.just(True)),
    st.lists(words, min_size=2, max_size=3).map(lambda ws: Phrase(tuple(ws))),
    st.builds(Mention, st.from_regex(r"[A-Za-z0-9_]{1,6}(\.[a-z]{1,3})?", fullmatch=True)),
    st.builds(Tag, st.from_regex(r"[A-Za-z0-9_]{1,6}", fullmatch=True)),
    st.builds(Lang, st.sampled_from(["en", "de", "pt-br", "EN"])),
    st.builds(Platform, st.sampled_from(["x", "facebook", "email"])),
)
trees: st.SearchStrategy[Query] = st.recursive(
    atoms,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda cs: And(tuple(cs))),
        st.lists(children, min_size=2, max_size=3).map(lambda cs: Or(tuple(cs))),
        children.map(Not),
    ),
    max_leaves=8,
)


@given(tree=trees)
@settings(max_examples=400)
def test_printed_form_parses_back_to_the_same_tree(tree: Query) -> None:
    # Anchored by a plain word, since a query that only excludes or filters is refused.
    query = And((Word("anchor"), tree))
    assert parse_query(str(query)) == query
    assert str(parse_query(str(query))) == str(query)


@given(
    tree=trees,
    text=st.lists(
        st.sampled_from(["ab", "xyz", "Café", "@ab", "#xyz", "b.c", "-", "ß"]), max_size=6
    ),
)
@settings(max_examples=300)
def test_not_is_the_complement_and_parsing_keeps_the_meaning(tree: Query, text: list[str]) -> None:
    post = prepare(Post(" ".join(text), author_handle="ab", language="en", platform="x"))
    assert Not(tree).matches(post) != tree.matches(post)
    query = And((Word("anchor"), tree))
    assert parse_query(str(query)).matches(post) is query.matches(post)
