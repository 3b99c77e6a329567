"""What the claims of a credential rest on: logged events, read with care.

`LoggedEvent` and the helpers that read its figures (namespaces proved by the Event Hash ID,
extension fields by IRI, masses) live in corridor.emissions.events, the one emissions model
the credentials and CBAM share; they are named here too, with `checked_namespaces` refusing
as a claim does (ClaimRefused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from corridor.credentials.errors import CredentialError
from corridor.emissions.events import (
    COR_NS,
    DEFAULT_NAMESPACES,
    MASS_UNITS,
    THOUSAND,
    FiguresMissing,
    LoggedEvent,
    expand,
    field,
    in_log_order,
    mass_kg,
    namespace_map,
    number,
    place_of,
    rounded,
    same_item,
)
from corridor.emissions.events import checked_namespaces as _checked

__all__ = ["COR_NS", "DEFAULT_NAMESPACES", "MASS_UNITS", "THOUSAND", "Claim", "ClaimRefused",
           "LoggedEvent", "checked_namespaces", "differences", "expand", "field",
           "in_log_order", "mass_kg", "namespace_map", "number", "out", "party_of",
           "place_of", "rounded", "same_item"]


@dataclass(frozen=True)
class Claim:
    """What a credential states (`subject`, its credentialSubject) and the logged events it
    rests on (`evidence`, in log order)."""
    kind: str
    subject: dict[str, Any]
    evidence: list[LoggedEvent]


class ClaimRefused(CredentialError):
    """The logged events do not support the claim. `missing` names each figure or event that
    is missing or wrong; the message joins them."""

    def __init__(self, *missing: str) -> None:
        self.missing = list(missing)
        super().__init__("; ".join(self.missing) or "the events do not support the claim")


def checked_namespaces(event: LoggedEvent) -> dict[str, str]:
    """The event's prefix map, once its Event Hash ID proves it; ClaimRefused otherwise."""
    try:
        return _checked(event)
    except FiguresMissing as exc:
        raise ClaimRefused(*exc.missing) from None


def out(value: Decimal, places: int = 3) -> int | float:
    """A figure as the subject states it: `rounded`, an int when whole (so it reads the same
    after any JSON round trip)."""
    figure = rounded(value, places)
    return int(figure) if figure == figure.to_integral_value() else float(figure)


def party_of(event: LoggedEvent) -> str | None:
    """Who did it: the owning (else possessing) party of its sourceList, else the party that
    captured it."""
    sources = event.event.get("sourceList")
    for kind in ("owning_party", "possessing_party"):
        for entry in sources if isinstance(sources, list) else ():
            if isinstance(entry, Mapping) and str(entry.get("type", "")).endswith(kind) \
                    and isinstance(entry.get("source"), str):
                return str(entry["source"])
    return event.party


def differences(stated: Any, computed: Any, path: str) -> list[str]:
    """Every place where `stated` (from a credential) and `computed` differ, as
    "<JSON pointer>: ..." lines."""
    if isinstance(stated, Mapping) and isinstance(computed, Mapping):
        found: list[str] = []
        for key in sorted(set(stated) | set(computed)):
            where = f"{path}/{key}"
            if key not in computed:
                found.append(f"{where}: stated {_show(stated[key])}, the events give none")
            elif key not in stated:
                found.append(f"{where}: not stated, the events give {_show(computed[key])}")
            else:
                found += differences(stated[key], computed[key], where)
        return found
    if isinstance(stated, list) and isinstance(computed, list):
        if len(stated) != len(computed):
            return [f"{path}: stated {len(stated)} entries, the events give {len(computed)}"]
        return [d for k, (a, b) in enumerate(zip(stated, computed, strict=True))
                for d in differences(a, b, f"{path}/{k}")]
    if _equal(stated, computed):
        return []
    return [f"{path}: stated {_show(stated)}, the events give {_show(computed)}"]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return number(a) == number(b)
    return bool(a == b and type(a) is type(b))


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
