"""Evaluating a parametric cover's triggers for one insured unit (docs/insurance.md).

Pure: the caller passes the logged events covered by a witness-quorum checkpoint and the
logged notices; nothing here reads a database or the network.

Which events count (`events_of_unit`): those naming the unit. An SSCC is named in epcList,
parentID, childEPCs, inputEPCList or outputEPCList; a lot (LGTIN class) in the epcClass of
quantityList, childQuantityList, inputQuantityList or outputQuantityList. A lot also travels
with every container an AggregationEvent (action ADD) packed it into: the events naming that
container (its parentID) count for the lot. Identifiers compare as URN or Digital Link alike.

Order: by eventTime (RFC 3339 with its offset, read as UTC), then log index; never by
arrival in the log. Events without a readable eventTime are left out.

Each trigger fires at most once per unit, with the highest tier its measure reaches, and only
once what it measures is complete, so a firing does not change as later events arrive:

- delay: arrival = the earliest event at the destination; measure = hours after the
  promised arrival; at = arrival.
- leg_delay: arrival = the earliest event at `to`, departure = the latest event at `from`
  before it; measure = hours in transit over scheduledHours; at = arrival.
- dwell: the stay at the node = its first event there to the last one before it was first
  seen elsewhere; complete only once it was seen elsewhere. measure = hours of the stay;
  at = the stay's last event; the leaving event stays in the trace.
- disposition: the earliest event with one of the dispositions (bare CBV word or its URI), at
  the node if the trigger names one; measure 0; at = its time.
- sensor: readings of the measurement in the trigger's uom, ordered by time (the report's,
  else the metadata's, else the event's). A run of out-of-range readings lasts from its first
  reading to the next in-range reading, or to its own last reading if none follows.
  measure = the longest run in minutes; at = when that run ended.
- notice: the stay as for dwell; measure = hours of the stay covered by the matching notices
  (same node, kind listed), overlapping notice periods counted once; at = the stay's last
  event.

Tiers compare the exact measure; Firing.measure is it rounded half-even to 0.01. A firing
counts only when its `at` lies in [coverFrom, coverUntil]. Firings come in the order of the
policy's triggers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from corridor.emissions.events import number, same_item
from corridor.epcis.identifiers import canonical
from corridor.insurance.model import Firing, UnitEvent, instant
from corridor.insurance.policy import Terms, Trigger
from corridor.monitoring.notices import Notice

_DISPOSITION_PREFIXES = ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:")
_MEASUREMENT_PREFIXES = ("https://gs1.org/voc/MeasurementType-", "https://gs1.org/voc/",
                         "gs1:")
_HOUR = Decimal(3600)
_MINUTE = Decimal(60)
_CENT = Decimal("0.01")

Timed = tuple[datetime, UnitEvent]


def _containers(key: str, events: Sequence[UnitEvent]) -> list[str]:
    """The parentIDs (canonical) an AggregationEvent (ADD) packed the lot into."""
    found: list[str] = []
    for e in events:
        ev = e.event
        if ev.get("type") != "AggregationEvent" or ev.get("action") != "ADD":
            continue
        parent, children = ev.get("parentID"), ev.get("childQuantityList")
        if isinstance(parent, str) and isinstance(children, list) and any(
                isinstance(q, Mapping) and same_item(q.get("epcClass"), key)
                for q in children):
            found.append(canonical(parent))
    return found


def events_of_unit(unit: str, events: Iterable[UnitEvent]) -> list[UnitEvent]:
    """The events that name `unit`, or a container its lot was packed into; in input order,
    each once."""
    unique = list({e.hash_id: e for e in events}.values())
    key = canonical(unit)
    named = [e for e in unique if key in e.names]
    if ":class:" not in key and "/10/" not in key:  # an SSCC: no containers to follow
        return named
    keys = {key, *_containers(key, named)}
    return [e for e in unique if e.names & keys]


_instant = instant


def _timed(events: Iterable[UnitEvent]) -> list[Timed]:
    timed = [(e.time, e) for e in events if e.time is not None]
    return sorted(timed, key=lambda pair: (pair[0], pair[1].log_index, pair[1].hash_id))


def _seconds(span: timedelta) -> Decimal:
    return (Decimal(span.days) * 86400 + Decimal(span.seconds)
            + Decimal(span.microseconds) / 1000000)


def _per(span: timedelta, unit: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        return _seconds(span) / unit


def _shown(value: Decimal) -> str:
    """A figure without trailing zeros: 52.50 -> 52.5, 48.00 -> 48."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def _stamp(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else "") + "Z"


def _at(place: object, where: str) -> bool:
    return isinstance(place, str) and same_item(place, where)


def _at_key(e: UnitEvent, key: str) -> bool:
    """Whether the event happened at the place of canonical key `key`."""
    return e.place == key


def _ids(*events: UnitEvent) -> tuple[str, ...]:
    return tuple(dict.fromkeys(e.hash_id for e in events))


def _fire(trigger: Trigger, unit: str, exact: Decimal, at: datetime, events: tuple[str, ...],
          rule: str, notices: tuple[str, ...] = ()) -> Firing | None:
    """The firing for `exact` (hours or minutes), or None if no tier is reached; `rule` gets
    the tier's clause appended."""
    reached = trigger.tier_for(exact)
    if reached is None:
        return None
    n, tier = reached
    measure = exact.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    unit_word = "min" if trigger.type == "sensor" else "h"
    threshold = "" if trigger.type == "disposition" else (
        f" (at least {_shown(tier.at_least)} {unit_word})")
    sentence = f"{rule}: tier {n + 1}{threshold} pays {_shown(tier.share * 100)} %"
    return Firing(trigger.id, unit, n, tier.share, measure, at, events, notices, sentence)


def _delay(trigger: Trigger, unit: str, timed: list[Timed]) -> Firing | None:
    destination = trigger.params["destination"]
    promised = _instant(trigger.params["promisedArrival"])
    key = canonical(destination)
    arrival = next(((t, e) for t, e in timed if _at_key(e, key)), None)
    if arrival is None or promised is None:
        return None
    at, event = arrival
    hours = _per(at - promised, _HOUR)
    if trigger.tier_for(hours) is None:  # no tier reached: no sentence to write
        return None
    rule = (f"arrived at {destination} {_stamp(at)}, "
            f"{_shown(hours.quantize(_CENT, rounding=ROUND_HALF_EVEN))} h after the promised "
            f"{_stamp(promised)}")
    return _fire(trigger, unit, hours, at, _ids(event), rule)


def _leg_delay(trigger: Trigger, unit: str, timed: list[Timed]) -> Firing | None:
    origin, destination = trigger.params["from"], trigger.params["to"]
    scheduled = Decimal(trigger.params["scheduledHours"])
    origin_key, destination_key = canonical(origin), canonical(destination)
    arrival = next(((t, e) for t, e in timed if _at_key(e, destination_key)), None)
    if arrival is None:
        return None
    departure = None
    for t, e in timed:
        if t < arrival[0] and _at_key(e, origin_key):
            departure = (t, e)
    if departure is None:
        return None
    transit = _per(arrival[0] - departure[0], _HOUR)
    delay = transit - scheduled
    if trigger.tier_for(delay) is None:
        return None
    rule = (f"left {origin} {_stamp(departure[0])} and arrived at {destination} "
            f"{_stamp(arrival[0])}: {_shown(transit.quantize(_CENT, rounding=ROUND_HALF_EVEN))}"
            f" h in transit, {_shown(delay.quantize(_CENT, rounding=ROUND_HALF_EVEN))} h over "
            f"the scheduled {_shown(scheduled)} h")
    return _fire(trigger, unit, delay, arrival[0], _ids(departure[1], arrival[1]), rule)


def _stay(node: str, timed: list[Timed]) -> tuple[Timed, Timed, Timed] | None:
    """(first, last, leaving): the first stay at `node`, and the first event elsewhere after
    it; None while the unit has not been seen elsewhere since it arrived."""
    first = last = None
    key = canonical(node)
    for t, e in timed:
        if e.place == key:
            if first is None:
                first = (t, e)
            last = (t, e)
        elif first is not None and last is not None and e.place is not None:
            return first, last, (t, e)
    return None


def _dwell(trigger: Trigger, unit: str, timed: list[Timed]) -> Firing | None:
    node = trigger.params["node"]
    stay = _stay(node, timed)
    if stay is None:
        return None
    first, last, leaving = stay
    hours = _per(last[0] - first[0], _HOUR)
    if trigger.tier_for(hours) is None:
        return None
    rule = (f"stayed at {node} from {_stamp(first[0])} to {_stamp(last[0])} "
            f"({_shown(hours.quantize(_CENT, rounding=ROUND_HALF_EVEN))} h) and was next seen "
            f"at {leaving[1].where} {_stamp(leaving[0])}")
    return _fire(trigger, unit, hours, last[0], _ids(first[1], last[1], leaving[1]), rule)


def _disposition_word(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    for prefix in _DISPOSITION_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix):]
    return None if ":" in value else value


def _disposition(trigger: Trigger, unit: str, timed: list[Timed]) -> Firing | None:
    words, node = trigger.params["dispositions"], trigger.params.get("node")
    key = None if node is None else canonical(node)
    for t, e in timed:
        word = _disposition_word(e.event.get("disposition"))
        if word in words and (key is None or e.place == key):
            rule = f"recorded as {word} at {e.where or 'an unnamed place'} {_stamp(t)}"
            return _fire(trigger, unit, Decimal(0), t, _ids(e), rule)
    return None


def _measurement(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    for prefix in _MEASUREMENT_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


def _readings(trigger: Trigger, timed: list[Timed]) -> list[tuple[datetime, bool, int]]:
    """(time, out of range, the event's place in `timed`) of every reading of the
    measurement in the uom, by time."""
    kind, uom = trigger.params["measurement"], trigger.params["uom"]
    low, high = Decimal(trigger.params["min"]), Decimal(trigger.params["max"])
    found: list[tuple[datetime, int, int, bool]] = []
    for position, (event_time, e) in enumerate(timed):
        elements = e.event.get("sensorElementList")
        for element in elements if isinstance(elements, list) else ():
            if not isinstance(element, Mapping):
                continue
            meta = element.get("sensorMetadata")
            meta_time = _instant(meta.get("time")) if isinstance(meta, Mapping) else None
            reports = element.get("sensorReport")
            for report in reports if isinstance(reports, list) else ():
                if (not isinstance(report, Mapping) or report.get("uom") != uom
                        or _measurement(report.get("type")) != kind):
                    continue
                value = number(report.get("value"))
                values = [value] if value is not None else [
                    v for v in (number(report.get("minValue")), number(report.get("maxValue")))
                    if v is not None]
                if not values:
                    continue
                when = _instant(report.get("time")) or meta_time or event_time
                out = min(values) < low or max(values) > high
                found.append((when, position, len(found), out))
    found.sort()
    return [(when, out, position) for when, position, _, out in found]


def _sensor(trigger: Trigger, unit: str, timed: list[Timed]) -> Firing | None:
    readings = _readings(trigger, timed)
    best: tuple[timedelta, int, int] | None = None  # (length, first index, end index)
    n = 0
    while n < len(readings):
        if not readings[n][1]:
            n += 1
            continue
        start = n
        while n < len(readings) and readings[n][1]:
            n += 1
        end = n if n < len(readings) else n - 1
        length = readings[end][0] - readings[start][0]
        if best is None or length > best[0]:
            best = (length, start, end)
    if best is None:
        return None
    length, start, end = best
    minutes = _per(length, _MINUTE)
    if trigger.tier_for(minutes) is None:
        return None
    ended = readings[end][0]
    events = [timed[i][1] for i in sorted({i for _, _, i in readings[start:end + 1]})]
    p = trigger.params
    how = "to the next reading in range" if not readings[end][1] else "to its last reading"
    rule = (f"{p['measurement']} outside {p['min']} to {p['max']} {p['uom']} from "
            f"{_stamp(readings[start][0])} {how} {_stamp(ended)} "
            f"({_shown(minutes.quantize(_CENT, rounding=ROUND_HALF_EVEN))} min)")
    return _fire(trigger, unit, minutes, ended, _ids(*events), rule)


def _merged_hours(periods: list[tuple[datetime, datetime]]) -> Decimal:
    """Hours covered by the union of the periods."""
    total = timedelta(0)
    current: tuple[datetime, datetime] | None = None
    for start, end in sorted(periods):
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            total += current[1] - current[0]
        current = (start, end)
    if current is not None:
        total += current[1] - current[0]
    return _per(total, _HOUR)


def _notice(trigger: Trigger, unit: str, timed: list[Timed],
            notices: Sequence[Notice]) -> Firing | None:
    node, kinds = trigger.params["node"], trigger.params["kinds"]
    stay = _stay(node, timed)
    if stay is None:
        return None
    first, last, leaving = stay
    periods: list[tuple[datetime, datetime]] = []
    used: list[tuple[datetime, int, str]] = []
    for notice in notices:
        if notice.kind not in kinds or not _at(notice.node, node):
            continue
        start = max(notice.valid_from.astimezone(UTC), first[0])
        end = last[0] if notice.valid_until is None else min(
            notice.valid_until.astimezone(UTC), last[0])
        if end > start:
            periods.append((start, end))
            used.append((notice.valid_from, notice.log_index, notice.hash_id))
    if not periods:
        return None
    hours = _merged_hours(periods)
    if trigger.tier_for(hours) is None:
        return None
    rule = (f"stayed at {node} from {_stamp(first[0])} to {_stamp(last[0])}, "
            f"{_shown(hours.quantize(_CENT, rounding=ROUND_HALF_EVEN))} h of it under "
            f"{len(used)} notice{'s' if len(used) > 1 else ''} ({', '.join(kinds)})")
    ids = tuple(dict.fromkeys(h for _, _, h in sorted(used)))
    return _fire(trigger, unit, hours, last[0], _ids(first[1], last[1], leaving[1]), rule, ids)


def _evaluate_one(trigger: Trigger, unit: str, timed: list[Timed],
                  notices: Sequence[Notice]) -> Firing | None:
    if trigger.type == "delay":
        return _delay(trigger, unit, timed)
    if trigger.type == "leg_delay":
        return _leg_delay(trigger, unit, timed)
    if trigger.type == "dwell":
        return _dwell(trigger, unit, timed)
    if trigger.type == "disposition":
        return _disposition(trigger, unit, timed)
    if trigger.type == "sensor":
        return _sensor(trigger, unit, timed)
    if trigger.type == "notice":
        return _notice(trigger, unit, timed, notices)
    raise ValueError(f"unknown trigger type {trigger.type!r}")


def evaluate(terms: Terms, unit: str, events: Sequence[UnitEvent],
             notices: Sequence[Notice], bound_at: datetime | None = None) -> list[Firing]:
    """The firings of the policy's triggers for `unit`, in the order of the triggers.
    `bound_at`: the binding event's time; cover attaches then, so a trigger dated before it
    (a loss already known when binding) pays nothing."""
    if not any(same_item(u, unit) for u in terms.units):
        raise ValueError(f"{unit} is not a unit of this policy")
    timed = _timed(events_of_unit(unit, events))
    cover_from = terms.cover_from.astimezone(UTC)
    if bound_at is not None:
        cover_from = max(cover_from, bound_at.astimezone(UTC))
    cover_until = terms.cover_until.astimezone(UTC)
    firings = []
    for trigger in terms.triggers:
        firing = _evaluate_one(trigger, unit, timed, notices)
        if firing is not None and cover_from <= firing.at <= cover_until:
            firings.append(firing)
    return firings
