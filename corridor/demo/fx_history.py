"""The demo's exchange-rate history: the recorded real tables, plus, for every other business
day of the scenario's period, each bank's nearest recorded figures restated for that day and
labelled as such. `data/fx_history.yml` says which banks, currencies and days, and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from corridor.fx.importer import bundled_publications
from corridor.fx.model import (
    BANKS,
    CURRENCIES,
    Publication,
    Quote,
    restated_from,
    restated_source,
)
from corridor.store.db import Connection
from corridor.store.fx_store import rates_between, store_publications

PLAN_FILE = Path(__file__).resolve().parent / "data" / "fx_history.yml"


@dataclass(frozen=True)
class HistoryPlan:
    banks: tuple[str, ...]
    currencies: tuple[str, ...]
    weekdays: frozenset[int]  # ISO: 1 = Monday
    lead_days: int

    def days(self, start: date, end: date) -> list[date]:
        """The business days of [start, end] that get a table."""
        return [start + timedelta(days=n) for n in range((end - start).days + 1)
                if (start + timedelta(days=n)).isoweekday() in self.weekdays]


def load_plan(path: Path = PLAN_FILE) -> HistoryPlan:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    banks = tuple(data["banks"])
    currencies = tuple(data["currencies"])
    weekdays = frozenset(int(d) for d in data["weekdays"])
    lead = int(data["lead_days"])
    unknown = [b for b in banks if b not in BANKS] + [c for c in currencies
                                                     if c not in CURRENCIES]
    if unknown or not weekdays <= set(range(1, 8)) or lead < 0:
        raise ValueError(f"{path}: unknown banks or currencies {unknown}, or bad weekdays "
                         f"{sorted(weekdays)} or lead_days {lead}")
    return HistoryPlan(banks, currencies, weekdays, lead)


def period(first_event: date, last_event: date, plan: HistoryPlan) -> tuple[date, date]:
    """From `lead_days` before the first event's day to the last event's day."""
    return first_event - timedelta(days=plan.lead_days), last_event


@dataclass(frozen=True)
class _Recorded:
    day: date
    quote: Quote
    source_url: str


def restate(recorded: Iterable[Publication], have: set[tuple[str, str, date]],
            start: date, end: date, plan: HistoryPlan) -> list[Publication]:
    """Publications for each (bank, currency, business day) of [start, end] in `plan` that
    `have` lacks: the bank's recorded figure nearest in time (the earlier on a tie), its
    source marked as restated unless it is the recorded table of that very day."""
    by_key: dict[tuple[str, str], list[_Recorded]] = {}
    for pub in recorded:
        if pub.bank not in plan.banks:
            continue
        for q in pub.quotes:
            if q.currency in plan.currencies:
                by_key.setdefault((pub.bank, q.currency), []).append(
                    _Recorded(pub.effective_date, q, pub.source_url))
    tables: dict[tuple[str, date, str], Publication] = {}
    for day in plan.days(start, end):
        for (bank, currency), found in sorted(by_key.items()):
            if (bank, currency, day) in have:
                continue
            near = min(found, key=lambda r: (abs((r.day - day).days), r.day > day))
            source = near.source_url if near.day == day else \
                restated_source(near.day, near.source_url)
            key = (bank, day, source)
            if key not in tables:
                tables[key] = Publication(bank, day, None, source)
            tables[key].quotes.append(near.quote)
    return list(tables.values())


def seed_history(conn: Connection, first_event: date, last_event: date,
                 plan: HistoryPlan | None = None) -> int:
    """Store the restated figures the period lacks (idempotent: a second call, or a day
    already holding a real table, adds nothing). Returns the number of rates stored."""
    plan = plan or load_plan()
    start, end = period(first_event, last_event, plan)
    have = {(bank, currency, r.effective_date)
            for bank in plan.banks for currency in plan.currencies
            for r in rates_between(conn, bank, currency, start, end)}
    pubs = restate(bundled_publications(), have, start, end, plan)
    return store_publications(conn, pubs, is_restatement=restated_from).inserted
