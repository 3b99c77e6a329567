"""The API reference page in a real browser (system Chromium, headless, 1,400 px wide): public,
linked from the navigation, rendered from the same description as /openapi.json, and nothing on
it wider than the window."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from corridor.serving import openapi

if TYPE_CHECKING:
    from conftest import Node

pytestmark = pytest.mark.browser

# Elements of the page whose right edge passes the window, or whose content is wider than
# themselves (text spilling out of a table cell or a code block).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;
    const name = el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className;
    if (box.right > width + 0.5) out.push(name + ' ends at ' + box.right);
    else if (['TD', 'TH', 'CODE', 'PRE', 'P'].includes(el.tagName)
             && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible')
      out.push(name + ' holds ' + el.scrollWidth + ' px in ' + el.clientWidth);
  }
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 20)};
}"""


def test_the_reference_shows_every_operation_and_links_the_document(page: Any,
                                                                    node: Node) -> None:
    page.goto(node.url + "/")
    page.click("header nav a[href='/api-reference']")
    page.wait_for_url(f"{node.url}/api-reference")
    assert page.inner_text("h1").startswith("API reference")

    doc = openapi.document()
    assert page.locator("article.api-op").count() == len(list(openapi.operations(doc)))
    assert page.locator("section.api-tag h2").all_inner_texts() == [
        t["name"].upper() for t in doc["tags"]]  # (h2 is upper case by style)

    capture = page.locator("article.api-op[data-method='POST'][data-path='/epcis/capture']")
    assert capture.count() == 1
    text = capture.inner_text()
    assert "Capture an EPCIS document" in text
    assert "GS1-Capture-Error-Behaviour" in text and "application/ld+json" in text
    codes = capture.locator("table.api-responses td.code").all_inner_texts()
    assert codes[:2] == ["202", "400"] and "415" in codes

    page.click("#openapi-json")
    page.wait_for_url(f"{node.url}/openapi.json")
    served = json.loads(page.locator("body").inner_text())
    assert served["openapi"] == doc["openapi"] and served["paths"].keys() == doc["paths"].keys()


def test_nothing_overflows_a_1400_px_window(page: Any, node: Node) -> None:
    assert page.viewport_size["width"] == 1400
    page.goto(node.url + "/api-reference")
    found = page.evaluate(OVERFLOWING)
    assert found["scroll"] <= found["width"] and not found["out"], found
