"""Fetching tables from the banks and storing them: the engine of `corridor fx update`.

Each (bank, day) is fetched and stored in its own transaction, so one refused response costs
only itself; a refused response is never stored. Storing is an idempotent upsert."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import ModuleType

from corridor.fx import cbt, cbu, nbk, nbkr, nbt
from corridor.fx.http import FeedClient, NoPublication
from corridor.fx.model import BANKS, FeedError, restated_from
from corridor.store.db import Connection
from corridor.store.fx_store import StoreResult, store_publications

ADAPTERS: dict[str, ModuleType] = {"NBK": nbk, "NBKR": nbkr, "NBT": nbt, "CBU": cbu,
                                   "CBT": cbt}
MAX_RANGE_DAYS = 3660


@dataclass
class UpdateReport:
    stored: StoreResult = field(default_factory=StoreResult)
    fetched: list[str] = field(default_factory=list)  # "NBK 2026-04-01"
    no_publication: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def days_between(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"--from/--to: at most {MAX_RANGE_DAYS} days at a time")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def parse_banks(names: Iterable[str] | None) -> list[str]:
    chosen = [n.strip().upper() for n in names or () if n.strip()] or list(BANKS)
    unknown = [n for n in chosen if n not in ADAPTERS]
    if unknown:
        raise ValueError(f"--bank: unknown {unknown}; choose from {', '.join(ADAPTERS)}")
    return chosen


def plan(days: list[date], banks: list[str]) -> list[tuple[str, date]]:
    """The requests to make. NBKR publishes only its latest tables: one request, for the
    last day. CBT publishes nothing on Sundays (its server answers 404)."""
    steps = []
    for bank in banks:
        if bank == "NBKR":
            steps.append((bank, days[-1]))
            continue
        steps += [(bank, d) for d in days if not (bank == "CBT" and d.weekday() == 6)]
    return steps


def update(conn: Connection, client: FeedClient, days: list[date], banks: list[str], *,
           progress: Callable[[str, date], None] | None = None,
           latest: bool = False) -> UpdateReport:
    """`latest`: NBK from its latest-only RSS instead of the dated archive."""
    report = UpdateReport()
    for bank, day in plan(days, banks):
        label = f"{bank} {day.isoformat()}"
        try:
            if latest and bank == "NBK":
                label = "NBK latest"
                pubs = nbk.fetch_latest(client)
            else:
                pubs = ADAPTERS[bank].fetch(client, day)
        except NoPublication:
            report.no_publication.append(label)
        except FeedError as exc:
            note = str(exc)
            if bank == "CBT":
                note += " (TMT/USD answers fall back to the official 3.5 peg, labelled)"
            report.failures.append(note)
        else:
            report.stored += store_publications(conn, pubs, is_restatement=restated_from)
            report.fetched.append(label)
        if progress:
            progress(bank, day)
    return report
