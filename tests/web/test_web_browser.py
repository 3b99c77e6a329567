"""The dashboard in a real browser (system Chromium, headless): pages render, search leads to a
shipment, the in-browser verification accepts a logged event and rejects a tampered one, and a
party cannot open another party's shipment."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Node

pytestmark = pytest.mark.browser


def login(page: Any, node: Node, slug: str) -> None:
    page.goto(f"{node.url}/login")
    page.fill("#api_key", node.key(slug))
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{node.url}/")


def test_every_page_renders(page: Any, node: Node) -> None:
    login(page, node, "buyer")
    assert page.locator("svg.corridor-map").is_visible()
    assert page.locator(".ticker li").count() >= 5
    assert int(page.inner_text("#count-shipments")) == len(node.plans)
    assert page.locator("table.events tbody tr").count() > 0

    plan = next(p for p in node.plans if p.has_logger and p.delivered)
    page.goto(f"{node.url}/shipment/{plan.container}")
    assert page.inner_text("#status") == "delivered"
    assert page.locator("#timeline > li").count() >= 8
    assert page.locator("#legs tbody tr").count() >= 7
    assert page.locator("svg.sensor-chart polyline[data-type='Temperature']").count() >= 1

    page.click(f"a[href*='{plan.lot_number}']")
    assert "/lot/" in page.url
    assert page.locator("#lot-shipments tbody tr").count() >= 1

    page.goto(f"{node.url}/shipment/{plan.container}")
    page.locator("#timeline a[href^='/event/']").first.click()
    assert re.search(r"/event/\d+$", page.url)
    assert page.inner_text("#hash-id").startswith("ni:///sha-256;")
    assert "<" in page.inner_text("#xml")
    json.loads(page.inner_text("#jsonld"))

    page.goto(f"{node.url}/ledger")
    assert int(page.inner_text("#tree-size")) == node.summary.checkpoint_size
    assert page.inner_text("#verify-command").startswith("corridor log verify ")
    assert page.locator("#history tbody tr").count() >= 1


def test_public_sees_log_and_ticker_only(page: Any, node: Node) -> None:
    page.goto(node.url + "/")
    assert page.locator(".ticker li").count() >= 5
    assert page.locator("#tree-size").is_visible()
    assert page.locator("#count-shipments").count() == 0
    assert page.locator("circle.unit").count() == 0


def test_search_finds_a_shipment(page: Any, node: Node) -> None:
    plan = node.shipment_of("ferro")
    login(page, node, "ferro")
    page.fill("form.search input[name=q]", f"CFL-BL-{plan.number:06d}")
    page.press("form.search input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    page.locator("#hits a[href^='/shipment/']").first.click()
    page.wait_for_url(re.compile(r"/shipment/"))
    assert plan.container in page.inner_text("h1")


def _verify(page: Any) -> str:
    page.click("#verify")
    page.wait_for_selector("#verify-result[data-state=ok], #verify-result[data-state=fail]")
    return str(page.get_attribute("#verify-result", "data-state"))


def test_verify_in_browser_accepts_real_and_rejects_tampered(page: Any, node: Node) -> None:
    plan = node.shipment_of("smelter", delivered=True)
    login(page, node, "smelter")
    page.goto(f"{node.url}/shipment/{plan.container}")
    page.locator("#timeline a[href^='/event/']").nth(2).click()
    page.wait_for_url(re.compile(r"/event/\d+$"))
    assert _verify(page) == "ok", page.inner_text("#verify-result")
    assert "Inclusion proof leads to the checkpoint root" in page.inner_text("#verify-result")

    original = page.input_value("#event-json")
    event = json.loads(original)
    event["disposition"] = "damaged"  # one changed field
    page.fill("#event-json", json.dumps(event))
    assert _verify(page) == "fail"
    assert "does not match" in page.inner_text("#verify-result")

    # Same event, keys reordered and re-spaced: canonical JSON makes it verify again.
    event["disposition"] = json.loads(original)["disposition"]
    page.fill("#event-json", json.dumps(dict(reversed(list(event.items()))), indent=3))
    assert _verify(page) == "ok"

    # A key the log never signed with is refused.
    vkey = page.input_value("#log-vkey")
    name, key_id, b64 = vkey.split("+", 2)
    other = b64[:-6] + ("A" if b64[-6] != "A" else "B") + b64[-5:]
    page.fill("#log-vkey", f"{name}+{key_id}+{other}")
    assert _verify(page) == "fail"


def test_party_cannot_open_another_partys_shipment(page: Any, node: Node) -> None:
    plan = node.shipment_of("smelter")
    login(page, node, "ferro")
    response = page.goto(f"{node.url}/shipment/{plan.container}")
    assert response is not None and response.status == 404
    assert page.inner_text("h1") == "Not found"
    assert page.locator("#timeline").count() == 0
    own = node.shipment_of("ferro")
    response = page.goto(f"{node.url}/shipment/{own.container}")
    assert response is not None and response.status == 200
