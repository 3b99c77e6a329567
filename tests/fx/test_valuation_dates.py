"""A valuation uses the rate in force on its date, the latest published on or before it, and
never one published after it (the shipment page used to take the nearest date either way)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from corridor.fx.importer import import_bundled
from corridor.fx.model import RateNotFound
from corridor.fx.valuation import value
from corridor.web.views import _valuations


@pytest.fixture
def loaded(conn):
    import_bundled(conn)  # NBK: 2026-04-01 .. 04-03 only
    return conn


def test_an_invoice_before_any_rate_is_not_valued_at_a_later_one(loaded) -> None:
    """A January invoice: the recorded NBK tables are of April, so no valuation at all."""
    assert _valuations(loaded, "61250.00", "USD", date(2026, 1, 20)) == []
    with pytest.raises(RateNotFound, match="on 2026-01-20 or in the 10 days before"):
        value(loaded, Decimal("61250.00"), "USD", "KZT", date(2026, 1, 20))


def test_an_invoice_on_a_published_date(loaded) -> None:
    views = _valuations(loaded, "1000.00", "USD", date(2026, 4, 2))
    assert [(v.valuation.target, v.valuation.rate_date, v.note) for v in views] == [
        ("KZT", date(2026, 4, 2), ""), ("EUR", date(2026, 4, 2), "")]
    assert views[0].valuation.result == Decimal("475090.00")


def test_an_invoice_long_after_the_last_rate_uses_an_earlier_one_and_says_so(loaded) -> None:
    views = _valuations(loaded, "1000.00", "USD", date(2026, 4, 20))  # NBK: 17 days before
    assert [v.valuation.rate_date for v in views] == [date(2026, 4, 3), date(2026, 4, 3)]
    assert all(v.valuation.rate_date <= date(2026, 4, 20) for v in views)
    assert views[0].note == ("no rate recorded in the days before 2026-04-20: latest earlier "
                             "recorded date 2026-04-03")


def test_every_valuation_date_is_on_or_before_the_invoice(loaded) -> None:
    for day in (date(2026, 3, 25), date(2026, 4, 1), date(2026, 4, 5), date(2026, 4, 30),
                date(2026, 5, 19), date(2026, 5, 30)):
        for view in _valuations(loaded, "2500.50", "EUR", day):
            assert view.valuation.rate_date <= day, (day, view.note)
            assert all(leg.effective_date <= day for leg in view.valuation.cross.legs)
