"""corridor.fx: official central-bank exchange rates of KZT, KGS, TJS, UZS, TMT.

Public surface: `corridor.fx.ticker.ticker(conn, on=None)` (the submodule shares the name,
so it is not re-exported here), `value(conn, amount, currency, target, on)`,
`cross_rate(conn, base, quote, on)`, `check(conn, on)`, `import_recorded(conn, path)`.
Names are resolved on first use, because corridor.store.fx_store imports corridor.fx.model
and an eager import here would be circular.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "import_bundled": "importer", "import_recorded": "importer",
    "CURRENCIES": "model", "FeedError": "model", "RateNotFound": "model",
    "WrongDateError": "model",
    "CrossRate": "rates", "cross_rate": "rates", "history": "rates",
    "TickerRow": "ticker",
    "Comparison": "triangulation", "check": "triangulation",
    "Valuation": "valuation", "value": "valuation",
}
__all__ = [
    "CURRENCIES", "Comparison", "CrossRate", "FeedError", "RateNotFound", "TickerRow",
    "Valuation", "WrongDateError", "check", "cross_rate", "history", "import_bundled",
    "import_recorded", "value",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'corridor.fx' has no attribute {name!r}")
    return getattr(importlib.import_module(f"corridor.fx.{module}"), name)
