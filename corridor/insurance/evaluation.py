"""What one evaluation pass finds: for the policies the newly witnessed events touch, their
units' verified events as the insured may read them, the events to share with each insurer,
and the firings not yet claimed (corridor.insurance.service writes them).

A pass re-evaluates a touched policy on its units' whole history, so the planner keeps what
earlier passes read: each event is parsed once (UnitEvent, with what evaluation derives from
it), and a unit's history, once read, grows by the rows of each pass's new log range only.
That history is valid while passes follow each other (the next pass starts where the last
ended); otherwise, or past its bounds, it is read again from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from corridor.epcis.identifiers import canonical
from corridor.insurance.model import Firing, UnitEvent
from corridor.insurance.policy import Terms, parse_terms
from corridor.insurance.triggers import evaluate as evaluate_triggers
from corridor.monitoring.notices import Notice
from corridor.query import Viewer, events_naming
from corridor.query.events_view import events_by_pk
from corridor.store import insurance as store
from corridor.store import notices as notice_store
from corridor.store.db import Connection
from corridor.store.parties import roles_and_identifiers

MAX_CACHED_EVENTS = 500_000
MAX_CACHED_UNITS = 200_000


def viewer_of(conn: Connection, party_id: int) -> Viewer:
    role, identifiers = roles_and_identifiers(conn, {party_id})[party_id]
    return Viewer(party_id, tuple(sorted(identifiers)), role)


@dataclass
class Plan:
    shares: dict[int, set[int]] = field(default_factory=dict)  # insurer -> event rows
    firings: list[tuple[store.StoredPolicy, Terms, Firing, list[store.StoredClaim],
                        dict[str, int]]] = field(default_factory=list)


class Planner:
    def __init__(self) -> None:
        self._terms: dict[str, Terms] = {}
        self._events: dict[int, UnitEvent] = {}  # by event row
        # (insured party, unit key) -> its event rows below `_size`
        self._history: dict[tuple[int, str], list[int]] = {}
        self._size = -1

    def plan(self, conn: Connection, touched: list[str], start: int, size: int) -> Plan:
        """The shares and firings of the pass over log entries [start, size)."""
        plan = Plan()
        if start != self._size or len(self._history) > MAX_CACHED_UNITS:
            self._history.clear()
        if touched:
            notices = notice_store.notices_for(conn, size)
            units = store.units_of_policies(conn, touched)
            claims: dict[str, list[store.StoredClaim]] = {p: [] for p in touched}
            for claim in store.claims_of_policies(conn, touched):
                claims[claim.policy_id].append(claim)
            by_insured: dict[int, list[store.StoredPolicy]] = {}
            for policy in store.get_policies(conn, touched):
                by_insured.setdefault(policy.insured_party, []).append(policy)
            for insured, group in by_insured.items():
                keys = sorted({key for p in group for key, _ in units[p.id]})
                self._read(conn, insured, keys, start, size)
                for policy in group:
                    self._plan_policy(plan, policy, insured, units[policy.id], notices,
                                      claims[policy.id], start)
        self._size = size
        return plan

    def _read(self, conn: Connection, insured: int, keys: list[str], start: int,
              size: int) -> None:
        """Bring the histories of these units up to `size`, as the insured may read them."""
        viewer = viewer_of(conn, insured)
        known = [k for k in keys if (insured, k) in self._history]
        cold = [k for k in keys if (insured, k) not in self._history]
        pks: list[int] = []
        for wanted, since in ((known, start), (cold, 0)):
            if not wanted:
                continue
            rows = events_naming(conn, viewer, wanted, below=size, since=since,
                                 with_doc=False)
            for key in wanted:
                found = [r.pk for r in rows.get(key, ())]
                self._history.setdefault((insured, key), []).extend(found)
                pks.extend(found)
        missing = sorted({pk for pk in pks if pk not in self._events})
        if len(self._events) + len(missing) > MAX_CACHED_EVENTS:
            self._events.clear()
            self._history.clear()
            self._read(conn, insured, keys, start, size)
            return
        for row in events_by_pk(conn, missing):
            self._events[row.pk] = UnitEvent(row.hash_id, row.log_index or 0, row.doc)

    def _terms_of(self, policy: store.StoredPolicy) -> Terms:
        """Parsed terms, kept: they never change once stored."""
        terms = self._terms.get(policy.id)
        if terms is None:
            if len(self._terms) > MAX_CACHED_UNITS:
                self._terms.clear()
            terms = self._terms[policy.id] = parse_terms(policy.terms_json)
        return terms

    def _plan_policy(self, plan: Plan, policy: store.StoredPolicy, insured: int,
                     units: list[tuple[str, str]], notices: Sequence[Notice],
                     claims: list[store.StoredClaim], start: int) -> None:
        terms = self._terms_of(policy)
        attached = datetime.fromisoformat(policy.bound_at) if policy.bound_at else None
        # A policy bound in this pass shares the units' whole history; later passes only what
        # is new (each event is shared once).
        since = 0 if (policy.binding_log_index or 0) >= start else start
        for unit in terms.units:
            key = canonical(unit)
            events = [self._events[pk] for k, via in units if via == key
                      for pk in self._history.get((insured, k), ())]
            plan.shares.setdefault(policy.insurer_party, set()).update(
                pk for k, via in units if via == key
                for pk in self._history.get((insured, k), ())
                if self._events[pk].log_index >= since)
            for firing in evaluate_triggers(terms, unit, events, notices, attached):
                if any(c.trigger_id == firing.trigger_id and c.unit == unit for c in claims):
                    continue
                indices = {e.hash_id: e.log_index for e in events}
                indices.update((n.hash_id, n.log_index) for n in notices)
                plan.firings.append((policy, terms, firing, claims, indices))
