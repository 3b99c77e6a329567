"""EPCIS query schedules (EPCIS 1.2 section 8.2.5.3, carried into the 2.0 REST binding's
`schedule` object and query-schedule.json).

Each field (second, minute, hour, dayOfMonth, month, dayOfWeek) is a comma-separated list of
elements; an element is a number or a range `[low-high]`. A time matches when every field
present matches; omitted fields match any value (so `{"hour": "2"}` fires every second from
02:00:00 to 02:59:59, as the standard's own example says). Times are taken in UTC.

Beyond the grammar we also accept `*` and the cron step `start/step` (the REST binding's
own example uses `"second": "0/30"`), and `low-high` without brackets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FIELDS: dict[str, tuple[int, int]] = {
    "second": (0, 59),
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (1, 7),  # 1 = Monday ... 7 = Sunday
}

_NUMBER = re.compile(r"[0-9]{1,3}")
_RANGE = re.compile(r"\[?([0-9]{1,3})-([0-9]{1,3})\]?")
_STEP = re.compile(r"([0-9]{1,3}|\*)/([0-9]{1,3})")

# Far enough to find any satisfiable combination (Feb 29 on a given weekday recurs in 28 y).
_HORIZON_DAYS = 366 * 29


class ScheduleError(ValueError):
    """Not a valid query schedule; `field` names the schedule field at fault."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"schedule/{field}: {message}")


def _parse_field(name: str, text: object) -> frozenset[int]:
    low, high = FIELDS[name]
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip():
        raise ScheduleError(name, "must be a non-empty string such as \"5\", \"[1-5]\" or \"0,30\"")
    values: set[int] = set()
    for raw in text.split(","):
        element = raw.strip()
        if element == "*":
            values.update(range(low, high + 1))
            continue
        if _NUMBER.fullmatch(element):
            a = b = int(element)
            step = 1
        elif m := _RANGE.fullmatch(element):
            a, b, step = int(m.group(1)), int(m.group(2)), 1
            if a > b:
                raise ScheduleError(name, f"range {element!r} has its first number greater "
                                          "than its second")
        elif m := _STEP.fullmatch(element):
            a = low if m.group(1) == "*" else int(m.group(1))
            b, step = high, int(m.group(2))
            if step < 1:
                raise ScheduleError(name, f"step in {element!r} must be at least 1")
        else:
            raise ScheduleError(name, f"{element!r} is not a number, [low-high] range or step")
        if not (low <= a <= high and low <= b <= high):
            raise ScheduleError(name, f"{element!r} is outside {low}..{high}")
        values.update(range(a, b + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; a field that is None matches any value."""

    fields: dict[str, frozenset[int] | None]
    source: dict[str, str]

    @classmethod
    def parse(cls, spec: object) -> Schedule:
        if not isinstance(spec, dict):
            raise ScheduleError("(schedule)", "must be an object with fields "
                                + ", ".join(FIELDS))
        unknown = sorted(set(spec) - set(FIELDS))
        if unknown:
            raise ScheduleError(unknown[0], f"unknown schedule field; expected one of "
                                            f"{', '.join(FIELDS)}")
        if not spec:
            raise ScheduleError("(schedule)", "must name at least one field")
        parsed = {name: (_parse_field(name, spec[name]) if name in spec else None)
                  for name in FIELDS}
        source = {name: str(spec[name]) for name in FIELDS if name in spec}
        schedule = cls(parsed, source)
        if schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC)) is None:
            raise ScheduleError("(schedule)", "no date ever matches these fields")
        return schedule

    def _ok(self, name: str, value: int) -> bool:
        allowed = self.fields[name]
        return allowed is None or value in allowed

    def _range(self, name: str) -> list[int]:
        low, high = FIELDS[name]
        allowed = self.fields[name]
        return sorted(allowed) if allowed is not None else list(range(low, high + 1))

    def matches(self, when: datetime) -> bool:
        when = when.astimezone(UTC)
        return (self._ok("second", when.second) and self._ok("minute", when.minute)
                and self._ok("hour", when.hour) and self._ok("dayOfMonth", when.day)
                and self._ok("month", when.month) and self._ok("dayOfWeek", when.isoweekday()))

    def next_after(self, after: datetime) -> datetime | None:
        """The first matching whole second strictly after `after` (UTC), or None."""
        after = after.astimezone(UTC)
        start = after.replace(microsecond=0)
        day = start.replace(hour=0, minute=0, second=0)
        hours, minutes, seconds = self._range("hour"), self._range("minute"), self._range("second")
        for offset in range(_HORIZON_DAYS):
            d = day + timedelta(days=offset)
            if not (self._ok("dayOfMonth", d.day) and self._ok("month", d.month)
                    and self._ok("dayOfWeek", d.isoweekday())):
                continue
            for h in hours:
                if offset == 0 and h < start.hour:
                    continue
                for m in minutes:
                    if offset == 0 and (h, m) < (start.hour, start.minute):
                        continue
                    for s in seconds:
                        candidate = d.replace(hour=h, minute=m, second=s)
                        if candidate > after:
                            return candidate
        return None
