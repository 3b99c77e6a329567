"""JSON log lines with the request id: configure_logging("json") makes every line one JSON
object; the X-Request-ID of a request (or a new one) is on its response and on every line
logged while it is served, over a real uvicorn server."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from corridor.serving.logs import configure_logging, current_request_id
from tests.api.e1_server import Node, start_node


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.root.manager.disable)
    logging.disable(logging.NOTSET)  # other tests' modules silence logging process-wide
    out = io.StringIO()
    handler = configure_logging("json", "INFO")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    try:
        yield out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.disable(saved[2])


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n, srv = start_node(f"sqlite:///{tmp_path / 'corridor.sqlite3'}", tmp_path)
    try:
        yield n
    finally:
        srv.stop()


def _lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_a_given_request_id_is_echoed_and_logged(node: Node, captured: io.StringIO) -> None:
    with node.client() as client:
        r = client.get("/log/info", headers={"X-Request-ID": "abc-123.x"})
    assert r.headers["x-request-id"] == "abc-123.x"
    mine = [line for line in _lines(captured) if line["request_id"] == "abc-123.x"]
    assert mine, captured.getvalue()
    line = mine[-1]
    assert line["logger"] == "corridor.request" and line["level"] == "INFO"
    assert line["message"].startswith("GET /log/info 200")
    assert line["status"] == 200 and line["time"].endswith("Z")


def test_a_missing_or_unsafe_id_is_replaced(node: Node, captured: io.StringIO) -> None:
    with node.client() as client:
        plain = client.get("/healthz")
        odd = client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 300})
    for r in (plain, odd):
        rid = r.headers["x-request-id"]
        assert len(rid) == 32 and rid.isalnum()
    assert plain.headers["x-request-id"] != odd.headers["x-request-id"]
    ids = {line["request_id"] for line in _lines(captured)}
    assert {plain.headers["x-request-id"], odd.headers["x-request-id"]} <= ids


def test_every_line_is_json_with_the_fields(captured: io.StringIO) -> None:
    log = logging.getLogger("corridor.test")
    log.info("plain %s", "line", extra={"thing": 7})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    first, second = _lines(captured)
    assert first == {"time": first["time"], "level": "INFO", "logger": "corridor.test",
                     "message": "plain line", "request_id": None, "thing": 7}
    assert second["level"] == "ERROR" and "ValueError: boom" in second["exception"]
    assert current_request_id() is None


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(ValueError, match="log format 'xml'"):
        configure_logging("xml", "INFO")
    with pytest.raises(ValueError, match="log level 'LOUD'"):
        configure_logging("json", "LOUD")
