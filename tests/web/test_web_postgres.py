"""The dashboard's SQL on PostgreSQL: every page of a small demo renders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corridor.config import Settings
from corridor.demo import demo_api_key, load_demo
from corridor.demo.actors import PLACE_OPERATOR
from corridor.demo.scenario import generate

pytestmark = pytest.mark.postgres


def test_pages_render_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    from starlette.testclient import TestClient

    from corridor.app import create_app

    settings = Settings(data_dir=tmp_path, db_url=pg_url)
    load_demo(settings, shipments=3)
    plan = generate(3).shipments[0]
    headers = {"Authorization": f"Bearer {demo_api_key(7, plan.shipper)}"}
    auditor = {"Authorization": f"Bearer {demo_api_key(7, 'auditor')}"}
    with TestClient(create_app(settings)) as client:
        overview = client.get("/", headers=auditor)
        assert overview.status_code == 200 and 'id="count-shipments">3<' in overview.text
        page = client.get(f"/shipment/{plan.container}", headers=headers)
        assert page.status_code == 200 and plan.invoice_id in page.text
        index = re.search(r'href="/event/(\d+)"', page.text)
        assert index
        assert client.get(f"/event/{index.group(1)}", headers=headers).status_code == 200
        assert client.get(f"/event/{index.group(1)}/receipt", headers=headers).status_code == 200
        assert client.get(f"/lot/{plan.lot}", headers=headers).status_code == 200
        found = client.get("/search", params={"q": f"CFL-BL-{plan.number:06d}"}, headers=headers)
        assert "/shipment/" in found.text
        assert client.get("/search", params={"q": plan.lot_number}, headers=headers).status_code \
            == 200
        assert client.get("/ledger").status_code == 200
        # A port sees part of the route; the place page; a log entry for the public.
        port = {"Authorization": f"Bearer {demo_api_key(7, PLACE_OPERATOR[plan.route[1]])}"}
        assert 'id="count-partial">' in client.get("/", headers=port).text
        assert re.search(r'class="unit-status">(handed over to|last seen by you)',
                         client.get(f"/place/{plan.route[1]}", headers=port).text)
        assert 'id="place-units"' in client.get(f"/place/{plan.route[1]}", headers=headers).text
        public = client.get(f"/event/{index.group(1)}")
        assert public.status_code == 200 and 'id="leaf-hash"' in public.text
