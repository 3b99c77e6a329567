"""The one HTTP client every bank adapter uses: timeouts, retries with exponential backoff,
a size cap and a real User-Agent (CBT answers 403 to default library agents)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Self

import httpx

from corridor import __version__
from corridor.fx.model import FeedError, Publication
from corridor.fx.parsing import header_date

USER_AGENT = (f"Mozilla/5.0 (compatible; Corridor/{__version__}; "
              "official central-bank exchange rates)")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The largest body accepted, from the network or from a file (`corridor fx import`): the
# biggest table (CBU's JSON, 26 KB) a hundred times over.
MAX_BYTES = 4 * 1024 * 1024


class NoPublication(FeedError):
    """The bank has no table for that day (HTTP 404: CBT on Sundays, for instance)."""


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


class FeedClient:
    """Blocking client; `transport` lets tests serve recorded bodies (httpx.MockTransport)."""

    def __init__(self, *, timeout: float = 20.0, retries: int = 3, backoff: float = 1.0,
                 max_bytes: int = MAX_BYTES,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.sleep = sleep
        self._retry_after: str | None = None  # the server's hint from the last 429/503
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": USER_AGENT, "Accept": "application/xml, text/xml, "
                     "application/json;q=0.9, */*;q=0.5"},
            follow_redirects=True, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, bank: str) -> Response:
        """GET with retries on network errors, 429 and 5xx; 404 raises NoPublication."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self._delay(attempt, last))
            try:
                status, headers, body = self._once(url, bank)
            except httpx.TimeoutException as exc:
                last = f"timed out ({exc.__class__.__name__})"
                continue
            except httpx.TransportError as exc:
                last = f"network error: {exc.__class__.__name__}: {exc}"
                continue
            if status in RETRY_STATUSES:
                last = f"HTTP {status}"
                self._retry_after = headers.get("retry-after")
                continue
            if status == 404:
                raise NoPublication(bank, url, "HTTP status", "404: no table published")
            if status != 200:
                raise FeedError(bank, url, "HTTP status", f"unexpected status {status}")
            return Response(url, status, headers, body)
        raise FeedError(bank, url, "HTTP", f"gave up after {self.retries + 1} attempts: {last}")

    def _delay(self, attempt: int, last: str) -> float:
        delay = self.backoff * 2 ** (attempt - 1)
        hint = self._retry_after
        self._retry_after = None
        if last.startswith("HTTP") and hint and hint.isdigit():
            delay = max(delay, min(float(hint), 60.0))
        return delay

    def _once(self, url: str, bank: str) -> tuple[int, dict[str, str], bytes]:
        with self._client.stream("GET", url) as resp:
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FeedError(bank, url, "body", f"larger than {self.max_bytes} bytes")
                chunks.append(chunk)
            return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, \
                b"".join(chunks)


def fetch_table(client: FeedClient, bank: str, url: str, day: date,
                parse: Callable[..., list[Publication]]) -> list[Publication]:
    """GET one dated table and parse it, checking it is the table of `day`."""
    resp = client.get(url, bank)
    return parse(resp.body, url=url, requested=day, published=header_date(resp.headers))
