"""The insurance portfolio a viewer may read (docs/insurance.md): the policies it is insurer or
insured of (every one for an admin), where each insured unit is now, the claims and the loss
ratio. A read model, no HTTP.

- Where a unit is: its latest event with a location that the viewer may read and whose log
  entry a witness-quorum checkpoint covers (log index below `witnessed`), placed as the dashboard's overview places
  units (corridor.query.dashboard): delivered, on the leg from a place it departed to the
  place history says comes next, or at a place. A unit the viewer sees no verified event of
  is "not seen yet".
- A lot is where the containers it was packed into are; its part of the sum insured is split
  equally across them. A lot in no container yet is "not seen yet".
- Sum insured, exposure and premiums count bound policies only; an offered policy covers
  nothing yet. Open exposure: the parts of the units not delivered.
- Claims paid: the payouts of the opened claims, in the policy currency. Loss ratio = claims
  paid / premiums, per currency, and in EUR at the latest stored central-bank rate of each
  currency (corridor.fx.valuation.value with no date), each rate named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from corridor.epcis.identifiers import canonical
from corridor.fx.valuation import Valuation, value
from corridor.insurance.policy import Terms, Trigger, parse_terms
from corridor.insurance.service import is_class
from corridor.query.dashboard import UnitIndex, unit_index
from corridor.query.events_view import EventRow
from corridor.query.history import Typical
from corridor.query.places import Places, stored_places
from corridor.query.visibility import ViewerLike
from corridor.query.visible_set import visible_ids
from corridor.store import insurance as store
from corridor.store.db import Connection

ZERO = Decimal(0)
REPORTING = "EUR"
NOT_SEEN = "not seen yet"
DELIVERED = "delivered"
MOVING_STEPS = ("departing", "accepting")  # as the overview places a unit on its next leg


@dataclass(frozen=True)
class Position:
    """Where an insured unit (a container) is, from its latest verified visible event."""

    key: str  # canonical key of the container (or of a lot in no container yet)
    leg: str  # "delivered", "at <place>", "<place> → <place>" or NOT_SEEN
    place_key: str | None = None
    event_time: str | None = None
    log_index: int | None = None

    @property
    def delivered(self) -> bool:
        return self.leg == DELIVERED


@dataclass(frozen=True)
class Insured:
    """One unit of a policy, or one container of an insured lot, and its part of the sum."""

    policy_id: str
    unit: str  # as the terms write it
    part: Decimal  # in the policy currency, unrounded
    currency: str
    position: Position


@dataclass(frozen=True)
class ClaimLine:
    claim: store.StoredClaim
    trigger_type: str
    tier: int  # 1-based, as people count tiers
    share: str
    measure: str
    unit_of_measure: str  # "h", "min" or ""
    rule: str
    shipment: str | None  # canonical key of the container whose page to link, if any


@dataclass(frozen=True)
class PolicyLine:
    policy: store.StoredPolicy
    terms: Terms
    role: str  # the viewer's: insurer, insured or admin
    claims: tuple[ClaimLine, ...]

    @property
    def status(self) -> str:
        return "bound" if self.policy.bound_at else "offered"

    @property
    def paid(self) -> Decimal:
        return sum((Decimal(c.claim.payout) for c in self.claims), ZERO)


@dataclass(frozen=True)
class LegRow:
    leg: str
    currency: str
    units: int
    sum_insured: Decimal


@dataclass(frozen=True)
class CurrencyRow:
    currency: str
    sum_insured: Decimal
    open_exposure: Decimal
    premiums: Decimal
    paid: Decimal
    rate: Valuation | None  # one unit in EUR at the latest stored rate; None: no rate

    @property
    def loss_ratio(self) -> Decimal | None:
        return self.paid / self.premiums if self.premiums else None


@dataclass(frozen=True)
class Portfolio:
    policies: list[PolicyLine]
    insured: list[Insured]  # of bound policies
    by_leg: list[LegRow]
    by_currency: list[CurrencyRow]
    claims: list[ClaimLine]
    fired: list[tuple[str, int]]  # (trigger type, claims opened)
    premiums_eur: Decimal
    paid_eur: Decimal
    unconverted: list[str] = field(default_factory=list)  # currencies with no EUR rate

    @property
    def exposures(self) -> list[Insured]:
        return [i for i in self.insured if not i.position.delivered]

    @property
    def loss_ratio_eur(self) -> Decimal | None:
        return self.paid_eur / self.premiums_eur if self.premiums_eur else None


def role_of(viewer: ViewerLike, policy: store.StoredPolicy) -> str:
    if viewer.party_id == policy.insurer_party:
        return "insurer"
    if viewer.party_id == policy.insured_party:
        return "insured"
    return "admin"


def readable_policies(conn: Connection, viewer: ViewerLike) -> list[store.StoredPolicy]:
    """What InsuranceService.policies gives: the viewer's as insurer or insured; all for an
    admin; none for the public."""
    if viewer.party_id is None:
        return []
    return store.policies_of(conn, None if viewer.role == "admin" else viewer.party_id)


def _claim_line(claim: store.StoredClaim, terms: Terms, containers: dict[str, list[str]]
                ) -> ClaimLine:
    firing = claim.detail.get("firing", {})
    trigger = terms.trigger(claim.trigger_id)
    kind = trigger.type if trigger else "?"
    measure_unit = {"sensor": "min", "disposition": ""}.get(kind, "h")
    key = canonical(claim.unit)
    shipment = key if not is_class(claim.unit) else next(iter(containers.get(key, [])), None)
    return ClaimLine(claim, kind, int(firing.get("tier", 0)) + 1, str(firing.get("share", "")),
                     str(firing.get("measure", "")), measure_unit, str(firing.get("rule", "")),
                     shipment)


def _containers(conn: Connection, policy_id: str) -> dict[str, list[str]]:
    """Lot key -> the containers known to carry it (store.units_of)."""
    out: dict[str, list[str]] = {}
    for unit, via in store.units_of(conn, policy_id):
        if unit != via:
            out.setdefault(via, []).append(unit)
    return out


class _Locator:
    """Positions of containers from the unit index, read as one viewer, verified only."""

    def __init__(self, conn: Connection, viewer: ViewerLike, witnessed: int | None,
                 cache_key: str | None) -> None:
        self.conn = conn
        self.index: UnitIndex = unit_index(conn, cache_key)
        self.places: Places = stored_places(conn)
        self.typical: Typical = self.index.typical(self.places)
        self.ids = visible_ids(conn, viewer)
        self.witnessed = witnessed

    def positions(self, keys: Iterable[str]) -> dict[str, Position]:
        wanted = sorted(set(keys))
        candidates = {k: [pk for _, pk in self.index.by_unit.get(k, [])
                          if self.ids is None or pk in self.ids] for k in wanted}
        rows = {r.pk: r for r in self.index.events(
            self.conn, [pk for pks in candidates.values() for pk in pks], self.places)}
        out = {}
        for key, pks in candidates.items():
            latest = next((rows[pk] for pk in pks if pk in rows and self._verified(rows[pk])),
                          None)
            out[key] = self._place(key, latest)
        return out

    def _verified(self, row: EventRow) -> bool:
        # Events with no location (the binding and claim events name the unit too) say
        # nothing of where it is.
        return row.log_index is not None and bool(row.biz_location or row.read_point) and (
            self.witnessed is None or row.log_index < self.witnessed)

    def _place(self, key: str, row: EventRow | None) -> Position:
        if row is None:
            return Position(key, NOT_SEEN)
        place = row.place
        at = (row.event_time, row.log_index)
        if self.typical.arrived(row.biz_step, row.event_type, row.action, place):
            return Position(key, DELIVERED, place.key if place else None, *at)
        if place is None:
            return Position(key, f"at {row.where}" if row.where else "in transit", None, *at)
        following = self.typical.next_place.get(place.key)
        if row.biz_step in MOVING_STEPS and following in self.places.by_key:
            return Position(key, f"{place.name} \u2192 {self.places.by_key[following].name}",
                            place.key, *at)
        return Position(key, f"at {place.name}", place.key, *at)


def _insured(terms: Terms, policy_id: str, containers: dict[str, list[str]],
             where: dict[str, Position]) -> list[Insured]:
    out = []
    for unit in terms.units:
        key = canonical(unit)
        keys = containers.get(key, []) if is_class(unit) else [key]
        if not keys:  # a lot in no container yet
            out.append(Insured(policy_id, unit, terms.unit_sum, terms.currency,
                               Position(key, NOT_SEEN)))
            continue
        for k in keys:
            out.append(Insured(policy_id, unit, terms.unit_sum / len(keys), terms.currency,
                               where[k]))
    return out


def _by_leg(insured: Sequence[Insured]) -> list[LegRow]:
    rows: dict[tuple[str, str], tuple[set[str], Decimal]] = {}
    for i in insured:
        units, total = rows.get((i.position.leg, i.currency), (set(), ZERO))
        units.add(i.position.key)
        rows[(i.position.leg, i.currency)] = (units, total + i.part)
    # delivered last, units not seen just before it; legs by name
    order = {NOT_SEEN: 1, DELIVERED: 2}
    return [LegRow(leg, cur, len(units), total) for (leg, cur), (units, total)
            in sorted(rows.items(), key=lambda kv: (order.get(kv[0][0], 0), kv[0]))]


def _to_eur(conn: Connection, currency: str) -> Valuation | None:
    try:
        return value(conn, Decimal(1), currency, REPORTING, None)
    except (LookupError, ValueError, ArithmeticError):
        return None


def _by_currency(conn: Connection, lines: Sequence[PolicyLine], insured: Sequence[Insured]
                 ) -> list[CurrencyRow]:
    currencies = sorted({p.terms.currency for p in lines if p.status == "bound"}
                        | {c.claim.currency for p in lines for c in p.claims})
    out = []
    for cur in currencies:
        bound = [p for p in lines if p.status == "bound" and p.terms.currency == cur]
        mine = [i for i in insured if i.currency == cur]
        out.append(CurrencyRow(
            cur, sum((i.part for i in mine), ZERO),
            sum((i.part for i in mine if not i.position.delivered), ZERO),
            sum((p.terms.premium for p in bound), ZERO),
            sum((Decimal(c.claim.payout) for p in lines for c in p.claims
                 if c.claim.currency == cur), ZERO),
            _to_eur(conn, cur)))
    return out


def portfolio(conn: Connection, viewer: ViewerLike, *, witnessed: int | None = None,
              cache_key: str | None = None) -> Portfolio:
    """The viewer's portfolio (see the module docstring). `witnessed`: the log size the
    newest witness-quorum checkpoint covers (None: every logged event counts)."""
    stored = readable_policies(conn, viewer)
    claims: dict[str, list[store.StoredClaim]] = {}
    for claim in store.claims_of_policies(conn, [p.id for p in stored]):
        claims.setdefault(claim.policy_id, []).append(claim)
    lines: list[PolicyLine] = []
    lots: dict[str, dict[str, list[str]]] = {}
    for policy in stored:
        terms = parse_terms(policy.terms_json)
        lots[policy.id] = _containers(conn, policy.id)
        lines.append(PolicyLine(policy, terms, role_of(viewer, policy), tuple(
            _claim_line(c, terms, lots[policy.id]) for c in claims.get(policy.id, []))))
    bound = [p for p in lines if p.status == "bound"]
    keys = [k for p in bound for u in p.terms.units
            for k in (lots[p.policy.id].get(canonical(u), []) if is_class(u)
                      else [canonical(u)])]
    where = _Locator(conn, viewer, witnessed, cache_key).positions(keys) if keys else {}
    insured = [i for p in bound for i in _insured(p.terms, p.policy.id, lots[p.policy.id],
                                                  where)]
    currencies = _by_currency(conn, lines, insured)
    every_claim = sorted((c for p in lines for c in p.claims),
                         key=lambda c: (c.claim.triggered_at, c.claim.id))
    fired: dict[str, int] = {}
    for c in every_claim:
        fired[c.trigger_type] = fired.get(c.trigger_type, 0) + 1
    premiums_eur = paid_eur = ZERO
    unconverted = []
    for row in currencies:
        if row.rate is None:
            unconverted.append(row.currency)
            continue
        premiums_eur += row.premiums * row.rate.rate
        paid_eur += row.paid * row.rate.rate
    return Portfolio(lines, insured, _by_leg(insured), currencies, every_claim,
                     sorted(fired.items()), premiums_eur, paid_eur, unconverted)


# ---------------------------------------------------------------- a unit's cover


@dataclass(frozen=True)
class Cover:
    """A policy covering one container, as its shipment page shows it."""

    policy: store.StoredPolicy
    terms: Terms
    role: str
    via: str | None  # the insured lot the container carries, when covered through it
    claims: tuple[ClaimLine, ...]


def cover_of(conn: Connection, viewer: ViewerLike, key: str) -> list[Cover]:
    """The policies covering a container (itself or a lot it carries) that the viewer is
    insurer or insured of (any, for an admin); nothing for anyone else."""
    if viewer.party_id is None:
        return []
    rows = conn.fetchall("SELECT policy_id, via FROM policy_units WHERE unit = ? "
                         "ORDER BY policy_id", (key,))
    out = []
    for policy_id, via in rows:
        policy = store.get_policy(conn, str(policy_id))
        if policy is None or not (viewer.role == "admin" or viewer.party_id in (
                policy.insurer_party, policy.insured_party)):
            continue
        terms = parse_terms(policy.terms_json)
        mine = {key, str(via)}
        claims = tuple(_claim_line(c, terms, {str(via): [key]})
                       for c in store.claims_of_policies(conn, [policy.id])
                       if canonical(c.unit) in mine)
        out.append(Cover(policy, terms, role_of(viewer, policy),
                         None if via == key else str(via), claims))
    return out


def describe_trigger(trigger: Trigger, place_name: dict[str, str] | None = None) -> str:
    """A trigger and its tiers in one line, e.g. "dwell at Aktau: 96 h 10 %, 192 h 25 %"."""
    def named(uri: object) -> str:
        key = canonical(str(uri))
        return (place_name or {}).get(key, str(uri))

    p = trigger.params
    what = {
        "delay": lambda: f"arrival at {named(p.get('destination'))} after "
                         f"{p.get('promisedArrival')}",
        "leg_delay": lambda: f"{named(p.get('from'))} \u2192 {named(p.get('to'))} over "
                             f"{p.get('scheduledHours')} h",
        "dwell": lambda: f"stay at {named(p.get('node'))}",
        "notice": lambda: f"{', '.join(p.get('kinds', []))} at {named(p.get('node'))}",
        "disposition": lambda: ", ".join(p.get("dispositions", []))
        + (f" at {named(p['node'])}" if p.get("node") else ""),
        "sensor": lambda: f"{p.get('measurement')} outside {p.get('min')}..{p.get('max')} "
                          f"{p.get('uom')}",
    }[trigger.type]()
    unit = {"sensor": " min", "disposition": ""}.get(trigger.type, " h")
    tiers = ", ".join((f"\u2265 {t.at_least.normalize():f}{unit}: " if unit else "")
                      + f"{(t.share * 100).normalize():f} %" for t in trigger.tiers)
    return f"{trigger.type.replace('_', ' ')}: {what}; {tiers}"
