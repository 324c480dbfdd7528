"""Listening queries: a boolean search language over public posts. Pure: no I/O, no clock.

Supervisors watch what the public says about the brand, its products and its competitors, also in
posts not addressed to us. A query reads like a search box:

    ("acme bank" OR @acmebank) AND (outage OR down) -lang:de

    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*             terms side by side are AND-ed
    unary    := ("NOT" | "-") unary | primary       `-` directly before a term, no space
    primary  := "(" or_expr ")" | "quoted phrase" | @handle | #tag | lang:xx | platform:name
              | word | word*

NOT binds tighter than AND, AND tighter than OR; only upper-case AND, OR, NOT are operators. Words
match whole words, ignoring case and accents (`cafe` finds "Café"); `refund*` finds any word that
starts with "refund"; a quoted phrase, or a bare term that the tokeniser splits (`e-mail`), finds
those words in a row. `@handle` finds a mention in the text or the author; `#tag` a hashtag.

Why the shape is what it is:

- Nodes are frozen values in one canonical form (words folded, nested AND/OR flattened, a one-word
  phrase is a Word), so two spellings of a query compare equal and `str(query)` prints a normalised
  form that parses back to the same tree.
- Each incoming post is matched against every query of the desk, so it is tokenised once
  (`prepare`) and the queries read the resulting sets.
- A query must look for something: one that only excludes (`NOT refund`) or only filters
  (`lang:de`) would flood the desk with most of the public stream, so it is refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.platforms import PLATFORM_NAME
from socialdesk.domain.text import text_problem

MAX_QUERY_CHARS = 2_000
MAX_DEPTH = 20  # parentheses and NOTs inside each other; real queries need three or four
MIN_WILDCARD_STEM = 2  # `a*` would match nearly every post

# Chinese and Japanese are written without spaces: each ideograph or kana is a word of its own, so
# a phrase of them matches as a run of characters.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_MENTION = re.compile(r"(?<![\w@])@(\w+(?:\.\w+)*)")  # not the middle of an e-mail address
_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")  # not an HTML entity like &#39;
_HANDLE = re.compile(r"\w+(?:\.\w+)*")
_TAG = re.compile(r"\w+")
_LANG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?")
_FIELD = re.compile(r"[A-Za-z]+")


def fold(text: str) -> str:
    """Text as queries compare it: case-folded, compatibility-decomposed, accents removed.

    Idempotent, because a query's words are folded twice (once found in the query, once checked
    by `Word`) and a post's once: decomposing first matters, as compatibility characters
    decompose into capitals (MODIFIER LETTER CAPITAL A into `A`, the Greek upsilon-with-hook
    symbol into a capital upsilon) that a casefold before would miss.
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)  # recompose Hangul, which NFKD splits into jamo


class QueryError(InvalidInput):
    """A listening query that cannot be parsed; `position` is the 0-based character it concerns."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})", field="query")
        self.position = position


@dataclass(frozen=True, slots=True)
class Post:
    """What a listening query sees of one public post."""

    text: str
    author_handle: str | None = None
    language: str | None = None
    platform: str | None = None


@dataclass(frozen=True, slots=True)
class PreparedPost:
    """A post tokenised once, to be matched against many queries. Build it with `prepare`."""

    words: tuple[str, ...]
    word_set: frozenset[str]
    mentions: frozenset[str]  # handles mentioned in the text, and the author's own
    tags: frozenset[str]
    language: str | None
    platform: str | None


def prepare(post: Post) -> PreparedPost:
    text = fold(post.text)
    words = tuple(_WORD.findall(text))
    mentions = set(_MENTION.findall(text))
    if post.author_handle:
        mentions.add(fold(post.author_handle.strip().removeprefix("@")))
    language = post.language.casefold().replace("_", "-") if post.language else None
    platform = post.platform.casefold() if post.platform else None
    tags = frozenset(_HASHTAG.findall(text))
    return PreparedPost(words, frozenset(words), frozenset(mentions), tags, language, platform)


class Query:
    """A node of a parsed query. Compare, hash and print nodes freely; they never change."""

    __slots__ = ()

    def matches(self, post: Post | PreparedPost) -> bool:
        """Whether the post satisfies the query; pass a PreparedPost to match many queries."""
        return self._test(post if isinstance(post, PreparedPost) else prepare(post))

    def _test(self, post: PreparedPost) -> bool:
        raise NotImplementedError

    def terms(self) -> tuple[Term, ...]:
        """The words, phrases, handles and tags a match contains (not those under NOT), in query
        order and once each: what to highlight in a matched post."""
        return tuple(dict.fromkeys(_positive_terms(self)))


def _single_word(raw: str, what: str) -> str:
    word = fold(raw)
    if _WORD.fullmatch(word) is None:
        raise InvalidInput(f"{what} {raw!r} must be a single word of letters or digits")
    return word


@dataclass(frozen=True, slots=True)
class Word(Query):
    """A whole word; with `prefix`, any word that starts with it (`refund*`)."""

    word: str
    prefix: bool = False

    def __post_init__(self) -> None:
        word = _single_word(self.word, "a search word")
        if self.prefix and len(word) < MIN_WILDCARD_STEM:
            raise InvalidInput(
                f"{word}* would match too many words; give at least {MIN_WILDCARD_STEM} "
                "letters before '*'"
            )
        object.__setattr__(self, "word", word)

    def _test(self, post: PreparedPost) -> bool:
        if self.prefix:
            return any(w.startswith(self.word) for w in post.words)
        return self.word in post.word_set

    def __str__(self) -> str:
        return f"{self.word}*" if self.prefix else self.word


@dataclass(frozen=True, slots=True)
class Phrase(Query):
    """Two or more words in a row."""

    words: tuple[str, ...]

    def __post_init__(self) -> None:
        words = tuple(_single_word(w, "a phrase word") for w in self.words)
        if len(words) < 2:
            raise InvalidInput("a phrase needs at least two words; one word is a Word")
        object.__setattr__(self, "words", words)

    def _test(self, post: PreparedPost) -> bool:
        if self.words[0] not in post.word_set:  # the common miss, without scanning
            return False
        size, words = len(self.words), post.words
        return any(words[i : i + size] == self.words for i in range(len(words) - size + 1))

    def __str__(self) -> str:
        return '"' + " ".join(self.words) + '"'


@dataclass(frozen=True, slots=True)
class Mention(Query):
    """`@handle`: the post mentions the handle or its author has it, in any case."""

    handle: str

    def __post_init__(self) -> None:
        handle = fold(self.handle.removeprefix("@"))
        if _HANDLE.fullmatch(handle) is None:
            raise InvalidInput(
                f"'@{self.handle}' is not a handle: use letters, digits, _ and dots (@acmebank)"
            )
        object.__setattr__(self, "handle", handle)

    def _test(self, post: PreparedPost) -> bool:
        return self.handle in post.mentions

    def __str__(self) -> str:
        return f"@{self.handle}"


@dataclass(frozen=True, slots=True)
class Tag(Query):
    """`#tag`: the post carries the hashtag, in any case."""

    tag: str

    def __post_init__(self) -> None:
        tag = fold(self.tag.removeprefix("#"))
        if _TAG.fullmatch(tag) is None:
            raise InvalidInput(f"'#{self.tag}' is not a hashtag: use letters, digits and _")
        object.__setattr__(self, "tag", tag)

    def _test(self, post: PreparedPost) -> bool:
        return self.tag in post.tags

    def __str__(self) -> str:
        return f"#{self.tag}"


@dataclass(frozen=True, slots=True)
class Lang(Query):
    """`lang:pt`: the post's detected language is `pt` or a variant of it (`pt-br`)."""

    code: str

    def __post_init__(self) -> None:
        code = self.code.casefold().replace("_", "-")
        if _LANG.fullmatch(code) is None:
            raise InvalidInput(f"lang:{self.code} is not a language code; use one like lang:en")
        object.__setattr__(self, "code", code)

    def _test(self, post: PreparedPost) -> bool:
        lang = post.language
        return lang is not None and (lang == self.code or lang.startswith(self.code + "-"))

    def __str__(self) -> str:
        return f"lang:{self.code}"


@dataclass(frozen=True, slots=True)
class Platform(Query):
    """`platform:x`: the post came from that platform."""

    name: str

    def __post_init__(self) -> None:
        name = self.name.casefold()
        if PLATFORM_NAME.fullmatch(name) is None:
            raise InvalidInput(f"platform:{self.name} is not a platform name, e.g. platform:x")
        object.__setattr__(self, "name", name)

    def _test(self, post: PreparedPost) -> bool:
        return post.platform == self.name

    def __str__(self) -> str:
        return f"platform:{self.name}"


@dataclass(frozen=True, slots=True)
class Not(Query):
    operand: Query

    def _test(self, post: PreparedPost) -> bool:
        return not self.operand._test(post)

    def __str__(self) -> str:
        return f"-({self.operand})" if isinstance(self.operand, And | Or) else f"-{self.operand}"


@dataclass(frozen=True, slots=True)
class And(Query):
    operands: tuple[Query, ...]

    def __post_init__(self) -> None:
        flat = tuple(
            o for op in self.operands for o in (op.operands if isinstance(op, And) else (op,))
        )
        if len(flat) < 2:
            raise InvalidInput("AND needs at least two operands")
        object.__setattr__(self, "operands", flat)

    def _test(self, post: PreparedPost) -> bool:
        return all(op._test(post) for op in self.operands)

    def __str__(self) -> str:
        return " ".join(f"({op})" if isinstance(op, Or) else str(op) for op in self.operands)


@dataclass(frozen=True, slots=True)
class Or(Query):
    operands: tuple[Query, ...]

    def __post_init__(self) -> None:
        flat = tuple(
            o for op in self.operands for o in (op.operands if isinstance(op, Or) else (op,))
        )
        if len(flat) < 2:
            raise InvalidInput("OR needs at least two operands")
        object.__setattr__(self, "operands", flat)

    def _test(self, post: PreparedPost) -> bool:
        return any(op._test(post) for op in self.operands)

    def __str__(self) -> str:
        return " OR ".join(str(op) for op in self.operands)


Term = Word | Phrase | Mention | Tag


def _positive_terms(node: Query) -> Iterator[Term]:
    if isinstance(node, Term):
        yield node
    elif isinstance(node, And | Or):
        for op in node.operands:
            yield from _positive_terms(op)


def _looks_for(node: Query) -> bool:
    """Whether every match must contain some term (not merely lack one, or be in a language)."""
    if isinstance(node, And):
        return any(_looks_for(op) for op in node.operands)
    if isinstance(node, Or):
        return all(_looks_for(op) for op in node.operands)
    return isinstance(node, Term)


def _excluding_part(node: Query) -> Query:
    """The OR branch (or the whole query) that matches without looking for a term."""
    if isinstance(node, Or):
        return next(_excluding_part(op) for op in node.operands if not _looks_for(op))
    return node


# --------------------------------------------------------------------------------------------------
# Parsing


class _Token(NamedTuple):
    kind: str  # ( ) phrase term AND OR NOT
    text: str
    pos: int


_KEYWORDS = frozenset({"AND", "OR", "NOT"})


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i))
            i += 1
        elif char == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise QueryError("the quote opened here is never closed", i)
            tokens.append(_Token("phrase", text[i + 1 : close], i))
            i = close + 1
        elif char == "-":
            if i + 1 == end or text[i + 1].isspace() or text[i + 1] == ")":
                raise QueryError("write '-' directly before the term it excludes, as in -refund", i)
            tokens.append(_Token("NOT", "-", i))
            i += 1
        else:
            start = i
            while i < end and not text[i].isspace() and text[i] not in '()"':
                i += 1
            word = text[start:i]
            tokens.append(_Token(word if word in _KEYWORDS else "term", word, start))
    return tokens


def _words(raw: str, pos: int, what: str) -> Query:
    words = _WORD.findall(fold(raw))
    if not words:
        raise QueryError(f"{what} has no letters or digits to search for", pos)
    return Word(words[0]) if len(words) == 1 else Phrase(tuple(words))


def _term(token: _Token) -> Query:
    text, pos = token.text, token.pos
    try:
        if text[0] == "@":
            return Mention(text[1:])
        if text[0] == "#":
            return Tag(text[1:])
        field, colon, value = text.partition(":")
        if colon and _FIELD.fullmatch(field):
            if field.lower() == "lang":
                return Lang(value)
            if field.lower() == "platform":
                return Platform(value)
            raise InvalidInput(
                f"unknown filter '{field}:'; the filters are lang: and platform: "
                "(put text in quotes to search for it)"
            )
        if "*" in text:
            stems = _WORD.findall(fold(text[:-1]))
            if not text.endswith("*") or "*" in text[:-1] or len(stems) != 1:
                raise InvalidInput("'*' goes only at the end of a single word, as in refund*")
            return Word(stems[0], prefix=True)
    except InvalidInput as exc:
        raise QueryError(exc.message, pos) from None
    return _words(text, pos, repr(text))


class _Parser:
    """Recursive descent over the grammar in the module docstring; depth is capped by MAX_DEPTH."""

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.next = 0
        self.depth = 0
        self.starts: dict[int, int] = {}  # id of each OR branch -> its position, for errors

    def peek(self) -> _Token | None:
        return self.tokens[self.next] if self.next < len(self.tokens) else None

    def parse(self) -> Query:
        if not self.tokens:
            raise QueryError("the query is empty; give a word, phrase, @handle or #tag", 0)
        node = self.or_expr(None)
        extra = self.peek()
        if extra is not None:  # or_expr stops only at the end or at a ')'
            raise QueryError("')' has no matching '('", extra.pos)
        if not _looks_for(node):
            raise QueryError(
                "the query must look for a word, phrase, @handle or #tag that it does not exclude;"
                " NOT, '-', lang: and platform: alone would match most of the public stream",
                self.starts.get(id(_excluding_part(node)), 0),
            )
        return node

    def or_expr(self, after: _Token | None) -> Query:
        operands = [self.branch(after)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.next += 1
            operands.append(self.branch(token))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def branch(self, after: _Token | None) -> Query:
        start = self.peek()
        node = self.and_expr(after)
        self.starts[id(node)] = start.pos if start is not None else 0
        return node

    def and_expr(self, after: _Token | None) -> Query:
        operands = [self.unary(after)]
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.next += 1
                operands.append(self.unary(token))
            else:
                operands.append(self.unary(None))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self, after: _Token | None) -> Query:
        token = self.peek()
        if token is None or token.kind != "NOT":
            return self.primary(after)
        self.next += 1
        self.enter(token)
        node = Not(self.unary(token))
        self.depth -= 1
        return node

    def primary(self, after: _Token | None) -> Query:
        token = self.peek()
        if token is None or token.kind in ("AND", "OR", ")"):
            raise self.missing(after, token)
        self.next += 1
        if token.kind == "phrase":
            return _words(token.text, token.pos, "the quoted phrase")
        if token.kind == "term":
            return _term(token)
        self.enter(token)
        node = self.or_expr(token)
        close = self.peek()
        if close is None or close.kind != ")":
            raise QueryError("the parenthesis opened here is never closed", token.pos)
        self.next += 1
        self.depth -= 1
        return node

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(
                f"the query nests parentheses and NOTs more than {MAX_DEPTH} deep; simplify it",
                token.pos,
            )

    @staticmethod
    def missing(after: _Token | None, found: _Token | None) -> QueryError:
        """The error for a term expected after `after` where `found` (or the end) stands."""
        if after is not None and after.kind in _KEYWORDS:
            return QueryError(f"'{after.text}' needs a term after it", after.pos)
        if found is None:  # after an opening parenthesis
            assert after is not None
            return QueryError("the parenthesis opened here is never closed", after.pos)
        if found.kind == ")":
            if after is None:
                return QueryError("')' has no matching '('", found.pos)
            return QueryError("empty parentheses", after.pos)
        return QueryError(f"'{found.text}' needs a term before it", found.pos)


def parse_query(text: str) -> Query:
    """The query tree for `text`, or QueryError (an InvalidInput) naming the position at fault."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS:,}",
            MAX_QUERY_CHARS,
        )
    return _Parser(text).parse()


# --------------------------------------------------------------------------------------------------
# Highlighting: where a matched post shows the terms it was found by


def highlights(query: Query, text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of `text` holding the query's terms (`terms()`), sorted, overlaps
    merged: what a page marks in a matched post. Words compare as `matches` compares them (case
    and accents ignored, `refund*` by prefix); the text is read as written, so the spans index it."""
    terms = query.terms()
    if not terms:
        return []
    words: list[tuple[int, int, str]] = []  # a written word folding into several gives each
    for found in _WORD.finditer(text):
        words.extend((found.start(), found.end(), w) for w in _WORD.findall(fold(found.group())))
    spans: list[tuple[int, int]] = []
    for term in terms:
        if isinstance(term, Word):
            spans.extend(
                (start, end)
                for start, end, w in words
                if w == term.word or (term.prefix and w.startswith(term.word))
            )
        elif isinstance(term, Phrase):
            size = len(term.words)
            spans.extend(
                (words[i][0], words[i + size - 1][1])
                for i in range(len(words) - size + 1)
                if tuple(w for _, _, w in words[i : i + size]) == term.words
            )
        else:
            pattern, wanted = (
                (_MENTION, term.handle) if isinstance(term, Mention) else (_HASHTAG, term.tag)
            )
            spans.extend(m.span() for m in pattern.finditer(text) if fold(m.group(1)) == wanted)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# --------------------------------------------------------------------------------------------------
# Saved queries

MAX_NAME = 100
TAG_PREFIX = "listening:"
_SLUG_MAX = 40  # a tag holds 50 characters, "listening:" takes 10
_NOT_SLUG = re.compile(r"[^\w.-]+")


@dataclass(slots=True)
class SavedQuery:
    """A listening query the desk keeps: its name (what playbook rules, tags and alerts call it),
    the query as typed (parsed again where it is used: the text is what people edit), and whether
    new posts are matched against it."""

    name: str
    query: str
    created_at: datetime
    updated_at: datetime
    active: bool = True
    author_id: int | None = None
    id: int | None = None

    @property
    def tag(self) -> str:
        return query_tag(self.name)


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A public inbound message as matching needs it, with its `meta` to record the matches in."""

    message_id: int
    conversation_id: int
    text: str
    created_at: datetime
    platform: str
    author_handle: str | None
    meta: dict[str, Any]


def check_name(raw: str) -> str:
    """The name with its blank space collapsed, or InvalidInput saying what is wrong."""
    name = " ".join(raw.split())
    problem = text_problem(name)
    if problem is not None:
        raise InvalidInput(f"the name {problem}", field="name")
    if not name:
        raise InvalidInput("give the query a name, e.g. 'outage watch'", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(
            f"the name is {len(name)} characters long; the limit is {MAX_NAME}", field="name"
        )
    return name


def query_tag(name: str) -> str:
    """The tag a matched post's conversation gets: `listening:` and the name folded into a slug
    (`Outage Watch` → `listening:outage-watch`)."""
    slug = _NOT_SLUG.sub("-", fold(name)).strip("-._")[:_SLUG_MAX].strip("-._")
    return TAG_PREFIX + (slug or "query")
