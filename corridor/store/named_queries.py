"""Named EPCIS queries (REST `/queries`), owned by the party that created them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from corridor.store.db import Connection
from corridor.store.events import display_time, now_utc


@dataclass(frozen=True)
class NamedQuery:
    owner: int  # parties.id, 0 for the node itself
    name: str
    query: dict[str, Any]  # the EPCIS query parameters as JSON (QueryDefinition.query)
    extensions: dict[str, str]  # prefixes declared with GS1-Extensions when created
    created_at: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "query": self.query,
                "createdAt": display_time(self.created_at)}


def owner_key(party_id: int | None) -> int:
    return 0 if party_id is None else party_id


def create(conn: Connection, party_id: int | None, name: str, query: dict[str, Any],
           extensions: dict[str, str] | None = None) -> bool:
    """False when this party already has a query of that name."""
    with conn.transaction():
        if conn.fetchone("SELECT 1 FROM named_queries WHERE owner = ? AND name = ?",
                         (owner_key(party_id), name)):
            return False
        conn.execute(
            "INSERT INTO named_queries (owner, name, params, extensions, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (owner_key(party_id), name, json.dumps(query), json.dumps(extensions or {}),
             now_utc()))
    return True


def get(conn: Connection, party_id: int | None, name: str) -> NamedQuery | None:
    row = conn.fetchone(
        "SELECT owner, name, params, extensions, created_at FROM named_queries"
        " WHERE owner = ? AND name = ?", (owner_key(party_id), name))
    if row is None:
        return None
    return NamedQuery(int(row[0]), row[1], json.loads(row[2]), json.loads(row[3] or "{}"),
                      row[4])


def list_names(conn: Connection, party_id: int | None, *, after: str | None,
               limit: int) -> list[NamedQuery]:
    rows = conn.fetchall(
        "SELECT owner, name, params, extensions, created_at FROM named_queries"
        " WHERE owner = ? AND name > ? ORDER BY name LIMIT ?",
        (owner_key(party_id), after or "", limit))
    return [NamedQuery(int(r[0]), r[1], json.loads(r[2]), json.loads(r[3] or "{}"), r[4])
            for r in rows]


def delete(conn: Connection, party_id: int | None, name: str) -> bool:
    with conn.transaction():
        cur = conn.execute("DELETE FROM named_queries WHERE owner = ? AND name = ?",
                           (owner_key(party_id), name))
        return bool(cur.rowcount)
