"""Which node a command works on, and the rule that only `serve`, `demo` and `--init` create
one: a command that opens a node's database or log key refuses, naming the data directory it
would use, when nothing is there (a typo in a path or running it from the wrong directory
must not start a second, empty node next to the real one)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from corridor.config import Settings
from corridor.store.db import Database

INIT_HELP = ("Create the node (its database; for the log commands its log key) if there is none; "
             "without it the command refuses to work outside an existing node.")

_META_INIT = "corridor.init"
_META_DATA_DIR = "corridor.data_dir"


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value:  # ctx.meta is shared by a group and its subcommands
            ctx.meta[key] = value
        return value
    return keep


def init_option(f: Callable) -> Callable:
    """`--init`, read by require_node (not passed to the command)."""
    return click.option("--init", is_flag=True, expose_value=False,
                        callback=_remember(_META_INIT), help=INIT_HELP)(f)


def data_dir_option(f: Callable) -> Callable:
    """`--data-dir`, read by node_settings (not passed to the command)."""
    return click.option("--data-dir", default=None, type=click.Path(file_okay=False),
                        expose_value=False, callback=_remember(_META_DATA_DIR),
                        help="Node data directory (default: CORRIDOR_DATA_DIR or "
                             "./corridor-data).")(f)


def node_settings(db_url: str | None = None, data_dir: str | Path | None = None,
                  **kwargs: Any) -> Settings:
    """The node's settings: --data-dir (given here or remembered by data_dir_option), --db,
    then the CORRIDOR_* environment, then the defaults."""
    ctx = click.get_current_context(silent=True)
    data_dir = data_dir or (ctx.meta.get(_META_DATA_DIR) if ctx else None)
    if data_dir:
        kwargs["data_dir"] = Path(data_dir)
    if db_url:
        kwargs["db_url"] = db_url
    try:
        return Settings(**kwargs)
    except ValueError as exc:  # a malformed CORRIDOR_* value names itself
        raise click.ClickException(str(exc)) from None


def _data_dir_origin() -> str:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and (ctx.params.get("data_dir") or ctx.meta.get(_META_DATA_DIR)):
        return "--data-dir"
    if os.environ.get("CORRIDOR_DATA_DIR"):
        return "CORRIDOR_DATA_DIR"
    return "the default"


def missing_part(settings: Settings, *, log_key: bool = False) -> str | None:
    """What of a node is not there (None when the database, and the log key if `log_key`,
    exist). A PostgreSQL database counts as a node once Corridor's migrations table is in it."""
    try:
        db = Database(settings.db_url)
    except ValueError as exc:
        raise click.ClickException(f"--db: {exc}") from None
    if db.dialect == "sqlite":
        path = db.sqlite_path
        if path != ":memory:" and not Path(path).exists():
            return f"{Path(path).absolute()} does not exist"
    else:
        try:
            with db.connect(reader=True) as conn:
                row = conn.fetchone("SELECT to_regclass('schema_migrations')")
        except Exception as exc:  # any failure to connect is reported, not raised
            first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            raise click.ClickException(f"--db {settings.db_url}: cannot open: {first}") from exc
        if row is None or row[0] is None:
            return f"database {settings.db_url} holds no Corridor tables"
    key = Path(settings.log_key_file or settings.data_dir / "keys" / "log.key")
    if log_key and not key.exists():
        return f"the log key {key.absolute()} does not exist"
    return None


def require_node(settings: Settings, *, log_key: bool = False) -> None:
    """Refuse (one line naming the data directory) unless the node exists or --init was
    given; with --init, the caller goes on and creates what is missing."""
    problem = missing_part(settings, log_key=log_key)
    ctx = click.get_current_context(silent=True)
    if problem is None or (ctx is not None and ctx.meta.get(_META_INIT)):
        return
    where = Path(settings.data_dir).absolute()
    raise click.ClickException(
        f"no Corridor node in {where} ({_data_dir_origin()} data directory): "
        f"{problem}. Run this in the node's directory or name it with --data-dir, "
        f"CORRIDOR_DATA_DIR or --db; add --init to create a new node there")
