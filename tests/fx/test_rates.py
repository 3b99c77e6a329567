"""Cross rates and their rules, carried-forward days, the TMT peg, and triangulation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from corridor.fx.importer import import_bundled
from corridor.fx.model import RateNotFound
from corridor.fx.rates import cross_rate, history
from corridor.fx.triangulation import check


@pytest.fixture
def loaded(conn):
    import_bundled(conn)
    return conn


def test_direct_inverse_and_identity(loaded) -> None:
    c = cross_rate(loaded, "USD", "KZT", date(2026, 4, 1))
    assert (c.rate, c.rule, c.sources, c.carried_forward) == (Decimal("478.77"), "direct",
                                                             "NBK", False)
    c = cross_rate(loaded, "KZT", "USD", date(2026, 4, 1))
    assert c.rule == "inverse"
    assert abs(c.rate * Decimal("478.77") - 1) < Decimal("1e-25")
    # KZT into UZS: the central bank of the target (CBU) decides, NBK's UZS quote is not used.
    c = cross_rate(loaded, "KZT", "UZS", date(2026, 4, 2))
    assert (c.rate, c.rule, c.sources) == (Decimal("25.55"), "direct", "CBU")
    assert cross_rate(loaded, "kgs", "kgs", date(2026, 4, 2)).rule == "identity"


def test_via_usd_and_cross(loaded) -> None:
    # KZT->TMT on 2 April: no CBT table, NBK does not quote TMT: KZT->USD at NBK (inverse),
    # then USD->TMT at the peg.
    c = cross_rate(loaded, "KZT", "TMT", date(2026, 4, 2))
    assert (c.rule, c.sources) == ("via USD", "NBK+CBT peg")
    assert c.rate == (1 / Decimal("475.09")) * Decimal("3.5")
    assert "official peg" in c.label
    # EUR->USD: neither has a central bank here: NBK's two quotes crossed through KZT.
    c = cross_rate(loaded, "EUR", "USD", date(2026, 4, 1))
    assert (c.rule, c.sources) == ("cross", "NBK")
    assert c.rate == Decimal("548.62") / Decimal("478.77")
    c = cross_rate(loaded, "TJS", "KZT", date(2026, 4, 1))  # NBK quotes TJS
    assert (c.rule, c.rate) == ("direct", Decimal("50.19"))


def test_direct_beats_inverse_only_when_published_by_then(loaded) -> None:
    # NBKR's weekly table (TMT 24.9857 KGS) is effective from 23 May.
    c = cross_rate(loaded, "TMT", "KGS", date(2026, 5, 23))
    assert (c.rule, c.sources, c.rate) == ("direct", "NBKR", Decimal("24.9857"))
    # On 22 May it does not exist yet: CBT's KGS quote (4.0023 TMT per 100 KGS), inverted.
    c = cross_rate(loaded, "TMT", "KGS", date(2026, 5, 22))
    assert (c.rule, c.sources) == ("inverse", "CBT")
    assert c.rate == 1 / Decimal("0.040023")
    c = cross_rate(loaded, "TJS", "TMT", date(2026, 5, 20))
    assert (c.rule, c.sources) == ("direct", "CBT")
    c = cross_rate(loaded, "UZS", "KGS", date(2026, 4, 3))  # NBKR has nothing in April
    assert (c.rule, c.sources) == ("inverse", "CBU")


def test_peg_fallback_is_labelled(loaded) -> None:
    c = cross_rate(loaded, "USD", "TMT", date(2026, 4, 2))  # no CBT table in April
    assert (c.rate, c.rule, c.sources) == (Decimal("3.5"), "peg", "CBT peg")
    assert "official peg 3.5 TMT/USD" in c.label
    c = cross_rate(loaded, "USD", "TMT", date(2026, 5, 21))
    assert (c.rule, c.sources, c.label) == ("direct", "CBT", "")


def test_weekend_uses_latest_earlier_rate_labelled(loaded) -> None:
    c = cross_rate(loaded, "USD", "UZS", date(2026, 4, 5))  # a Sunday
    assert c.rate == Decimal("12149.84") and c.effective_date == date(2026, 4, 3)
    assert c.carried_forward
    assert "no publication on 2026-04-05" in c.label and "2026-04-03" in c.label
    with pytest.raises(RateNotFound, match="USD->UZS on 2026-04-20"):
        cross_rate(loaded, "USD", "UZS", date(2026, 4, 20))  # more than 10 days later


def test_history_leaves_out_carried_days(loaded) -> None:
    rows = history(loaded, "USD", "KZT", date(2026, 3, 30), date(2026, 4, 6))
    assert [r.on for r in rows] == [date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3)]
    assert [r.rate for r in rows] == [Decimal("478.77"), Decimal("475.09"), Decimal("472.31")]
    rows = history(loaded, "USD", "KZT", date(2026, 4, 1), date(2026, 4, 6),
                   include_carried=True)
    assert len(rows) == 6 and rows[-1].carried_forward
    with pytest.raises(ValueError, match="before from"):
        history(loaded, "USD", "KZT", date(2026, 4, 6), date(2026, 4, 1))
    with pytest.raises(ValueError, match="quote: 'XYZ'"):
        cross_rate(loaded, "USD", "XYZ", date(2026, 4, 1))


def test_triangulation_flags_cbu_manat_of_1_april(loaded) -> None:
    found = check(loaded, date(2026, 4, 1))
    flagged = [c for c in found if c.flagged]
    # CBU's 4037.68 UZS per TMT against 12194.21 UZS per USD puts the manat at 3.02 per USD,
    # 13.7% off the peg; every comparison using it is flagged, and nothing else.
    assert flagged and all("TMT" in (c.base, c.quote) for c in flagged)
    usd_tmt = next(c for c in flagged if (c.base, c.quote) == ("USD", "TMT"))
    assert usd_tmt.other.label == "CBU cross via UZS"
    assert usd_tmt.deviation.quantize(Decimal("0.0001")) == Decimal("-0.1371")
    kzt_uzs = [c for c in found if (c.base, c.quote) == ("KZT", "UZS")]
    assert kzt_uzs and not any(c.flagged for c in kzt_uzs)
    # On 2 April CBU's manat is back in line (3469.17): nothing flagged.
    assert not any(c.flagged for c in check(loaded, date(2026, 4, 2)))


def test_triangulation_tolerance_and_rounding_bound(loaded) -> None:
    strict = check(loaded, date(2026, 4, 2), tolerance=Decimal(0))
    loose = check(loaded, date(2026, 4, 2), tolerance=Decimal("0.2"))
    assert sum(c.flagged for c in strict) > 0 and sum(c.flagged for c in loose) == 0
    kzt_uzs = next(c for c in strict if (c.base, c.quote) == ("KZT", "UZS")
                   and c.other.label.startswith("NBK quotes UZS"))
    # NBK's 3.93 KZT per 100 UZS is good to half a tiyn: 0.005/3.93 = 0.127%.
    assert Decimal("0.0012") < kzt_uzs.other.precision < Decimal("0.0013")
