"""A real node on loopback with a small demo loaded, and a headless system Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from corridor.config import Settings
from corridor.demo import DemoSummary, demo_api_key, load_demo
from corridor.demo.scenario import ShipmentPlan, generate

SHIPMENTS = 20
SEED = 7
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class Node:
    url: str
    settings: Settings
    summary: DemoSummary
    plans: list[ShipmentPlan]

    def key(self, slug: str) -> str:
        return demo_api_key(SEED, slug)

    def shipment_of(self, shipper: str, *, delivered: bool | None = None) -> ShipmentPlan:
        for plan in self.plans:
            if plan.shipper == shipper and (delivered is None or plan.delivered == delivered):
                return plan
        raise LookupError(f"no {shipper} shipment in the demo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    from corridor.app import create_app

    data_dir: Path = tmp_path_factory.mktemp("webnode")
    settings = Settings(data_dir=data_dir)
    summary = load_demo(settings, shipments=SHIPMENTS, seed=SEED)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield Node(url, settings, summary, generate(SHIPMENTS, SEED).shipments)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def client(node: Node) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30) as c:
        yield c


# Package scope, not session: while Playwright's sync API is open it keeps an event loop
# running on the main thread, and a later test's asyncio.run() would fail ("cannot be called
# from a running event loop") if tests/web ran before it.
@pytest.fixture(scope="package")
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.set_default_timeout(15000)
    try:
        yield pg
    finally:
        context.close()
