"""Dashboard render times on the demo database of 1,000 shipments.

Loads the demo (once; reused from CORRIDOR_BENCH_WEB_DIR if already there), then serves each
page in-process (ASGI, no network) and prints the median server time per page for a party that
sees every shipment (the consortium auditor), for the buyer, and for the public; plus the bytes
the overview transfers (HTML and the stylesheet it loads). Targets: < 200 ms per page,
overview < 500 KB.

    .venv/bin/python bench/bench_web.py [--shipments 1000] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient  # in-process ASGI: no network in the figures

from corridor.app import create_app
from corridor.config import Settings
from corridor.demo import demo_api_key, load_demo
from corridor.demo.scenario import generate
from corridor.query import dashboard


def _median_ms(client: TestClient, path: str, headers: dict[str, str], runs: int, *,
               cold: bool = False) -> float:
    times = []
    for _ in range(runs):
        if cold:
            # Drop the overview's unit index, as a new capture would.
            dashboard.UNIT_INDEXES.clear()
        start = time.perf_counter()
        r = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shipments", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    data_dir = Path(os.environ.get("CORRIDOR_BENCH_WEB_DIR")
                    or Path(tempfile.gettempdir()) / f"corridor-bench-web-{args.shipments}")
    settings = Settings(data_dir=data_dir)
    start = time.perf_counter()
    summary = load_demo(settings, shipments=args.shipments)
    print(f"demo: {summary.lines()[0]} ({time.perf_counter() - start:.1f} s, {data_dir})")

    plans = generate(args.shipments).shipments
    delivered = next(p for p in plans if p.delivered and p.has_logger and p.shipper == "smelter")
    moving = next(p for p in reversed(plans) if not p.delivered)
    auditor = {"Authorization": f"Bearer {demo_api_key(7, 'auditor')}"}
    buyer = {"Authorization": f"Bearer {demo_api_key(7, 'buyer')}"}

    with TestClient(create_app(settings)) as client:
        page = client.get(f"/shipment/{delivered.container}", headers=auditor).text
        event = re.search(r'href="/event/(\d+)"', page)
        assert event, "no event link on the shipment page"
        for name, headers in (("auditor", auditor), ("buyer", buyer)):
            client.get("/", headers=headers)
            ms = _median_ms(client, "/", headers, args.runs, cold=True)
            print(f"overview ({name}), cold: {ms:.1f} ms (unit index built from scratch, as on"
                  " the first request after start; later captures only extend it)")
        pages = [
            ("overview (auditor)", "/", auditor),
            ("overview (buyer)", "/", buyer),
            ("overview (public)", "/", {}),
            ("shipment, delivered", f"/shipment/{delivered.container}", auditor),
            ("shipment, in transit", f"/shipment/{moving.container}", auditor),
            ("lot", f"/lot/{delivered.lot}", auditor),
            ("event", f"/event/{event.group(1)}", auditor),
            ("log", "/ledger", {}),
            ("search: bill of lading", f"/search?q=EUX-BS-{delivered.number:06d}", auditor),
            ("search: place", "/search?q=KZAAU", auditor),
        ]
        print(f"{'page':<26} {'median ms':>10}  target 200 ms (warm caches)")
        worst = 0.0
        for name, path, headers in pages:
            client.get(path, headers=headers)  # warm caches and the connection
            ms = _median_ms(client, path, headers, args.runs)
            worst = max(worst, ms)
            print(f"{name:<26} {ms:>10.1f}  {'ok' if ms < 200 else 'OVER'}")
        html = client.get("/", headers=auditor).content
        css = client.get("/static/style.css").content
        total = len(html) + len(css)
        print(f"overview transfer (auditor): HTML {len(html) / 1024:.1f} KB + CSS "
              f"{len(css) / 1024:.1f} KB = {total / 1024:.1f} KB  target 500 KB "
              f"{'ok' if total < 500 * 1024 else 'OVER'}")
        print(f"slowest page median: {worst:.1f} ms; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs (figures scale with load)")


if __name__ == "__main__":
    main()
