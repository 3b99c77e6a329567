"""The fx routes in a tiny Starlette app behind a real uvicorn server on loopback."""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from corridor.api.fx_routes import routes
from corridor.config import Settings
from corridor.fx.importer import import_bundled
from corridor.serving import AppContext
from corridor.store.db import Database
from corridor.store.migrations import migrate


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data = Path(tmp_path_factory.mktemp("fxapi"))
    settings = Settings(data_dir=data, db_url=f"sqlite:///{data / 'fx.sqlite3'}")
    db = Database(settings.db_url)
    conn = db.connect()
    migrate(db, conn)
    import_bundled(conn)
    conn.close()
    app = Starlette(routes=routes(AppContext(settings=settings, db=db)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client
    server.should_exit = True
    thread.join(timeout=5)


def test_ticker(api: httpx.Client) -> None:
    r = api.get("/api/fx/ticker")
    assert r.status_code == 200
    rows = {row["currency"]: row for row in r.json()["rows"]}
    assert rows["UZS"]["display"] == "8.231e-5"
    assert rows["UZS"]["inverse_display"] == "12,149.84"
    assert (rows["UZS"]["source"], rows["UZS"]["effective_date"]) == ("CBU", "2026-04-03")
    assert rows["KZT"]["inverse"] == "472.31" and rows["KZT"]["change_display"] == "+0.59%"
    r = api.get("/api/fx/ticker", params={"date": "2026-04-02", "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    tmt = next(row for row in table if row["pair"] == "TMT/USD")
    assert tmt["source"] == "CBT peg" and "official peg" in tmt["label"]


def test_rates_one_day_and_history(api: httpx.Client) -> None:
    r = api.get("/api/fx/rates", params={"base": "USD", "quote": "KZT", "date": "2026-04-05"})
    body = r.json()
    assert (body["rate"], body["rule"], body["effective_date"]) == ("472.31", "direct",
                                                                   "2026-04-03")
    assert body["carried_forward"] is True and "carried forward" in body["label"]
    assert body["legs"][0]["units"] == 1 and body["legs"][0]["publication_date"] == "2026-04-08"
    r = api.get("/api/fx/rates", params={"base": "USD", "quote": "UZS",
                                         "from": "2026-03-28", "to": "2026-04-10"})
    assert [x["rate"] for x in r.json()["rates"]] == ["12194.21", "12142.10", "12149.84"]
    r = api.get("/api/fx/rates", params={"base": "USD", "quote": "UZS", "from": "2026-04-01",
                                         "to": "2026-04-03"}, headers={"Accept": "text/csv"})
    lines = r.text.splitlines()
    assert lines[0].startswith("date,base,quote,rate,rule,source")
    assert lines[1].startswith("2026-04-01,USD,UZS,12194.21,direct,CBU")


def test_convert(api: httpx.Client) -> None:
    r = api.get("/api/fx/convert", params={"amount": "0.5", "from": "usd", "to": "KZT",
                                           "date": "2026-04-01"})
    body = r.json()
    assert (body["exact"], body["result"], body["rule"]) == ("239.385", "239.39", "direct")
    assert body["rounding"].startswith("ROUND_HALF_UP")
    assert (body["date"], body["rateDate"], body["latest"]) == ("2026-04-01", "2026-04-01",
                                                                False)


def test_convert_without_date_uses_the_latest_stored_rate(api: httpx.Client) -> None:
    r = api.get("/api/fx/convert", params={"amount": "100", "from": "USD", "to": "KZT"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rateDate"], body["latest"], body["source"]) == ("2026-05-24", True, "NBKR")
    assert body["result"] == "47041.42"


def test_convert_on_a_date_uses_the_latest_rate_on_or_before_it(api: httpx.Client) -> None:
    r = api.get("/api/fx/convert", params={"amount": "100", "from": "USD", "to": "KZT",
                                           "date": "2026-04-05"})
    body = r.json()
    assert (body["date"], body["rateDate"], body["result"]) == ("2026-04-05", "2026-04-03",
                                                                "47231.00")
    assert "carried forward" in body["label"]


@pytest.mark.parametrize(("path", "params", "name"), [
    ("/api/fx/rates", {"quote": "KZT"}, "base"),
    ("/api/fx/rates", {"base": "USD", "quote": "XYZ"}, "quote"),
    ("/api/fx/rates", {"base": "USD", "quote": "KZT", "date": "2026-02-30"}, "date"),
    ("/api/fx/rates", {"base": "USD", "quote": "KZT", "from": "2026-04-01"}, "to"),
    ("/api/fx/convert", {"amount": "1e", "from": "USD", "to": "KZT"}, "amount"),
    ("/api/fx/convert", {"amount": "1", "from": "USD", "to": "RUB"}, "to"),
    ("/api/fx/check", {"tolerance": "5"}, "tolerance"),
    ("/api/fx/ticker", {"format": "xml"}, "format"),
])
def test_bad_parameters_are_named(api: httpx.Client, path: str, params: dict,
                                  name: str) -> None:
    r = api.get(path, params=params)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["invalid-params"][0]["name"] == name


def test_missing_rate_is_404(api: httpx.Client) -> None:
    r = api.get("/api/fx/convert", params={"amount": "1", "from": "USD", "to": "KZT",
                                           "date": "2020-01-01"})
    assert r.status_code == 404 and "no stored rate for USD->KZT" in r.json()["detail"]


def test_check(api: httpx.Client) -> None:
    body = api.get("/api/fx/check", params={"date": "2026-04-01"}).json()
    assert body["flagged"] == 3
    flagged = [c for c in body["comparisons"] if c["flagged"]]
    assert {(c["base"], c["quote"]) for c in flagged} == {("USD", "TMT"), ("KZT", "TMT"),
                                                         ("UZS", "TMT")}
