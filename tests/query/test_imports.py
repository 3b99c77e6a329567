"""What the demo's importer, Metalli Padani, imported into the EU in 2026, read from the events
it may see, checked against the scenario's own plans (corridor.demo.scenario.generate) and,
for one container, against figures read by hand from the plan."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.demo import load_demo
from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.demo.geography import PLACE_BY_KEY
from corridor.demo.scenario import ShipmentPlan, generate
from corridor.query import Viewer
from corridor.query.imports import Imports, imports_of
from corridor.store.db import Connection, Database

SHIPMENTS = 60
SEED = 7
IMPORTER = ACTOR_BY_SLUG["buyer"].pgln  # Metalli Padani S.p.A.


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory):
    tmp: Path = tmp_path_factory.mktemp("imports")
    settings = Settings(data_dir=tmp, db_url=f"sqlite:///{tmp / 'node.db'}")
    load_demo(settings, shipments=SHIPMENTS, seed=SEED)
    connection = Database(settings.db_url).connect()
    yield connection
    connection.close()


def _viewer(conn: Connection, slug: str) -> Viewer:
    actor = ACTOR_BY_SLUG[slug]
    row = conn.fetchone("SELECT id, role FROM parties WHERE identifier = ?", (actor.pgln,))
    return Viewer(int(row[0]), (actor.pgln,), row[1])


def _discharge(plan: ShipmentPlan) -> datetime | None:
    """When the plan unloads the container at its Italian port (route[6]), if it does and the
    buyer then receives it at Brescia (the sea leg ended there)."""
    port = PLACE_BY_KEY[plan.route[6]]
    unloaded = [datetime.fromisoformat(p.event["eventTime"]) for p in plan.events
                if p.event.get("bizStep") == "unloading"
                and p.event["readPoint"]["id"] == port.sgln]
    return unloaded[0] if unloaded and plan.delivered else None


@pytest.fixture(scope="module")
def found(conn: Connection) -> Imports:
    return imports_of(conn, _viewer(conn, "buyer"), IMPORTER, 2026)


def test_every_container_discharged_in_italy_is_an_import_with_the_plans_figures(
        found: Imports) -> None:
    plans = {p.container: p for p in generate(SHIPMENTS, SEED).shipments}
    expected = {c for c, p in plans.items() if _discharge(p) is not None}
    assert {i.container for i in found.imports} == expected
    assert len(expected) + len(found.not_counted) == len(plans)
    # the rest are on their way at the demo's AS_OF: at sea, transshipped at Constanta, or
    # discharged in Italy and not delivered yet
    assert all("yet" in why for why in found.not_counted)
    for item in found.imports:
        plan = plans[item.container]
        origin = PLACE_BY_KEY[plan.route[0]]
        shipper = ACTOR_BY_SLUG[plan.shipper]
        assert (item.lot, item.cn, item.net_kg) == (plan.lot, plan.product.cn, plan.net_kg)
        assert item.entered == _discharge(plan)
        assert item.entry_place == PLACE_BY_KEY[plan.route[6]].name
        assert item.entry_country == "IT"
        assert (item.installation.site, item.installation.country) == (origin.sgln, "KZ")
        assert item.installation.operator == shipper.pgln
        assert item.installation.operator_name == shipper.name
        assert item.country_of_origin == "KZ"
        # the buyer cannot read the producer's TransformationEvent: the CN code is the
        # shipping event's, the installation the packing site with the lot's company prefix
        assert item.cn_basis.startswith("the shipping event ")
        assert "packed it at its own site" in item.installation.basis
        assert item.entry_event in item.evidence and item.first_eu_event in item.evidence
        assert any("Port of Constanta (RO)" in n for n in item.notes)


def test_one_container_read_by_hand(found: Imports) -> None:
    # Read from generate(60, 7): shipment 16, order 5 (ferro-chromium, Aktobe): 24 big bags of
    # 1,002 kg = 24,048 kg of lot FA26-0006, CN 7202 41 10, via Constanta to Genoa, unloaded
    # there on 9 February 2026 at 20:01:36 local time (+01:00).
    item = next(i for i in found.imports
                if i.container == "urn:epc:id:sscc:4870102.1000000016")
    assert item.lot == "urn:epc:class:lgtin:4870102.072041.FA26-0006"
    assert (item.cn, item.net_kg, item.net_tonnes) == ("72024110", 24048, Decimal("24.048"))
    assert (item.entry_place, item.entered.date()) == ("Port of Genoa", date(2026, 2, 9))
    assert item.entered.isoformat() == "2026-02-09T20:01:36+01:00"
    assert item.installation.name == "Aktobe ferro-alloy plant"
    assert item.installation.operator_name == "Aktobe Ferroalloy Works LLP"
    plan = next(p for p in generate(SHIPMENTS, SEED).shipments if p.number == 16)
    assert (plan.net_kg, plan.route[6], plan.lot_number) == (24048, "genoa", "FA26-0006")


def test_a_viewer_reading_the_production_takes_the_lots_own_ilmd(
        conn: Connection, found: Imports) -> None:
    # the certifier reads what the producers and the buyer read: it sees the producing event
    certifier = imports_of(conn, _viewer(conn, "certifier"), IMPORTER, 2026)
    assert [(i.container, i.cn, i.installation.site, i.net_kg) for i in certifier.imports] == \
        [(i.container, i.cn, i.installation.site, i.net_kg) for i in found.imports]
    assert all(i.cn_basis.startswith("the lot's ILMD") for i in certifier.imports)
    assert all(i.origin_basis == "the lot's ILMD cbvmda:countryOfOrigin"
               for i in certifier.imports)


def test_other_years_and_viewers_who_cannot_read_find_nothing(conn: Connection) -> None:
    buyer = _viewer(conn, "buyer")
    earlier = imports_of(conn, buyer, IMPORTER, 2025)
    assert earlier.imports == ()
    in_2026 = imports_of(conn, buyer, IMPORTER, 2026)
    assert sum("not in 2025" in n for n in earlier.not_counted) == len(in_2026.imports)
    assert imports_of(conn, Viewer.PUBLIC, IMPORTER, 2026).imports == ()
    # the ferry operator reads only its own events: no packing event, so no lot or mass
    ferry = imports_of(conn, _viewer(conn, "ferry"), IMPORTER, 2026)
    assert ferry.imports == ()
