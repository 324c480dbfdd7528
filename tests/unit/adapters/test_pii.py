"""PII detection: what it finds, what it must not, and that only masked values come out."""

from __future__ import annotations

import phonenumbers
import pytest

from socialdesk.adapters.classifiers import pii
from socialdesk.adapters.classifiers.pii import PiiDetector, fewest_phone_digits

DETECT = PiiDetector()


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.masked) for f in DETECT.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at ann.smith@example.co.uk", [("email", "a***@example.co.uk")]),
        ("call +1 415-555-0132 after 5", [("phone", "********0132")]),
        ("card 4111 1111 1111 1111 exp 12/27", [("payment_card", "**** 1111")]),
        ("amex 3782-822463-10005", [("payment_card", "**** 0005")]),
        ("IBAN DE89 3704 0044 0532 0130 00 please", [("iban", "******************3000")]),
        ("my order #AM-482913 never came", [("order_number", "*****913")]),
        ("account ending 4821 was charged", [("account_number", "*821")]),
        ("I live at 221 Baker Street", [("postal_address", "[street address]")]),
        ("London NW1 6XE", [("postal_address", "NW1 ***")]),
        ("send it to 42 elm st please", [("postal_address", "[street address]")]),
        ("i live at 1600 pennsylvania ave nw", [("postal_address", "[street address]")]),
        ("ship to PO Box 1234", [("postal_address", "[street address]")]),
        ("p.o. box 55 is mine", [("postal_address", "[street address]")]),
        (
            "12 Oak Lane, Austin, TX 78701-1234",
            [("postal_address", "[street address]"), ("postal_address", "[town], TX 787**")],
        ),
    ],
)
def test_finds_personal_data_and_masks_it(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112 fails the Luhn check",
        "tracking 1234567890123 is not a card",
        "9999 9999 9999 9995 passes Luhn but no issuer starts with 9",
        "version 2.14.4 released on 2026-11-26",
        "😡😡😡",
        "",
        # counts and names that end in a street word, from TweetEval and made up
        "5 people on the street",
        "waited 3 hours down the road",
        "2 a St Pattys party",
        "28-22 grand st",
        "12 other Street Artists from Iran",
        "got it, OK 12345 is my order",
    ],
)
def test_no_false_alarms(text: str) -> None:
    assert kinds(text) == []


def test_order_numbers_follow_the_configured_pattern() -> None:
    custom = PiiDetector({"order_number": r"\bAM-\d{6}\b", "loyalty_id": r"\bLY\d{8}\b"})
    found = [(f.kind, f.masked) for f in custom.find("AM-482913 and LY12345678")]
    assert found == [("order_number", "*****913"), ("loyalty_id", "*******678")]


def test_long_texts_are_scanned_quickly_and_safely() -> None:
    text = "a@b.co " * 20_000
    assert len(DETECT.find(text)) > 100


@pytest.mark.parametrize(
    ("region", "text", "number"),
    [
        ("US", "call +43 1110 now", "+43 1110"),  # Austria: 6 digits with the country code
        ("DE", "ruf 1640 an", "1640"),  # a German national number of 4 digits
    ],
)
def test_the_shortest_phone_numbers_are_still_found(region: str, text: str, number: str) -> None:
    assert fewest_phone_digits(region) == len(number.lstrip("+").replace(" ", ""))
    found = PiiDetector(region=region).find(text)
    assert [(f.kind, text[f.start : f.end]) for f in found] == [("phone", number)]


def test_no_example_number_has_fewer_digits_than_the_bound() -> None:
    """libphonenumber's own example numbers, every region and type: written with the country
    code none is below the bound for any region; nationally, none below its region's."""
    international = min(fewest_phone_digits(r) for r in ("US", "DE", "GB", "ZZ"))
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            assert len(e164) - 1 >= international, (region, e164)
            national = phonenumbers.national_significant_number(example)
            assert len(national) >= fewest_phone_digits(region), (region, national)


def test_texts_with_too_few_digits_skip_the_phone_matcher(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def phones(text: str, region: str) -> list[phonenumbers.PhoneNumberMatch]:
        asked.append(text)
        return []

    monkeypatch.setattr(pii, "_phones", phones)
    detector = PiiDetector()
    detector.find("order 12345 is late 😡")  # 5 digits: no US number, no international one
    assert asked == []
    detector.find("call +43 1110")
    assert asked == ["call +43 1110"]
