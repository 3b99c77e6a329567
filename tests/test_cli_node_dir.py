"""Commands that open a node's data directory or database never create a new node silently:
outside a node they name the directory they would use and refuse without --init."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from corridor.cli import main

NODE_COMMANDS = [
    ["log", "export", "mirror"],
    ["log", "audit"],
    ["party", "list"],
    ["party", "add", "Acme", "--identifier", "urn:epc:id:pgln:4012345.00000"],
    ["party", "revoke", "Acme"],
    ["fx", "ticker"],
    ["fx", "import", "--bundled"],
]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that holds no node, with no node named in the environment."""
    for name in ("CORRIDOR_DATA_DIR", "CORRIDOR_DB", "CORRIDOR_WITNESSES",
                 "CORRIDOR_WITNESS_QUORUM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("args", NODE_COMMANDS, ids=" ".join)
def test_outside_a_node_a_command_names_the_directory_and_refuses(
        elsewhere: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    line = result.output.strip()
    assert "\n" not in line, result.output
    assert str(elsewhere / "corridor-data") in line and "--init" in line
    assert not (elsewhere / "corridor-data").exists()
    assert not (elsewhere / "mirror").exists()


def test_a_named_database_that_does_not_exist_is_not_created(elsewhere: Path) -> None:
    db = elsewhere / "elsewhere.sqlite3"
    result = CliRunner().invoke(main, ["party", "list", "--db", f"sqlite:///{db}"])
    assert result.exit_code != 0 and str(db) in result.output and "--init" in result.output
    assert not db.exists()
    data_dir = elsewhere / "given"
    result = CliRunner().invoke(main, ["log", "audit", "--data-dir", str(data_dir)])
    assert result.exit_code != 0 and str(data_dir) in result.output
    assert not data_dir.exists()


def test_init_creates_the_node_and_later_commands_find_it(elsewhere: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["party", "add", "Acme", "--identifier",
                                  "urn:epc:id:pgln:4012345.00000", "--init"])
    assert result.exit_code == 0, result.output
    assert (elsewhere / "corridor-data" / "corridor.sqlite3").exists()
    result = runner.invoke(main, ["party", "list"])
    assert result.exit_code == 0 and "Acme" in result.output
    result = runner.invoke(main, ["fx", "import", "--bundled"])
    assert result.exit_code == 0, result.output
    # The database exists but the log key does not: the log commands still refuse...
    result = runner.invoke(main, ["log", "audit"])
    assert result.exit_code != 0 and "log.key" in result.output and "--init" in result.output
    assert not (elsewhere / "corridor-data" / "keys").exists()
    # ...until told to create it.
    result = runner.invoke(main, ["log", "audit", "--init"])
    assert result.exit_code == 0, result.output
    assert (elsewhere / "corridor-data" / "keys" / "log.key").exists()


def test_postgresql_database_without_a_node_is_refused(elsewhere: Path, pg_url: str) -> None:
    result = CliRunner().invoke(main, ["party", "list", "--db", pg_url])
    assert result.exit_code != 0 and "--init" in result.output, result.output
    result = CliRunner().invoke(main, ["party", "list", "--db", pg_url, "--init"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["party", "list", "--db", pg_url])
    assert result.exit_code == 0, result.output
