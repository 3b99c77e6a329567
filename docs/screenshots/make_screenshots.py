"""Make docs/screenshots/overview.png and shipment.png from the real pages.

Loads the default demo (200 shipments, like `make run`) into a data directory, serves it on
loopback, logs in as the consortium auditor in headless Chromium and captures the pages.

    .venv/bin/python docs/screenshots/make_screenshots.py [--data-dir DIR] [--chromium PATH]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from corridor.app import create_app
from corridor.config import Settings
from corridor.demo import demo_api_key, load_demo
from corridor.demo.scenario import generate

HERE = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "corridor-screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--shipments", type=int, default=200)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    load_demo(settings, shipments=args.shipments)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    # A delivered shipment that was held at Aktau and carried a data logger: the richest page.
    plans = generate(args.shipments).shipments
    plan = next((p for p in plans if p.delivered and p.delayed_days and p.has_logger),
                next(p for p in plans if p.delivered))
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/login")
            page.fill("#api_key", demo_api_key(7, "auditor"))
            page.click("form.login button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.screenshot(path=str(HERE / "overview.png"), full_page=True)
            page.goto(f"{base}/shipment/{plan.container}")
            page.screenshot(path=str(HERE / "shipment.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"wrote {HERE / 'overview.png'} and {HERE / 'shipment.png'} ({plan.container})")


if __name__ == "__main__":
    main()
