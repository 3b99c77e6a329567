"""Parametric cover on the dashboard: the insurance page (/insurance, the viewer's portfolio as
corridor.insurance.portfolio reads it) and the cover panel of a shipment page.

Who sees what: a signed-in party sees the policies it is insurer or insured of (an admin,
every one); the public gets the same 404 as for a page that does not exist. A shipment's
cover panel lists only the policies its viewer may read; for anyone else it is not there."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from corridor.epcis.identifiers import canonical
from corridor.fx.model import MINOR_UNITS
from corridor.fx.valuation import round_money
from corridor.insurance.policy import Trigger
from corridor.insurance.portfolio import REPORTING, cover_of, portfolio
from corridor.insurance.portfolio import describe_trigger as _describe
from corridor.query.parties import party_names
from corridor.query.places import stored_places
from corridor.store.db import Connection
from corridor.web.data import unit_ref
from corridor.web.session import Session

DASH = "\u2014"


def money(amount: Decimal | str | None, currency: str) -> str:
    """An amount rounded half away from zero to the currency's minor unit, thousands
    separated."""
    if amount is None:
        return DASH
    places = MINOR_UNITS.get(currency, 2)
    return f"{round_money(Decimal(amount), currency):,.{places}f}"


def ratio(value: Decimal | None) -> str:
    """A loss ratio as a percentage with one decimal; a dash when there is no premium."""
    return DASH if value is None else f"{value * 100:,.1f} %"


def shipment_href(key: str | None) -> str | None:
    return None if key is None else f"/shipment/{quote(unit_ref(key), safe=':/')}"


def unit_href(unit: str) -> str:
    """The page of an insured unit as the terms write it: its shipment, or its lot."""
    if ":class:" in unit or "/10/" in unit:
        return f"/lot/{quote(unit, safe=':/')}"
    return shipment_href(canonical(unit)) or ""


def bundle_href(claim_id: str) -> str:
    return f"/insurance/claim/{quote(claim_id, safe=':')}/bundle.json"


def _describer(conn: Connection) -> Callable[[Trigger], str]:
    names = {p.location: p.name for p in stored_places(conn)}
    return lambda trigger: _describe(trigger, names)


def _helpers(conn: Connection) -> dict[str, Any]:
    return {"money": money, "ratio": ratio, "shipment_href": shipment_href,
            "unit_href": unit_href, "bundle_href": bundle_href, "describe": _describer(conn),
            "names": party_names(conn)}


def insurance_page(conn: Connection, session: Session, witnessed: int | None,
                   cache_key: str | None = None) -> dict[str, Any] | None:
    """The context of the insurance page; None for the public."""
    if session.public:
        return None
    p = portfolio(conn, session.viewer, witnessed=witnessed, cache_key=cache_key)
    bound = [x for x in p.policies if x.status == "bound"]
    return {"p": p, "bound": bound, "witnessed": witnessed, "reporting": REPORTING,
            **_helpers(conn)}


def shipment_cover(conn: Connection, session: Session, epc: str) -> dict[str, Any]:
    """The cover panel of a shipment page: the policies over this container the viewer may
    read (none: no panel)."""
    covers = [] if session.public else cover_of(conn, session.viewer, canonical(epc))
    if not covers:
        return {"cover": []}
    return {"cover": covers, "money": money, "bundle_href": bundle_href,
            "describe": _describer(conn)}
