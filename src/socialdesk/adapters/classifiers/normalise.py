"""Text as the triage models read it: handles as @user, links as http, emoji as words, one space.

The training tweets (TweetEval) had mentions replaced by @user and links removed; doing the same
at prediction time keeps a brand's own handle or a URL from swaying sentiment. The n-gram models
and the encoders' activation scales are trained on texts read this way; the encoder's
fine-tuning reads the raw training texts (fine-tuning on these instead gained nothing:
docs/triage.md, "Emoji, handles and links"). A lone surrogate
(a broken `\\ud800` escape; intake refuses them, but the classifier takes any text) becomes U+FFFD:
the tokenizer cannot take it.

Emoji are spoken as their Unicode names ("😡" as "pouting face", "❤️" as "heart"): the encoder's
vocabulary has none of them, so every emoji was one [UNK] token and "love it 😍" read the same as
"love it 😡". The words are ones the pretrained encoder and the n-gram models know. Skin tones,
variation selectors and joiners say nothing here and go; a run of one emoji is spoken once (a row
of twenty would otherwise fill the encoder's 64 tokens); a flag is "flag".
"""

from __future__ import annotations

import re
import unicodedata

MENTION = re.compile(r"@\w{1,50}")
URL = re.compile(r"https?://\S+|www\.\S+")
SPACE = re.compile(r"\s+")
SURROGATE = re.compile("[\ud800-\udfff]")
# zero-width joiner, variation selectors, combining keycap, skin tones, tag characters
EMOJI_MODIFIER = re.compile("[\u200d\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")
FLAG = re.compile("[\U0001f1e6-\U0001f1ff]+")
# the blocks emoji come from: misc technical, misc symbols, dingbats, arrows and stars, and the
# supplementary emoji planes (the last group repeats the same emoji in a run)
EMOJI_RUN = re.compile(
    "([\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001f1e5\U0001f200-\U0001faff])\\1*"
)
# words of the formal names that describe the glyph's drawing, not what it means
GLYPH_WORDS = frozenset({"black", "white", "heavy", "sign", "symbol"})
# The encoder reads 64 tokens and the n-gram models 2,000 characters: more names than this are
# never read, and a 64 KiB post of mixed emoji would otherwise become 372,000 characters
# (triage 19 -> 184 ms for that post). Emoji after these stay as they are.
SPOKEN_EMOJI = 64


def _spoken(match: re.Match[str]) -> str:
    words = unicodedata.name(match.group(1), "").lower().split()
    return " " + " ".join(w for w in words if w not in GLYPH_WORDS) + " "


def emoji_as_words(text: str) -> str:
    """Each emoji (a run of the same one once) replaced by the words of its Unicode name, the
    first SPOKEN_EMOJI of them."""
    if text.isascii():  # most posts: no emoji, and one C scan instead of three regex passes
        return text
    bare = EMOJI_MODIFIER.sub("", text)
    return EMOJI_RUN.sub(_spoken, FLAG.sub(" flag ", bare), count=SPOKEN_EMOJI)


def normalise_for_model(text: str) -> str:
    readable = emoji_as_words(SURROGATE.sub("\ufffd", text))
    return SPACE.sub(" ", URL.sub("http", MENTION.sub("@user", readable))).strip()
