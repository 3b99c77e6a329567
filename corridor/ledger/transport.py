"""The network edge of corridor.ledger: fetching a log's files (directory or URL) and posting
to witnesses. Everything else in the package is pure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

Fetch = Callable[[str], "bytes | None"]  # path below the log prefix -> body, None if absent


class TransportError(OSError):
    """The log or witness could not be reached (not the same as bad content)."""


class DirectoryFetcher:
    """Files of a static mirror; picklable, so verification can fan out to processes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __call__(self, path: str) -> bytes | None:
        file = self.root / path
        try:
            return file.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


def directory_fetcher(root: Path) -> Fetch:
    return DirectoryFetcher(root)


def url_fetcher(prefix: str, timeout: float = 30.0) -> tuple[Fetch, httpx.Client]:
    client = httpx.Client(timeout=timeout, headers={"Accept-Encoding": "gzip, identity"})
    base = prefix.rstrip("/") + "/"

    def fetch(path: str) -> bytes | None:
        try:
            r = client.get(base + path)
        except httpx.HTTPError as exc:
            raise TransportError(f"GET {base + path}: {exc}") from exc
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise TransportError(f"GET {base + path}: HTTP {r.status_code}")
        return r.content

    return fetch, client


def fetcher_for(location: str) -> tuple[Fetch, httpx.Client | None]:
    if location.startswith(("http://", "https://")):
        return url_fetcher(location)
    if not Path(location).is_dir():
        raise TransportError(f"{location}: not a directory nor an http(s) URL")
    return directory_fetcher(Path(location)), None


def post(client: httpx.Client, url: str, body: bytes) -> tuple[int, bytes]:
    try:
        r = client.post(url, content=body)
    except httpx.HTTPError as exc:
        raise TransportError(f"POST {url}: {exc}") from exc
    return r.status_code, r.content
