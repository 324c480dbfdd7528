"""Language of a message (py3langid; its model ships in the wheel, nothing is downloaded).

Handles, links, hashtags and emoji say nothing about the language and are removed first; a text
with too few letters left, or a guess the model is unsure of, is `und` (undetermined) rather than
a confident mistake.
"""

from __future__ import annotations

import re

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

NOISE = re.compile(r"(?:https?://\S+|www\.\S+|[@#]\w+)")
UNDETERMINED = "und"
MIN_LETTERS = 3
MIN_CONFIDENCE = 0.25
# Languages a care desk meets most; py3langid knows 97, and a narrower set is more accurate on
# short posts. Settings can change it.
DEFAULT_LANGUAGES = (
    "en",
    "es",
    "pt",
    "fr",
    "de",
    "it",
    "nl",
    "sv",
    "da",
    "no",
    "fi",
    "pl",
    "cs",
    "ro",
    "hu",
    "tr",
    "el",
    "ru",
    "uk",
    "ar",
    "he",
    "fa",
    "hi",
    "bn",
    "ur",
    "id",
    "ms",
    "tl",
    "vi",
    "th",
    "zh",
    "ja",
    "ko",
)


class LanguageGuesser:
    def __init__(self, languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> None:
        self._identifier = _identifier(languages)

    def guess(self, text: str) -> tuple[str, float]:
        cleaned = NOISE.sub(" ", text[:2000])
        letters = sum(map(str.isalpha, cleaned))  # Unicode letters: categories L*
        if letters < MIN_LETTERS:
            return UNDETERMINED, 0.0
        language, probability = self._identifier.classify(cleaned)
        if probability < MIN_CONFIDENCE:
            return UNDETERMINED, float(probability)
        return str(language), float(probability)


def _identifier(languages: tuple[str, ...]) -> LanguageIdentifier:
    """py3langid's model narrowed to `languages` before the identifier is made.

    `set_languages` narrows a loaded identifier the same way (the same columns, the same
    scores) but keeps the whole 97-language table beside the narrow one, for resetting:
    28 MB of the 78 the language model held in every process that triages.
    """
    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    unknown = sorted(set(languages) - set(classes))
    if unknown:
        raise ValueError(f"unknown language code(s): {', '.join(unknown)}")
    wanted = set(languages)
    columns = [i for i, c in enumerate(classes) if c in wanted]
    return LanguageIdentifier(
        ptc[:, columns],
        pc[columns],
        [classes[i] for i in columns],
        nextmove,
        output,
        norm_probs=True,
        tk_row=row,
    )
