"""The checks of `corridor doctor`: each returns one Finding (ok, warn or fail, with one line
that says what was found and, when something is wrong, what to do)."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from corridor.config import Settings
from corridor.ledger.note import NoteError, parse_skey, parse_vkey
from corridor.store.db import Database
from corridor.store.migrations import all_migrations

CLOCK_WARN = 2.0  # seconds of skew against the database before a warning
CLOCK_FAIL = 60.0
DISK_FAIL = 100 * 1024 * 1024  # bytes free in the data directory
DISK_WARN = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # "ok", "warn" or "fail"
    detail: str

    def line(self) -> str:
        return f"{self.status.upper():<4} {self.check:<13} {self.detail}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]


def check_configuration(settings: Settings) -> Finding:
    try:
        db = Database(settings.db_url)
        for w in settings.witnesses:
            parse_vkey(w.vkey)
    except (ValueError, NoteError) as exc:
        return Finding("configuration", "fail", _first_line(exc))
    if settings.witness_quorum > len(settings.witnesses):
        return Finding("configuration", "fail",
                       f"witness quorum {settings.witness_quorum} exceeds the "
                       f"{len(settings.witnesses)} witnesses configured")
    return Finding("configuration", "ok",
                   f"data dir {settings.data_dir}, {db.dialect} database, origin "
                   f"{settings.log_origin!r}, {len(settings.witnesses)} witnesses, quorum "
                   f"{settings.witness_quorum}")


def check_database(settings: Settings) -> Finding:
    db = Database(settings.db_url)
    if db.dialect == "sqlite" and not Path(db.sqlite_path).exists():
        return Finding("database", "fail", f"{db.sqlite_path} does not exist (no node here; "
                       "`corridor serve` creates one)")
    try:
        with db.connect(reader=True) as conn:
            known = conn.fetchone("SELECT COUNT(*) FROM schema_migrations")
            applied = {str(r[0]) for r in conn.fetchall("SELECT id FROM schema_migrations")}
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        return Finding("database", "fail", f"cannot read {_safe_url(db.url)}: "
                       f"{_first_line(exc)}")
    wanted = [m.id for m in all_migrations() if m.dialect in (None, db.dialect)]
    missing = [m for m in wanted if m not in applied]
    if missing:
        return Finding("database", "warn", f"reachable; {len(missing)} migrations not applied "
                       f"yet (first: {missing[0]}); `corridor serve` applies them")
    return Finding("database", "ok", f"reachable, {known[0] if known else 0} migrations "
                   "applied, none pending")


def _safe_url(url: str) -> str:
    """The URL without a password, for a printed line."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':', 1)[0]}@{tail}"


def check_keys(settings: Settings) -> Finding:
    path = Path(settings.log_key_file or settings.data_dir / "keys" / "log.key")
    if not path.exists():
        return Finding("keys", "fail", f"log key {path} does not exist")
    mode = stat.S_IMODE(path.stat().st_mode)
    try:
        signer = parse_skey(path.read_text())
    except (NoteError, ValueError, OSError) as exc:
        return Finding("keys", "fail", f"log key {path}: {_first_line(exc)}")
    if signer.name != settings.log_origin:
        return Finding("keys", "fail", f"log key {path} is named {signer.name!r}, not the "
                       f"origin {settings.log_origin!r}")
    if mode & 0o077:
        return Finding("keys", "fail", f"log key {path} has mode {mode:04o}: others may read "
                       f"it; run chmod 600 {path}")
    return Finding("keys", "ok", f"log key {path} (mode 0600, name = origin)")


def check_witnesses(settings: Settings, timeout: float = 3.0) -> Finding:
    if not settings.witnesses:
        return Finding("witnesses", "ok", "none configured")
    down: list[str] = []
    with httpx.Client(timeout=timeout) as client:
        for w in settings.witnesses:
            try:  # any HTTP answer means it is up; add-checkpoint itself needs a POST
                client.get(w.url + "/add-checkpoint")
            except httpx.HTTPError as exc:
                down.append(f"{w.url} ({_first_line(exc)})")
    up = len(settings.witnesses) - len(down)
    if up < settings.witness_quorum:
        return Finding("witnesses", "fail", f"{up} of {len(settings.witnesses)} reachable, "
                       f"quorum {settings.witness_quorum}: unreachable {'; '.join(down)}")
    if down:
        return Finding("witnesses", "warn", f"{up} of {len(settings.witnesses)} reachable "
                       f"(quorum {settings.witness_quorum}); unreachable {'; '.join(down)}")
    return Finding("witnesses", "ok", f"all {up} reachable (quorum {settings.witness_quorum})")


def check_disk(settings: Settings) -> Finding:
    where = Path(settings.data_dir)
    while not where.exists() and where != where.parent:
        where = where.parent
    usage = shutil.disk_usage(where)
    text = f"{usage.free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB at {where}"
    if usage.free < DISK_FAIL:
        return Finding("disk", "fail", text)
    if usage.free < DISK_WARN or usage.free < usage.total * 0.05:
        return Finding("disk", "warn", text)
    return Finding("disk", "ok", text)


def check_clock(settings: Settings) -> Finding:
    db = Database(settings.db_url)
    if db.dialect == "sqlite" and not Path(db.sqlite_path).exists():
        return Finding("clock", "warn", "no database to compare with")
    sql = ("SELECT now()" if db.dialect == "postgresql"
           else "SELECT strftime('%Y-%m-%dT%H:%M:%f', 'now')")
    try:
        with db.connect(reader=True) as conn:
            before = datetime.now(UTC)
            row = conn.fetchone(sql)
            after = datetime.now(UTC)
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        return Finding("clock", "warn", f"cannot read the database's time: {_first_line(exc)}")
    theirs = row[0] if isinstance(row[0], datetime) else datetime.fromisoformat(str(row[0]))
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)
    skew = (theirs - (before + (after - before) / 2)).total_seconds()
    text = f"{skew:+.3f} s against the database's clock"
    if abs(skew) > CLOCK_FAIL:
        return Finding("clock", "fail", text + "; fix the time (NTP) on one of them")
    if abs(skew) > CLOCK_WARN:
        return Finding("clock", "warn", text + "; checkpoint ages will be off (check NTP)")
    return Finding("clock", "ok", text)


CHECKS: list[Callable[[Settings], Finding]] = [
    check_configuration, check_database, check_keys, check_witnesses, check_disk, check_clock]


def run_checks(settings: Settings) -> list[Finding]:
    """Every check, in order; a check that crashes is a failing finding."""
    found = []
    for check in CHECKS:
        try:
            found.append(check(settings))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the rest
            name = check.__name__.removeprefix("check_")
            found.append(Finding(name, "fail", f"{type(exc).__name__}: {_first_line(exc)}"))
    return found
