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
    return SafeJSONResponse(body, status_code=status, media_type="application/problem+json",
                            headers={**GS1_HEADERS, **(headers or {})})


class SafeJSONResponse(JSONResponse):
    """A JSON response that renders even when a string holds a lone surrogate (which UTF-8
    cannot encode: a problem quoting bad input, a value stored before such input was
    refused): the text is then written with JSON escapes instead."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


# -- bounded request bodies ------------------------------------------------------------------

async def read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed `limit` bytes: from its
    Content-Length, or while streaming it (reading stops there; nothing more is held)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise ProblemError(400, "ValidationException", "Bad request",
                               "Content-Length: not a byte count")
        if len(declared) > 18 or int(declared) > limit:
            return None
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request, limit: int, limit_headers: dict[str, str]) -> bytes:
    """A capture body, refusing (413) more than `limit` bytes without reading it all."""
    body = await read_limited(request, limit)
    if body is None:
        raise ProblemError(413, "CaptureLimitExceededException", "Capture payload too large",
                           f"the body exceeds GS1-EPCIS-Capture-File-Size-Limit ({limit}"
                           " bytes)", headers=limit_headers)
    return body


MAX_JSON_DEPTH = 64  # objects and arrays nested in a small JSON request body
# Strings and the structural characters of JSON text (a string first, so that brackets
# inside strings are not counted).
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]')
_SURROGATE = re.compile("[\ud800-\udfff]")


def _pointer(path: list[Any]) -> str:
    """RFC 6901 pointer; a lone surrogate in a key is shown as its escape."""
    text = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "/"
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if \
        _SURROGATE.search(text) else text


def too_deep_at(text: str, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The JSON pointer where the JSON `text` nests objects and arrays deeper than `limit`,
    or None. One pass over the tokens, no recursion and no parsing, so it is safe on any
    input and can run before the parser (a malformed text may get any answer: the parser
    refuses it next)."""
    if text.count("[") + text.count("{") <= limit:
        return None
    path: list[Any] = []  # per open container: the key or index being read
    key: Any = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            key = token
        elif first == ":":
            if path and key is not None:
                try:
                    path[-1] = json.loads(key)
                except ValueError:
                    path[-1] = key
        elif first == ",":
            if path and isinstance(path[-1], int):
                path[-1] += 1
        elif first in "[{":
            if len(path) >= limit:
                return _pointer(path)
            path.append(0 if first == "[" else "")
        elif path:
            path.pop()
        else:
            return None  # more closed than opened: malformed, the parser says so
    return None


MAX_BODY_STRING = 2048  # characters of a string or member name in a small JSON body
_LONE = "a lone UTF-16 surrogate (\\ud800-\\udfff) is not a character"


def bad_string_at(value: Any, max_string: int, max_name: int) -> tuple[str, str] | None:
    """(JSON pointer, what is wrong) of a string value longer than `max_string`
    characters, member name longer than `max_name`, or either holding a lone UTF-16
    surrogate (a JSON escape like \\ud800 without its pair, which UTF-8 cannot encode)."""
    stack: list[tuple[list[Any], Any]] = [([], value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if len(item) > max_string:
                return _pointer(path), f"longer than {max_string} characters"
            if _SURROGATE.search(item):
                return _pointer(path), _LONE
        elif isinstance(item, dict):
            for key, inner in item.items():
                if len(key) > max_name:
                    return _pointer(path), f"a member name is longer than {max_name} characters"
                if _SURROGATE.search(key):
                    return _pointer([*path, key]), _LONE
                stack.append(([*path, key], inner))
        elif isinstance(item, list):
            stack.extend(([*path, i], inner) for i, inner in enumerate(item))
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_json_body(raw: bytes, exception: str = "ValidationException", *,
                    max_string: int = MAX_BODY_STRING) -> Any:
    """A small JSON request body, or ProblemError(400) naming where it is wrong: not UTF-8,
    nested deeper than MAX_JSON_DEPTH, not JSON, a string longer than `max_string` or a
    member name longer than MAX_BODY_STRING characters, or a lone surrogate."""

    def bad(where: str, what: str) -> ProblemError:
        return ProblemError(400, exception, "Invalid JSON body", f"{where}: {what}")

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad("/", f"not UTF-8 (byte {exc.start})") from None
    deep = too_deep_at(text)
    if deep is not None:
        raise bad(deep, f"objects and arrays nest deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:  # (too_deep_at has refused that already)
        raise bad("/", f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise bad("/", f"not valid JSON: {str(exc)[:200]}") from None
    # (a surrogate can only come from an escape: the text itself is UTF-8)
    if len(text) > min(max_string, MAX_BODY_STRING) or "\\u" in text:
        found = bad_string_at(value, max_string, MAX_BODY_STRING)
        if found is not None:
            raise bad(*found)
    return value


async def read_json_body(request: Request, limit: int, exception: str = "ValidationException",
                         *, max_string: int = MAX_BODY_STRING) -> Any:
    """The JSON body of a request, read as a stream and refused (413) past `limit` bytes,
    then checked by parse_json_body (400). Problems name the field (a JSON pointer); their
    type is epcisException:`exception` (413: the binding's CaptureLimitExceededException)."""
    raw = await read_limited(request, limit)
    if raw is None:
        raise ProblemError(413, "CaptureLimitExceededException", "Request too large",
                           f"/: the body is larger than {limit} bytes, the limit of this"
                           " resource")
    return parse_json_body(raw, exception, max_string=max_string)


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


_VERSION = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9}){0,2}")


def _version(text: str) -> tuple[int, ...] | None:
    text = text.strip()
    if not _VERSION.fullmatch(text):  # ASCII digits only, each part at most 9 of them
        return None
    parts = text.split(".")
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
                shown = value if len(value) <= 40 else value[:40] + "..."
                return f"{name}: {shown!r} is not a version like 2.0.0"
        if exact is not None and _version(exact)[:2] != (2, 0):  # type: ignore[index]
            return f"GS1-{kind}-Version {exact}: this server speaks {kind} 2.0"
        if low is not None and _version(low) > (2, 0, 0):  # type: ignore[operator]
            return f"GS1-{kind}-Min {low}: this server speaks {kind} 2.0"
        if high is not None and _version(high) < (2, 0, 0):  # type: ignore[operator]
            return f"GS1-{kind}-Max {high}: this server speaks {kind} 2.0"
    return None
