"""Logged events, read with care: what emission figures and the claims on them rest on.

A `LoggedEvent` is an event as Corridor stores and returns it (its JSON-LD form, extension
fields under the prefixes its capture document declared), with its Event Hash ID and its
index in the log. Extension fields are found by namespace IRI, never by prefix spelling:
`cor:electricityKWh` is `https://ns.corridor.example/epcis/electricityKWh` under whatever
prefix the capture declared. A stored event does not carry its document's @context, so the
prefixes come with the event (`namespaces`, e.g. corridor.query.known_namespaces or the
capture document's) or, when not given, from Corridor's own map (`DEFAULT_NAMESPACES`); in
both cases `checked_namespaces` proves them: the Event Hash ID hashes every extension field
under its full IRI, so only the right map reproduces the logged ID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from corridor.epcis.hashid import event_hash_id
from corridor.epcis.identifiers import canonical
from corridor.epcis.jsonld import standard_prefixes

# Namespace of Corridor's extension fields (the demo's COR_NS, corridor/demo/scenario.py).
COR_NS = "https://ns.corridor.example/epcis/"
DEFAULT_NAMESPACES: Mapping[str, str] = {"cor": COR_NS}

# Units of mass a lot's quantity may be given in (UN/CEFACT Recommendation 20), in kg.
MASS_UNITS = {"KGM": Decimal(1), "TNE": Decimal(1000)}
THOUSAND = Decimal(1000)


class FiguresMissing(ValueError):
    """The logged events do not give the figures asked for. `missing` names each figure or
    event that is missing or wrong; the message joins them."""

    def __init__(self, *missing: str) -> None:
        self.missing = list(missing)
        super().__init__("; ".join(self.missing) or "the events do not give the figures")


@dataclass(frozen=True, eq=False)
class LoggedEvent:
    """One logged event: `event` as stored (corridor.query returns it), `hash_id` its Event
    Hash ID, `log_index` its place in the log. `namespaces`: prefix -> IRI of its extension
    fields (None: Corridor's own map). `party`: the identifier of the party that captured it,
    when known (the log entry's party line)."""
    hash_id: str
    log_index: int
    event: Mapping[str, Any]
    namespaces: Mapping[str, str] | None = None
    party: str | None = None


def namespace_map(event: LoggedEvent) -> dict[str, str]:
    return {**standard_prefixes(), **(DEFAULT_NAMESPACES if event.namespaces is None
                                      else event.namespaces)}


def checked_namespaces(event: LoggedEvent) -> dict[str, str]:
    """The event's prefix map, once its Event Hash ID proves it; FiguresMissing otherwise."""
    namespaces = namespace_map(event)
    try:
        computed = event_hash_id(dict(event.event), namespaces)
    except Exception as exc:  # noqa: BLE001 - a malformed event is that event's problem
        raise FiguresMissing(f"event {event.hash_id}: not a readable EPCIS event ({exc})") \
            from None
    if computed != event.hash_id:
        own = {p: i for p, i in namespaces.items() if p not in standard_prefixes()}
        raise FiguresMissing(f"event {event.hash_id}: its Event Hash ID is not reproduced with "
                             f"the namespaces {own} (the event was changed, or its extension "
                             "fields are under other namespaces): its figures cannot be read")
    return namespaces


def expand(key: str, namespaces: Mapping[str, str]) -> str:
    prefix, sep, rest = key.partition(":")
    if not sep or rest.startswith("//"):
        return key
    iri = namespaces.get(prefix)
    return iri + rest if iri else key


def field(obj: object, local: str, namespaces: Mapping[str, str]) -> Any:
    """The value of Corridor's extension field `local` (cor:<local>) in a JSON object, found
    by its IRI; None when absent."""
    if not isinstance(obj, Mapping):
        return None
    want = COR_NS + local
    for key, value in obj.items():
        if isinstance(key, str) and expand(key, namespaces) == want:
            return value
    return None


def number(value: object) -> Decimal | None:
    """A JSON number or numeric string as a Decimal; None for anything else (or not finite)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def rounded(value: Decimal, places: int = 3) -> Decimal:
    """Half-even to `places` decimals, whatever the thread's decimal context."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def same_item(a: object, b: str) -> bool:
    """Whether `a` names the same EPC or EPC class as `b` (URN or GS1 Digital Link)."""
    return isinstance(a, str) and canonical(a) == canonical(b)


def mass_kg(entries: object, item: str) -> tuple[Decimal | None, str | None]:
    """(kg of `item` in a quantity list, None) or (None, what is wrong); (None, None) when
    the list does not name it."""
    total, found = Decimal(0), False
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, Mapping) or not same_item(entry.get("epcClass"), item):
            continue
        found = True
        quantity, unit = number(entry.get("quantity")), entry.get("uom")
        if quantity is None:
            return None, "its quantity is not a number"
        if unit not in MASS_UNITS:
            return None, (f"its quantity is in {unit!r}, not a mass (KGM or TNE)" if unit
                          else "its quantity is a count, not a mass (no uom)")
        total += quantity * MASS_UNITS[str(unit)]
    return (total, None) if found else (None, None)


def in_log_order(events: Iterable[LoggedEvent]) -> list[LoggedEvent]:
    unique = {e.hash_id: e for e in events}
    return sorted(unique.values(), key=lambda e: (e.log_index, e.hash_id))


def place_of(event: Mapping[str, Any]) -> str | None:
    """Where the event happened: its bizLocation, else its readPoint."""
    for key in ("bizLocation", "readPoint"):
        place = event.get(key)
        if isinstance(place, Mapping) and isinstance(place.get("id"), str):
            return str(place["id"])
    return None
