"""Stored events and the index rows that queries run on.

`index_event` turns one JSON-LD event into its row values and index rows (pure Python, no
database); `insert_events` writes a batch; the readers fetch stored events.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from itertools import accumulate
from operator import attrgetter
from typing import Any

import orjson

from corridor.ledger.merkle import leaf_hash
from corridor.query.epc import canonical
from corridor.query.vocab import PREFIXES, normalise
from corridor.store.db import Connection, lookup_key

_UTC_FAST = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(?:Z|\+00:00)")


class TimeOutOfRange(ValueError):
    """A well-formed time that falls outside years 1-9999 once converted to UTC."""


def utc_time(value: str) -> str:
    """ISO 8601 date-time -> fixed-width UTC text (naive times count as UTC).

    Raises ValueError on a malformed time (TimeOutOfRange on one outside years 1-9999 once
    in UTC)."""
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
    try:
        return _format(dt.astimezone(UTC))
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is after year 9999 in UTC
        raise TimeOutOfRange(f"{value[:40]!r} is outside years 1-9999 once in UTC") \
            from None


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


def _number(value: Any) -> float | None:
    """A number to index, or None: infinities and NaN are not indexed as numbers (SQLite
    stores NaN as NULL, JSON has neither)."""
    num = float(value)
    return num if math.isfinite(num) else None


def _scalar_row(path: str, value: Any) -> tuple[str, str | None, float | None]:
    if isinstance(value, bool):
        return (path, "true" if value else "false", None)
    if isinstance(value, int | float):
        return (path, repr(float(value)) if isinstance(value, float) else str(value),
                _number(value))
    if isinstance(value, str):
        if _TIME_RE.match(value):
            try:
                return (path, utc_time(value), None)
            except ValueError:
                pass
        try:
            num = _number(value)
        except ValueError:
            num = None
        return (path, value, num)
    return (path, None, None)


READ_POINT, BIZ_LOCATION = 5, 6  # positions of the two places in IndexedEvent.columns()

# The place columns of `events`, each indexed by the 64-bit key of its text in
# <column>_key (migrations events-006 and -007), and the table that lists every value
# stored, for its discovery resource.
PLACE_TABLES = {"read_point": "read_points", "biz_location": "biz_locations"}


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
    # (path, canonical key) of each source and destination, path "source:<type>" or
    # "destination:<type>"; stored in event_parties, not event_fields
    parties: set[tuple[str, str]] = field(default_factory=set)

    def columns(self) -> tuple[Any, ...]:
        """The event row's indexed columns, in the order _INSERT_EVENT ends with
        (read_point at READ_POINT, biz_location at BIZ_LOCATION)."""
        return (self.event_type, self.action, self.event_time, self.biz_step,
                self.disposition, self.read_point, self.biz_location, self.transformation_id,
                self.error_time)


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
    if _native is not None:
        fast = _native(event)
        if fast is not None:
            return IndexedEvent(*fast[:8], None, fast[8], fast[9], set(fast[10]))
    return index_event_python(event, namespaces)


def index_event_python(event: Mapping[str, Any], namespaces: Mapping[str, str]
                       ) -> IndexedEvent:
    """index_event without the C core: the reference for every shape of event."""
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
                             _number(qty) if isinstance(qty, int | float) else None,
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
                ix.parties.add((f"{kind}:{stype}", canonical(sd[kind])))
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


# The usual event shapes also have a C path (`_indexcore.c`, built by setup.py when a compiler
# is there): it returns index_event's values, or None for this module's Python to decide.
# `NATIVE` tells whether it is built; `CORRIDOR_PURE_PYTHON=1` (or `set_native(False)`) leaves
# it unused.
try:
    from corridor.store import _indexcore  # type: ignore[attr-defined]
except ImportError:  # not built (no compiler at install time): the Python path alone
    _indexcore = None
NATIVE = _indexcore is not None
if NATIVE:
    _indexcore.configure(canonical, PREFIXES)
_native: Any = None


def set_native(enabled: bool) -> bool:
    """Use the C core (when built) or not; returns whether it is in use now."""
    global _native
    _native = _indexcore.index if enabled and NATIVE else None
    return _native is not None


set_native(os.environ.get("CORRIDOR_PURE_PYTHON") != "1")


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
                fields.append(("sensor:percRank", None, _number(report["percRank"])))
            uom = report.get("uom")
            for key in _SENSOR_NUMS:
                num = report.get(key)
                if isinstance(num, int | float) and not isinstance(num, bool):
                    fields.append((f"sensor:{key}:{uom or ''}", None, _number(num)))
            _ext_rows(fields, "sensorreport", report, namespaces)


@dataclass
class EventRow:
    """One event ready to insert (its index rows travel apart, in an IndexRows)."""

    event_id: str
    hash_id: str
    dedup: str  # hash_id + capturing party: what makes a re-capture a duplicate (not stored)
    doc: str
    record_time: str
    columns: tuple[Any, ...]  # IndexedEvent.columns()
    log_index: int | None = None
    # The event's ledger entry, encoded (corridor.ledger.entry), made with the row so that
    # the writer only appends it.
    entry: bytes = b""
    # The indexed keys of event_id and hash_id (corridor.store.db.lookup_key); no hash_key
    # when the hash is the eventID (one index entry instead of two).
    id_key: int | None = None
    hash_key: int | None = None
    # The entry's Merkle leaf hash (RFC 9162: SHA-256 of 0x00 + entry), computed where the
    # row is made (a worker process) rather than by the one writer thread.
    leaf: bytes = b""
    # lookup_key of the readPoint and the bizLocation (columns[READ_POINT], [BIZ_LOCATION]):
    # what the place indexes hold
    read_point_key: int | None = None
    biz_location_key: int | None = None

    def __post_init__(self) -> None:
        if self.entry and not self.leaf:
            self.leaf = leaf_hash(self.entry)
        read_point, location = self.columns[READ_POINT], self.columns[BIZ_LOCATION]
        if self.read_point_key is None and read_point is not None:
            self.read_point_key = _place_key(read_point)
        if self.biz_location_key is None and location is not None:
            self.biz_location_key = _place_key(location)
        if self.id_key is None:
            self.id_key = lookup_key(self.event_id)
            if self.hash_id != self.event_id:
                self.hash_key = lookup_key(self.hash_id)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as a plain tuple (worker processes)
        return (EventRow, _field_values(self))


# readPoint or bizLocation -> lookup_key. A store's events come from a few thousand places
# at most, met again and again: a dict lookup instead of an MD5 per event. Bounded all the
# same.
_PLACE_KEYS: dict[str, int] = {}
_PLACE_KEYS_KEPT = 65_536


def _place_key(place: str) -> int:
    key = _PLACE_KEYS.get(place)
    if key is None:
        if len(_PLACE_KEYS) >= _PLACE_KEYS_KEPT:
            _PLACE_KEYS.clear()
        key = _PLACE_KEYS[place] = lookup_key(place)  # type: ignore[assignment]
    return key


class IndexRows:
    """The index rows of a run of events, per table, each row starting with its event's
    position in the run: epcs (position, role, epc, quantity, uom), fields (position, path,
    sval, nval), parties (position, path, canonical key).

    Pickled (from a worker process to the writer) as one JSON array per table, which SQLite
    unpacks (json_each) with no Python object per row: in the writer, which holds the GIL,
    executemany of the rows cost about 1.5 times as much, and the rows as tuples cost as much
    again to unpickle. (PostgreSQL takes them by COPY: see _JSON_FROM.) In the process that
    made them they stay lists until a large run needs the JSON."""

    TABLES = ("epcs", "fields", "parties")

    def __init__(self, *tables: list[tuple[Any, ...]] | bytes) -> None:
        self._tables = list(tables)
        self._json = [t if isinstance(t, bytes) else None for t in tables]

    @classmethod
    def of(cls, events: Sequence[IndexedEvent]) -> IndexRows:
        return cls([(k, *e) for k, ix in enumerate(events) for e in ix.epcs],
                   [(k, *f) for k, ix in enumerate(events) for f in ix.fields],
                   [(k, *p) for k, ix in enumerate(events) for p in sorted(ix.parties)])

    def json(self, table: int) -> bytes:
        text = self._json[table]
        if text is None:
            text = self._json[table] = orjson.dumps(self._tables[table])
        return text

    def rows(self, table: int) -> list[Any]:
        rows = self._tables[table]
        return orjson.loads(rows) if isinstance(rows, bytes) else rows

    def has_nul(self) -> bool:
        """Whether a value may hold U+0000, which SQLite's JSON functions cut the text at
        (some false positives: an escaped backslash followed by "u0000")."""
        return any(b"\\u0000" in self.json(t) for t in range(len(self.TABLES)))

    def __reduce__(self) -> tuple[Any, ...]:
        return (IndexRows, tuple(self.json(t) for t in range(len(self.TABLES))))


def _field_values(obj: Any) -> tuple[Any, ...]:
    """A dataclass's field values in order, not copied (dataclasses.astuple deep-copies)."""
    getter = _GETTERS.get(type(obj))
    if getter is None:
        getter = _GETTERS[type(obj)] = attrgetter(*(f.name for f in dataclass_fields(obj)))
    return getter(obj)


_GETTERS: dict[type, Any] = {}


def place_match(alias: str, column: str, places: Sequence[str]) -> tuple[str, list[Any]]:
    """(SQL condition, parameters): the events of table alias `alias` whose place `column`
    (read_point or biz_location) is one of `places` (canonical keys), found through the
    indexed keys of the places (migrations events-006, -007); the text decides."""
    if column not in PLACE_TABLES:  # it is written into the SQL: only the two place columns
        raise ValueError(f"not a place column: {column!r}")
    keys = sorted({lookup_key(v) for v in places})
    sql = (f"({alias}.{column}_key IN ({', '.join('?' * len(keys))})"
           f" AND {alias}.{column} IN ({', '.join('?' * len(places))}))")
    return sql, [*keys, *places]


def event_id_match(alias: str, event_id: str) -> tuple[str, list[Any]]:
    """(SQL condition, parameters): the events of table alias `alias` whose eventID or Event
    Hash ID is `event_id`, found through the indexed keys."""
    key = lookup_key(event_id)
    sql = (f"(({alias}.id_key = ? AND {alias}.event_id = ?)"
           f" OR ({alias}.hash_key = ? AND {alias}.hash_id = ?))")
    return sql, [key, event_id, key, event_id]


_INSERT_EVENT = (
    "INSERT INTO events (id, event_id, hash_id, id_key, hash_key, read_point_key,"
    " biz_location_key, record_time, doc, log_index, captured_by, party, job_id, event_type,"
    " action, event_time, biz_step, disposition, read_point, biz_location, transformation_id,"
    " error_time) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")

_INDEX_TABLES = (
    ("event_epcs (event_pk, role, epc, quantity, uom)", ("role", "epc", "quantity", "uom")),
    ("event_fields (event_pk, path, sval, nval)", ("path", "sval", "nval")),
    ("event_parties (event_pk, path, value)", ("path", "value")),
)


def _index_sql(target: str, names: Sequence[str], skipping: bool) -> str:
    """SQLite: index rows from an IndexRows JSON array (parameter 2); parameter 1 is the pk
    of the run's first event (its pks are consecutive). Positions in parameter 3 (a JSON
    array) are left out."""
    values = ", ".join(f"value->>{i}" for i in range(1, len(names) + 1))
    sql = f"INSERT INTO {target} SELECT ? + (value->>0), {values} FROM json_each(?)"
    return sql + (" WHERE (value->>0) NOT IN (SELECT value FROM json_each(?))"
                  if skipping else "")


@dataclass
class EventRun:
    """Events to write with their index rows: `rows[k]` is the event at position k of
    `index`, None for a position left out (a duplicate); the capturing party and job of all."""

    rows: Sequence[EventRow | None]
    index: IndexRows
    captured_by: int | None
    party: str
    job_id: int | None


# On SQLite a run of fewer events has its index rows written by executemany, with the other
# small runs of the batch (a group commit of single events): for a few rows, JSON costs more
# than it saves. On PostgreSQL every run's go by executemany, that is COPY: there the
# database server is the serial stage (its CPU per event is the largest part), not the writer
# thread, and unpacking the JSON with jsonb_array_elements cost it more than COPY's rows do
# (bench_capture, 1,000-event documents: database CPU 64-79 against 82-95 us per event; the
# writer's own rose by ~8 us, with the thread on a core a quarter of the run).
_JSON_FROM = 64


def insert_events(conn: Connection, runs: Sequence[EventRun], ids: Sequence[int]) -> None:
    """Write runs of events and their index rows (caller holds the transaction). `ids`:
    new keys of `events` (Connection.next_ids_of), at least one per row of the runs."""
    starts = list(accumulate((len(run.rows) for run in runs), initial=0))
    assert len(ids) >= starts[-1], "fewer event keys than rows"
    placed = list(zip(starts, runs))  # each run's first id, as an index into ids
    conn.executemany(_INSERT_EVENT, [
        (ids[start + k], r.event_id, r.hash_id, r.id_key, r.hash_key, r.read_point_key,
         r.biz_location_key, r.record_time, r.doc, r.log_index, run.captured_by, run.party,
         run.job_id, *r.columns)
        for start, run in placed for k, r in enumerate(run.rows) if r is not None])
    stored = [r for run in runs for r in run.rows if r is not None]
    remember_places(conn, "read_point", {r.columns[READ_POINT] for r in stored})
    remember_places(conn, "biz_location", {r.columns[BIZ_LOCATION] for r in stored})
    small = []
    for start, run in placed:
        if conn.dialect == "sqlite" and len(run.rows) >= _JSON_FROM and not run.index.has_nul():
            _insert_json(conn, ids[start:start + len(run.rows)], run)
        else:
            small.append((start, run))
    for table, (target, names) in enumerate(_INDEX_TABLES):
        rows = [(ids[start + row[0]], *row[1:]) for start, run in small
                for row in run.index.rows(table) if run.rows[row[0]] is not None]
        if rows:
            marks = ", ".join("?" * (len(names) + 1))
            conn.executemany(f"INSERT INTO {target} VALUES ({marks})", rows)


def _insert_json(conn: Connection, pks: Sequence[int], run: EventRun) -> None:
    """SQLite: the run's index rows, one INSERT ... SELECT per table."""
    skipped = [k for k, r in enumerate(run.rows) if r is None]
    first = pks[0]  # consecutive ids (MAX(id) + 1, ...): the first will do
    skip = orjson.dumps(skipped).decode()
    for table, (target, names) in enumerate(_INDEX_TABLES):
        blob = run.index.json(table)
        if blob != b"[]":
            params = (first, blob.decode(), skip) if skipped else (first, blob.decode())
            conn.execute(_index_sql(target, names, bool(skipped)), params)


def _insert_unseen(conn: Connection, memo: str, kept: int, sql: str,
                   rows: Iterable[tuple[Any, ...]]) -> None:
    """Run `sql` (an INSERT ... ON CONFLICT DO NOTHING) in the caller's transaction for the
    rows this connection has not seen committed: small tables that every capture touches
    with the same few values, where even a no-op statement was one more round trip (on
    PostgreSQL, in every group of single events). The memo forgets all past `kept` rows
    (captures may name any values), and those are then looked up again."""
    stored: set[tuple[Any, ...]] = conn.committed_memo.setdefault(memo, set())
    if len(stored) > kept:
        stored.clear()
    fresh = sorted(set(rows) - stored)
    if fresh:
        conn.executemany(sql, fresh)
        conn.after_commit(lambda: stored.update(fresh))


def remember_namespaces(conn: Connection, namespaces: Mapping[str, str]) -> None:
    """Prefixes seen at capture, so that query parameters like EQ_example:f resolve."""
    _insert_unseen(conn, "namespaces", 10_000, "INSERT INTO event_namespaces (prefix, iri)"
                   " VALUES (?, ?) ON CONFLICT DO NOTHING", namespaces.items())


def remember_places(conn: Connection, column: str, places: Iterable[str | None]) -> None:
    """readPoint or bizLocation values, in `read_points` or `biz_locations` for the
    /readPoints and /bizLocations discovery resources: after the first documents from a
    site, nothing is sent."""
    table = PLACE_TABLES[column]
    _insert_unseen(conn, table, 100_000, f"INSERT INTO {table} (value) VALUES (?)"
                   " ON CONFLICT DO NOTHING", ((value,) for value in places if value is not None))


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
