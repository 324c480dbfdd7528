"""Listening queries under hostile and generated input: any text parses or is refused with a
QueryError, the printed form is a fixed point, and matching agrees with a plain reference
evaluator written from the grammar in the module docstring, not from the implementation."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from socialdesk.domain.listening import (
    MAX_QUERY_CHARS,
    Post,
    Query,
    QueryError,
    fold,
    parse_query,
)

# Text that reaches the lexer's corners: operators, quotes, groups, filters, wildcards, accents.
PIECES = st.sampled_from(
    ["AND", "OR", "NOT", "and", "-", "(", ")", '"', "*", "@", "#", ":", "lang:", "platform:",
     "e-mail", "café", "\u03d2", "\u1d2c", "ß", "包", "_", ".", " ", "  ", "\t", "x", "refund"]
)  # fmt: skip
QUERY_TEXT = st.one_of(st.text(max_size=60), st.lists(PIECES, max_size=12).map("".join))


def parsed(text: str) -> Query | QueryError:
    try:
        return parse_query(text)
    except QueryError as exc:
        return exc


@given(text=QUERY_TEXT)
@settings(max_examples=200, deadline=None)
@example(text="\u03d2")  # folded twice to small, once to capital upsilon: missed its own word
@example(text="(" * 25 + "a" + ")" * 25)
@example(text="a " + "-" * 30 + "b")
def test_any_text_parses_or_is_refused_with_a_position(text: str) -> None:
    """Never KeyError, IndexError or RecursionError; a refusal names a place in the text."""
    query = parsed(text)
    if isinstance(query, QueryError):
        assert query.field == "query"
        assert 0 <= query.position <= max(len(text), MAX_QUERY_CHARS)
        return
    printed = str(query)
    assert parse_query(printed) == query  # the normal form parses back to the same tree
    assert str(parse_query(printed)) == printed


@given(text=st.text(max_size=30))
@settings(max_examples=150, deadline=None)
@example(text="\u1d2c\u03d2\u03f2")
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(word=st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8))
@settings(max_examples=150, deadline=None)
@example(word="\u03d2")
@example(word="\u1d2c")
def test_a_word_always_finds_itself(word: str) -> None:
    """Whatever a post says, searching for it finds the post (unless a filter is in the way)."""
    try:
        query = parse_query(f'"{word}"')
    except QueryError:
        return  # no letters left after folding (a lone combining mark)
    assert query.matches(Post(word))
    shouted = word.upper()
    assume(fold(shouted) == fold(word))  # not so for Turkish dotless i, whose capital is I
    assert query.matches(Post(f"before {shouted} after"))


# -- a reference evaluator ------------------------------------------------------------------------

VOCAB = ("refund", "late", "acme", "bank", "down")
POST_TOKENS = st.sampled_from(
    [*VOCAB, "Refund", "LATE", "Acme-Bank", "refunds", "@acme", "#bank", "@bank.", "café"]
)


@dataclass(frozen=True)
class Doc:
    """A post as the reference sees it: lower-case words in order, mentions, tags, language."""

    words: tuple[str, ...]
    mentions: frozenset[str]
    tags: frozenset[str]
    language: str | None


def doc_of(tokens: list[str], author: str | None, language: str | None) -> Doc:
    words: list[str] = []
    mentions, tags = set(), set()
    for token in tokens:
        low = token.lower().rstrip(".")
        if low.startswith("@"):
            mentions.add(low[1:])
        if low.startswith("#"):
            tags.add(low[1:])
        words.extend(low.lstrip("@#").replace("é", "e").split("-"))
    if author:
        mentions.add(author)
    return Doc(tuple(words), frozenset(mentions), frozenset(tags), language)


# A query tree as plain tuples: ("word", w), ("prefix", stem), ("phrase", (w1, w2)),
# ("mention", h), ("tag", t), ("lang", code), ("not", q), ("and", qs), ("or", qs).
Tree = tuple[object, ...]

LEAVES: st.SearchStrategy[Tree] = st.one_of(
    st.tuples(st.just("word"), st.sampled_from(VOCAB)),
    st.tuples(st.just("prefix"), st.sampled_from(["ref", "ba", "ac"])),
    st.tuples(st.just("phrase"), st.tuples(st.sampled_from(VOCAB), st.sampled_from(VOCAB))),
    st.tuples(st.just("mention"), st.sampled_from(["acme", "bank"])),
    st.tuples(st.just("tag"), st.sampled_from(["bank", "acme"])),
    st.tuples(st.just("lang"), st.sampled_from(["en", "pt"])),
)
TREES: st.SearchStrategy[Tree] = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=6,
)


def holds(tree: Tree, doc: Doc) -> bool:
    kind, arg = tree
    if kind == "word":
        return arg in doc.words
    if kind == "prefix":
        return any(w.startswith(str(arg)) for w in doc.words)
    if kind == "phrase":
        assert isinstance(arg, tuple)
        return any(doc.words[i : i + 2] == arg for i in range(len(doc.words)))
    if kind == "mention":
        return arg in doc.mentions
    if kind == "tag":
        return arg in doc.tags
    if kind == "lang":
        return doc.language is not None and doc.language.split("-")[0] == arg
    assert isinstance(arg, tuple | list)
    if kind == "not":
        return not holds(arg, doc)  # type: ignore[arg-type]
    results = [holds(child, doc) for child in arg]
    return all(results) if kind == "and" else any(results)


def looks_for(tree: Tree) -> bool:
    """Whether every match must contain a term: a query that does not is refused."""
    kind, arg = tree
    if kind in ("not", "lang"):
        return False
    if kind in ("and", "or"):
        assert isinstance(arg, list)
        found = [looks_for(child) for child in arg]
        return any(found) if kind == "and" else all(found)
    return True


def render(tree: Tree, style: st.DataObject) -> str:
    """Query text for the tree, spelled any of the ways the grammar allows: AND written or
    implied, NOT or '-', groups only where precedence needs them or at random."""
    kind, arg = tree
    if kind == "word":
        text = str(arg).upper() if style.draw(st.booleans()) else str(arg)
    elif kind == "prefix":
        text = f"{arg}*"
    elif kind == "phrase":
        assert isinstance(arg, tuple)
        text = f'"{arg[0]} {arg[1]}"'
    elif kind == "mention":
        text = f"@{arg}"
    elif kind == "tag":
        text = f"#{arg}"
    elif kind == "lang":
        text = f"lang:{arg}"
    elif kind == "not":
        inner = render(arg, style)  # type: ignore[arg-type]
        if arg[0] in ("and", "or"):  # type: ignore[index]
            inner = f"({inner})"
        text = f"-{inner}" if style.draw(st.booleans()) else f"NOT {inner}"
    else:
        assert isinstance(arg, list)
        parts = []
        for child in arg:
            part = render(child, style)
            if kind == "and" and child[0] == "or":
                part = f"({part})"
            parts.append(part)
        joiner = " OR " if kind == "or" else style.draw(st.sampled_from([" ", " AND ", "  "]))
        text = joiner.join(parts)
    return f"({text})" if style.draw(st.integers(0, 9)) == 0 else text


@given(
    tree=TREES,
    style=st.data(),
    tokens=st.lists(POST_TOKENS, max_size=7),
    author=st.sampled_from([None, "acme", "other"]),
    language=st.sampled_from([None, "en", "pt-br", "de"]),
)
@settings(max_examples=200, deadline=None)
def test_matching_agrees_with_the_reference(
    tree: Tree, style: st.DataObject, tokens: list[str], author: str | None, language: str | None
) -> None:
    """AND is both, OR either, NOT the complement, phrases consecutive words, prefixes starts;
    and a query that only excludes or filters is refused."""
    text = render(tree, style)
    doc = doc_of(tokens, author, language)
    post = Post(" ".join(tokens), author_handle=author, language=language)
    query = parsed(text)
    if not looks_for(tree):
        assert isinstance(query, QueryError), f"{text!r} only excludes or filters"
        assert "must look for" in query.message
        return
    assert isinstance(query, Query), query
    assert query.matches(post) is holds(tree, doc), text
