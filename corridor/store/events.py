"""Stored events and the index rows that queries run on.

`corridor.store.event_index.index_event` turns one JSON-LD event into its row values and index
rows (pure Python, no database); here are the row shapes, `insert_events`, which writes a
batch, and the SQL that finds stored events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from itertools import accumulate
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import orjson

from corridor.epcis.identifiers import canonical
from corridor.ledger.merkle import leaf_hash
from corridor.store.db import Connection, lookup_key

if TYPE_CHECKING:  # (types only: corridor.store.event_index imports this module)
    from corridor.store.event_index import IndexedEvent

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


READ_POINT, BIZ_LOCATION = 5, 6  # positions of the two places in IndexedEvent.columns()

# The place columns of `events`, each indexed by the 64-bit key of its text in
# <column>_key (migrations events-006 and -007), and the table that lists every value
# stored, for its discovery resource.
PLACE_TABLES = {"read_point": "read_points", "biz_location": "biz_locations"}


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
    executemany of the rows costs more, and the rows as tuples cost more again to
    unpickle. (PostgreSQL takes them by COPY: see _JSON_FROM.) In the process that
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


def _field_values(obj: object) -> tuple[Any, ...]:
    """A dataclass's field values in order, not copied (dataclasses.astuple deep-copies)."""
    getter = _GETTERS.get(type(obj))
    if getter is None:
        getter = _GETTERS[type(obj)] = attrgetter(*(f.name for f in dataclass_fields(obj)))
    return getter(obj)


_GETTERS: dict[type, attrgetter] = {}


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


def stored_duplicates(conn: Connection, rows: Sequence[EventRow]
                      ) -> dict[str, tuple[str, int | None]]:
    """The stored events that `rows` would duplicate (same Event Hash ID, same capturing
    party), by dedup: their eventID and log index."""
    wanted = {r.dedup for r in rows}
    # an event's hash is under id_key when it is its eventID, else under hash_key
    keys = sorted({r.id_key if r.hash_key is None else r.hash_key for r in rows})
    select = "SELECT hash_id, party, event_id, log_index FROM events WHERE"
    if conn.dialect == "postgresql":
        # One array parameter, sent as text: a tenth of the time of 1,000 parameters.
        array = "{" + ",".join(map(str, keys)) + "}"
        stored = conn.fetchall(f"{select} id_key = ANY(?::bigint[]) UNION ALL"
                               f" {select} hash_key = ANY(?::bigint[])", (array, array))
    else:
        stored = []
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            stored += conn.fetchall(f"{select} id_key IN ({marks}) UNION ALL"
                                    f" {select} hash_key IN ({marks})", chunk + chunk)
    found: dict[str, tuple[str, int | None]] = {}
    for hash_id, party, event_id, log_index in stored:
        dedup = f"{hash_id} {party}"
        if dedup in wanted:  # not a key collision, nor another party's capture
            found[dedup] = (event_id, log_index)
    return found


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
# (measured with bench_capture: docs/capture.md).
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
