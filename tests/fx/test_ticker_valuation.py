"""The ticker strip and the valuation helper, from the recorded tables (no network)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor.fx.importer import import_bundled
from corridor.fx.model import RateNotFound
from corridor.fx.ticker import grouped, render, significant, ticker
from corridor.fx.valuation import round_money, value


@pytest.fixture
def loaded(conn):
    import_bundled(conn)
    return conn


def test_ticker_latest_of_each_bank(loaded) -> None:
    rows = {r.currency: r for r in ticker(loaded)}
    assert list(rows) == ["KZT", "KGS", "TJS", "UZS", "TMT"]
    kzt = rows["KZT"]
    assert (kzt.source, kzt.effective_date, kzt.inverse) == ("NBK", date(2026, 4, 3),
                                                            Decimal("472.31"))
    assert kzt.display_rate == "0.002117"
    assert kzt.change_pct == ((Decimal("475.09") / Decimal("472.31") - 1) * 100).quantize(
        Decimal("0.0001"))
    assert kzt.display_change == "+0.59%"
    uzs = rows["UZS"]
    assert (uzs.display_rate, uzs.display_inverse) == ("8.231e-5", "12,149.84")
    assert uzs.display_change == "-0.06%" and uzs.previous_date == date(2026, 4, 2)
    kgs = rows["KGS"]
    # NBKR's previous USD quote is from 2005: no "day's change" against it.
    assert (kgs.source, kgs.change_pct, kgs.display_inverse) == ("NBKR", None, "87.4500")
    tmt = rows["TMT"]
    assert (tmt.source, tmt.inverse, tmt.display_change) == ("CBT", Decimal("3.5"), "0.00%")
    assert rows["TJS"].effective_date == date(2026, 5, 20)
    lines = render(list(rows.values()))
    assert lines[3].startswith("UZS/USD = 8.231e-5") and "CBU 2026-04-03" in lines[3]


def test_ticker_on_a_date_labels_what_is_not_direct(loaded) -> None:
    rows = {r.currency: r for r in ticker(loaded, date(2026, 4, 4))}
    assert "carried forward" in rows["KZT"].label
    assert rows["TMT"].source == "CBT peg" and "official peg" in rows["TMT"].label
    kgs = rows["KGS"]  # no NBKR table in April: NBK's cross via KZT, said so
    assert kgs.rule == "cross" and kgs.source == "NBK" and kgs.label


def test_ticker_empty_database(conn) -> None:
    assert ticker(conn) == []


def test_significant_figures() -> None:
    assert significant(Decimal("0.0000820075")) == "8.201e-5"
    assert significant(Decimal("0.00211718")) == "0.002117"
    assert significant(Decimal("0.285714")) == "0.2857"
    assert significant(Decimal("1234.5")) == "1,234"
    assert grouped(Decimal("12194.21")) == "12,194.21"


def test_value_rounds_half_up_not_bankers(loaded) -> None:
    v = value(loaded, Decimal("0.5"), "USD", "KZT", date(2026, 4, 1))
    assert v.exact == Decimal("239.385")
    assert v.result == Decimal("239.39")  # banker's rounding would give 239.38
    assert v.exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) == Decimal("239.38")
    assert (v.rate, v.rule, v.source, v.effective_date) == (Decimal("478.77"), "direct", "NBK",
                                                            date(2026, 4, 1))
    assert v.rounding.startswith("ROUND_HALF_UP to 2 decimals")
    assert round_money(Decimal("-239.385"), "KZT") == Decimal("-239.39")  # away from zero


def test_value_of_a_shipment(loaded) -> None:
    v = value(loaded, Decimal(1250000), "UZS", "KZT", date(2026, 4, 3))
    assert (v.rule, v.source) == ("direct", "NBK")  # NBK quotes UZS (per 100)
    assert v.result == round_money(Decimal(1250000) * v.rate, "KZT")
    v = value(loaded, "18400.50", "TMT", "USD", date(2026, 4, 3))
    assert v.rule == "peg" and v.result == Decimal("5257.29") and "peg" in v.label
    v = value(loaded, 1000, "USD", "KZT", date(2026, 4, 5))
    assert v.effective_date == date(2026, 4, 3) and "carried forward" in v.label


def test_value_refuses_bad_input(loaded) -> None:
    with pytest.raises(TypeError, match="not a float"):
        value(loaded, 0.1, "USD", "KZT", date(2026, 4, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="amount: 'ten'"):
        value(loaded, "ten", "USD", "KZT", date(2026, 4, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a finite"):
        value(loaded, Decimal("NaN"), "USD", "KZT", date(2026, 4, 1))
    with pytest.raises(RateNotFound):
        value(loaded, Decimal(1), "USD", "KZT", date(2025, 1, 1))


def test_same_answers_on_postgresql(conn, pg_conn) -> None:
    import_bundled(conn)
    import_bundled(pg_conn)
    assert [r.as_dict() for r in ticker(pg_conn)] == [r.as_dict() for r in ticker(conn)]
    day = date(2026, 4, 2)
    assert value(pg_conn, Decimal(1250000), "UZS", "TMT", day).as_dict() == \
        value(conn, Decimal(1250000), "UZS", "TMT", day).as_dict()


@given(st.decimals(min_value=Decimal("1e-9"), max_value=Decimal("1e9"), allow_nan=False,
                   allow_infinity=False, places=12))
def test_significant_keeps_four_figures(v: Decimal) -> None:
    """Whatever the magnitude, the displayed figure is within half a unit of the 4th digit."""
    if v <= 0:
        return
    shown = Decimal(significant(v).replace(",", ""))
    assert abs(shown / v - 1) <= Decimal("0.0005") or abs(shown - v) < Decimal("0.5")
