"""`corridor doctor`: one line per check (configuration, database, keys, witnesses, disk,
clock) on a real node over SQLite and PostgreSQL; exit code 1 when a check fails."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from corridor.api.log_routes import witness_app
from corridor.cli import main, ops_doctor
from corridor.config import Settings
from corridor.ledger.note import generate_signer
from corridor.ledger.witness import FileState, Witness
from corridor.node import load_or_create_signer
from tests.api.e1_server import free_port, start_node
from tests.ledger.ledgertest import Server

CLEAN_ENV = {"CORRIDOR_WITNESSES": None, "CORRIDOR_WITNESS_QUORUM": None,
             "CORRIDOR_LOG_ORIGIN": None, "CORRIDOR_DB": None, "CORRIDOR_DATA_DIR": None}


def _doctor(data_dir: Path, db_url: str | None, **env: str | None):
    args = ["doctor", "--data-dir", str(data_dir)] + (["--db", db_url] if db_url else [])
    result = CliRunner().invoke(main, args, env={**CLEAN_ENV, **env})
    lines = {line.split()[1]: line.split()[0] for line in result.output.splitlines()
             if line[:4].strip() in ("OK", "WARN", "FAIL")}
    return result, lines


@pytest.fixture
def node_dir(db_url: str, tmp_path: Path) -> tuple[Path, str]:
    _, srv = start_node(db_url, tmp_path / "node")
    srv.stop()
    return tmp_path / "node", db_url


def test_a_sound_node_passes_every_check(node_dir: tuple[Path, str]) -> None:
    result, lines = _doctor(*node_dir)
    assert result.exit_code == 0, result.output
    assert list(lines) == ["configuration", "database", "keys", "witnesses", "disk", "clock"]
    assert set(lines.values()) <= {"OK", "WARN"}
    assert lines["database"] == lines["keys"] == lines["clock"] == "OK", result.output
    assert "none pending" in result.output and "mode 0600" in result.output


def test_a_readable_or_misnamed_key_fails(node_dir: tuple[Path, str]) -> None:
    key = node_dir[0] / "keys" / "log.key"
    os.chmod(key, 0o644)
    result, lines = _doctor(*node_dir)
    assert result.exit_code == 1 and lines["keys"] == "FAIL"
    assert "chmod 600" in result.output and "1 check(s) failed: keys" in result.output
    os.chmod(key, 0o600)
    result, lines = _doctor(*node_dir, CORRIDOR_LOG_ORIGIN="other.example/log")
    assert result.exit_code == 1 and lines["keys"] == "FAIL"
    assert "not the origin 'other.example/log'" in result.output


def test_no_node_fails_the_database_check(tmp_path: Path) -> None:
    result, lines = _doctor(tmp_path / "nothing", None)
    assert result.exit_code == 1
    assert lines["database"] == "FAIL" and lines["keys"] == "FAIL"
    assert "does not exist" in result.output


def test_witnesses_reachable_or_not(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    _, srv = start_node(f"sqlite:///{data_dir / 'corridor.sqlite3'}", data_dir)
    srv.stop()
    log_key = load_or_create_signer(Settings(data_dir=data_dir)).verifier
    live = Witness(generate_signer("w1.test"), [log_key], FileState(tmp_path / "w1.json"))
    server = Server(witness_app(live)).start()
    down = generate_signer("w2.test").as_cosigner().verifier
    try:
        both = (f"{server.url}={live.verifier.vkey} "
                f"http://127.0.0.1:{free_port()}={down.vkey}")
        result, lines = _doctor(data_dir, None, CORRIDOR_WITNESSES=both,
                                CORRIDOR_WITNESS_QUORUM="1")
        assert result.exit_code == 0 and lines["witnesses"] == "WARN", result.output
        assert "1 of 2 reachable" in result.output
        result, lines = _doctor(data_dir, None, CORRIDOR_WITNESSES=both,
                                CORRIDOR_WITNESS_QUORUM="2")
        assert result.exit_code == 1 and lines["witnesses"] == "FAIL", result.output
    finally:
        server.stop()
    result, lines = _doctor(data_dir, None, CORRIDOR_WITNESSES=both,
                            CORRIDOR_WITNESS_QUORUM="3")
    assert lines["configuration"] == "FAIL" and "quorum 3 exceeds" in result.output


def test_a_clock_off_by_seconds_warns(node_dir: tuple[Path, str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    class Ahead(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.now(tz or UTC) + timedelta(seconds=10)

    monkeypatch.setattr(ops_doctor, "datetime", Ahead)
    result, lines = _doctor(*node_dir)
    assert lines["clock"] == "WARN" and result.exit_code == 0, result.output
    assert "-10." in result.output  # the database is 10 s behind this machine
