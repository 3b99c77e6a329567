"""GET /metrics on a real node with a real witness, over SQLite and PostgreSQL: the Prometheus
text format (parsed with prometheus-client's own parser), and counters that move when captures,
queries and witness pushes happen; a second app in the same process counts apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from corridor.api.log_routes import witness_app
from corridor.config import Settings, WitnessConfig
from corridor.ledger.note import generate_signer
from corridor.ledger.witness import FileState, Witness
from corridor.node import load_or_create_signer
from corridor.serving.metrics import param_families, route_family
from tests.api.e1_server import Node, capture, event_doc, free_port, object_event, start_node
from tests.ledger.ledgertest import Server


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Iterator[Node]:
    """A node with one live witness (quorum 1) and one that listens nowhere."""
    log_key = load_or_create_signer(Settings(data_dir=tmp_path)).verifier
    live = Witness(generate_signer("w-live.test"), [log_key], FileState(tmp_path / "w.json"))
    server = Server(witness_app(live)).start()
    down = generate_signer("w-down.test").as_cosigner().verifier
    witnesses = [WitnessConfig(server.url, live.verifier.vkey),
                 WitnessConfig(f"http://127.0.0.1:{free_port()}", down.vkey)]
    n, srv = start_node(db_url, tmp_path, witnesses=witnesses, witness_quorum=1)
    try:
        yield n
    finally:
        srv.stop()
        server.stop()


def test_metrics_move_with_captures_queries_and_witnesses(node: Node) -> None:
    with node.client("alice") as alice:
        before = _samples(alice.get("/metrics").text)
        r = alice.post("/epcis/events", json=object_event("urn:epc:id:sgtin:0614141.812345.M1"))
        assert r.status_code == 201, r.text
        doc = event_doc([object_event(f"urn:epc:id:sgtin:0614141.812345.M{i}")
                         for i in range(2, 5)])
        r = capture(alice, doc)
        assert r.status_code == 202, r.text
        r = alice.get("/epcis/events", params={"EQ_bizStep": "shipping",
                                               "GE_eventTime": "2026-01-01T00:00:00Z",
                                               "eventType": "ObjectEvent"})
        assert r.status_code == 200, r.text
        node.ledger.sign_now()
        node.ledger.witness_now()
        r = alice.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=")
    after = _samples(r.text)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("corridor_captures_total", path="/epcis/events", status="201") == 1
    assert moved("corridor_captures_total", path="/epcis/capture", status="202") == 1
    assert moved("corridor_events_captured_total") == 4
    assert moved("corridor_capture_duration_seconds_count", path="/epcis/capture") == 1
    assert _value(after, "corridor_capture_requests_in_progress") == 0
    assert _value(after, "corridor_capture_queue_depth") == 0
    for family in ("EQ", "GE", "eventType"):
        assert moved("corridor_query_duration_seconds_count", family=family) == 1, family
    assert moved("corridor_http_request_duration_seconds_count", family="/epcis/events",
                 method="GET") == 1
    assert _value(after, "corridor_log_size") == 4
    assert _value(after, "corridor_checkpoint_size") == 4
    assert 0 <= _value(after, "corridor_checkpoint_age_seconds") < 60
    assert _value(after, "corridor_checkpoint_cosignatures") == 1
    assert _value(after, "corridor_database_up") == 1
    assert _value(after, "corridor_is_sequencer") == 1
    assert moved("corridor_witness_cosign_duration_seconds_count", witness="w-live.test") >= 1
    assert moved("corridor_witness_failures_total", witness="w-down.test") >= 1
    assert _value(after, "corridor_witness_up", witness="w-live.test") == 1
    assert _value(after, "corridor_witness_up", witness="w-down.test") == 0


def test_two_apps_in_one_process_count_apart(node: Node, tmp_path: Path) -> None:
    other, srv = start_node(f"sqlite:///{tmp_path / 'other.sqlite3'}", tmp_path / "other")
    try:
        with node.client("alice") as alice:
            r = alice.post("/epcis/events",
                           json=object_event("urn:epc:id:sgtin:0614141.812345.M9"))
            assert r.status_code == 201, r.text
        with other.client() as client:
            text = client.get("/metrics").text
        assert _value(_samples(text), "corridor_events_captured_total") == 0
        assert _value(_samples(text), "corridor_captures_total", path="/epcis/events",
                      status="201") == 0
    finally:
        srv.stop()


def test_the_scraper_may_ask_for_openmetrics(node: Node) -> None:
    with node.client() as client:
        r = client.get("/metrics", headers={"Accept": "application/openmetrics-text; "
                                                      "version=1.0.0; charset=utf-8"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF") and "corridor_log_size" in r.text


def test_labels_stay_bounded() -> None:
    assert route_family("/epcis/events/urn:uuid:1", 200) == "/epcis/events"
    assert route_family("/api/fx/rates", 200) == "/api/fx"
    assert route_family("/api/" + "x" * 500, 404) == "not_found"
    assert route_family("/openapi.json", 200) == "/openapi"
    assert route_family("/", 200) == "pages"
    assert param_families("") == ["none"]
    assert param_families("MATCH_epc=x&EQ_bizStep=a&EQ_disposition=b&perPage=2&zz=1") == [
        "EQ", "MATCH", "other", "perPage"]
