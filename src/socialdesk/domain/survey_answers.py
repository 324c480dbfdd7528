"""Reading a customer's message as the answer to a survey question. Pure: text in, score out.

A customer asked "how did we do, 1 to 5?" answers in whatever way comes to hand: `4`, `4/5`,
`I'd say 9`, `nine out of ten`, `⭐⭐⭐⭐`, `😍`, `👍`, `excellent`, `meh`. The same customer may also
write something that merely contains a number ("my order 12345 still not here", "I waited 2
hours") or start a new complaint. Reading a complaint as a score would swallow it, so the reader
is deliberately conservative: when in doubt, it is not an answer, and the message is treated like
any other (it reopens the conversation; an agent sees it).

How a message is read:

1. Mentions (`@acme`), links and hashtags are dropped; the rest is cut into sentences (at `.`,
   `!`, `?`, `;`, `,`, a line break, a spaced dash, or `but`/`however`/`though`).
2. Every word or symbol is one of: a *signal* (a number, a fraction such as `4/5` or `four out of
   five`, stars, a face or thumb emoji, and for CSAT an evaluative word such as `excellent` or
   `not bad`), *filler* (greetings, thanks, "I'd say", "overall", "the service was", units such as
   "stars") or *content* (anything else: "order", "router", "hours", any other language).
3. The message must *start* with the answer: sentences of filler alone ("Hi!", "Thanks.") are
   skipped, then the first sentence that says anything must hold a signal and no content. Further
   content-free sentences may repeat the answer ("Excellent! 5/5"). Content after the answer makes
   it an answer *with more to say* (`only=False`): the score counts, and the message still goes to
   an agent like any other.
4. The signals must agree: two different numbers ("3 or 4", "4-5", "12345 and 4"), a number out of
   the scale ("0" or "6" for CSAT, "11" for NPS), a decimal ("4.5"), a fraction over another
   scale ("8/10" for CSAT), or emoji and words that contradict the number ("5 😡") are not an
   answer. Emoji and words are weaker than numbers: a face or a word may be one point off a
   number (`4, excellent` is 4), stars must match it.

NPS takes numbers only (digits and number words, 0-10): mapping words or emoji onto an eleven-point
scale would be invention ("great" is 9? 10?), and NPS's promoter/detractor split depends on the
exact number. Words are English; other languages are content and therefore not read as answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

SCALES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10)}


@dataclass(frozen=True, slots=True)
class Answer:
    """A score read from a message. `only` is true when the message says nothing else (thanks
    and greetings aside), so nobody need read it; false when more follows the score."""

    score: int
    only: bool


class _Strength(IntEnum):
    """How firmly a signal states a score: the strongest kind present decides, weaker ones must
    agree with it within their tolerance."""

    WORD = 1
    FACE = 2
    STARS = 3
    NUMBER = 4


@dataclass(frozen=True, slots=True)
class _Signal:
    strength: _Strength
    value: int  # outside every scale (-1) for a number that cannot be a score (4.5)
    tolerance: int = 0
    scale: int | None = None  # the denominator of a fraction (4/5, nine out of ten)


_CONTENT = object()
_FILLER = object()
_BREAK = object()
_Item = _Signal | object


def _words(text: str) -> list[str]:
    """A vocabulary written as one text, for legibility."""
    return text.split()


NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
SCORE_WORDS = {
    **dict.fromkeys(
        _words(
            "excellent amazing awesome perfect fantastic outstanding brilliant superb wonderful "
            "great love loved best exceptional flawless"
        ),
        5,
    ),
    **dict.fromkeys(_words("good happy satisfied pleased nice helpful decent"), 4),
    **dict.fromkeys(_words("ok okay meh average alright fine mediocre neutral"), 3),
    **dict.fromkeys(
        _words("bad poor unhappy disappointed disappointing dissatisfied unsatisfied slow"), 2
    ),
    **dict.fromkeys(
        _words(
            "terrible awful horrible worst useless appalling dreadful hate hated rubbish "
            "pathetic atrocious abysmal disgraceful"
        ),
        1,
    ),
}
INTENSIFIERS = frozenset(
    _words("very really so super extremely incredibly truly absolutely totally")
)
NEGATIONS = frozenset(_words("not never isn't wasn't aren't weren't hardly"))
NEGATED = {5: 2, 4: 2, 3: 2, 2: 4, 1: 3}  # "not great" 2, "not bad" 4, "not terrible" 3
FILLER_WORDS = frozenset(
    _words(
        "thanks thank you thx ty tysm cheers please pls hi hello hey dear "
        "i i'd id i'm im i'll me my we our us your u it it's its that this there "
        "would will say said give gave giving rate rated rating score scored answer "
        "is was were be been am are a an the for to of and with from "
        "overall service support help team job experience agent agents staff guys folks "
        "definitely probably maybe honestly solid easy just quite pretty "
        "all at again much lot lots yes yeah yep sure "
        "stars star points point pts out "
        "recommend recommended fast quick quickly friendly polite professional efficient "
        "responsive resolved sorted solved"
    )
)
BREAK_WORDS = frozenset(_words("but however though although except"))
STARS = frozenset("⭐★🌟")
EMPTY_STARS = frozenset("☆")
# Faces and thumbs read on the 1-5 scale, each allowed one point of slack against a number.
FACES = {
    **dict.fromkeys("😡😠🤬", 1),
    **dict.fromkeys("😞😟🙁☹😢😕😒", 2),
    **dict.fromkeys("😐😑😶🤷", 3),
    **dict.fromkeys("🙂😊☺😀😃", 4),
    **dict.fromkeys("😍🤩🥰😁😄❤👍", 5),
    "👎": 1,
}
# Symbols that say nothing either way; any other symbol that is not an emoji ($, %, #, +, =)
# is content: "$5" is money, "5%" a share.
NEUTRAL_SYMBOLS = frozenset("()[]{}\"'“”‘’~*…·•/&")
DROPPED = re.compile(r"https?://\S+|(?<![\w@])[@#]\w+", re.IGNORECASE)
TOKEN = re.compile(
    r"(?P<time>\d{1,2}:\d{2})"
    r"|(?P<number>\d+(?:[.,]\d+)?)"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]+)?)"
    r"|(?P<brk>\s[-–—]+(?=\s)|[.!?;:,\n]+)"
    r"|(?P<space>\s+)"
    r"|(?P<symbol>.)",
    re.DOTALL,
)
HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
# Emoji modifiers that change how a symbol looks, not what it says.
MODIFIERS = re.compile("[\ufe0f\ufe0e\u200d\U0001f3fb-\U0001f3ff]")


def read_answer(text: str, kind: str) -> Answer | None:
    """The score `text` gives on the scale of survey `kind` (csat, nps), or None when it is not
    (clearly) an answer. See the module docstring for what is read and what is refused."""
    low, high = SCALES[kind]
    sentences = _sentences(_items(_tokens(text)))
    signals: list[_Signal] = []
    only = True
    for sentence in sentences:
        if all(item is _FILLER for item in sentence):
            continue
        if any(item is _CONTENT for item in sentence):
            if not signals:
                return None  # the message does not start with an answer
            only = False
            break
        signals.extend(item for item in sentence if isinstance(item, _Signal))
    if kind == "nps":
        signals = [s for s in signals if s.strength is _Strength.NUMBER]
    score = _agreed(signals, high)
    if score is None or not low <= score <= high:
        return None
    return Answer(score, only)


def _agreed(signals: list[_Signal], high: int) -> int | None:
    """The score the signals agree on: every signal of the strongest kind says the same, and
    weaker ones lie within their tolerance of it."""
    if not signals:
        return None
    strongest = max(s.strength for s in signals)
    values = {s.value for s in signals if s.strength is strongest}
    if len(values) != 1:
        return None
    (score,) = values
    for signal in signals:
        if signal.scale is not None and signal.scale != high:
            return None
        if abs(signal.value - score) > signal.tolerance:
            return None
    return score


# -- tokens ------------------------------------------------------------------------------------


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pairs: time, number, word, brk, symbol (spaces left out)."""
    clean = unicodedata.normalize("NFKC", text).replace("’", "'").lower()
    clean = HYPHEN.sub(" ", MODIFIERS.sub("", DROPPED.sub(" ", clean)))  # so-so: so so
    for match in TOKEN.finditer(clean):
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            yield kind, match.group()


def _items(tokens: Iterator[tuple[str, str]]) -> list[_Item]:
    """Tokens read as signals, filler, content and sentence breaks (fractions, "not bad", "very
    good", "4 stars" and runs of stars each become one signal)."""
    pending = list(tokens)
    items: list[_Item] = []
    i = 0
    while i < len(pending):
        kind, text = pending[i]
        i += 1
        if kind == "number" or (kind == "word" and text in NUMBER_WORDS):
            signal, i = _number(pending, i, text)
            items.append(signal)
        elif kind == "word":
            item, i = _word(pending, i, text)
            items.append(item)
        elif kind == "brk":
            items.append(_BREAK)
        elif kind == "symbol":
            item, i = _symbol(pending, i, text)
            items.append(item)
        else:  # a time of day
            items.append(_CONTENT)
    return items


def _number(tokens: list[tuple[str, str]], i: int, text: str) -> tuple[_Signal, int]:
    """A number, with what may follow it: a scale (`/5`, `out of 10`, `of five`) or a unit
    (`stars`, `*`, one ⭐)."""
    value = _whole(text)
    scale: int | None = None
    ahead = [t for _, t in tokens[i : i + 3]]
    for words in (["/"], ["out", "of"], ["of"]):
        end = i + len(words)
        if ahead[: len(words)] == words and end < len(tokens):
            denominator = _whole(tokens[end][1])
            if tokens[end][0] == "number" or tokens[end][1] in NUMBER_WORDS:
                scale, i = denominator, end + 1
                break
    if i < len(tokens) and tokens[i][0] == "symbol" and tokens[i][1] in {"*", *STARS}:
        run = _run(tokens, i, STARS)
        if tokens[i][1] == "*" or run == 1:
            i += 1  # "4*", "4 ⭐": a unit, not a star rating of one
    return _Signal(_Strength.NUMBER, value, scale=scale), i


def _whole(text: str) -> int:
    if text in NUMBER_WORDS:
        return NUMBER_WORDS[text]
    return int(text) if text.isdigit() else -1


def _word(tokens: list[tuple[str, str]], i: int, text: str) -> tuple[_Item, int]:
    following = tokens[i][1] if i < len(tokens) and tokens[i][0] == "word" else None
    if text == "so" and following == "so":
        return _Signal(_Strength.WORD, 3, tolerance=1), i + 1
    if following in SCORE_WORDS:
        score = SCORE_WORDS[following]
        if text in NEGATIONS:
            return _Signal(_Strength.WORD, NEGATED[score], tolerance=1), i + 1
        if text in INTENSIFIERS:
            stronger = {4: 5, 2: 1}.get(score, score)
            return _Signal(_Strength.WORD, stronger, tolerance=1), i + 1
    if text in SCORE_WORDS:
        return _Signal(_Strength.WORD, SCORE_WORDS[text], tolerance=1), i
    if text in BREAK_WORDS:
        return _BREAK, i
    if text in FILLER_WORDS or text in INTENSIFIERS:
        return _FILLER, i
    return _CONTENT, i


def _symbol(tokens: list[tuple[str, str]], i: int, text: str) -> tuple[_Item, int]:
    if text in STARS:
        run = _run(tokens, i - 1, STARS)
        return _Signal(_Strength.STARS, run), i - 1 + _run(tokens, i - 1, STARS | EMPTY_STARS)
    if text in FACES:
        return _Signal(_Strength.FACE, FACES[text], tolerance=1), i
    if text in EMPTY_STARS or text in NEUTRAL_SYMBOLS:
        return _FILLER, i
    if unicodedata.category(text) == "So":  # another emoji (🎉, 🙏): decoration
        return _FILLER, i
    return _CONTENT, i


def _run(tokens: list[tuple[str, str]], start: int, symbols: frozenset[str]) -> int:
    """How many of `symbols` follow one another from `start` (★★★☆☆ counts 3 of STARS, 5 of
    STARS | EMPTY_STARS)."""
    count = 0
    while start + count < len(tokens) and tokens[start + count][1] in symbols:
        count += 1
    return count


def _sentences(items: list[_Item]) -> list[list[_Item]]:
    sentences: list[list[_Item]] = [[]]
    for item in items:
        if item is _BREAK:
            if sentences[-1]:
                sentences.append([])
        else:
            sentences[-1].append(item)
    return [s for s in sentences if s]
