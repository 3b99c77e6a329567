"""`corridor log export --follow DIR`: a static mirror kept current as the log grows.

At each step the mirror verifies with the project's verifier (tiles hash to the checkpoint's
root, consistent with the previous step's checkpoint), only new tiles are written (a full tile
keeps its inode), and a reader polling the directory throughout never sees a checkpoint whose
tiles or entry bundles are missing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.ledger.checkpoint import parse_checkpoint
from corridor.ledger.note import parse_note
from corridor.ledger.policy import threshold_policy
from corridor.ledger.tiles import ENTRIES, tile_path, tiles_for_size
from corridor.ledger.transport import directory_fetcher
from corridor.ledger.verify import verify_log
from corridor.node import LedgerError, RunningLog, open_ledger
from corridor.node.mirror import Mirror, follow, new_tiles
from corridor.store.db import Database
from tests.api.e2_harness import CORRIDOR
from tests.ledger.ledgertest import ORIGIN, append


@pytest.mark.parametrize(("old", "new"), [(0, 0), (0, 1), (0, 255), (0, 256), (1, 256),
                                          (255, 257), (256, 512), (300, 70000),
                                          (65535, 65536), (65536, 65537), (5, 5)])
def test_new_tiles_are_the_difference(old: int, new: int) -> None:
    expected = set(tiles_for_size(new)) - set(tiles_for_size(old))
    assert set(new_tiles(old, new)) == expected
    assert len(new_tiles(old, new)) == len(expected)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path):
    url = (f"sqlite:///{tmp_path / 'node.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    settings = Settings(data_dir=tmp_path / "node", db_url=url, log_origin=ORIGIN,
                        witnesses=[], witness_quorum=0)
    log = open_ledger(settings, Database(url))
    yield log
    log.close()


def _missing_tiles(directory: Path, size: int) -> list[str]:
    paths = [tile_path(lvl, n, w) for level, n, w in tiles_for_size(size)
             for lvl in ((level, ENTRIES) if level == 0 else (level,))]
    return [p for p in paths if not (directory / p).is_file()]


class Reader(threading.Thread):
    """Reads the mirror's checkpoint over and over; records any whose tiles are missing."""

    def __init__(self, directory: Path) -> None:
        super().__init__(daemon=True)
        self.directory = directory
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.sizes: set[int] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                note = (self.directory / "checkpoint").read_bytes()
            except FileNotFoundError:
                continue
            size = parse_checkpoint(parse_note(note).text).size
            self.sizes.add(size)
            missing = _missing_tiles(self.directory, size)
            if missing:
                self.problems.append(f"size {size}: missing {missing[:3]}")


def _wait_size(directory: Path, size: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            note = (directory / "checkpoint").read_bytes()
            if parse_checkpoint(parse_note(note).text).size == size:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"the mirror did not reach size {size}")


def test_follow_keeps_a_verifiable_mirror(ledger: RunningLog, tmp_path: Path) -> None:
    mirror_dir = tmp_path / "mirror"
    stop = threading.Event()
    rounds: list[int] = []
    mirror = Mirror(ledger, mirror_dir)
    loop = threading.Thread(target=follow, args=(mirror, 0.02, stop, lambda r: rounds.append(
        r.written)), daemon=True)
    reader = Reader(mirror_dir)
    loop.start()
    reader.start()
    policy = threshold_policy(ledger.signer.verifier, [], 0)
    state = tmp_path / "verified"
    full_inode = None
    try:
        for count in (1, 254, 1, 1, 300, 70, 1000):
            append(ledger, count)
            ledger.sign_now()
            size = ledger.size()
            _wait_size(mirror_dir, size)
            result = verify_log(directory_fetcher(mirror_dir), ledger.signer.verifier, policy,
                                state)
            assert result.checkpoint.size == size
            if size >= 256:
                inode = (mirror_dir / "tile/0/000").stat().st_ino
                assert full_inode in (None, inode), "a full tile was rewritten"
                full_inode = inode
    finally:
        stop.set()
        loop.join(timeout=10)
        reader.stop.set()
        reader.join(timeout=10)
    assert not loop.is_alive()
    assert reader.problems == []
    assert len(reader.sizes) >= 5
    # 1631 entries: 6 full + 1 partial level-0 tiles and bundles, 1 partial level-1 tile, in
    # all; each round wrote only what it added (at most a partial tile per level, plus any
    # tile that became full, twice at level 0).
    assert sum(rounds) <= 2 * 7 + 7 * 1 + 7 * 2
    assert not list(mirror_dir.rglob(".*-*")), "a temporary file was left behind"


def test_follow_refuses_a_directory_of_another_log(ledger: RunningLog, tmp_path: Path) -> None:
    append(ledger, 3)
    ledger.sign_now()
    mirror_dir = tmp_path / "mirror"
    (mirror_dir / "tile/0/000.p").mkdir(parents=True)
    (mirror_dir / "tile/0/000.p/3").write_bytes(b"\0" * 96)
    with pytest.raises(LedgerError, match="mirrors another log"):
        Mirror(ledger, mirror_dir).sync()
    assert not (mirror_dir / "checkpoint").exists()


def test_cli_follow_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.sqlite3'}"
    settings = Settings(data_dir=tmp_path / "node", db_url=url, log_origin=ORIGIN)
    ledger = open_ledger(settings, Database(url))
    mirror_dir = tmp_path / "mirror"
    out = (tmp_path / "follow.log").open("wb")
    proc = subprocess.Popen(
        [CORRIDOR, "log", "export", str(mirror_dir), "--follow", "--interval", "0.1",
         "--db", url, "--data-dir", str(tmp_path / "node"), "--origin", ORIGIN],
        stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "CORRIDOR_WITNESSES": ""})
    try:
        for count in (10, 300):
            append(ledger, count)
            ledger.sign_now()
            _wait_size(mirror_dir, ledger.size())
            verified = subprocess.run(
                [CORRIDOR, "log", "verify", str(mirror_dir), "--vkey",
                 ledger.signer.verifier.vkey, "--workers", "1"],
                check=False, capture_output=True, text=True, timeout=60)
            assert verified.returncode == 0, verified.stderr
            assert f"size {ledger.size()}" in verified.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        ledger.close()
    text = (tmp_path / "follow.log").read_text()
    assert "mirrored size 310" in text and "stopped" in text


def test_follow_retries_a_round_the_database_failed(ledger: RunningLog, tmp_path: Path) -> None:
    append(ledger, 5)
    ledger.sign_now()
    real, calls, warnings = ledger.checkpoint, [], []

    def flaky() -> bytes | None:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is restarting")
        return real()

    ledger.checkpoint = flaky  # type: ignore[method-assign]
    stop = threading.Event()
    loop = threading.Thread(target=follow, args=(Mirror(ledger, tmp_path / "m"), 0.02, stop),
                            kwargs={"warn": warnings.append}, daemon=True)
    loop.start()
    try:
        _wait_size(tmp_path / "m", 5)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert len(warnings) == 1 and "database is restarting" in warnings[0]


def test_follow_never_takes_the_mirror_back(ledger: RunningLog, tmp_path: Path) -> None:
    append(ledger, 10)
    ledger.sign_now()
    assert Mirror(ledger, tmp_path / "m").sync().size == 10
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    other = open_ledger(Settings(data_dir=tmp_path / "node", db_url=url, log_origin=ORIGIN,
                                 witnesses=[], witness_quorum=0), Database(url))
    try:
        append(other, 3)
        other.sign_now()
        with pytest.raises(LedgerError, match="smaller than the mirrored size 10"):
            Mirror(other, tmp_path / "m").sync()
    finally:
        other.close()
    assert parse_checkpoint(parse_note((tmp_path / "m/checkpoint").read_bytes()).text).size == 10
