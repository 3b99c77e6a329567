"""The data every fx module shares: currencies, banks, published quotes, errors.

A `Quote` is one line of a central bank's table exactly as published: `units` of a foreign
`currency` cost `value` of the bank's home currency. Values stay `Decimal` from the wire to the
database (stored as TEXT), so nothing is ever rounded through a float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# The five corridor currencies, then the two trade currencies they are compared with.
CORRIDOR: tuple[str, ...] = ("KZT", "KGS", "TJS", "UZS", "TMT")
CURRENCIES: tuple[str, ...] = CORRIDOR + ("USD", "EUR")

# ISO 4217 minor unit (number of decimals) of each currency we value amounts in.
MINOR_UNITS: dict[str, int] = {
    "KZT": 2, "KGS": 2, "TJS": 2, "UZS": 2, "TMT": 2, "USD": 2, "EUR": 2,
}


@dataclass(frozen=True)
class Bank:
    code: str  # our short name, used as `source` everywhere
    name: str
    home: str  # the currency the bank quotes everything in
    # Decimals the bank rounds its figures to. NBK, CBU and CBT drop trailing zeros ("3.5",
    # "0.4"), so the digits shown understate the precision; triangulation uses this instead.
    decimals: int


BANKS: dict[str, Bank] = {
    "NBK": Bank("NBK", "National Bank of Kazakhstan", "KZT", 2),
    "NBKR": Bank("NBKR", "National Bank of the Kyrgyz Republic", "KGS", 4),
    "NBT": Bank("NBT", "National Bank of Tajikistan", "TJS", 4),
    "CBU": Bank("CBU", "Central Bank of the Republic of Uzbekistan", "UZS", 2),
    "CBT": Bank("CBT", "Central Bank of Turkmenistan", "TMT", 4),
}
HOME_BANK: dict[str, str] = {b.home: b.code for b in BANKS.values()}

# The manat has been pegged at 3.5 TMT per USD since the devaluation of 1 January 2015; used,
# and labelled as such, only when no CBT publication is stored for the date.
TMT_PEG = Decimal("3.5")
TMT_PEG_SINCE = date(2015, 1, 1)


# The source of a figure the demo restated from a recorded table for a day the recordings do
# not cover (corridor/demo/data/fx_history.yml): "corridor-demo:restated <effective date of
# the recorded table> <its source>". Every rate answer built on one says so (rates.CrossRate).
RESTATED = "corridor-demo:restated"


def restated_source(recorded: date, source_url: str) -> str:
    return f"{RESTATED} {recorded.isoformat()} {source_url}"


def restated_from(source_url: str) -> date | None:
    """The date of the recorded table a restated figure repeats; None for a real one."""
    if not source_url.startswith(RESTATED + " "):
        return None
    try:
        return date.fromisoformat(source_url.split(" ", 2)[1])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Quote:
    currency: str  # ISO 4217 code of the foreign currency
    units: int  # how many units the value is for (NBK quant, Nominal, multiplier)
    value: Decimal  # home currency per `units` units, exactly as published

    @property
    def rate(self) -> Decimal:
        """Home currency per ONE unit. Units are powers of ten in every feed, so exact."""
        return self.value / self.units if self.units != 1 else self.value


@dataclass
class Publication:
    """One table of rates of one bank for one effective date."""

    bank: str
    effective_date: date  # the date the rates apply to, as the bank states it
    publication_date: date | None  # Last-Modified of the response, else its Date header
    source_url: str
    quotes: list[Quote] = field(default_factory=list)

    @property
    def home(self) -> str:
        return BANKS[self.bank].home

    def quote(self, currency: str) -> Quote | None:
        for q in self.quotes:
            if q.currency == currency:
                return q
        return None


class FeedError(ValueError):
    """A bank's response was refused. Names the bank, the URL and where in the body."""

    def __init__(self, bank: str, url: str, location: str, message: str) -> None:
        self.bank = bank
        self.url = url
        self.location = location
        self.message = message
        super().__init__(f"{bank} {url}: {location}: {message}")


class WrongDateError(FeedError):
    """The bank answered with rates of another date than the one asked for."""


class RateNotFound(LookupError):
    """No stored rate can answer the question; the message says what is missing."""
