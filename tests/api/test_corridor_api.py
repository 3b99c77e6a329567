"""GET /api/corridor/legs on a demo node: figures that agree with the demo's journeys read
independently (corridor.monitoring.journeys), the date filter, who may read it (401 without a
key), and the refusals naming their parameter."""

from __future__ import annotations

from collections.abc import Iterator
from statistics import median

import pytest
from starlette.testclient import TestClient

from corridor.app import create_app
from corridor.config import Settings
from corridor.demo import demo_api_key, load_demo
from corridor.monitoring.journeys import journeys
from corridor.query.dashboard import unit_index
from corridor.query.places import stored_places
from corridor.store.db import Database

SHIPMENTS = 24
LEGS = "/api/corridor/legs"


def _auth(slug: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo_api_key(7, slug)}"}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Settings]]:
    tmp = tmp_path_factory.mktemp("corridor-api")
    settings = Settings(data_dir=tmp, db_url=f"sqlite:///{tmp / 'corridor.sqlite3'}")
    load_demo(settings, shipments=SHIPMENTS)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _aktau_to_baku(settings: Settings) -> list[float]:
    conn = Database(settings.db_url).connect()
    try:
        every = list(journeys(unit_index(conn), stored_places(conn)))
    finally:
        conn.close()
    return sorted(leg.hours for j in every for leg in j.legs
                  if (leg.origin, leg.destination) == ("aktau", "alat"))


def test_a_party_reads_the_figures(node: tuple[TestClient, Settings]) -> None:
    client, settings = node
    answer = client.get(LEGS, headers=_auth("buyer"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    leg = next(x for x in body["legs"] if (x["origin"], x["destination"]) == ("aktau", "alat"))
    hours = _aktau_to_baku(settings)
    assert leg["count"] == len(hours) > 5
    assert leg["originName"] == "Port of Aktau" and leg["destinationName"] == "Port of Baku (Alat)"
    assert leg["p50Hours"] == round(median(hours), 2)  # linear at 0.5: the median
    assert leg["p50Hours"] <= leg["p90Hours"] <= max(hours)
    assert sum(w["count"] for w in leg["weeks"]) == leg["count"]
    assert sum(w["count"] for w in body["weeks"]) == sum(x["count"] for x in body["legs"])
    assert {"node", "name", "count", "p50Hours", "p90Hours"} <= set(body["nodes"][0])
    assert body["asOf"].startswith("2026-") and body["from"] is None


def test_the_date_filter_changes_the_counts(node: tuple[TestClient, Settings]) -> None:
    client, _ = node
    whole = client.get(LEGS, headers=_auth("auditor")).json()
    march = client.get(LEGS, params={"from": "2026-03-01", "to": "2026-04-01"},
                       headers=_auth("auditor")).json()
    assert (march["from"], march["to"]) == ("2026-03-01", "2026-04-01")
    total = sum(x["count"] for x in whole["legs"])
    assert 0 < sum(x["count"] for x in march["legs"]) < total
    assert all("2026-W09" <= w["week"] <= "2026-W14" for w in march["weeks"])
    later = client.get(LEGS, params={"from": "2030-01-01"}, headers=_auth("auditor")).json()
    assert later["legs"] == [] and later["nodes"] == []


def test_without_a_key_401(node: tuple[TestClient, Settings]) -> None:
    client, _ = node
    answer = client.get(LEGS)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("query", "name"), [
    ("from=2026-02-30", "from"), ("to=yesterday", "to"), ("from=2026-03-01&to=2026-03-01", "to"),
    ("from=2026-01-01&from=2026-02-01", "from"), ("since=2026-01-01", "since")])
def test_bad_input_is_a_problem_naming_the_parameter(node: tuple[TestClient, Settings],
                                                     query: str, name: str) -> None:
    client, _ = node
    answer = client.get(f"{LEGS}?{query}", headers=_auth("buyer"))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["detail"].startswith(f"{name}: ")
    assert problem["errors"][0]["pointer"] == name
