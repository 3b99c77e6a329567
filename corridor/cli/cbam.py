"""`corridor cbam ...`: EU CBAM reports from the node's database, read as the party itself.

  corridor cbam declaration --importer ID --year Y [--format json|csv|html] [--out FILE]
                            [--price EUR --period 2026-Qn]
                            [--paid INSTALLATION=AMOUNT:CURRENCY[:YYYY-MM-DD]:EVIDENCE ...]
  corridor cbam communication --installation SGLN --period P --out FILE.xlsx [--format json]

The declaration reads as the importer (ID: its party id, identifier or name); the
communication as the installation's operator (the party registered under its GS1 company
prefix). A credential's communicated values count once the node verifies it.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from corridor.cbam.communication import PeriodError
from corridor.cbam.outputs import communication_xlsx, declaration_csv, declaration_html
from corridor.cbam.paid import PaidError, parse_paid
from corridor.cbam.service import (
    NotAllowed,
    UnknownInstallation,
    default_price,
    importer_declaration,
    installation_communication,
    installation_site,
    published_price,
)
from corridor.cli.credentials import open_node
from corridor.cli.node_dir import data_dir_option
from corridor.config import Settings
from corridor.credentials.service import CredentialService
from corridor.emissions.cbam import CarbonPricePaid
from corridor.emissions.cbam_data import CbamError
from corridor.query import Viewer
from corridor.store.db import Connection
from corridor.store.parties import find_party, get_party

_db_option = click.option("--db", "db_url", default=None, metavar="URL",
                          help="Database URL (default: CORRIDOR_DB or the data directory's).")


def _node(db_url: str | None) -> AbstractContextManager[
        tuple[Settings, Connection, CredentialService]]:
    return open_node(db_url, (CbamError, PeriodError, NotAllowed, UnknownInstallation))


def _price(price: str | None, period: str | None) -> tuple[Decimal, str]:
    if price is None:
        return published_price(period) if period else default_price()
    if period is None:
        raise click.BadParameter("give the period of the price (e.g. 2026-Q1)",
                                 param_hint="--period")
    try:
        value = Decimal(price)
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise click.BadParameter("EUR per certificate, a number above 0", param_hint="--price")
    return value, period


def _paid(given: tuple[str, ...]) -> dict[str, CarbonPricePaid]:
    try:
        return parse_paid(given)
    except PaidError as exc:
        raise click.BadParameter(str(exc), param_hint="--paid") from None


def _write(content: str | bytes, out: str | None) -> None:
    if out is None:
        click.echo(content if isinstance(content, str) else content.decode())
    elif isinstance(content, bytes):
        Path(out).write_bytes(content)
    else:
        Path(out).write_text(content, encoding="utf-8", newline="")


@click.group("cbam")
def cbam() -> None:
    """EU CBAM: an importer's declaration, an installation's communication."""


@cbam.command("declaration")
@click.option("--importer", required=True, metavar="ID",
              help="The importer (party id, identifier or name); the report is read as it.")
@click.option("--year", required=True, type=click.IntRange(2026, 2100))
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "html"]), default="json",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write here (default: standard output).")
@click.option("--price", default=None, metavar="EUR",
              help="Certificate price; needs --period (default: the published price of "
                   "cbam_rules.yml certificate_price.default_period).")
@click.option("--period", default=None, metavar="YYYY-Qn", help="The quarter of the price.")
@click.option("--paid", "paid", multiple=True,
              metavar="INSTALLATION=AMOUNT:CURRENCY[:YYYY-MM-DD]:EVIDENCE",
              help="Carbon price paid at origin for an installation's line, with its evidence "
                   "(e.g. the allowance surrender record and its SHA-256, separated by ','); "
                   "valued in EUR at the official rate of the day paid, else of 31 December.")
@_db_option
@data_dir_option
def declaration(importer: str, year: int, fmt: str, out: str | None, price: str | None,
                period: str | None, paid: tuple[str, ...], db_url: str | None) -> None:
    """The importer's CBAM declaration data for YEAR."""
    prices_paid = _paid(paid)
    with _node(db_url) as (_, conn, service):
        eur, price_period = _price(price, period)
        party = find_party(conn, importer)
        viewer = Viewer(party.id, party.identifiers, party.role)
        found = importer_declaration(
            conn, viewer, party.identifier, year, price_eur=eur,
            price_period=price_period, paid=prices_paid,
            check=lambda doc: [c.name for c in service.verify(conn, doc).checks if not c.ok])
    if fmt == "csv":
        _write(declaration_csv(found.declaration), out)
    elif fmt == "html":
        _write(declaration_html(found.declaration, extra={
            "containersNotCounted": list(found.imports.not_counted)}), out)
    else:
        _write(json.dumps(found.to_json(), indent=2, ensure_ascii=False) + "\n", out)


@cbam.command("communication")
@click.option("--installation", required=True, metavar="SGLN",
              help="The installation, e.g. urn:epc:id:sgln:4870101.00010.0")
@click.option("--period", required=True, metavar="P", help="A year (2026) or quarter (2026-Q1).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The file to write (FILE.xlsx).")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "json"]), default="xlsx",
              show_default=True)
@_db_option
@data_dir_option
def communication(installation: str, period: str, out: str, fmt: str,
                  db_url: str | None) -> None:
    """The installation's communication (SEE per product) for a period, read as its
    operator."""
    with _node(db_url) as (_, conn, _service):
        _, operator = installation_site(conn, installation)
        party = get_party(conn, operator) if operator is not None else None
        if party is None:
            raise click.ClickException(f"{installation}: no party is registered under its GS1 "
                                       "company prefix (its operator)")
        viewer = Viewer(party.id, party.identifiers, party.role)
        found = installation_communication(conn, viewer, installation, period)
    if fmt == "json":
        _write(json.dumps(found.to_json(), indent=2, ensure_ascii=False) + "\n", out)
    else:
        _write(communication_xlsx(found), out)
    click.echo(f"{out}: {len(found.products)} product(s), {found.period.label}", err=True)


COMMANDS = [cbam]
