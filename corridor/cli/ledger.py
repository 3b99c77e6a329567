"""`corridor` commands for the ledger concern: keygen, log export|verify|audit,
receipt verify, witness serve."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click

from corridor.config import Settings
from corridor.ledger.entry import EntryError, LogEntry
from corridor.ledger.jcs import CanonicalizationError, document_digest
from corridor.ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    NoteError,
    generate_signer,
    parse_skey,
    parse_vkey,
)
from corridor.ledger.policy import Policy, PolicyError, parse_policy, threshold_policy
from corridor.ledger.proof import ReceiptError, parse_receipt, verify_receipt
from corridor.ledger.transport import TransportError, fetcher_for
from corridor.ledger.verify import VerifyError, verify_log
from corridor.ledger.witness import FileState, Witness
from corridor.node import LedgerError, RunningLog, open_ledger
from corridor.store.db import Database


def _settings(data_dir: str | None, db_url: str | None, origin: str | None) -> Settings:
    kwargs: dict = {}
    if data_dir:
        kwargs["data_dir"] = Path(data_dir)
    if db_url:
        kwargs["db_url"] = db_url
    if origin:
        kwargs["log_origin"] = origin
    return Settings(**kwargs)


_node_options = [
    click.option("--data-dir", default=None, help="Node data directory (CORRIDOR_DATA_DIR)."),
    click.option("--db", "db_url", default=None, metavar="URL", help="Database URL."),
    click.option("--origin", default=None, help="Log origin (CORRIDOR_LOG_ORIGIN)."),
]


def _node(f: Callable) -> Callable:
    for option in reversed(_node_options):
        f = option(f)
    return f


def _open(data_dir: str | None, db_url: str | None, origin: str | None) -> RunningLog:
    settings = _settings(data_dir, db_url, origin)
    return open_ledger(settings, Database(settings.db_url))


def _policy(vkey: str, witnesses: tuple[str, ...], quorum: int | None,
            policy_file: str | None) -> tuple[object, Policy]:
    try:
        log = parse_vkey(vkey)
        if policy_file:
            return log, parse_policy(Path(policy_file).read_text())
        keys = [(parse_vkey(w), None) for w in witnesses]
        return log, threshold_policy(log, keys, len(keys) if quorum is None else quorum)
    except (NoteError, PolicyError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


@click.command("keygen")
@click.argument("name")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Signer key file to write (default: NAME's last part + .key).")
@click.option("--cosigner", is_flag=True,
              help="Key for a witness: print the tlog-cosignature (type 0x04) verifier key.")
def keygen(name: str, out: str | None, cosigner: bool) -> None:
    """Write a signed-note signer key for NAME and print its verifier key."""
    try:
        signer = generate_signer(name, ALG_COSIGNATURE_V1 if cosigner else ALG_ED25519)
    except NoteError as exc:
        raise click.ClickException(str(exc)) from None
    path = Path(out or re.sub(r"[^A-Za-z0-9._-]", "_", name.rstrip("/").split("/")[-1]) + ".key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; not overwriting a key") from None
    with os.fdopen(fd, "w") as f:
        f.write(signer.skey + "\n")
    click.echo(f"signer key written to {path}", err=True)
    click.echo(signer.verifier.vkey)


@click.group("log")
def log_group() -> None:
    """The public Merkle log: export, verify, audit."""


@log_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@_node
def export(directory: str, data_dir: str | None, db_url: str | None,
           origin: str | None) -> None:
    """Write checkpoint, tiles and entry bundles as a static tlog-tiles mirror."""
    ledger = _open(data_dir, db_url, origin)
    try:
        cp = ledger.export(Path(directory))
    except (LedgerError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        ledger.close()
    click.echo(f"exported size {cp.size} to {directory}")


@log_group.command("verify")
@click.argument("location")
@click.option("--vkey", required=True, help="The log's verifier key.")
@click.option("--witness", "witnesses", multiple=True, metavar="VKEY",
              help="A witness's cosignature verifier key (repeatable).")
@click.option("--quorum", type=int, default=None,
              help="Cosignatures required (default: all given witnesses).")
@click.option("--policy", "policy_file", default=None, type=click.Path(dir_okay=False),
              help="A C2SP tlog-policy file instead of --witness/--quorum.")
@click.option("--state", type=click.Path(dir_okay=False), default=None,
              help="File keeping the last verified checkpoint (consistency is proved).")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Processes hashing a directory mirror (0: one per CPU).")
def verify(location: str, vkey: str, witnesses: tuple[str, ...], quorum: int | None,
           policy_file: str | None, state: str | None, workers: int) -> None:
    """Fetch and check a whole log (URL prefix or directory)."""
    log, policy = _policy(vkey, witnesses, quorum, policy_file)
    try:
        fetch, client = fetcher_for(location)
    except TransportError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        result = verify_log(fetch, log, policy, Path(state) if state else None, workers)
    except (VerifyError, TransportError) as exc:
        raise click.ClickException(f"{location}: {exc}") from None
    finally:
        if client is not None:
            client.close()
    cp = result.checkpoint
    since = "" if result.previous_size is None else f", consistent with size {result.previous_size}"
    click.echo(f"OK {cp.origin} size {cp.size}{since}; cosigned by "
               f"{', '.join(result.witnesses) or 'no witness'}")


@log_group.command("audit")
@click.option("--witness", "witnesses", multiple=True, metavar="VKEY",
              help="Witness verifier key whose cosignatures the store records (repeatable).")
@_node
def audit(witnesses: tuple[str, ...], data_dir: str | None, db_url: str | None,
          origin: str | None) -> None:
    """Re-check this node's own store: entries, tiles, checkpoints, stored events."""
    try:
        keys = [parse_vkey(w) for w in witnesses]
    except NoteError as exc:
        raise click.ClickException(str(exc)) from None
    ledger = _open(data_dir, db_url, origin)
    try:
        problems = ledger.audit(keys or None)
        size = ledger.size()
    finally:
        ledger.close()
    for p in problems:
        click.echo(f"PROBLEM {p}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in the store")
    click.echo(f"OK store of size {size} is consistent")


@click.group("receipt")
def receipt_group() -> None:
    """Offline receipts (C2SP tlog-proof)."""


def _event_matches(entry: LogEntry, path: Path) -> None:
    """The event in `path` (JSON object, as stored; an "@context" member, if present, only
    supplies the namespaces of extension fields and is not part of the event) must have the
    entry's Event Hash ID and document digest."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: expected a JSON object (an EPCIS event)")
    try:
        from corridor.epcis.documents import context_namespaces
        from corridor.epcis.hashid import event_hash_id
    except ImportError as exc:
        raise click.ClickException(f"event hash ids are unavailable: {exc}") from None
    event = {k: v for k, v in data.items() if k != "@context"}
    try:
        namespaces = context_namespaces(data["@context"]) if "@context" in data else {}
        hash_id = event_hash_id(event, namespaces)
        digest = document_digest(event)
    except (CanonicalizationError, ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"{path}: cannot fingerprint the event: {exc}") from None
    if hash_id != entry.event_hash_id:
        hint = "" if "@context" in data else (
            " (if the event has extension fields, add the capture document's \"@context\" "
            "to the event so their namespaces are known)")
        raise click.ClickException(f"{path}: event hash id {hash_id} differs from the "
                                   f"receipt's entry {entry.event_hash_id}{hint}")
    if digest != entry.document_sha256:
        raise click.ClickException(f"{path}: SHA-256 of the canonical event document "
                                   f"{digest.hex()} differs from the entry's "
                                   f"{entry.document_sha256.hex()}")


@receipt_group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--vkey", required=True, help="The log's verifier key.")
@click.option("--witness", "witnesses", multiple=True, metavar="VKEY")
@click.option("--quorum", type=int, default=None)
@click.option("--policy", "policy_file", default=None, type=click.Path(dir_okay=False))
@click.option("--event", "event", default=None, type=click.Path(dir_okay=False, exists=True),
              help="The event document (JSON) the receipt should be for.")
def receipt_verify(file: str, vkey: str, witnesses: tuple[str, ...], quorum: int | None,
                   policy_file: str | None, event: str | None) -> None:
    """Check a receipt offline, and optionally that EVENT is the logged event."""
    log, policy = _policy(vkey, witnesses, quorum, policy_file)
    try:
        receipt = parse_receipt(Path(file).read_bytes())
        cp = verify_receipt(receipt, log, policy)
        entry = LogEntry.decode(receipt.extra or b"")
    except (ReceiptError, EntryError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if event:
        _event_matches(entry, Path(event))
    click.echo(f"OK entry {receipt.index} in {cp.origin} size {cp.size}: "
               f"{entry.event_hash_id} by {entry.party} at {entry.record_time}")


@click.group("witness")
def witness_group() -> None:
    """A C2SP tlog-witness."""


@witness_group.command("serve")
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The witness's signer key file (corridor keygen NAME --cosigner).")
@click.option("--log", "logs", multiple=True, required=True, metavar="VKEY",
              help="Verifier key of a log to witness (repeatable); its name is the origin.")
@click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False),
              help="JSON file holding the latest cosigned checkpoint of each log.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8380, show_default=True, type=int)
def witness_serve(key_file: str, logs: tuple[str, ...], state_file: str, host: str,
                  port: int) -> None:
    """Serve POST /add-checkpoint."""
    import uvicorn

    from corridor.api.log_routes import witness_app

    try:
        signer = parse_skey(Path(key_file).read_text())
        verifiers = [parse_vkey(v) for v in logs]
    except NoteError as exc:
        raise click.ClickException(str(exc)) from None
    witness = Witness(signer, verifiers, FileState(Path(state_file)))
    click.echo(f"witness {witness.verifier.vkey} on http://{host}:{port}", err=True)
    sys.stderr.flush()
    uvicorn.run(witness_app(witness), host=host, port=port, log_level="warning")


COMMANDS: list[click.Command] = [keygen, log_group, receipt_group, witness_group]
