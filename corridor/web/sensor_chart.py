"""The sensor readings of a shipment as an inline SVG: one panel per measured quantity (its
type and unit named, e.g. "Temperature (°C)", from the UN/CEFACT code of the reports, see
corridor.web.labels), each with its own value axis, over one shared time axis in UTC.
Readings flagged with an exception (an alarm) are marked. Every text is escaped here."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from corridor.web.data import SensorPoint as Reading
from corridor.web.labels import measurement_type, unit, with_unit

WIDTH = 720
LEFT, RIGHT = 64, 16  # room for the value labels, and the last time label
PANEL, GAP = 86, 30  # a panel's plot height, and the room above it for its title
AXIS = 40  # the time axis: tick labels and its title
# Time tick steps to choose from (seconds), the smallest giving at most MAX_TICKS ticks.
STEPS = (3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400,
         28 * 86400)
MAX_TICKS = 7
GAP_FACTOR, MIN_GAP = 4, 6 * 3600  # a silence that breaks a line: times the usual, seconds


@dataclass
class Series:
    kind: str
    uom: str
    points: list[Reading]

    @property
    def title(self) -> str:
        symbol = unit(self.uom).symbol
        return f"{measurement_type(self.kind)} ({symbol})" if symbol else \
            measurement_type(self.kind)


def series_of(readings: Sequence[Reading]) -> list[Series]:
    """Readings grouped by (type, unit), in the order first seen, each by time."""
    found: dict[tuple[str, str], Series] = {}
    for r in readings:
        found.setdefault((r.kind, r.uom), Series(r.kind, r.uom, [])).points.append(r)
    for s in found.values():
        s.points.sort(key=lambda r: r.time)
    return list(found.values())


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values spanning [lo, hi] (1, 2 or 5 times a power of ten apart)."""
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < hi:
        ticks.append(round(value, 10))
    return ticks


def time_ticks(t0: datetime, t1: datetime) -> tuple[list[datetime], str]:
    """Tick times between t0 and t1 (UTC, on round hours or days) and their label format."""
    span = max((t1 - t0).total_seconds(), 1.0)
    step = next((s for s in STEPS if span / s <= MAX_TICKS), STEPS[-1])
    start = datetime.fromtimestamp(math.ceil(t0.timestamp() / step) * step, UTC)
    ticks = []
    at = start
    while at <= t1:
        ticks.append(at)
        at += timedelta(seconds=step)
    fmt = "%m-%d" if step >= 86400 else "%m-%d %H:%M"
    return ticks, fmt


def runs(points: Sequence[Reading]) -> list[list[Reading]]:
    """Readings split where the logger was silent (a gap over GAP_FACTOR times the usual
    interval, and over MIN_GAP): one line per run, none drawn across a gap (the readings of
    two crossings, reported apart, are two runs)."""
    if len(points) < 2:
        return [list(points)]
    gaps = sorted((b.time - a.time).total_seconds() for a, b in itertools.pairwise(points))
    usual = gaps[len(gaps) // 2]
    limit = max(MIN_GAP, GAP_FACTOR * usual)
    out = [[points[0]]]
    for a, b in itertools.pairwise(points):
        if (b.time - a.time).total_seconds() > limit:
            out.append([])
        out[-1].append(b)
    return out


def _fmt(value: float) -> str:
    return f"{value:g}"


def _panel(s: Series, top: float, x: Callable[[datetime], float]) -> list[str]:
    """One quantity's panel: title, value axis with ticks and grid, line and points."""
    values = [r.value for r in s.points]
    ticks = nice_ticks(min(values), max(values))
    lo, hi = ticks[0], ticks[-1]

    def y(v: float) -> float:
        return round(top + PANEL - (v - lo) / (hi - lo) * PANEL, 1)

    out = [f'<g class="series" data-type="{escape(s.kind)}" data-unit="{escape(s.uom)}">',
           f'<text class="panel-title" x="{LEFT}" y="{top - 10}">{escape(s.title)}</text>',
           f'<line class="axis y-axis" x1="{LEFT}" y1="{top}" x2="{LEFT}" y2="{top + PANEL}"/>']
    for v in ticks:
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y(v)}" x2="{WIDTH - RIGHT}" '
                   f'y2="{y(v)}"/><text class="tick y-tick" x="{LEFT - 6}" y="{y(v) + 4}" '
                   f'text-anchor="end">{escape(_fmt(v))}</text>')
    for run in runs(s.points):  # one run per uninterrupted series of readings
        pts = " ".join(f"{x(r.time)},{y(r.value)}" for r in run)
        out.append(f'<polyline class="line" data-type="{escape(s.kind)}" points="{pts}"/>')
    for r in s.points:
        when = r.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        label = escape(f"{when}: {with_unit(_fmt(r.value), r.uom)}"
                       + (" (alarm)" if r.alarm else ""))
        cls = "point alarm" if r.alarm else "point"
        out.append(f'<circle class="{cls}" cx="{x(r.time)}" cy="{y(r.value)}" '
                   f'r="{4 if r.alarm else 2.5}"><title>{label}</title></circle>')
    out.append("</g>")
    return out


def sensor_chart(readings: Sequence[Reading]) -> str:
    """SVG markup of the readings, or "" when there are none."""
    if not readings:
        return ""
    panels = series_of(readings)
    t0 = min(r.time for r in readings)
    t1 = max(r.time for r in readings)
    span = max((t1 - t0).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return round(LEFT + (at - t0).total_seconds() / span * (WIDTH - LEFT - RIGHT), 1)

    height = len(panels) * (PANEL + GAP) + AXIS
    out = [(f'<svg class="sensor-chart" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-label="Sensor readings: {escape(", ".join(s.title for s in panels))}" '
            'xmlns="http://www.w3.org/2000/svg">')]
    for n, s in enumerate(panels):
        out += _panel(s, GAP + n * (PANEL + GAP), x)
    base = height - AXIS
    ticks, fmt = time_ticks(t0, t1)
    out.append(f'<g class="x-axis"><line class="axis" x1="{LEFT}" y1="{base}" '
               f'x2="{WIDTH - RIGHT}" y2="{base}"/>')
    for at in ticks:
        out.append(f'<line class="tick" x1="{x(at)}" y1="{base}" x2="{x(at)}" y2="{base + 4}"/>'
                   f'<text class="tick x-tick" x="{x(at)}" y="{base + 16}" '
                   f'text-anchor="middle">{escape(at.strftime(fmt))}</text>')
    out.append(f'<text class="axis-title" x="{WIDTH - RIGHT}" y="{base + 34}" '
               'text-anchor="end">Time (UTC)</text></g>')
    out.append("</svg>")
    return "".join(out)
