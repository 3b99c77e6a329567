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
def official_schema(gs1: Path) -> dict:
    import json

    return json.loads((gs1 / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def hash_examples(conformance: Path) -> Path:
    return conformance / "event-hash" / "tests" / "examples"


@pytest.fixture(scope="session")
def known_invalid() -> frozenset[str]:
    return KNOWN_INVALID
