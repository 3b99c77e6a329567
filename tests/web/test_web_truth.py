"""The dashboard tells each party the truth of its view (issue 19), in a real browser: where a
party's view of a unit ends, parties and places by name (places from captured master data,
on the map too), labelled lot attributes, a sensor chart with axes and units, a page per
place, nothing wider than a 1,400 px window, a favicon, and a log entry's page for anyone
that shows the proof and never the private event."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn

from corridor.config import Settings
from corridor.demo import demo_api_key, load_demo
from tests.web.test_web_browser import login

if TYPE_CHECKING:
    from conftest import Node

pytestmark = pytest.mark.browser

# Elements whose right edge passes the window, unless an ancestor clips them inside it (the
# ticker scrolls inside its strip); cells and blocks whose text spills out of them; and the
# page's own horizontal scroll width.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const clippedInside = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX !== 'visible' && a.getBoundingClientRect().right <= width + 0.5)
        return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;
    const name = el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className;
    if (box.right > width + 0.5 && !clippedInside(el)) out.push(name + ' ends at ' + box.right);
    else if (['TD', 'TH', 'CODE', 'PRE', 'P', 'DD', 'LI', 'H1'].includes(el.tagName)
             && el.scrollWidth > el.clientWidth + 1
             && getComputedStyle(el).overflowX === 'visible')
      out.push(name + ' holds ' + el.scrollWidth + ' px in ' + el.clientWidth);
  }
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 20)};
}"""


def _as(node: Node, slug: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.key(slug)}"}


def _digits(container: str) -> str:
    """The 18 digits of an SSCC URN (what the dashboard links by)."""
    from corridor.epcis.identifiers import urn_to_dl

    dl = urn_to_dl(container)
    assert dl is not None
    return dl.rsplit("/", 1)[1]


# ---------------------------------------------------------------- 1. where a view ends


def test_a_party_seeing_part_of_a_route_is_told_where_its_view_ends(page: Any,
                                                                     node: Node) -> None:
    through = [p for p in node.plans if any(e.party == "aktau" for e in p.events)]
    loaded = [p for p in through if any(e.party == "aktau" and e.event.get("bizStep")
                                        == "loading" for e in p.events)]
    assert through and loaded
    login(page, node, "aktau")
    # Not "in transit" (nor delivered): they left its view.
    assert page.inner_text("#count-shipments") == str(len(through))
    assert page.inner_text("#count-transit") == "0"
    assert page.inner_text("#count-delivered") == "0"
    assert page.inner_text("#count-partial") == str(len(through))
    assert page.locator("circle.unit").count() == 0  # nothing placed on a leg it cannot see
    plan = loaded[0]
    row = page.locator("#view-ends-table tbody tr", has=page.locator(
        f"a[href='/shipment/{_digits(plan.container)}']"))
    text = row.inner_text()
    assert "Port of Aktau" in text and "loading" in text
    assert "Caspian Ferry & Feeder Line" in text and f"CFL-BL-{plan.number:06d}" in text
    assert "Metalli Padani S.p.A." in text  # bound for: the destination owning party

    page.goto(f"{node.url}/shipment/{plan.container}")
    assert page.inner_text("#status") == ("last seen by you at Port of Aktau, handed over to "
                                          "Caspian Ferry & Feeder Line")
    assert "in transit" not in page.inner_text("#status")

    # The shipper is named in the transfer: it follows the unit, no "seen in part" for it.
    page.context.clear_cookies()
    login(page, node, plan.shipper)
    assert page.locator("#count-partial").count() == 0
    page.goto(f"{node.url}/shipment/{plan.container}")
    assert "last seen by you" not in page.inner_text("#status")


def test_a_carrier_is_told_where_it_last_saw_a_unit_without_an_invented_next_holder(
        page: Any, node: Node) -> None:
    plan = next(p for p in node.plans if any(e.party == "kzrail" for e in p.events))
    login(page, node, "kzrail")
    page.goto(f"{node.url}/shipment/{plan.container}")
    last = [e for e in plan.events if e.party == "kzrail"][-1]
    assert last.event["bizStep"] == "arriving"
    port = "Port of Aktau" if plan.route[1] == "aktau" else "Port of Kuryk"
    assert page.inner_text("#status") == f"last seen by you at {port}"
    notice = page.inner_text("#view-end")
    assert "handed over" not in notice and "your events name no one it was handed to" in notice
    assert notice.endswith("bound for Metalli Padani S.p.A.")


# ---------------------------------------------------------------- 2. parties by name


def test_parties_are_shown_by_name(page: Any, node: Node) -> None:
    login(page, node, "buyer")
    captured = page.locator("table.events tbody td .party-name")
    assert captured.count() > 0
    assert all(not t.startswith("urn:") for t in captured.all_inner_texts())
    assert (captured.first.get_attribute("title") or "").startswith("urn:epc:id:pgln:")

    plan = node.shipment_of("smelter", delivered=True)
    page.goto(f"{node.url}/shipment/{plan.container}")
    main = page.inner_text("main")
    assert "urn:epc:id:pgln:" not in main
    assert "Ertis Aluminium Smelter JSC" in main and "Caspian Ferry & Feeder Line" in main
    # The bill of lading names its issuer, the carrier.
    assert re.search(r"CFL-BL-\d{6}\s+by Caspian Ferry & Feeder Line",
                     page.inner_text("#documents"))
    page.locator("#timeline a[href^='/event/']").first.click()
    page.wait_for_url(re.compile(r"/event/\d+$"))
    assert "Ertis Aluminium Smelter JSC" in page.inner_text("dl.facts")


# ---------------------------------------------------------------- 3. places from master data

NEW_PLACE = "urn:epc:id:sgln:4870101.00099.0"
FAR_PLACE = "urn:epc:id:sgln:4870101.00098.0"
NEW_UNIT = "urn:epc:id:sscc:4870101.1999999999"


def _master_data_document() -> dict[str, Any]:
    def place(ident: str, name: str, lat: float, lon: float, locode: str) -> dict[str, Any]:
        return {"id": ident, "attributes": [
            {"id": "cbvmda:name", "attribute": name},
            {"id": "cbvmda:countryCode", "attribute": "TM" if locode.startswith("TM") else "CN"},
            {"id": "cbvmda:latitude", "attribute": lat},
            {"id": "cbvmda:longitude", "attribute": lon},
            {"id": "https://ns.corridor.example/mda/unLocode", "attribute": locode}]}

    def event(when: str, step: str, where: str) -> dict[str, Any]:
        return {"type": "ObjectEvent", "eventTime": when, "eventTimeZoneOffset": "+05:00",
                "epcList": [NEW_UNIT], "action": "OBSERVE", "bizStep": step,
                "disposition": "in_transit", "readPoint": {"id": where},
                "bizLocation": {"id": where}}

    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2026-05-20T00:00:00Z",
        "epcisHeader": {"epcisMasterData": {"vocabularyList": [{
            "type": "urn:epcglobal:epcis:vtype:BusinessLocation",
            "vocabularyElementList": [
                place(NEW_PLACE, "Port of Turkmenbashi", 40.02, 52.97, "TMKRW"),
                place(FAR_PLACE, "Port of Lianyungang", 34.6, 119.4, "CNLYG")]}]}},
        "epcisBody": {"eventList": [event("2026-05-20T08:00:00.000+05:00", "arriving",
                                          NEW_PLACE),
                                    event("2026-05-21T10:30:00.000+05:00", "departing",
                                          NEW_PLACE)]},
    }


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A small node of its own (its places change): (URL, the smelter's key)."""
    import socket

    from corridor.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("places"))
    load_demo(settings, shipments=3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", demo_api_key(7, "smelter")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _capture(url: str, key: str, doc: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/ld+json"}
    with httpx.Client(base_url=url, timeout=30) as client:
        r = client.post("/epcis/capture", content=json.dumps(doc), headers=headers)
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 20
        while (job := client.get(r.headers["Location"], headers=headers).json()).get("running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
        assert job["success"] and not job["errors"], job


def test_a_place_captured_as_master_data_is_named_on_the_pages_and_the_map(
        page: Any, fresh: tuple[str, str]) -> None:
    url, key = fresh
    _capture(url, key, _master_data_document())
    page.goto(f"{url}/login")
    page.fill("#api_key", key)
    page.click("form.login button[type=submit]")
    page.wait_for_url(f"{url}/")
    node = page.locator(f"svg.corridor-map g.node[data-place='{NEW_PLACE}']")
    assert node.locator("title").text_content() == "Port of Turkmenbashi (TMKRW)"
    assert node.locator("text").first.text_content() == "TMKRW"
    # A place outside the corridor's area widens the map rather than falling off it.
    far = page.locator(f"svg.corridor-map g.node[data-place='{FAR_PLACE}'] circle")
    cx, cy = float(far.get_attribute("cx") or -1), float(far.get_attribute("cy") or -1)
    assert 0 <= cx <= 1000 and 0 <= cy <= 420

    page.goto(f"{url}/shipment/{NEW_UNIT}")
    assert "Port of Turkmenbashi" in page.inner_text("#timeline")
    page.click("#timeline a.place")
    page.wait_for_url(re.compile(r"/place/"))
    assert page.inner_text("#place-name").startswith("Port of Turkmenbashi")
    assert page.inner_text("#place-coordinates") == "40.0200, 52.9700"
    rows = page.locator("#place-units tbody tr")
    assert rows.count() == 1 and "199999999" in rows.first.inner_text()
    assert "1.1 d" in rows.first.inner_text()  # dwell: arriving to departing

    page.goto(f"{url}/search?q=TMKRW")
    assert page.locator("#hits a[href^='/place/']").inner_text() == "Port of Turkmenbashi"


# ---------------------------------------------------------------- 4. lot attributes


def test_lot_attributes_have_readable_labels(page: Any, node: Node) -> None:
    plan = node.shipment_of("smelter")
    login(page, node, "smelter")
    page.goto(f"{node.url}/lot/{plan.lot}")
    labels = page.locator("#lot-attributes dt").all_inner_texts()
    assert {"Lot number", "Country of origin", "CN code (EU Combined Nomenclature)"} <= set(
        labels)
    assert "cbvmda:" not in page.inner_text("#lot-attributes")
    lot_number = page.locator("#lot-attributes div", has_text="Lot number").locator("dd")
    assert lot_number.inner_text() == plan.lot_number
    assert re.search(r"\d kg\b", page.inner_text("#lot-shipments"))  # KGM -> kg


def test_master_data_labels_cite_their_source() -> None:
    from corridor.web import labels

    assert labels.attribute_label("urn:epcglobal:cbv:mda:bestBeforeDate") == "Best before"
    rows = labels.master_data({"cbvmda:netWeight": {"measurement": 12.5,
                                                    "measurementUnitCode": "KGM"},
                               "ex:grade": "A"}, {"ex": "https://example.com/"})
    assert [(a.label, a.value) for a in rows] == [("Net weight", "12.5 kg"), ("ex:grade", "A")]
    vocab = Path(labels.__file__).parent / "vocab"
    assert "Trade Item Master Data" in (vocab / "master_data.yml").read_text()
    assert "Recommendation No. 20" in (vocab / "units.yml").read_text()


# ---------------------------------------------------------------- 5. sensor chart


def test_the_sensor_chart_has_axes_a_time_scale_and_unit_names(page: Any, node: Node) -> None:
    plan = next(p for p in node.plans if p.has_logger and p.delivered)
    login(page, node, "buyer")
    page.goto(f"{node.url}/shipment/{plan.container}")
    chart = page.locator("svg.sensor-chart")
    assert chart.locator("text.panel-title").all_text_contents() == [
        "Temperature (°C)", "Relative humidity (%)", "Acceleration (m/s²)"]
    assert chart.locator("line.y-axis").count() == 3
    for series in chart.locator("g.series").all():
        assert series.locator("text.y-tick").count() >= 2
    ticks = chart.locator("text.x-tick").all_text_contents()
    assert len(ticks) >= 2 and all(re.fullmatch(r"\d\d-\d\d( \d\d:\d\d)?", t) for t in ticks)
    assert chart.locator("text.axis-title").text_content() == "Time (UTC)"
    point = chart.locator("g.series[data-type='Temperature'] circle title").first.text_content()
    assert point is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC: -?[\d.]+ °C", point)


def test_time_and_value_ticks_are_round() -> None:
    from datetime import UTC, datetime

    from corridor.web.sensor_chart import nice_ticks, time_ticks

    assert nice_ticks(3.2, 9.7) == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert nice_ticks(55.1, 87.9) == [50.0, 60.0, 70.0, 80.0, 90.0]
    ticks, fmt = time_ticks(datetime(2026, 2, 1, 5, 10, tzinfo=UTC),
                            datetime(2026, 2, 4, 22, 0, tzinfo=UTC))
    assert fmt == "%m-%d" and [t.day for t in ticks] == [2, 3, 4]


# ---------------------------------------------------------------- 6. a page per place


def test_a_place_page_lists_its_units_by_time_and_is_linked(page: Any, node: Node) -> None:
    login(page, node, "buyer")
    page.locator("svg.corridor-map a[href='/place/aktau']").click()
    page.wait_for_url(f"{node.url}/place/aktau")
    assert page.inner_text("#place-name") == "Port of Aktau KZAAU"
    rows = page.locator("#place-units tbody tr")
    via = [p for p in node.plans if p.route[1] == "aktau" and any(
        e.event.get("bizLocation", {}).get("id") == "urn:epc:id:sgln:4870104.00010.0"
        for e in p.events)]
    assert rows.count() == len(via) > 1
    assert page.locator("#place-units thead th").all_inner_texts()[:4] == [
        "Unit (SSCC)", "Status", "Arrived (UTC)", "Dwell"]
    arrived = [rows.nth(i).get_attribute("data-arrived") for i in range(rows.count())]
    assert arrived == sorted(arrived, reverse=True)
    first = rows.first.locator("td").all_inner_texts()
    assert first[1] and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", first[2])
    assert re.fullmatch(r"\d+\.\d d", first[3])

    plan = via[0]
    page.goto(f"{node.url}/shipment/{plan.container}")
    assert page.locator("#timeline a.place[href='/place/aktau']").count() == 1
    page.goto(f"{node.url}/search?q=KZAAU")
    assert page.locator("#hits a[href='/place/aktau']").count() == 1
    page.context.clear_cookies()
    response = page.goto(f"{node.url}/place/aktau")  # the public sees the place, no units
    assert response is not None and response.status == 200
    assert page.locator("#place-facts").count() == 1 and page.locator("#place-units").count() == 0


# ---------------------------------------------------------------- 7. widths and favicon


def _pages(node: Node, client: httpx.Client) -> list[tuple[str | None, str]]:
    logger = next(p for p in node.plans if p.has_logger and p.delivered)
    plan = node.shipment_of("smelter")
    page = client.get(f"/shipment/{plan.container}", headers=_as(node, "smelter")).text
    index = re.findall(r'href="/event/(\d+)"', page)[2]
    return [(None, "/"), (None, "/ledger"), (None, "/login"), (None, "/api-reference"),
            (None, "/search?q=aktau"), (None, f"/event/{index}"), (None, "/place/aktau"),
            (None, "/shipment/unknown"),
            ("buyer", "/"), ("buyer", f"/shipment/{logger.container}"),
            ("buyer", f"/lot/{logger.lot}"), ("buyer", f"/event/{index}"),
            ("buyer", "/place/aktau"), ("buyer", "/search?q=KZAAU"),
            ("buyer", "/search?party=urn:epc:id:pgln:4870102.00000"),
            ("buyer", "/cbam?year=2026"),
            ("smelter", f"/lot/{plan.lot}"), ("aktau", "/"),
            ("aktau", f"/shipment/{plan.container}"), ("aktau", "/place/aktau")]


def test_nothing_overflows_a_1400_px_window_on_any_page(page: Any, node: Node) -> None:
    assert page.viewport_size["width"] == 1400
    with httpx.Client(base_url=node.url, timeout=30) as client:
        pages = _pages(node, client)
    who_now: str | None = None
    for who, path in pages:
        if who != who_now:
            page.context.clear_cookies()
            if who is not None:
                login(page, node, who)
            who_now = who
        page.goto(node.url + path)
        found = page.evaluate(OVERFLOWING)
        assert found["scroll"] <= found["width"] and not found["out"], (who, path, found)


def test_every_page_links_an_svg_favicon(page: Any, node: Node) -> None:
    page.goto(node.url + "/ledger")
    href = page.get_attribute("link[rel=icon]", "href")
    assert href == "/static/favicon.svg"
    assert page.get_attribute("link[rel=icon]", "type") == "image/svg+xml"
    icon = httpx.get(node.url + href, timeout=10)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.lstrip().startswith("<svg")


# ---------------------------------------------------------------- 8. a log entry for anyone


def test_the_public_sees_a_log_entry_with_its_proof_never_its_event(page: Any,
                                                                     node: Node) -> None:
    from corridor.ledger.proof import parse_receipt

    plan = node.shipment_of("smelter")
    with httpx.Client(base_url=node.url, timeout=30) as client:
        shipment = client.get(f"/shipment/{plan.container}", headers=_as(node, "smelter")).text
        index = int(re.findall(r'href="/event/(\d+)"', shipment)[1])
        receipt = parse_receipt(client.get(f"/event/{index}/receipt",
                                           headers=_as(node, "smelter")).content)
        event = client.get(f"/event/{index}/event.json", headers=_as(node, "smelter")).json()

    response = page.goto(f"{node.url}/event/{index}")  # anonymous
    assert response is not None and response.status == 200
    assert page.inner_text("#entry-index") == str(index)
    entry = receipt.extra or b""
    assert page.inner_text("#leaf-hash").split()[0] == sha256(b"\x00" + entry).hexdigest()
    assert page.inner_text("#entry-text").rstrip("\n") == entry.decode().rstrip("\n")
    assert page.locator("#inclusion-proof li").all_inner_texts() == [
        base64.b64encode(h).decode() for h in receipt.proof]
    assert "lead from the leaf hash to the root" in page.inner_text("#proof-check")
    assert page.inner_text("#entry-checkpoint").strip() == receipt.checkpoint.decode().strip()
    # Never the event: no document, no what, where, when or why of it.
    body = page.inner_text("body")
    assert page.locator("#jsonld, #xml, #event-json, #verify").count() == 0
    for private in (event["eventTime"], plan.container, plan.lot, "Pavlodar", "Aktau",
                    event.get("bizStep", "shipping"), "in_transit", plan.invoice_id):
        assert private not in body, private
    assert page.locator("#private-note a[href='/login']").count() == 1

    login(page, node, "smelter")  # a party that may read it sees the event and the proof
    page.goto(f"{node.url}/event/{index}")
    assert json.loads(page.inner_text("#jsonld"))["eventTime"] == event["eventTime"]
    assert page.inner_text("#leaf-hash").split()[0] == sha256(b"\x00" + entry).hexdigest()
