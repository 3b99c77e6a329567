"""The real adapters and HTTP client against recorded bodies served by a mock transport,
plus retries, backoff, timeouts and size limits (one of them on a real loopback socket)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from corridor.fx import cbt, cbu, nbk, nbkr, nbt
from corridor.fx.http import FeedClient, NoPublication
from corridor.fx.model import FeedError, WrongDateError
from corridor.fx.update import plan, update
from corridor.store.fx_store import count_rates, latest_quote


def test_each_adapter_fetches_its_recorded_response(client, served) -> None:
    assert nbk.fetch(client, date(2026, 4, 2))[0].quote("USD").value == Decimal("475.09")
    assert cbu.fetch(client, date(2026, 4, 3))[0].quote("USD").value == Decimal("12149.84")
    assert nbt.fetch(client, date(2026, 5, 19))[0].quote("USD").value == Decimal("9.3371")
    assert cbt.fetch(client, date(2026, 5, 22))[0].effective_date == date(2026, 5, 22)
    daily, weekly = nbkr.fetch(client, date(2026, 5, 24))
    assert (daily.effective_date, weekly.effective_date) == (date(2026, 5, 24),
                                                             date(2026, 5, 23))
    agents = {r.headers["user-agent"] for r in served.requests}
    assert len(agents) == 1
    agent = agents.pop()
    assert agent.startswith("Mozilla/5.0 (compatible; Corridor/")  # not python-httpx/x.y


def test_nbkr_latest_tables_refused_for_an_earlier_day(client) -> None:
    with pytest.raises(WrongDateError, match="2026-05-24"):
        nbkr.fetch(client, date(2026, 5, 20))
    # Published on 23 May for 24 May: accepted when asked on the 23rd.
    assert nbkr.fetch(client, date(2026, 5, 23))[0].effective_date == date(2026, 5, 24)


def test_retries_with_backoff_then_succeeds(client, served, sleeps) -> None:
    url = nbt.url_for(date(2026, 5, 18))
    rec = served.recorded[url]
    answers = [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "7"}),
               httpx.Response(200, content=rec.body)]
    served.overrides[url] = lambda request: answers.pop(0)
    pub = nbt.fetch(client, date(2026, 5, 18))[0]
    assert pub.quote("USD").value == Decimal("9.3450")
    assert sleeps == [1.0, 7.0]  # exponential backoff, Retry-After honoured


def test_gives_up_after_retries_on_timeouts(client, served, sleeps) -> None:
    url = cbt.url_for(date(2026, 5, 20))

    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    served.overrides[url] = hang
    with pytest.raises(FeedError, match="gave up after 4 attempts: timed out") as err:
        cbt.fetch(client, date(2026, 5, 20))
    assert err.value.bank == "CBT"
    assert sleeps == [1.0, 2.0, 4.0]


def test_404_is_no_publication_and_other_statuses_fail(client, served) -> None:
    with pytest.raises(NoPublication):
        cbt.fetch(client, date(2026, 5, 24))  # not recorded: the handler answers 404
    url = cbu.url_for(date(2026, 4, 1))
    served.overrides[url] = lambda request: httpx.Response(403)
    with pytest.raises(FeedError, match="unexpected status 403"):
        cbu.fetch(client, date(2026, 4, 1))


def test_oversized_body_is_refused(served) -> None:
    url = nbk.url_for(date(2026, 4, 1))
    with (FeedClient(transport=httpx.MockTransport(served), max_bytes=1000) as small,
          pytest.raises(FeedError, match="larger than 1000 bytes")):
        small.get(url, "NBK")


def test_real_timeout_on_loopback() -> None:
    """A server that never answers in time: the client's timeout fires (real sockets)."""

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(1.5)
            try:
                self.send_response(200)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        started = time.monotonic()
        with (FeedClient(timeout=0.3, retries=1, sleep=lambda s: None) as c,
              pytest.raises(FeedError, match="timed out")):
            c.get(f"http://127.0.0.1:{port}/kurs.xml", "CBT")
        assert time.monotonic() - started < 1.4
    finally:
        server.shutdown()
        server.server_close()


def test_connection_refused_is_reported(sleeps) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (FeedClient(retries=1, sleep=sleeps.append) as c,
          pytest.raises(FeedError, match="network error")):
        c.get(f"http://127.0.0.1:{port}/", "NBK")


def test_update_is_idempotent_and_never_stores_refused_tables(conn, client,
                                                              served) -> None:
    days = [date(2026, 4, 1), date(2026, 4, 2), date(2026, 4, 3)]
    # CBU answers 2 April with the table of 3 April: refused, the rest stored.
    wrong = served.recorded[cbu.url_for(date(2026, 4, 3))]
    served.overrides[cbu.url_for(date(2026, 4, 2))] = \
        lambda request: httpx.Response(200, content=wrong.body)
    ticks: list[str] = []
    report = update(conn, client, days, ["NBK", "CBU"],
                    progress=lambda bank, day: ticks.append(f"{bank} {day}"))
    assert len(ticks) == 6
    assert len(report.failures) == 1 and "2026-04-02" in report.failures[0]
    assert latest_quote(conn, "CBU", "USD", date(2026, 4, 2)).effective_date == date(2026, 4, 1)
    first = count_rates(conn)
    assert report.stored.inserted == first == 39 * 3 + 75 * 2
    again = update(conn, client, days, ["NBK"])
    assert (again.stored.inserted, again.stored.updated) == (0, 0)
    assert count_rates(conn) == first


def test_plan_skips_cbt_sundays_and_asks_nbkr_once() -> None:
    days = [date(2026, 5, 22), date(2026, 5, 23), date(2026, 5, 24)]  # Fri, Sat, Sun
    assert plan(days, ["CBT", "NBKR"]) == [("CBT", days[0]), ("CBT", days[1]),
                                           ("NBKR", days[2])]


def test_update_latest_reads_the_nbk_rss(conn, client, served) -> None:
    rss = (b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
           b"<item><title>USD</title><pubDate>03.04.2026</pubDate>"
           b"<description>472.31</description><quant>1</quant></item></channel></rss>")
    served.overrides[nbk.LATEST_URL] = lambda request: httpx.Response(
        200, content=rss, headers={"Last-Modified": "Thu, 02 Apr 2026 12:00:00 GMT"})
    report = update(conn, client, [date(2026, 4, 3)], ["NBK"], latest=True)
    assert report.fetched == ["NBK latest"]
    q = latest_quote(conn, "NBK", "USD", date(2026, 4, 3))
    assert (q.value, q.publication_date) == (Decimal("472.31"), date(2026, 4, 2))
