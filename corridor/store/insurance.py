"""Reads and writes of the insurance concern: policies, their units, claims and how far
evaluation has read the witnessed log (tables in schema_insurance). What a policy means and
when it pays is corridor.insurance's; this module only stores what it is told."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from corridor.store.db import Connection


@dataclass(frozen=True)
class StoredPolicy:
    id: str
    insurer_party: int
    insured_party: int
    terms: str  # canonical terms JSON, verbatim
    terms_digest: str
    offered_at: str
    bound_at: str | None
    binding_event: str | None
    binding_log_index: int | None

    @property
    def terms_json(self) -> dict[str, Any]:
        return dict(json.loads(self.terms))


@dataclass(frozen=True)
class StoredClaim:
    id: str
    policy_id: str
    trigger_id: str
    unit: str
    triggered_at: str
    payout: str
    currency: str
    detail: dict[str, Any]  # the firing, the payout note, the settlement valuation
    opened_at: str
    claim_event: str | None
    claim_log_index: int | None


_POLICY = ("id, insurer_party, insured_party, terms, terms_digest, offered_at, bound_at,"
           " binding_event, binding_log_index")
_CLAIM = ("id, policy_id, trigger_id, unit, triggered_at, payout, currency, detail, opened_at,"
          " claim_event, claim_log_index")


def _in_chunks(conn: Connection, sql: str, values: Sequence[str]) -> list[tuple]:
    """Rows of `sql` (its one `{marks}` an IN list) over `values`, 500 at a time (the
    databases bound the parameters of one statement)."""
    rows: list[tuple] = []
    for start in range(0, len(values), 500):
        chunk = list(values[start:start + 500])
        rows += conn.fetchall(sql.format(marks=",".join("?" * len(chunk))), chunk)
    return rows


def _policy(row: Sequence[Any]) -> StoredPolicy:
    return StoredPolicy(str(row[0]), int(row[1]), int(row[2]), str(row[3]), str(row[4]),
                        str(row[5]), row[6], row[7],
                        None if row[8] is None else int(row[8]))


def _claim(row: Sequence[Any]) -> StoredClaim:
    return StoredClaim(str(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]),
                       str(row[5]), str(row[6]), json.loads(row[7]), str(row[8]), row[9],
                       None if row[10] is None else int(row[10]))


def insert_policy(conn: Connection, policy: StoredPolicy, units: Iterable[str]) -> None:
    with conn.transaction():
        conn.execute(f"INSERT INTO policies ({_POLICY}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (policy.id, policy.insurer_party, policy.insured_party, policy.terms,
                      policy.terms_digest, policy.offered_at, policy.bound_at,
                      policy.binding_event, policy.binding_log_index))
        add_units(conn, policy.id, [(u, u) for u in units])


def add_units(conn: Connection, policy_id: str, units: Iterable[tuple[str, str]]) -> int:
    """Add (unit key, via) rows not there yet; returns how many were new."""
    added = 0
    for unit, via in units:
        if conn.fetchone("SELECT 1 FROM policy_units WHERE policy_id = ? AND unit = ? AND "
                         "via = ?", (policy_id, unit, via)) is None:
            conn.execute("INSERT INTO policy_units (policy_id, unit, via) VALUES (?, ?, ?)",
                         (policy_id, unit, via))
            added += 1
    return added


def units_of(conn: Connection, policy_id: str) -> list[tuple[str, str]]:
    """(unit key, via) of a policy: its units (via itself) and the containers of its lots."""
    return [(str(r[0]), str(r[1])) for r in conn.fetchall(
        "SELECT unit, via FROM policy_units WHERE policy_id = ? ORDER BY via, unit",
        (policy_id,))]


def units_of_policies(conn: Connection, policy_ids: Sequence[str]
                      ) -> dict[str, list[tuple[str, str]]]:
    """units_of for many policies at once."""
    out: dict[str, list[tuple[str, str]]] = {p: [] for p in policy_ids}
    for policy_id, unit, via in _in_chunks(
            conn, "SELECT policy_id, unit, via FROM policy_units WHERE policy_id IN ({marks})"
            " ORDER BY via, unit", policy_ids):
        out[str(policy_id)].append((str(unit), str(via)))
    return out


def get_policies(conn: Connection, policy_ids: Sequence[str]) -> list[StoredPolicy]:
    rows = _in_chunks(conn, f"SELECT {_POLICY} FROM policies WHERE id IN ({{marks}})",
                      policy_ids)
    return sorted((_policy(r) for r in rows), key=lambda p: p.id)


def mark_bound(conn: Connection, policy_id: str, bound_at: str, event: str,
               log_index: int) -> bool:
    cur = conn.execute("UPDATE policies SET bound_at = ?, binding_event = ?, "
                       "binding_log_index = ? WHERE id = ? AND bound_at IS NULL",
                       (bound_at, event, log_index, policy_id))
    return bool(cur.rowcount)


def get_policy(conn: Connection, policy_id: str) -> StoredPolicy | None:
    row = conn.fetchone(f"SELECT {_POLICY} FROM policies WHERE id = ?", (policy_id,))
    return _policy(row) if row else None


def policies_of(conn: Connection, party_id: int | None, *, limit: int = 10000
                ) -> list[StoredPolicy]:
    """The policies a party is insurer or insured of (all of them for None), newest first."""
    if party_id is None:
        rows = conn.fetchall(f"SELECT {_POLICY} FROM policies ORDER BY offered_at DESC, id "
                             "LIMIT ?", (limit,))
    else:
        rows = conn.fetchall(f"SELECT {_POLICY} FROM policies WHERE insurer_party = ? OR "
                             "insured_party = ? ORDER BY offered_at DESC, id LIMIT ?",
                             (party_id, party_id, limit))
    return [_policy(r) for r in rows]


def bound_policies_touching(conn: Connection, keys: Sequence[str]) -> list[str]:
    """Ids of the bound policies one of whose unit keys is among `keys`."""
    return sorted({str(r[0]) for r in _in_chunks(
        conn, "SELECT DISTINCT pu.policy_id FROM policy_units pu JOIN policies p ON "
        "p.id = pu.policy_id WHERE pu.unit IN ({marks}) AND p.bound_at IS NOT NULL", keys)})


def insert_claim(conn: Connection, claim: StoredClaim) -> bool:
    """Store a claim unless one for the same policy, trigger and unit exists; True if new."""
    if conn.fetchone("SELECT 1 FROM claims WHERE policy_id = ? AND trigger_id = ? AND "
                     "unit = ?", (claim.policy_id, claim.trigger_id, claim.unit)):
        return False
    conn.execute(f"INSERT INTO claims ({_CLAIM}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (claim.id, claim.policy_id, claim.trigger_id, claim.unit, claim.triggered_at,
                  claim.payout, claim.currency, json.dumps(claim.detail, sort_keys=True),
                  claim.opened_at, claim.claim_event, claim.claim_log_index))
    return True


def get_claim(conn: Connection, claim_id: str) -> StoredClaim | None:
    row = conn.fetchone(f"SELECT {_CLAIM} FROM claims WHERE id = ?", (claim_id,))
    return _claim(row) if row else None


def claims_of_policies(conn: Connection, policy_ids: Sequence[str]) -> list[StoredClaim]:
    rows = _in_chunks(conn, f"SELECT {_CLAIM} FROM claims WHERE policy_id IN ({{marks}})",
                      policy_ids)
    return sorted((_claim(r) for r in rows), key=lambda c: (c.triggered_at, c.id))


def evaluated_size(conn: Connection) -> int:
    row = conn.fetchone("SELECT evaluated_size FROM insurance_state WHERE id = 1")
    return int(row[0]) if row else 0


def set_evaluated_size(conn: Connection, size: int) -> None:
    if conn.fetchone("SELECT 1 FROM insurance_state WHERE id = 1") is None:
        conn.execute("INSERT INTO insurance_state (id, evaluated_size) VALUES (1, ?)", (size,))
    else:
        conn.execute("UPDATE insurance_state SET evaluated_size = ? WHERE id = 1", (size,))


def keys_logged_in(conn: Connection, start: int, end: int
                   ) -> tuple[set[str], list[tuple[str, str]]]:
    """The canonical EPC and class keys named by the events logged at [start, end), and
    (lot class key, container key) of each packing among them (an AggregationEvent ADD
    whose child quantities name the class)."""
    rows = conn.fetchall("SELECT e.id, e.event_type, e.action, ep.role, ep.epc FROM events e "
                         "JOIN event_epcs ep ON ep.event_pk = e.id WHERE e.log_index >= ? AND "
                         "e.log_index < ?", (start, end))
    keys = {str(r[4]) for r in rows}
    parents: dict[int, str] = {int(r[0]): str(r[4]) for r in rows if r[3] == "parent"}
    packed = [(str(r[4]), parents[int(r[0])]) for r in rows
              if r[3] == "child_class" and r[1] == "AggregationEvent" and r[2] == "ADD"
              and int(r[0]) in parents]
    return keys, packed


def lots_packed(conn: Connection, packed: Sequence[tuple[str, str]]
                ) -> list[tuple[str, str, str]]:
    """(policy id, lot key, container key) for each packing of a lot some policy covers."""
    out = []
    for lot, container in packed:
        for (policy_id,) in conn.fetchall("SELECT policy_id FROM policy_units WHERE unit = ? "
                                          "AND via = ?", (lot, lot)):
            out.append((str(policy_id), lot, container))
    return out


def containers_of_lot(conn: Connection, lot: str) -> list[str]:
    """The containers (parent keys) stored packings put a lot class into."""
    return sorted({str(r[0]) for r in conn.fetchall(
        "SELECT p.epc FROM event_epcs c JOIN events e ON e.id = c.event_pk JOIN event_epcs p "
        "ON p.event_pk = c.event_pk AND p.role = 'parent' WHERE c.epc = ? AND "
        "c.role = 'child_class' AND e.event_type = 'AggregationEvent' AND e.action = 'ADD'",
        (lot,))})


def share_with(conn: Connection, event_pks: Sequence[int], party_id: int) -> int:
    """Share these stored events with a party; returns how many shares are new."""
    added = 0
    for pk in event_pks:
        if not conn.fetchone("SELECT 1 FROM event_shares WHERE event_pk = ? AND party_id = ?",
                             (pk, party_id)):
            conn.execute("INSERT INTO event_shares (event_pk, party_id) VALUES (?, ?)",
                         (pk, party_id))
            added += 1
    return added
