"""schemathesis against the service's own OpenAPI of the parties and subscription resources
(GET /openapi/parties.json), every check that applies: no 5xx, documented status codes and
content types, responses matching their schemas, bad input refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator

from tests.api.e2_harness import Server, add_party, auth, create_query, module_db_url

SCHEMATHESIS = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "schemathesis")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"st-own-{request.param}")
    url = module_db_url(request.param, tmp, request)
    for i in range(5):  # the admin gets an id a fuzzer is unlikely to revoke by number
        add_party(url, f"Member {i}", f"urn:epc:id:pgln:5100000.0000{i}")
    add_party(url, "Audit", "urn:example:audit", role="auditor")
    _, admin = add_party(url, "Root", "urn:example:root", role="admin")
    server = Server(url, tmp / "node").start()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for name in ("0", "myQuery"):
            create_query(client, admin, name, {})
    yield server, admin, tmp
    server.stop()


def test_the_description_is_valid_openapi(node) -> None:
    server, _, _ = node
    doc = httpx.get(server.url + "/openapi/parties.json").json()
    assert doc["openapi"].startswith("3.1")
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_schemathesis_finds_nothing(node) -> None:
    server, admin, tmp = node
    out = subprocess.run(
        [SCHEMATHESIS, "run", server.url + "/openapi/parties.json", "--url", server.url,
         "--header", f"Authorization: Bearer {admin}", "--seed", "20240501",
         "--workers", "1", "--warnings", "off", "--max-examples", "15", "--max-time", "30",
         "--phases", "examples,coverage,fuzzing",
         "--checks", ("not_a_server_error,status_code_conformance,content_type_conformance,"
                      "response_schema_conformance,negative_data_rejection"),
         "--exclude-checks", "ignored_auth"],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp)
    assert out.returncode == 0, (out.stdout + out.stderr)[-8000:]
    assert client_still_admin(server, admin)


def client_still_admin(server: Server, key: str) -> bool:
    r = httpx.get(server.url + "/parties/me", headers=auth(key))
    return r.status_code in (200, 401)  # the fuzzer may have revoked the admin: still no 5xx
