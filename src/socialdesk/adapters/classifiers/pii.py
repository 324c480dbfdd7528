"""Personal data in a text: e-mail addresses, phone numbers, payment cards (Luhn and issuer
checked), IBANs, postal addresses where a pattern can tell, order and account numbers.

Found so that the playbook can move a conversation to a private channel. Each finding carries a
masked form (last digits only), which is what gets stored and shown: the text itself is already
stored once, in the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata
from stdnum import iban, luhn

from socialdesk.domain.triage import PiiFinding

EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b"
)
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
CARD_DIGITS = 13  # the fewest a CARD match holds
IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    r"Terrace|Close|Crescent|Straße|Strasse|Rue)\b\.?"
)
# Posts are often all lower case ("send it to 42 elm st"). Lower-case street lines take only the
# unambiguous street words, the number must stand alone (not "28-22 grand st", a score), and
# none of the words before the street word may be a function word or one that counts something
# else ("5 people on the street", "3 hours down the road", "2 a St Pattys party" are not
# addresses).
STREET_LOWER = re.compile(
    r"(?i)(?<![\w-])\d{1,5}[a-z]?\s+(?!(?:[a-z']+\s+){0,2}?(?:on|in|at|the|a|an|of|to|for|from|"
    r"down|up|across|along|and|or|my|your|our|their|this|that|other|more|all|some|min|mins|"
    r"minutes|hours?|hrs?|days?|weeks?|months?|years?|times|people|cars|blocks|miles|km|mi)\b)"
    r"(?:[a-z][a-z'-]*\s+){1,3}"
    r"(?:street|st|avenue|ave|boulevard|blvd|highway|hwy|parkway|pkwy|terrace|crescent|rd|ln)\b\.?"
)
PO_BOX = re.compile(r"(?i)\bp\.?\s?o\.?\s?box\s+\d{1,6}\b")
US_STATE = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|"
    "NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY"
)
# "Springfield, IL 62704": a town's capitalised words, a comma, a state's code in capitals and a
# ZIP code. The masked form keeps the state and the ZIP code's first three digits.
US_TOWN_ZIP = re.compile(
    r"\b[A-Z][a-z'.]+(?:[ -][A-Z][a-z'.]+){0,3},\s*"
    rf"(?P<state>{US_STATE})\s+(?P<zip>\d{{3}})\d{{2}}(?:-\d{{4}})?\b"
)
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")

DEFAULT_PATTERNS: dict[str, str] = {
    "order_number": r"(?i)\border\s*(?:no\.?|number|num|id|#)?\s*[:#]?\s*([A-Z]{0,4}-?\d[\dA-Z-]{3,19})",
    "account_number": r"(?i)\baccount\s*(?:no\.?|number|#)?\s*(?:ending\s*(?:in|with)?\s*)?[:#]?\s*(\d{4,20})",
}

# What phonenumbers' matcher reads as a digit (its pattern is Python's \d: Unicode Nd).
DIGIT = re.compile(r"\d")
MAX_TEXT = 20_000  # PII scanning looks at the first 20,000 characters of very long texts


def _card_issuer_ok(digits: str) -> bool:
    n = len(digits)
    if digits[0] == "4":
        return n in (13, 16, 19)
    if digits[:2] in ("34", "37"):
        return n == 15
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return n == 16
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19
    if digits[:2] == "35":
        return 16 <= n <= 19
    if digits[:2] in ("36", "38") or 300 <= int(digits[:3]) <= 305:
        return n == 14
    return False


def _mask_tail(value: str, keep: int = 4) -> str:
    compact = re.sub(r"[\s-]", "", value)
    return "*" * max(0, len(compact) - keep) + compact[-keep:]


class PiiDetector:
    """Finds personal data; `patterns` add or replace order/account number patterns by kind."""

    def __init__(self, patterns: Mapping[str, str] | None = None, region: str = "US") -> None:
        merged = {**DEFAULT_PATTERNS, **(patterns or {})}
        self.patterns = {kind: re.compile(p) for kind, p in merged.items()}
        self.region = region
        self._phone_digits = fewest_phone_digits(region)

    def find(self, text: str) -> tuple[PiiFinding, ...]:
        text = text[:MAX_TEXT]
        found: list[PiiFinding] = []
        taken: list[tuple[int, int]] = []

        def add(kind: str, start: int, end: int, masked: str) -> None:
            if any(s < end and start < e for s, e in taken):
                return
            taken.append((start, end))
            found.append(PiiFinding(kind, start, end, masked))

        # Every kind below but e-mail and the configured patterns needs digits: a post without
        # enough of them skips those scans (each costs 2-3 us a tweet).
        digits = len(DIGIT.findall(text))
        for m in EMAIL.finditer(text):
            local, _, domain = m.group().partition("@")
            add("email", m.start(), m.end(), f"{local[:1]}***@{domain}")
        for m in CARD.finditer(text) if digits >= CARD_DIGITS else ():
            number = re.sub(r"\D", "", m.group())
            if _card_issuer_ok(number) and luhn.is_valid(number):
                add("payment_card", m.start(), m.end(), "**** " + number[-4:])
        for m in IBAN_CANDIDATE.finditer(text) if digits >= 2 else ():
            if iban.is_valid(m.group()):
                add("iban", m.start(), m.end(), _mask_tail(m.group()))
        for kind, pattern in self.patterns.items():
            for m in pattern.finditer(text):
                start, end = (m.start(1), m.end(1)) if m.groups() else (m.start(), m.end())
                add(kind, start, end, _mask_tail(text[start:end], 3))
        if digits >= self._phone_digits:
            for match in _phones(text, self.region):
                add("phone", match.start, match.end, _mask_tail(match.raw_string))
        for street in (STREET, STREET_LOWER, PO_BOX) if digits else ():
            for m in street.finditer(text):
                add("postal_address", m.start(), m.end(), "[street address]")
        for m in US_TOWN_ZIP.finditer(text) if digits >= 5 else ():
            add("postal_address", m.start(), m.end(), f"[town], {m['state']} {m['zip']}**")
        for m in UK_POSTCODE.finditer(text) if digits >= 2 else ():
            add("postal_address", m.start(), m.end(), m.group()[:-3].strip() + " ***")
        return tuple(sorted(found, key=lambda f: f.start))


@lru_cache(maxsize=16)
def fewest_phone_digits(region: str) -> int:
    """The fewest digits a valid phone number can be written with in a text read in `region`:
    a national number of `region`, or any country code followed by one of its numbers.

    A text with fewer digits holds no number the matcher would accept (it reads only digits,
    and prefixes only add to them), so it is not asked. Most posts have none or a few: on
    TweetEval validation 97% have under 6 digits, the smallest count for the default region
    (US national numbers have 10; Austria's, Germany's and Iran's shortest with their
    country code, 6), and asking the matcher of every one cost the rest of triage's Python
    about 6% (0.290-0.298 -> 0.273-0.277 ms a tweet without it).
    """
    international = [
        (str(meta.country_code), meta)
        for meta in map(PhoneMetadata.metadata_for_region, phonenumbers.SUPPORTED_REGIONS)
        if meta is not None
    ] + [
        (str(code), PhoneMetadata.metadata_for_nongeo_region(code))
        for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    fewest = min(len(code) + _shortest(meta) for code, meta in international)
    home = PhoneMetadata.metadata_for_region(region.upper())
    return fewest if home is None else min(fewest, _shortest(home))


def _shortest(meta: PhoneMetadata | None) -> int:
    desc = None if meta is None else meta.general_desc
    lengths = [] if desc is None else [n for n in desc.possible_length if n > 0]
    return min(lengths, default=1)


def _phones(text: str, region: str) -> Iterable[phonenumbers.PhoneNumberMatch]:
    try:
        yield from phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
    except Exception:
        return
