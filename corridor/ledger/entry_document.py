"""The entry document: the JSON whose RFC 8785 digest is a log entry's `doc` line, and how an
event as a user holds it maps onto it (docs/ledger-entry-format.md, "The entry document").

The node digests the event as captured, plus the `eventID` it assigns (the Event Hash ID) to
an event captured without one. Its record time is not in the document: the entry's `time`
line carries it. A user holds the event as captured (no `eventID`) or as
GET /epcis/events/{id} returns it (with the node's `recordTime`). `entry_document` maps either
onto the digested document; each member it adds or leaves out is bound to a line of the entry,
so every member the user holds is still checked. `explain` says, when no form matches, which
member differs, as far as an entry (which holds digests, not values) can tell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from corridor.ledger.entry import LogEntry
from corridor.ledger.jcs import document_digest

# The members the node adds to what it returns or stores, which the entry binds by a line.
NODE_MEMBERS = ("eventID", "recordTime")
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
                      r"(?:([Zz])|([+-])(\d{2}):(\d{2}))", re.ASCII)


@dataclass(frozen=True)
class EntryDocument:
    """The document an entry's digest covers, and how the user's event was mapped onto it."""

    document: dict[str, Any]
    notes: tuple[str, ...] = ()  # each normalisation applied, as a sentence for the user


def _instant(text: str) -> tuple[datetime, str] | None:
    """(UTC time to the second, fraction digits) of an RFC 3339 date-time, or None."""
    m = _RFC3339.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    offset = timedelta(0)
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        offset = -offset if m.group(9) == "-" else offset
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:  # month 13, second 60, offset beyond 24 h, ...
        return None
    return local.astimezone(UTC), m.group(7) or ""


def same_record_time(value: object, entry_time: str) -> bool:
    """True when `value` is the entry's record time, written with the same or fewer fraction
    digits (truncated, as GET /epcis/events writes milliseconds), in any offset."""
    if not isinstance(value, str):
        return False
    mine, theirs = _instant(value), _instant(entry_time)
    if mine is None or theirs is None or mine[0] != theirs[0]:
        return False
    return theirs[1].ljust(9, "0").startswith(mine[1].rstrip("0"))


def candidates(event: Mapping[str, Any], entry: LogEntry) -> list[EntryDocument]:
    """The documents `event` may stand for, the literal one first: as it is; with the eventID
    the node assigns (the entry's Event Hash ID) when it has none; without a `recordTime` that
    is the entry's record time. (A recordTime a capture itself supplied is part of the
    document of entries logged before nodes dropped it at capture: the literal form keeps
    it.)"""
    forms = [EntryDocument(dict(event))]
    if not event.get("eventID"):  # as corridor.capture.prepare assigns it
        note = (f"eventID {entry.event_hash_id} taken from the entry (the node gives an event "
                "captured without eventID its Event Hash ID)")
        forms.append(EntryDocument({**event, "eventID": entry.event_hash_id}, (note,)))
    if same_record_time(event.get("recordTime"), entry.record_time):
        note = (f"recordTime {event['recordTime']} left out: it is the node's record time, "
                "which the entry's time line holds")
        forms += [EntryDocument(_without(f.document, "recordTime"), (*f.notes, note))
                  for f in list(forms)]
    return forms


def entry_document(event: Mapping[str, Any], entry: LogEntry) -> EntryDocument | None:
    """The form of `event` whose RFC 8785 SHA-256 is the entry's `doc`, or None."""
    for form in candidates(event, entry):
        if document_digest(form.document) == entry.document_sha256:
            return form
    return None


def _without(event: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != name}


def _named(event: Mapping[str, Any], entry: LogEntry) -> str | None:
    """The one member whose change a match proves: the rest of the event is then exactly the
    logged document (its digest matches)."""
    record_time = event.get("recordTime")
    if "recordTime" in event and entry_document(_without(event, "recordTime"), entry):
        return (f"recordTime {record_time} differs from the record time the entry holds, "
                f"{entry.record_time} (the event without recordTime matches; a node ignores "
                "a recordTime in a captured event and records its own)")
    if event.get("eventID") and entry_document({**event, "eventID": entry.event_hash_id},
                                               entry):
        return (f"eventID {event['eventID']} differs from the eventID the node assigned, "
                f"{entry.event_hash_id} (the entry's Event Hash ID)")
    for name in event:
        if name not in NODE_MEMBERS and entry_document(_without(event, name), entry):
            return f"member {name} is not in the logged event (the event without it matches)"
    return None


def explain(event: Mapping[str, Any], entry: LogEntry,
            hash_id: Callable[[Mapping[str, Any]], str] | None = None) -> str:
    """Why no form of `event` has the entry's digest, naming the member at fault when the
    entry lets one tell. `hash_id(event)`: its Event Hash ID (corridor.epcis), which tells
    members it covers from those it does not; without it, only what the digest proves."""
    named = _named(event, entry)
    if named:
        return named
    if hash_id is None:
        return ("a member was changed, added or removed; the entry holds one digest of the "
                "whole document, so it cannot tell which")
    own = hash_id(event)
    covered = [name for name in event if _hash_or_none(hash_id, _without(event, name)) != own]
    if own != entry.event_hash_id:
        return (f"its event hash id {own} differs from the entry's {entry.event_hash_id}: the "
                "value of a member the Event Hash ID covers was changed, or such a member was "
                "added or removed; the entry holds digests only, so it cannot tell which of "
                + ", ".join(covered) + _compare(event, entry))
    others = [name for name in event if name not in covered and not (
        name == "recordTime" and same_record_time(event[name], entry.record_time))]
    suspects = (" or ".join(others) + " changed, or such a member (e.g. errorDeclaration) is "
                "missing" if others else "such a member (e.g. errorDeclaration) is missing")
    return ("its event hash id matches the entry's, so what differs is a member the Event Hash "
            f"ID does not cover: {suspects}; the entry holds digests only, so it cannot tell "
            "which" + _compare(event, entry))


def _hash_or_none(hash_id: Callable[[Mapping[str, Any]], str], event: dict[str, Any]
                  ) -> str | None:
    try:
        return hash_id(event)
    except (ValueError, KeyError, TypeError):  # e.g. an event without its type
        return None


def _compare(event: Mapping[str, Any], entry: LogEntry) -> str:
    event_id = event.get("eventID") or entry.event_hash_id
    return f" (compare it with what GET /epcis/events/{{eventID}} returns for {event_id})"
