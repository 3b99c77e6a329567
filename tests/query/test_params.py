"""Query parameter compilation: every parameter of the official query schema is accepted,
every unknown or malformed one is named, and compiled queries run on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corridor.query.params import QueryError, from_json, from_url_pairs, parse_query
from corridor.query.run import select_events
from corridor.store.db import Database
from corridor.store.migrations import migrate

_SAMPLES = {
    "eventType": ["ObjectEvent"], "GE_eventTime": ["2020-01-01T00:00:00Z"],
    "LT_eventTime": ["2030-01-01T00:00:00+02:00"], "GE_recordTime": ["2020-01-01T00:00:00Z"],
    "LT_recordTime": ["2030-01-01T00:00:00Z"], "EQ_action": ["ADD", "OBSERVE"],
    "EQ_bizStep": ["shipping"], "EQ_disposition": ["in_transit"],
    "EQ_persistentDisposition_set": ["completeness_verified"],
    "EQ_persistentDisposition_unset": ["completeness_inferred"],
    "EQ_quantity": ["1"], "GT_quantity": ["1"], "GE_quantity": ["1"], "LT_quantity": ["1"],
    "LE_quantity": ["1"], "EQ_readPoint": ["urn:epc:id:sgln:0614141.00777.0"],
    "WD_readPoint": ["urn:epc:id:sgln:0614141.00777.0"],
    "EQ_bizLocation": ["urn:epc:id:sgln:0614141.00888.0"],
    "WD_bizLocation": ["urn:epc:id:sgln:0614141.00888.0"],
    "EQ_transformationID": ["urn:epc:id:gdti:0614141.12345.400"],
    "MATCH_epc": ["urn:epc:id:sgtin:0614141.107346.2017"],
    "MATCH_parentID": ["urn:epc:id:sscc:0614141.1234567890"],
    "MATCH_inputEPC": ["urn:epc:idpat:sgtin:0614141.107346.*"],
    "MATCH_outputEPC": ["https://id.gs1.org/01/70614141123451/21/2018"],
    "MATCH_anyEPC": ["urn:epc:idpat:sgtin:0614141.*.*"],
    "MATCH_epcClass": ["urn:epc:class:lgtin:4012345.012345.998877"],
    "MATCH_inputEPCClass": ["urn:epc:idpat:sgtin:4012345.098765.*"],
    "MATCH_outputEPCClass": ["https://id.gs1.org/01/04012345123456/10/998877"],
    "MATCH_anyEPCClass": ["urn:epc:idpat:sgtin:4012345.098765.*"],
    "EQ_eventID": ["urn:uuid:6d0ba3e1-4a5c-4c44-9ec5-a0b3d4c4b6f1"],
    "EXISTS_errorDeclaration": [""], "GE_errorDeclarationTime": ["2020-01-01T00:00:00Z"],
    "LT_errorDeclarationTime": ["2030-01-01T00:00:00Z"],
    "GE_errorDeclaration_Time": ["2020-01-01T00:00:00Z"],
    "LT_errorDeclaration_Time": ["2030-01-01T00:00:00Z"],
    "EQ_errorReason": ["incorrect_data"],
    "EQ_correctiveEventID": ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"],
    "orderBy": ["eventTime"], "orderDirection": ["ASC"], "eventCountLimit": ["5"],
    "EXISTS_sensorElementList": [""], "GE_time": ["2019-04-02T13:05:00Z"],
    "LT_time": ["2019-04-02T13:05:00Z"], "GE_startTime": ["2019-04-02T13:05:00Z"],
    "LT_startTime": ["2019-04-02T13:05:00Z"], "GE_endTime": ["2019-04-02T13:05:00Z"],
    "LT_endTime": ["2019-04-02T13:05:00Z"], "EQ_type": ["Temperature"],
    "EQ_deviceID": ["urn:epc:id:giai:4000001.111"], "EQ_dataProcessingMethod": ["x:y"],
    "EQ_microorganism": ["https://www.ncbi.nlm.nih.gov/taxonomy/1126011"],
    "EQ_chemicalSubstance": ["https://identifiers.org/inchikey:CZMRCDWAGMRECN"],
    "EQ_bizRules": ["https://example.org/rules"], "EQ_stringValue": ["SomeString"],
    "EQ_booleanValue": ["true"], "EQ_hexBinaryValue": ["f0f0"],
    "EQ_uriValue": ["https://example.org/x"], "GE_percRank": ["50"], "LT_percRank": ["50"],
    "GT_percRank": ["50"], "LE_percRank": ["50"],
    "EQ_bizTransaction_po": ["urn:epcglobal:cbv:bt:0614141000005:1"],
    "EQ_source_owning_party": ["urn:epc:id:pgln:0614141.00001"],
    "EQ_destination_location": ["urn:epc:id:sgln:0614141.00001.0"],
    "EQ_example:myField": ["a"], "GT_example:myField": ["3"], "LE_example:when":
        ["2020-01-01T00:00:00Z"], "EXISTS_example:myField": [""],
    "EQ_INNER_example:inner": ["b"], "EQ_ILMD_example:lot": ["L1"], "GE_ILMD_example:n": ["1"],
    "EQ_INNER_ILMD_example:m": ["1"], "EXISTS_ILMD_example:x": [""],
    "EQ_ERROR_DECLARATION_example:why": ["x"], "EQ_SENSORELEMENT_example:a": ["1"],
    "EQ_SENSORMETADATA_example:a": ["1"], "EQ_SENSORREPORT_example:a": ["1"],
    "GT_INNER_SENSORREPORT_example:a": ["1"], "EQ_readPoint_example:a": ["1"],
    "EQ_INNER_bizLocation_example:a": ["1"], "EQ_value_CEL": ["26.0"], "GE_value_CEL": ["26"],
    "LT_maxValue_KGM": ["3"], "GT_minValue_A93": ["1"], "LE_meanValue_CEL": ["1"],
    "GE_sDev_CEL": ["1"], "LT_percValue_P1": ["1"], "EQ_quantity_KGM": ["200.5"],
    "GE_quantity_KGM": ["10"],
}


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('q') / 'q.sqlite3'}")
    c = db.connect()
    migrate(db, c)
    yield c
    c.close()


class _Admin:
    party_id = 1
    identifiers = ()
    role = "admin"


@pytest.mark.parametrize("name", sorted(_SAMPLES))
def test_every_parameter_compiles_and_runs(name: str, conn) -> None:  # type: ignore[no-untyped-def]
    q = parse_query({name: _SAMPLES[name]}, {"example": "http://ns.example.com/epcis/"})
    assert q.where or name in ("orderBy", "orderDirection", "eventCountLimit")
    select_events(conn, q, _Admin(), after=None, limit=10)


def test_official_query_schema_fixed_names_are_all_known(conformance: Path) -> None:
    schema = json.loads((conformance / "gs1-epcis" / "REST-Bindings" / "query-schema.json")
                        .read_text())
    names = set(schema["definitions"]["EPCIS-Query"]["properties"]) - {"@context",
                                                                        "maxEventCount"}
    missing = names - set(_SAMPLES)
    assert not missing
    for name in names:
        parse_query({name: _SAMPLES[name]})


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(QueryError) as info:
        parse_query({"EQ_colour": ["red"], "GE_eventTime": ["noon"], "perPage": ["x"],
                     "eventCountLimit": ["-1"], "GE_value_CEL": ["warm"],
                     "EQ_booleanValue": ["maybe"], "orderBy": ["colour"]})
    names = {n for n, _ in info.value.problems}
    assert names == {"EQ_colour", "GE_eventTime", "perPage", "eventCountLimit", "GE_value_CEL",
                     "EQ_booleanValue", "orderBy"}
    with pytest.raises(QueryError, match="maxEventCount"):
        parse_query({"eventCountLimit": ["1"], "maxEventCount": ["1"]})
    with pytest.raises(QueryError, match="HASATTR_"):
        parse_query({"HASATTR_urn:epcglobal:epcis:vtype:BusinessLocation": ["x"]})


def test_url_and_json_forms() -> None:
    assert from_url_pairs([("EQ_bizStep", "shipping|receiving"), ("eventType", "ObjectEvent")]) \
        == {"EQ_bizStep": ["shipping", "receiving"], "eventType": ["ObjectEvent"]}
    assert from_json({"EQ_bizStep": ["shipping"], "GE_quantity": 3, "EXISTS_errorDeclaration":
                      None}) == {"EQ_bizStep": ["shipping"], "GE_quantity": ["3"],
                                 "EXISTS_errorDeclaration": [""]}
    with pytest.raises(QueryError):
        from_json(["not", "an", "object"])


def test_order_defaults() -> None:
    assert parse_query({}).direction == "ASC"
    q = parse_query({"orderBy": ["recordTime"]})
    assert (q.order_by, q.direction) == ("recordTime", "DESC")
    assert parse_query({"orderBy": ["eventTime"], "orderDirection": ["ASC"]}).direction == "ASC"
