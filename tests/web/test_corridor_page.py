"""The corridor page (/corridor) in a browser on the demo node: a party sees the legs with
their transit-time histograms, the dwell and volume charts; the date filter changes the
counts; the CSV downloads with its header. The public gets the places and no figure."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from corridor.web.corridor_page import CSV_HEADER
from tests.web.test_web_browser import login

if TYPE_CHECKING:
    from conftest import Node


def _counts(page: Any) -> int:
    return sum(int(x) for x in page.locator("#corridor-legs td.leg-count").all_inner_texts())


def test_a_party_sees_legs_charts_and_filters_by_date(page: Any, node: Node,
                                                      tmp_path: Path) -> None:
    login(page, node, "auditor")
    page.click("#nav-corridor")
    page.wait_for_url(f"{node.url}/corridor")
    rows = page.locator("#corridor-legs tbody tr")
    assert rows.count() >= 5
    aktau = page.locator('#corridor-legs tr[data-origin="aktau"][data-destination="alat"]')
    assert "Port of Aktau" in aktau.inner_text() and "Port of Baku (Alat)" in aktau.inner_text()
    assert aktau.locator("svg.histogram rect").count() >= 1
    assert page.locator("#dwell-chart rect.p50").count() >= 5
    assert page.locator("#volume-chart rect").count() >= 5
    assert page.locator("#corridor-nodes tbody tr").count() >= 5
    whole = _counts(page)

    page.fill("#filter-from", "2026-03-01")
    page.fill("#filter-to", "2026-04-01")
    page.click("#corridor-filter button[type=submit]")
    page.wait_for_url("**/corridor?from=2026-03-01&to=2026-04-01")
    assert 0 < _counts(page) < whole
    assert page.input_value("#filter-from") == "2026-03-01"

    with page.expect_download() as info:
        page.click("#corridor-csv")
    saved = tmp_path / "legs.csv"
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == CSV_HEADER
    legs = [r for r in rows[1:] if r[0] == "leg"]
    assert sum(int(r[5]) for r in legs) == _counts(page)
    assert any(r[0] == "node" for r in rows[1:])
    assert page.locator("#corridor-overdue").is_visible()


def test_the_public_gets_the_places_and_no_figure(client: httpx.Client, node: Node) -> None:
    answer = client.get("/corridor")
    assert answer.status_code == 200
    assert 'id="corridor-public"' in answer.text and "Port of Aktau" in answer.text
    assert 'id="corridor-legs"' not in answer.text
    assert client.get("/corridor.csv").status_code == 404
    as_party = client.get("/corridor.csv?from=2026-03-01",
                          headers={"Authorization": f"Bearer {node.key('buyer')}"})
    assert as_party.status_code == 200
    assert as_party.headers["content-type"].startswith("text/csv")
    assert as_party.text.startswith(",".join(CSV_HEADER) + "\r\n")


def test_a_bad_date_is_said_and_left_out(client: httpx.Client, node: Node) -> None:
    answer = client.get("/corridor?from=2026-02-30",
                        headers={"Authorization": f"Bearer {node.key('buyer')}"})
    assert answer.status_code == 200
    assert "from: must be a date YYYY-MM-DD; the filter is left out." in answer.text


def test_the_units_over_p90_are_listed_on_their_own_page(client: httpx.Client,
                                                          node: Node) -> None:
    """The figures' page counts them corridor-wide; which they are goes through the viewer's
    visibility on /corridor/overdue (parties only)."""
    figures = client.get("/corridor", headers={"Authorization": f"Bearer {node.key('buyer')}"})
    assert 'id="overdue-total"' in figures.text
    # expected arrivals per destination, and the party's own forecasts on their page (this
    # small demo has delivered every unit: tests/monitoring/test_eta.py lists forecasts on a
    # larger one)
    assert 'id="corridor-forecasts"' in figures.text and 'id="no-arrivals"' in figures.text
    assert client.get("/corridor/forecasts").status_code == 404
    own = client.get("/corridor/forecasts",
                     headers={"Authorization": f"Bearer {node.key('buyer')}"})
    assert own.status_code == 200 and 'id="no-forecasts"' in own.text
    assert client.get("/corridor/overdue").status_code == 404
    listed = client.get("/corridor/overdue",
                        headers={"Authorization": f"Bearer {node.key('buyer')}"})
    assert listed.status_code == 200 and 'id="corridor-overdue"' in listed.text
