"""What trigger evaluation reads and produces: the logged events of an insured unit and the
firings of the policy's triggers, each with the trace a claim rests on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from corridor.emissions.events import place_of
from corridor.epcis.identifiers import canonical

_EPC_FIELDS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_FIELDS = ("quantityList", "childQuantityList", "inputQuantityList",
                    "outputQuantityList")


def instant(text: object) -> datetime | None:
    """An RFC 3339 date-time with an offset, in UTC; None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


@dataclass(frozen=True, eq=False)
class UnitEvent:
    """One logged event (its EPCIS JSON-LD document) covered by a witnessed checkpoint.

    What evaluation reads of it (time, place, the identifiers it names) is computed once per
    object: the node keeps these objects across passes, so an event read again costs no new
    parsing."""

    hash_id: str
    log_index: int
    event: Mapping[str, Any]

    @cached_property
    def time(self) -> datetime | None:
        return instant(self.event.get("eventTime"))

    @cached_property
    def where(self) -> str | None:
        """The place as written (bizLocation, else readPoint)."""
        return place_of(self.event)

    @cached_property
    def place(self) -> str | None:
        """The canonical key of `where` (an SGLN URN and its Digital Link are one place)."""
        return None if self.where is None else canonical(self.where)

    @cached_property
    def names(self) -> frozenset[str]:
        """The canonical keys of every EPC, parent and class the event names."""
        found: set[str] = set()
        parent = self.event.get("parentID")
        if isinstance(parent, str):
            found.add(canonical(parent))
        for key in _EPC_FIELDS:
            items = self.event.get(key)
            for epc in items if isinstance(items, list) else ():
                if isinstance(epc, str):
                    found.add(canonical(epc))
        for key in _QUANTITY_FIELDS:
            entries = self.event.get(key)
            for q in entries if isinstance(entries, list) else ():
                if isinstance(q, Mapping) and isinstance(q.get("epcClass"), str):
                    found.add(canonical(q["epcClass"]))
        return frozenset(found)


@dataclass(frozen=True)
class Firing:
    """A trigger that fired for one unit: the tier reached and what it rests on."""

    trigger_id: str
    unit: str
    tier: int  # index into the trigger's tiers
    share: Decimal
    measure: Decimal  # hours (delay, dwell, notice) or minutes (sensor) reached; 0 otherwise
    at: datetime  # the trigger date: the time of the event that completed it (UTC)
    events: tuple[str, ...]  # Event Hash IDs the firing rests on, by event time
    notices: tuple[str, ...]  # Event Hash IDs of the notices it rests on
    rule: str  # one sentence: the rule, the figures and the tier, for the trace
