"""The SSRF guard of webhook destinations: a real `corridor serve` with
CORRIDOR_ALLOW_PRIVATE_WEBHOOKS off refuses loopback/private destinations at subscribe time
and at delivery time (a failed delivery, nothing sent); the delivery client connects only to
the addresses it checked (DNS rebinding), keeps the name for Host/SNI/certificate and does not
follow redirects."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import socket
import ssl
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from corridor.store import Database
from corridor.subscriptions.model import SubscriptionError, check_dest_address
from corridor.subscriptions.pinned import guarded_client
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


# -- DNS rebinding: the checked address is the connected address ------------------------------
# Real sockets and servers throughout; only the DNS answers are injected (a resolver function).


class Answers:
    """A resolver whose answers change between calls, like a rebinding DNS server."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


class Listener:
    """A bare listening socket that records every connection made to it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.create_server((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    def accepted(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                return count
            conn.close()
            count += 1

    def close(self) -> None:
        self.sock.close()


class Hook:
    """An HTTP(S) server on a loopback address recording Host headers and TLS server names;
    `/redirect` answers 302 to `redirect_to`."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.hosts: list[str] = []
        self.server_names: list[str | None] = []
        self.redirect_to = ""
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.hosts.append(self.headers["Host"])
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", hook.redirect_to)
                else:
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _post(url: str, resolver: Answers, *, allow_private: bool,
          verify: ssl.SSLContext | bool = True, timeout: float = 2.0) -> httpx.Response:
    async def go() -> httpx.Response:
        async with guarded_client(allow_private=allow_private, timeout=timeout,
                                  resolver=resolver, verify=verify) as client:
            return await client.post(url, content=b"{}")

    return asyncio.run(go())


def test_rebinding_never_connects_to_the_private_answer() -> None:
    """First answer public, then loopback: the public answer is what the one connection
    attempt goes to; the loopback answer is refused. The socket on 127.0.0.1 sees nothing."""
    listener = Listener()
    try:
        url = f"http://rebind.test:{listener.port}/hook"
        answers = Answers(["93.184.216.34"], ["127.0.0.1"])
        try:  # reaches 93.184.216.34 or not (sandbox): either way not 127.0.0.1
            _post(url, answers, allow_private=False, timeout=1.0)
        except httpx.HTTPError:
            pass
        assert listener.accepted() == 0
        assert answers.calls == [("rebind.test", listener.port)]  # resolved once, not again
        with pytest.raises(SubscriptionError, match="127.0.0.1") as info:
            _post(url, answers, allow_private=False)
        assert info.value.field == "/dest"
        assert len(answers.calls) == 2
        assert listener.accepted() == 0
        # Control: the listener does notice a connection when private addresses are allowed.
        with contextlib.suppress(httpx.HTTPError):
            _post(url, Answers(["127.0.0.1"]), allow_private=True, timeout=0.5)
        assert listener.accepted() == 1
    finally:
        listener.close()


def test_the_connection_goes_to_the_resolved_address() -> None:
    """One resolution per connection, and the socket goes to that answer, not to a later
    one: answers 127.0.0.1 then 127.0.0.2 reach only the server on 127.0.0.1."""
    first = Hook("127.0.0.1")
    second = Listener("127.0.0.2", first.port)  # same port: only the address decides
    try:
        answers = Answers(["127.0.0.1"], ["127.0.0.2"])
        response = _post(f"http://hook.test:{first.port}/hook", answers, allow_private=True)
        assert response.status_code == 204
        assert first.hosts == [f"hook.test:{first.port}"]  # Host keeps the name
        assert len(answers.calls) == 1
        assert second.accepted() == 0
    finally:
        first.close()
        second.close()


def test_a_name_with_a_public_and_a_private_address_is_refused() -> None:
    listener = Listener()
    try:
        url = f"http://mixed.test:{listener.port}/hook"
        for order in (["93.184.216.34", "127.0.0.1"], ["127.0.0.1", "93.184.216.34"]):
            with pytest.raises(SubscriptionError, match="127.0.0.1"):
                _post(url, Answers(order), allow_private=False)
            with pytest.raises(SubscriptionError, match="127.0.0.1"):
                check_dest_address(url, allow_private=False, resolver=Answers(order))
        assert listener.accepted() == 0
    finally:
        listener.close()


def _tls_for(name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a self-signed certificate for `name`, client context trusting it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    with tempfile.TemporaryDirectory() as tmp:
        cert_path, key_path = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_path.write_bytes(pem)
        key_path.write_bytes(key_pem)
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cadata=pem.decode("ascii"))
    return server, client


def test_https_keeps_the_name_for_sni_host_and_certificate() -> None:
    server_tls, client_tls = _tls_for("hook.test")
    hook = Hook("127.0.0.1", tls=server_tls)
    try:
        answers = Answers(["127.0.0.1"])
        response = _post(f"https://hook.test:{hook.port}/hook", answers, allow_private=True,
                         verify=client_tls)
        assert response.status_code == 204
        assert hook.server_names == ["hook.test"]  # SNI: the name, not the IP
        assert hook.hosts == [f"hook.test:{hook.port}"]
        # The certificate is checked against the name asked for, not the pinned IP.
        with pytest.raises(httpx.ConnectError, match="(?i)certificate"):
            _post(f"https://other.test:{hook.port}/hook", Answers(["127.0.0.1"]),
                  allow_private=True, verify=client_tls)
        assert hook.hosts == [f"hook.test:{hook.port}"]
    finally:
        hook.close()


def test_redirects_are_not_followed() -> None:
    hook, target = Hook("127.0.0.1"), Listener("127.0.0.2")
    try:
        hook.redirect_to = f"http://127.0.0.2:{target.port}/private"
        response = _post(f"http://hook.test:{hook.port}/redirect", Answers(["127.0.0.1"]),
                         allow_private=True)
        assert response.status_code == 302  # a 3xx is a failed delivery for the service
        assert target.accepted() == 0
    finally:
        hook.close()
        target.close()
