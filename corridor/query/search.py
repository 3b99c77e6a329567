"""What the dashboard's search reads: identifiers, lot numbers, business transactions and
parties, and the logistic units seen at a place or with a party. Every read of events joins
the viewer's visibility clause (corridor.query.visibility)."""

from __future__ import annotations

from corridor.epcis.identifiers import (
    AI_GLN,
    AI_GTIN,
    AI_LOT,
    AI_PARTY,
    SSCC_KEY_PREFIX,
    canonical,
    dl_head,
)
from corridor.query.visibility import ViewerLike, visibility_clause
from corridor.store.db import Connection
from corridor.store.events import place_match

_GTIN_KEYS = dl_head(AI_GTIN)
_GLN_HEADS = (dl_head(AI_PARTY), dl_head(AI_GLN))


def epc_roles(conn: Connection, viewer: ViewerLike, keys: list[str], limit: int
              ) -> list[tuple[str, str]]:
    """(identifier key, role) of the given canonical keys as they appear in events the viewer
    may see (role: epc, parent, child, input, output...)."""
    if not keys:
        return []
    vis_sql, vis_params = visibility_clause(viewer)
    marks = ",".join("?" * len(keys))
    return [(r[0], r[1]) for r in conn.fetchall(
        "SELECT DISTINCT x.epc, x.role FROM event_epcs x JOIN events e ON e.id = x.event_pk"
        f" WHERE x.epc IN ({marks}) AND ({vis_sql}) LIMIT ?", [*keys, *vis_params, limit])]


def lots_numbered(conn: Connection, lot_number: str) -> list[str]:
    """Keys of the lots (LGTIN: GTIN + lot) stored with this lot number, under any GTIN. A
    range scan of the GTIN-based keys of the index, not LIKE '%...' over every row; no
    visibility rule (epc_roles applies it to what is shown)."""
    rows = conn.fetchall(  # every key that starts with _GTIN_KEYS (its "/" + 1 is "0")
        "SELECT DISTINCT x.epc FROM event_epcs x WHERE x.epc >= ? AND x.epc < ?",
        [_GTIN_KEYS, _GTIN_KEYS[:-1] + "0"])
    return [r[0] for r in rows if r[0].endswith(f"/{AI_LOT}/{lot_number}")]


def transactions(conn: Connection, viewer: ViewerLike, idents: list[str], limit: int
                 ) -> list[tuple[str, str, int | None, str | None]]:
    """(field path "bizTransaction:<type>", transaction URN, log index, unit key or None) of
    the visible events naming one of these business transactions, oldest first."""
    if not idents:
        return []
    vis_sql, vis_params = visibility_clause(viewer)
    marks = ",".join("?" * len(idents))
    rows = conn.fetchall(
        "SELECT f.path, f.sval, e.log_index, x.epc FROM event_fields f"
        " JOIN events e ON e.id = f.event_pk"
        " LEFT JOIN event_epcs x ON x.event_pk = e.id AND x.role IN ('epc', 'parent')"
        f" WHERE f.path >= 'bizTransaction:' AND f.path < 'bizTransaction;'"
        f" AND f.sval IN ({marks}) AND ({vis_sql}) ORDER BY e.event_time LIMIT ?",
        [*idents, *vis_params, limit])
    return [(r[0], r[1], None if r[2] is None else int(r[2]), r[3]) for r in rows]


def parties_matching(conn: Connection, text: str, limit: int = 20
                     ) -> list[tuple[str, str, str]]:
    """(name, identifier, role) of the registered parties whose name contains `text` (any
    case) or whose identifier is `text`, by name. Parties are public: no visibility rule."""
    return [(r[0], r[1], r[2]) for r in conn.fetchall(
        "SELECT p.name, p.identifier, p.role FROM parties p WHERE lower(p.name) LIKE ?"
        " OR p.identifier = ? ORDER BY p.name LIMIT ?", [f"%{text.lower()}%", text, limit])]


def party_glns(conn: Connection) -> list[str]:
    """13-digit GLNs of every registered party identifier that is a PGLN or SGLN."""
    glns = []
    for (ident,) in conn.fetchall("SELECT DISTINCT identifier FROM party_identifiers"):
        key = canonical(ident)
        for head in _GLN_HEADS:
            if key.startswith(head):
                glns.append(key[len(head):len(head) + 13])
    return glns


def units_last_seen(conn: Connection, viewer: ViewerLike, *, location: str | None = None,
                    party: str | None = None, limit: int = 200) -> list[tuple[str, str]]:
    """(SSCC key, latest event time) of the logistic units the viewer may see in an event at
    `location` (a readPoint or bizLocation, canonical key) or naming `party` (as the capturing
    party, or in a source or destination list), most recently seen first."""
    vis_sql, vis_params = visibility_clause(viewer)
    if location is not None:
        at, at_params = place_match("e", "biz_location", [location])
        seen, seen_params = place_match("e", "read_point", [location])
        cond, params = f"({at} OR {seen})", [*at_params, *seen_params]
    elif party is not None:
        cond = ("(e.party = ? OR EXISTS (SELECT 1 FROM event_parties p WHERE p.event_pk = e.id"
                " AND p.value = ?))")
        params = [party, canonical(party)]
    else:
        return []
    rows = conn.fetchall(
        "SELECT x.epc, MAX(e.event_time) FROM events e JOIN event_epcs x ON x.event_pk = e.id"
        f" WHERE x.role IN ('epc', 'parent') AND x.epc LIKE ? AND {cond} AND ({vis_sql})"
        " GROUP BY x.epc ORDER BY 2 DESC LIMIT ?",
        [SSCC_KEY_PREFIX + "%", *params, *vis_params, limit])
    return [(r[0], r[1]) for r in rows]
