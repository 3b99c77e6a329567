"""Shared test fixtures.

Parts of the suite need things outside the repository: the conformance material in
../shared/conformance, a PostgreSQL server, Chromium, and Node.js with the npm packages of
tests/js (which `make setup` installs where npm is). Where one is missing the tests that need
it are skipped with the reason shown; CI sets CORRIDOR_REQUIRE_<PART>=1 so that a missing part
fails instead of skipping.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = Path(os.environ.get("CORRIDOR_CONFORMANCE", ROOT.parent / "shared" / "conformance"))
PG_URL = os.environ.get("CORRIDOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CHROMIUM = os.environ.get("CORRIDOR_CHROMIUM", "/usr/bin/chromium")
NODE = os.environ.get("CORRIDOR_NODE", "node")
# Go and golang.org/x/mod (Debian: golang-go, golang-golang-x-mod-dev) build tests/go's
# independent log verifier in GOPATH mode, with nothing fetched from the network.
GOPATH = os.environ.get("CORRIDOR_GOPATH", "/usr/share/gocode")
JS = ROOT / "tests" / "js"


def _missing(part: str, reason: str) -> None:
    """Skip, or fail where CI requires the part."""
    if os.environ.get(f"CORRIDOR_REQUIRE_{part}") == "1":
        pytest.fail(f"required by CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The folder ../shared/conformance (or $CORRIDOR_CONFORMANCE)."""
    if not CONFORMANCE.is_dir():
        _missing("CONFORMANCE", f"conformance material not found at {CONFORMANCE}")
    return CONFORMANCE


def _pg_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except (psycopg.Error, OSError) as exc:  # no server for the tests
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    """URL of the PostgreSQL test database."""
    problem = _pg_available()
    if problem:
        _missing("PG", problem)
    return PG_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test, so that
    tests (and developers running them at once) never see each other's tables."""
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_server else "?"
    try:
        yield f"{pg_server}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the system Chromium for Playwright."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing("BROWSER", f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def node_js() -> str:
    """Path of Node.js, once tests/js has its npm packages (`make setup` runs `npm ci` there)."""
    node = shutil.which(NODE)
    if not node:
        _missing("NODE", f"Node.js not found ({NODE}): apt-get install nodejs npm")
    if not (JS / "node_modules" / ".installed-stamp").exists():
        _missing("NODE", f"npm packages not installed in {JS}: make setup runs npm ci there")
    return str(node)


@pytest.fixture(scope="session")
def tlogverify(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/go/tlogverify built with Go's own sumdb code (golang.org/x/mod/sumdb)."""
    import subprocess

    go = shutil.which("go")
    source = Path(GOPATH) / "src" / "golang.org" / "x" / "mod" / "sumdb" / "tlog"
    if go is None or not source.is_dir():
        _missing("GO", "Go or golang.org/x/mod not found (apt-get install golang-go "
                 f"golang-golang-x-mod-dev; looked in {GOPATH})")
    out = tmp_path_factory.mktemp("go") / "tlogverify"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": GOPATH, "GOFLAGS": "",
           "GOCACHE": str(out.parent / "cache")}
    built = subprocess.run([str(go), "build", "-o", str(out), "."], env=env, text=True,
                           cwd=ROOT / "tests" / "go" / "tlogverify", capture_output=True,
                           timeout=300, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    return str(out)


@pytest.fixture(scope="session")
def basemap() -> Path:
    """The map's basemap, which make builds from the world-atlas npm package."""
    found = ROOT / "corridor" / "web" / "static" / "geo" / "basemap.json"
    if not found.exists():
        _missing("NODE", f"{found.relative_to(ROOT)} not built: make builds it where npm is "
                 "installed (apt-get install nodejs npm)")
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store on each database in turn: an SQLite file, or a PostgreSQL schema
    of its own (pg_url)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'corridor.sqlite3'}"
    return str(request.getfixturevalue("pg_url"))
