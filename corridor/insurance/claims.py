"""What a firing pays (docs/insurance.md, "Claims").

The sum insured is split equally across the units; a firing pays its tier's share of the
unit's part, rounded half away from zero to the currency's minor unit. The claims of one
unit together never exceed its part (rounded the same way): a later firing pays at most
what is left, never less than nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from corridor.fx.valuation import round_money
from corridor.insurance.model import Firing
from corridor.insurance.policy import Terms


@dataclass(frozen=True)
class Payout:
    firing: Firing
    amount: Decimal  # in terms.currency, rounded to its minor unit
    uncapped: Decimal  # the share of the unit's part, before the cap
    note: str  # how the amount was computed, in one line


def _shown(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def payout(terms: Terms, firing: Firing, already_paid: Decimal) -> Payout:
    """The payout of `firing`, given what the unit's earlier claims already paid."""
    currency = terms.currency
    part = round_money(terms.unit_sum, currency)
    uncapped = round_money(firing.share * terms.unit_sum, currency)
    left = round_money(max(part - already_paid, Decimal(0)), currency)
    amount = min(uncapped, left)
    note = (f"{_shown(firing.share * 100)} % of the unit's {part} {currency} = "
            f"{uncapped} {currency}")
    if amount < uncapped:
        note += (f", capped at {amount} {currency}: {round_money(already_paid, currency)} "
                 f"{currency} of the unit's part already paid")
    return Payout(firing, amount, uncapped, note)
