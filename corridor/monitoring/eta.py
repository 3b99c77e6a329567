"""Forecasts served and kept fresh (docs/monitoring.md, "Forecasts served and alerts").

An EtaService keeps, for one node, the latest forecast (corridor.monitoring.forecast) of every
unit in transit. A pass reads the dashboard's unit index (extended, not rebuilt, as events
arrive) and:

  - rebuilds the journeys of the units the new events touch, and refreshes their forecasts;
  - relearns the model from every journey once the ended journeys (the history legs are
    learned from) grew by a tenth (and at least RELEARN_MIN) since it last learned, and then
    refreshes every unit; a notice posted or changed refreshes every unit too;
  - raises alerts (corridor.monitoring.eta_alerts): a unit's p50 slipped (an event or a notice
    moved it later; a relearn moves baselines silently), or its stay at a node passed the
    node's p90 of stays. "Now" is the newest event's time, the corridor's clock
    (corridor.monitoring.legs), so a store of past events reads the same on any day.

The first pass primes: it forecasts and notes the stays already over p90 without alerting, so
a restart does not repeat alerts. A unit's destination is the `location` entry of a
destinationList of its events (the newest such event's), else the forecast's usual end.
Passes run in a background thread (a BackgroundPass the app starts in its lifespan) and before a
read (`eta`), so an answer is never older than the events stored.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from corridor.epcis.identifiers import SSCC_KEY_PREFIX
from corridor.monitoring.eta_alerts import Alert, enqueue_alerts
from corridor.monitoring.forecast import Forecast, Model, forecast
from corridor.monitoring.journeys import Journey, instant, journey_of
from corridor.monitoring.legs import LEAVING_STEPS, samples, statistics
from corridor.monitoring.notices import Notice
from corridor.query.dashboard import UnitIndex, unit_index
from corridor.query.places import Places, stored_places
from corridor.store.db import Connection, Database
from corridor.store.notices import notices_for

RELEARN_GROWTH = 0.10  # relearn when the ended journeys grew by this share...
RELEARN_MIN = 20  # ...and by at least this many
# Draws per forecast: forecast() costs about linearly in them, and 200 keep 10,000 units
# within about a second on one core; p10 and p90 of 200 draws move by a few ranks.
SAMPLES = 200
RECENT_ALERTS = 10_000  # kept for WebSocket listeners
_ALL_NOTICES = 2**62
Cause = tuple[str, datetime, int | None]  # (event id, its time, its row or None)


@dataclass
class Forecasts:
    """The in-memory part, free of the store: journeys, destinations, the model and the
    latest forecast of each unit in transit. Not thread-safe (EtaService locks around it)."""

    samples: int = SAMPLES
    journeys: dict[str, Journey] = field(default_factory=dict)
    destinations: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    forecasts: dict[str, Forecast | None] = field(default_factory=dict)  # units in transit
    leaving: set[str] = field(default_factory=set)  # units whose newest event left a place
    model: Model | None = None
    learned_from: int = 0  # ended journeys when last learned
    node_p90: dict[str, float] = field(default_factory=dict)  # hours of stay, by place key
    dwelt: set[tuple[str, str, datetime]] = field(default_factory=set)  # alerted stays

    def ended(self) -> int:
        return sum(1 for j in self.journeys.values() if j.ended)

    def wants_relearn(self) -> bool:
        grown = self.ended() - self.learned_from
        return self.model is None or grown >= max(RELEARN_MIN,
                                                  RELEARN_GROWTH * self.learned_from)

    def learn(self, notices: Sequence[Notice], places: Places | None = None) -> None:
        every = list(self.journeys.values())
        self.model = Model.learn(every, notices, places=places)
        self.learned_from = sum(1 for j in every if j.ended)
        nodes = statistics(samples(every)).nodes
        self.node_p90 = {k: f.p90 for k, f in nodes.items() if f.p90 is not None}

    def set_journey(self, journey: Journey, leaving: bool) -> None:
        self.journeys[journey.unit] = journey
        if leaving:
            self.leaving.add(journey.unit)
        else:
            self.leaving.discard(journey.unit)

    def in_transit(self) -> list[str]:
        return [u for u, j in self.journeys.items() if not j.ended]

    def near(self, nodes: set[str]) -> list[str]:
        """The units in transit a notice at one of these nodes may move: at one, bound
        through one, or with no forecast yet."""
        out = []
        for unit in self.in_transit():
            found = self.forecasts.get(unit)
            journey = self.journeys[unit]
            if found is None or journey.stops[-1].key in nodes \
                    or not nodes.isdisjoint(found.remaining):
                out.append(unit)
        return out

    def refresh(self, units: Iterable[str], notices: Sequence[Notice],
                cause: Callable[[str], Cause] | None = None) -> list[Alert]:
        """Forecast these units again; with `cause`, a p50 slip is an alert caused by
        cause(unit)."""
        alerts: list[Alert] = []
        model = self.model
        for unit in units:
            journey = self.journeys.get(unit)
            if journey is None or journey.ended or model is None:
                self.forecasts.pop(unit, None)
                continue
            dest = self.destinations.get(unit)
            new = forecast(model, journey, notices, destination=dest[1] if dest else None,
                           samples=self.samples)
            old = self.forecasts.get(unit)
            self.forecasts[unit] = new
            if cause is not None and old is not None and new is not None \
                    and new.p50 > old.p50:
                event, when, pk = cause(unit)
                alerts.append(Alert(unit, "p50-slip", event, when, pk, before=old.p50,
                                    after=new.p50))
        return alerts

    def dwell_alerts(self, now: datetime, cause: Callable[[str], Cause] | None
                     ) -> list[Alert]:
        """Units at a node (not left it) for longer than the node's p90 of stays, once per
        stay; without `cause` the stays are noted only (priming)."""
        alerts: list[Alert] = []
        for unit in self.forecasts:
            journey = self.journeys[unit]
            if unit in self.leaving or not journey.stops:
                continue
            stop = journey.stops[-1]
            p90 = self.node_p90.get(stop.key)
            hours = (now - stop.arrived).total_seconds() / 3600
            mark = (unit, stop.key, stop.arrived)
            if p90 is None or hours <= p90 or mark in self.dwelt:
                continue
            self.dwelt.add(mark)
            if cause is not None:
                event, when, pk = cause(unit)
                alerts.append(Alert(unit, "dwell-over-p90", event, when, pk, node=stop.key,
                                    dwell_hours=hours, p90_hours=p90))
        return alerts


@dataclass(frozen=True)
class PassResult:
    units: int  # forecasts refreshed
    relearned: bool
    alerts: tuple[Alert, ...]
    seconds: float


@dataclass(frozen=True)
class Arrivals:
    destination: str  # place key
    units: int  # in transit, heading there
    first: datetime  # the earliest p10
    median: datetime  # the median of their p50s
    last: datetime  # the latest p90


@dataclass(frozen=True)
class Eta:
    """What a node says of a unit's arrival: a forecast, or why there is none."""

    unit: str
    status: str  # "in_transit" | "ended" | "no_history"
    forecast: Forecast | None
    reason: str | None
    event: str | None  # eventID of the newest event the answer rests on


def _new_units(conn: Connection, after: int) -> set[str]:
    """The SSCCs of the events stored after row `after`."""
    return {r[0] for r in conn.fetchall(
        "SELECT DISTINCT epc FROM event_epcs WHERE event_pk > ? AND role IN ('epc', 'parent')"
        " AND epc LIKE ?", (after, SSCC_KEY_PREFIX + "%"))}


def _destinations(conn: Connection, after: int) -> list[tuple[str, str, str]]:
    """(unit, event time, location key) of the location destinations of events after row
    `after` (destinationList entries of type location, stored in event_parties)."""
    return [(r[0], r[1], r[2]) for r in conn.fetchall(
        "SELECT x.epc, e.event_time, p.value FROM event_parties p"
        " JOIN events e ON e.id = p.event_pk"
        " JOIN event_epcs x ON x.event_pk = p.event_pk AND x.role IN ('epc', 'parent')"
        " WHERE p.event_pk > ? AND p.path = 'destination:location' AND x.epc LIKE ?",
        (after, SSCC_KEY_PREFIX + "%"))]


def _event_ids(conn: Connection, pks: Collection[int]) -> dict[int, str]:
    if not pks:
        return {}
    marks = ",".join("?" * len(pks))
    return {int(r[0]): r[1] for r in conn.fetchall(
        f"SELECT id, event_id FROM events WHERE id IN ({marks})", list(pks))}


class EtaService:
    def __init__(self, db: Database, *, cache_key: str | None = None, samples: int = SAMPLES,
                 on_alerts: Callable[[Sequence[Alert]], None] | None = None) -> None:
        self.db = db
        self.cache_key = cache_key if cache_key is not None else db.url
        self.on_alerts = on_alerts
        # Whether alerts go to the subscriptions' outbox from this node: with several nodes
        # on one database, only the log's sequencer queues them (each still keeps its own).
        self.queues_alerts: Callable[[], bool] = lambda: True
        self.state = Forecasts(samples=samples)
        self.lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self._places: Places | None = None
        self._notices: tuple[str, ...] | None = None
        self._notice_list: list[Notice] = []
        self.recent: deque[tuple[int, Alert]] = deque(maxlen=RECENT_ALERTS)
        # in_transit's answer, kept until a pass changes the forecasts
        self._ordered: list[tuple[Forecast, int]] | None = None
        self._arrivals: list[Arrivals] | None = None
        self._seq = 0

    # -- passes -----------------------------------------------------------------------------

    def refresh(self, conn: Connection) -> PassResult | None:
        """One pass: None when no event and no notice was stored since the last one."""
        with self.lock:
            index = unit_index(conn, self.cache_key)
            notices = notices_for(conn, _ALL_NOTICES)
            notice_key = tuple(n.hash_id for n in notices)
            if index.stamp == self._stamp and notice_key == self._notices:
                return None
            started = time.perf_counter()
            result = self._pass(conn, index, notices, notice_key)
            self._ordered = self._arrivals = None  # the forecasts changed
            alerts = self._deliver(conn, result.alerts) if result.alerts else ()
            return PassResult(result.units, result.relearned, alerts,
                              time.perf_counter() - started)

    def _pass(self, conn: Connection, index: UnitIndex, notices: list[Notice],
              notice_key: tuple[str, ...]) -> PassResult:
        places = stored_places(conn)
        first = (self._stamp is None or places != self._places
                 or index.stamp[0] < self._stamp[0])  # a new or replaced store
        if first:
            self.state = Forecasts(samples=self.state.samples)
            self._stamp = (0, 0)
        assert self._stamp is not None
        after = self._stamp[0]
        touched = set(index.by_unit) if first else _new_units(conn, after) & set(index.by_unit)
        self._read_destinations(conn, after, places)
        for unit in touched:
            self._rebuild(index, unit, places)
        state = self.state
        notices_changed = notice_key != self._notices
        relearned = state.wants_relearn()
        if relearned:
            state.learn(notices, places)
        causes = {u: index.by_unit[u][0] for u in touched}
        cause = None if first else self._cause_of(causes, notices if notices_changed else [])
        if relearned:
            units: Iterable[str] = state.in_transit()
            cause = None
        elif notices_changed:
            units = touched | set(state.near(self._noticed_nodes(notices)))
        else:
            units = touched
        units = list(units)
        alerts = state.refresh(units, notices, cause)
        if index.newest:
            alerts += state.dwell_alerts(instant(index.newest[0][0]), None if first else
                                         self._cause_of(self._latest(index), []))
        self._stamp, self._places, self._notices = index.stamp, places, notice_key
        self._notice_list = notices
        return PassResult(len(units), relearned, tuple(alerts), 0.0)

    def _noticed_nodes(self, notices: list[Notice]) -> set[str]:
        """The stop keys of the notices posted or withdrawn since the last pass."""
        before = {n.hash_id: n for n in self._notice_list}
        now = {n.hash_id: n for n in notices}
        changed = [n for k, n in {**before, **now}.items() if (k in before) != (k in now)]
        model = self.state.model
        return {model.node_key(n.node) if model is not None else n.node for n in changed}

    def _latest(self, index: UnitIndex) -> dict[str, tuple[str, int]]:
        return {u: index.by_unit[u][0] for u in self.state.forecasts if index.by_unit.get(u)}

    @staticmethod
    def _cause_of(events: dict[str, tuple[str, int]], notices: Sequence[Notice]
                  ) -> Callable[[str], Cause]:
        """A refresh after new notices is caused by the newest one; else by the unit's newest
        event (its id is looked up once the alerts are known)."""
        newest = max(notices, key=lambda n: n.log_index) if notices else None

        def cause(unit: str) -> Cause:
            if newest is not None:
                return newest.hash_id, newest.valid_from, None
            when, pk = events[unit]
            return "", instant(when), pk

        return cause

    def _rebuild(self, index: UnitIndex, unit: str, places: Places) -> None:
        facts = index.facts
        found = [facts[pk] for _, pk in index.by_unit[unit] if pk in facts]
        journey = journey_of(unit, found, places)
        if journey is None:
            return
        newest = max(found, key=lambda f: (f[1], f[0]))
        self.state.set_journey(journey, newest[2] in LEAVING_STEPS)

    def _read_destinations(self, conn: Connection, after: int, places: Places) -> None:
        kept = self.state.destinations
        for unit, when_text, location in _destinations(conn, after):
            when = instant(when_text)
            if unit in kept and kept[unit][0] > when:
                continue
            place = places.at(location, None)
            kept[unit] = (when, place.key if place is not None else location)

    def _deliver(self, conn: Connection, alerts: Sequence[Alert]) -> tuple[Alert, ...]:
        ids = _event_ids(conn, {a.event_pk for a in alerts if a.event_pk is not None})
        done = tuple(Alert(**{**a.__dict__, "event": ids.get(a.event_pk, a.event)})
                     if a.event_pk is not None else a for a in alerts)
        if self.queues_alerts():
            enqueue_alerts(conn, done)
        for alert in done:
            self._seq += 1
            self.recent.append((self._seq, alert))
        if self.on_alerts is not None:
            self.on_alerts(done)
        return done

    # -- reads ------------------------------------------------------------------------------

    def alerts_after(self, seq: int) -> tuple[int, list[Alert]]:
        """The alerts raised after sequence number `seq`, and the newest number."""
        with self.lock:
            return self._seq, [a for s, a in self.recent if s > seq]

    def in_transit(self, conn: Connection) -> list[tuple[Forecast, int]]:
        """The latest forecast of every unit in transit, with the row of its newest event (for
        the caller's visibility check), soonest p50 first."""
        with self.lock:
            self.refresh(conn)
            if self._ordered is None:
                index = unit_index(conn, self.cache_key)
                found = [(f, index.by_unit[u][0][1]) for u, f in self.state.forecasts.items()
                         if f is not None and index.by_unit.get(u)]
                self._ordered = sorted(found, key=lambda pair: (pair[0].p50, pair[0].unit))
            return self._ordered

    def arrivals(self, conn: Connection) -> list[Arrivals]:
        """Per destination, the units in transit heading there and when they should arrive:
        the earliest p10, the median p50 and the latest p90 of their forecasts; most units
        first. A corridor-wide figure, like the legs' statistics."""
        ordered = self.in_transit(conn)
        with self.lock:
            if self._arrivals is None:
                by_place: dict[str, list[Forecast]] = {}
                for f, _ in ordered:  # by p50: each list's middle is its median
                    by_place.setdefault(f.destination, []).append(f)
                found = [Arrivals(place, len(fs), min(f.p10 for f in fs), fs[len(fs) // 2].p50,
                                  max(f.p90 for f in fs)) for place, fs in by_place.items()]
                self._arrivals = sorted(found, key=lambda a: (-a.units, a.destination))
            return self._arrivals

    def eta(self, conn: Connection, unit: str) -> Eta | None:
        """The forecast of a unit (its canonical key) as of every event stored; None for a
        unit with no event that places it."""
        with self.lock:
            self.refresh(conn)
            journey = self.state.journeys.get(unit)
            if journey is None:
                return None
            index = unit_index(conn, self.cache_key)
            newest = index.by_unit[unit][0][1] if index.by_unit.get(unit) else None
            found = self.state.forecasts.get(unit)
        event = _event_ids(conn, [newest]).get(newest) if newest is not None else None
        if journey.ended:
            return Eta(unit, "ended", None, "the unit's journey has ended: its last event"
                       " (unpacking, or its aggregation dissolved) ends it", event)
        if found is None:
            return Eta(unit, "no_history", None, "no journey stored has gone on from where"
                       " this unit stands: there is no history to forecast from", event)
        return Eta(unit, "in_transit", found, None, event)


# One service per database (the API, the dashboard and the lifespan's runner share it).
_SERVICES: dict[str, EtaService] = {}
_services_lock = threading.Lock()


def eta_service(db: Database) -> EtaService:
    with _services_lock:
        found = _SERVICES.get(db.url)
        if found is None:
            found = _SERVICES[db.url] = EtaService(db)
        return found
