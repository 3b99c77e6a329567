"""Which stored events a subscription delivers: the named query's conditions
(corridor.query.engine), the subscriber's visibility (corridor.query.visibility) and a window of ledger
indices. The window is what makes deliveries exact: each event is considered once, in
commit order."""

from __future__ import annotations

from typing import Any

from corridor.query.engine import compile_query
from corridor.query.params import from_json
from corridor.query.visibility import Viewer, ViewerLike, visibility_clause
from corridor.store import named_queries
from corridor.store.db import Connection
from corridor.store.events import event_document, utc_time
from corridor.store.named_queries import NamedQuery
from corridor.store.parties import get_party


def max_log_index(conn: Connection) -> int:
    """The highest ledger index of a stored event, -1 when there is none."""
    row = conn.fetchone("SELECT MAX(log_index) FROM events")
    return -1 if not row or row[0] is None else int(row[0])


def named_query(conn: Connection, party_id: int, name: str) -> NamedQuery | None:
    """The party's named query `name` (named queries belong to the party that made them)."""
    return named_queries.get(conn, party_id, name)


def viewer_of(conn: Connection, party_id: int) -> Viewer | None:
    """The reader a subscription of this party reads as; None once the party is revoked."""
    party = get_party(conn, party_id)
    if party is None or not party.active:
        return None
    return Viewer(party.id, party.identifiers, party.role)


def matching_events(conn: Connection, party_id: int, query_name: str, *, after: int, upto: int,
                    limit: int, min_record_time: str | None = None,
                    viewer: ViewerLike | None = None) -> list[tuple[int, dict[str, Any]]] | None:
    """(log index, event) of the events with index in (after, upto] that the named query
    matches and the party may read, in index order, at most `limit`. None when the named query
    no longer exists (deleting a query ends its subscriptions)."""
    nq = named_query(conn, party_id, query_name)
    if nq is None:
        return None
    if viewer is None:
        viewer = viewer_of(conn, party_id)
        if viewer is None:  # a revoked party reads nothing from now on
            return []
    condition, cond_params = query_condition(conn, nq)
    vis, vis_params = visibility_clause(viewer)
    sql = ("SELECT e.log_index, e.doc, e.record_time FROM events e"
           " WHERE e.log_index > ? AND e.log_index <= ?"
           f" AND ({vis}) AND ({condition})")
    args: list[Any] = [after, upto, *vis_params, *cond_params]
    if min_record_time:
        # Stored record times are fixed-width UTC text: compare in exactly that form.
        sql += " AND e.record_time >= ?"
        args.append(utc_time(min_record_time))
    sql += " ORDER BY e.log_index LIMIT ?"
    args.append(limit)
    return [(int(r[0]), event_document(r[1], r[2])) for r in conn.fetchall(sql, args)]


def query_condition(conn: Connection, nq: NamedQuery) -> tuple[str, list[Any]]:
    """The named query's parameters as one SQL condition on `events e` (corridor.query.engine), with
    the extension prefixes declared when the query was created."""
    query = compile_query(conn, from_json(nq.query), nq.extensions)
    if not query.where:
        return "1 = 1", []
    return " AND ".join(f"({c})" for c in query.where), list(query.params)
