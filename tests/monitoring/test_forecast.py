"""Arrival forecasts (corridor.monitoring.forecast) on a made-up corridor A -> B -> C that the
demo does not have, with histories simple enough to work the quantiles out by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from corridor.epcis.identifiers import canonical
from corridor.monitoring.forecast import Model, forecast
from corridor.monitoring.forecast_draws import near
from corridor.monitoring.journeys import Journey, Stop
from corridor.monitoring.notices import Notice
from corridor.query.places import Place, Places

A_SGLN, B_SGLN, C_SGLN = ("urn:epc:id:sgln:0614141.00001.0", "urn:epc:id:sgln:0614141.00002.0",
                          "urn:epc:id:sgln:0614141.00003.0")
A, B, C = canonical(A_SGLN), canonical(B_SGLN), canonical(C_SGLN)
T0 = datetime(2025, 3, 3, 6, tzinfo=UTC)


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def past(n: int, start: datetime, *, leg_ab: float = 10, stay_b: float = 4, leg_bc: float = 6,
         b_events: int = 3) -> Journey:
    """An ended journey: 2 h at A (2 events), the legs and stay given, ended at C."""
    t = start
    stops = [Stop(A, t, t + h(2), False, 2)]
    t += h(2 + leg_ab)
    stops.append(Stop(B, t, t + h(stay_b), False, b_events))
    t += h(stay_b + leg_bc)
    stops.append(Stop(C, t, t + h(1), True, 2))
    return Journey(f"urn:epc:id:sscc:0614141.{n:010d}", tuple(stops), t + h(1))


def at_a(start: datetime = T0 + timedelta(days=60)) -> Journey:
    """A unit that has had its 2 events at A (2 h apart)."""
    return Journey("urn:epc:id:sscc:0614141.9999999999", (Stop(A, start, start + h(2), False,
                                                                 2),), start + h(2))


def history(count: int = 8, **kw: float) -> list[Journey]:
    return [past(i, T0 + timedelta(days=i), **kw) for i in range(count)]


def test_fixed_legs_and_stays_give_one_arrival() -> None:
    model = Model.learn(history())
    unit = at_a()
    f = forecast(model, unit)
    assert f is not None
    # every past stay at A ended with its 2nd event: left now; then 10 h + 4 h + 6 h
    expected = unit.last_event + h(20)
    assert (f.p10, f.p50, f.p90) == (expected, expected, expected)
    assert f.destination == C and f.remaining == (B, C) and f.as_of == unit.last_event
    assert any("where 8 of 8 past journeys" in line for line in f.basis)
    assert any(f"leg {A} -> {B}: 8 past samples, median 10 h" in line for line in f.basis)


def test_the_current_stay_draws_from_longer_past_stays() -> None:
    # stays at B of 2, 4, ..., 40 h, each with 3 events
    model = Model.learn([past(i, T0 + timedelta(days=i), stay_b=2 * (i + 1))
                         for i in range(20)])
    arrived = T0 + timedelta(days=60)
    unit = Journey("urn:epc:id:sscc:0614141.0000000077",
                   (Stop(A, arrived - h(12), arrived - h(10), False, 2),
                    Stop(B, arrived, arrived + h(29), False, 2)), arrived + h(29))
    f = forecast(model, unit)
    assert f is not None
    # 29 h spent, 2 events: the stays of 30, 32, ..., 40 h are left, a sixth each: 1, 3, ...
    # 11 h to go, then the 6 h leg to C
    last = unit.last_event
    assert (f.p10, f.p50, f.p90) == (last + h(7), last + h(12), last + h(17))
    assert any("the rest from 6 past stays" in line for line in f.basis)
    assert f.remaining == (C,)


def test_a_stay_that_ended_with_as_many_events_may_be_over() -> None:
    model = Model.learn(history())
    arrived = T0 + timedelta(days=60)
    unit = Journey("urn:epc:id:sscc:0614141.0000000078",
                   (Stop(A, arrived - h(12), arrived - h(10), False, 2),
                    Stop(B, arrived, arrived + h(4), False, 3)), arrived + h(4))
    f = forecast(model, unit)
    assert f is not None and f.p50 == unit.last_event + h(6)


def test_time_without_an_event_is_taken_into_account() -> None:
    model = Model.learn(history())
    unit = at_a()
    last = unit.last_event
    soon = forecast(model, unit, now=last + h(5))
    assert soon is not None and soon.p50 == last + h(20) and soon.as_of == last
    # overdue: every draw had it at B after 10 h; 2 h late, so is the arrival
    late = forecast(model, unit, now=last + h(12))
    assert late is not None and late.p50 == last + h(22)


def _notice(start: datetime, until: datetime | None) -> Notice:
    return Notice("n1", 1, B_SGLN, "load_cut", start, until)


def test_a_notice_in_force_draws_from_stays_under_notices() -> None:
    calm = history(10)
    held_from = T0 + timedelta(days=20)
    held = [past(20 + i, held_from + timedelta(days=i), stay_b=50) for i in range(5)]
    notices = [_notice(held_from, held_from + timedelta(days=6))]
    model = Model.learn([*calm, *held], notices)
    unit = at_a()
    without = forecast(model, unit)
    now_on = _notice(unit.last_event - timedelta(days=1), None)
    under = forecast(model, unit, [now_on])
    assert without is not None and under is not None
    # without a notice every past stay counts (10 of 4 h, 5 of 50 h): the median is 4 h
    assert without.p50 == unit.last_event + h(20)
    assert (under.p10, under.p50, under.p90) == (unit.last_event + h(66),) * 3
    assert any("notice at" in line and "load_cut" in line for line in under.basis)
    # a notice over before the unit gets there changes nothing
    over = _notice(unit.last_event - timedelta(days=3), unit.last_event + h(1))
    after = forecast(model, unit, [over])
    assert after is not None and (after.p10, after.p50, after.p90) == (without.p10, without.p50,
                                                                     without.p90)


def test_notices_find_a_place_by_its_key() -> None:
    places = Places([Place("b", "Port B", "", "", None, None, B_SGLN, B)])
    keyed = [Journey(j.unit, tuple(Stop("b" if s.key == B else s.key, s.arrived, s.left,
                                        s.final, s.events) for s in j.stops), j.last_event)
             for j in [*history(6), *(past(20 + i, T0 + timedelta(days=20 + i), stay_b=50)
                                      for i in range(5))]]
    notice = _notice(T0 + timedelta(days=20), T0 + timedelta(days=26))
    model = Model.learn(keyed, [notice], places=places)
    assert sum(s.noticed for s in model.stays["b"]) == 5
    unit = at_a()
    f = forecast(model, unit, [_notice(unit.last_event, None)])
    assert f is not None and f.p50 == unit.last_event + h(66) and f.remaining == ("b", C)


def test_no_forecast_once_the_journey_ended_or_without_history() -> None:
    model = Model.learn(history())
    assert forecast(model, history(1)[0]) is None
    assert forecast(Model.learn([]), at_a()) is None
    assert forecast(model, at_a(), destination=canonical("urn:epc:id:sgln:0614141.00009.0")) \
        is None


def test_at_the_destination_the_arrival_is_known() -> None:
    model = Model.learn(history())
    unit = Journey("urn:epc:id:sscc:0614141.0000000079",
                   (Stop(A, T0, T0 + h(2), False, 2), Stop(B, T0 + h(12), T0 + h(13), False, 2)),
                   T0 + h(13))
    f = forecast(model, unit, destination=B)
    assert f is not None and (f.p10, f.p50, f.p90) == (T0 + h(12),) * 3 and f.remaining == ()


def test_few_samples_are_widened_and_said() -> None:
    model = Model.learn(history(3))
    f = forecast(model, at_a())
    assert f is not None
    assert f.p10 < f.p50 < f.p90
    assert any("fewer than 5: drawn wider" in line for line in f.basis)


def test_forecasts_are_deterministic() -> None:
    spread = [past(i, T0 + timedelta(days=i), leg_ab=8 + i % 5, stay_b=3 + (i * 7) % 11,
                   leg_bc=5 + (i * 3) % 4) for i in range(30)]
    first = forecast(Model.learn(spread), at_a())
    again = forecast(Model.learn(spread), at_a())
    assert first is not None and first == again
    assert first.p10 < first.p90


def _stop(key: str, arrived: datetime, hours: float, steps: tuple[str, ...],
          final: bool = False) -> Stop:
    return Stop(key, arrived, arrived + h(hours), final, len(steps), frozenset(steps))


def _stepped(n: int, start: datetime, stay_b: float, b_steps: tuple[str, ...]) -> Journey:
    """An ended journey A -> B -> C with the bizSteps of its stay at B given."""
    t = start
    stops = [_stop(A, t, 2, ("shipping", "departing"))]
    t += h(12)
    stops.append(_stop(B, t, stay_b, b_steps))
    t += h(stay_b + 6)
    stops.append(_stop(C, t, 1, ("arriving", "unpacking"), final=True))
    return Journey(f"urn:epc:id:sscc:0614141.{n:010d}", tuple(stops), t + h(1))


def test_a_held_stay_draws_from_past_held_stays() -> None:
    calm = ("arriving", "loading", "departing")
    held = ("arriving", "holding", "loading", "departing")
    model = Model.learn([*(_stepped(i, T0 + timedelta(days=i), 4, calm) for i in range(20)),
                         *(_stepped(40 + i, T0 + timedelta(days=i), 50, held)
                           for i in range(6))])
    arrived = T0 + timedelta(days=60)

    def at_b(steps: tuple[str, ...]) -> Journey:
        return Journey("urn:epc:id:sscc:0614141.0000000080",
                       (_stop(A, arrived - h(12), 2, ("shipping", "departing")),
                        _stop(B, arrived, 1, steps)), arrived + h(1))

    f = forecast(model, at_b(("arriving", "holding")))
    assert f is not None
    # only the held stays (50 h) had a holding: 49 h to go, then the 6 h leg to C
    assert (f.p10, f.p50, f.p90) == (arrived + h(56),) * 3
    assert any("6 with arriving, holding" in line for line in f.basis)
    # without a holding so far, every past stay counts (20 of 4 h, 6 of 50 h)
    plain = forecast(model, at_b(("arriving", "loading")))
    assert plain is not None and plain.p50 == arrived + h(1 + 3 + 6)


def test_a_notice_further_on_reaches_the_draws_through_the_route_on() -> None:
    d_sgln = "urn:epc:id:sgln:0614141.00004.0"
    d = canonical(d_sgln)

    def four(n: int, start: datetime, stay_c: float) -> Journey:
        t = start
        stops = [Stop(A, t, t + h(2), False, 2)]
        t += h(12)
        stops.append(Stop(B, t, t + h(4), False, 2))
        t += h(10)
        stops.append(Stop(C, t, t + h(stay_c), False, 2))
        t += h(stay_c + 8)
        stops.append(Stop(d, t, t + h(1), True, 2))
        return Journey(f"urn:epc:id:sscc:0614141.{n:010d}", tuple(stops), t + h(1))

    held_from = T0 + timedelta(days=20)
    notice = Notice("n1", 1, C_SGLN, "load_cut", held_from, held_from + timedelta(days=6))
    model = Model.learn([*(four(i, T0 + timedelta(days=i), 4) for i in range(10)),
                         *(four(20 + i, held_from + timedelta(days=i), 50) for i in range(5))],
                        [notice])
    unit = at_a()
    calm = forecast(model, unit)
    under = forecast(model, unit, [Notice("n2", 2, C_SGLN, "load_cut",
                                          unit.last_event, None)])
    assert calm is not None and under is not None
    assert calm.p50 == unit.last_event + h(10 + 4 + 6 + 4 + 8)
    assert under.p50 == calm.p50 + h(46) and under.remaining == (B, C, d)


def test_a_loop_in_history_is_cut_short() -> None:
    looped = []
    for i in range(6):
        t = T0 + timedelta(days=i)
        stops = (Stop(A, t, t + h(1), False, 1), Stop(B, t + h(5), t + h(6), False, 1),
                 Stop(A, t + h(10), t + h(11), False, 1), Stop(B, t + h(15), t + h(16), False, 1),
                 Stop(C, t + h(20), t + h(21), True, 1))
        looped.append(Journey(f"urn:epc:id:sscc:0614141.{i:010d}", stops, t + h(21)))
    model = Model.learn([*looped, *history(6)])
    f = forecast(model, at_a(), destination=C)
    assert f is not None and f.remaining == (B, C) and f.p10 <= f.p50 <= f.p90


def test_the_season_window_reaches_across_the_new_year() -> None:
    doys = [1.0, 10.0, 100.0, 350.0, 364.0]
    assert near(doys, doys, 5.0, 20.0) == [1.0, 10.0, 364.0]
    assert near(doys, doys, 360.0, 10.0) == [350.0, 364.0, 1.0]
    assert near(doys, doys, 100.0, 200.0) == doys


def test_after_a_step_the_stay_draws_from_past_stays_timed_from_that_step() -> None:
    # at B: loaded 4 h (10 stays) or 40 h (10 stays) after arriving, left 2 h after loading
    def loaded(n: int, after: float) -> Journey:
        j = _stepped(n, T0 + timedelta(days=n), after + 2, ("arriving", "loading", "departing"))
        a, b, c = j.stops
        timed = replace(b, firsts=(("arriving", b.arrived), ("loading", b.arrived + h(after)),
                                   ("departing", b.left)))
        return replace(j, stops=(a, timed, c))

    model = Model.learn([*(loaded(i, 4) for i in range(10)),
                         *(loaded(20 + i, 40) for i in range(10))])
    arrived = T0 + timedelta(days=60)
    steps = (("arriving", arrived), ("loading", arrived + h(4)))
    stop = Stop(B, arrived, arrived + h(4), False, 2, frozenset(s for s, _ in steps), steps)
    unit = Journey("urn:epc:id:sscc:0614141.0000000080",
                   (_stop(A, arrived - h(12), 2, ("shipping", "departing")), stop),
                   arrived + h(4))
    f = forecast(model, unit)
    assert f is not None
    # every past stay left 2 h after its loading: then the 6 h leg to C
    assert (f.p10, f.p50, f.p90) == (arrived + h(4 + 2 + 6),) * 3
    assert any("timed from their first loading" in line and "0 h since its first loading"
               in line for line in f.basis)
    # without the first times, the whole stays: 2 h or 38 h more
    whole = forecast(model, replace(unit, stops=(unit.stops[0], replace(stop, firsts=()))))
    assert whole is not None
    assert (whole.p10, whole.p90) == (arrived + h(4 + 2 + 6), arrived + h(4 + 38 + 6))


def test_a_step_at_the_arrival_or_seen_in_few_past_stays_times_the_whole_stay() -> None:
    calm = ("arriving", "loading", "departing")
    model = Model.learn([_stepped(i, T0 + timedelta(days=i), 4, calm) for i in range(20)])
    arrived = T0 + timedelta(days=60)
    # "inspecting": no past stay had it, so every past stay counts, from its arrival
    steps = (("arriving", arrived), ("inspecting", arrived + h(1)))
    stop = Stop(B, arrived, arrived + h(1), False, 2, frozenset(s for s, _ in steps), steps)
    unit = Journey("urn:epc:id:sscc:0614141.0000000081", (stop,), arrived + h(1))
    f = forecast(model, unit, destination=C)
    assert f is not None and f.p50 == arrived + h(4 + 6)
    assert not any("timed from" in line for line in f.basis)
