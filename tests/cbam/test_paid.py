"""The carbon price paid at origin as the CLI and the API read it, and the refusals that name
the item."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from corridor.cbam.paid import PaidError, parse_paid

SITE = "urn:epc:id:sgln:4870101.00010.0"


def test_a_price_with_its_day_and_evidence() -> None:
    found = parse_paid([f"{SITE}=1000000:kzt:2026-04-01:KZ ETS record 417, sha256:ab12",
                        f"{SITE}#72024110=12.5:EUR:receipt 9"])
    first = found[SITE]
    assert (first.amount, first.currency, first.paid_on, first.evidence) == \
        (Decimal(1000000), "KZT", date(2026, 4, 1), ("KZ ETS record 417", "sha256:ab12"))
    second = found[f"{SITE}#72024110"]
    assert (second.amount, second.paid_on, second.evidence) == \
        (Decimal("12.5"), None, ("receipt 9",))


@pytest.mark.parametrize(("given", "why"), [
    ("no-equals-sign", "expected INSTALLATION="),
    (f"{SITE}=100:KZT", "expected INSTALLATION="),
    (f"{SITE}=-5:KZT:record", "the amount must be a number"),
    (f"{SITE}=NaN:KZT:record", "the amount must be a number"),
    (f"{SITE}=1e99:KZT:record", "the amount must be a number"),
    (f"{SITE}=100:KZT:2026-02-30:record", "2026-02-30 is not a date"),
    (f"{SITE}=100:KZT: , ", "give the evidence"),
    (f"{SITE}=100::record", "expected INSTALLATION="),
])
def test_refusals_name_the_item(given: str, why: str) -> None:
    with pytest.raises(PaidError, match=why) as caught:
        parse_paid([given])
    assert repr(given) in str(caught.value)


def test_an_installation_given_twice_is_refused() -> None:
    with pytest.raises(PaidError, match="already given"):
        parse_paid([f"{SITE}=1:EUR:a", f"{SITE}=2:EUR:b"])
