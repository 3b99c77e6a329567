"""Subscription rows and the delivery outbox (tables in corridor.store.schema_subscriptions)."""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from corridor.store.db import Connection
from corridor.subscriptions.model import Request, Subscription, iso, new_id, now_iso


def create(conn: Connection, query_name: str, party_id: int, req: Request, *,
           cursor: int, epc_format: str | None = None) -> Subscription:
    """Store a webhook subscription. `cursor` is the ledger index the first run starts after
    (-1 with an initialRecordTime: everything the query and the record-time bound allow)."""
    assert req.dest is not None
    sub_id = new_id()
    schedule = json.dumps(req.schedule.source) if req.schedule else None
    next_run = None
    if req.schedule is not None:
        first = req.schedule.next_after(datetime.now(UTC))
        next_run = iso(first) if first else None
    initial = iso(req.initial_record_time) if req.initial_record_time else None
    with conn.transaction():
        conn.execute(
            f"INSERT INTO subscriptions ({Subscription.COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sub_id, query_name, party_id, req.dest, req.secret, int(req.stream), schedule,
             int(req.report_if_empty), initial, initial, cursor, epc_format, now_iso(), None,
             next_run, None),
        )
    found = get(conn, sub_id)
    assert found is not None
    return found


def create_other(conn: Connection, kind: str, party_id: int, dest: str, secret: str | None,
                 settings: dict[str, Any]) -> Subscription:
    """Store a webhook subscription of another kind than a query's: `kind` (with a colon, which
    no query name has) stands in its query_name, its rule in `settings`. The decider leaves it
    alone; its producer puts bodies in the outbox (enqueue) and they are delivered, signed and
    retried like any other."""
    assert ":" in kind
    sub_id = new_id()
    with conn.transaction():
        conn.execute(
            f"INSERT INTO subscriptions ({Subscription.COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sub_id, kind, party_id, dest, secret, 0, None, 0, None, None,
             None, None, now_iso(), None, None, json.dumps(settings)))
    found = get(conn, sub_id)
    assert found is not None
    return found


def get(conn: Connection, sub_id: str) -> Subscription | None:
    row = conn.fetchone(f"SELECT {Subscription.COLUMNS} FROM subscriptions WHERE id = ?",
                        (sub_id,))
    return Subscription.from_row(row) if row else None


def list_for(conn: Connection, query_name: str | None = None,
             party_id: int | None = None) -> list[Subscription]:
    """Subscriptions, optionally of one query and/or one party, oldest first."""
    where, params = [], []
    if query_name is not None:
        where.append("query_name = ?")
        params.append(query_name)
    if party_id is not None:
        where.append("party_id = ?")
        params.append(party_id)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    rows = conn.fetchall(
        f"SELECT {Subscription.COLUMNS} FROM subscriptions{clause} ORDER BY created_at, id",
        params)
    return [Subscription.from_row(r) for r in rows]


def delete(conn: Connection, sub_id: str) -> bool:
    with conn.transaction():
        conn.execute("DELETE FROM subscription_outbox WHERE subscription_id = ?", (sub_id,))
        cur = conn.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,))
        return bool(cur.rowcount)


def delete_for_query(conn: Connection, party_id: int, query_name: str) -> int:
    """Unsubscribe everyone from a party's named query (the query was deleted)."""
    with conn.transaction():
        conn.execute("DELETE FROM subscription_outbox WHERE subscription_id IN (SELECT id"
                     " FROM subscriptions WHERE party_id = ? AND query_name = ?)",
                     (party_id, query_name))
        cur = conn.execute("DELETE FROM subscriptions WHERE party_id = ? AND query_name = ?",
                           (party_id, query_name))
        return int(cur.rowcount or 0)


def prune(conn: Connection, older_than: float) -> int:
    """Forget outbox rows delivered (or given up) more than `older_than` seconds ago."""
    cutoff = iso(datetime.now(UTC) - timedelta(seconds=older_than))
    with conn.transaction():
        cur = conn.execute("DELETE FROM subscription_outbox WHERE (delivered_at IS NOT NULL"
                           " AND delivered_at < ?) OR (failed_at IS NOT NULL AND failed_at < ?)",
                           (cutoff, cutoff))
        return int(cur.rowcount or 0)


def enqueue(conn: Connection, sub_id: str, body: bytes, event_count: int) -> None:
    """Add a delivery to the outbox; call inside the transaction that advances the cursor."""
    conn.execute(
        "INSERT INTO subscription_outbox (subscription_id, body, event_count, created_at,"
        " attempts, next_attempt_at) VALUES (?, ?, ?, ?, 0, ?)",
        (sub_id, body, event_count, now_iso(), time.time()),
    )


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: str
    body: bytes
    event_count: int
    attempts: int
    dest: str
    secret: str | None


def _not_in(column: str, excluding: Collection[str]) -> tuple[str, list[str]]:
    if not excluding:
        return "", []
    return f" AND {column} NOT IN ({','.join('?' * len(excluding))})", list(excluding)


def due(conn: Connection, limit: int = 200, *, excluding: Collection[str] = ()
        ) -> list[Delivery]:
    """Pending deliveries whose time has come, in outbox order, but for those of the
    subscriptions `excluding` (being delivered already)."""
    skip, skip_params = _not_in("o.subscription_id", excluding)
    rows = conn.fetchall(
        "SELECT o.id, o.subscription_id, o.body, o.event_count, o.attempts, s.dest, s.secret"
        " FROM subscription_outbox o JOIN subscriptions s ON s.id = o.subscription_id"
        " WHERE o.delivered_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= ?"
        f"{skip} ORDER BY o.id LIMIT ?",
        (time.time(), *skip_params, limit),
    )
    return [Delivery(int(r[0]), r[1], bytes(r[2]), int(r[3]), int(r[4]), r[5], r[6])
            for r in rows]


def next_due_in(conn: Connection, *, excluding: Collection[str] = ()) -> float | None:
    """Seconds until the earliest pending delivery is due (0 if overdue), None if none; the
    subscriptions `excluding` are left out."""
    skip, skip_params = _not_in("subscription_id", excluding)
    row = conn.fetchone("SELECT MIN(next_attempt_at) FROM subscription_outbox"
                        f" WHERE delivered_at IS NULL AND failed_at IS NULL{skip}", skip_params)
    if not row or row[0] is None:
        return None
    return max(0.0, float(row[0]) - time.time())


def mark_delivered(conn: Connection, delivery: Delivery) -> None:
    stamp = now_iso()
    with conn.transaction():
        conn.execute("UPDATE subscription_outbox SET delivered_at = ?, attempts = attempts + 1"
                     " WHERE id = ?", (stamp, delivery.id))
        conn.execute("UPDATE subscriptions SET last_notified_at = ? WHERE id = ?",
                     (stamp, delivery.subscription_id))


def mark_failed(conn: Connection, delivery: Delivery, error: str, *, retry_in: float | None
                ) -> None:
    """Record a failed attempt: retry after `retry_in` seconds, or give up (None)."""
    with conn.transaction():
        if retry_in is None:
            conn.execute("UPDATE subscription_outbox SET attempts = attempts + 1, last_error = ?,"
                         " failed_at = ? WHERE id = ?", (error[:500], now_iso(), delivery.id))
        else:
            conn.execute("UPDATE subscription_outbox SET attempts = attempts + 1, last_error = ?,"
                         " next_attempt_at = ? WHERE id = ?",
                         (error[:500], time.time() + retry_in, delivery.id))


def outbox_counts(conn: Connection, sub_id: str) -> dict[str, int]:
    """Pending, delivered and failed deliveries of a subscription (for tests and status)."""
    row = conn.fetchone(
        "SELECT SUM(CASE WHEN delivered_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END)"
        " FROM subscription_outbox WHERE subscription_id = ?", (sub_id,))
    pending, delivered, failed = row if row else (0, 0, 0)
    return {"pending": int(pending or 0), "delivered": int(delivered or 0),
            "failed": int(failed or 0)}
