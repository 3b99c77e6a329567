"""HTTP pieces particular to the EPCIS REST binding: the GS1-Extensions header, the GS1
version headers a request may ask for, perPage, and nextPageToken values bound to the viewer
and the query. (The GS1 response headers, problems and bounded bodies are corridor.serving's,
shared with the dashboard.)"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request

from corridor.serving import ProblemError

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def parse_extensions(header: str | None) -> dict[str, str]:
    """GS1-Extensions: `prefix=iri, prefix2=iri2` -> {prefix: iri}."""
    out: dict[str, str] = {}
    if not header:
        return out
    for part in header.split(","):
        prefix, sep, iri = part.strip().partition("=")
        if not sep or not prefix.strip() or not iri.strip():
            raise ProblemError.epcis(400, "ValidationException", "Bad GS1-Extensions header",
                                     f"GS1-Extensions: {part.strip()!r} is not prefix=IRI",
                                     rule="gs1-extensions")
        out[prefix.strip()] = iri.strip()
    return out


class PageTokens:
    """nextPageToken values: opaque, HMAC-signed, bound to who asked and what was asked,
    so a token can neither be forged nor replayed by another party or for another query.

    A token holds only its position, no time: it does not expire, and stays valid for as long
    as the node keeps its key (keys/page-token.key in the data directory; a new key
    invalidates every token issued before)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> PageTokens:
        path = Path(data_dir) / "keys" / "page-token.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(secrets.token_bytes(32))
            tmp.chmod(0o600)
            os.replace(tmp, path)
        return cls(path.read_bytes())

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:18]

    @staticmethod
    def _bind(viewer_key: str, scope: str) -> str:
        return hashlib.sha256(f"{viewer_key}\n{scope}".encode()).hexdigest()[:24]

    def issue(self, viewer_key: str, scope: str, position: Any) -> str:
        payload = json.dumps({"b": self._bind(viewer_key, scope), "p": position},
                             separators=(",", ":")).encode()
        raw = payload + self._mac(payload)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def check(self, token: str, viewer_key: str, scope: str) -> Any:
        """The position carried by a valid token; a 400 ProblemError otherwise."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload, mac = raw[:-18], raw[-18:]
            if len(raw) <= 18 or not hmac.compare_digest(mac, self._mac(payload)):
                raise ValueError("bad signature")
            data = json.loads(payload)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("b") != self._bind(viewer_key, scope):
            raise ProblemError.epcis(400, "QueryParameterException", "Invalid nextPageToken",
                                     "nextPageToken: not a token this server issued for this"
                                     " query and this client", pointer="/query/nextPageToken",
                                     message="not a token this server issued for this query and"
                                     " this client")
        return data.get("p")


def per_page(request: Request, default: int = 100, maximum: int = 10000) -> int:
    raw = request.query_params.get("perPage")
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if not 1 <= n <= maximum:
        raise ProblemError.epcis(400, "QueryParameterException", "Invalid perPage",
                                 f"perPage: {raw!r} must be an integer from 1 to {maximum}",
                                 pointer="/query/perPage",
                                 message=f"{raw!r} must be an integer from 1 to {maximum}")
    return n


_VERSION = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9}){0,2}")


def _version(text: str) -> tuple[int, ...] | None:
    text = text.strip()
    if not _VERSION.fullmatch(text):  # ASCII digits only, each part at most 9 of them
        return None
    parts = text.split(".")
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


def version_problem(headers: Headers) -> str | None:
    """Why the GS1 version headers of a request cannot be met (we speak EPCIS and CBV 2.0),
    or None."""
    for kind in ("EPCIS", "CBV"):
        asked: dict[str, tuple[str, tuple[int, ...]]] = {}
        for part in ("Version", "Min", "Max"):
            value = headers.get(f"gs1-{kind.lower()}-{part.lower()}")
            if value is None:
                continue
            version = _version(value)
            if version is None:
                shown = value if len(value) <= 40 else value[:40] + "..."
                return f"GS1-{kind}-{part}: {shown!r} is not a version like 2.0.0"
            asked[part] = (value, version)
        exact, low, high = asked.get("Version"), asked.get("Min"), asked.get("Max")
        if exact is not None and exact[1][:2] != (2, 0):
            return f"GS1-{kind}-Version {exact[0]}: this server speaks {kind} 2.0"
        if low is not None and low[1] > (2, 0, 0):
            return f"GS1-{kind}-Min {low[0]}: this server speaks {kind} 2.0"
        if high is not None and high[1] < (2, 0, 0):
            return f"GS1-{kind}-Max {high[0]}: this server speaks {kind} 2.0"
    return None
