"""Forecast alerts (docs/monitoring.md, "Forecasts served and alerts"): what a party asks to be
told (an AlertRule: which units, a p50 slip in hours, a dwell over the node's p90), the alert
bodies, and their delivery through the query subscriptions' machinery.

An alert subscription is a subscription of another kind (corridor.subscriptions.store
.create_other, kind ALERT_KIND): its rule is kept as its settings, its bodies go through the
same outbox, GS1-Signature, retries and pruning as an EPCIS subscription's. A party is alerted
only on a unit it can see: it may read at least one of the unit's events (the rule of
GET /api/shipments/{epc}/eta).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from corridor.epcis.identifiers import SSCC_KEY_PREFIX, canonical
from corridor.query.visibility import ViewerLike, visibility_clause
from corridor.store.db import Connection
from corridor.subscriptions import store as substore
from corridor.subscriptions.matching import viewer_of
from corridor.subscriptions.model import Subscription, SubscriptionError, check_dest, new_id

ALERT_KIND = "corridor:eta-alerts"
KINDS = ("p50-slip", "dwell-over-p90")
FIELDS = ("dest", "signatureToken", "units", "slipHours", "dwellOverP90")
MAX_UNITS = 1000
_SSCC_PATTERN = "urn:epc:idpat:sscc:"


@dataclass(frozen=True)
class Alert:
    """What changed for a unit: its p50 slipped (`before` -> `after`) or its stay at `node`
    passed the node's p90. `event` is the Event Hash ID of the event (or notice) that caused
    it, `event_pk` its row (None for a notice)."""

    unit: str  # the SSCC's canonical key
    kind: str  # one of KINDS
    event: str
    event_time: datetime
    event_pk: int | None = None
    before: datetime | None = None
    after: datetime | None = None
    node: str | None = None
    dwell_hours: float | None = None
    p90_hours: float | None = None

    @property
    def slip_hours(self) -> float:
        if self.before is None or self.after is None:
            return 0.0
        return (self.after - self.before).total_seconds() / 3600


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AlertRule:
    """Which units (`units` exact keys, `prefixes` of SSCC keys by company prefix; both
    empty: every unit the party can see) and which alerts: a p50 slip of more than
    `slip_hours` (None: none), a dwell over p90 (`dwell`)."""

    units: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    slip_hours: float | None = None
    dwell: bool = False

    def covers(self, unit: str) -> bool:
        if not self.units and not self.prefixes:
            return True
        return unit in self.units or unit.startswith(self.prefixes)

    def wants(self, alert: Alert) -> bool:
        if not self.covers(alert.unit):
            return False
        if alert.kind == "dwell-over-p90":
            return self.dwell
        return self.slip_hours is not None and alert.slip_hours > self.slip_hours

    def settings(self) -> dict[str, Any]:
        return {"units": list(self.units), "prefixes": list(self.prefixes),
                "slipHours": self.slip_hours, "dwellOverP90": self.dwell}

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any]) -> AlertRule:
        slip = raw.get("slipHours")
        return cls(tuple(raw.get("units") or ()), tuple(raw.get("prefixes") or ()),
                   None if slip is None else float(slip), bool(raw.get("dwellOverP90")))


def _unit(text: object, pointer: str) -> tuple[str | None, str | None]:
    """(exact unit key, None) or (None, company prefix) of one entry of `units`."""
    if not isinstance(text, str) or not text or len(text) > 512 or "\x00" in text:
        raise SubscriptionError(pointer, "must be an SSCC (URN or Digital Link) or an SSCC"
                                         " pattern urn:epc:idpat:sscc:<company prefix>.*")
    if text.startswith(_SSCC_PATTERN):
        prefix, _, rest = text[len(_SSCC_PATTERN):].partition(".")
        if rest != "*" or not prefix.isdigit() or not 6 <= len(prefix) <= 12:
            raise SubscriptionError(pointer, "a pattern is urn:epc:idpat:sscc:<company prefix"
                                             " of 6 to 12 digits>.*")
        return None, prefix
    key = canonical(text)
    if not key.startswith(SSCC_KEY_PREFIX):
        raise SubscriptionError(pointer, "not an SSCC (urn:epc:id:sscc:... or a Digital Link"
                                         " with AI 00)")
    return key, None


def _units(raw: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if raw is None or raw == "all":
        return (), ()
    if not isinstance(raw, list) or not raw or len(raw) > MAX_UNITS:
        raise SubscriptionError("/units", f'"all", or a list of 1 to {MAX_UNITS} SSCCs or'
                                          " SSCC patterns")
    units: list[str] = []
    prefixes: list[str] = []
    for i, item in enumerate(raw):
        key, company = _unit(item, f"/units/{i}")
        if key is not None:
            units.append(key)
        else:  # a key's digits: an extension digit, then the company prefix
            prefixes += [f"{SSCC_KEY_PREFIX}{d}{company}" for d in range(10)]
    return tuple(dict.fromkeys(units)), tuple(dict.fromkeys(prefixes))


def parse_rule(raw: Mapping[str, Any]) -> AlertRule:
    """The rule of a posted alert subscription; SubscriptionError names the field."""
    units, prefixes = _units(raw.get("units"))
    slip = raw.get("slipHours")
    if slip is not None and (isinstance(slip, bool) or not isinstance(slip, int | float)
                             or not 0 <= slip <= 24 * 365):
        raise SubscriptionError("/slipHours", "must be a number of hours from 0 to 8760")
    dwell = raw.get("dwellOverP90", False)
    if not isinstance(dwell, bool):
        raise SubscriptionError("/dwellOverP90", "must be true or false")
    if slip is None and not dwell:
        raise SubscriptionError("/slipHours", "give slipHours, dwellOverP90: true, or both;"
                                              " otherwise nothing is ever sent")
    return AlertRule(units, prefixes, None if slip is None else float(slip), dwell)


@dataclass(frozen=True)
class AlertRequest:
    dest: str | None
    secret: str | None
    rule: AlertRule


def parse_request(raw: object, *, dest_required: bool = True) -> AlertRequest:
    """A posted alert subscription {dest, signatureToken?, units?, slipHours?,
    dwellOverP90?}; SubscriptionError names the field at fault."""
    if not isinstance(raw, Mapping):
        raise SubscriptionError("/", "must be a JSON object")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise SubscriptionError("/" + unknown[0], f"unknown field; expected {', '.join(FIELDS)}")
    for name in ("signatureToken", "units", "slipHours", "dwellOverP90"):
        if name in raw and raw[name] is None:  # absent means the default; null means nothing
            raise SubscriptionError("/" + name, "must not be null; leave it out instead")
    dest = check_dest(raw.get("dest")) if dest_required else None
    secret = raw.get("signatureToken")
    if secret is not None and (not isinstance(secret, str) or not 1 <= len(secret) <= 1024
                               or "\x00" in secret):
        raise SubscriptionError("/signatureToken", "must be a string of 1 to 1024 characters")
    return AlertRequest(dest, secret, parse_rule(raw))


def subscription_json(sub: Subscription) -> dict[str, Any]:
    """An alert subscription as the API shows it (never its secret)."""
    rule = AlertRule.from_settings(sub.settings or {})
    return {"id": sub.id, "dest": sub.dest, "units": _shown_units(rule),
            "slipHours": rule.slip_hours, "dwellOverP90": rule.dwell,
            "createdAt": sub.created_at, "lastNotifiedAt": sub.last_notified_at,
            "signed": sub.secret is not None}


def _shown_units(rule: AlertRule) -> list[str] | str:
    if not rule.units and not rule.prefixes:
        return "all"
    patterns = sorted({_SSCC_PATTERN + p[len(SSCC_KEY_PREFIX) + 1:] + ".*"
                       for p in rule.prefixes})
    return [*rule.units, *patterns]


def alert_json(alert: Alert, subscription: str | None) -> dict[str, Any]:
    """The body of one alert (webhook and WebSocket alike)."""
    body: dict[str, Any] = {
        "type": "EtaAlert", "alertID": "urn:uuid:" + new_id(), "subscriptionID": subscription,
        "kind": alert.kind, "unit": alert.unit,
        "event": {"eventID": alert.event, "eventTime": iso(alert.event_time)},
    }
    if alert.kind == "p50-slip":
        assert alert.before is not None and alert.after is not None
        body.update(before=iso(alert.before), after=iso(alert.after),
                    slipHours=round(alert.slip_hours, 2))
    else:
        body.update(node=alert.node, dwellHours=round(alert.dwell_hours or 0.0, 2),
                    p90Hours=round(alert.p90_hours or 0.0, 2))
    body["createdAt"] = iso(datetime.now(UTC))
    return body


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def unit_visible(conn: Connection, viewer: ViewerLike, unit: str) -> bool:
    """Whether the viewer may read the unit's newest event that places it (as the unit index
    keeps them: no sensor report, no record without a place). A forecast or an alert tells
    where the unit is and since when, which is that event's; a party that saw only an earlier
    part of the route must not learn the rest from them."""
    newest = conn.fetchone(
        "SELECT e.id FROM event_epcs x JOIN events e ON e.id = x.event_pk WHERE x.epc = ?"
        " AND x.role IN ('epc', 'parent') AND (e.biz_step IS NULL OR"
        " e.biz_step != 'sensor_reporting') AND (e.biz_location IS NOT NULL OR"
        " e.read_point IS NOT NULL) ORDER BY e.event_time DESC, e.id DESC LIMIT 1", (unit,))
    if newest is None:
        return False
    vis, params = visibility_clause(viewer)
    row = conn.fetchone(f"SELECT 1 FROM events e WHERE e.id = ? AND ({vis})",
                        [int(newest[0]), *params])
    return row is not None


def enqueue_alerts(conn: Connection, alerts: Sequence[Alert]) -> int:
    """Put each alert in the outbox of every alert subscription that wants it and whose party
    can see its unit; returns how many bodies were queued."""
    if not alerts:
        return 0
    subs = [s for s in substore.list_for(conn, ALERT_KIND)]
    queued = 0
    seen: dict[tuple[int, str], bool] = {}
    for sub in subs:
        rule = AlertRule.from_settings(sub.settings or {})
        wanted = [a for a in alerts if rule.wants(a)]
        viewer = viewer_of(conn, sub.party_id) if wanted else None
        if viewer is None:
            continue
        with conn.transaction():
            for alert in wanted:
                key = (sub.party_id, alert.unit)
                if key not in seen:
                    seen[key] = unit_visible(conn, viewer, alert.unit)
                if seen[key]:
                    substore.enqueue(conn, sub.id, encode(alert_json(alert, sub.id)), 1)
                    queued += 1
    return queued
