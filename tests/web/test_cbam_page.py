"""EU CBAM on the dashboard: the importer's page (/cbam?year=) and the lot page's CBAM figures.

The demo importer ("buyer", Metalli Padani) sees its 2026 exposure: one lot's embedded
emissions are checked against a figure worked by hand from its credential; the line of the lot
whose credential was revoked is unresolved, with why. Another member sees its own, empty page;
the public, a member asking for another importer and an ungranted auditor get the 404."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from corridor.demo.actors import ACTOR_BY_SLUG
from corridor.store import credentials as store
from corridor.store.db import Database
from corridor.store.parties import find_party, grants_of
from tests.web.test_web_browser import login
from tests.web.test_web_truth import OVERFLOWING

if TYPE_CHECKING:
    from conftest import Node

BUYER = ACTOR_BY_SLUG["buyer"].pgln
AL_LOT = "urn:epc:class:lgtin:4870101.076011.AL26-0002"
FIRST_CONTAINER = "urn:epc:id:sscc:4870101.1000000004"
SCREENSHOT = Path("/tmp/corridor-cbam-page.png")


def _as(node: Node, slug: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.key(slug)}"}


def _cbam(client: httpx.Client, node: Node, slug: str, query: str = "year=2026") -> str:
    answer = client.get(f"/cbam?{query}", headers=_as(node, slug))
    assert answer.status_code == 200, answer.text[:500]
    return html.unescape(answer.text)


def _row(page: str, container: str) -> str:
    return page.split(f'data-container="{container}"', 1)[1].split("</tr>", 1)[0]


def _revoked_lot(node: Node) -> tuple[str, str]:
    """(lot, credential id) of the demo's revoked GreenMetalCredential."""
    conn = Database(node.settings.db_url).connect()
    try:
        (revoked,) = [c for c in store.list_credentials(conn)
                      if c.revoked_at and c.kind == "GreenMetalCredential"
                      and "recalled" not in (c.revocation_reason or "")]
        return revoked.subject, revoked.id
    finally:
        conn.close()


def test_the_importer_sees_its_exposure_and_one_lot_checks_by_hand(
        client: httpx.Client, node: Node) -> None:
    page = _cbam(client, node, "buyer")
    # The credential about AL26-0002 states 141.3 tCO2e of direct emissions over a net mass
    # of 76.925 t (its three containers: 25,950 + 25,025 + 25,950 kg, the scenario's plans).
    # SEE = 141.3 / 76.925: 76.925 x 1.8 = 138.465, 2.835 / 76.925 = 0.036854, so
    # 1.836854 tCO2e/t. Its first container, 25.950 t, embeds 25.95 x 1.8 = 46.71 plus
    # 25.95 x 0.036854 = 0.956361, 47.666 tCO2e.
    assert [p.net_kg for p in node.plans if p.lot == AL_LOT] == [25950, 25025, 25950]
    row = _row(page, FIRST_CONTAINER)
    assert f'href="/lot/{AL_LOT}"' in row
    assert ">25.950<" in row and ">1.836854<" in row and ">47.666<" in row and ">actual<" in row
    cited = row.split('href="/certificate/', 1)[1].split('"', 1)[0]
    credential = client.get(f"/credentials/{cited}").json()["credentialSubject"]
    assert (credential["directEmissions"], credential["netMass"]) == (141.3, 76.925)
    assert client.get(f"/certificate/{cited}").status_code == 200
    # the price and its period, from cbam_rules.yml; the threshold
    assert "EUR 75.36" in page and "2026-Q1" in page
    # no quarterly holding for 2026 imports (Article 22(2): from 2027)
    holding = page.split('id="cbam-holding">', 1)[1].split("</p>", 1)[0]
    assert "no quarterly holding requirement for goods imported in 2026" in holding
    standing = page.split('id="threshold-standing">', 1)[1].split("</p>", 1)[0]
    assert "above" in standing and 'id="threshold-bar"' in page
    assert "Metalli Padani S.p.A." in page.split('id="cbam-title">', 1)[1].split("</h1>", 1)[0]


def test_the_line_of_a_revoked_credential_is_unresolved_with_why(
        client: httpx.Client, node: Node) -> None:
    lot, credential_id = _revoked_lot(node)
    page = _cbam(client, node, "buyer")
    line = page.split(f'data-lot="{lot}"', 1)[0].rsplit('<section class="panel cbam-line', 1)[1]
    assert line.startswith(" unresolved")
    reasons = line.split('class="reason">', 1)[1].split("</li>", 1)[0]
    assert reasons.startswith("default value not available: CN ")
    assert "no legal default value for KZ" in reasons
    assert f"credential {credential_id} revoked on " in reasons
    assert 'id="cbam-incomplete"' in page
    row = page.split(f'data-lot="{lot}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="late">revoked' in row and f"/certificate/{credential_id}" in row


def test_the_lot_page_shows_its_cbam_figures(client: httpx.Client, node: Node) -> None:
    page = client.get(f"/lot/{AL_LOT}", headers=_as(node, "buyer"))
    assert page.status_code == 200
    text = html.unescape(page.text.split('id="lot-cbam"', 1)[1].split("</section>", 1)[0])
    assert "<b>76011000</b>" in text
    scope = text.split('id="lot-cbam-scope">', 1)[1].split("</dd>", 1)[0]
    assert scope.startswith("<b>yes</b>: Annex I of Regulation (EU) 2023/956, 7601")
    see = text.split('id="lot-cbam-see">', 1)[1].split("</dd>", 1)[0]
    assert "<b>1.836854 tCO2e/t</b>" in see and "141.300 tCO2e" in see and "76.925 t" in see
    assert "reported, not charged" in text and "Article 7(1)" in text

    lot, credential_id = _revoked_lot(node)
    text = html.unescape(client.get(f"/lot/{lot}", headers=_as(node, "buyer")).text
                         .split('id="lot-cbam"', 1)[1].split("</section>", 1)[0])
    assert f"no actual value: credential {credential_id} revoked on" in text
    assert "default: not available: CN " in text and "no legal default value for KZ" in text


def test_another_member_sees_its_own_empty_page(client: httpx.Client, node: Node) -> None:
    page = _cbam(client, node, "smelter")
    assert 'id="cbam-nothing"' in page and "cbam-line-" not in page
    assert "0.000 t</b> of CBAM goods in 2026: <b class=\"\">below</b>" in page
    assert "nothing is due for 2026" in page
    assert AL_LOT not in page


def test_who_may_not_see_a_cbam_page_gets_404(client: httpx.Client, node: Node) -> None:
    public = client.get("/cbam?year=2026")
    assert public.status_code == 404 and 'href="/login"' in public.text
    assert "cbam-line" not in public.text and 'id="nav-cbam"' not in public.text
    member = client.get(f"/cbam?year=2026&importer={BUYER}", headers=_as(node, "smelter"))
    assert member.status_code == 404 and "Metalli" not in member.text
    assert client.get("/cbam?year=1999", headers=_as(node, "buyer")).status_code == 404
    assert client.get("/cbam?year=x", headers=_as(node, "buyer")).status_code == 404
    conn = Database(node.settings.db_url).connect()
    try:
        buyer = find_party(conn, BUYER).id
        granted = {slug: buyer in grants_of(conn, find_party(conn, ACTOR_BY_SLUG[slug].pgln).id)
                   for slug in ("certifier", "auditor", "insurer")}
    finally:
        conn.close()
    # the certifier is an auditor the buyer granted; the insurer, a member, reads only what
    # its policies share (corridor.demo.insurance), not the buyer's pages
    assert granted == {"certifier": True, "auditor": False, "insurer": False}
    for slug, may in granted.items():
        answer = client.get(f"/cbam?year=2026&importer={BUYER}", headers=_as(node, slug))
        assert answer.status_code == (200 if may else 404), slug
        assert ("Metalli Padani" in answer.text) == may


@pytest.mark.browser
def test_the_cbam_page_in_the_browser(page: Any, node: Node) -> None:
    login(page, node, "buyer")
    page.click("#nav-cbam")
    page.wait_for_selector("#cbam-title")
    bar = page.locator("#threshold-bar")
    assert bar.is_visible() and page.locator("#threshold-bar .mark").is_visible()
    fill = page.locator("#threshold-bar .fill").bounding_box()
    whole = bar.bounding_box()
    assert fill is not None and whole is not None and 0.8 * whole["width"] < fill["width"]
    reason = page.locator(".cbam-line.unresolved li.reason").first
    assert reason.is_visible() and "no legal default value for KZ" in reason.inner_text()
    assert "from 2027" in page.inner_text("#cbam-holding")
    found = page.evaluate(OVERFLOWING)
    assert found["scroll"] <= found["width"] and not found["out"], found
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("#cbam-actions").is_visible()
    assert page.locator("#threshold-bar .fill").is_visible()
    page.screenshot(path=str(SCREENSHOT.with_name("corridor-cbam-print.png")), full_page=True)
    assert page.pdf(format="A4", print_background=True).startswith(b"%PDF")

    page.emulate_media(media="screen")
    page.goto(f"{node.url}/lot/{AL_LOT}")
    assert "1.836854 tCO2e/t" in page.inner_text("#lot-cbam-see")
    found = page.evaluate(OVERFLOWING)
    assert found["scroll"] <= found["width"] and not found["out"], found
    page.locator("#lot-cbam").screenshot(path=str(SCREENSHOT.with_name("corridor-lot-cbam.png")))
