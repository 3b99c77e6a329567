"""Stored events and the index rows that queries run on.

`index_event` turns one JSON-LD event into its row values and index rows (pure Python, no
database); `insert_events` writes a batch with executemany; the readers fetch stored events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from corridor.query.epc import canonical
from corridor.query.vocab import normalise
from corridor.store.db import Connection, lookup_key

_UTC_FAST = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(?:Z|\+00:00)")


def utc_time(value: str) -> str:
    """ISO 8601 date-time -> fixed-width UTC text (naive times count as UTC).

    Raises ValueError on a malformed time."""
    m = _UTC_FAST.fullmatch(value)
    if m and value[5:7] <= "12":
        # Already UTC: only the fraction needs padding (the common case, kept cheap).
        datetime.fromisoformat(m.group(1))  # still refuse impossible dates
        return f"{m.group(1)}.{(m.group(2) or '')[:6]:0<6}Z"
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return _format(dt.astimezone(UTC))


def _format(dt: datetime) -> str:
    # Not strftime: glibc may consult the time zone files on every call. (isoformat pads the
    # year to four digits and always writes the microseconds with this timespec.)
    return dt.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_utc() -> str:
    return _format(datetime.now(UTC))


def display_time(stored: str) -> str:
    """Stored UTC text -> the millisecond form EPCIS documents use."""
    return stored[:23] + "Z"


# Keys of each EPCIS structure that the standard defines; any other key is an extension.
_EPC_ROLES = (("epcList", "epc"), ("childEPCs", "child"), ("inputEPCList", "input"),
              ("outputEPCList", "output"))
_QTY_ROLES = (("quantityList", "class"), ("childQuantityList", "child_class"),
              ("inputQuantityList", "input_class"), ("outputQuantityList", "output_class"))
_SENSOR_META_TEXT = ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules")
_SENSOR_REPORT_TEXT = ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
                       "microorganism", "chemicalSubstance", "stringValue", "uriValue",
                       "coordinateReferenceSystem", "component")
_SENSOR_NUMS = ("value", "minValue", "maxValue", "meanValue", "sDev", "percValue")
_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$")


def is_extension_key(key: str) -> bool:
    return not key.startswith("@") and (":" in key)


def expand_key(key: str, namespaces: Mapping[str, str]) -> str:
    """`example:myField` -> `http://ns.example.com/epcis/myField` when the prefix is known."""
    prefix, _, local = key.partition(":")
    iri = namespaces.get(prefix)
    if iri is None or local.startswith("//"):
        return key
    return iri + local


def _scalar_row(path: str, value: Any) -> tuple[str, str | None, float | None]:
    if isinstance(value, bool):
        return (path, "true" if value else "false", None)
    if isinstance(value, int | float):
        return (path, repr(float(value)) if isinstance(value, float) else str(value),
                float(value))
    if isinstance(value, str):
        if _TIME_RE.match(value):
            try:
                return (path, utc_time(value), None)
            except ValueError:
                pass
        try:
            num = float(value)
        except ValueError:
            num = None
        return (path, value, num)
    return (path, None, None)


@dataclass
class IndexedEvent:
    """Row values and index rows of one event (event_pk filled in at insert)."""

    event_type: str
    action: str | None
    event_time: str
    biz_step: str | None
    disposition: str | None
    read_point: str | None
    biz_location: str | None
    transformation_id: str | None
    error_time: str | None
    epcs: list[tuple[str, str, float | None, str | None]] = field(default_factory=list)
    fields: list[tuple[str, str | None, float | None]] = field(default_factory=list)
    parties: set[str] = field(default_factory=set)  # canonical source/destination keys

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as a plain tuple (worker processes)
        return (IndexedEvent, _field_values(self))


def _ext_rows(out: list, scope: str, obj: Mapping[str, Any], namespaces: Mapping[str, str],
              only_ext: bool = True) -> None:
    """Index rows for the extension fields of one structure: top level under `scope`,
    anything nested under `inner_<scope>` (EQ_INNER_ and friends)."""
    for key, value in obj.items():
        if only_ext and not is_extension_key(key):
            continue
        _ext_value(out, scope, expand_key(key, namespaces), value, namespaces)


def _ext_value(out: list, scope: str, path: str, value: Any,
               namespaces: Mapping[str, str]) -> None:
    inner = scope if scope.startswith("inner_") else f"inner_{scope}"
    if isinstance(value, list):
        for item in value:
            _ext_value(out, scope, path, item, namespaces)
    elif isinstance(value, dict):
        if "@value" in value:
            out.append(_scalar_row(f"{scope}:{path}", value["@value"]))
            return
        out.append((f"{scope}:{path}", None, None))
        for key, sub in value.items():
            if key.startswith("@"):
                continue
            _ext_value(out, inner, expand_key(key, namespaces), sub, namespaces)
    else:
        out.append(_scalar_row(f"{scope}:{path}", value))


def index_event(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> IndexedEvent:
    """Everything a query may filter on, in canonical form. Raises ValueError (with the
    field named) on a value the index cannot hold, e.g. an unparseable eventTime."""
    try:
        event_time = utc_time(event["eventTime"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"eventTime: missing or not an ISO 8601 date-time ({exc})") from None
    read_point = event.get("readPoint")
    biz_location = event.get("bizLocation")
    error = event.get("errorDeclaration")
    error_time = None
    if isinstance(error, dict) and error.get("declarationTime"):
        try:
            error_time = utc_time(error["declarationTime"])
        except (TypeError, ValueError):
            raise ValueError("errorDeclaration.declarationTime: not an ISO 8601 date-time") \
                from None
    biz_step = event.get("bizStep")
    disposition = event.get("disposition")
    ix = IndexedEvent(
        event_type=normalise("eventType", str(event.get("type", ""))),
        action=event.get("action"),
        event_time=event_time,
        biz_step=normalise("bizStep", biz_step) if isinstance(biz_step, str) else None,
        disposition=normalise("disposition", disposition)
        if isinstance(disposition, str) else None,
        read_point=canonical(read_point["id"]) if isinstance(read_point, dict)
        and isinstance(read_point.get("id"), str) else None,
        biz_location=canonical(biz_location["id"]) if isinstance(biz_location, dict)
        and isinstance(biz_location.get("id"), str) else None,
        transformation_id=event.get("transformationID"),
        error_time=error_time,
    )
    epcs = ix.epcs
    for key, role in _EPC_ROLES:
        for epc in event.get(key) or ():
            if isinstance(epc, str):
                epcs.append((role, canonical(epc), None, None))
    parent = event.get("parentID")
    if isinstance(parent, str):
        epcs.append(("parent", canonical(parent), None, None))
    for key, role in _QTY_ROLES:
        for q in event.get(key) or ():
            if isinstance(q, dict) and isinstance(q.get("epcClass"), str):
                qty = q.get("quantity")
                epcs.append((role, canonical(q["epcClass"]),
                             float(qty) if isinstance(qty, int | float) else None,
                             q.get("uom")))
    fields = ix.fields
    for bt in event.get("bizTransactionList") or ():
        if isinstance(bt, dict) and isinstance(bt.get("bizTransaction"), str):
            btype = normalise("bizTransactionType", str(bt.get("type", "")))
            fields.append((f"bizTransaction:{btype}", canonical(bt["bizTransaction"]), None))
    for key, kind in (("sourceList", "source"), ("destinationList", "destination")):
        for sd in event.get(key) or ():
            if isinstance(sd, dict) and isinstance(sd.get(kind), str):
                stype = normalise("sourceDestType", str(sd.get("type", "")))
                key_value = canonical(sd[kind])
                fields.append((f"{kind}:{stype}", key_value, None))
                ix.parties.add(key_value)
    pd = event.get("persistentDisposition")
    if isinstance(pd, dict):
        for which in ("set", "unset"):
            for d in pd.get(which) or ():
                if isinstance(d, str):
                    fields.append((f"persistentDisposition:{which}",
                                   normalise("disposition", d), None))
    if isinstance(error, dict):
        fields.append(("errorDeclaration", "1", None))
        if isinstance(error.get("reason"), str):
            fields.append(("errorReason", normalise("errorReason", error["reason"]), None))
        for cid in error.get("correctiveEventIDs") or ():
            if isinstance(cid, str):
                fields.append(("correctiveEventID", cid, None))
        _ext_rows(fields, "errdecl", error, namespaces)
    _ext_rows(fields, "ext", event, namespaces)
    ilmd = event.get("ilmd")
    if isinstance(ilmd, dict):
        _ext_rows(fields, "ilmd", ilmd, namespaces)
    if isinstance(read_point, dict):
        _ext_rows(fields, "readPoint", read_point, namespaces)
    if isinstance(biz_location, dict):
        _ext_rows(fields, "bizLocation", biz_location, namespaces)
    _sensor_rows(fields, event.get("sensorElementList"), namespaces)
    return ix


def _sensor_rows(fields: list, elements: Any, namespaces: Mapping[str, str]) -> None:
    if not isinstance(elements, list) or not elements:
        return
    fields.append(("sensorElementList", "1", None))
    for element in elements:
        if not isinstance(element, dict):
            continue
        _ext_rows(fields, "sensorelement", element, namespaces)
        meta = element.get("sensorMetadata")
        if isinstance(meta, dict):
            for key in ("time", "startTime", "endTime"):
                if isinstance(meta.get(key), str):
                    fields.append(_scalar_row(f"sensor:{key}", meta[key]))
            for key in _SENSOR_META_TEXT:
                if isinstance(meta.get(key), str):
                    fields.append((f"sensor:{key}", meta[key], None))
            _ext_rows(fields, "sensormetadata", meta, namespaces)
        for report in element.get("sensorReport") or ():
            if not isinstance(report, dict):
                continue
            if isinstance(report.get("type"), str):
                fields.append(("sensor:type", normalise("measurementType", report["type"]),
                               None))
            if isinstance(report.get("time"), str):
                fields.append(_scalar_row("sensor:time", report["time"]))
            for key in _SENSOR_REPORT_TEXT:
                if isinstance(report.get(key), str):
                    fields.append((f"sensor:{key}", report[key], None))
            if isinstance(report.get("booleanValue"), bool):
                fields.append(("sensor:booleanValue",
                               "true" if report["booleanValue"] else "false", None))
            if isinstance(report.get("hexBinaryValue"), str):
                fields.append(("sensor:hexBinaryValue", report["hexBinaryValue"].upper(), None))
            if isinstance(report.get("percRank"), int | float):
                fields.append(("sensor:percRank", None, float(report["percRank"])))
            uom = report.get("uom")
            for key in _SENSOR_NUMS:
                num = report.get(key)
                if isinstance(num, int | float) and not isinstance(num, bool):
                    fields.append((f"sensor:{key}:{uom or ''}", None, float(num)))
            _ext_rows(fields, "sensorreport", report, namespaces)


@dataclass
class EventRow:
    """One event ready to insert."""

    event_id: str
    hash_id: str
    dedup: str  # hash_id + capturing party: what makes a re-capture a duplicate (not stored)
    doc: str
    record_time: str
    ix: IndexedEvent
    log_index: int | None = None
    # The event's ledger entry, encoded (corridor.ledger.entry), made with the row so that
    # the writer only appends it.
    entry: bytes = b""
    # Who captured it, when rows of several captures are written together (else the
    # insert_events arguments apply).
    captured_by: int | None = None
    party: str | None = None
    job_id: int | None = None
    # The indexed keys of event_id and hash_id (corridor.store.db.lookup_key); no hash_key
    # when the hash is the eventID (one index entry instead of two).
    id_key: int | None = None
    hash_key: int | None = None

    def __post_init__(self) -> None:
        if self.id_key is None:
            self.id_key = lookup_key(self.event_id)
            if self.hash_id != self.event_id:
                self.hash_key = lookup_key(self.hash_id)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as a plain tuple (worker processes)
        return (EventRow, _field_values(self))


def _field_values(obj: Any) -> tuple[Any, ...]:
    """A dataclass's field values in order, not copied (dataclasses.astuple deep-copies)."""
    getter = _GETTERS.get(type(obj))
    if getter is None:
        getter = _GETTERS[type(obj)] = attrgetter(*(f.name for f in dataclass_fields(obj)))
    return getter(obj)


_GETTERS: dict[type, Any] = {}


def event_id_match(alias: str, event_id: str) -> tuple[str, list[Any]]:
    """(SQL condition, parameters): the events of table alias `alias` whose eventID or Event
    Hash ID is `event_id`, found through the indexed keys."""
    key = lookup_key(event_id)
    sql = (f"(({alias}.id_key = ? AND {alias}.event_id = ?)"
           f" OR ({alias}.hash_key = ? AND {alias}.hash_id = ?))")
    return sql, [key, event_id, key, event_id]


_INSERT_EVENT = (
    "INSERT INTO events (id, event_id, hash_id, id_key, hash_key, event_type, action,"
    " event_time, record_time, biz_step, disposition, read_point, biz_location,"
    " transformation_id, error_time, captured_by, party, job_id, log_index, doc)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")


def insert_events(conn: Connection, rows: Sequence[EventRow], *, captured_by: int | None,
                  party: str, job_id: int | None) -> list[int]:
    """Write events and their index rows (caller holds the transaction). Returns the pks."""
    pks = conn.next_ids("events", len(rows))
    pairs = list(zip(pks, rows, strict=True))
    ev = [(pk, r.event_id, r.hash_id, r.id_key, r.hash_key, r.ix.event_type, r.ix.action,
           r.ix.event_time, r.record_time, r.ix.biz_step, r.ix.disposition, r.ix.read_point,
           r.ix.biz_location, r.ix.transformation_id, r.ix.error_time,
           *((r.captured_by, r.party, r.job_id) if r.party is not None
             else (captured_by, party, job_id)), r.log_index, r.doc) for pk, r in pairs]
    ep = [(pk, *e) for pk, r in pairs for e in r.ix.epcs]
    fl = [(pk, *f) for pk, r in pairs for f in r.ix.fields]
    pa = [(pk, v) for pk, r in pairs for v in r.ix.parties]
    conn.executemany(_INSERT_EVENT, ev)
    if ep:
        conn.executemany(
            "INSERT INTO event_epcs (event_pk, role, epc, quantity, uom) VALUES (?,?,?,?,?)", ep)
    if fl:
        conn.executemany(
            "INSERT INTO event_fields (event_pk, path, sval, nval) VALUES (?,?,?,?)", fl)
    if pa:
        conn.executemany("INSERT INTO event_parties (event_pk, value) VALUES (?,?)", pa)
    return pks


def remember_namespaces(conn: Connection, namespaces: Mapping[str, str]) -> None:
    """Prefixes seen at capture, so that query parameters like EQ_example:f resolve."""
    if namespaces:
        conn.executemany("INSERT INTO event_namespaces (prefix, iri) VALUES (?, ?)"
                         " ON CONFLICT DO NOTHING", list(namespaces.items()))


def add_location_children(conn: Connection, pairs: Iterable[tuple[str, str]]) -> None:
    """(parent, child) location pairs from master data, for WD_readPoint / WD_bizLocation."""
    wanted = {(canonical(p), canonical(c)) for p, c in pairs}
    if wanted:
        conn.executemany("INSERT INTO location_children (parent, child) VALUES (?, ?)"
                         " ON CONFLICT DO NOTHING", sorted(wanted))


def event_document(doc: str, record_time: str) -> dict[str, Any]:
    """The stored event as returned to readers: stored JSON plus its recordTime."""
    event = json.loads(doc)
    event["recordTime"] = display_time(record_time)
    return event
