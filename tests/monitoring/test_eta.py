"""The forecast service on a real SQLite node with the demo loaded: the first pass learns and
forecasts every unit in transit, a pass with nothing new does nothing, an event refreshes
only the units it touches, a posted notice refreshes the units near its node, and a stay over
its node's p90 is an alert once."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.demo import load_demo
from corridor.monitoring.eta import EtaService, Forecasts
from corridor.monitoring.journeys import Journey
from corridor.store.db import Connection, Database


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, Connection]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("eta")))
    load_demo(settings, shipments=40)
    db = Database(settings.db_url)
    conn = db.connect()
    yield db, conn
    conn.close()


def test_the_first_pass_forecasts_every_unit_in_transit(node) -> None:
    db, conn = node
    service = EtaService(db, cache_key="eta-first")
    done = service.refresh(conn)
    assert done is not None and done.relearned and not done.alerts  # priming: no alerts
    state = service.state
    moving = state.in_transit()
    assert moving and set(state.forecasts) == set(moving)
    for unit in moving:
        found = state.forecasts[unit]
        assert found is not None and found.p10 <= found.p50 <= found.p90
        assert found.as_of == state.journeys[unit].last_event and found.basis
    assert service.refresh(conn) is None  # nothing new
    ended = next(u for u, j in state.journeys.items() if j.ended)
    assert service.eta(conn, ended).status == "ended"
    assert service.eta(conn, "https://id.gs1.org/00/000000000000000000") is None
    eta = service.eta(conn, moving[0])
    assert eta.status == "in_transit" and eta.event.startswith("ni:///")


def _in_transit(history: list[Journey], count: int) -> list[Journey]:
    ended = [j for j in history if j.ended and len(j.stops) > 2]
    out = []
    for i in range(count):
        j = ended[i % len(ended)]
        stops = tuple(replace(s, final=False) for s in j.stops[:1 + i % (len(j.stops) - 2)])
        out.append(Journey(f"{j.unit}/{i}", stops, stops[-1].left))
    return out


def test_refresh_touches_what_it_is_asked_and_slips_are_alerts(node) -> None:
    db, conn = node
    service = EtaService(db, cache_key="eta-slip")
    service.refresh(conn)
    state: Forecasts = service.state
    units = _in_transit(list(state.journeys.values()), 50)
    for j in units:
        state.set_journey(j, leaving=False)
    names = [j.unit for j in units]
    assert state.refresh(names, []) == []
    assert all(state.forecasts[u] is not None for u in names)
    # the unit is seen again at the same place much later: its arrival moves later
    j = units[0]
    last = j.stops[-1]
    later = replace(last, left=last.left + timedelta(days=20), events=last.events + 1)
    state.set_journey(Journey(j.unit, (*j.stops[:-1], later), later.left), leaving=False)
    before = state.forecasts[j.unit]
    alerts = state.refresh([j.unit], [], lambda u: ("ni:///x", later.left, None))
    assert [(a.unit, a.kind, a.before) for a in alerts] == [(j.unit, "p50-slip", before.p50)]
    assert alerts[0].after > before.p50 and alerts[0].slip_hours > 0


def test_a_stay_over_the_node_p90_is_an_alert_once(node) -> None:
    db, conn = node
    service = EtaService(db, cache_key="eta-dwell")
    service.refresh(conn)
    state = service.state
    j = _in_transit(list(state.journeys.values()), 1)[0]
    state.set_journey(j, leaving=False)
    state.refresh([j.unit], [])
    stop = j.stops[-1]
    p90 = state.node_p90[stop.key]
    cause = lambda u: ("ni:///y", stop.left, None)
    assert state.dwell_alerts(stop.arrived + timedelta(hours=p90 / 2), cause) == []
    late = stop.arrived + timedelta(hours=p90 + 1)
    found = state.dwell_alerts(late, cause)
    assert [(a.unit, a.kind, a.node) for a in found] == [(j.unit, "dwell-over-p90", stop.key)]
    assert found[0].dwell_hours > found[0].p90_hours == p90
    assert state.dwell_alerts(late + timedelta(hours=5), cause) == []  # once per stay
    state.set_journey(j, leaving=True)  # left the node: on a leg, no dwell
    assert state.dwell_alerts(late + timedelta(days=5), cause) == []


def test_the_corridor_page_lists_the_forecasts_a_party_may_see(node) -> None:
    """The corridor page's forecasts: a shipper's units in transit, none for the public's
    stand-in (a party that is named in no event)."""
    from corridor.demo.actors import ACTOR_BY_SLUG
    from corridor.query import Viewer
    from corridor.web.corridor_page import visible_forecasts
    from corridor.web.session import Session

    db, conn = node
    service = EtaService(db, cache_key="eta-page")
    smelter = ACTOR_BY_SLUG["smelter"].pgln
    row = conn.fetchone("SELECT id FROM parties WHERE identifier = ?", (smelter,))
    shown, in_transit = visible_forecasts(
        conn, Session(Viewer(int(row[0]), (smelter,), "member"), "smelter"), service)
    assert in_transit == len(service.state.in_transit()) > 0
    assert shown and all(f.p10 <= f.p50 <= f.p90 for f in shown)
    assert [f.p50 for f in shown] == sorted(f.p50 for f in shown)
    nobody = Session(Viewer(999_999, ("urn:epc:id:pgln:0000000.00000",), "member"), "x")
    assert visible_forecasts(conn, nobody, service) == ([], in_transit)
    # the corridor-wide figure: every unit in transit counted once, by destination
    arrivals = service.arrivals(conn)
    assert sum(a.units for a in arrivals) == in_transit
    assert all(a.first <= a.median <= a.last for a in arrivals)
