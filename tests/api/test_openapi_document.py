"""The OpenAPI description (corridor/serving/openapi/*.yaml, merged): a valid OpenAPI 3.1
document, served at GET /openapi.json, and a complete one: every route the app serves under
/epcis, /api, /log, /parties and /openapi is described, with every method, and every
described operation is served. A route added without its description fails here.

Validity is checked against the OpenAPI Initiative's JSON schema of OpenAPI 3.1
(tests/api/data/oas-3.1-schema.json, schema 2022-10-07, Apache-2.0), every Schema Object
against JSON Schema 2020-12, and, where it is installed, by openapi-spec-validator too."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.testclient import TestClient

from corridor.config import Settings
from corridor.serving import openapi

OAS_31_SCHEMA = Path(__file__).parent / "data" / "oas-3.1-schema.json"
DESCRIBED = ("/epcis", "/api/", "/log/", "/parties", "/openapi")
_TEMPLATE = re.compile(r"\{[^}]+\}")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from corridor.app import create_app

    return create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi-node")))


def _schemas(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, schema) of every Schema Object: components, parameters, media types."""
    for name, schema in doc["components"].get("schemas", {}).items():
        yield f"components/schemas/{name}", schema
    stack: list[tuple[str, Any]] = [("", doc["paths"]), ("", doc["components"])]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "schema" and isinstance(value, dict):
                    yield f"{where}/schema", value
                elif key != "schemas":
                    stack.append((f"{where}/{key}", value))
        elif isinstance(node, list):
            stack.extend((f"{where}/{i}", v) for i, v in enumerate(node))


def _assert_valid(doc: dict[str, Any]) -> None:
    meta = json.loads(OAS_31_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft202012Validator(meta).iter_errors(doc), key=lambda e: e.json_path)
    assert not errors, [f"{e.json_path}: {e.message}" for e in errors[:10]]
    for where, schema in _schemas(doc):
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:  # noqa: BLE001 - name the schema that is wrong
            raise AssertionError(f"{where}: {exc}") from None
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(doc)


def test_the_merged_document_is_valid_openapi_3_1() -> None:
    doc = openapi.document()
    assert doc["openapi"].startswith("3.1.")
    assert doc["servers"] == [{"url": "/"}]
    assert "x-corridor-parts" not in doc
    _assert_valid(doc)


def test_the_parties_subset_is_valid_and_holds_only_its_tags() -> None:
    doc = openapi.subset(openapi.PARTIES_TAGS)
    _assert_valid(doc)
    assert {t["name"] for t in doc["tags"]} == openapi.PARTIES_TAGS
    assert "/parties/me" in doc["paths"] and "/epcis/capture" not in doc["paths"]


def test_both_documents_are_served(app: Any) -> None:
    client = TestClient(app)
    whole = client.get("/openapi.json")
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/json"
    assert whole.json() == json.loads(json.dumps(openapi.document()))
    parties = client.get("/openapi/parties.json")
    assert parties.status_code == 200
    assert set(parties.json()["paths"]) < set(whole.json()["paths"])


def test_every_operation_has_a_tag_a_summary_and_responses() -> None:
    doc = openapi.document()
    ids: list[str] = []
    for path, method, op in openapi.operations(doc):
        where = f"{method.upper()} {path}"
        assert op.get("tags") and op.get("summary"), where
        assert op.get("responses"), where
        ids += [op["operationId"]] if "operationId" in op else []
        declared = {p.get("name") for p in _parameters(doc, path, op) if p.get("in") == "path"}
        assert declared == set(re.findall(r"\{([^}]+)\}", path)), where
    assert len(ids) == len(set(ids)), "operationId used twice"


def _parameters(doc: dict[str, Any], path: str, op: dict[str, Any]) -> list[dict[str, Any]]:
    shared = doc["paths"][path].get("parameters", [])
    return [openapi.resolve(doc, p) for p in [*shared, *op.get("parameters", [])]]


def _flat_routes(app: Any) -> list[BaseRoute]:
    return [r for r in app.routes if isinstance(r, Route | WebSocketRoute)]


def _resolve(routes: list[BaseRoute], path: str, method: str) -> tuple[int, Match]:
    """The route Starlette's router would pick for (path, method): the first full match,
    else the first partial one (a 405), as (its index, how it matched); (-1, NONE)."""
    scope = {"type": "http", "path": path, "method": method, "root_path": ""}
    partial = -1
    for i, route in enumerate(routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return i, match
        if match is Match.PARTIAL and partial < 0:
            partial = i
    return (partial, Match.PARTIAL) if partial >= 0 else (-1, Match.NONE)


def test_every_route_is_described_and_every_description_served(app: Any) -> None:
    doc = openapi.document()
    routes = _flat_routes(app)
    covered: set[tuple[int, str]] = set()
    unserved = []
    for path, method, _ in openapi.operations(doc):
        concrete = _TEMPLATE.sub("x", path)
        index, match = _resolve(routes, concrete, method.upper())
        if match is Match.FULL:
            covered.add((index, method.upper()))
        else:
            unserved.append(f"{method.upper()} {path}")
    assert not unserved, f"described but not served: {unserved}"
    undescribed = []
    for i, route in enumerate(routes):
        if not route.path.startswith(DESCRIBED):
            continue
        if isinstance(route, WebSocketRoute):
            # a WebSocket upgrade of an HTTP path that must be described itself
            concrete = _TEMPLATE.sub("x", route.path)
            if not any(_TEMPLATE.sub("x", p) == concrete for p in doc["paths"]):
                undescribed.append(f"WebSocket {route.path}")
            continue
        undescribed += [f"{m} {route.path}" for m in sorted((route.methods or set()) - {"HEAD"})
                        if (i, m) not in covered]
    assert not undescribed, f"served but not described: {undescribed}"


def test_a_new_route_would_be_caught(app: Any) -> None:
    """The check above sees a route that nothing describes."""

    async def nothing(request: Any) -> None:
        return None

    routes = [*_flat_routes(app), Route("/api/undocumented", nothing, methods=["GET"])]
    doc = openapi.document()
    covered = {_resolve(routes, _TEMPLATE.sub("x", p), m.upper())
               for p, m, _ in openapi.operations(doc)}
    assert (len(routes) - 1, Match.FULL) not in covered
