"""`corridor demo`: load the deterministic Middle Corridor scenario into a node's database."""

from __future__ import annotations

from pathlib import Path

import click

from corridor.config import Settings
from corridor.demo import DemoError, load_demo


@click.command("demo")
@click.option("--shipments", default=200, show_default=True, type=click.IntRange(1, 100000),
              help="How many shipments (containers) to generate.")
@click.option("--seed", default=7, show_default=True, type=int,
              help="Random seed: the same seed always gives the same scenario.")
@click.option("--db", "db_url", default=None, metavar="URL",
              help="Database URL (default: the SQLite file in the data directory).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Node data directory: keys and the default SQLite file.")
def demo(shipments: int, seed: int, db_url: str | None, data_dir: Path | None) -> None:
    """Load the demo scenario (parties, FX rates, events through the capture path, a signed
    checkpoint). Running it again changes nothing."""
    kwargs: dict[str, object] = {"db_url": db_url or ""}
    if data_dir is not None:
        kwargs["data_dir"] = data_dir
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    try:
        summary = load_demo(settings, shipments=shipments, seed=seed)
    except (DemoError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(summary))
    click.echo(f"database: {settings.db_url}")


COMMANDS: list[click.Command] = [demo]
