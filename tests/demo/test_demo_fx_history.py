"""The demo's rate history covers its own period: every invoice of the scenario is valued at a
rate of its own date or the days just before, never at a later one, and every figure that is
not a recorded publication says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from corridor.demo.fx_history import PLAN_FILE, load_plan, period, restate, seed_history
from corridor.demo.load import _fx
from corridor.demo.scenario import AS_OF, generate
from corridor.fx.importer import bundled_publications, import_bundled
from corridor.fx.model import restated_from
from corridor.fx.rates import MAX_AGE_DAYS, cross_rate
from corridor.fx.ticker import ticker
from corridor.fx.valuation import value
from corridor.store.db import Connection, Database
from corridor.store.fx_store import store_publications
from corridor.store.migrations import migrate


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    db = Database(f"sqlite:///{tmp_path / 'demo-fx.sqlite3'}")
    c = db.connect()
    migrate(db, c)
    yield c
    c.close()


@pytest.fixture(scope="module")
def scenario():
    return generate(60, 7)


def test_the_plan_is_data_that_cites_its_source() -> None:
    text = PLAN_FILE.read_text(encoding="utf-8")
    assert "corridor/fx/data" in text and "lineofflight/frankfurter" in text
    assert "not an official publication" in text
    plan = load_plan()
    assert plan.banks == ("NBK", "NBKR", "NBT", "CBU", "CBT")
    assert plan.weekdays == frozenset({1, 2, 3, 4, 5})


def test_every_invoice_is_valued_at_a_rate_of_its_date_or_just_before(conn, scenario) -> None:
    _fx(conn, scenario)  # what `corridor demo` stores
    for plan in scenario.shipments:
        shipping = next((e for e in plan.events if e.event.get("bizStep") == "shipping"), None)
        if shipping is None:  # not shipped yet at AS_OF
            continue
        day = shipping.time.date()
        for target in ("KZT", "USD" if plan.invoice_currency != "USD" else "EUR"):
            v = value(conn, plan.invoice_amount, plan.invoice_currency, target, day)
            assert v.rate_date <= day and (day - v.rate_date).days <= 3, (plan.number, target)
            assert all(leg.effective_date <= day for leg in v.cross.legs)


def test_the_history_spans_the_whole_period(conn, scenario) -> None:
    _fx(conn, scenario)
    events = scenario.all_events()
    first, last = events[0].time.date(), events[-1].time.date()
    assert last <= AS_OF.date()
    day = first - timedelta(days=1)
    while day <= last:
        for base in ("USD", "EUR", "KGS", "TJS", "UZS", "TMT"):
            rate = cross_rate(conn, base, "KZT", day)
            assert rate.effective_date <= day
            assert (day - rate.effective_date).days <= 3 < MAX_AGE_DAYS  # weekends only
        day += timedelta(days=1)


def test_restated_figures_are_labelled_and_recorded_ones_are_not(conn, scenario) -> None:
    _fx(conn, scenario)
    january = value(conn, Decimal("61250.00"), "USD", "KZT", date(2026, 1, 14))
    assert january.rate == Decimal("478.77")  # NBK's recorded 1 April figure, restated ...
    assert january.rate_date == date(2026, 1, 14)
    assert january.label == ("demo figure: NBK's recorded table of 2026-04-01 restated for "
                             "2026-01-14, not an official publication")  # ... and said so
    recorded = value(conn, Decimal("61250.00"), "USD", "KZT", date(2026, 4, 2))
    assert recorded.label == "" and recorded.cross.legs[0].source_url.startswith("https://")
    rows = {r.currency: r for r in ticker(conn)}
    assert "not an official publication" in rows["KZT"].label


def test_seeding_is_idempotent_and_real_tables_win(conn) -> None:
    import_bundled(conn)
    first, last = date(2026, 1, 8), date(2026, 5, 29)
    assert seed_history(conn, first, last) > 0
    assert seed_history(conn, first, last) == 0
    # The real table of a restated day arrives (here NBK's recorded figures, re-dated).
    real = next(p for p in bundled_publications()
                if p.bank == "NBK" and p.effective_date == date(2026, 4, 1))
    real.effective_date = date(2026, 2, 2)
    real.source_url = "https://nationalbank.kz/rss/get_rates.cfm?fdate=02.02.2026"
    store_publications(conn, [real], is_restatement=restated_from)
    v = value(conn, Decimal(1), "USD", "KZT", date(2026, 2, 2))
    assert v.label == "" and v.cross.legs[0].source_url == real.source_url


def test_restate_prefers_the_nearest_recorded_table() -> None:
    plan = load_plan()
    pubs = restate(bundled_publications(), set(), date(2026, 1, 5), date(2026, 1, 9), plan)
    nbkr = [p for p in pubs if p.bank == "NBKR"]
    # NBKR's nearest 2026 tables, not its 2005 history pages.
    assert {p.source_url.split(" ")[1] for p in nbkr} == {"2026-05-23", "2026-05-24"}
    assert {p.effective_date for p in pubs} == {date(2026, 1, d) for d in range(5, 10)}
    start, end = period(date(2026, 1, 10), date(2026, 5, 29), plan)
    assert (start, end) == (date(2026, 1, 3), date(2026, 5, 29))
