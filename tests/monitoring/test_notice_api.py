"""Notices over HTTP, SQLite and PostgreSQL: POST /api/notices by an operator (201, the
notice with its Event Hash ID and log index), found again at /epcis/events/{id} as the
operator's event; the public lists and reads notices without a key but cannot post (401);
an auditor cannot post (403); bad input is a problem naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from corridor.app import create_app
from corridor.config import Settings
from tests.api.e2_harness import add_party, auth

NODE = "urn:epc:id:sgln:4870201.00001.0"
BIZ_STEP = "https://ns.corridor.example/epcis/bizstep/notice"


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str, str]]:
    _, operator = add_party(db_url, "Port of Aktau", "urn:epc:id:pgln:4870201.00000")
    _, auditor = add_party(db_url, "Audit", "urn:example:audit", role="auditor")
    settings = Settings(data_dir=tmp_path / "node", db_url=db_url)
    with TestClient(create_app(settings)) as client:
        yield client, operator, auditor


def _body(**change: Any) -> dict[str, Any]:
    return {"node": NODE, "kind": "load_cut", "value": 30,
            "validFrom": "2026-03-01T00:00:00+04:00", "text": "Crane maintenance", **change}


def test_an_operator_posts_a_notice_that_is_logged(node: tuple[TestClient, str, str]) -> None:
    client, operator, _ = node
    r = client.post("/api/notices", json=_body(), headers=auth(operator))
    assert r.status_code == 201, r.text
    posted = r.json()
    assert posted == {"id": posted["id"], "logIndex": posted["logIndex"], "node": NODE,
                      "kind": "load_cut", "value": "30", "validFrom": "2026-02-28T20:00:00Z", "validUntil": None,
                      "text": "Crane maintenance", "party": "urn:epc:id:pgln:4870201.00000"}
    assert posted["id"].startswith("ni:///sha-256;") and posted["logIndex"] >= 0
    # its own page, public, at the Location given
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and page.json() == posted
    # the logged event, as the operator reads it through EPCIS (no eventID: the hash is it)
    event = client.get("/epcis/events/" + quote(posted["id"], safe=""), headers=auth(operator))
    assert event.status_code == 200, event.text
    logged = event.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [(e["eventID"], e["bizStep"], e["cor:noticeKind"]) for e in logged] == \
        [(posted["id"], BIZ_STEP, "load_cut")]


def test_listing_is_public_and_filters(node: tuple[TestClient, str, str]) -> None:
    client, operator, _ = node
    first = client.post("/api/notices", json=_body(validUntil="2026-03-10T00:00:00Z"),
                        headers=auth(operator)).json()
    second = client.post("/api/notices", json=_body(kind="sailings_suspended", value=None,
                                                    validFrom="2026-03-05T00:00:00Z"),
                         headers=auth(operator)).json()
    everything = client.get("/api/notices")
    assert everything.status_code == 200
    assert [n["id"] for n in everything.json()] == [first["id"], second["id"]]
    found = client.get("/api/notices", params={"node": "https://id.gs1.org/414/4870201000019",
                                               "at": "2026-03-12T00:00:00Z"})
    assert [n["id"] for n in found.json()] == [second["id"]]
    found = client.get("/api/notices", params={"from": "2026-02-01T00:00:00Z",
                                               "to": "2026-03-02T00:00:00Z", "limit": "5"})
    assert [n["id"] for n in found.json()] == [first["id"]]


@pytest.mark.parametrize(("body", "pointer"), [
    (_body(node="somewhere"), "/node"),
    (_body(kind="strike"), "/kind"),
    (_body(value=0), "/value"),
    (_body(validFrom="tomorrow"), "/validFrom"),
    (_body(validUntil="2026-01-01T00:00:00Z"), "/validUntil"),
    (_body(extra=1), "/extra"),
    ([1], ""),
])
def test_bad_input_names_the_field(node: tuple[TestClient, str, str], body: Any,
                                   pointer: str) -> None:
    client, operator, _ = node
    r = client.post("/api/notices", json=body, headers=auth(operator))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["pointer"] == pointer


def test_who_may_post_and_bad_queries(node: tuple[TestClient, str, str]) -> None:
    client, _, auditor = node
    anonymous = client.post("/api/notices", json=_body())
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    assert client.post("/api/notices", json=_body(), headers=auth(auditor)).status_code == 403
    assert client.get("/api/notices", headers=auth("nonsense")).status_code == 401
    for params, name in (({"at": "soon"}, "at"), ({"limit": "0"}, "limit"),
                         ({"colour": "red"}, "colour"),
                         ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to")):
        r = client.get("/api/notices", params=params)
        assert r.status_code == 400 and r.json()["errors"][0]["pointer"] == name, r.text
    missing = client.get("/api/notices/" + quote("ni:///sha-256;00?ver=CBV2.0", safe=":/;"))
    assert missing.status_code == 404
    assert client.get("/api/notices").json() == []
