"""What credentials claim, computed from the demo scenario's logged events: green metal
(carbon intensity and classes) and origin (genealogy and the origin rule), refusals that name
what is missing, and recomputing an issued claim."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from corridor.credentials.claims import (
    ClaimRefused,
    LoggedEvent,
    green_metal_claim,
    green_metal_config,
    origin_claim,
    recompute,
    recompute_pairs,
)
from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.demo.geography import PLACE_BY_SGLN
from corridor.demo.scenario import COR_NS, Scenario, generate
from corridor.epcis.hashid import event_hash_id
from corridor.epcis.jsonld import standard_prefixes
from corridor.ledger.entry import LogEntry
from corridor.ledger.jcs import document_digest

NAMESPACES = {**standard_prefixes(), "cor": COR_NS}
LOW_CARBON, ASI = "low-carbon-aluminium", "asi-smelter-threshold"


def _logged(event: dict[str, Any], index: int, party: str | None,
            namespaces: dict[str, str] | None = None) -> LoggedEvent:
    """An event as a node logs it: its Event Hash ID as its eventID, at log index `index`."""
    event = {k: v for k, v in event.items() if k != "eventID"}
    hash_id = event_hash_id(event, {**standard_prefixes(), **(namespaces or NAMESPACES)})
    return LoggedEvent(hash_id, index, {**event, "eventID": hash_id}, namespaces=namespaces,
                       party=party)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(200, 7)


@pytest.fixture(scope="module")
def logged(scenario: Scenario) -> list[LoggedEvent]:
    return [_logged(p.event, i, ACTOR_BY_SLUG[p.party].pgln)
            for i, p in enumerate(scenario.all_events())]


def _names(value: Any, item: str) -> bool:
    if isinstance(value, dict):
        return any(_names(v, item) for v in value.values())
    if isinstance(value, list):
        return any(_names(v, item) for v in value)
    return value == item


def _fetch(events: Iterable[LoggedEvent]) -> Callable[[str], list[LoggedEvent]]:
    kept = list(events)
    return lambda item: [e for e in kept if _names(e.event, item)]


def _country(location: str) -> str | None:
    place = PLACE_BY_SGLN.get(location)
    return place.country if place else None


def _made(logged: list[LoggedEvent], lot: str) -> LoggedEvent:
    return next(e for e in logged if e.event["type"] == "TransformationEvent"
                and e.event["outputQuantityList"][0]["epcClass"] == lot)


def _lots(logged: list[LoggedEvent], item_ref: str, source: str | None = None) -> list[str]:
    """Lots made of `item_ref`, optionally only those powered by `source` alone."""
    found = []
    for e in logged:
        if e.event["type"] != "TransformationEvent":
            continue
        lot = e.event["outputQuantityList"][0]["epcClass"]
        sources = [s["cor:source"] for s in e.event["ilmd"].get("cor:electricitySource", [])]
        if f".{item_ref}." in lot and (source is None or sources == [source]):
            found.append(lot)
    return found


def _credential(kind: str, claim: Any) -> dict[str, Any]:
    return {"type": ["VerifiableCredential", kind], "credentialSubject": claim.subject,
            "evidence": [{"id": e.hash_id, "type": ["LoggedEvent"], "logIndex": e.log_index}
                         for e in claim.evidence]}


def _changed(logged: list[LoggedEvent], old: LoggedEvent, event: dict[str, Any]
             ) -> tuple[list[LoggedEvent], LoggedEvent]:
    """The log with `old` replaced by `event`, logged anew (a new Event Hash ID)."""
    new = _logged(event, old.log_index, old.party)
    return [new if e is old else e for e in logged], new


# ---------------------------------------------------------------- green metal


def test_a_renewable_aluminium_lot_is_low_carbon(logged: list[LoggedEvent]) -> None:
    lot = next(lot for lot in _lots(logged, "076011") if "coal" not in json.dumps(
        _made(logged, lot).event["ilmd"]["cor:electricitySource"]))
    claim = green_metal_claim(lot, _fetch(logged)(lot))
    s = claim.subject
    assert s["id"] == lot and s["type"] == "MetalLot" and s["cnCode"] == "76011000"
    assert s["material"] == "aluminium" and s["boundary"] == "cradle-to-gate"
    assert s["method"] == "ISO 14067:2018; IAI Aluminium Sector Greenhouse Gas Protocol"
    assert s["carbonIntensity"] <= 4.0 and s["classesMet"] == [LOW_CARBON, ASI]
    total = s["directEmissions"] + s["electricityEmissions"] + s["upstreamEmissions"]
    assert abs(total - s["totalEmissions"]) < 0.002
    assert abs(s["totalEmissions"] / s["netMass"] - s["carbonIntensity"]) < 0.001
    assert {x["source"] for x in s["electricitySources"]} == {
        "wind_onshore", "solar_pv_utility", "hydro"}
    assert claim.evidence == [_made(logged, lot)]  # the production event, not the transport


def test_a_coal_aluminium_lot_is_not(logged: list[LoggedEvent]) -> None:
    lot = _lots(logged, "076011", "coal")[0]
    s = green_metal_claim(lot, _fetch(logged)(lot)).subject
    assert 15.0 < s["carbonIntensity"] < 18.0  # about the global average, coal-powered
    assert s["classesMet"] == []
    by_id = {c["classId"]: c for c in s["classes"]}
    assert by_id[LOW_CARBON]["met"] is False and by_id[ASI]["met"] is False
    assert by_id[ASI]["boundary"] == "gate-to-gate" and by_id[ASI]["comparison"] == "below"
    assert s["electricitySources"] == [{"source": "coal", "share": 1, "kWh": s["electricityKWh"],
                                        "emissionFactor": 820}]
    kwh_per_t = s["electricityKWh"] / s["netMass"]
    assert 14700 <= kwh_per_t <= 15400
    assert s["electricityEmissions"] == pytest.approx(s["electricityKWh"] * 820 / 1e6, abs=1e-3)


def test_ferro_chromium_reads_its_energy_meter(logged: list[LoggedEvent]) -> None:
    lots = _lots(logged, "072041")
    claims = [green_metal_claim(lot, _fetch(logged)(lot)).subject for lot in lots]
    for lot, s in zip(lots, claims, strict=True):
        meter = _made(logged, lot).event["sensorElementList"][0]["sensorReport"][0]
        assert meter["type"] == "Energy" and s["electricityKWh"] == meter["value"]
        assert s["method"] == "ISO 14067:2018" and s["material"] == "ferro-alloy"
        assert [c["classId"] for c in s["classes"]] == ["low-carbon-ferro-chromium"]
    met = [s for s in claims if s["classesMet"]]
    assert met and len(met) < len(claims)  # some lots low-carbon, most not
    assert all(s["carbonIntensity"] <= 2.5 for s in met)


def test_a_missing_figure_is_refused_by_name(logged: list[LoggedEvent]) -> None:
    lot = _lots(logged, "076011")[0]
    made = _made(logged, lot)
    event = copy.deepcopy(dict(made.event))
    del event["ilmd"]["cor:electricitySource"]
    del event["ilmd"]["cor:upstreamEmissions"]
    changed, new = _changed(logged, made, event)
    with pytest.raises(ClaimRefused) as refused:
        green_metal_claim(lot, _fetch(changed)(lot))
    assert refused.value.missing == [f"event {new.hash_id}: ILMD lacks cor:electricitySource",
                                     f"event {new.hash_id}: ILMD lacks cor:upstreamEmissions"]
    assert "ILMD lacks cor:electricitySource" in str(refused.value)
    # Within a gate-to-gate boundary the inputs' footprint is not needed; the sources still are.
    with pytest.raises(ClaimRefused, match="lacks cor:electricitySource$"):
        green_metal_claim(lot, _fetch(changed)(lot), config=green_metal_config("gate-to-gate"))


def test_other_refusals_name_their_reason(logged: list[LoggedEvent]) -> None:
    lot = _lots(logged, "076011")[0]
    made = _made(logged, lot)
    with pytest.raises(ClaimRefused, match=f"lot {lot}: no TransformationEvent"):
        green_metal_claim(lot, [e for e in _fetch(logged)(lot) if e is not made])
    event = copy.deepcopy(dict(made.event))
    event["ilmd"]["cor:electricitySource"] = [{"cor:source": "lignite", "cor:share": 1}]
    changed, _ = _changed(logged, made, event)
    with pytest.raises(ClaimRefused, match="electricity source 'lignite' has no emission factor"):
        green_metal_claim(lot, _fetch(changed)(lot))
    event["ilmd"]["cor:electricitySource"] = [{"cor:source": "coal", "cor:share": 0.8}]
    changed, _ = _changed(logged, made, event)
    with pytest.raises(ClaimRefused, match="shares add up to 0.8, not 1"):
        green_metal_claim(lot, _fetch(changed)(lot))
    parts = _lots(logged, "073251")[0]
    with pytest.raises(ClaimRefused, match="CN code 73251000 is not under a heading"):
        green_metal_claim(parts, _fetch(logged)(parts))


def test_a_changed_event_is_not_read(logged: list[LoggedEvent]) -> None:
    """A figure changed after logging: the Event Hash ID no longer matches, so nothing of
    the event is believed."""
    lot = _lots(logged, "076011")[0]
    made = _made(logged, lot)
    event = copy.deepcopy(dict(made.event))
    event["ilmd"]["cor:electricityKWh"] = 1000
    forged = LoggedEvent(made.hash_id, made.log_index, event)
    with pytest.raises(ClaimRefused, match="Event Hash ID is not reproduced"):
        green_metal_claim(lot, [forged])


def test_extension_fields_are_read_by_namespace_not_prefix(logged: list[LoggedEvent]) -> None:
    lot = _lots(logged, "076011")[0]
    made = _made(logged, lot)
    renamed = json.loads(json.dumps(dict(made.event)).replace('"cor:', '"metal:'))
    ours = _logged(renamed, made.log_index, made.party, namespaces={"metal": COR_NS})
    assert ours.hash_id == made.hash_id  # the Event Hash ID hashes full IRIs, not prefixes
    expected = green_metal_claim(lot, [made]).subject
    assert green_metal_claim(lot, [ours]).subject == expected
    elsewhere = LoggedEvent(made.hash_id, made.log_index, renamed,
                            namespaces={"metal": "https://example.com/other/"})
    with pytest.raises(ClaimRefused, match="Event Hash ID is not reproduced"):
        green_metal_claim(lot, [elsewhere])


# ---------------------------------------------------------------- origin


def test_brescia_parts_are_made_in_kazakhstan_with_italy(logged: list[LoggedEvent]) -> None:
    parts = _lots(logged, "073251")
    assert parts
    claim = origin_claim(parts[0], _fetch(logged), country_of=_country)
    s = claim.subject
    assert s["originStatement"] == "Made in Kazakhstan with Italy"
    assert s["lastTransformationCountry"] == "IT" and s["contributingCountry"] == "KZ"
    assert 0.40 <= s["contributingShare"] <= 0.44 and s["minimumShare"] == 0.3
    kz, it = s["transformations"]
    assert (kz["country"], it["country"]) == ("KZ", "IT")
    assert kz["party"] == ACTOR_BY_SLUG["ferro"].pgln
    assert it["party"] == ACTOR_BY_SLUG["buyer"].pgln
    assert it["shareOfMass"] == 1 and kz["shareOfMass"] == s["contributingShare"]
    assert it["outputs"][0]["item"] == parts[0] and it["outputMass"] == s["netMass"]
    assert it["inputs"][0]["item"] == kz["outputs"][0]["item"]  # the Kazakh ferro-chromium
    assert it["inputMass"] > it["outputMass"]
    assert [e.hash_id for e in claim.evidence] == [kz["event"], it["event"]]


def test_origin_is_refused_without_the_italian_step(logged: list[LoggedEvent]) -> None:
    parts = _lots(logged, "073251")[0]
    buyer = ACTOR_BY_SLUG["buyer"].pgln
    without = [e for e in logged if not (e.party == buyer and e.event["type"] ==
                                         "TransformationEvent")]
    with pytest.raises(ClaimRefused, match=f"lot {parts}: no TransformationEvent produced it"):
        origin_claim(parts, _fetch(without), country_of=_country)
    fecr = _lots(logged, "072041")[0]  # the ferro-alloy itself: last made in Kazakhstan
    with pytest.raises(ClaimRefused, match="took place in KZ, not IT"):
        origin_claim(fecr, _fetch(logged), country_of=_country)


def test_origin_is_refused_without_the_kazakh_share(logged: list[LoggedEvent]) -> None:
    parts = _lots(logged, "073251")[0]
    ferro = ACTOR_BY_SLUG["ferro"].pgln
    unseen = [e for e in logged if e.party != ferro]  # the Aktobe production not visible
    with pytest.raises(ClaimRefused) as refused:
        origin_claim(parts, _fetch(unseen), country_of=_country)
    assert refused.value.missing == [(
        f"lot {parts}: material transformed in KZ makes 0.000 of the input mass of its last "
        "transformation, less than the 0.3 the rule made-in-kazakhstan-with-italy asks")]
    made = _made(logged, parts)
    event = copy.deepcopy(dict(made.event))
    event["inputQuantityList"][1]["quantity"] *= 3  # far more scrap: about 19 % ferro-chrome
    changed, _ = _changed(logged, made, event)
    with pytest.raises(ClaimRefused, match=r"makes 0\.1\d\d of the input mass"):
        origin_claim(parts, _fetch(changed), country_of=_country)


def test_origin_needs_each_place_s_country(logged: list[LoggedEvent]) -> None:
    parts = _lots(logged, "073251")[0]
    with pytest.raises(ClaimRefused, match="no country known for its place "
                                           "urn:epc:id:sgln:4870102.00010.0"):
        origin_claim(parts, _fetch(logged), country_of=lambda p: _country(p)
                     if p.startswith("urn:epc:id:sgln:801") else None)


def test_origin_follows_containers_to_their_lot(scenario: Scenario,
                                                logged: list[LoggedEvent]) -> None:
    """The buyer consumes whole containers (inputEPCList): their packing AggregationEvents
    say which lot, and how much of it, each one holds."""
    parts = _lots(logged, "073251")[0]
    made = _made(logged, parts)
    fecr = made.event["inputQuantityList"][0]["epcClass"]
    containers = [p.container for p in scenario.shipments if p.lot == fecr]
    event = copy.deepcopy(dict(made.event))
    event["inputEPCList"] = containers
    event["inputQuantityList"] = event["inputQuantityList"][1:]  # the scrap
    changed, new = _changed(logged, made, event)
    s = origin_claim(parts, _fetch(changed), country_of=_country).subject
    italian = next(t for t in s["transformations"] if t["event"] == new.hash_id)
    scrap = event["inputQuantityList"][0]["epcClass"]
    assert [i["item"] for i in italian["inputs"]] == [scrap, *containers]
    assert s["contributingShare"] >= 0.3
    assert any(t["country"] == "KZ" for t in s["transformations"])


# ---------------------------------------------------------------- recompute


def test_recompute_matches_and_finds_a_changed_figure(logged: list[LoggedEvent]) -> None:
    lot = _lots(logged, "076011", "coal")[0]
    claim = green_metal_claim(lot, _fetch(logged)(lot))
    credential = json.loads(json.dumps(_credential("GreenMetalCredential", claim)))
    assert recompute(credential, claim.evidence) == []
    stated = copy.deepcopy(credential)
    stated["credentialSubject"]["carbonIntensity"] = 3.9
    stated["credentialSubject"]["classesMet"] = [LOW_CARBON]
    assert recompute(stated, claim.evidence) == [
        ("/credentialSubject/carbonIntensity: stated 3.9, the events give "
         f"{claim.subject['carbonIntensity']}"),
        "/credentialSubject/classesMet: stated 1 entries, the events give 0"]
    # The event itself changed (and was logged anew): its figures give another claim.
    made = claim.evidence[0]
    event = copy.deepcopy(dict(made.event))
    event["ilmd"]["cor:electricityKWh"] += 1000
    _, new = _changed(logged, made, event)
    found = recompute(credential, [new])
    assert any(f.startswith("/credentialSubject/electricityKWh: stated") for f in found)
    assert f"/evidence: lacks event {new.hash_id}, which the claim rests on" in found
    assert f"/evidence/0: event {made.hash_id} is not one the claim rests on" in found


def test_recompute_origin_offline_takes_countries_from_the_credential(
        logged: list[LoggedEvent]) -> None:
    parts = _lots(logged, "073251")[0]
    claim = origin_claim(parts, _fetch(logged), country_of=_country)
    credential = json.loads(json.dumps(_credential("OriginCredential", claim)))
    assert recompute(credential, claim.evidence) == []
    stated = copy.deepcopy(credential)
    stated["credentialSubject"]["transformations"][1]["country"] = "FR"
    assert recompute(stated, claim.evidence) == [(
        "/credentialSubject: the supplied events do not support the claim: lot "
        f"{parts}: its last transformation (event {claim.evidence[1].hash_id} at "
        "urn:epc:id:sgln:8010603.00010.0) took place in FR, not IT")]


def test_recompute_pairs_reads_log_entries(logged: list[LoggedEvent]) -> None:
    parts = _lots(logged, "073251")[0]
    claim = origin_claim(parts, _fetch(logged), country_of=_country)
    credential = _credential("OriginCredential", claim)
    pairs = []
    for e in claim.evidence:
        served = {**e.event, "recordTime": "2026-05-29T12:00:00.000Z"}  # as GET returns it
        entry = LogEntry(e.hash_id, document_digest(dict(e.event)), str(e.party),
                         "2026-05-29T12:00:00.000Z")
        pairs.append((entry, served))
    assert recompute_pairs(credential, pairs) == []
    lot = _lots(logged, "076011")[0]
    green = green_metal_claim(lot, _fetch(logged)(lot))
    made = green.evidence[0]
    entry = LogEntry(made.hash_id, document_digest(dict(made.event)), "urn:epc:id:pgln:x",
                     "2026-05-29T12:00:00Z")
    assert recompute_pairs(_credential("GreenMetalCredential", green),
                           [(entry, dict(made.event))]) == []


def test_figures_are_stable_numbers(logged: list[LoggedEvent]) -> None:
    lot = _lots(logged, "076011")[0]
    s = green_metal_claim(lot, _fetch(logged)(lot)).subject
    numbers = [v for v in json.loads(json.dumps(s)).values() if isinstance(v, int | float)]
    assert numbers and all(Decimal(str(v)) == Decimal(str(v)).quantize(Decimal("0.001"))
                           for v in numbers if not isinstance(v, bool))


# ---------------------------------------------------------------- the JSON-LD context


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_every_term_of_the_claims_is_in_the_context(logged: list[LoggedEvent]) -> None:
    context = json.loads((Path(__file__).resolve().parents[2] / "corridor" / "credentials" /
                          "contexts" / "corridor-v1.jsonld").read_text())["@context"]
    lot = _lots(logged, "076011")[0]
    green = green_metal_claim(lot, _fetch(logged)(lot)).subject
    origin = origin_claim(_lots(logged, "073251")[0], _fetch(logged),
                          country_of=_country).subject
    used = _keys(green) | _keys(origin) | {"logIndex", "logOrigin", "receipt"}
    assert used - {"id", "type"} <= set(context)
    types = {green["type"], origin["type"], "GreenMetalCredential", "OriginCredential",
             "LoggedEvent"}
    assert types <= set(context) and context["@protected"] is True


def _same_shape(compact: Any, expanded: Any, where: str) -> None:
    """Every member of `compact` survived JSON-LD expansion (none dropped as undefined)."""
    if isinstance(compact, dict):
        node = expanded[0] if isinstance(expanded, list) else expanded
        members = [k for k in compact if k not in ("id", "type", "@context")]
        properties = [k for k in node if not k.startswith("@")]
        assert len(properties) == len(members), (where, sorted(members), sorted(properties))
        for key in members:
            iri = next(p for p in properties if p.rsplit("#", 1)[-1] == key
                       or p.rsplit("/", 1)[-1] == key)
            _same_shape(compact[key], node[iri], f"{where}/{key}")
    elif isinstance(compact, list):
        values = [v for v in expanded if "@list" not in v] if isinstance(expanded, list) else []
        for k, item in enumerate(compact):
            _same_shape(item, [values[k]] if k < len(values) else [], f"{where}/{k}")


@pytest.mark.parametrize("kind", ["GreenMetalCredential", "OriginCredential"])
def test_the_claims_survive_json_ld_and_sign_with_both_cryptosuites(
        kind: str, logged: list[LoggedEvent]) -> None:
    jsonld = pytest.importorskip("pyld.jsonld")
    from corridor.credentials.credential import build
    from corridor.credentials.data_integrity import add_proof, verify_proof
    from corridor.credentials.keys import IssuerKey
    from corridor.credentials.loader import document_loader

    if kind == "GreenMetalCredential":
        lot = _lots(logged, "076011")[0]
        claim = green_metal_claim(lot, _fetch(logged)(lot))
    else:
        claim = origin_claim(_lots(logged, "073251")[0], _fetch(logged), country_of=_country)
    evidence = [{"id": e.hash_id, "type": ["LoggedEvent"], "logIndex": e.log_index,
                 "logOrigin": "kz-node.corridor.example/log",
                 "receipt": "c2sp.org/tlog-proof@v1\nindex 1\n"} for e in claim.evidence]
    document = build(kind, credential_id="urn:uuid:00000000-0000-4000-8000-000000000001",
                     issuer="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                     issuer_name="Kazakh Metals Certification Body",
                     valid_from="2026-05-29T12:00:00Z", subject=claim.subject,
                     evidence=evidence,
                     status={"id": "https://node.example/credentials/status/1#4",
                             "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                             "statusListIndex": "4",
                             "statusListCredential": "https://node.example/credentials/status/1"})
    expanded = jsonld.expand(document, {"documentLoader": document_loader})
    cred = "https://www.w3.org/2018/credentials#"
    _same_shape(claim.subject, expanded[0][cred + "credentialSubject"], "/credentialSubject")
    _same_shape(evidence, expanded[0][cred + "evidence"], "/evidence")
    key = IssuerKey.from_seed(bytes(range(32)))
    for suite in ("eddsa-jcs-2022", "eddsa-rdfc-2022"):
        document["issuer"]["id"] = key.did
        verify_proof(add_proof(document, key, cryptosuite=suite))


# ---------------------------------------------------------------- events as a node stores them


def test_claims_from_events_as_the_store_returns_them(tmp_path: Path) -> None:
    """The demo loaded through the capture path: the events read back (stored form, the
    node's known namespaces, the places' countries from master data) give both claims."""
    from corridor.config import Settings
    from corridor.demo import load_demo
    from corridor.epcis.identifiers import canonical
    from corridor.query import Viewer, known_namespaces, matching_events, stored_places
    from corridor.store.db import Database

    settings = Settings(data_dir=tmp_path)
    load_demo(settings, shipments=3)  # order 0: a ferro-chromium lot, melted at Brescia
    plan = generate(3, 7).shipments[0]
    assert plan.product.code == "fecr"
    admin = Viewer(1, (), "admin")
    with Database(settings.db_url).connect() as conn:
        namespaces, places = known_namespaces(conn), stored_places(conn)

        def fetch(item: str) -> list[LoggedEvent]:
            param = "MATCH_anyEPCClass" if ":class:" in item else "MATCH_anyEPC"
            return [LoggedEvent(r.hash_id, int(r.log_index), r.doc, namespaces=namespaces,
                                party=r.party)
                    for r in matching_events(conn, admin, {param: [item]})]

        def country_of(location: str) -> str | None:
            place = places.by_location.get(canonical(location))
            return place.country if place else None

        green = green_metal_claim(plan.lot, fetch(plan.lot))
        parts = next(q["epcClass"] for e in fetch(plan.lot)
                     for q in e.event.get("outputQuantityList", [])
                     if e.event.get("inputQuantityList", [{}])[0].get("epcClass") == plan.lot)
        origin = origin_claim(parts, fetch, country_of=country_of)
    assert green.subject["material"] == "ferro-alloy" and green.subject["netMass"] > 70
    assert [(t["country"], t["party"]) for t in origin.subject["transformations"]] == [
        ("KZ", ACTOR_BY_SLUG["ferro"].pgln), ("IT", ACTOR_BY_SLUG["buyer"].pgln)]
    assert recompute(_credential("GreenMetalCredential", green), green.evidence) == []
    assert recompute(_credential("OriginCredential", origin), origin.evidence) == []
