"""The leak matrix: N parties x every read endpoint, over a real `corridor serve`.

Each party must see exactly the events the visibility rule grants it, no more, no fewer:
the events it captured, those naming one of its identifiers in sourceList/destinationList,
those shared with it, (auditors) what the parties they hold a grant on may read, (admins)
everything; the public sees none (under /epcis/ it is refused with 401 and a Bearer
challenge; the pages show it nothing). The expected sets below are written out by hand from
the scenario, independently of the server's SQL.

eventIDs are chosen by the capturing client, so two parties may store events under one
eventID. The scenario holds both attacks that worked while shares named an eventID text:
B captures e8 under eventID X and shares it with itself, then A stores e9 under X; A shares
e6 (eventID Y) with B, then C stores e7 under Y. Events are therefore told apart by their
EPC (one per event), never by eventID.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import websockets

from corridor.epcis.identifiers import canonical
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

STEPS = ["shipping", "receiving", "loading", "unloading", "departing", "arriving", "storing",
         "inspecting", "picking", "packing"]


def _uuid(n: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{n:012d}"


def _event(n: int, event_id: str | None = None, **kw: str) -> dict:
    return object_event(epc=f"urn:epc:id:sgtin:4700000.000001.{n:03d}", biz_step=STEPS[n - 1],
                        location=f"urn:epc:id:sgln:4700000.00009.{n:03d}",
                        event_id=event_id or _uuid(n), when=f"2024-05-{n:02d}T10:00:00.000Z",
                        **kw)


# e1 A private; e2 A -> B; e3 B naming A's second identifier; e4 C shared with D;
# e5 C private; e6 A shared with B (so also with B's auditor); e8 B's, eventID X, shared
# by B with itself; then e7 C private under e6's eventID, e9 A private under X, e10 A -> B.
EVENTS = {
    1: _event(1),
    2: _event(2, destination=B_ID),
    3: _event(3, source=A_SGLN),
    4: _event(4),
    5: _event(5),
    6: _event(6),
    7: _event(7, event_id=_uuid(6)),
    8: _event(8),
    9: _event(9, event_id=_uuid(8)),
    10: _event(10, destination=B_ID),
}
CAPTURED_BY = {1: "A", 2: "A", 3: "B", 4: "C", 5: "C", 6: "A", 7: "C", 8: "B", 9: "A", 10: "A"}
BEFORE_SHARES = (1, 2, 3, 4, 5, 6, 8)
AFTER_SHARES = (7, 9, 10)  # captured while B and the auditor listen on WebSockets
VISIBLE = {
    "A": {1, 2, 3, 6, 9, 10},
    "B": {2, 3, 6, 8, 10},
    "C": {4, 5, 7},
    "D": {4},
    "AUD": {2, 3, 6, 8, 10},  # auditor granted over B
    "ADM": set(EVENTS),
    "PUBLIC": set(),
}
LISTENERS = ("B", "AUD", "D")


def eid(n: int) -> str:
    return EVENTS[n]["eventID"]


def epc(n: int) -> str:
    return EVENTS[n]["epcList"][0]


def _epcs(ns: set[int] | list[int]) -> set[str]:
    return {epc(n) for n in ns}


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
    for n in BEFORE_SHARES:
        jobs[n] = capture(client, keys[CAPTURED_BY[n]], [EVENTS[n]])
        assert jobs[n]["success"], jobs[n]
    for args in (["share", eid(4), "Delta"], ["share", eid(6), B_ID], ["grant", "Audit", "Beta"]):
        out = subprocess.run([CORRIDOR, "party", *args, "--db", url], capture_output=True,
                             text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
    r = client.post("/parties/shares", json={"eventID": eid(8), "party": "Beta"},
                    headers=auth(keys["B"]))
    assert r.status_code == 201, r.text
    streamed = asyncio.run(_capture_while_listening(server, client, keys, jobs))
    yield server, client, keys, jobs, streamed
    client.close()
    server.stop()


async def _capture_while_listening(server: Server, client: httpx.Client, keys: dict,
                                   jobs: dict) -> dict[str, set[str]]:
    """Capture AFTER_SHARES while LISTENERS stream everything their named query matches over
    WebSockets; return the EPCs each listener received."""
    url = server.url.replace("http://", "ws://") + "/epcis/queries/{}/events?stream=true"
    sockets = {}
    for who in LISTENERS:
        name = f"ws-{who.lower()}"
        create_query(client, keys[who], name, {})
        sockets[who] = await websockets.connect(url.format(name),
                                                additional_headers=auth(keys[who]))
    await asyncio.sleep(0.3)
    for n in AFTER_SHARES:
        jobs[n] = await asyncio.to_thread(capture, client, keys[CAPTURED_BY[n]], [EVENTS[n]])
        assert jobs[n]["success"], jobs[n]
    got: dict[str, set[str]] = {who: set() for who in LISTENERS}
    for who, ws in sockets.items():
        want = len(VISIBLE[who] & set(AFTER_SHARES))
        deadline = time.monotonic() + (10 if want else 1.5)
        # Wait for what is due, then a little longer for anything that is not.
        while time.monotonic() < deadline:
            try:
                message = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
            except TimeoutError:
                break
            got[who] |= set(_event_epcs(json.loads(message)))
            if len(got[who]) >= want and deadline - time.monotonic() > 1.5:
                deadline = time.monotonic() + 1.5
        await ws.close()
    return got


def _event_epcs(doc: dict) -> list[str]:
    return [e["epcList"][0]
            for e in doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


def _log_index(jobs: dict, n: int) -> int:
    return int(jobs[n]["events"][0]["logIndex"])


def _refused_to_public(r: httpx.Response, who: str = "PUBLIC") -> None:
    """An /epcis/ answer to a request without a key: 401, a Bearer challenge, no event."""
    assert r.status_code == 401, (r.request.url, r.text)
    assert r.headers["WWW-Authenticate"].startswith("Bearer "), r.headers
    assert r.json()["type"] == "epcisException:SecurityException"
    _hidden_epcs_absent(r.text, who)


def _status(who: str, status: int) -> int:
    """What `who` gets where a party gets `status`: under /epcis/ the public gets 401."""
    return 401 if who == "PUBLIC" else status


def _follow(client: httpx.Client, key: str | None, path: str) -> list[str]:
    """The EPC of every event of a paginated event list, following the Link rel=next
    header (none for the public, which is refused)."""
    if key is None:
        _refused_to_public(client.get(path))
        return []
    found: list[str] = []
    url = path
    for _ in range(50):
        r = client.get(url, headers=auth(key))
        assert r.status_code == 200, (url, r.text)
        found.extend(_event_epcs(r.json()))
        link = r.headers.get("link")
        if not link:
            return found
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


def _hidden_epcs_absent(text: str, who: str) -> None:
    for n in set(EVENTS) - VISIBLE[who]:
        assert epc(n) not in text and EVENTS[n]["bizLocation"]["id"] not in text, (who, n)


PARTIES = list(VISIBLE)


@pytest.mark.parametrize("who", PARTIES)
def test_event_list_and_single_events(world, who: str) -> None:
    _, client, keys, jobs, _ = world
    listed = _follow(client, keys[who], "/epcis/events?perPage=2")
    assert len(listed) == len(set(listed))
    assert set(listed) == _epcs(VISIBLE[who])
    # By eventID (shared by several events here) and by Event Hash ID (one event each).
    for n in EVENTS:
        same_id = {m for m in EVENTS if eid(m) == eid(n)}
        r = client.get(f"/epcis/events/{quote(eid(n), safe='')}", headers=auth(keys[who]))
        if same_id & VISIBLE[who]:
            assert r.status_code == 200, (who, n, r.text)
            assert set(_event_epcs(r.json()) if "epcisBody" in r.json()
                       else [r.json()["epcList"][0]]) <= _epcs(same_id & VISIBLE[who])
        else:
            assert r.status_code == _status(who, 404), (who, n, r.text)
        _hidden_epcs_absent(r.text, who)
        hash_id = jobs[n]["events"][0]["eventHashID"]
        r = client.get(f"/epcis/events/{quote(hash_id, safe='')}", headers=auth(keys[who]))
        assert r.status_code == (200 if n in VISIBLE[who] else _status(who, 404)), \
            (who, n, r.text)
        _hidden_epcs_absent(r.text, who)


def _probes(n: int) -> list[tuple[str, str, object]]:
    """(parameter, value, which events it selects) aimed at event n, one per query parameter
    that can single an event out; the expected events are computed from the scenario."""
    e = EVENTS[n]
    day = e["eventTime"][:10]
    probes = [
        ("EQ_eventID", eid(n), lambda m: eid(m) == eid(n)),
        ("MATCH_epc", epc(n), lambda m: m == n),
        ("MATCH_anyEPC", epc(n), lambda m: m == n),
        ("EQ_bizLocation", e["bizLocation"]["id"], lambda m: m == n),
        ("WD_bizLocation", e["bizLocation"]["id"], lambda m: m == n),
        ("EQ_bizStep", e["bizStep"], lambda m: m == n),
        ("GE_eventTime", f"{day}T00:00:00Z", lambda m: EVENTS[m]["eventTime"] >= day),
        ("LT_eventTime", f"{day}T23:59:59Z", lambda m: EVENTS[m]["eventTime"][:10] <= day),
    ]
    for kind in ("source", "destination"):
        for entry in e.get(f"{kind}List", []):
            value = entry[kind]
            probes.append((f"EQ_{kind}_owning_party", value, lambda m, kind=kind, value=value: any(
                x[kind] == value for x in EVENTS[m].get(f"{kind}List", []))))
    return probes


@pytest.mark.parametrize("who", PARTIES)
def test_every_query_parameter_aimed_at_every_event(world, who: str) -> None:
    """A generated matrix: each query parameter aimed at each event returns exactly the
    visible events it selects, on /events and through a named query."""
    _, client, keys, _, _ = world
    for n in EVENTS:
        for name, value, selects in _probes(n):
            want = {m for m in VISIBLE[who] if selects(m)}  # type: ignore[operator]
            path = f"/epcis/events?perPage=50&{name}={quote(value, safe='')}"
            got = _follow(client, keys[who], path)
            assert set(got) == _epcs(want), (who, n, name)
    if who != "PUBLIC":
        create_query(client, keys[who], f"probe-{who.lower()}", {"MATCH_epc": [epc(7), epc(9)]})
        got = _follow(client, keys[who], f"/epcis/queries/probe-{who.lower()}/events")
        assert set(got) == _epcs(VISIBLE[who] & {7, 9})


@pytest.mark.parametrize("who", PARTIES)
def test_discovery_endpoints(world, who: str) -> None:
    _, client, keys, _, _ = world
    visible = [EVENTS[n] for n in VISIBLE[who]]
    hidden = [EVENTS[n] for n in set(EVENTS) - VISIBLE[who]]
    if who == "PUBLIC":
        for path in ("/epcis/bizSteps", "/epcis/bizLocations", "/epcis/epcs",
                     "/epcis/eventTypes", "/epcis/eventTypes/ObjectEvent/events?perPage=20"):
            _refused_to_public(client.get(path))
        for e in hidden:
            for path in (f"/epcis/bizSteps/{e['bizStep']}/events",
                         f"/epcis/epcs/{quote(e['epcList'][0], safe='')}/events",
                         f"/epcis/bizLocations/{quote(e['bizLocation']['id'], safe='')}"):
                _refused_to_public(client.get(path))
        return
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
    assert r.json() == client.get("/epcis/eventTypes", headers=auth(keys["C"])).json()
    # The per-value event lists: visible values list the event, hidden ones nothing.
    for e in visible + hidden:
        expect = [e["epcList"][0]] if e in visible else []
        for path in (f"/epcis/bizSteps/{e['bizStep']}/events",
                     f"/epcis/epcs/{quote(e['epcList'][0], safe='')}/events",
                     f"/epcis/bizLocations/{quote(e['bizLocation']['id'], safe='')}/events"):
            r = client.get(path, headers=auth(keys[who]))
            if r.status_code == 404:
                assert not expect, (who, path)
                continue
            assert r.status_code == 200, (path, r.text)
            assert _event_epcs(r.json()) == expect, (who, path)
    r = client.get("/epcis/eventTypes/ObjectEvent/events?perPage=20", headers=auth(keys[who]))
    assert r.status_code == 200, r.text
    assert set(_event_epcs(r.json())) == _epcs(VISIBLE[who])


@pytest.mark.parametrize("who", [p for p in PARTIES if p != "PUBLIC"])
def test_named_queries(world, who: str) -> None:
    _, client, keys, _, _ = world
    name = f"everything-{who.lower()}"
    if client.get(f"/epcis/queries/{name}", headers=auth(keys[who])).status_code == 404:
        create_query(client, keys[who], name, {})
    assert set(_follow(client, keys[who], f"/epcis/queries/{name}/events?perPage=2")) == \
        _epcs(VISIBLE[who])
    # Another party cannot run (or even see) this party's query.
    other = "C" if who != "C" else "A"
    r = client.get(f"/epcis/queries/{name}/events", headers=auth(keys[other]))
    assert r.status_code == 404


def test_page_tokens_are_bound_to_their_party(world) -> None:
    _, client, keys, _, _ = world
    r = client.get("/epcis/events?perPage=1", headers=auth(keys["A"]))
    link = r.headers.get("link")
    assert link, "A sees several events: a first page of 1 must link to the next"
    url = re.search(r"<([^>]+)>", link).group(1)
    for thief in ("C", "D", "PUBLIC"):
        r = client.get(url, headers=auth(keys[thief]))
        assert r.status_code == _status(thief, 400), (thief, r.text)
        for n in VISIBLE["A"]:
            assert epc(n) not in r.text


def test_capture_jobs_are_private(world) -> None:
    _, client, keys, jobs, _ = world
    job_id = jobs[1]["captureID"] if "captureID" in jobs[1] else jobs[1].get("id")
    assert job_id is not None, jobs[1]
    assert client.get(f"/epcis/capture/{job_id}", headers=auth(keys["A"])).status_code == 200
    for other in ("B", "C", "PUBLIC"):
        r = client.get(f"/epcis/capture/{job_id}", headers=auth(keys[other]))
        assert r.status_code in (401, 404), (other, r.status_code)


def _receipt_index(text: str) -> int:
    """The log index a C2SP tlog-proof receipt proves."""
    m = re.search(r"^index (\d+)$", text, re.MULTILINE)
    assert m, text
    return int(m.group(1))


def _get_receipt(client: httpx.Client, key: str | None, path: str) -> httpx.Response:
    r = client.get(path, headers=auth(key))
    deadline = time.monotonic() + 10
    while r.status_code == 404 and "checkpoint" in r.text and time.monotonic() < deadline:
        time.sleep(0.3)
        r = client.get(path, headers=auth(key))
    return r


@pytest.mark.parametrize("who", PARTIES)
def test_receipts(world, who: str) -> None:
    _, client, keys, jobs, _ = world
    for n in EVENTS:
        same_id = {m for m in EVENTS if eid(m) == eid(n)} & VISIBLE[who]
        r = _get_receipt(client, keys[who], f"/epcis/events/{quote(eid(n), safe='')}/receipt")
        if not same_id:
            assert r.status_code == _status(who, 404), (who, n, r.status_code)
            _hidden_epcs_absent(r.text, who)
            continue
        assert r.status_code == 200, (who, n, r.text)
        assert _receipt_index(r.text) in {_log_index(jobs, m) for m in same_id}, (who, n)


@pytest.mark.parametrize("who", PARTIES)
def test_web_pages(world, who: str) -> None:
    """The dashboard: each event's page, document and receipt, the overview and search."""
    _, client, keys, jobs, _ = world
    for n in EVENTS:
        index = _log_index(jobs, n)
        for path in (f"/event/{index}", f"/event/{index}/event.json"):
            r = client.get(path, headers=auth(keys[who]))
            # The event's page is its log entry for anyone, with the event for its readers.
            expected = 200 if n in VISIBLE[who] or path == f"/event/{index}" else 404
            assert r.status_code == expected, (who, n, path)
            _hidden_epcs_absent(r.text, who)
            if path == f"/event/{index}":
                assert ('id="jsonld"' in r.text) == (n in VISIBLE[who]), (who, n, path)
        r = _get_receipt(client, keys[who], f"/event/{index}/receipt")
        assert r.status_code == (200 if n in VISIBLE[who] else 404), (who, n, r.text)
        if r.status_code == 200:
            assert _receipt_index(r.text) == index
    for path in ("/", "/ledger"):
        r = client.get(path, headers=auth(keys[who]))
        assert r.status_code == 200, (who, path)
        _hidden_epcs_absent(r.text, who)
    for n in EVENTS:
        for q in (epc(n), eid(n), EVENTS[n]["bizLocation"]["id"]):
            r = client.get(f"/search?q={quote(q, safe='')}", headers=auth(keys[who]))
            assert r.status_code == 200, (who, q)
            # The page repeats the query itself in its search box and heading.
            _hidden_epcs_absent(r.text.replace(f'value="{q}"', "").replace(f"“{q}”", ""), who)
            if n not in VISIBLE[who] and q == epc(n):
                assert 'id="no-hits"' in r.text, (who, q)


def test_public_log_reveals_no_event_data(world) -> None:
    _, client, _, _, _ = world
    checkpoint = client.get("/log/checkpoint")
    deadline = time.monotonic() + 10
    while (checkpoint.status_code != 200
           or int(checkpoint.text.splitlines()[1]) < len(EVENTS)) and time.monotonic() < deadline:
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
    server, client, _keys, _, _ = world
    for header in ({"Authorization": "Bearer cor_not-a-key"}, {"Authorization": "Basic eDp5"},
                   {"Authorization": "Bearer"}):
        r = client.get("/epcis/events", headers=header)
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "epcisException:SecurityException"
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="corridor"')
        if header["Authorization"].startswith("Bearer cor_"):
            assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    _, key = add_party(server.db_url, "Temp", "urn:example:temp")
    assert client.get("/epcis/events", headers=auth(key)).status_code == 200
    out = subprocess.run([CORRIDOR, "party", "revoke", "Temp", "--db", server.db_url],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    r = client.get("/epcis/events", headers=auth(key))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="corridor", error="invalid_token"'


@pytest.mark.parametrize("who", LISTENERS)
def test_websocket_streams_deliver_only_what_the_listener_may_read(world, who: str) -> None:
    streamed = world[4]
    assert streamed[who] == _epcs(VISIBLE[who] & set(AFTER_SHARES))


@pytest.mark.parametrize("who", [p for p in PARTIES if p != "PUBLIC"])
def test_subscriptions_deliver_only_what_the_subscriber_may_read(world, who: str) -> None:
    """A stream subscription from the beginning of time replays exactly the visible set."""
    _, client, keys, _, _ = world
    name = f"sub-{who.lower()}"
    create_query(client, keys[who], name, {})
    receiver = Receiver()
    try:
        r = client.post(f"/epcis/queries/{name}/subscriptions", headers=auth(keys[who]),
                        json={"dest": receiver.url, "stream": True,
                              "initialRecordTime": "2000-01-01T00:00:00Z"})
        assert r.status_code == 201, r.text
        receiver.wait_for(len(VISIBLE[who]), timeout=15)
        time.sleep(0.5)
        got = [x for received in receiver.received for x in _event_epcs(received.json())]
        assert sorted(got) == sorted(_epcs(VISIBLE[who]))
        assert client.delete(r.headers["Location"], headers=auth(keys[who])).status_code == 204
    finally:
        receiver.close()


def test_public_cannot_subscribe(world) -> None:
    _, client, _, _, _ = world
    r = client.post("/epcis/queries/sub-a/subscriptions",
                    json={"dest": "http://127.0.0.1:9/x", "stream": True})
    assert r.status_code == 401


def test_shares_name_stored_events(world) -> None:
    """A member shares only events it captured; the operator must name the capturer once
    several parties' events carry the eventID."""
    server, client, keys, _, _ = world
    # C cannot share A's e6 (C's own e7 has the same eventID: it shares e7 only).
    r = client.post("/parties/shares", json={"eventID": eid(6), "party": "Delta"},
                    headers=auth(keys["C"]))
    assert r.status_code == 201, r.text
    assert set(_follow(client, keys["D"], "/epcis/events")) == _epcs({4, 7})
    r = client.delete("/parties/shares", params={"eventID": eid(6), "party": "Delta"},
                      headers=auth(keys["C"]))
    assert r.status_code == 204
    assert set(_follow(client, keys["D"], "/epcis/events")) == _epcs({4})
    # B cannot share an event it does not hold, whatever its eventID.
    r = client.post("/parties/shares", json={"eventID": eid(5), "party": "Beta"},
                    headers=auth(keys["B"]))
    assert r.status_code == 404
    r = client.post("/parties/shares", json={"eventID": eid(6), "party": "Delta"},
                    headers=auth(keys["ADM"]))
    assert r.status_code == 409 and "capturedBy" in r.json()["detail"]
    out = subprocess.run([CORRIDOR, "party", "share", eid(6), "Delta", "--db", server.db_url],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode != 0 and "capturedBy" in out.stderr
    assert set(_follow(client, keys["D"], "/epcis/events")) == _epcs({4})
