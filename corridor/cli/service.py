"""`corridor serve`: run the node's HTTP service on uvicorn, in one process or, with
`--workers N` on PostgreSQL, in N processes sharing one listening socket."""

from __future__ import annotations

import errno
import gc
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
import click
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

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
from corridor.node import LedgerError, RunningLog, load_or_create_signer, open_ledger
from corridor.query.dashboard import unit_index
from corridor.serving import AppContext
from corridor.serving.logs import configure_logging
from corridor.store import Database, migrate


@click.command("serve")
@click.option("--db", "db_url", default=None, metavar="URL",
              help="Database URL: sqlite:///PATH (default: the SQLite file in the data "
                   "directory) or postgresql://...")
@click.option("--read-db", "read_db_url", default=None, metavar="URL",
              help="A read replica of --db that event queries read; they tolerate its lag "
                   "(default: CORRIDOR_READ_DB; none: queries read --db).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where keys and the default SQLite file live (default: CORRIDOR_DATA_DIR "
                   "or ./corridor-data).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the listening socket, each with its own "
                   "database connections (more than 1 needs PostgreSQL).")
@click.option("--demo", is_flag=True, help="Load the demo corridor scenario before serving.")
@click.option("--shipments", default=200, show_default=True, type=click.IntRange(1, 100000),
              help="Shipments in the demo scenario (with --demo).")
@click.option("--threads", default=None, type=click.IntRange(1, 1000), metavar="N",
              help="Threads per server process for requests that read the database, each "
                   "holding one connection (default: 40). Keep (threads + 6) x processes of "
                   "all nodes under PostgreSQL's max_connections.")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--log-format", default="text", show_default=True,
              type=click.Choice(["text", "json"]),
              help="json: one JSON object a line (time, level, logger, message, request_id).")
@click.option("--witness", "witnesses", multiple=True, metavar="URL=VKEY",
              help="A witness to push checkpoints to: its base URL and cosigner verifier key "
                   "(repeatable; replaces CORRIDOR_WITNESSES). With --demo and no witness, "
                   f"{LOCAL_WITNESSES} local witnesses run on loopback.")
@click.option("--quorum", "quorum_text", default=None, metavar="N",
              help="Cosignatures a checkpoint needs before it is published (default: every "
                   "--witness; else CORRIDOR_WITNESS_QUORUM; with the demo's local witnesses "
                   f"{LOCAL_WITNESSES}).")
def serve(db_url: str | None, read_db_url: str | None, data_dir: Path | None, host: str,
          port: int, workers: int, demo: bool, shipments: int, threads: int | None,
          log_level: str, log_format: str, witnesses: tuple[str, ...],
          quorum_text: str | None) -> None:
    """Serve the EPCIS REST binding (/epcis/), the public log (/log/), FX rates and the
    dashboard."""
    quorum = parse_quorum_flag(quorum_text)
    settings = node_settings(db_url, data_dir)
    if read_db_url:
        settings.read_db_url = read_db_url
    if workers > 1 and Database(settings.db_url).dialect != "postgresql":
        raise click.ClickException(
            f"--workers {workers} needs PostgreSQL (--db postgresql://...): on SQLite one "
            "process is the database's single writer and the log's only signer; use "
            "--workers 1")
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
        url, how = f"http://{host}:{port}", _How(log_level, threads, log_format)
        if workers == 1:
            _serve_here(settings, sock, url, how, first_cosign=started is not None)
        else:
            _serve_workers(settings, sock, url, how, workers, first_cosign=started is not None)
    finally:
        sock.close()
        if started is not None:
            started.stop()


@dataclass(frozen=True)
class _How:
    """How each server process runs uvicorn."""
    log_level: str
    threads: int | None  # None: anyio's default thread limit
    log_format: str = "text"  # "json": corridor.serving.logs' one object a line


def _serve_here(settings: Settings, sock: socket.socket, url: str, how: _How, *,
                first_cosign: bool) -> None:
    """Serve in this process: the one-process node (`--workers 1`)."""
    app = create_app(settings)
    ctx: AppContext = app.state.ctx
    if first_cosign:  # the first screen shows a cosigned checkpoint
        _first_cosignatures(ctx.running_log())
    _prepare(ctx)
    sock.listen(2048)  # from here a visitor waits for the first answer, not refused
    click.echo(f"Corridor serving on {url}/ (EPCIS at /epcis/, database"
               f" {settings.db_url})")
    _run(app, sock, how)


def _prepare(ctx: AppContext) -> None:
    """Get a built app ready for its first request."""
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


def _serve_workers(settings: Settings, sock: socket.socket, url: str, how: _How,
                   workers: int, *, first_cosign: bool) -> None:
    """Serve from `workers` processes, each its own app and connections, all accepting on
    the socket bound here. Migrations and the first cosignatures run once, before them; the
    log's sequencer is elected among them (and the other nodes) through the database."""
    db = Database(settings.db_url)
    with db.connect() as conn:
        migrate(db, conn)
    if first_cosign:
        ledger = open_ledger(settings, db)
        try:
            _first_cosignatures(ledger)
        finally:
            ledger.close()
    sock.listen(2048)
    click.echo(f"Corridor serving on {url}/ with {workers} workers (EPCIS at /epcis/, "
               f"database {settings.db_url})")
    _supervise(settings, sock, how, workers)


def _worker(settings: Settings, sock: socket.socket, how: _How) -> None:
    """One worker process of `--workers N` (spawned: nothing of the parent's state)."""
    _die_with_parent()
    if os.environ.get("CORRIDOR_NODE_ID"):  # the workers of one node, told apart in the lease
        os.environ["CORRIDOR_NODE_ID"] += f"/{os.getpid()}"
    app = create_app(settings)
    _prepare(app.state.ctx)
    _run(app, sock, how)


def _supervise(settings: Settings, sock: socket.socket, how: _How, workers: int) -> None:
    """Run the workers until SIGINT or SIGTERM, then stop them gracefully. A worker that dies
    is replaced, unless it exited by itself within its first seconds (it failed to start, and
    its successor would too): that stops the whole service."""
    spawn = multiprocessing.get_context("spawn")  # no threads or connections inherited

    def start() -> tuple[multiprocessing.process.BaseProcess, float]:
        proc = spawn.Process(target=_worker, args=(settings, sock, how),
                             name="corridor-worker")
        proc.start()
        return proc, time.monotonic()

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    procs = [start() for _ in range(workers)]
    failed: str | None = None
    try:
        while not stop.wait(0.5):
            for i, (proc, since) in enumerate(procs):
                if proc.is_alive():
                    continue
                code = proc.exitcode or 0
                if code > 0 and time.monotonic() - since < _EARLY_EXIT:
                    failed = f"a worker exited while starting (exit code {proc.exitcode})"
                    stop.set()
                    break
                click.echo(f"worker {proc.pid} exited ({proc.exitcode}); starting another",
                           err=True)
                procs[i] = start()
    finally:
        for proc, _ in procs:
            if proc.is_alive():
                proc.terminate()
        for proc, _ in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    if failed:
        raise click.ClickException(f"{failed}; its reason is in the lines above")


def _die_with_parent() -> None:
    """Linux: have the kernel stop this worker when the supervisor dies, even by kill -9, so
    that no orphan keeps serving (and keeps the sequencer lease) behind a dead node."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the supervisor died before that took effect
            sys.exit(1)


_EARLY_EXIT = 5.0  # seconds: a worker gone sooner failed to start, not crashed serving


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


def _first_cosignatures(ledger: RunningLog) -> None:
    """Sign the stored tree and have the local witnesses cosign it before serving."""
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


def _run(app: ASGIApp, sock: socket.socket, how: _How) -> None:
    """uvicorn.run on an already bound socket."""
    if how.threads is not None:
        app = _ThreadLimit(app, how.threads)
    json_logs = how.log_format == "json"
    if json_logs:  # before uvicorn starts, which then keeps its hands off (log_config=None)
        configure_logging("json", how.log_level)
    server = uvicorn.Server(uvicorn.Config(
        app, log_level=how.log_level, access_log=False, http=JoinedWritesProtocol,
        **({"log_config": None} if json_logs else {})))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE: the reason is in its log line


class _ThreadLimit:
    """The app, with the event loop's thread limit (starlette's run_in_threadpool: each
    thread keeps a database connection of its own) set when the loop starts."""

    def __init__(self, app: ASGIApp, threads: int) -> None:
        self.app, self.threads, self._set = app, threads, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._set:
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.threads
            self._set = True
        await self.app(scope, receive, send)


def _warm_dashboard(ctx: AppContext) -> None:
    """Build the dashboard's unit index before the first visitor arrives, so the first
    overview renders as fast as the rest (a cold build reads every event once)."""
    with ctx.db.connect() as conn:
        unit_index(conn, cache_key=ctx.db.url)


COMMANDS: list[click.Command] = [serve]
