"""`corridor fx ...`: official exchange rates of KZT KGS TJS UZS TMT (thin shell over
corridor.fx)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from corridor.cli.node_dir import data_dir_option, init_option, node_settings, require_node
from corridor.fx.http import FeedClient
from corridor.fx.importer import FILE_PARSERS, CassetteError, import_bundled, import_files
from corridor.fx.model import RateNotFound
from corridor.fx.rates import cross_rate as compute_cross
from corridor.fx.rates import history
from corridor.fx.ticker import render, ticker
from corridor.fx.triangulation import DEFAULT_TOLERANCE, check
from corridor.fx.update import days_between, parse_banks, update
from corridor.fx.valuation import to_decimal, value
from corridor.store.db import Connection, Database
from corridor.store.fx_store import latest_date
from corridor.store.migrations import migrate


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, text: object, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(text, date):
            return text
        try:
            return date.fromisoformat(str(text))
        except ValueError:
            self.fail(f"{text!r} is not a date YYYY-MM-DD", param, ctx)


DATE = DateParam()


@contextmanager
def _connection(ctx: click.Context) -> Iterator[Connection]:
    settings = node_settings(ctx.obj["db"])
    require_node(settings)
    url = settings.db_url
    try:
        db = Database(url)
        conn = db.connect()
    except Exception as exc:  # any failure to open the database is reported, not raised
        raise click.ClickException(f"--db {url}: cannot open: {exc}") from exc
    try:
        migrate(db, conn)
        yield conn
    except (RateNotFound, CassetteError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        conn.close()


@click.group("fx")
@click.option("--db", envvar="CORRIDOR_DB", default=None, metavar="URL",
              help="Database URL (default: the node's, from CORRIDOR_DB or the data dir).")
@data_dir_option
@init_option
@click.pass_context
def fx(ctx: click.Context, db: str | None) -> None:
    """Official central-bank exchange rates of KZT, KGS, TJS, UZS, TMT (with USD, EUR)."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db


@fx.command("update")
@init_option
@click.option("--date", "day", type=DATE, help="One day (default: today, UTC).")
@click.option("--from", "start", type=DATE, help="First day of a range.")
@click.option("--to", "end", type=DATE, help="Last day of a range (default: today).")
@click.option("--bank", "banks", multiple=True,
              help="NBK, NBKR, NBT, CBU, CBT (repeatable; default: all five).")
@click.option("--timeout", default=20.0, show_default=True, help="Seconds per request.")
@click.option("--retries", default=3, show_default=True, help="Retries per request.")
@click.option("--latest", is_flag=True, help="Today's tables, NBK from its latest-only RSS.")
@click.pass_context
def update_cmd(ctx: click.Context, day: date | None, start: date | None, end: date | None,
               banks: tuple[str, ...], timeout: float, retries: int, latest: bool) -> None:
    """Fetch rates from the banks and store them (idempotent)."""
    today = datetime.now(UTC).date()
    if day and (start or end):
        raise click.UsageError("give either --date or --from/--to")
    if latest and (day or start or end):
        raise click.UsageError("--latest takes no date")
    if end and not start:
        raise click.UsageError("--to needs --from")
    with _connection(ctx) as conn:
        days = [day or today] if not start else days_between(start, end or today)
        chosen = parse_banks(banks)
        with FeedClient(timeout=timeout, retries=retries) as client:
            steps = len(days) * len(chosen)
            if steps > 1:
                with click.progressbar(length=steps, label="fetching",
                                       item_show_func=lambda s: s) as bar:
                    def tick(bank: str, d: date) -> None:
                        bar.update(1, f"{bank} {d.isoformat()}")
                    report = update(conn, client, days, chosen, progress=tick,
                                    latest=latest)
            else:
                report = update(conn, client, days, chosen, latest=latest)
    s = report.stored
    click.echo(f"stored: {s.inserted} new, {s.updated} corrected, {s.unchanged} unchanged "
               f"rates from {len(report.fetched)} table(s)")
    for note in report.no_publication:
        click.echo(f"no publication: {note}")
    for note in report.failures:
        click.echo(f"refused or failed: {note}", err=True)
    if report.failures and not report.fetched:
        ctx.exit(1)


@fx.command("import")
@init_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--bank", type=click.Choice([b.lower() for b in FILE_PARSERS],
                                          case_sensitive=False),
              help="The bank that published FILES, for its own XML or JSON files as "
                   "downloaded from its site (cassettes name their bank themselves).")
@click.option("--bundled", is_flag=True,
              help="Import the recorded responses shipped with Corridor.")
@click.pass_context
def import_cmd(ctx: click.Context, files: tuple[Path, ...], bank: str | None,
               bundled: bool) -> None:
    """Load rates offline: a bank's own published files (with --bank), recorded responses
    (VCR YAML cassettes, or folders of them). All or nothing: one refused file stores
    nothing."""
    if not files and not bundled:
        raise click.UsageError("give FILES (cassettes, or a bank's files with --bank) "
                               "or --bundled")
    with _connection(ctx) as conn:
        reports = import_files(conn, files, bank=bank) if files else []
        if bundled:
            reports.append(import_bundled(conn))
    for r in reports:
        click.echo(r.summary())
        for note in r.skipped:
            click.echo(f"  skipped {note}")


@fx.command("ticker")
@init_option
@click.option("--date", "day", type=DATE, help="Rates on this date (default: the latest "
              "publication of each bank).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
@click.pass_context
def ticker_cmd(ctx: click.Context, day: date | None, as_json: bool) -> None:
    """The five pairs against USD with the day's change, source and date."""
    with _connection(ctx) as conn:
        rows = ticker(conn, day)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        raise click.ClickException("no rates stored: run `corridor fx import --bundled` "
                                   "or `corridor fx update`")
    for line in render(rows):
        click.echo(line)


@fx.command("convert")
@init_option
@click.argument("amount")
@click.argument("source")
@click.argument("target")
@click.option("--date", "day", type=DATE,
              help="Value on this date: the rate in force then, the latest published on or "
                   "before it (default: the latest stored rate).")
@click.pass_context
def convert_cmd(ctx: click.Context, amount: str, source: str, target: str,
                day: date | None) -> None:
    """Value AMOUNT of SOURCE currency in TARGET currency at the official rate."""
    with _connection(ctx) as conn:
        v = value(conn, to_decimal(amount), source.upper(), target.upper(), day)
    click.echo(f"{v.amount} {v.currency} = {v.result} {v.target}")
    click.echo(f"  rate of  {v.describe_date()}")
    click.echo(f"  rate     {v.rate} {v.target} per {v.currency} ({v.rule}: {v.explanation})")
    click.echo(f"  source   {v.source}, effective {v.effective_date.isoformat()}"
               + (f" [{v.label}]" if v.label else ""))
    click.echo(f"  exact    {v.exact}")
    click.echo(f"  rounding {v.rounding}")


@fx.command("rates")
@init_option
@click.argument("base")
@click.argument("quote")
@click.option("--date", "day", type=DATE, help="One date (default: latest stored).")
@click.option("--from", "start", type=DATE)
@click.option("--to", "end", type=DATE)
@click.option("--csv", "as_csv", is_flag=True, help="CSV: date,base,quote,rate,rule,source")
@click.pass_context
def rates_cmd(ctx: click.Context, base: str, quote: str, day: date | None,
              start: date | None, end: date | None, as_csv: bool) -> None:
    """QUOTE per one BASE on a date, or its history, with the rule used."""
    if day and (start or end):
        raise click.UsageError("give either --date or --from/--to")
    if bool(start) != bool(end):
        raise click.UsageError("--from and --to go together")
    with _connection(ctx) as conn:
        if start and end:
            found = history(conn, base, quote, start, end)
        else:
            on = day or latest_date(conn) or datetime.now(UTC).date()
            found = [compute_cross(conn, base, quote, on)]
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["date", "base", "quote", "rate", "rule", "source", "effective_date",
                         "label"])
        writer.writerows([c.on, c.base, c.quote, c.rate, c.rule, c.sources, c.effective_date,
                          c.label] for c in found)
        click.echo(out.getvalue(), nl=False)
        return
    for c in found:
        click.echo(f"{c.on} 1 {c.base} = {c.rate} {c.quote}  {c.rule}: {c.explanation}"
                   + (f" [{c.label}]" if c.label else ""))


@fx.command("check")
@init_option
@click.option("--date", "day", type=DATE, help="Default: the latest stored date.")
@click.option("--tolerance", default=str(DEFAULT_TOLERANCE), show_default=True,
              help="Allowed relative difference on top of the banks' own rounding.")
@click.option("--all", "show_all", is_flag=True, help="Show agreeing comparisons too.")
@click.option("--fail-on-flag", is_flag=True, help="Exit 1 when anything is flagged.")
@click.pass_context
def check_cmd(ctx: click.Context, day: date | None, tolerance: str, show_all: bool,
              fail_on_flag: bool) -> None:
    """Triangulate: compare each bank's implied cross rates with the direct quotes."""
    try:
        tol = Decimal(tolerance)
    except InvalidOperation:
        raise click.BadParameter(f"{tolerance!r} is not a decimal", param_hint="--tolerance")
    with _connection(ctx) as conn:
        on = day or latest_date(conn) or datetime.now(UTC).date()
        found = check(conn, on, tolerance=tol)
    flagged = [c for c in found if c.flagged]
    click.echo(f"{on.isoformat()}: {len(found)} comparisons, {len(flagged)} beyond "
               f"tolerance {tol:%} + the banks' rounding")
    for c in found:
        if c.flagged or show_all:
            mark = "FLAG" if c.flagged else "ok  "
            click.echo(f"{mark} {c.quote} per {c.base}: {c.other.label} {c.other.rate:.6g} "
                       f"({c.other.dates}) vs {c.reference.label} {c.reference.rate:.6g} "
                       f"({c.reference.dates}): {c.deviation:+.3%} (allowed {c.allowed:.3%})")
    if flagged and fail_on_flag:
        ctx.exit(1)


COMMANDS: list[click.Command] = [fx]
