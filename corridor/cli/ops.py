"""`corridor` commands for running a node: backup, restore, doctor (the work is in
corridor.cli.ops_backup and corridor.cli.ops_doctor)."""

from __future__ import annotations

from pathlib import Path

import click

from corridor.cli.node_dir import node_settings, require_node
from corridor.cli.ops_backup import BackupError, backup, restore
from corridor.cli.ops_doctor import Finding, run_checks

_db_option = click.option("--db", "db_url", default=None, metavar="URL",
                          help="Database URL (CORRIDOR_DB; default: the SQLite file in the "
                               "data directory).")
_data_dir_option = click.option("--data-dir", default=None, type=click.Path(file_okay=False),
                                help="Node data directory (CORRIDOR_DATA_DIR).")


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@_data_dir_option
@_db_option
def backup_cmd(directory: Path, data_dir: str | None, db_url: str | None) -> None:
    """Back up the node into DIRECTORY (new or empty): the database (SQLite's online backup,
    or pg_dump), the keys (mode 0600) and a manifest naming the newest signed checkpoint.
    Safe while the node serves."""
    settings = node_settings(db_url, data_dir)
    require_node(settings, log_key=True)
    try:
        manifest = backup(settings, directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    cp = manifest.get("checkpoint")
    signed = "no signed checkpoint yet" if cp is None else f"checkpoint of size {cp['size']}"
    click.echo(f"backed up {manifest['dialect']} database and {len(manifest['keys'])} key "
               f"file(s) to {directory} ({signed})")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_data_dir_option
@_db_option
def restore_cmd(directory: Path, data_dir: str | None, db_url: str | None) -> None:
    """Restore the backup in DIRECTORY into a new node (an empty data directory and database).
    The restored log must pass the ledger audit and hold the manifest's signed checkpoint,
    or nothing is kept and the restore is refused."""
    settings = node_settings(db_url, data_dir)
    try:
        manifest = restore(settings, directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    cp = manifest.get("checkpoint")
    signed = "no signed checkpoint" if cp is None else f"the checkpoint of size {cp['size']}"
    click.echo(f"restored {directory} into {Path(settings.data_dir).absolute()}: the ledger "
               f"audit passed and the log holds {signed}")


@click.command("doctor")
@_data_dir_option
@_db_option
def doctor_cmd(data_dir: str | None, db_url: str | None) -> None:
    """Check the node: configuration, database, keys, witnesses, disk, clock (one line each).
    Exits 1 when a check fails (warnings do not)."""
    try:
        settings = node_settings(db_url, data_dir)
    except click.ClickException as exc:
        findings = [Finding("configuration", "fail", exc.message)]
    else:
        findings = run_checks(settings)
    for f in findings:
        click.echo(f.line())
    failed = [f.check for f in findings if f.status == "fail"]
    if failed:
        raise click.ClickException(f"{len(failed)} check(s) failed: {', '.join(failed)}")


COMMANDS = [backup_cmd, restore_cmd, doctor_cmd]
