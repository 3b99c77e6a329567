"""Storing and reading central-bank rates (table fx_rates, see schema_fx).

Writes are idempotent upserts keyed by (bank, currency, effective date): storing the same
table twice changes nothing; a bank's correction of a figure replaces the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Self

from corridor.store.db import Connection

if TYPE_CHECKING:
    from corridor.fx.model import Publication


@dataclass(frozen=True)
class StoredRate:
    bank: str
    home: str
    currency: str
    effective_date: date
    units: int
    value: Decimal  # home currency per `units`, as published
    rate: Decimal  # home currency per one unit
    publication_date: date | None
    source_url: str


@dataclass
class StoreResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: StoreResult) -> Self:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


_COLUMNS = ("bank, home, currency, effective_date, units, value, rate, publication_date, "
            "source_url")


def _row(r: tuple) -> StoredRate:
    return StoredRate(
        bank=r[0], home=r[1], currency=r[2], effective_date=date.fromisoformat(r[3]),
        units=int(r[4]), value=Decimal(r[5]), rate=Decimal(r[6]),
        publication_date=date.fromisoformat(r[7]) if r[7] else None, source_url=r[8])


def store_publications(conn: Connection, pubs: list[Publication], *,
                       is_restatement: Callable[[str], object]) -> StoreResult:
    """Store every quote of every publication in ONE transaction (all or nothing).
    `is_restatement(source_url)` tells a demo restatement from a real publication
    (corridor.fx.model.restated_from: fx's knowledge, passed in so the store need not
    import corridor.fx, which imports the store)."""
    result = StoreResult()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with conn.transaction():
        for pub in pubs:
            home = pub.home
            day = pub.effective_date.isoformat()
            published = pub.publication_date.isoformat() if pub.publication_date else None
            existing = {
                r[0]: r[1:] for r in conn.fetchall(
                    "SELECT currency, units, value, publication_date, source_url FROM fx_rates"
                    " WHERE bank = ? AND effective_date = ?", (pub.bank, day))}
            inserts = []
            for q in pub.quotes:
                old = existing.get(q.currency)
                if old is None:
                    inserts.append((pub.bank, home, q.currency, day, q.units, str(q.value),
                                    str(q.rate), published, pub.source_url, now))
                elif (int(old[0]), old[1]) == (q.units, str(q.value)):
                    result.unchanged += 1
                    if is_restatement(old[3]) and not is_restatement(pub.source_url):
                        # The real table of a day the demo had restated, with the same
                        # figures: it is no longer a restatement.
                        conn.execute(
                            "UPDATE fx_rates SET publication_date = ?, source_url = ?"
                            " WHERE bank = ? AND currency = ? AND effective_date = ?",
                            (published, pub.source_url, pub.bank, q.currency, day))
                    elif old[2] is None and published is not None:
                        # Same figures: only fill in a publication date we did not know.
                        conn.execute(
                            "UPDATE fx_rates SET publication_date = ? WHERE bank = ? AND"
                            " currency = ? AND effective_date = ?",
                            (published, pub.bank, q.currency, day))
                else:
                    conn.execute(
                        "UPDATE fx_rates SET units = ?, value = ?, rate = ?,"
                        " publication_date = ?, source_url = ?, stored_at = ?"
                        " WHERE bank = ? AND currency = ? AND effective_date = ?",
                        (q.units, str(q.value), str(q.rate), published, pub.source_url, now,
                         pub.bank, q.currency, day))
                    result.updated += 1
            if inserts:
                conn.executemany(
                    f"INSERT INTO fx_rates ({_COLUMNS}, stored_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inserts)
                result.inserted += len(inserts)
    return result


def latest_quote(conn: Connection, bank: str, currency: str, on: date) -> StoredRate | None:
    """The bank's quote of `currency` effective on `on`, else its latest earlier one."""
    row = conn.fetchone(
        f"SELECT {_COLUMNS} FROM fx_rates WHERE bank = ? AND currency = ?"
        " AND effective_date <= ? ORDER BY effective_date DESC LIMIT 1",
        (bank, currency, on.isoformat()))
    return _row(row) if row else None


def previous_quote(conn: Connection, bank: str, currency: str,
                   before: date) -> StoredRate | None:
    """The bank's last quote of `currency` effective strictly before `before`."""
    row = conn.fetchone(
        f"SELECT {_COLUMNS} FROM fx_rates WHERE bank = ? AND currency = ?"
        " AND effective_date < ? ORDER BY effective_date DESC LIMIT 1",
        (bank, currency, before.isoformat()))
    return _row(row) if row else None


def rates_between(conn: Connection, bank: str, currency: str, start: date,
                  end: date) -> list[StoredRate]:
    rows = conn.fetchall(
        f"SELECT {_COLUMNS} FROM fx_rates WHERE bank = ? AND currency = ?"
        " AND effective_date >= ? AND effective_date <= ? ORDER BY effective_date",
        (bank, currency, start.isoformat(), end.isoformat()))
    return [_row(r) for r in rows]


def effective_dates(conn: Connection, bank: str | None = None) -> list[date]:
    """Every effective date stored (of one bank, or of any), ascending."""
    if bank:
        rows = conn.fetchall("SELECT DISTINCT effective_date FROM fx_rates WHERE bank = ?"
                             " ORDER BY effective_date", (bank,))
    else:
        rows = conn.fetchall("SELECT DISTINCT effective_date FROM fx_rates"
                             " ORDER BY effective_date")
    return [date.fromisoformat(r[0]) for r in rows]


def latest_date(conn: Connection) -> date | None:
    row = conn.fetchone("SELECT MAX(effective_date) FROM fx_rates")
    return date.fromisoformat(row[0]) if row and row[0] else None


def count_rates(conn: Connection) -> int:
    row = conn.fetchone("SELECT COUNT(*) FROM fx_rates")
    return int(row[0]) if row else 0
