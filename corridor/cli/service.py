"""`corridor serve`: run the node's HTTP service on uvicorn."""

from __future__ import annotations

import errno
import gc
import os
import socket
import sys
from pathlib import Path

import click
import uvicorn

from corridor.api.http_protocol import JoinedWritesProtocol
from corridor.app import create_app
from corridor.cli.local_witnesses import (
    LOCAL_WITNESSES,
    LocalWitnesses,
    apply_witness_flags,
    parse_quorum_flag,
)
from corridor.cli.node_dir import node_settings
from corridor.config import Settings
from corridor.demo import load_demo
from corridor.node import LedgerError, load_or_create_signer
from corridor.query.dashboard import unit_index
from corridor.serving import AppContext


@click.command("serve")
@click.option("--db", "db_url", default=None, metavar="URL",
              help="Database URL: sqlite:///PATH (default: the SQLite file in the data "
                   "directory) or postgresql://...")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where keys and the default SQLite file live (default: CORRIDOR_DATA_DIR "
                   "or ./corridor-data).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--demo", is_flag=True, help="Load the demo corridor scenario before serving.")
@click.option("--shipments", default=200, show_default=True, type=click.IntRange(1, 100000),
              help="Shipments in the demo scenario (with --demo).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--witness", "witnesses", multiple=True, metavar="URL=VKEY",
              help="A witness to push checkpoints to: its base URL and cosigner verifier key "
                   "(repeatable; replaces CORRIDOR_WITNESSES). With --demo and no witness, "
                   f"{LOCAL_WITNESSES} local witnesses run on loopback.")
@click.option("--quorum", "quorum_text", default=None, metavar="N",
              help="Cosignatures a checkpoint needs before it is published (default: every "
                   "--witness; else CORRIDOR_WITNESS_QUORUM; with the demo's local witnesses "
                   f"{LOCAL_WITNESSES}).")
def serve(db_url: str | None, data_dir: Path | None, host: str, port: int, demo: bool,
          shipments: int, log_level: str, witnesses: tuple[str, ...],
          quorum_text: str | None) -> None:
    """Serve the EPCIS REST binding (/epcis/), the public log (/log/), FX rates and the
    dashboard."""
    quorum = parse_quorum_flag(quorum_text)
    settings = node_settings(db_url, data_dir)
    local = _plan_witnesses(settings, witnesses, quorum, demo)
    sock = _listen(host, port)  # a busy port fails here, before anything is loaded
    port = sock.getsockname()[1]
    if "CORRIDOR_PUBLIC_URL" not in os.environ:  # credentials name their status lists here
        settings.public_url = f"http://{host}:{port}"
    started: LocalWitnesses | None = None
    try:
        if local:
            started = _start_local_witnesses(settings)
        if demo:
            summary = load_demo(settings, shipments=shipments)
            click.echo(f"demo loaded: {summary}")
        app = create_app(settings)
        ctx: AppContext = app.state.ctx
        if started is not None:  # the first screen shows a cosigned checkpoint
            _first_cosignatures(ctx)
        _warm_dashboard(ctx)
        if ctx.capture is not None:  # workers ready before the first burst
            ctx.capture.start()
        # The writer thread makes many short database calls that each release the GIL; with
        # the default 5 ms switch interval it waits behind CPU-bound capture work after each.
        sys.setswitchinterval(0.0005)
        # What startup built (schemas, vocabularies, the app) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise pause requests.
        gc.collect()
        gc.freeze()
        sock.listen(2048)  # from here a visitor waits for the first answer, not refused
        click.echo(f"Corridor serving on http://{host}:{port}/ (EPCIS at /epcis/, database"
                   f" {settings.db_url})")
        _run(app, sock, log_level)
    finally:
        sock.close()
        if started is not None:
            started.stop()


def _plan_witnesses(settings: Settings, flags: tuple[str, ...], quorum: int | None,
                    demo: bool) -> bool:
    """Apply --witness/--quorum to `settings`; True when the demo's local witnesses are to be
    started (--demo and no witness given by flag or CORRIDOR_WITNESSES)."""
    if demo and not flags and not settings.witnesses:
        k = LOCAL_WITNESSES if quorum is None else quorum
        if k > LOCAL_WITNESSES:
            raise click.ClickException(f"--quorum {k}: the demo runs {LOCAL_WITNESSES} local "
                                       "witnesses; give more with --witness URL=VKEY")
        settings.witness_quorum = k
        return True
    apply_witness_flags(settings, flags, quorum)
    return False


def _start_local_witnesses(settings: Settings) -> LocalWitnesses:
    try:
        log_key = load_or_create_signer(settings).verifier
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from None
    local = LocalWitnesses(settings.data_dir / "witnesses", log_key)
    settings.witnesses = local.start()
    names = ", ".join(f"{w.verifier.name} at {c.url}"
                      for w, c in zip(local.witnesses, settings.witnesses, strict=True))
    click.echo(f"local witnesses (keys in {settings.data_dir / 'witnesses'}): {names}; "
               f"quorum {settings.witness_quorum}")
    return local


def _first_cosignatures(ctx: AppContext) -> None:
    """Sign the stored tree and have the local witnesses cosign it before serving."""
    ledger = ctx.ledger
    ledger.sign_now()
    cosigned = ledger.witness_now()
    line = f"checkpoint cosigned by {cosigned} of {len(ledger.links)} witnesses"
    if ledger.checkpoint() is None:
        line += f"; not published yet: {ledger.waiting_for()}"
    click.echo(line)


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound now, so that a port in use is one clear line."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                         socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(f"port {port} on {host} is in use; choose another "
                                       "with --port") from None
        raise click.ClickException(f"cannot listen on {host} port {port}: "
                                   f"{exc.strerror or exc}; check --host and --port") from None
    sock.set_inheritable(True)
    return sock


def _run(app: object, sock: socket.socket, log_level: str) -> None:
    """uvicorn.run on an already bound socket."""
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False,
                                           http=JoinedWritesProtocol))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE: the reason is in its log line


def _warm_dashboard(ctx: AppContext) -> None:
    """Build the dashboard's unit index before the first visitor arrives, so the first
    overview renders as fast as the rest (a cold build reads every event once)."""
    with ctx.db.connect() as conn:
        unit_index(conn, cache_key=ctx.db.url)


COMMANDS: list[click.Command] = [serve]
