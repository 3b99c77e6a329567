"""The leak matrix: N parties x every read endpoint, over a real `corridor serve`.

Each party must see exactly the events the visibility rule grants it, no more, no fewer:
the events it captured, those naming one of its identifiers in sourceList/destinationList,
those shared with it, (auditors) what the parties they hold a grant on may read, (admins)
everything; the public sees none. The expected sets below are written out by hand from the
scenario, independently of the server's SQL.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from corridor.query.epc import canonical
from tests.api.e2_harness import (
    CORRIDOR,
    Receiver,
    Server,
    add_party,
    auth,
    capture,
    create_query,
    module_db_url,
    object_event,
)

A_ID, A_SGLN = "urn:epc:id:pgln:4700000.00001", "urn:epc:id:sgln:4700000.00001.0"
B_ID = "urn:epc:id:pgln:4700000.00002"
C_ID = "urn:epc:id:pgln:4700000.00003"
D_ID = "urn:epc:id:pgln:4700000.00004"

STEPS = ["shipping", "receiving", "loading", "unloading", "departing", "arriving"]


def _event(n: int, **kw: str) -> dict:
    return object_event(epc=f"urn:epc:id:sgtin:4700000.000001.{n}", biz_step=STEPS[n - 1],
                        location=f"urn:epc:id:sgln:4700000.00009.{n}",
                        event_id=f"urn:uuid:00000000-0000-4000-8000-00000000000{n}", **kw)


# e1 A private; e2 A -> B; e3 B naming A's second identifier; e4 C shared with D;
# e5 C private; e6 A shared with B (so also with B's auditor).
EVENTS = {
    1: _event(1),
    2: _event(2, destination=B_ID),
    3: _event(3, source=A_SGLN),
    4: _event(4),
    5: _event(5),
    6: _event(6),
}
CAPTURED_BY = {1: "A", 2: "A", 3: "B", 4: "C", 5: "C", 6: "A"}
VISIBLE = {
    "A": {1, 2, 3, 6},
    "B": {2, 3, 6},
    "C": {4, 5},
    "D": {4},
    "AUD": {2, 3, 6},  # auditor granted over B
    "ADM": {1, 2, 3, 4, 5, 6},
    "PUBLIC": set(),
}


def eid(n: int) -> str:
    return EVENTS[n]["eventID"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    tmp_path: Path = tmp_path_factory.mktemp(f"access-{request.param}")
    url = module_db_url(request.param, tmp_path, request)
    keys: dict[str, str | None] = {"PUBLIC": None}
    keys["A"] = add_party(url, "Alpha", A_ID, extra=(A_SGLN,))[1]
    keys["B"] = add_party(url, "Beta", B_ID)[1]
    keys["C"] = add_party(url, "Gamma", C_ID)[1]
    keys["D"] = add_party(url, "Delta", D_ID)[1]
    keys["AUD"] = add_party(url, "Audit", "urn:example:auditor", role="auditor")[1]
    keys["ADM"] = add_party(url, "Admin", "urn:example:admin", role="admin")[1]
    server = Server(url, tmp_path / "node").start()
    client = httpx.Client(base_url=server.url, timeout=30.0)
    jobs = {}
    for n, event in EVENTS.items():
        jobs[n] = capture(client, keys[CAPTURED_BY[n]], [event])
        assert jobs[n]["success"], jobs[n]
    for args in (["share", eid(4), "Delta"], ["share", eid(6), B_ID], ["grant", "Audit", "Beta"]):
        out = subprocess.run([CORRIDOR, "party", *args, "--db", url], capture_output=True,
                             text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
    yield server, client, keys, jobs
    client.close()
    server.stop()


def _ids(doc: dict) -> list[str]:
    return [e["eventID"] for e in doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


def _follow(client: httpx.Client, key: str | None, path: str) -> list[str]:
    """Every eventID of a paginated event list, following the Link rel=next header."""
    ids: list[str] = []
    url = path
    for _ in range(50):
        r = client.get(url, headers=auth(key))
        assert r.status_code == 200, (url, r.text)
        ids.extend(_ids(r.json()))
        link = r.headers.get("link")
        if not link:
            return ids
        m = re.search(r"<([^>]+)>\s*;\s*rel=\"?next\"?", link)
        assert m, link
        url = m.group(1)
    raise AssertionError("pagination did not end")


def _members(doc: object) -> set[str]:
    """Values of a discovery list, each in canonical form (URN and Digital Link spellings of
    one identifier compare equal; the server may answer either)."""
    if isinstance(doc, dict):
        doc = doc.get("member", [])
    assert isinstance(doc, list), doc
    return {canonical(str(v)) for v in doc}


def _norm(value: str) -> str:
    """CBV values compare as bare words (urn:epcglobal:cbv:bizstep:x == .../voc/BizStep-x)."""
    return re.split(r"[:/-]", value)[-1]


PARTIES = list(VISIBLE)


@pytest.mark.parametrize("who", PARTIES)
def test_event_list_and_single_events(world, who: str) -> None:
    _, client, keys, _ = world
    want = {eid(n) for n in VISIBLE[who]}
    listed = _follow(client, keys[who], "/epcis/events?perPage=2")
    assert len(listed) == len(set(listed))
    assert set(listed) == want
    for n in EVENTS:
        r = client.get(f"/epcis/events/{quote(eid(n), safe='')}", headers=auth(keys[who]))
        assert r.status_code == (200 if n in VISIBLE[who] else 404), (who, n, r.text)
        if r.status_code == 404:
            assert EVENTS[n]["epcList"][0] not in r.text


@pytest.mark.parametrize("who", PARTIES)
def test_discovery_endpoints(world, who: str) -> None:
    _, client, keys, _ = world
    visible = [EVENTS[n] for n in VISIBLE[who]]
    hidden = [EVENTS[n] for n in set(EVENTS) - VISIBLE[who]]
    r = client.get("/epcis/bizSteps", headers=auth(keys[who]))
    assert r.status_code == 200, r.text
    assert {_norm(v) for v in _members(r.json())} == {e["bizStep"] for e in visible}
    r = client.get("/epcis/bizLocations", headers=auth(keys[who]))
    assert r.status_code == 200, r.text
    assert _members(r.json()) == {canonical(e["bizLocation"]["id"]) for e in visible}
    r = client.get("/epcis/epcs", headers=auth(keys[who]))
    assert r.status_code == 200, r.text
    assert _members(r.json()) == {canonical(e["epcList"][0]) for e in visible}
    r = client.get("/epcis/eventTypes", headers=auth(keys[who]))
    assert r.status_code == 200, r.text
    # Event types are the standard's vocabulary, the same for every viewer: they disclose
    # nothing about stored events.
    assert r.json() == client.get("/epcis/eventTypes").json()
    # The per-value event lists: visible values list the event, hidden ones nothing.
    for e in visible + hidden:
        expect = [e["eventID"]] if e in visible else []
        for path in (f"/epcis/bizSteps/{e['bizStep']}/events",
                     f"/epcis/epcs/{quote(e['epcList'][0], safe='')}/events",
                     f"/epcis/bizLocations/{quote(e['bizLocation']['id'], safe='')}/events"):
            r = client.get(path, headers=auth(keys[who]))
            if r.status_code == 404:
                assert not expect, (who, path)
                continue
            assert r.status_code == 200, (path, r.text)
            assert _ids(r.json()) == expect, (who, path)
    r = client.get("/epcis/eventTypes/ObjectEvent/events?perPage=10", headers=auth(keys[who]))
    assert r.status_code == 200, r.text
    assert set(_ids(r.json())) == {e["eventID"] for e in visible}


@pytest.mark.parametrize("who", [p for p in PARTIES if p != "PUBLIC"])
def test_named_queries(world, who: str) -> None:
    _, client, keys, _ = world
    name = f"everything-{who.lower()}"
    if client.get(f"/epcis/queries/{name}", headers=auth(keys[who])).status_code == 404:
        create_query(client, keys[who], name, {})
    assert set(_follow(client, keys[who], f"/epcis/queries/{name}/events?perPage=2")) == {
        eid(n) for n in VISIBLE[who]}
    # Another party cannot run (or even see) this party's query.
    other = "C" if who != "C" else "A"
    r = client.get(f"/epcis/queries/{name}/events", headers=auth(keys[other]))
    assert r.status_code == 404


def test_page_tokens_are_bound_to_their_party(world) -> None:
    _, client, keys, _ = world
    r = client.get("/epcis/events?perPage=1", headers=auth(keys["A"]))
    link = r.headers.get("link")
    assert link, "A sees 4 events: a first page of 1 must link to the next"
    url = re.search(r"<([^>]+)>", link).group(1)
    for thief in ("C", "D", "PUBLIC"):
        r = client.get(url, headers=auth(keys[thief]))
        assert r.status_code == 400, (thief, r.text)
        for n in VISIBLE["A"]:
            assert eid(n) not in r.text


def test_capture_jobs_are_private(world) -> None:
    _, client, keys, jobs = world
    job_id = jobs[1]["captureID"] if "captureID" in jobs[1] else jobs[1].get("id")
    assert job_id is not None, jobs[1]
    assert client.get(f"/epcis/capture/{job_id}", headers=auth(keys["A"])).status_code == 200
    for other in ("B", "C", "PUBLIC"):
        r = client.get(f"/epcis/capture/{job_id}", headers=auth(keys[other]))
        assert r.status_code in (401, 404), (other, r.status_code)


@pytest.mark.parametrize("who", PARTIES)
def test_receipts(world, who: str) -> None:
    _, client, keys, _ = world
    for n in EVENTS:
        path = f"/epcis/events/{quote(eid(n), safe='')}/receipt"
        r = client.get(path, headers=auth(keys[who]))
        if n not in VISIBLE[who]:
            assert r.status_code in (401, 404), (who, n, r.status_code)
            continue
        deadline = time.monotonic() + 10
        while r.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.3)
            r = client.get(path, headers=auth(keys[who]))
        assert r.status_code == 200, (who, n, r.text)


def test_public_log_reveals_no_event_data(world) -> None:
    _, client, _, _ = world
    checkpoint = client.get("/log/checkpoint")
    deadline = time.monotonic() + 10
    while checkpoint.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
        checkpoint = client.get("/log/checkpoint")
    assert checkpoint.status_code == 200
    size = int(checkpoint.text.splitlines()[1])
    assert size == len(EVENTS)
    public = checkpoint.content
    for path in (f"/log/tile/entries/000.p/{size}", f"/log/tile/0/000.p/{size}"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        public += r.content
    secrets_in_events = set()
    for e in EVENTS.values():
        secrets_in_events |= {e["eventID"], e["epcList"][0], e["bizLocation"]["id"]}
    for s in secrets_in_events:
        assert s.encode() not in public, s


def test_bad_and_revoked_keys_are_401(world) -> None:
    server, client, _keys, _ = world
    for header in ({"Authorization": "Bearer cor_not-a-key"}, {"Authorization": "Basic eDp5"},
                   {"Authorization": "Bearer"}):
        r = client.get("/epcis/events", headers=header)
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "epcisException:SecurityException"
    _, key = add_party(server.db_url, "Temp", "urn:example:temp")
    assert client.get("/epcis/events", headers=auth(key)).status_code == 200
    out = subprocess.run([CORRIDOR, "party", "revoke", "Temp", "--db", server.db_url],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert client.get("/epcis/events", headers=auth(key)).status_code == 401


@pytest.mark.parametrize("who", [p for p in PARTIES if p != "PUBLIC"])
def test_subscriptions_deliver_only_what_the_subscriber_may_read(world, who: str) -> None:
    """A stream subscription from the beginning of time replays exactly the visible set."""
    _, client, keys, _ = world
    name = f"sub-{who.lower()}"
    create_query(client, keys[who], name, {})
    receiver = Receiver()
    try:
        r = client.post(f"/epcis/queries/{name}/subscriptions", headers=auth(keys[who]),
                        json={"dest": receiver.url, "stream": True,
                              "initialRecordTime": "2000-01-01T00:00:00Z"})
        assert r.status_code == 201, r.text
        want = {eid(n) for n in VISIBLE[who]}
        receiver.wait_for(len(want), timeout=15)
        time.sleep(0.5)
        assert sorted(receiver.event_ids()) == sorted(want)
        assert client.delete(r.headers["Location"], headers=auth(keys[who])).status_code == 204
    finally:
        receiver.close()


def test_public_cannot_subscribe(world) -> None:
    _, client, _, _ = world
    r = client.post("/epcis/queries/sub-a/subscriptions",
                    json={"dest": "http://127.0.0.1:9/x", "stream": True})
    assert r.status_code == 401
