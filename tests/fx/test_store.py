"""fx_rates on SQLite and PostgreSQL: exact decimals, idempotent upserts, all or nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from corridor.fx.importer import DATA_DIR, CassetteError, import_recorded
from corridor.fx.model import Publication, Quote, restated_from
from corridor.store.fx_store import (
    count_rates,
    effective_dates,
    latest_quote,
    previous_quote,
    rates_between,
    store_publications,
)


def store_rates(conn, pubs: list[Publication]):
    return store_publications(conn, pubs, is_restatement=restated_from)


def _pub(day: date, value: str, bank: str = "NBKR") -> Publication:
    return Publication(bank, day, date(2026, 5, 23), "https://www.nbkr.kg/XML/daily.xml",
                       [Quote("USD", 1, Decimal(value)), Quote("UZS", 100, Decimal("0.7300"))])


def test_exact_decimals_and_idempotent_upserts(any_conn) -> None:
    day = date(2026, 5, 24)
    first = store_rates(any_conn, [_pub(day, "87.4500")])
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = store_rates(any_conn, [_pub(day, "87.4500")])
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    q = latest_quote(any_conn, "NBKR", "USD", day)
    assert str(q.value) == "87.4500"  # trailing zeros kept: TEXT, not float
    assert q.publication_date == date(2026, 5, 23)
    assert q.home == "KGS"
    uzs = latest_quote(any_conn, "NBKR", "UZS", day)
    assert (uzs.units, uzs.rate) == (100, Decimal("0.007300"))
    corrected = store_rates(any_conn, [_pub(day, "87.4600")])
    assert (corrected.updated, corrected.unchanged) == (1, 1)
    assert latest_quote(any_conn, "NBKR", "USD", day).value == Decimal("87.4600")
    assert count_rates(any_conn) == 2


def test_lookups_by_date(any_conn) -> None:
    store_rates(any_conn, [_pub(date(2026, 5, 20), "87.10"),
                           _pub(date(2026, 5, 22), "87.30")])
    assert latest_quote(any_conn, "NBKR", "USD", date(2026, 5, 21)).value == Decimal("87.10")
    assert latest_quote(any_conn, "NBKR", "USD", date(2026, 5, 19)) is None
    assert previous_quote(any_conn, "NBKR", "USD", date(2026, 5, 22)).value == Decimal("87.10")
    assert [r.value for r in rates_between(any_conn, "NBKR", "USD", date(2026, 5, 1),
                                           date(2026, 5, 31))] == [Decimal("87.10"),
                                                                   Decimal("87.30")]
    assert effective_dates(any_conn, "NBKR") == [date(2026, 5, 20), date(2026, 5, 22)]


def test_one_bad_publication_stores_nothing(any_conn) -> None:
    bad = Publication("XX", date(2026, 5, 21), None, "x", [Quote("USD", 1, Decimal(1))])
    with pytest.raises(KeyError):
        store_rates(any_conn, [_pub(date(2026, 5, 20), "87.10"), bad])
    assert count_rates(any_conn) == 0


def test_import_bundled_cassettes_twice(any_conn) -> None:
    first = import_recorded(any_conn, DATA_DIR)
    assert first.responses == 16 and first.publications == 22
    assert first.stored.inserted == count_rates(any_conn) == 647
    second = import_recorded(any_conn, DATA_DIR)
    assert (second.stored.inserted, second.stored.unchanged) == (0, 647)


def test_a_refused_response_in_a_cassette_stores_nothing(conn, tmp_path: Path) -> None:
    text = (DATA_DIR / "nbt.yml").read_text()
    # The request for 19 May rewritten to ask for 17 May: the table (19 May) is then wrong.
    broken = text.replace("date=2026-05-19&export", "date=2026-05-17&export", 1)
    path = tmp_path / "nbt_wrong_date.yml"
    path.write_text(broken)
    with pytest.raises(CassetteError, match="2026-05-17 but the response carries 2026-05-19"):
        import_recorded(conn, path)
    assert count_rates(conn) == 0
    path.write_text("http_interactions: [{request: {}}]")
    with pytest.raises(CassetteError, match="request.uri"):
        import_recorded(conn, path)
    with pytest.raises(CassetteError, match="no such file"):
        import_recorded(conn, tmp_path / "missing.yml")


def test_bundled_copies_match_the_conformance_recordings(conformance: Path) -> None:
    shared = conformance / "fx"
    for name in ["LICENSE", *sorted(p.name for p in shared.glob("*.yml"))]:
        assert (DATA_DIR / name).read_bytes() == (shared / name).read_bytes(), name


def test_store_module_imports_first_without_a_cycle() -> None:
    """corridor.store.fx_store needs corridor.fx.model; importing it first must work."""
    import subprocess
    import sys

    code = "import corridor.store.fx_store, corridor.fx; corridor.fx.value"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
