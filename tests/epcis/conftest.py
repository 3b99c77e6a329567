"""Fixtures of the epcis tests: the GS1 example documents."""

from __future__ import annotations

from pathlib import Path

import pytest

# Rejected by the official JSON schema itself (../shared/conformance/README.md).
KNOWN_INVALID = frozenset({
    "JSON-simple-context/Example-TransactionEvents-2020_07_03y.jsonld",
    "JSON-simple-context/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld",
    "JSON-simple-context/WithSensorData/SensorDataExample12.jsonld",
    "JSON-simple-context/WithSensorData/SensorDataExample17.jsonld",
})


# Accepted by the XSD but refused by the standard's rules (corridor.epcis.rules): two of its
# events write the business step https://ref.gs1.org/cbv/Bizstep-sensor_reporting, which is
# no CBV 2.0 URI (the CBV and the official JSON-LD context spell it BizStep-sensor_reporting;
# the event-hash vectors' copy of this document writes the URN form). The standard wins.
KNOWN_INVALID_XML = {"XML/WithSensorData/SensorDataExamples.xml": (
    b"https://ref.gs1.org/cbv/Bizstep-", b"https://ref.gs1.org/cbv/BizStep-")}


@pytest.fixture(scope="session")
def gs1(conformance: Path) -> Path:
    return conformance / "gs1-epcis"


@pytest.fixture(scope="session")
def json_examples(gs1: Path) -> dict[str, bytes]:
    """Every JSON-LD example under JSON/ and JSON-simple-context/, by relative path."""
    files = sorted(p for folder in ("JSON", "JSON-simple-context")
                   for p in (gs1 / folder).rglob("*.jsonld"))
    assert len(files) >= 90
    return {p.relative_to(gs1).as_posix(): p.read_bytes() for p in files}


@pytest.fixture(scope="session")
def xml_examples(gs1: Path) -> dict[str, bytes]:
    """Every XML example under XML/, by relative path."""
    files = sorted((gs1 / "XML").rglob("*.xml"))
    assert len(files) >= 35
    return {p.relative_to(gs1).as_posix(): p.read_bytes() for p in files}


@pytest.fixture(scope="session")
def standard_xml_examples(xml_examples: dict[str, bytes]) -> dict[str, bytes]:
    """The XML examples with the known faults (KNOWN_INVALID_XML) written as the standard
    has them: every one of them valid, for the tests that read them as input."""
    fixed = dict(xml_examples)
    for name, (wrong, right) in KNOWN_INVALID_XML.items():
        assert wrong in fixed[name], name
        fixed[name] = fixed[name].replace(wrong, right)
    return fixed


@pytest.fixture(scope="session")
def official_schema(gs1: Path) -> dict:
    import json

    return json.loads((gs1 / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def hash_examples(conformance: Path) -> Path:
    return conformance / "event-hash" / "tests" / "examples"


@pytest.fixture(scope="session")
def known_invalid() -> frozenset[str]:
    return KNOWN_INVALID
