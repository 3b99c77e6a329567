"""The importer's declaration end to end on SQLite and on PostgreSQL (corridor.query.imports
reads the events with SQL that differs by dialect): the same lot figures on both."""

from __future__ import annotations

from decimal import Decimal

import pytest

from corridor.cbam import importer_declaration
from corridor.config import Settings
from corridor.demo import load_demo
from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.query import Viewer
from corridor.store.db import Database
from tests.api.e2_harness import module_db_url

IMPORTER = ACTOR_BY_SLUG["buyer"].pgln


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def conn(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp(f"cbam-{request.param}")
    settings = Settings(data_dir=tmp, db_url=module_db_url(request.param, tmp, request))
    load_demo(settings, shipments=12)
    found = Database(settings.db_url).connect()
    yield found
    found.close()


def test_the_declaration_reads_the_same_on_both_databases(conn) -> None:
    row = conn.fetchone("SELECT id, role FROM parties WHERE identifier = ?", (IMPORTER,))
    viewer = Viewer(int(row[0]), (IMPORTER,), row[1])
    d = importer_declaration(conn, viewer, IMPORTER, 2026, price_eur=Decimal("75.36"),
                             price_period="2026-Q1").declaration
    line = next(x for x in d.lines if x.cn == "76011000")
    lot = next(f for f in line.lots if f.lot.endswith(".AL26-0002"))
    # 141.3 tCO2e over 76.925 t, the lot's first container 25.950 t
    assert lot.basis == "actual" and lot.see == Decimal("141.3") / Decimal("76.925")
    assert lot.tonnes == Decimal("25.95") and lot.embedded is not None
    assert round(lot.embedded, 3) == Decimal("47.666")
    assert line.country == "KZ" and line.installation == "urn:epc:id:sgln:4870101.00010.0"
    assert d.de_minimis.standing == "above"
