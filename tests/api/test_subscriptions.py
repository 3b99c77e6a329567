"""Query subscriptions end to end: a real `corridor serve` and a real webhook receiver on
loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import websockets

from corridor.subscriptions.signing import verify
from tests.api.e2_harness import (
    Receiver,
    Server,
    add_party,
    auth,
    capture,
    create_query,
    module_db_url,
    object_event,
)

SECRET = "13df38d8275b13f05704629e5f1cf3d45d6132d5"
A_ID = "urn:epc:id:pgln:4600000.00001"
B_ID = "urn:epc:id:pgln:4600000.00002"
C_ID = "urn:epc:id:pgln:4600000.00003"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(request, tmp_path_factory):
    # One node per database for the whole module (starting one takes seconds); each test
    # uses its own named queries, so tests do not see each other's subscriptions.
    tmp_path: Path = tmp_path_factory.mktemp(f"subs-{request.param}")
    url = module_db_url(request.param, tmp_path, request)
    keys = {
        "a": add_party(url, "Alpha", A_ID)[1],
        "b": add_party(url, "Beta", B_ID)[1],
        "c": add_party(url, "Gamma", C_ID)[1],
    }
    server = Server(url, tmp_path / "node").start()
    client = httpx.Client(base_url=server.url, timeout=20.0)
    yield server, client, keys
    client.close()
    server.stop()


_serials = itertools.count(1)


def _epc(company_item: int) -> str:
    """A fresh EPC: the Event Hash ID ignores eventID, so events that differ only there
    would be one event (and a re-capture is idempotent)."""
    return f"urn:epc:id:sgtin:4600000.00000{company_item}.{next(_serials)}"


def _unsubscribe_all(client: httpx.Client, key: str, query: str) -> None:
    """Leave no subscription firing into the next test."""
    listed = client.get(f"/epcis/queries/{query}/subscriptions", headers=auth(key))
    for sub in listed.json():
        r = client.delete(f"/epcis/queries/{query}/subscriptions/{sub['subscriptionID']}",
                          headers=auth(key))
        assert r.status_code == 204


def _subscribe(client: httpx.Client, key: str, query: str, body: dict) -> httpx.Response:
    return client.post(f"/epcis/queries/{query}/subscriptions", json=body, headers=auth(key))


def test_stream_webhook_delivers_exactly_what_the_subscriber_may_read(node) -> None:
    _, client, keys = node
    receiver = Receiver()
    try:
        create_query(client, keys["a"], "shipping", {"EQ_bizStep": ["shipping"]})
        r = _subscribe(client, keys["a"], "shipping",
                       {"dest": receiver.url, "signatureToken": SECRET, "stream": True})
        assert r.status_code == 201, r.text
        sub = r.json()
        assert sub["stream"] is True and "signatureToken" not in sub and "secret" not in r.text
        assert r.headers["Location"].endswith(f"/epcis/queries/shipping/subscriptions/"
                                              f"{sub['subscriptionID']}")
        own = [object_event(epc=_epc(1)) for _ in range(3)]
        other_step = object_event(epc=_epc(1), biz_step="receiving")
        capture(client, keys["a"], [*own, other_step])
        private_b = object_event(epc=_epc(2))
        names_a = object_event(epc=_epc(2), source=B_ID,
                               destination=A_ID)
        capture(client, keys["b"], [private_b, names_a])
        expected = {e["eventID"] for e in [*own, names_a]}
        got = receiver.wait_for(len(expected))
        time.sleep(1.5)  # anything more that would (wrongly) arrive does so by now
        assert sorted(receiver.event_ids()) == sorted(expected), got
        for delivery in receiver.received:
            assert verify(delivery.body, SECRET, delivery.headers.get("gs1-signature"))
            doc = delivery.json()
            assert doc["type"] == "EPCISQueryDocument"
            assert doc["epcisBody"]["queryResults"]["subscriptionID"] == sub["subscriptionID"]
            assert doc["epcisBody"]["queryResults"]["queryName"] == "shipping"
        # Only its owner sees or deletes a subscription.
        member = f"/epcis/queries/shipping/subscriptions/{sub['subscriptionID']}"
        assert client.get(member, headers=auth(keys["b"])).status_code == 404
        assert client.delete(member, headers=auth(keys["b"])).status_code == 404
        assert client.get(member).status_code == 401
        shown = client.get(member, headers=auth(keys["a"]))
        assert shown.status_code == 200 and shown.json()["lastNotifiedAt"]
        listed = client.get("/epcis/queries/shipping/subscriptions", headers=auth(keys["a"]))
        assert [s["subscriptionID"] for s in listed.json()] == [sub["subscriptionID"]]
        assert client.delete(member, headers=auth(keys["a"])).status_code == 204
        assert client.get(member, headers=auth(keys["a"])).status_code == 404
        capture(client, keys["a"], [object_event(epc=_epc(1))])
        time.sleep(1.5)
        assert sorted(receiver.event_ids()) == sorted(expected)
    finally:
        receiver.close()


def test_retries_with_backoff_then_delivers(node) -> None:
    _, client, keys = node
    receiver = Receiver(fail_first=3)
    try:
        create_query(client, keys["a"], "all-retry", {})
        r = _subscribe(client, keys["a"], "all-retry", {"dest": receiver.url, "stream": True})
        assert r.status_code == 201, r.text
        event = object_event(epc=_epc(1))
        capture(client, keys["a"], [event])
        assert receiver.wait_for(1, timeout=20) == [event["eventID"]]
        gaps = [b - a for a, b in zip(receiver.attempts, receiver.attempts[1:], strict=False)]
        assert len(receiver.attempts) == 4
        # Exponential backoff from a 0.5 s base: the waits are at least 0.5, 1 and 2 s (a busy
        # machine can only make them longer; the clock here and the server's are the same).
        assert gaps[0] >= 0.45 and gaps[1] >= 0.95 and gaps[2] >= 1.95, gaps
        assert gaps[0] < gaps[2], gaps  # growing, not constant
        assert "gs1-signature" not in receiver.received[0].headers  # no token, no signature
    finally:
        _unsubscribe_all(client, keys["a"], "all-retry")
        receiver.close()


def test_nothing_lost_across_a_crash(node) -> None:
    server, client, keys = node
    receiver = Receiver()
    port = receiver.server.server_address[1]
    dest = receiver.url
    create_query(client, keys["a"], "all-crash", {})
    r = _subscribe(client, keys["a"], "all-crash", {"dest": dest, "stream": True,
                                              "signatureToken": SECRET})
    assert r.status_code == 201, r.text
    receiver.close()  # the subscriber is down: deliveries fail and wait in the outbox
    events = [object_event(epc=_epc(1)) for _ in range(5)]
    capture(client, keys["a"], events[:3])
    capture(client, keys["a"], events[3:])
    time.sleep(0.5)
    server.kill()
    revived = Receiver(port=port)  # the subscriber is back, where the subscription points
    try:
        server.start()
        ids = revived.wait_for(5, timeout=30)
        assert sorted(ids) == sorted(e["eventID"] for e in events)
        for d in revived.received:
            assert verify(d.body, SECRET, d.headers["gs1-signature"])
        _unsubscribe_all(client, keys["a"], "all-crash")
    finally:
        revived.close()


def test_scheduled_subscription(node) -> None:
    _, client, keys = node
    receiver = Receiver()
    empty = Receiver()
    try:
        create_query(client, keys["a"], "all-sched", {})
        every_second = {"second": "[0-59]"}
        r = _subscribe(client, keys["a"], "all-sched", {"dest": receiver.url,
                                                  "schedule": every_second})
        assert r.status_code == 201, r.text
        assert r.json()["schedule"] == every_second
        r = _subscribe(client, keys["a"], "all-sched", {"dest": empty.url, "reportIfEmpty": True,
                                                  "schedule": {"second": "0/2"}})
        assert r.status_code == 201, r.text
        events = [object_event(epc=_epc(1)) for _ in range(4)]
        capture(client, keys["a"], events[:2])
        capture(client, keys["b"], [object_event(epc=_epc(2))])
        capture(client, keys["a"], events[2:])
        ids = receiver.wait_for(4, timeout=10)
        assert sorted(ids) == sorted(e["eventID"] for e in events)
        deadline = time.monotonic() + 12
        while not empty.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert empty.received, "reportIfEmpty schedule never reported"
    finally:
        _unsubscribe_all(client, keys["a"], "all-sched")
        receiver.close()
        empty.close()


def test_initial_record_time_delivers_earlier_events(node) -> None:
    _, client, keys = node
    receiver = Receiver()
    try:
        # Events recorded before the subscription, but after its initialRecordTime.
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        earlier = [object_event(epc=_epc(1)) for _ in range(2)]
        capture(client, keys["a"], earlier)
        create_query(client, keys["a"], "all-initial", {})
        r = _subscribe(client, keys["a"], "all-initial", {"dest": receiver.url, "stream": True,
                                                          "initialRecordTime": since})
        assert r.status_code == 201, r.text
        assert sorted(receiver.wait_for(2)) == sorted(e["eventID"] for e in earlier)
    finally:
        _unsubscribe_all(client, keys["a"], "all-initial")
        receiver.close()


def test_subscription_requests_are_checked(node) -> None:
    _, client, keys = node
    create_query(client, keys["a"], "all-checks", {})
    base = "/epcis/queries/all-checks/subscriptions"
    ok = {"dest": "http://127.0.0.1:9/hook", "stream": True}
    assert client.post(base, json=ok).status_code == 401
    assert client.post(base, json=ok, headers=auth("cor_wrong")).status_code == 401
    # Named queries belong to their party: B has no query "all-checks".
    missing = client.post(base, json=ok, headers=auth(keys["b"]))
    assert missing.status_code == 404
    assert missing.json()["type"] == "epcisException:NoSuchNameException"
    for body, where in [({"stream": True}, "/dest"), ({"dest": "http://h/x"}, "/stream"),
                        ({**ok, "schedule": {"hour": "1"}}, "/stream"),
                        ({"dest": "http://h/x", "schedule": {"minute": "61"}},
                         "/schedule/minute"),
                        ([1, 2], "/")]:
        r = client.post(base, json=body, headers=auth(keys["a"]))
        assert r.status_code == 400, (body, r.text)
        problem = r.json()
        assert problem["type"] == "epcisException:SubscriptionControlsException"
        assert where in problem["detail"]
    r = client.post(base, content=b"dest=x", headers={**auth(keys["a"]),
                                                      "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.post(base, content=b"{not json", headers={**auth(keys["a"]),
                                                         "Content-Type": "application/json"})
    assert r.status_code == 400
    assert client.options(base).status_code == 204


def test_websocket_stream_respects_visibility(node) -> None:
    server, client, keys = node
    create_query(client, keys["a"], "all-ws", {})
    create_query(client, keys["c"], "all-ws", {})
    ws_url = server.url.replace("http://", "ws://") + "/epcis/queries/all-ws/events?stream=true"

    async def scenario() -> tuple[list[str], list[str]]:
        async with websockets.connect(ws_url, additional_headers=auth(keys["a"])) as wa, \
                websockets.connect(ws_url, additional_headers=auth(keys["c"])) as wc:
            await asyncio.sleep(0.3)
            mine = object_event(epc=_epc(1))
            shared_to_c = object_event(epc=_epc(1),
                                       destination=C_ID)
            await asyncio.to_thread(capture, client, keys["a"], [mine, shared_to_c])
            got_a = await _ws_events(wa, 2)
            got_c = await _ws_events(wc, 1)
            # Nothing else reaches C (A's private event must never arrive).
            extra = await _ws_events(wc, 1, timeout=1.5)
            assert extra == []
            assert sorted(got_a) == sorted([mine["eventID"], shared_to_c["eventID"]])
            return got_a, got_c

    _, got_c = asyncio.run(scenario())
    assert len(got_c) == 1

    async def refused(url: str, headers: dict) -> int | None:
        try:
            async with websockets.connect(url, additional_headers=headers) as ws:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
        return None

    assert asyncio.run(refused(ws_url, auth("cor_bad"))) in (1008, 403)
    assert asyncio.run(refused(ws_url.replace("stream=true", "stream=false"),
                               auth(keys["a"]))) in (1008, 403)
    assert asyncio.run(refused(ws_url.replace("/all-ws/", "/nope/"), auth(keys["a"]))) in (1008,
                                                                                        403)


async def _ws_events(ws, count: int, timeout: float = 10.0) -> list[str]:
    ids: list[str] = []
    deadline = time.monotonic() + timeout
    while len(ids) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            message = await asyncio.wait_for(ws.recv(), timeout=left)
        except TimeoutError:
            break
        doc = json.loads(message)
        ids.extend(e["eventID"] for e in doc["epcisBody"]["queryResults"]["resultsBody"]
                   ["eventList"])
    return ids


def test_deleting_the_query_ends_its_subscriptions(node) -> None:
    _, client, keys = node
    receiver = Receiver()
    try:
        create_query(client, keys["a"], "doomed", {})
        r = _subscribe(client, keys["a"], "doomed", {"dest": receiver.url, "stream": True})
        assert r.status_code == 201, r.text
        assert client.delete("/epcis/queries/doomed", headers=auth(keys["a"])).status_code == 204
        capture(client, keys["a"], [object_event(epc=_epc(1))])
        time.sleep(1.5)
        assert receiver.event_ids() == []
        assert client.get(r.headers["Location"], headers=auth(keys["a"])).status_code == 404
    finally:
        receiver.close()


def test_websocket_schedule(node) -> None:
    server, client, keys = node
    create_query(client, keys["a"], "all-ws-sched", {})
    url = (server.url.replace("http://", "ws://") + "/epcis/queries/all-ws-sched/events"
           "?second=%5B0-59%5D&reportIfEmpty=true")

    async def scenario() -> list[str]:
        async with websockets.connect(url, additional_headers=auth(keys["a"])) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
            assert first["type"] == "EPCISQueryDocument"  # empty report: reportIfEmpty
            event = object_event(epc=_epc(1))
            await asyncio.to_thread(capture, client, keys["a"], [event])
            got = await _ws_events(ws, 1, timeout=5)
            assert got == [event["eventID"]]
            return got

    asyncio.run(scenario())


def test_wake_ups_are_coalesced_and_none_is_lost(tmp_path: Path) -> None:
    """notify() from the capture path schedules one wake-up however many commits come before
    it runs, and a commit after it ran schedules a new one."""
    from corridor.store.db import Database
    from corridor.store.migrations import migrate
    from corridor.subscriptions.service import SubscriptionService

    db = Database(f"sqlite:///{tmp_path / 'wake.sqlite3'}")
    with db.connect() as conn:
        migrate(db, conn)

    async def run() -> None:
        service = SubscriptionService(db)
        await service.start()
        try:
            woken = 0
            wake_all = service._wake_all

            def counting() -> None:
                nonlocal woken
                woken += 1
                wake_all()

            service._wake_all = counting  # type: ignore[method-assign]
            listener = service.listen()
            for _ in range(50):
                service.notify(["e"])
            assert woken == 0 and not listener.is_set()
            await asyncio.sleep(0)
            assert woken == 1 and listener.is_set()
            listener.clear()
            await asyncio.to_thread(service.notify, ["f"])  # from another thread, as the writer
            await asyncio.sleep(0.05)
            assert woken == 2 and listener.is_set()
            service.unlisten(listener)
        finally:
            await service.stop()

    asyncio.run(run())
