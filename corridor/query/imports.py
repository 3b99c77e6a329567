"""What an importer imported into the EU in a calendar year, read from the events it may see.

One `Import` per container and lot: the lot (LGTIN class), its CN code, net mass, when and
where the goods entered the EU, the installation that produced them and their country of
origin, each with the events it rests on (Event Hash IDs).

How each figure is found, in the viewer's visibility (corridor.query.visibility):

- the containers: the events naming the importer as destination owning party; each
  container's packing AggregationEvent (action ADD) gives its lot(s) and net mass
  (childQuantityList, in KGM or TNE);
- CN code: the lot's ILMD `cor:cnCode` when the viewer can read the event that produced the
  lot; otherwise the `cor:cnCode` the shipping event of the container carries;
- entry into the EU: the goods become imports when released for free circulation (Regulation
  (EU) 2023/956 Article 3(15)), which no demo event records. What stands in for it is the
  container's port of discharge in the EU: the last `unloading` event at a place whose
  country (its master data countryCode, corridor.query.places) is an EU Member State
  (corridor.emissions.cbam_data.eu_member_states). An earlier call at an EU port on the way
  (Constanta in the demo, a transshipment) is kept as `first_eu_event`, not as the entry.
  The calendar year is the entry's local date (its eventTime with its own offset);
- installation and country of origin: the producing event's place and its ILMD
  `cbvmda:countryOfOrigin` when readable; otherwise the place the container was packed at,
  when that place's SGLN has the lot's GS1 company prefix (the producer packed its own lot),
  and that place's country. The operator is the party registered under that company prefix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from corridor.emissions.batch import produces
from corridor.emissions.cbam_data import MemberStates, eu_member_states
from corridor.emissions.events import THOUSAND, LoggedEvent, field, mass_kg, place_of
from corridor.epcis.identifiers import canonical, company_prefix_key, gln13
from corridor.query.events_view import EventRow, matching_events
from corridor.query.parties import PartyNames, party_names
from corridor.query.places import Place, Places, stored_places
from corridor.query.run import known_namespaces
from corridor.query.visibility import ViewerLike
from corridor.store.db import Connection

ORIGIN_KEYS = ("cbvmda:countryOfOrigin", "urn:epcglobal:cbv:mda:countryOfOrigin")
MOST_EVENTS = 200_000


@dataclass(frozen=True)
class Installation:
    site: str  # the production site's SGLN, as written
    name: str  # the place's name, else the SGLN
    locode: str  # UN/LOCODE, "" when none
    country: str  # ISO 3166-1 alpha-2, "" when unknown
    operator: str | None  # the operator's party identifier (PGLN), None when unknown
    operator_name: str | None
    basis: str  # how the installation was found


@dataclass(frozen=True)
class Import:
    container: str
    lot: str
    cn: str
    cn_basis: str
    net_kg: Decimal
    entered: datetime  # local time of the entry event (with its offset)
    entry_place: str
    entry_country: str
    entry_event: str  # Event Hash ID
    first_eu_event: str  # Event Hash ID of the first event at an EU place
    installation: Installation
    country_of_origin: str
    origin_basis: str
    evidence: tuple[str, ...]  # Event Hash IDs, log order
    notes: tuple[str, ...] = ()

    @property
    def net_tonnes(self) -> Decimal:
        return self.net_kg / THOUSAND


@dataclass(frozen=True)
class Imports:
    importer: str
    year: int
    imports: tuple[Import, ...]
    not_counted: tuple[str, ...]  # container: why it is not an import of the year


@dataclass(frozen=True)
class _Produced:
    """What the lot's producing event says, when the viewer can read it."""
    event: EventRow
    cn: str | None
    country: str | None
    site: str | None


class _Reader:
    def __init__(self, conn: Connection, viewer: ViewerLike, eu: MemberStates) -> None:
        self.conn, self.viewer, self.eu = conn, viewer, eu
        self.places: Places = stored_places(conn)
        self.names: PartyNames = party_names(conn)
        self.ns = known_namespaces(conn)
        self.produced: dict[str, _Produced | None] = {}

    def ext(self, obj: object, local: str) -> Any:
        """Corridor's extension field `local`, by IRI under the prefixes seen at capture."""
        return field(obj, local, self.ns)

    def production(self, lot: str) -> _Produced | None:
        if lot not in self.produced:
            self.produced[lot] = self._production(lot)
        return self.produced[lot]

    def _production(self, lot: str) -> _Produced | None:
        rows = matching_events(self.conn, self.viewer, {"MATCH_outputEPCClass": [lot]},
                               places=self.places)
        rows += matching_events(self.conn, self.viewer, {"MATCH_epcClass": [lot]},
                                places=self.places)
        for row in rows:
            logged = LoggedEvent(row.hash_id, row.log_index or 0, row.doc, self.ns)
            if produces(logged, lot):
                ilmd = row.doc.get("ilmd")
                ilmd = ilmd if isinstance(ilmd, Mapping) else {}
                cn = self.ext(ilmd, "cnCode")
                country = next((ilmd[k] for k in ORIGIN_KEYS if isinstance(ilmd.get(k), str)),
                               None)
                site = place_of(row.doc)
                return _Produced(row, str(cn) if cn else None, country, site)
        return None


def _producer_prefix(lot: str, site: str | None) -> str | None:
    """The GS1 company prefix of the lot (an LGTIN class), when the site (an SGLN) has it too
    or, with `site` None, as the lot spells it. An identifier written as a Digital Link does
    not say where its prefix ends; the one written as an EPC URN does."""
    lot_key, site_key = company_prefix_key(lot), company_prefix_key(site) if site else None
    if lot_key is None:
        return None
    if site is None:
        return lot_key[1]
    if site_key is None:
        return None
    prefix = lot_key[1] or site_key[1]
    if prefix and lot_key[0].startswith(prefix) and site_key[0].startswith(prefix):
        return prefix
    return None


def _operator(reader: _Reader, prefix: str | None) -> tuple[str | None, str | None]:
    """The party registered under the company prefix (its PGLN with location reference
    0...0), when there is one."""
    if not prefix or not 6 <= len(prefix) <= 12:
        return None, None
    name = reader.names.by_gln.get(gln13(prefix, "0" * (12 - len(prefix))))
    return (f"urn:epc:id:pgln:{prefix}.{'0' * (12 - len(prefix))}", name) if name \
        else (None, None)


def _installation(reader: _Reader, site: str, basis: str, prefix: str | None
                  ) -> Installation:
    place = reader.places.at(canonical(site), None)
    operator, operator_name = _operator(reader, prefix)
    return Installation(site, place.name if place else site, place.locode if place else "",
                        place.country if place else "", operator, operator_name, basis)


def _by_container(rows: Sequence[EventRow]) -> dict[str, list[EventRow]]:
    """The events of each container, under the container's identifier as first written."""
    found: dict[str, list[EventRow]] = {}
    written: dict[str, str] = {}
    for row in rows:
        names = [row.doc.get("parentID")] if row.event_type == "AggregationEvent" \
            else row.doc.get("epcList") or []
        for name in names:
            if isinstance(name, str):
                key = written.setdefault(canonical(name), name)
                found.setdefault(key, []).append(row)
    return found


def _packed(rows: Sequence[EventRow]) -> tuple[EventRow | None, list[str]]:
    """The container's packing event (AggregationEvent ADD with a childQuantityList) and
    the lots it names."""
    for row in rows:
        if row.event_type == "AggregationEvent" and row.action == "ADD":
            lots = [q["epcClass"] for q in row.doc.get("childQuantityList") or []
                    if isinstance(q, Mapping) and isinstance(q.get("epcClass"), str)]
            if lots:
                return row, list(dict.fromkeys(lots))
    return None, []


def _local_time(row: EventRow) -> datetime:
    stamp = row.doc.get("eventTime")
    return datetime.fromisoformat(stamp) if isinstance(stamp, str) else row.time


def _eu_events(reader: _Reader, rows: Sequence[EventRow]) -> list[EventRow]:
    return [r for r in rows if r.place is not None and r.place.country in reader.eu]


def _port_of_discharge(container: str, rows: Sequence[EventRow], eu: Sequence[EventRow]
                       ) -> EventRow | str:
    """The unloading event that ended the container's sea leg in the EU, or why there is
    none yet: its last unloading at an EU place, when it was not loaded again there and a
    later event elsewhere (the delivery) shows it left that port by land."""
    discharged = [r for r in eu if r.biz_step == "unloading"]
    if not discharged:
        return f"{container}: not discharged at an EU port yet"
    entry = discharged[-1]
    here = entry.place.key if entry.place else None
    later = [r for r in rows if r.time > entry.time]
    if any(r.biz_step == "loading" and r.place is not None and r.place.key == here
           for r in later):
        return f"{container}: transshipped at {entry.where}, not discharged at its EU port yet"
    if not any(r.place is not None and r.place.key != here for r in later):
        return (f"{container}: discharged at {entry.where} on {_local_time(entry).date()}; "
                "no later event shows it left the port by land yet")
    return entry


def _cn(reader: _Reader, lot: str, rows: Sequence[EventRow]
        ) -> tuple[str | None, str, list[EventRow]]:
    produced = reader.production(lot)
    if produced is not None and produced.cn:
        return produced.cn, f"the lot's ILMD (producing event {produced.event.hash_id})", \
            [produced.event]
    for row in rows:
        if row.biz_step == "shipping":
            cn = reader.ext(row.doc, "cnCode")
            if cn:
                return str(cn), f"the shipping event {row.hash_id} (cor:cnCode)", [row]
    return None, "no readable event gives the CN code", []


def _origin(reader: _Reader, lot: str, packed: EventRow
            ) -> tuple[Installation | None, str, str, list[EventRow]]:
    """(installation, country of origin, how it was found, events) of the lot."""
    produced = reader.production(lot)
    if produced is not None and produced.site:
        inst = _installation(reader, produced.site,
                             f"the producing event {produced.event.hash_id}",
                             _producer_prefix(lot, None))
        country = produced.country or inst.country
        how = ("the lot's ILMD cbvmda:countryOfOrigin" if produced.country
               else "the production site's country (master data)")
        return inst, country, how, [produced.event]
    site = place_of(packed.doc)
    prefix = _producer_prefix(lot, site) if site else None
    if site and prefix:
        inst = _installation(reader, site, (
            f"the producing event is not visible: the lot's GS1 company prefix {prefix} packed "
            f"it at its own site (packing event {packed.hash_id})"), prefix)
        return inst, inst.country, "the packing site's country (master data)", [packed]
    return None, "", "no readable event names the production site", []


def _import(reader: _Reader, container: str, lot: str, rows: Sequence[EventRow],
            packed: EventRow) -> Import | str:
    """The import of `lot` in `container`, or why it is not one."""
    kg, wrong = mass_kg(packed.doc.get("childQuantityList"), lot)
    if kg is None:
        return f"{container}: the packing event {packed.hash_id} gives no net mass of {lot}" \
               + (f" ({wrong})" if wrong else "")
    eu = _eu_events(reader, rows)
    entry = _port_of_discharge(container, rows, eu)
    if isinstance(entry, str):
        return entry
    cn, cn_basis, cn_events = _cn(reader, lot, rows)
    if cn is None:
        return f"{container}: {cn_basis}"
    inst, country, origin_basis, origin_events = _origin(reader, lot, packed)
    if inst is None:
        return f"{container}: {origin_basis}"
    place = entry.place
    assert place is not None  # an EU event has a known place
    used = {r.hash_id: r for r in [packed, *cn_events, *origin_events, eu[0], entry]}
    evidence = tuple(r.hash_id for r in sorted(used.values(),
                                               key=lambda r: (r.log_index or 0, r.hash_id)))
    return Import(container, lot, cn, cn_basis, kg, _local_time(entry), place.name,
                  place.country, entry.hash_id, eu[0].hash_id, inst, country, origin_basis,
                  evidence, _notes(eu[0], entry, place))


def _notes(first: EventRow, entry: EventRow, place: Place) -> tuple[str, ...]:
    notes = [(f"entry: discharged at {place.name} ({place.country}); the release for free "
             "circulation is not logged, the port of discharge stands in for it")]
    if first.hash_id != entry.hash_id and first.place is not None \
            and first.place.key != place.key:
        notes.append(f"first reached the EU at {first.place.name} ({first.place.country}) "
                     f"on {_local_time(first).date()}, in transit")
    return tuple(notes)


def imports_of(conn: Connection, viewer: ViewerLike, importer: str, year: int, *,
               member_states: MemberStates | None = None) -> Imports:
    """The goods `importer` (a party identifier, e.g. its PGLN) imported into the EU in
    `year`, as far as `viewer` can read."""
    reader = _Reader(conn, viewer, member_states or eu_member_states())
    rows = matching_events(conn, viewer, {"EQ_destination_owning_party": [importer]},
                           places=reader.places, limit=MOST_EVENTS)
    found: list[Import] = []
    skipped: list[str] = []
    for container, events in sorted(_by_container(rows).items()):
        packed, lots = _packed(events)
        if packed is None:
            skipped.append(f"{container}: no visible packing event gives its lot and mass")
            continue
        for lot in lots:
            result = _import(reader, container, lot, events, packed)
            if isinstance(result, str):
                skipped.append(result)
            elif result.entered.year != year:
                skipped.append(f"{container}: entered the EU on {result.entered.date()}, "
                               f"not in {year}")
            else:
                found.append(result)
    found.sort(key=lambda i: (i.entered, i.container, i.lot))
    return Imports(importer, year, tuple(found), tuple(skipped))
