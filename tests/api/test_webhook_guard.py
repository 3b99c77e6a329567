"""The SSRF guard of webhook destinations: a real `corridor serve` with
CORRIDOR_ALLOW_PRIVATE_WEBHOOKS off refuses loopback/private destinations at subscribe time
and at delivery time (a failed delivery, nothing sent)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from corridor.store import Database
from corridor.subscriptions.model import SubscriptionError, check_dest_address
from tests.api.e2_harness import (
    Receiver,
    Server,
    add_party,
    auth,
    capture,
    create_query,
    object_event,
)

A_ID = "urn:epc:id:pgln:4860000.00001"


@pytest.mark.parametrize("dest", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://[::1]:8080/hook",
    "http://10.1.2.3/hook", "http://192.168.0.1/hook", "http://169.254.169.254/latest",
    "http://0.0.0.0/hook", "http://224.0.0.1/hook", "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one decimal number
])
def test_forbidden_destinations(dest: str) -> None:
    with pytest.raises(SubscriptionError) as info:
        check_dest_address(dest, allow_private=False)
    assert info.value.field == "/dest"
    check_dest_address(dest, allow_private=True)


def test_public_destination_passes() -> None:
    check_dest_address("https://8.8.8.8/hook", allow_private=False)
    check_dest_address("http://[2001:4860:4860::8888]/hook", allow_private=False)


def test_unresolvable_destination_is_refused() -> None:
    with pytest.raises(SubscriptionError, match="does not resolve"):
        check_dest_address("http://no-such-host.invalid/hook", allow_private=False)


def test_subscribe_and_delivery_refuse_private_destinations(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'corridor.sqlite3'}"
    _, key = add_party(url, "Alpha", A_ID)
    server = Server(url, tmp_path / "node")  # starts allowing private destinations
    receiver = Receiver()
    client = httpx.Client(base_url=server.url, timeout=20.0)
    try:
        server.start()
        create_query(client, key, "guarded", {})
        r = client.post("/epcis/queries/guarded/subscriptions", headers=auth(key),
                        json={"dest": receiver.url, "stream": True})
        assert r.status_code == 201, r.text
        sub_id = r.json()["subscriptionID"]

        # The same node with the guard on (the default).
        server.stop()
        server.allow_private_webhooks = False
        server.start()
        for dest in (receiver.url, "http://localhost:9/hook", "http://10.0.0.7/hook"):
            r = client.post("/epcis/queries/guarded/subscriptions", headers=auth(key),
                            json={"dest": dest, "stream": True})
            assert r.status_code == 400, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["detail"].startswith("/dest:"), r.text
        listed = client.get("/epcis/queries/guarded/subscriptions", headers=auth(key))
        assert [s["subscriptionID"] for s in listed.json()] == [sub_id]

        # The subscription made while allowed is now refused at delivery time.
        capture(client, key, [object_event(epc=f"urn:epc:id:sgtin:4860000.000001."
                                               f"{uuid.uuid4().int % 10**9}")])
        db = Database(url)
        deadline = time.monotonic() + 20
        row = None
        while time.monotonic() < deadline:
            with db.connect() as conn:
                row = conn.fetchone("SELECT attempts, last_error, delivered_at FROM"
                                    " subscription_outbox WHERE subscription_id = ?", (sub_id,))
            if row is not None and row[0] >= 1:
                break
            time.sleep(0.1)
        assert row is not None and row[0] >= 1, row
        assert row[2] is None
        assert "refused" in row[1] and "/dest" in row[1], row[1]
        assert receiver.attempts == []
    finally:
        client.close()
        server.stop()
        receiver.close()
