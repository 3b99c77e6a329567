"""EU CBAM on the dashboard: an importer's page (/cbam?year=, the year's exposure from its
declaration, corridor.cbam.importer_declaration) and a lot's CBAM figures on its page, next to
its GreenMetalCredential.

Who may see an importer's page: the logged-in party for itself; an admin, or an auditor
granted over the importer, for the party `?importer=` names. Everyone else gets the same 404
as for a page that does not exist. The figures are read as the viewer: an auditor sees what
its grant lets it read.

The certificate price is the published price of the year from cbam_rules.yml
(corridor.emissions.cbam_data), the latest published quarter; no figure of its own."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from corridor.cbam import CredentialCheck, NotAllowed, actual_values, importer_declaration
from corridor.cbam.service import ImporterDeclaration, check_reader, default_price
from corridor.credentials.service import CredentialService
from corridor.emissions.cbam import Scope, default_see, in_scope
from corridor.emissions.cbam_data import CbamError, cbam_data
from corridor.emissions.declaration import ActualValues, Declaration, DeclarationLine
from corridor.emissions.events import field, number, rounded
from corridor.epcis.identifiers import canonical
from corridor.query.parties import PartyNames, party_names
from corridor.query.places import stored_places
from corridor.query.run import known_namespaces
from corridor.store.credentials import get_credential, list_credentials
from corridor.store.db import Connection
from corridor.store.parties import PartyError, find_party, get_party
from corridor.web.session import Session

ZERO = Decimal(0)
FIRST_YEAR, LAST_YEAR = 2026, 2100  # the definitive period starts in 2026
ORIGIN_KEYS = ("cbvmda:countryOfOrigin", "urn:epcglobal:cbv:mda:countryOfOrigin")


def fig(value: object, places: int = 3) -> str:
    """A figure for the page: rounded half-even, thousands separated; an em dash for none."""
    if value is None:
        return "\u2014"
    if not isinstance(value, Decimal):
        value = number(value)
        if value is None:
            return "\u2014"
    return f"{rounded(value, places):,.{places}f}"


def node_check(service: CredentialService, conn: Connection) -> CredentialCheck:
    """The node's full verification of a credential, as the failed checks' names."""
    def check(credential: Mapping[str, Any]) -> list[str]:
        return [c.name for c in service.verify(conn, credential).checks if not c.ok]
    return check


def page_year(text: str | None) -> int | None:
    """?year=: a year of the definitive period; None when malformed or outside it."""
    if not text:
        return datetime.now(UTC).year
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        return None
    year = int(text)
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


# ---------------------------------------------------------------- the importer's page


@dataclass(frozen=True)
class Importer:
    identifier: str
    name: str
    own: bool  # the viewer's own page


def importer_for(conn: Connection, session: Session, ref: str | None) -> Importer | None:
    """The importer whose page the viewer asks for, when it may see it."""
    viewer = session.viewer
    if viewer.party_id is None:
        return None
    me = get_party(conn, viewer.party_id)
    if me is None:
        return None
    if not ref or ref == me.identifier or ref in viewer.identifiers:
        return Importer(me.identifier, me.name, True)
    if "\x00" in ref:
        return None
    try:
        party = find_party(conn, ref)
        check_reader(conn, viewer, party.id, f"the CBAM page of {party.identifier}")
    except (PartyError, NotAllowed):
        return None
    return Importer(party.identifier, party.name, party.id == me.id)


@dataclass(frozen=True)
class Price:
    eur: Decimal | None  # per certificate (tCO2e); None when none is published for the year
    period: str
    basis: str


def certificate_price(year: int) -> Price:
    """The latest certificate price published for `year` in cbam_rules.yml."""
    published = [p for period, p in sorted(cbam_data().rules.prices.items())
                 if period.startswith(f"{year}-") and p.eur_per_tonne is not None]
    if not published:
        return Price(None, "", "")
    latest = published[-1]
    return Price(latest.eur_per_tonne, latest.period, latest.basis)


@dataclass(frozen=True)
class Supplier:
    """An installation's lines, added up (the resolved part of them)."""
    operator: str
    installation: str
    installation_name: str
    tonnes: Decimal
    embedded: Decimal
    cost_eur: Decimal
    unresolved: int  # lines


def _suppliers(d: Declaration, names: PartyNames) -> list[Supplier]:
    groups: dict[str, list[DeclarationLine]] = {}
    for line in d.lines:
        groups.setdefault(line.installation, []).append(line)
    out = []
    for site, lines in groups.items():
        first = lines[0]
        out.append(Supplier(
            names.name(first.operator) or first.operator or "operator not known", site,
            first.installation_name, sum((x.tonnes for x in lines), ZERO),
            sum((x.embedded or ZERO for x in lines), ZERO),
            sum((x.certificates.cost_eur for x in lines if x.certificates), ZERO),
            sum(1 for x in lines if not x.resolved)))
    return out


def _tonnes_by_basis(d: Declaration) -> dict[str, Decimal]:
    found = {"actual": ZERO, "default": ZERO, "unresolved": ZERO}
    for line in d.lines:
        for lot in line.lots:
            found[lot.basis] = found.get(lot.basis, ZERO) + lot.tonnes
    return found


def threshold_bar(d: Declaration) -> dict[str, Any]:
    """The bar of the 50-tonne standing: net mass and threshold on one scale (the larger of
    the two, plus a margin), as percentages of the bar's width."""
    s = d.de_minimis
    scale = max(s.net_mass, s.threshold) * Decimal("1.1")
    share = (lambda t: float(round(t / scale * 100, 1))) if scale else (lambda t: 0.0)
    return {"fill": share(s.net_mass), "mark": share(s.threshold),
            "over": s.net_mass > s.threshold, "scale": scale}


def cbam_page(conn: Connection, session: Session, ref: str | None, year: int,
              check: CredentialCheck | None) -> dict[str, Any] | None:
    """The context of an importer's CBAM page; None when the viewer may not see it."""
    importer = importer_for(conn, session, ref)
    if importer is None:
        return None
    price = certificate_price(year)
    # A year without a published price is counted, not priced (the page shows no cost):
    # the default period's price only lets the certificates be computed.
    fallback, fallback_period = default_price()
    report: ImporterDeclaration = importer_declaration(
        conn, session.viewer, importer.identifier, year, price_eur=price.eur or fallback,
        price_period=price.period or fallback_period, check=check)
    d = report.declaration
    names = party_names(conn)
    lots = dict.fromkeys(f.lot for line in d.lines for f in line.lots)
    return {"credentials": {lot: _green(conn, lot) for lot in lots},"importer": importer, "year": year, "price": price, "d": d,
            "not_counted": report.imports.not_counted, "names": names,
            "suppliers": _suppliers(d, names), "by_basis": _tonnes_by_basis(d),
            "bar": threshold_bar(d), "lot_href": lot_href, "cert_href": certificate_href,
            "unresolved_tonnes": sum((x.tonnes for x in d.lines if not x.resolved), ZERO)}


def _green(conn: Connection, lot: str) -> list[tuple[str, str | None]]:
    """(id, revoked at) of the GreenMetalCredentials about a lot, newest first."""
    return [(c.id, c.revoked_at) for c in list_credentials(conn, subject=lot)
            if c.kind == "GreenMetalCredential"]


def lot_href(epc_class: str) -> str:
    return f"/lot/{quote(epc_class, safe=':/')}"


def certificate_href(credential_id: str) -> str:
    return f"/certificate/{quote(credential_id, safe=':')}"


# ---------------------------------------------------------------- a lot's figures


@dataclass(frozen=True)
class LotCbam:
    cn: str | None
    cn_basis: str  # where the CN code was read
    scope: Scope | None
    scope_error: str | None  # why the scope cannot be told
    actual: ActualValues | None
    set_aside: str | None  # why the lot's credentials give no actual values
    indirect: Decimal | None  # tCO2e of electricity the credential states
    default: str  # the default value with the year's mark-up, or why none is given
    year: int
    country: str | None  # of origin
    country_basis: str

    @property
    def see_indirect(self) -> Decimal | None:
        if self.indirect is None or self.actual is None:
            return None
        return self.indirect / self.actual.tonnes


def _ilmd_facts(ilmd: object, ns: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(CN code, country of origin) of a lot's ILMD."""
    if not isinstance(ilmd, Mapping):
        return None, None
    cn = field(ilmd, "cnCode", ns)
    country = next((ilmd[k] for k in ORIGIN_KEYS if isinstance(ilmd.get(k), str)), None)
    return (str(cn) if cn else None), country


def _default(cn: str, country: str | None, year: int) -> str:
    if not country:
        return "not available: the lot's country of origin is not known"
    try:
        value = default_see(cn, country, year)
    except CbamError as exc:
        return f"not available: {exc}"
    return (f"{fig(value.see, 6)} tCO2e/t ({value.total} x (1 + {value.markup}) of {year}; "
            f"{value.source})")


def lot_cbam(conn: Connection, subjects: list[str], ilmd: object,
             check: CredentialCheck | None, *, first_seen: tuple[str, str] | None = None,
             shipped: Sequence[Mapping[str, Any]] = (), year: int | None = None) -> LotCbam:
    """A lot's CBAM figures: its CN code and scope, and the actual values of its newest
    usable GreenMetalCredential (`subjects`: the lot as its credentials spell it). The CN
    code: the lot's ILMD, else the `cor:cnCode` of one of the `shipped` events of its
    containers (as corridor.query.imports reads it), else its credential's. The country of
    origin: the lot's ILMD, else the production site its credential names, else
    `first_seen` (place name, country of the lot's earliest event the viewer sees)."""
    year = year or datetime.now(UTC).year
    ns = known_namespaces(conn)
    cn, country = _ilmd_facts(ilmd, ns)
    cn_basis = "the lot's master data (ILMD)" if cn else ""
    if cn is None:
        cn = next((str(c) for doc in shipped if (c := field(doc, "cnCode", ns))), None)
        cn_basis = "the shipping event of its container (cor:cnCode)" if cn else ""
    country_basis = "the lot's master data (ILMD)" if country else ""
    values, why = None, None
    for subject in subjects:
        values, why = actual_values(conn, subject, check=check)
        if values is not None:
            break
    if cn is None and values is not None:
        cn, cn_basis = values.cn, f"the credential {values.credential}"
    scope, scope_error = None, None
    if cn is None:
        scope_error = "no CN code: the lot's master data and credentials give none"
    else:
        try:
            scope = in_scope(cn)
        except CbamError as exc:
            scope_error = str(exc)
    indirect = None
    if values is not None:
        stored = get_credential(conn, values.credential)
        subject = _subject(stored.document) if stored is not None else {}
        indirect = number(subject.get("electricityEmissions"))
        if country is None and (site := _site_country(conn, subject.get("producedAt"))):
            country, country_basis = site, "the production site the credential names"
    if country is None and first_seen is not None:
        country, country_basis = first_seen[1], f"where you first see the lot ({first_seen[0]})"
    default = _default(cn, country, year) if cn and scope and scope.in_scope \
        else "not applicable"
    return LotCbam(cn, cn_basis, scope, scope_error, values, why, indirect, default, year,
                   country, country_basis)


def _subject(document: str) -> Mapping[str, Any]:
    """A stored credential's subject; empty when it has none."""
    try:
        subject = json.loads(document).get("credentialSubject")
    except (ValueError, AttributeError):
        return {}
    return subject if isinstance(subject, Mapping) else {}


def _site_country(conn: Connection, sites: object) -> str | None:
    """The country of the first production site (a place of the master data) named."""
    for site in sites if isinstance(sites, list) else []:
        place = stored_places(conn).at(canonical(site), None) if isinstance(site, str) else None
        if place is not None and place.country:
            return place.country
    return None
