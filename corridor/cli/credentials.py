"""`corridor credential ...`: issue, list, revoke and verify certificates (W3C Verifiable
Credentials about lots), and `corridor certifier ...`: accredit the bodies that issue them.

`verify` works offline: give it the issuers to trust, the log's key and its witnesses, the
issuer's status list (a file, or the copy cached by an earlier `--online` run) and optionally
the events the claim rests on; it prints each check and exits 0 only if every one passes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from corridor.cli.node_dir import data_dir_option, node_settings, require_node
from corridor.config import Settings
from corridor.credentials import CredentialError
from corridor.credentials.claims import recompute_pairs
from corridor.credentials.credential import CRYPTOSUITES, KINDS
from corridor.credentials.service import CredentialService, IssueRequest, NotCertifier
from corridor.credentials.verify import LogTrust, verify_credential
from corridor.epcis.documents import read_document, sniff_media_type
from corridor.epcis.problems import EpcisError
from corridor.ledger.note import NoteError, parse_vkey
from corridor.ledger.policy import threshold_policy
from corridor.node import open_ledger
from corridor.query import Viewer
from corridor.store import credentials as store
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate
from corridor.store.parties import PartyError, find_party

_db_option = click.option("--db", "db_url", default=None, metavar="URL",
                          help="Database URL (default: CORRIDOR_DB or the data directory's).")


@contextmanager
def open_node(db_url: str | None, errors: tuple[type[Exception], ...] = ()
              ) -> Iterator[tuple[Settings, Connection, CredentialService]]:
    """The node's database, log and credential service; `errors` (and the credentials' own)
    become the command's error message."""
    settings = node_settings(db_url)
    require_node(settings, log_key=True)
    db = Database(settings.db_url)
    conn = db.connect()
    ledger = open_ledger(settings, db)
    try:
        migrate(db, conn)
        yield settings, conn, CredentialService(settings, db, ledger)
    except (CredentialError, PartyError, store.CredentialStoreError, *errors) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        ledger.close()
        conn.close()


def _viewer(conn: Connection, ref: str) -> Viewer:
    party = find_party(conn, ref)
    return Viewer(party.id, party.identifiers, party.role)


@click.group("certifier")
def certifier() -> None:
    """Accredited verification bodies: the issuers of credentials."""


@certifier.command("add")
@click.argument("party_ref", metavar="PARTY")
@click.option("--name", required=True, help="The name credentials show as the issuer's.")
@click.option("--accreditation", required=True, help="Its accreditation (body, number).")
@click.option("--scope", multiple=True, type=click.Choice(KINDS),
              help="Credential types it may issue (default: all).")
@_db_option
@data_dir_option
def certifier_add(party_ref: str, name: str, accreditation: str, scope: tuple[str, ...],
                  db_url: str | None) -> None:
    """Accredit PARTY (an auditor reading the lots' events by grants) with a new did:key."""
    with open_node(db_url) as (_, conn, service):
        made = service.accredit(conn, party_ref, display_name=name, accreditation=accreditation,
                                scope=scope or KINDS)
    click.echo(f"{made.display_name}: {made.did} ({', '.join(made.scope)})")


@certifier.command("list")
@_db_option
@data_dir_option
def certifier_list(db_url: str | None) -> None:
    """The accredited certifiers and their DIDs (the issuers a verifier may trust)."""
    with open_node(db_url) as (_, conn, _service):
        for c in store.certifiers(conn):
            click.echo(f"{c.party_id}\t{c.did}\t{c.display_name}\t{c.accreditation}\t"
                       f"{','.join(c.scope)}")


@click.group("credential")
def credential() -> None:
    """Certificates of green metal and of "Made in Kazakhstan with Italy"."""


@credential.command("issue")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("lot")
@click.option("--as", "as_party", required=True, metavar="PARTY",
              help="The certifier issuing (party id, identifier or name).")
@click.option("--cryptosuite", type=click.Choice(CRYPTOSUITES), default=CRYPTOSUITES[0],
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the credential here (default: standard output).")
@_db_option
@data_dir_option
def issue(kind: str, lot: str, as_party: str, cryptosuite: str, out: str | None,
          db_url: str | None) -> None:
    """Issue a KIND credential for LOT from the events the certifier may read."""
    with open_node(db_url) as (_, conn, service):
        try:
            stored = service.issue(conn, _viewer(conn, as_party),
                                   IssueRequest(kind, lot, cryptosuite))
        except NotCertifier as exc:
            raise click.ClickException(str(exc)) from None
    _write(stored.document, out)


@credential.command("list")
@click.option("--subject", default=None, help="Only credentials about this lot.")
@_db_option
@data_dir_option
def list_(subject: str | None, db_url: str | None) -> None:
    """Issued credentials, newest first."""
    with open_node(db_url) as (_, conn, _service):
        for c in store.list_credentials(conn, subject=subject):
            state = f"revoked {c.revoked_at}" if c.revoked_at else "valid"
            click.echo(f"{c.id}\t{c.kind}\t{c.subject}\t{c.issued_at}\t{state}")


@credential.command("revoke")
@click.argument("credential_id")
@click.option("--reason", required=True)
@click.option("--as", "as_party", required=True, metavar="PARTY",
              help="The issuing certifier, or an admin.")
@_db_option
@data_dir_option
def revoke(credential_id: str, reason: str, as_party: str, db_url: str | None) -> None:
    """Revoke a credential: its bit in the issuer's status list is set."""
    with open_node(db_url) as (_, conn, service):
        try:
            done = service.revoke(conn, _viewer(conn, as_party), credential_id, reason)
        except NotCertifier as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{done.id} revoked at {done.revoked_at}: {done.revocation_reason}")


def _write(text: str, out: str | None) -> None:
    if out is None:
        click.echo(text)
    else:
        Path(out).write_text(text + "\n", encoding="utf-8")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "corridor" / "status-lists"


def _cached_path(url: str) -> Path:
    return _cache_dir() / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")


def _load_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: {what} is not readable JSON ({exc})") from None


def _status_list(credential: dict[str, Any], given: str | None, online: bool
                 ) -> dict[str, Any] | None:
    """The status list: the file given, else fetched (--online, and cached), else the cache."""
    if given:
        return _load_json(given, "status list")
    entry = credential.get("credentialStatus")
    url = entry.get("statusListCredential") if isinstance(entry, dict) else None
    if not isinstance(url, str):
        return None
    cached = _cached_path(url)
    if online:
        import httpx  # only this path goes to the network

        try:
            answer = httpx.get(url, timeout=10.0, follow_redirects=False)
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise click.ClickException(f"fetching the status list {url}: {exc}") from None
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(document), encoding="utf-8")
        return document
    return _load_json(str(cached), "cached status list") if cached.exists() else None


def _events(path: str | None) -> list[dict[str, Any]] | None:
    """Events from a file: an EPCIS document, JSON or XML (the capture document, or what GET
    /epcis/events returns), a JSON list of events, or one JSON event."""
    if path is None:
        return None
    try:
        raw = Path(path).read_bytes()
        data = json.loads(raw) if sniff_media_type(raw) == "json" else None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: events file not readable ({exc})") from None
    if isinstance(data, list):
        return [e for e in data if isinstance(e, dict)]
    if isinstance(data, dict) and data.get("type") not in ("EPCISDocument",
                                                            "EPCISQueryDocument"):
        return [data]
    try:
        return read_document(raw, validate=False).events
    except EpcisError as exc:
        raise click.ClickException(f"{path}: not an EPCIS document: {exc}") from None


@credential.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--trust", "trusted", multiple=True, metavar="DID",
              help="An issuer DID to trust (repeatable; see `corridor certifier list`).")
@click.option("--vkey", default=None, help="The log's verifier key.")
@click.option("--witness", "witnesses", multiple=True, metavar="VKEY",
              help="A witness's cosigner verifier key (repeatable).")
@click.option("--quorum", type=int, default=None,
              help="Witness cosignatures a checkpoint needs (default: every --witness).")
@click.option("--status-list", "status_file", default=None,
              type=click.Path(dir_okay=False, exists=True),
              help="The issuer's status list credential (default: the cached copy).")
@click.option("--online", is_flag=True,
              help="Fetch the status list from its URL first, and cache it.")
@click.option("--events", "events_file", default=None,
              type=click.Path(dir_okay=False, exists=True),
              help="The evidence events (an EPCIS document or a JSON list): the claim is "
                   "recomputed from them.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(file: str, trusted: tuple[str, ...], vkey: str | None, witnesses: tuple[str, ...],
           quorum: int | None, status_file: str | None, online: bool,
           events_file: str | None, as_json: bool) -> None:
    """Check the credential in FILE offline; exit 0 only if every check passes."""
    document = _load_json(file, "credential")
    if not isinstance(document, dict):
        raise click.ClickException(f"{file}: a credential is a JSON object")
    log = None
    if vkey:
        try:
            keys = [(parse_vkey(w), None) for w in witnesses]
            verifier = parse_vkey(vkey)
            log = LogTrust(verifier, threshold_policy(
                verifier, keys, len(keys) if quorum is None else quorum))
        except (NoteError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    report = verify_credential(document, trusted=list(trusted) or None,
                               status_list=_status_list(document, status_file, online),
                               log=log, events=_events(events_file), recompute=recompute_pairs)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        for check in report.checks:
            click.echo(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        click.echo("verified" if report.ok else "NOT verified")
    raise SystemExit(0 if report.ok else 1)


COMMANDS = [credential, certifier]
