"""Bounded request bodies: read as a stream and refused past a byte limit (413); small JSON
bodies checked for depth, string length and lone surrogates before and after parsing (400,
naming the JSON pointer)."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from starlette.requests import Request

from corridor.serving._problems import ProblemError


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed `limit` bytes: from its
    Content-Length, or while streaming it (reading stops there; nothing more is held)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise ProblemError.epcis(400, "ValidationException", "Bad request",
                                     "Content-Length: not a byte count", rule="content-length")
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
        raise ProblemError.epcis(413, "CaptureLimitExceededException",
                                 "Capture payload too large",
                                 f"the body exceeds GS1-EPCIS-Capture-File-Size-Limit ({limit}"
                                 " bytes)", headers=limit_headers, rule="size-limit")
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


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def parse_json_body(raw: bytes, exception: str = "ValidationException", *,
                    max_string: int = MAX_BODY_STRING) -> Any:
    """A small JSON request body, or a 400 ProblemError naming where it is wrong: not UTF-8,
    nested deeper than MAX_JSON_DEPTH, not JSON, a string longer than `max_string` or a
    member name longer than MAX_BODY_STRING characters, or a lone surrogate."""

    def bad(where: str, what: str) -> ProblemError:
        return ProblemError.epcis(400, exception, "Invalid JSON body", f"{where}: {what}",
                                  pointer="" if where == "/" else where, rule="json-body",
                                  message=what)

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
        raise ProblemError.epcis(413, "CaptureLimitExceededException", "Request too large",
                                 f"/: the body is larger than {limit} bytes, the limit of this"
                                 " resource", rule="size-limit")
    return parse_json_body(raw, exception, max_string=max_string)
