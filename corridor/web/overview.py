"""The overview's figures: the read model lives in corridor.query.dashboard; these names stay
for the callers that import them from here (corridor serve warms `unit_index`, bench_web clears
`_unit_index_cache` to time a cold build)."""

from corridor.query.dashboard import (
    UNIT_INDEXES,
    Overview,
    Position,
    UnitIndex,
    overview,
    unit_index,
)

_unit_index_cache = UNIT_INDEXES  # the same dict

__all__ = ["Overview", "Position", "UnitIndex", "overview", "unit_index"]
