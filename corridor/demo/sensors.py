"""The readings of a container's data logger over a sea crossing (corridor.demo.scenario).

Every reading draws the same random numbers whatever happens to the container, so a heat
excursion or a shock alarm changes only the values of its own readings, never the numbers
drawn for the rest of the shipment or for any other one.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.demo.geography import event_time

# A heat excursion: the first readings of the crossing at 41 to 46 CEL (a dry box stowed on
# the open deck in full sun), then back to normal; what the insurer's sensor trigger tests.
HEAT_STEPS = 2
HEAT_FLOOR_CEL = 41.0
HEAT_SPAN_CEL = 5.0


def logger_elements(rng: random.Random, number: int, start: datetime, end: datetime, *,
                    alarm: bool, heat: bool = False) -> list[dict[str, Any]]:
    """The sensorElementList of the logger of shipment `number` between `start` and `end`:
    temperature, humidity and shock, with a shock alarm at one step if `alarm`, and the first
    HEAT_STEPS temperatures raised if `heat`."""
    elements: list[dict[str, Any]] = []
    hours = max(6, int((end - start).total_seconds() // 3600))
    steps = max(3, min(10, hours // 12))
    base_temp = rng.uniform(4.0, 22.0)
    alarm_step = rng.randrange(1, steps) if alarm else -1
    device = f"urn:epc:id:giai:{ACTOR_BY_SLUG['euxine'].prefix}.LOG{number:05d}"
    for k in range(steps):
        at = start + (end - start) * (k + 1) / (steps + 1)
        shock = round(rng.uniform(1.5, 9.0), 1)
        temperature = round(base_temp + rng.uniform(-3, 3), 1)
        if heat and k < HEAT_STEPS:  # derived from the draw, so no extra number is drawn
            temperature = round(HEAT_FLOOR_CEL + temperature % HEAT_SPAN_CEL, 1)
        reports: list[dict[str, Any]] = [
            {"type": "Temperature", "value": temperature, "uom": "CEL"},
            {"type": "RelativeHumidity", "value": round(rng.uniform(55, 88), 1), "uom": "P1"},
        ]
        if k == alarm_step:
            reports.append({"type": "Acceleration", "maxValue": round(
                rng.uniform(38, 61), 1), "uom": "MSK", "exception": "ALARM_CONDITION"})
        else:
            reports.append({"type": "Acceleration", "maxValue": shock, "uom": "MSK"})
        elements.append({
            "sensorMetadata": {"time": event_time(None, at)[0].replace(".000+00:00", ".000Z"),
                               "deviceID": device},
            "sensorReport": reports,
        })
    return elements
