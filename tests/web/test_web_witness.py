"""A node with a witness: the pages show the cosignature and the browser checks it."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from corridor.config import Settings, WitnessConfig
from corridor.demo import demo_api_key, load_demo
from corridor.demo.scenario import generate

pytestmark = pytest.mark.browser


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def witnessed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from corridor.api.log_routes import witness_app
    from corridor.app import create_app
    from corridor.ledger.note import generate_signer
    from corridor.ledger.witness import FileState, Witness
    from corridor.node import load_or_create_signer

    data_dir: Path = tmp_path_factory.mktemp("witnessed")
    log_signer = load_or_create_signer(Settings(data_dir=data_dir))
    witness = Witness(generate_signer("witness.test/w1"), [log_signer.verifier],
                      FileState(data_dir / "witness-state.json"))
    w_server, w_thread, w_url = _serve(witness_app(witness))
    settings = Settings(data_dir=data_dir, witnesses=[WitnessConfig(w_url,
                                                                    witness.verifier.vkey)],
                        witness_quorum=1)
    load_demo(settings, shipments=3)
    app = create_app(settings)
    app.state.ctx.ledger.witness_now()
    server, thread, url = _serve(app)
    try:
        yield url, witness.verifier.vkey
    finally:
        server.should_exit = True
        w_server.should_exit = True
        thread.join(timeout=10)
        w_thread.join(timeout=10)


def test_cosignature_shown_and_verified_in_browser(page: Any, witnessed: tuple[str, str],
                                                  ) -> None:
    url, wkey = witnessed
    plan = generate(3).shipments[0]
    page.goto(f"{url}/ledger")
    assert "witness.test/w1" in page.inner_text("#history")
    assert f"--witness '{wkey}'" in page.inner_text("#verify-command")
    page.goto(f"{url}/login")
    page.fill("#api_key", demo_api_key(7, plan.shipper))
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{url}/")
    assert "1 cosigned" in page.inner_text("#log-status")
    page.goto(f"{url}/shipment/{plan.container}")
    page.locator("#timeline a[href^='/event/']").first.click()
    page.wait_for_url(re.compile(r"/event/\d+$"))
    page.click("#verify")
    page.wait_for_selector("#verify-result[data-state=ok], #verify-result[data-state=fail]")
    result = page.inner_text("#verify-result")
    assert page.get_attribute("#verify-result", "data-state") == "ok", result
    assert "Cosigned by witness witness.test/w1" in result
    assert "1 of 1 cosigned, 1 required" in result
