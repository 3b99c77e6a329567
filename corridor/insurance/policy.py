"""A parametric cover's terms, held as data (docs/insurance.md, "Policy terms").

`parse_terms` reads the JSON a client posts and refuses, naming the field by JSON pointer,
whatever is not exactly one of the shapes below; `canonical_terms` is the RFC 8785 form whose
SHA-256 (`terms_digest`) the binding event carries into the log, so neither side can change
the terms once bound.

    {"insurer": PARTY, "insured": PARTY,
     "units": [SSCC or LGTIN class URN, ...],
     "sumInsured": "120000.00", "currency": "USD", "premium": "1800.00",
     "settlementCurrency": "KZT",                        (optional, default the currency)
     "coverFrom": RFC 3339, "coverUntil": RFC 3339,
     "triggers": [TRIGGER, ...]}

Triggers (each `id` unique in the policy; `tiers` ordered by threshold, shares in (0, 1]):

    {"id": "late", "type": "delay", "destination": LOCATION,
     "promisedArrival": RFC 3339, "tiers": [{"atLeastHours": 48, "share": "0.25"}, ...]}
    {"id": "ferry", "type": "leg_delay", "from": LOCATION, "to": LOCATION,
     "scheduledHours": 72, "tiers": [...atLeastHours...]}
    {"id": "aktau", "type": "dwell", "node": LOCATION, "tiers": [...atLeastHours...]}
    {"id": "loss", "type": "disposition", "dispositions": ["damaged", ...],
     "node": LOCATION (optional), "tiers": [{"share": "1"}]}
    {"id": "heat", "type": "sensor", "measurement": "Temperature", "uom": "CEL",
     "min": "-20", "max": "35", "tiers": [{"atLeastMinutes": 360, "share": "0.2"}, ...]}
    {"id": "cut", "type": "notice", "node": LOCATION, "kinds": ["load_cut", ...],
     "tiers": [...atLeastHours...]}

The sum insured is split equally across the units; a firing pays its tier's share of the
unit's part (corridor.insurance.claims).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from corridor.fx.model import CURRENCIES
from corridor.ledger.jcs import canonicalize
from corridor.monitoring.notices import NOTICE_KINDS

TRIGGER_TYPES = ("delay", "leg_delay", "dwell", "disposition", "sensor", "notice")
# The dispositions a loss or a receiving mismatch is recorded with (CBV 2.0 section 7.2).
LOSS_DISPOSITIONS = ("damaged", "stolen", "destroyed", "mismatch_instance",
                     "mismatch_quantity", "mismatch_class")
MAX_UNITS = 500
MAX_TRIGGERS = 20
MAX_TIERS = 10
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]{1,2000}")
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# The measure each trigger type's tiers are thresholds of.
TIER_MEASURE = {"delay": "atLeastHours", "leg_delay": "atLeastHours", "dwell": "atLeastHours",
                "notice": "atLeastHours", "sensor": "atLeastMinutes", "disposition": None}


class TermsError(ValueError):
    """Terms that are not one of the documented shapes; `pointer` names the field."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"{pointer}: {message}")
        self.pointer = pointer
        self.message = message


@dataclass(frozen=True)
class Tier:
    at_least: Decimal  # hours or minutes (TIER_MEASURE); 0 for a disposition
    share: Decimal  # of the unit's part of the sum insured, in (0, 1]


@dataclass(frozen=True)
class Trigger:
    id: str
    type: str
    tiers: tuple[Tier, ...]
    params: Mapping[str, Any]  # the type's own fields, as in the canonical terms

    def tier_for(self, measure: Decimal) -> tuple[int, Tier] | None:
        """The highest tier whose threshold `measure` reaches: (index, tier), or None."""
        reached = None
        for n, tier in enumerate(self.tiers):
            if measure >= tier.at_least:
                reached = (n, tier)
        return reached


@dataclass(frozen=True)
class Terms:
    insurer: str
    insured: str
    units: tuple[str, ...]
    sum_insured: Decimal
    currency: str
    settlement_currency: str
    premium: Decimal
    cover_from: datetime
    cover_until: datetime
    triggers: tuple[Trigger, ...]
    document: Mapping[str, Any]  # the canonical terms as JSON

    @property
    def unit_sum(self) -> Decimal:
        """Each unit's part of the sum insured (unrounded)."""
        return self.sum_insured / len(self.units)

    def trigger(self, trigger_id: str) -> Trigger | None:
        return next((t for t in self.triggers if t.id == trigger_id), None)


def parse_instant(text: object, pointer: str) -> datetime:
    if not isinstance(text, str) or not _RFC3339.fullmatch(text):
        raise TermsError(pointer, "must be an RFC 3339 date-time with an offset, e.g. "
                         "2026-03-01T00:00:00Z")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise TermsError(pointer, f"is not a valid date-time ({exc})") from exc


def _decimal(value: object, pointer: str, *, low: Decimal, high: Decimal,
             low_open: bool = False) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TermsError(pointer, "must be a decimal number written as a string (or an "
                         "integer), e.g. \"0.25\"")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise TermsError(pointer, f"{value!r} is not a decimal number") from exc
    if not number.is_finite() or number > high or number < low or (low_open and number == low):
        bound = f"more than {low}" if low_open else f"at least {low}"
        raise TermsError(pointer, f"must be {bound} and at most {high}")
    return number


def _text(value: object, pointer: str, pattern: re.Pattern[str] = _URI) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        what = "an absolute URI" if pattern is _URI else f"text matching {pattern.pattern}"
        raise TermsError(pointer, f"must be {what}")
    return value


def _only(obj: object, pointer: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
          ) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise TermsError(pointer or "/", "must be a JSON object")
    for key in obj:
        if key not in required and key not in optional:
            raise TermsError(f"{pointer}/{key}", "is not a field of this object (allowed: "
                             f"{', '.join(required + optional)})")
    for key in required:
        if key not in obj:
            raise TermsError(f"{pointer}/{key}", "is required")
    return obj


def _tiers(raw: object, pointer: str, measure: str | None) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_TIERS:
        raise TermsError(pointer, f"must be a list of 1 to {MAX_TIERS} tiers")
    if measure is None and len(raw) != 1:
        raise TermsError(pointer, "a disposition trigger has exactly one tier")
    tiers: list[Tier] = []
    for n, item in enumerate(raw):
        at = f"{pointer}/{n}"
        obj = _only(item, at, ("share",) + ((measure,) if measure else ()))
        share = _decimal(obj["share"], f"{at}/share", low=Decimal(0), high=Decimal(1),
                         low_open=True)
        threshold = Decimal(0) if measure is None else _decimal(
            obj[measure], f"{at}/{measure}", low=Decimal(0), high=Decimal(100000))
        if tiers and (threshold <= tiers[-1].at_least or share <= tiers[-1].share):
            raise TermsError(at, "tiers must rise: each threshold and share above the "
                             "previous tier's")
        tiers.append(Tier(threshold, share))
    return tuple(tiers)


def _trigger_params(kind: str, obj: Mapping[str, Any], at: str) -> dict[str, Any]:
    """The type's own fields, checked, in their canonical JSON form."""
    if kind == "delay":
        parse_instant(obj["promisedArrival"], f"{at}/promisedArrival")
        return {"destination": _text(obj["destination"], f"{at}/destination"),
                "promisedArrival": obj["promisedArrival"]}
    if kind == "leg_delay":
        hours = _decimal(obj["scheduledHours"], f"{at}/scheduledHours", low=Decimal(0),
                         high=Decimal(100000), low_open=True)
        return {"from": _text(obj["from"], f"{at}/from"), "to": _text(obj["to"], f"{at}/to"),
                "scheduledHours": str(hours)}
    if kind in ("dwell", "notice"):
        params: dict[str, Any] = {"node": _text(obj["node"], f"{at}/node")}
        if kind == "notice":
            kinds = obj["kinds"]
            if not isinstance(kinds, list) or not kinds or any(k not in NOTICE_KINDS
                                                               for k in kinds):
                raise TermsError(f"{at}/kinds", f"must be a non-empty list of "
                                 f"{', '.join(NOTICE_KINDS)}")
            params["kinds"] = sorted(set(kinds))
        return params
    if kind == "disposition":
        words = obj["dispositions"]
        if not isinstance(words, list) or not words or any(w not in LOSS_DISPOSITIONS
                                                           for w in words):
            raise TermsError(f"{at}/dispositions", "must be a non-empty list of "
                             f"{', '.join(LOSS_DISPOSITIONS)}")
        params = {"dispositions": sorted(set(words))}
        if "node" in obj:
            params["node"] = _text(obj["node"], f"{at}/node")
        return params
    low = _decimal(obj["min"], f"{at}/min", low=Decimal(-100000), high=Decimal(100000))
    high = _decimal(obj["max"], f"{at}/max", low=Decimal(-100000), high=Decimal(100000))
    if high <= low:
        raise TermsError(f"{at}/max", "must be above min")
    return {"measurement": _text(obj["measurement"], f"{at}/measurement",
                                 re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")),
            "uom": _text(obj["uom"], f"{at}/uom", re.compile(r"[A-Z0-9]{2,3}")),
            "min": str(low), "max": str(high)}


_FIELDS = {
    "delay": (("destination", "promisedArrival"), ()),
    "leg_delay": (("from", "to", "scheduledHours"), ()),
    "dwell": (("node",), ()),
    "disposition": (("dispositions",), ("node",)),
    "sensor": (("measurement", "uom", "min", "max"), ()),
    "notice": (("node", "kinds"), ()),
}


def _trigger(raw: object, at: str) -> Trigger:
    if not isinstance(raw, Mapping):
        raise TermsError(at, "must be a JSON object")
    kind = raw.get("type")
    if kind not in TRIGGER_TYPES:
        raise TermsError(f"{at}/type", f"must be one of {', '.join(TRIGGER_TYPES)}")
    required, optional = _FIELDS[kind]
    obj = _only(raw, at, ("id", "type", "tiers", *required), optional)
    trigger_id = _text(obj["id"], f"{at}/id", _ID)
    measure = TIER_MEASURE[kind]
    tiers = _tiers(obj["tiers"], f"{at}/tiers", measure)
    params = _trigger_params(kind, obj, at)
    return Trigger(trigger_id, kind, tiers, params)


def _trigger_json(t: Trigger) -> dict[str, Any]:
    measure = TIER_MEASURE[t.type]
    tiers = [{"share": str(tier.share), **({measure: str(tier.at_least)} if measure else {})}
             for tier in t.tiers]
    return {"id": t.id, "type": t.type, **t.params, "tiers": tiers}


def _currency(value: object, pointer: str) -> str:
    if value not in CURRENCIES:
        raise TermsError(pointer, f"must be one of {', '.join(CURRENCIES)}")
    return str(value)


def parse_terms(raw: object) -> Terms:
    """Checked terms from posted JSON; TermsError names the first field that is wrong."""
    obj = _only(raw, "", ("insurer", "insured", "units", "sumInsured", "currency", "premium",
                          "coverFrom", "coverUntil", "triggers"), ("settlementCurrency",))
    insurer = _text(obj["insurer"], "/insurer")
    insured = _text(obj["insured"], "/insured")
    if insurer == insured:
        raise TermsError("/insured", "must be another party than the insurer")
    units = obj["units"]
    if not isinstance(units, list) or not 1 <= len(units) <= MAX_UNITS:
        raise TermsError("/units", f"must list 1 to {MAX_UNITS} SSCCs or lots")
    for n, unit in enumerate(units):
        _text(unit, f"/units/{n}")
        if not (":sscc:" in unit or ":lgtin:" in unit or "/00/" in unit or "/10/" in unit):
            raise TermsError(f"/units/{n}", "must be an SSCC (urn:epc:id:sscc:...) or a lot "
                             "(urn:epc:class:lgtin:...), or their GS1 Digital Link URI")
    if len(set(units)) != len(units):
        raise TermsError("/units", "lists a unit twice")
    currency = _currency(obj["currency"], "/currency")
    settlement = _currency(obj.get("settlementCurrency", currency), "/settlementCurrency")
    sum_insured = _decimal(obj["sumInsured"], "/sumInsured", low=Decimal(0),
                           high=Decimal("1e15"), low_open=True)
    premium = _decimal(obj["premium"], "/premium", low=Decimal(0), high=Decimal("1e15"))
    cover_from = parse_instant(obj["coverFrom"], "/coverFrom")
    cover_until = parse_instant(obj["coverUntil"], "/coverUntil")
    if cover_until <= cover_from:
        raise TermsError("/coverUntil", "must be after coverFrom")
    raw_triggers = obj["triggers"]
    if not isinstance(raw_triggers, list) or not 1 <= len(raw_triggers) <= MAX_TRIGGERS:
        raise TermsError("/triggers", f"must list 1 to {MAX_TRIGGERS} triggers")
    triggers = tuple(_trigger(t, f"/triggers/{n}") for n, t in enumerate(raw_triggers))
    ids = [t.id for t in triggers]
    if len(set(ids)) != len(ids):
        raise TermsError("/triggers", "two triggers share an id")
    document = {
        "insurer": insurer, "insured": insured, "units": list(units),
        "sumInsured": str(sum_insured), "currency": currency, "settlementCurrency": settlement,
        "premium": str(premium), "coverFrom": obj["coverFrom"], "coverUntil": obj["coverUntil"],
        "triggers": [_trigger_json(t) for t in triggers],
    }
    return Terms(insurer, insured, tuple(units), sum_insured, currency, settlement, premium,
                 cover_from, cover_until, triggers, document)


def canonical_terms(terms: Terms) -> bytes:
    """The RFC 8785 bytes of the terms: what `terms_digest` hashes."""
    return canonicalize(dict(terms.document))


def terms_digest(terms: Terms) -> str:
    """`sha-256:<hex>` of the canonical terms, as the binding event carries it."""
    return "sha-256:" + hashlib.sha256(canonical_terms(terms)).hexdigest()
