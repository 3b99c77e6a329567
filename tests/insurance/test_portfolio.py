"""The insurance portfolio read model (corridor.insurance.portfolio) on a real node, with
figures worked by hand: sum insured by leg and currency, open exposure, claims, premiums and
the loss ratio in EUR at the latest stored rate; an event not yet covered by the witnessed
checkpoint does not move a unit; a party to no policy sees nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from corridor.capture import capture_document
from corridor.config import Settings
from corridor.epcis.documents import read_document
from corridor.epcis.identifiers import canonical
from corridor.fx.model import Publication, Quote, restated_from
from corridor.insurance.portfolio import NOT_SEEN, cover_of, describe_trigger, portfolio
from corridor.insurance.service import InsuranceService, witnessed_size
from corridor.node import RunningLog, open_ledger
from corridor.query import Viewer
from corridor.store.db import Connection, Database
from corridor.store.fx_store import store_publications
from corridor.store.master_data import add_vocabulary_attributes, vocabulary_rows
from corridor.store.migrations import migrate
from corridor.store.parties import Party, add_party

A = "urn:epc:id:sscc:4870101.0000000042"  # delivered
B = "urn:epc:id:sscc:4870101.0000000043"  # left Aktau for Brescia
C = "urn:epc:id:sscc:4870101.0000000044"  # left the plant; seen at Aktau, not yet witnessed
D = "urn:epc:id:sscc:4870101.0000000045"  # on an offer only
PLANT = "urn:epc:id:sgln:4870101.00001.0"
AKTAU = "urn:epc:id:sgln:4870104.00001.0"
BRESCIA = "urn:epc:id:sgln:8010603.00001.0"
INSURER = "urn:epc:id:pgln:8010605.00000"
SMELTER = "urn:epc:id:pgln:4870101.00000"
# replayed history: cover attaches at binding, before the containers leave
BOUND = datetime(2026, 2, 20, tzinfo=UTC)
CTX = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
PLACES = [(PLANT, "pavlodar", "Pavlodar plant"), (AKTAU, "aktau", "Port of Aktau"),
          (BRESCIA, "brescia", "Brescia works")]


@dataclass
class Node:
    conn: Connection
    ledger: RunningLog
    service: InsuranceService
    parties: dict[str, Party]

    def viewer(self, slug: str) -> Viewer:
        p = self.parties[slug]
        return Viewer(p.id, (p.identifier,), p.role)

    def capture(self, slug: str, *events: dict[str, Any]) -> None:
        doc = {"@context": CTX, "type": "EPCISDocument", "schemaVersion": "2.0",
               "creationDate": "2026-03-01T00:00:00Z", "epcisBody": {"eventList": list(events)}}
        party = self.parties[slug]
        result = capture_document(self.conn, self.ledger, read_document(
            json.dumps(doc).encode(), "application/ld+json"), party_id=party.id,
            party_identifier=party.identifier)
        assert result.success, result.errors


def _move(epc: str, when: str, place: str, step: str) -> dict[str, Any]:
    return {"type": "ObjectEvent", "eventTime": when, "eventTimeZoneOffset": "+00:00",
            "epcList": [epc], "action": "OBSERVE", "bizStep": step,
            "disposition": "in_transit", "readPoint": {"id": place}, "bizLocation": {"id": place},
            "sourceList": [{"type": "owning_party", "source": SMELTER}]}


def _places(conn: Connection) -> None:
    mda = "urn:epcglobal:cbv:mda:"
    header = {"epcisHeader": {"epcisMasterData": {"vocabularyList": [{
        "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
        "vocabularyElementList": [{"id": sgln, "attributes": [
            {"id": mda + "name", "attribute": name},
            {"id": "https://ns.corridor.example/mda/placeKey", "attribute": key}]}
            for sgln, key, name in PLACES]}]}}}
    with conn.transaction():
        add_vocabulary_attributes(conn, vocabulary_rows(header, {}))


def _terms(units: list[str], total: str, currency: str, premium: str) -> dict[str, Any]:
    return {"insurer": INSURER, "insured": SMELTER, "units": units, "sumInsured": total,
            "currency": currency, "premium": premium,
            "coverFrom": "2026-01-01T00:00:00Z", "coverUntil": "2026-12-31T23:59:59Z",
            "triggers": [{"id": "ferry-wait", "type": "dwell", "node": AKTAU,
                          "tiers": [{"atLeastHours": 96, "share": "0.1"}]}]}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    settings = Settings(data_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'node.db'}",
                        log_origin="portfolio.test/log")  # no witnesses: quorum 0
    db = Database(settings.db_url)
    conn = db.connect()
    migrate(db, conn)
    ledger = open_ledger(settings, db)
    parties = {slug: add_party(conn, name, ident, role="member")[0] for slug, name, ident in (
        ("insurer", "Adriatica Cargo Insurance", INSURER),
        ("smelter", "Ertis Aluminium", SMELTER),
        ("aktau", "Aktau Port", "urn:epc:id:pgln:4870104.00000"))}
    _places(conn)
    # NBK, KZT per unit: USD 520.00, EUR 650.00, so 1 USD = 520 / 650 = 0.8 EUR
    store_publications(conn, [Publication("NBK", date(2026, 3, 2), date(2026, 3, 1),
                                           "https://nationalbank.kz/rss/get_rates.cfm",
                                           [Quote("USD", 1, Decimal("520.00")),
                                            Quote("EUR", 1, Decimal("650.00"))])],
                       is_restatement=restated_from)
    try:
        yield Node(conn, ledger, InsuranceService(ledger), parties)
    finally:
        ledger.close()
        conn.close()


def _journeys(node: Node) -> None:
    node.capture("smelter", _move(A, "2026-03-01T06:00:00Z", PLANT, "departing"),
                 _move(B, "2026-03-02T06:00:00Z", PLANT, "departing"),
                 _move(C, "2026-03-03T06:00:00Z", PLANT, "departing"))
    # A stays at Aktau 03-04 08:00 .. 03-09 08:00: 120 h; B arrives 03-05, leaves 03-10
    node.capture("aktau", _move(A, "2026-03-04T08:00:00Z", AKTAU, "arriving"),
                 _move(A, "2026-03-09T08:00:00Z", AKTAU, "departing"),
                 _move(B, "2026-03-05T00:00:00Z", AKTAU, "arriving"),
                 _move(B, "2026-03-10T00:00:00Z", AKTAU, "departing"))
    node.capture("smelter", _move(A, "2026-03-25T12:00:00Z", BRESCIA, "receiving"),
                 _move(A, "2026-03-25T16:00:00Z", BRESCIA, "unpacking"))


def test_portfolio_figures_worked_by_hand(node: Node) -> None:
    insurer, smelter = node.viewer("insurer"), node.viewer("smelter")
    usd = node.service.offer(node.conn, insurer, _terms([A, B], "80000.00", "USD", "1200.00"))
    eur = node.service.offer(node.conn, insurer, _terms([C], "30000.00", "EUR", "600.00"))
    node.service.offer(node.conn, insurer, _terms([D], "5000000.00", "KZT", "90000.00"))
    for policy in (usd, eur):
        node.service.bind(node.conn, smelter, policy.id, at=BOUND)
    _journeys(node)
    node.ledger.sign_now()
    assert node.service.evaluate(node.conn).claims  # A's 120 h at Aktau
    node.capture("aktau", _move(C, "2026-03-06T00:00:00Z", AKTAU, "arriving"))  # not signed
    witnessed = witnessed_size(node.ledger.checkpoint())

    p = portfolio(node.conn, insurer, witnessed=witnessed)
    assert sorted((x.status, x.role, x.terms.currency) for x in p.policies) == [
        ("bound", "insurer", "EUR"), ("bound", "insurer", "USD"), ("offered", "insurer", "KZT")]
    # Each USD unit's part: 80000.00 / 2 = 40000.00. A is delivered (unpacked at Brescia, a
    # place where journeys end); B left Aktau, and history's next place after Aktau is
    # Brescia; C's arrival at Aktau is not witnessed yet, so it is still on its first leg.
    where = {i.unit: i.position.leg for i in p.insured}
    assert where == {A: "delivered", B: "Port of Aktau \u2192 Brescia works",
                     C: "Pavlodar plant \u2192 Port of Aktau"}
    assert {i.position.key for i in p.insured} == {canonical(u) for u in (A, B, C)}
    assert [(r.leg, r.currency, r.units, r.sum_insured) for r in p.by_leg] == [
        ("Pavlodar plant \u2192 Port of Aktau", "EUR", 1, Decimal("30000.00")),
        ("Port of Aktau \u2192 Brescia works", "USD", 1, Decimal("40000.00")),
        ("delivered", "USD", 1, Decimal("40000.00"))]
    assert sorted(i.unit for i in p.exposures) == [B, C]
    # The claim: 10 % of A's 40000.00 = 4000.00 USD. The KZT offer covers nothing yet.
    assert [(c.claim.unit, c.trigger_type, c.tier, c.claim.payout, c.measure, c.shipment)
            for c in p.claims] == [(A, "dwell", 1, "4000.00", "120.00", canonical(A))]
    assert p.fired == [("dwell", 1)]
    rows = {r.currency: r for r in p.by_currency}
    assert sorted(rows) == ["EUR", "USD"]
    assert (rows["USD"].sum_insured, rows["USD"].open_exposure, rows["USD"].premiums,
            rows["USD"].paid) == (Decimal("80000.00"), Decimal("40000.00"),
                                  Decimal("1200.00"), Decimal("4000.00"))
    assert rows["USD"].loss_ratio == Decimal(4000) / Decimal(1200)  # 333.3 %
    assert (rows["EUR"].open_exposure, rows["EUR"].paid, rows["EUR"].loss_ratio) == (
        Decimal("30000.00"), Decimal(0), Decimal(0))
    # In EUR at NBK of 2026-03-02: 1 USD = 0.8 EUR. Premiums 1200 x 0.8 + 600 = 1560;
    # paid 4000 x 0.8 = 3200; loss ratio 3200 / 1560 = 2.0513 (205.1 %).
    rate = rows["USD"].rate
    assert rate is not None and rate.rate == Decimal("0.8") and rate.source == "NBK"
    assert rate.rate_date == date(2026, 3, 2) and rate.latest
    assert (p.premiums_eur, p.paid_eur, p.unconverted) == (Decimal(1560), Decimal(3200), [])
    assert p.loss_ratio_eur is not None and round(p.loss_ratio_eur, 4) == Decimal("2.0513")

    # The insured reads the same policies, as the insured; a party to none reads nothing.
    assert {x.role for x in portfolio(node.conn, smelter, witnessed=witnessed).policies} == {
        "insured"}
    empty = portfolio(node.conn, node.viewer("aktau"), witnessed=witnessed)
    assert (empty.policies, empty.insured, empty.claims, empty.by_currency) == ([], [], [], [])
    # Without the witnessed limit C's arrival counts for the insured, who reads it; not for
    # the insurer, with whom the next evaluation pass shares it.
    loose = {i.unit: i.position.leg for i in portfolio(node.conn, smelter).insured}
    assert loose[C] == "at Port of Aktau"
    loose = {i.unit: i.position.leg for i in portfolio(node.conn, insurer).insured}
    assert loose[C] == "Pavlodar plant \u2192 Port of Aktau"


def test_the_cover_of_a_unit_is_for_its_parties_only(node: Node) -> None:
    insurer, smelter = node.viewer("insurer"), node.viewer("smelter")
    policy = node.service.offer(node.conn, insurer, _terms([A, B], "80000.00", "USD", "1200.00"))
    node.service.bind(node.conn, smelter, policy.id, at=BOUND)
    _journeys(node)
    node.ledger.sign_now()
    node.service.evaluate(node.conn)
    for viewer, role in ((insurer, "insurer"), (smelter, "insured")):
        (cover,) = cover_of(node.conn, viewer, canonical(A))
        assert cover.role == role and cover.policy.id == policy.id
        assert [(c.claim.trigger_id, c.claim.payout) for c in cover.claims] == [
            ("ferry-wait", "4000.00")]
        (b_cover,) = cover_of(node.conn, viewer, canonical(B))
        assert b_cover.claims == ()
    assert cover_of(node.conn, node.viewer("aktau"), canonical(A)) == []
    assert cover_of(node.conn, Viewer.PUBLIC, canonical(A)) == []
    assert cover_of(node.conn, insurer, canonical(C)) == []
    trigger = cover.terms.triggers[0]
    assert describe_trigger(trigger, {canonical(AKTAU): "Port of Aktau"}) == \
        "dwell: stay at Port of Aktau; \u2265 96 h: 10 %"
    assert NOT_SEEN == "not seen yet"
