"""PII detection: what it finds, what it must not, and that only masked values come out."""

from __future__ import annotations

import pytest

from socialdesk.adapters.classifiers.pii import PiiDetector

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
