"""`corridor party ...`: manage parties, API keys, shares and auditor grants."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from corridor.cli.node_dir import data_dir_option, init_option, node_settings, require_node
from corridor.store import parties as store
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate

_db_url_option = click.option("--db", "db_url", default=None, metavar="URL",
                              help="Database URL (default: CORRIDOR_DB or the SQLite file in "
                                   "the data directory).")


def _db_option(f: Callable) -> Callable:
    """--db, --data-dir and --init (the node's database; created only with --init)."""
    return _db_url_option(data_dir_option(init_option(f)))


@contextmanager
def _connection(db_url: str | None) -> Iterator[Connection]:
    settings = node_settings(db_url)
    require_node(settings)
    db = Database(settings.db_url)
    conn = db.connect()
    try:
        migrate(db, conn)
        yield conn
    finally:
        conn.close()


@contextmanager
def _clean_errors() -> Iterator[None]:
    try:
        yield
    except store.PartyError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("party")
def party() -> None:
    """Parties (members, auditors, admins), their API keys and what they may read."""


@party.command("add")
@click.argument("name")
@click.option("--identifier", required=True,
              help="Main identifier: GLN/PGLN URN (urn:epc:id:pgln:...) or other id.")
@click.option("--also", "extra", multiple=True, metavar="ID",
              help="Another identifier the party answers to in sourceList/destinationList.")
@click.option("--role", type=click.Choice(store.ROLES), default="member", show_default=True)
@click.option("--verifier-key", default=None, metavar="B64",
              help="Ed25519 public key (base64) checking the party's signed captures.")
@_db_option
def add(name: str, identifier: str, extra: tuple[str, ...], role: str,
        verifier_key: str | None, db_url: str | None) -> None:
    """Add a party and print its new API key (shown only this once)."""
    with _clean_errors(), _connection(db_url) as conn:
        created, key = store.add_party(conn, name, identifier, role=role,
                                       verifier_key=verifier_key, extra_identifiers=extra)
    click.echo(f"party {created.id} {created.name!r} ({created.role}) {created.identifier}",
               err=True)
    click.echo("API key (store it now; it is not shown again):", err=True)
    click.echo(key)


@party.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_db_option
def list_(as_json: bool, db_url: str | None) -> None:
    """List parties (never their keys)."""
    with _connection(db_url) as conn:
        found = store.list_parties(conn)
        grants = {p.id: store.grants_of(conn, p.id) for p in found if p.role == "auditor"}
    if as_json:
        click.echo(json.dumps([
            {"id": p.id, "name": p.name, "identifier": p.identifier, "role": p.role,
             "identifiers": list(p.identifiers), "verifierKey": p.verifier_key,
             "createdAt": p.created_at, "revokedAt": p.revoked_at,
             "grants": grants.get(p.id, [])}
            for p in found], indent=2))
        return
    for p in found:
        state = f"revoked {p.revoked_at}" if p.revoked_at else "active"
        extra = [i for i in p.identifiers if i != p.identifier]
        line = f"{p.id}\t{p.name}\t{p.role}\t{p.identifier}\t{state}"
        if extra:
            line += "\talso: " + ",".join(extra)
        if grants.get(p.id):
            line += "\tgrants: " + ",".join(str(g) for g in grants[p.id])
        click.echo(line)


@party.command("revoke")
@click.argument("party_ref", metavar="PARTY")
@_db_option
def revoke(party_ref: str, db_url: str | None) -> None:
    """Revoke a party (id, identifier or name): its API key stops working at once."""
    with _clean_errors(), _connection(db_url) as conn:
        p = store.revoke_party(conn, party_ref)
    click.echo(f"party {p.id} {p.name!r} revoked at {p.revoked_at}")


@party.command("rotate-key")
@click.argument("party_ref", metavar="PARTY")
@_db_option
def rotate(party_ref: str, db_url: str | None) -> None:
    """Replace a party's API key and print the new one (the old one stops working)."""
    with _clean_errors(), _connection(db_url) as conn:
        key = store.rotate_key(conn, party_ref)
    click.echo(key)


@party.command("identify")
@click.argument("party_ref", metavar="PARTY")
@click.argument("identifier")
@_db_option
def identify(party_ref: str, identifier: str, db_url: str | None) -> None:
    """Let PARTY answer to one more IDENTIFIER in sourceList/destinationList."""
    with _clean_errors(), _connection(db_url) as conn:
        p = store.add_identifier(conn, party_ref, identifier)
    click.echo(f"party {p.id} {p.name!r} identifiers: {', '.join(p.identifiers)}")


@party.command("share")
@click.argument("event_id")
@click.argument("party_ref", metavar="PARTY")
@click.option("--captured-by", "captured_by", metavar="PARTY",
              help="The party whose event it is, when several parties' events carry that "
                   "eventID.")
@click.option("--undo", is_flag=True, help="Withdraw the share instead.")
@_db_option
def share(event_id: str, party_ref: str, captured_by: str | None, undo: bool,
          db_url: str | None) -> None:
    """Let PARTY read the stored event EVENT_ID (its eventID or Event Hash ID)."""
    with _clean_errors(), _connection(db_url) as conn:
        pks = store.events_to_share(conn, event_id, sharer=None, captured_by=captured_by)
        if not pks:
            raise store.PartyError("eventID", f"no stored event {event_id!r}"
                                   + (f" captured by {captured_by!r}" if captured_by else ""))
        if undo:
            done = store.unshare_events(conn, pks, party_ref)
            click.echo("share withdrawn" if done else "there was no such share")
            return
        p = store.share_events(conn, pks, party_ref)
    click.echo(f"event {event_id} shared with party {p.id} {p.name!r}")


@party.command("grant")
@click.argument("auditor_ref", metavar="AUDITOR")
@click.argument("party_ref", metavar="PARTY")
@click.option("--undo", is_flag=True, help="Withdraw the grant instead.")
@_db_option
def grant(auditor_ref: str, party_ref: str, undo: bool, db_url: str | None) -> None:
    """Let AUDITOR read whatever PARTY may read."""
    with _clean_errors(), _connection(db_url) as conn:
        if undo:
            done = store.revoke_grant(conn, auditor_ref, party_ref)
            click.echo("grant withdrawn" if done else "there was no such grant")
            return
        store.grant_auditor(conn, auditor_ref, party_ref)
    click.echo(f"auditor {auditor_ref} may now read what {party_ref} may read")


COMMANDS: list[click.Command] = [party]
