"""HTTP pieces of the EPCIS REST binding: GS1 headers, RFC 7807 problems, bounded body
reading, and page tokens bound to the viewer and the query."""

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

from starlette.requests import Request
from starlette.responses import JSONResponse

from corridor import __version__

GS1_HEADERS = {
    "GS1-EPCIS-Version": "2.0.0",
    "GS1-CBV-Version": "2.0.0",
    "GS1-EPCIS-Min": "2.0.0",
    "GS1-EPCIS-Max": "2.0.0",
    "GS1-CBV-Min": "2.0.0",
    "GS1-CBV-Max": "2.0.0",
    # Events are returned as captured: URNs stay URNs, Digital Links stay Digital Links.
    "GS1-EPC-Format": "No_Preference",
    "GS1-Vendor-Version": f"corridor/{__version__}",
}
# An absolute http(s) URI of unreserved, reserved and percent-encoded characters only (what
# auth.instance_uri produces from the request; a forged Host header cannot get past it).
_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9/._~:%@!$&'()*+,;=\[\]-]+")
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


class ProblemError(Exception):
    """Raised inside a handler; rendered as an RFC 7807 problem."""

    def __init__(self, status: int, exception: str, title: str, detail: str,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.exception = exception
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def response(self, instance: str | None = None) -> JSONResponse:
        return problem(self.status, self.exception, self.title, self.detail, instance,
                       headers=self.headers, **self.extra)


def problem(status: int, exception: str, title: str, detail: str, instance: str | None = None,
            *, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": f"epcisException:{exception}", "title": title,
                            "status": status, "detail": detail}
    if instance and _ABSOLUTE.fullmatch(instance):
        # RFC 7807 allows a URI reference, but the binding's RFC7807ProblemResponseBody types
        # `instance` as `format: uri`, i.e. absolute: handlers pass auth.instance_uri(request);
        # anything else (a bare path) is left out, the member being optional.
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers={**GS1_HEADERS, **(headers or {})})


async def read_body(request: Request, limit: int, limit_headers: dict[str, str]) -> bytes:
    """The request body, refusing (413) more than `limit` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ProblemError(400, "ValidationException", "Bad request",
                               "Content-Length: not an integer") from None
        if size > limit:
            raise ProblemError(413, "CaptureLimitExceededException", "Capture payload too large",
                               f"the body is {size} bytes; GS1-EPCIS-Capture-File-Size-Limit"
                               f" is {limit}", headers=limit_headers)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise ProblemError(413, "CaptureLimitExceededException", "Capture payload too large",
                               f"the body exceeds GS1-EPCIS-Capture-File-Size-Limit ({limit}"
                               " bytes)", headers=limit_headers)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_extensions(header: str | None) -> dict[str, str]:
    """GS1-Extensions: `prefix=iri, prefix2=iri2` -> {prefix: iri}."""
    out: dict[str, str] = {}
    if not header:
        return out
    for part in header.split(","):
        prefix, sep, iri = part.strip().partition("=")
        if not sep or not prefix.strip() or not iri.strip():
            raise ProblemError(400, "ValidationException", "Bad GS1-Extensions header",
                               f"GS1-Extensions: {part.strip()!r} is not prefix=IRI")
        out[prefix.strip()] = iri.strip()
    return out


class PageTokens:
    """nextPageToken values: opaque, HMAC-signed, bound to who asked and what was asked,
    so a token can neither be forged nor replayed by another party or for another query."""

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
        """The position carried by a valid token; ProblemError(400) otherwise."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload, mac = raw[:-18], raw[-18:]
            if len(raw) <= 18 or not hmac.compare_digest(mac, self._mac(payload)):
                raise ValueError("bad signature")
            data = json.loads(payload)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("b") != self._bind(viewer_key, scope):
            raise ProblemError(400, "QueryParameterException", "Invalid nextPageToken",
                               "nextPageToken: not a token this server issued for this query"
                               " and this client")
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
        raise ProblemError(400, "QueryParameterException", "Invalid perPage",
                           f"perPage: {raw!r} must be an integer from 1 to {maximum}")
    return n


def _version(text: str) -> tuple[int, ...] | None:
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


def version_problem(headers: Any) -> str | None:
    """Why the GS1 version headers of a request cannot be met (we speak EPCIS and CBV 2.0),
    or None."""
    for kind in ("EPCIS", "CBV"):
        exact = headers.get(f"gs1-{kind.lower()}-version")
        low = headers.get(f"gs1-{kind.lower()}-min")
        high = headers.get(f"gs1-{kind.lower()}-max")
        for name, value in ((f"GS1-{kind}-Version", exact), (f"GS1-{kind}-Min", low),
                            (f"GS1-{kind}-Max", high)):
            if value is not None and _version(value) is None:
                return f"{name}: {value!r} is not a version like 2.0.0"
        if exact is not None and _version(exact)[:2] != (2, 0):  # type: ignore[index]
            return f"GS1-{kind}-Version {exact}: this server speaks {kind} 2.0"
        if low is not None and _version(low) > (2, 0, 0):  # type: ignore[operator]
            return f"GS1-{kind}-Min {low}: this server speaks {kind} 2.0"
        if high is not None and _version(high) < (2, 0, 0):  # type: ignore[operator]
            return f"GS1-{kind}-Max {high}: this server speaks {kind} 2.0"
    return None
