"""corridor.fx: official central-bank exchange rates of KZT, KGS, TJS, UZS, TMT.

Public surface: `value(conn, amount, currency, target, on)`, `cross_rate(conn, base, quote,
on)`, `latest_cross_rate(conn, base, quote)`, `history(...)`, `check(conn, on)`,
`import_recorded(conn, path)`, `import_files(conn, paths, bank=None)`, `import_bundled(conn)`,
their result types and errors, and `corridor.fx.ticker.ticker(conn, on=None)` (the submodule
shares the name, so it is not re-exported here).
"""

from corridor.fx.importer import import_bundled, import_files, import_recorded
from corridor.fx.model import CURRENCIES, FeedError, RateNotFound, WrongDateError
from corridor.fx.rates import CrossRate, cross_rate, history, latest_cross_rate
from corridor.fx.ticker import TickerRow
from corridor.fx.triangulation import Comparison, check
from corridor.fx.valuation import Valuation, value

__all__ = [
    "CURRENCIES", "Comparison", "CrossRate", "FeedError", "RateNotFound", "TickerRow",
    "Valuation", "WrongDateError", "check", "cross_rate", "history", "import_bundled",
    "import_files", "import_recorded", "latest_cross_rate", "value",
]
