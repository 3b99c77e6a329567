"""The viewer's visible events as one set, for pages that aggregate over all of them.

corridor.query.visibility states the rule as a per-row condition (EXISTS subqueries), which is
right for selective queries but costs a few lookups for every event scanned: on the demo's
events the overview paid that four times. Here the same rule is evaluated once, from the
indexes (events by captured_by, event_parties by value, event_shares by party), as a set of
event primary keys. tests/web checks that both forms select exactly the same events for
every demo party, auditor and the public.
"""

from __future__ import annotations

from corridor.query.visibility import ViewerLike, visibility_clause
from corridor.store.db import Connection

_UNION = (
    "SELECT v1.id FROM events v1 WHERE v1.captured_by IN ({marks})"
    " UNION ALL SELECT vp.event_pk FROM party_identifiers vi JOIN event_parties vp"
    " ON vp.value = vi.canonical WHERE vi.party_id IN ({marks})"
    " UNION ALL SELECT vs.event_pk FROM event_shares vs WHERE vs.party_id IN ({marks})"
)


def reading_parties(conn: Connection, viewer: ViewerLike) -> list[int]:
    """The parties whose reads the viewer shares: itself, and for an auditor every party it
    holds a grant on."""
    if viewer.party_id is None:
        return []
    parties = [viewer.party_id]
    if viewer.role == "auditor":
        parties += [int(r[0]) for r in conn.fetchall(
            "SELECT party_id FROM auditor_grants WHERE auditor_id = ? ORDER BY party_id",
            (viewer.party_id,))]
    return parties


def visible_ids(conn: Connection, viewer: ViewerLike) -> set[int] | None:
    """Primary keys of the events the viewer may read; None means all of them (admin).
    The same events as corridor.query.visibility.visibility_clause(viewer)."""
    if viewer.role == "admin":
        return None
    parties = reading_parties(conn, viewer)
    if not parties:
        return set()
    marks = ",".join("?" * len(parties))
    # UNION ALL and a Python set: cheaper than the database de-duplicating the keys.
    return {r[0] for r in conn.fetchall(_UNION.format(marks=marks), parties * 3)}


def readable_among(conn: Connection, viewer: ViewerLike, pks: list[int]) -> set[int]:
    """Of these events, those the viewer may read: the visibility clause on just these rows,
    where a page shows a few units out of many (visible_ids scans the viewer's whole set)."""
    if viewer.role == "admin":
        return set(pks)
    vis_sql, vis_params = visibility_clause(viewer)
    found: set[int] = set()
    for start in range(0, len(pks), 500):
        chunk = pks[start:start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(int(r[0]) for r in conn.fetchall(
            f"SELECT e.id FROM events e WHERE e.id IN ({marks}) AND ({vis_sql})",
            [*chunk, *vis_params]))
    return found
