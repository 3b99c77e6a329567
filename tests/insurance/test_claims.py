"""Payouts of firings; every expected amount is worked out in a comment."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from corridor.insurance.claims import payout
from corridor.insurance.model import Firing
from corridor.insurance.policy import Terms, parse_terms

UNITS = ["urn:epc:id:sscc:4870001.0000000001", "urn:epc:id:sscc:4870001.0000000002",
         "urn:epc:id:sscc:4870001.0000000003"]


def terms(sum_insured: str, units: list[str]) -> Terms:
    return parse_terms({
        "insurer": "urn:epc:id:pgln:4870001.00009", "insured": "urn:epc:id:pgln:4870001.00008",
        "units": units, "sumInsured": sum_insured, "currency": "USD", "premium": "10.00",
        "coverFrom": "2026-03-01T00:00:00Z", "coverUntil": "2026-04-30T00:00:00Z",
        "triggers": [{"id": "late", "type": "delay", "destination": "urn:epc:id:sgln:4870001.00003.0",
                      "promisedArrival": "2026-03-02T05:30:00Z",
                      "tiers": [{"atLeastHours": 48, "share": "0.25"}]}]})


def firing(share: str) -> Firing:
    return Firing("late", UNITS[0], 0, Decimal(share), Decimal("52.50"),
                  datetime(2026, 3, 4, 10, tzinfo=UTC), ("h1",), (), "rule")


def test_share_of_the_units_part() -> None:
    # 120000.00 / 3 units = 40000.00 each; 25 % of it = 10000.00
    pay = payout(terms("120000.00", UNITS), firing("0.25"), Decimal(0))
    assert (pay.amount, pay.uncapped) == (Decimal("10000.00"), Decimal("10000.00"))
    assert pay.note == "25 % of the unit's 40000.00 USD = 10000.00 USD"
    assert pay.firing == firing("0.25")


@pytest.mark.parametrize(("sum_insured", "share", "expected"), [
    ("100.01", "1", "50.01"),  # 100.01 / 2 = 50.005 -> half up 50.01 (half even: 50.00)
    ("100.01", "0.5", "25.00"),  # 0.5 x 50.005 = 25.0025 -> 25.00
    ("100.03", "0.1", "5.00"),  # 100.03 / 2 = 50.015; 0.1 x 50.015 = 5.0015 -> 5.00
    ("0.09", "0.5", "0.02"),  # 0.09 / 2 = 0.045; 0.5 x 0.045 = 0.0225 -> 0.02
])
def test_rounding_half_up_to_cents(sum_insured: str, share: str, expected: str) -> None:
    pay = payout(terms(sum_insured, UNITS[:2]), firing(share), Decimal(0))
    assert pay.amount == pay.uncapped == Decimal(expected)


def test_thirds_round_to_cents() -> None:
    # 100000.00 / 3 = 33333.3333...; 25 % = 8333.3333... -> 8333.33 of a 33333.33 part
    pay = payout(terms("100000.00", UNITS), firing("0.25"), Decimal(0))
    assert pay.amount == Decimal("8333.33")
    assert pay.note == "25 % of the unit's 33333.33 USD = 8333.33 USD"


@pytest.mark.parametrize(("paid", "amount"), [
    ("30000.00", "10000.00"),  # 40000 - 30000 = 10000 left: exactly the uncapped 10000
    ("35000.00", "5000.00"),  # 40000 - 35000 = 5000 left < 10000
    ("40000.00", "0.00"),  # nothing left
    ("45000.00", "0.00"),  # more than the part already paid: still never below 0
])
def test_claims_of_a_unit_never_exceed_its_part(paid: str, amount: str) -> None:
    pay = payout(terms("120000.00", UNITS), firing("0.25"), Decimal(paid))
    assert pay.amount == Decimal(amount)
    assert pay.uncapped == Decimal("10000.00")


def test_capped_note() -> None:
    pay = payout(terms("120000.00", UNITS), firing("0.25"), Decimal("35000.00"))
    assert pay.note == ("25 % of the unit's 40000.00 USD = 10000.00 USD, capped at 5000.00 "
                        "USD: 35000.00 USD of the unit's part already paid")


def test_cap_uses_the_rounded_part() -> None:
    # 100.01 / 2 = 50.005, rounded 50.01; 50.00 already paid leaves 0.01 of the 50.01 share
    pay = payout(terms("100.01", UNITS[:2]), firing("1"), Decimal("50.00"))
    assert (pay.amount, pay.uncapped) == (Decimal("0.01"), Decimal("50.01"))
