"""`corridor` commands for the ledger concern: keygen, log export|verify|audit,
receipt verify, witness serve."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import click
import uvicorn

from corridor.api.log_routes import witness_app
from corridor.cli.local_witnesses import apply_witness_flags, parse_quorum_flag
from corridor.cli.node_dir import init_option, node_settings, require_node
from corridor.config import Settings
from corridor.epcis.documents import context_namespaces, read_document, sniff_media_type
from corridor.epcis.hashid import event_hash_id
from corridor.epcis.problems import EpcisError
from corridor.ledger.entry import EntryError, LogEntry
from corridor.ledger.entry_document import EntryDocument, entry_document, explain
from corridor.ledger.jcs import CanonicalizationError
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
    return node_settings(db_url, data_dir, **({"log_origin": origin} if origin else {}))


_node_options = [
    click.option("--data-dir", default=None, help="Node data directory (CORRIDOR_DATA_DIR)."),
    click.option("--db", "db_url", default=None, metavar="URL", help="Database URL."),
    click.option("--origin", default=None, help="Log origin (CORRIDOR_LOG_ORIGIN)."),
    init_option,
]


def _node(f: Callable) -> Callable:
    for option in reversed(_node_options):
        f = option(f)
    return f


def _open(data_dir: str | None, db_url: str | None, origin: str | None,
          witnesses: tuple[str, ...] = (), quorum_text: str | None = None) -> RunningLog:
    """The node's log; refuses (unless --init) where there is no node with its log key.
    `witnesses` and `quorum_text` are `--witness URL=VKEY` and `--quorum N`, as `serve`
    takes them (else the environment's)."""
    settings = _settings(data_dir, db_url, origin)
    apply_witness_flags(settings, witnesses, parse_quorum_flag(quorum_text))
    require_node(settings, log_key=True)
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
@click.option("--witness", "witnesses", multiple=True, metavar="URL=VKEY",
              help="The node's witnesses as `serve --witness` takes them (repeatable; "
                   "replaces CORRIDOR_WITNESSES): the mirror's checkpoint is one they cosigned.")
@click.option("--quorum", "quorum_text", default=None, metavar="N",
              help="Cosignatures the exported checkpoint needs (default: every --witness).")
@click.option("--follow", is_flag=True,
              help="Keep the mirror current until SIGINT/SIGTERM: on each new witnessed "
                   "checkpoint write the new tiles and bundles, then the checkpoint.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="With --follow: seconds between looks for a new checkpoint.")
@_node
def export(directory: str, witnesses: tuple[str, ...], quorum_text: str | None,
           follow: bool, interval: float, data_dir: str | None, db_url: str | None,
           origin: str | None) -> None:
    """Write checkpoint, tiles and entry bundles as a static tlog-tiles mirror."""
    ledger = _open(data_dir, db_url, origin, witnesses, quorum_text)
    try:
        if follow:
            _follow(ledger, Path(directory), interval)
            return
        cp = ledger.export(Path(directory))
    except (LedgerError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        ledger.close()
    click.echo(f"exported size {cp.size} to {directory}")


def _follow(ledger: RunningLog, directory: Path, interval: float) -> None:
    """Run the mirror loop until SIGINT or SIGTERM; the round in progress completes."""
    from corridor.node.mirror import Mirror
    from corridor.node.mirror import follow as follow_log

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(f"following {ledger.origin} into {directory} every {interval:g} s", err=True)
    try:
        follow_log(Mirror(ledger, directory), interval, stop, lambda r: click.echo(
            f"mirrored size {r.size} ({r.written} tile files written)"),
            lambda message: click.echo(message, err=True))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("stopped", err=True)


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


_DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")


def _read_event(path: Path, entry: LogEntry) -> tuple[dict, dict[str, str]]:
    """(event, namespaces of its extension fields) from
    `path`: one event (JSON; an "@context" member, if present, only supplies the namespaces
    and is not part of the event), or an EPCIS document, JSON or XML (the capture document,
    or what GET /epcis/events/{id} returns), whose event with the entry's digest or Event
    Hash ID is taken."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw) if sniff_media_type(raw) == "json" else None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: not readable JSON: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise click.ClickException(f"{path}: expected a JSON object (an EPCIS event)")
    if data is not None and data.get("type") not in _DOCUMENT_TYPES:
        try:
            namespaces = context_namespaces(data["@context"]) if "@context" in data else {}
        except (ValueError, TypeError) as exc:
            raise click.ClickException(f"{path}: unreadable \"@context\": {exc}") from None
        return {k: v for k, v in data.items() if k != "@context"}, namespaces
    try:
        doc = read_document(raw, validate=False)
    except EpcisError as exc:
        raise click.ClickException(f"{path}: not an EPCIS document: {exc}") from None
    events = [e for e in doc.events if entry_document(e, entry)] or \
        [e for e in doc.events if _hash_or_none(e, doc.namespaces) == entry.event_hash_id] or \
        (doc.events if len(doc.events) == 1 else [])
    if not events:
        raise click.ClickException(
            f"{path}: none of the document's {len(doc.events)} events has the entry's "
            f"digest or Event Hash ID {entry.event_hash_id}")
    return events[0], doc.namespaces


def _hash_or_none(event: dict, namespaces: dict[str, str]) -> str | None:
    try:
        return event_hash_id(event, namespaces)
    except (ValueError, KeyError, TypeError):
        return None


def _undefined_prefixes(value: object, namespaces: dict[str, str]) -> list[str]:
    """The member names (extension fields, `prefix:name`) whose prefix `namespaces` lacks."""
    found: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                prefix, sep, local = key.partition(":")
                if sep and prefix not in namespaces and not local.startswith("//") \
                        and key not in found:
                    found.append(key)
                stack.append(item)
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _event_matches(entry: LogEntry, path: Path) -> EntryDocument:
    """The event in `path` (see _read_event) must have the entry's Event Hash ID and, in the
    form docs/ledger-entry-format.md defines (the entry document), its document digest."""
    event, namespaces = _read_event(path, entry)
    try:
        own = event_hash_id(event, namespaces)
        found = entry_document(event, entry)
    except (CanonicalizationError, ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"{path}: cannot fingerprint the event: {exc}") from None
    if found is not None and own == entry.event_hash_id:
        return found
    unknown = _undefined_prefixes(event, namespaces)
    hint = (f" ({', '.join(unknown)}: extension field prefix not defined; add the capture "
            "document's \"@context\" to the event, or give the capture document)"
            if unknown else "")
    if found is not None:
        raise click.ClickException(
            f"{path}: the document is the logged one (its digest matches the entry's) but "
            f"its event hash id {own} differs from the receipt's entry "
            f"{entry.event_hash_id}{hint}")
    why = explain(event, entry, lambda e: event_hash_id(e, namespaces))
    if own != entry.event_hash_id and why.startswith("its event hash id"):
        why += hint  # (a member that explain names is proven by the digest: no hint)
    raise click.ClickException(f"{path}: not the logged event: {why}")


@receipt_group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--vkey", required=True, help="The log's verifier key.")
@click.option("--witness", "witnesses", multiple=True, metavar="VKEY")
@click.option("--quorum", type=int, default=None)
@click.option("--policy", "policy_file", default=None, type=click.Path(dir_okay=False))
@click.option("--event", "event", default=None, type=click.Path(dir_okay=False, exists=True),
              help="The event the receipt should be for: as captured, or as GET "
              "/epcis/events/{id} returns it (JSON event, or an EPCIS document holding it).")
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
    found = _event_matches(entry, Path(event)) if event else None
    click.echo(f"OK entry {receipt.index} in {cp.origin} size {cp.size}: "
               f"{entry.event_hash_id} by {entry.party} at {entry.record_time}")
    for note in found.notes if found else ():
        click.echo(f"  {note}")


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
