"""Reads and writes of the `notices` table (corridor.store.schema_notices): rows as
corridor.monitoring.notices.Notice, with the party that posted each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from corridor.epcis.identifiers import canonical
from corridor.monitoring.notices import Notice
from corridor.store.db import Connection
from corridor.store.events import now_utc

MAX_LIMIT = 1000
_COLUMNS = ("n.id, n.log_index, n.node, n.kind, n.valid_from, n.valid_until, n.value, n.text,"
            " p.identifier")


@dataclass(frozen=True)
class StoredNotice:
    notice: Notice
    party: str  # the identifier of the party that posted it


def stamp(moment: datetime) -> str:
    """A time as the table keeps it: UTC, fixed width, so that text order is time order."""
    # isoformat, not strftime: %Y does not pad years before 1000 to four digits
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _load(row: tuple) -> StoredNotice:
    valid_from = _time(row[4])
    assert valid_from is not None
    notice = Notice(str(row[0]), int(row[1]), row[2], row[3], valid_from, _time(row[5]),
                    None if row[6] is None else Decimal(row[6]), row[7])
    return StoredNotice(notice, row[8])


def insert_notice(conn: Connection, notice: Notice, party_id: int) -> bool:
    """Store a logged notice; False when a notice with its Event Hash ID is stored already."""
    before = conn.fetchone("SELECT 1 FROM notices WHERE id = ?", (notice.hash_id,))
    if before is not None:
        return False
    conn.execute(
        "INSERT INTO notices (id, party_id, node, node_key, kind, value, valid_from, valid_until,"
        " text, log_index, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (notice.hash_id, party_id, notice.node, canonical(notice.node), notice.kind,
         None if notice.value is None else str(notice.value), stamp(notice.valid_from),
         None if notice.valid_until is None else stamp(notice.valid_until), notice.text,
         notice.log_index, now_utc()))
    return True


def get_notice(conn: Connection, hash_id: str) -> StoredNotice | None:
    row = conn.fetchone(f"SELECT {_COLUMNS} FROM notices n JOIN parties p ON p.id = n.party_id"
                        " WHERE n.id = ?", (hash_id,))
    return None if row is None else _load(row)


def list_notices(conn: Connection, *, node: str | None = None, at: datetime | None = None,
                 start: datetime | None = None, end: datetime | None = None,
                 limit: int = 100) -> list[StoredNotice]:
    """Notices by validFrom, then id. `node`: about that location (in either spelling: the SGLN
    URN or a Digital Link of its GLN); `at`: in force at that time; `start`,
    `end`: in force at some time of [start, end)."""
    where: list[str] = []
    params: list[object] = []
    if node is not None:
        where.append("n.node_key = ?")
        params.append(canonical(node))
    if at is not None:
        where.append("n.valid_from <= ? AND (n.valid_until IS NULL OR n.valid_until > ?)")
        params += [stamp(at), stamp(at)]
    if end is not None:
        where.append("n.valid_from < ?")
        params.append(stamp(end))
    if start is not None:
        where.append("(n.valid_until IS NULL OR n.valid_until > ?)")
        params.append(stamp(start))
    sql = (f"SELECT {_COLUMNS} FROM notices n JOIN parties p ON p.id = n.party_id"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY n.valid_from, n.id LIMIT ?")
    params.append(max(1, min(limit, MAX_LIMIT)))
    return [_load(row) for row in conn.fetchall(sql, params)]


def notices_for(conn: Connection, size: int) -> list[Notice]:
    """Every notice logged below `size` (a witnessed checkpoint's): what may trigger cover."""
    rows = conn.fetchall(f"SELECT {_COLUMNS} FROM notices n JOIN parties p ON p.id = n.party_id"
                         " WHERE n.log_index < ? ORDER BY n.valid_from, n.id", (size,))
    return [_load(row).notice for row in rows]
