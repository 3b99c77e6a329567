"""An importer's EU CBAM declaration for a year, on this node.

1. The imports: corridor.query.imports reads, as `viewer`, what the importer imported into
   the EU in the year (per container and lot: CN code, net mass, entry, installation,
   country of origin, the events behind each).
2. The actual values: for each lot, the newest GreenMetalCredential the node holds about it
   (corridor.store.credentials) that is usable: not revoked, within its validity period,
   about that lot, stating its direct emissions and net mass, and passing `check` when one is
   given (e.g. the node's full verification: signature, trusted issuer, status list,
   evidence receipts; corridor.credentials.service.CredentialService.verify). Its figures are
   the installation's communicated values: SEE = directEmissions / netMass of the lot.
   A credential set aside is named on the lot's line, with why.
3. The declaration: corridor.emissions.declaration, pure. A carbon price paid at origin
   (`paid`) is converted to EUR at the official rate of Corridor's FX store
   (`eur_at_official_rate`: for KZT, the National Bank of Kazakhstan's).

Who may read (`check_reader`): the party itself (the importer of its declaration, the
operator of an installation's communication: the party registered under the installation's
GS1 company prefix), an admin, or an auditor the party granted; the events are read through
the reader's own visibility all the same. `installation_communication` gives an installation's
communication for a period (corridor.cbam.communication) from its production events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from corridor.cbam.communication import Communication, Site, communication, parse_period
from corridor.emissions.cbam import CarbonPricePaid
from corridor.emissions.cbam_data import CbamError, PaidPriceError, cbam_data
from corridor.emissions.declaration import (
    ActualValues,
    Adjustment,
    Conversion,
    Declaration,
    ImportedLot,
    declaration,
)
from corridor.emissions.events import LoggedEvent, number, same_item
from corridor.epcis.identifiers import canonical, company_prefix_key
from corridor.fx.model import CURRENCIES, RateNotFound
from corridor.fx.valuation import value
from corridor.query import (
    Imports,
    QueryError,
    ViewerLike,
    imports_of,
    known_namespaces,
    matching_events,
    stored_places,
)
from corridor.query.parties import party_names
from corridor.store.credentials import StoredCredential, list_credentials
from corridor.store.db import Connection
from corridor.store.parties import grants_of

GREEN = "GreenMetalCredential"
# The failed checks of a credential (names or sentences); empty when it is valid.
CredentialCheck = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class ImporterDeclaration:
    declaration: Declaration
    imports: Imports

    def to_json(self) -> dict[str, Any]:
        return {**self.declaration.to_json(),
                "containersNotCounted": list(self.imports.not_counted)}


def lots(found: Imports) -> list[ImportedLot]:
    """The imports as the declaration's input records."""
    return [ImportedLot(i.container, i.lot, i.cn, i.country_of_origin, i.installation.site,
                        i.installation.name, i.installation.operator, i.net_tonnes,
                        i.entered.date(), i.evidence)
            for i in found.imports]


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _figures(stored: StoredCredential, doc: Mapping[str, Any], lot: str, now: datetime
             ) -> ActualValues | str:
    """The communicated values a stored credential gives for `lot`, or why it gives none."""
    start, end = _time(doc.get("validFrom")), _time(doc.get("validUntil"))
    if start is None or start > now:
        return f"credential {stored.id} is not yet valid (validFrom {doc.get('validFrom')})"
    if doc.get("validUntil") is not None and (end is None or end <= now):
        return f"credential {stored.id} expired (validUntil {doc.get('validUntil')})"
    subject = doc.get("credentialSubject")
    subject = subject if isinstance(subject, Mapping) else {}
    if not same_item(subject.get("id"), lot):
        return f"credential {stored.id} is about {subject.get('id')!r}, not {lot}"
    direct, tonnes = number(subject.get("directEmissions")), number(subject.get("netMass"))
    cn = subject.get("cnCode")
    if direct is None or tonnes is None or tonnes <= 0 or not isinstance(cn, str):
        return (f"credential {stored.id} states no direct emissions, net mass above 0 and CN "
                "code")
    if subject.get("emissionsUnit", "tCO2e") != "tCO2e" or subject.get("massUnit", "t") != "t":
        return f"credential {stored.id}: emissions not in tCO2e or mass not in t"
    evidence = doc.get("evidence")
    hash_ids = tuple(str(e["id"]) for e in evidence if isinstance(e, Mapping)
                     and isinstance(e.get("id"), str)) if isinstance(evidence, list) else ()
    return ActualValues(lot, cn, direct, tonnes, stored.id, hash_ids)


def actual_values(conn: Connection, lot: str, *, check: CredentialCheck | None = None,
                  now: datetime | None = None) -> tuple[ActualValues | None, str | None]:
    """(the lot's communicated values from its newest usable GreenMetalCredential, None) or
    (None, why each credential about it was set aside; None when there is none)."""
    now = now or datetime.now(UTC)
    reasons: list[str] = []
    for stored in list_credentials(conn, subject=lot):
        if stored.kind != GREEN:
            continue
        if stored.revoked_at is not None:
            reasons.append(f"credential {stored.id} revoked on {stored.revoked_at[:10]}: "
                           f"{stored.revocation_reason}")
            continue
        doc = json.loads(stored.document)
        found = _figures(stored, doc, lot, now)
        failed = check(doc) if check is not None and not isinstance(found, str) else []
        if failed:
            found = f"credential {stored.id} failed verification ({', '.join(failed)})"
        if isinstance(found, str):
            reasons.append(found)
            continue
        return found, None
    return None, "; ".join(reasons) or None


def eur_at_official_rate(conn: Connection) -> Conversion:
    """Converts to EUR at the official rate in force on the day (corridor.fx.valuation:
    the latest published on or before it), saying which rate, rule and source."""
    def convert(amount: Decimal, currency: str, on: date) -> tuple[Decimal, str]:
        try:
            found = value(conn, amount, currency, "EUR", on)
        except (RateNotFound, ValueError) as exc:
            raise CbamError(f"no EUR value of {amount} {currency} on {on.isoformat()}: "
                            f"{exc}") from exc
        label = f"; {found.label}" if found.label else ""
        return found.result, (
            f"EUR {found.result} at {found.rate} EUR per {found.currency}, rate of "
            f"{found.describe_date()} ({found.rule}: {found.explanation}; source "
            f"{found.source}{label}; {found.rounding})")
    return convert


def _check_paid(paid: Mapping[str, CarbonPricePaid]) -> None:
    """Refuse, naming the field, a price paid in a currency Corridor has no rates for."""
    for installation, price in paid.items():
        if price.currency.strip().upper() not in CURRENCIES:
            raise PaidPriceError(f"paid[{installation}].currency: {price.currency!r} is not one of "
                                 f"{', '.join(CURRENCIES)}")


def importer_declaration(conn: Connection, viewer: ViewerLike, importer: str, year: int, *,
                         price_eur: Decimal, price_period: str,
                         check: CredentialCheck | None = None,
                         adjustment: Adjustment | None = None,
                         paid: Mapping[str, CarbonPricePaid] | None = None,
                         now: datetime | None = None) -> ImporterDeclaration:
    """The CBAM declaration of `importer` (a party identifier) for `year`, from what `viewer`
    reads, at the certificate price `price_eur` of `price_period` (for the years priced at the
    quarter of importation, the published price of each quarter wins for its imports and
    `price_eur` stands in for the quarters without one), less the carbon price
    `paid` at origin (per installation SGLN, or "SGLN#CN"), valued at the official rate."""
    _check_paid(paid or {})
    found = imports_of(conn, viewer, importer, year)
    records = lots(found)
    actual: dict[str, ActualValues] = {}
    set_aside: dict[str, str] = {}
    for lot in dict.fromkeys(r.lot for r in records):
        values, why = actual_values(conn, lot, check=check, now=now)
        if values is not None:
            actual[lot] = values
        elif why:
            set_aside[lot] = why
    return ImporterDeclaration(
        declaration(importer, year, records, actual, price_eur=price_eur,
                    price_period=price_period, adjustment=adjustment, set_aside=set_aside,
                    paid=paid, convert=eur_at_official_rate(conn),
                    quarter_prices=published_prices()),
        found)


# -- who may read, and the default price ---------------------------------------------------

class NotAllowed(PermissionError):
    """The reader may not read this party's CBAM report."""


class UnknownInstallation(LookupError):
    """No installation by that identifier on this node."""


def party_of(conn: Connection, identifier: str) -> int | None:
    """The registered party answering to `identifier` (by canonical key), if any."""
    if not identifier or "\x00" in identifier:
        return None
    row = conn.fetchone("SELECT party_id FROM party_identifiers WHERE canonical = ?",
                        (canonical(identifier),))
    return int(row[0]) if row else None


def check_reader(conn: Connection, viewer: ViewerLike, party: int | None, what: str) -> None:
    """NotAllowed unless `viewer` is the party, an admin or an auditor the party granted."""
    if viewer.role == "admin":
        return
    if party is not None and viewer.party_id is not None and (
            viewer.party_id == party
            or viewer.role == "auditor" and party in grants_of(conn, viewer.party_id)):
        return
    raise NotAllowed(f"{what}: only that party, an admin or an auditor it granted may read it")


def default_price() -> tuple[Decimal, str]:
    """(EUR per certificate, period) a report uses when given no price: the published price
    of cbam_rules.yml certificate_price.default_period."""
    return published_price(cbam_data().rules.default_price_period)


def published_prices() -> dict[str, Decimal]:
    """Every period's published certificate price in cbam_rules.yml."""
    return {p: v.eur_per_tonne for p, v in cbam_data().rules.prices.items()
            if v.eur_per_tonne is not None}


def published_price(period: str) -> tuple[Decimal, str]:
    """The published certificate price of `period` (cbam_rules.yml); CbamError when the
    data file has none for it."""
    rules = cbam_data().rules
    found = rules.prices.get(period)
    if found is None or found.eur_per_tonne is None:
        known = [p for p, v in rules.prices.items() if v.eur_per_tonne is not None]
        raise CbamError(f"no published certificate price for {period!r} in cbam_rules.yml "
                        f"(published: {', '.join(known)}); give the price")
    return found.eur_per_tonne, period


# -- an installation's communication ------------------------------------------------------

def _operator(conn: Connection, site: str) -> tuple[int | None, str | None]:
    """The party registered under the site's GS1 company prefix: (party id, identifier)."""
    key = company_prefix_key(site)
    if key is None:
        return None, None
    digits, written = key
    lengths = [len(written)] if written else range(12, 5, -1)
    for n in lengths:
        prefix = digits[:n]
        pgln = f"urn:epc:id:pgln:{prefix}.{'0' * (12 - n)}"
        party = party_of(conn, pgln)
        if party is not None:
            row = conn.fetchone("SELECT identifier FROM parties WHERE id = ?", (party,))
            return party, str(row[0]) if row else pgln
    return None, None


def installation_site(conn: Connection, site: str) -> tuple[Site, int | None]:
    """The installation as the node knows it (master data, operator) and its operator's
    party id; UnknownInstallation when neither is known."""
    place = stored_places(conn).at(canonical(site), None) if site else None
    party, operator = _operator(conn, site) if site else (None, None)
    if place is None and party is None:
        raise UnknownInstallation(f"no installation {site!r}: neither its master data nor "
                                  "the party of its GS1 company prefix is known")
    name = party_names(conn).by_id.get(party) if party is not None else None
    return Site(site, place.name if place else site, place.locode if place else "",
                place.country if place else "", operator, name), party


def production_events(conn: Connection, viewer: ViewerLike, site: str, start: str, end: str
                      ) -> list[LoggedEvent]:
    """The viewer's visible events at `site` (bizLocation or readPoint) with an eventTime in
    [start, end) (UTC, ISO 8601)."""
    ns, found = known_namespaces(conn), {}
    for where in ("EQ_bizLocation", "EQ_readPoint"):
        try:
            rows = matching_events(conn, viewer, {where: [site], "GE_eventTime": [start],
                                                  "LT_eventTime": [end]}, limit=100_000)
        except QueryError:
            return []
        for row in rows:
            if row.event_type in ("TransformationEvent", "ObjectEvent"):
                found[row.hash_id] = LoggedEvent(row.hash_id, row.log_index or 0, row.doc, ns)
    return sorted(found.values(), key=lambda e: (e.log_index, e.hash_id))


def installation_communication(conn: Connection, viewer: ViewerLike, site: str,
                               period: str) -> Communication:
    """The communication of the installation `site` (an SGLN) for `period` (YYYY or
    YYYY-Qn): PeriodError, UnknownInstallation or NotAllowed when it cannot be given."""
    when = parse_period(period)
    installation, operator = installation_site(conn, site)
    check_reader(conn, viewer, operator, f"the communication of {site}")
    # a day either side: an event belongs to the period by its local date
    start = f"{date.fromordinal(when.start.toordinal() - 1).isoformat()}T00:00:00Z"
    end = f"{date.fromordinal(when.end.toordinal() + 2).isoformat()}T00:00:00Z"
    return communication(installation, when,
                         production_events(conn, viewer, site, start, end))
