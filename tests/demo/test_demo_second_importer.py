"""The demo's second Italian importer, Fonderia Berica (corridor.demo.foundry): its one
ferro-chromium container is its 2026 import, under the 50-tonne CBAM threshold, so its
declaration is exempt; adding it changed none of the scenario's other shipments, lots or
events; and the first importer's declaration changed only where the demo certifier left lots
(those made from April 2026, not verified yet) without credentials."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from corridor.cbam import importer_declaration
from corridor.config import Settings
from corridor.demo import foundry, load_demo, scenario
from corridor.demo.actors import ACTOR_BY_SLUG, PLACE_OPERATOR
from corridor.demo.credentials import VERIFIED_UNTIL
from corridor.demo.geography import PLACE_BY_KEY
from corridor.demo.scenario import generate, master_data_documents
from corridor.query import Viewer, imports_of
from corridor.store import credentials as store
from corridor.store.db import Connection, Database

SHIPMENTS = 60
SEED = 7
Q1_2026 = Decimal("75.36")
FOUNDRY = ACTOR_BY_SLUG["foundry"]
BUYER = ACTOR_BY_SLUG["buyer"]
LOT = "urn:epc:class:lgtin:4870102.072041.FA26-F001"
CONTAINER = "urn:epc:id:sscc:4870102.1000900001"
AKTOBE = "urn:epc:id:sgln:4870102.00010.0"


def test_the_foundry_is_an_italian_member_with_its_own_site() -> None:
    assert (FOUNDRY.role, FOUNDRY.prefix[:3]) == ("member", "801")
    assert FOUNDRY.prefix not in {a.prefix for a in ACTOR_BY_SLUG.values() if a is not FOUNDRY}
    site = PLACE_BY_KEY["vicenza"]
    assert PLACE_OPERATOR["vicenza"] == "foundry"
    assert site.country == "IT" and site.sgln.startswith(f"urn:epc:id:sgln:{FOUNDRY.prefix}.")
    assert 45.4 < site.lat < 45.7 and 11.4 < site.lon < 11.7  # Vicenza
    # the foundry sends its site's master data itself (the SGLN carries its prefix)
    (doc,) = [d for slug, d in master_data_documents() if slug == "foundry"]
    (vocabulary,) = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
    assert [e["id"] for e in vocabulary["vocabularyElementList"]] == [site.sgln]


def test_its_order_is_one_container_under_the_threshold() -> None:
    (plan,) = generate(SHIPMENTS, SEED).others
    assert (plan.container, plan.lot, plan.buyer, plan.shipper) == (CONTAINER, LOT, "foundry",
                                                                   "ferro")
    assert plan.route[:6] == ["aktobe", "aktau", "alat", "border", "poti", "constanta"]
    assert plan.route[6] in ("trieste", "genoa") and plan.route[7] == "vicenza"
    # 24 big bags of 987 kg: 23,688 kg, under 50 t
    assert len(plan.units) == 24 and plan.net_kg == 24 * 987 == 23688
    assert plan.delivered
    steps = [(e.party, e.event.get("bizStep")) for e in plan.events]
    assert steps[-3:] == [("foundry", "receiving"), ("foundry", "inspecting"),
                          ("foundry", "unpacking")]
    assert all(e.event["destinationList"] == [
        {"type": "owning_party", "destination": FOUNDRY.pgln}] for e in plan.events)
    # small demos leave it out, as they leave out the later orders
    assert generate(scenario.FOUNDRY_FROM - 1, SEED).others == []


def test_adding_it_changed_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    with_it = generate(SHIPMENTS, SEED)
    monkeypatch.setattr(scenario, "FOUNDRY_FROM", 10 ** 9)
    without = generate(SHIPMENTS, SEED)
    assert without.others == []
    assert [(p.container, [e.event for e in p.events]) for p in with_it.shipments] == \
        [(p.container, [e.event for e in p.events]) for p in without.shipments]
    assert [e.event for e in with_it.lot_events[:-1]] == [e.event for e in without.lot_events]
    made = with_it.lot_events[-1].event
    assert made["outputQuantityList"] == [{"epcClass": LOT, "quantity": 23688, "uom": "KGM"}]
    assert made["bizLocation"]["id"] == AKTOBE
    assert len(with_it.all_events()) == len(without.all_events()) + 1 + len(
        with_it.others[0].events)
    assert foundry.NUMBER > SHIPMENTS


class Node:
    def __init__(self, settings: Settings) -> None:
        self.conn: Connection = Database(settings.db_url).connect()

    def viewer(self, slug: str) -> Viewer:
        actor = ACTOR_BY_SLUG[slug]
        row = self.conn.fetchone("SELECT id, role FROM parties WHERE identifier = ?",
                                 (actor.pgln,))
        return Viewer(int(row[0]), (actor.pgln,), row[1])


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    tmp: Path = tmp_path_factory.mktemp("foundry")
    settings = Settings(data_dir=tmp, db_url=f"sqlite:///{tmp / 'node.db'}")
    load_demo(settings, shipments=SHIPMENTS, seed=SEED)
    found = Node(settings)
    yield found
    found.conn.close()


def test_its_container_is_its_import_of_2026(node: Node) -> None:
    found = imports_of(node.conn, node.viewer("foundry"), FOUNDRY.pgln, 2026)
    assert found.not_counted == ()
    (one,) = found.imports
    assert (one.container, one.lot, one.cn) == (CONTAINER, LOT, "72024110")
    assert one.net_kg == Decimal(23688) and one.net_tonnes == Decimal("23.688")
    # discharged at Genoa (the plan's Italian port), after a call at Constanta in transit
    assert (one.entry_place, one.entry_country, one.entered.date()) == (
        "Port of Genoa", "IT", date(2026, 3, 26))
    assert (one.installation.site, one.installation.operator, one.country_of_origin) == (
        AKTOBE, ACTOR_BY_SLUG["ferro"].pgln, "KZ")
    # nothing of it in 2025, and the first importer cannot read the foundry's imports
    assert imports_of(node.conn, node.viewer("foundry"), FOUNDRY.pgln, 2025).imports == ()
    assert imports_of(node.conn, node.viewer("buyer"), FOUNDRY.pgln, 2026).imports == ()


def test_its_declaration_is_below_the_threshold_nothing_due(node: Node) -> None:
    report = importer_declaration(node.conn, node.viewer("foundry"), FOUNDRY.pgln, 2026,
                                  price_eur=Q1_2026, price_period="2026-Q1")
    d = report.declaration
    # 23.688 t of 50 t: below, 50 - 23.688 = 26.312 t of headroom
    assert (d.de_minimis.net_mass, d.de_minimis.standing, d.de_minimis.exempt) == (
        Decimal("23.688"), "below", True)
    assert "exempt for 2026, nothing is due" in d.de_minimis.note
    (line,) = d.lines
    # actual values: the certifier's credential about the lot, 33.164 tCO2e direct over
    # 23.688 t; SEE = 33.164 / 23.688 = 1.4000338 (23.688 x 1.4 = 33.1632, 0.0008 / 23.688
    # = 0.0000338); embedded 23.688 x SEE = 33.164 tCO2e
    (stored,) = [c for c in store.list_credentials(node.conn, subject=LOT)
                 if c.kind == "GreenMetalCredential"]
    (lot,) = line.lots
    assert (lot.basis, lot.credential) == ("actual", stored.id)
    assert lot.see is not None and round(lot.see, 7) == Decimal("1.4000338")
    assert lot.embedded is not None and round(lot.embedded, 3) == Decimal("33.164")
    # exempt: no certificate due, nothing to pay, whatever the emissions
    assert line.certificates is not None
    assert line.certificates.due == 0 and line.certificates.cost_eur == 0
    assert report.to_json()["deMinimis"]["headroom"] == "26.312"


def test_the_first_importers_declaration_lost_only_the_uncertified_lots(node: Node) -> None:
    report = importer_declaration(node.conn, node.viewer("buyer"), BUYER.pgln, 2026,
                                  price_eur=Q1_2026, price_period="2026-Q1")
    plans = {p.container: p for p in generate(SHIPMENTS, SEED).shipments}
    assert CONTAINER not in {i.container for i in report.imports.imports}
    assert {i.container for i in report.imports.imports} <= set(plans)
    revoked = {c.subject for c in store.list_credentials(node.conn) if c.revoked_at}
    assert revoked == {"urn:epc:class:lgtin:4870102.072041.FA26-0001"}
    made = {e.event["outputQuantityList"][0]["epcClass"]: e.time
            for e in generate(SHIPMENTS, SEED).lot_events}
    late: set[str] = set()
    for line in report.declaration.lines:
        for f in line.lots:
            if made[f.lot] >= VERIFIED_UNTIL:  # no credential yet, and no default read
                late.add(f.lot)
                assert f.credential is None and f.basis == "unresolved"
                assert not store.list_credentials(node.conn, subject=f.lot)
            elif f.lot in revoked:
                assert f.basis == "unresolved"
            else:
                assert f.basis == "actual" and f.credential is not None
    # both bases show; the lots made from April: aluminium (AL26-0011 was made on 3 April)
    assert "urn:epc:class:lgtin:4870101.076011.AL26-0011" in late
    assert made["urn:epc:class:lgtin:4870101.076011.AL26-0002"] < VERIFIED_UNTIL
