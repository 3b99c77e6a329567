"""`corridor serve`: run the node's HTTP service on uvicorn."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from corridor.api.context import AppContext
from corridor.config import Settings


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
def serve(db_url: str | None, data_dir: Path | None, host: str, port: int, demo: bool,
          shipments: int, log_level: str) -> None:
    """Serve the EPCIS REST binding (/epcis/), the public log (/log/), FX rates and the
    dashboard."""
    import uvicorn

    from corridor.api.app import create_app
    from corridor.api.http_protocol import JoinedWritesProtocol

    kwargs: dict[str, object] = {"db_url": db_url or ""}
    if data_dir is not None:
        kwargs["data_dir"] = data_dir
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    if demo:
        from corridor.demo import load_demo

        summary = load_demo(settings, shipments=shipments)
        click.echo(f"demo loaded: {summary}")
    app = create_app(settings)
    _warm_dashboard(app.state.ctx)
    app.state.ctx.parts["capture"].start()  # workers ready before the first burst
    # The writer thread makes many short database calls that each release the GIL; with the
    # default 5 ms switch interval it waits behind CPU-bound capture work after each one.
    sys.setswitchinterval(0.0005)
    # What startup built (schemas, vocabularies, the app) lives as long as the process: keep
    # it out of the collector's full passes, which otherwise pause requests for milliseconds.
    gc.collect()
    gc.freeze()
    click.echo(f"Corridor serving on http://{host}:{port}/ (EPCIS at /epcis/, database"
               f" {settings.db_url})")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                http=JoinedWritesProtocol)


def _warm_dashboard(ctx: AppContext) -> None:
    """Build the dashboard's unit index before the first visitor arrives, so the first
    overview renders as fast as the rest (a cold build reads every event once)."""
    from corridor.web.overview import unit_index

    with ctx.db.connect() as conn:
        unit_index(conn, cache_key=ctx.db.url)


COMMANDS: list[click.Command] = [serve]
