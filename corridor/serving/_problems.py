"""RFC 7807 problem details: one exception, `ProblemError`, and one renderer,
`problem_response`, for every error document the node sends."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

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
# instance_uri produces from the request; a forged Host header cannot get past it).
_ABSOLUTE = re.compile(r"https?://[A-Za-z0-9/._~:%@!$&'()*+,;=\[\]-]+")
_URI_SAFE = "/:@!$&'()*+,;=-._~%"


class ProblemError(Exception):
    """An RFC 7807 problem: raised in a handler (the app renders it with the request's URI
    as `instance`) or rendered on the spot with problem_response.

    `type` is the problem type: `epcisException:<Name>` for the EPCIS REST binding's
    exceptions (build those with `ProblemError.epcis`), `about:blank` for a plain HTTP
    status. Keyword arguments are extension members (`**{"invalid-params": [...]}` for a
    name that is not a Python identifier).

    Every problem carries `errors`, a list of `{pointer, message, rule}` (docs/api.md,
    "Errors"): the `errors` given (each problem found in the input, as
    corridor.epcis.problems.error_entry makes them), or else one entry of `pointer` (""
    for the request as a whole), `message` (`detail` unless given: `detail` less the
    pointer or name it starts with) and `rule` (by default the short name of the type,
    `no-such-name` for epcisException:NoSuchNameException, or of the status)."""

    def __init__(self, status: int, type: str, title: str, detail: str, *,
                 headers: Mapping[str, str] | None = None,
                 errors: list[dict[str, Any]] | None = None, pointer: str = "",
                 rule: str | None = None, message: str | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = errors if errors else [
            {"pointer": pointer, "message": detail if message is None else message,
             "rule": rule or _rule_of(type, status)}]
        self.extensions = extensions

    @staticmethod
    def epcis(status: int, exception: str, title: str, detail: str, *,
              headers: Mapping[str, str] | None = None,
              errors: list[dict[str, Any]] | None = None, pointer: str = "",
              rule: str | None = None, message: str | None = None,
              **extensions: Any) -> ProblemError:
        """A problem of the EPCIS REST binding: type `epcisException:<exception>`, sent with
        the GS1 headers (and `headers`)."""
        return ProblemError(status, f"epcisException:{exception}", title, detail,
                            headers={**GS1_HEADERS, **(headers or {})}, errors=errors,
                            pointer=pointer, rule=rule, message=message, **extensions)


    @staticmethod
    def invalid(pointer: str, message: str) -> ProblemError:
        """A 400 ValidationException naming the field (`pointer`: a JSON pointer or a query
        parameter's name) and why."""
        return ProblemError.epcis(400, "ValidationException", "Bad request",
                                  f"{pointer or '/'}: {message}", pointer=pointer,
                                  message=message)

    @staticmethod
    def not_found(detail: str) -> ProblemError:
        """A 404 NoSuchNameException saying what was not found."""
        return ProblemError.epcis(404, "NoSuchNameException", "Not found", detail)


_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _rule_of(type: str, status: int) -> str:
    """The default `rule` of a problem: its EPCIS exception's name in kebab case without
    "Exception" (`query-parameter`), or for another type its status phrase (`not-found`)."""
    if type.startswith("epcisException:"):
        name = type.partition(":")[2].removesuffix("Exception")
        return _WORD.sub("-", name).lower() or "epcis"
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "error"
    return re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")


def query_pointer(name: str) -> str:
    """The `pointer` of an error in the URL query parameter `name`: `/query/<name>`, where
    the parameter is in a named query's definition (POST /epcis/queries)."""
    return "/query/" + name.replace("~", "~0").replace("/", "~1")


def problem_response(problem: ProblemError, instance: str | None = None) -> Response:
    """`problem` as an application/problem+json response: type, title, status, detail, the
    optional instance, then the extension members and `errors`."""
    body: dict[str, Any] = {"type": problem.type, "title": problem.title,
                            "status": problem.status, "detail": problem.detail}
    if instance and _ABSOLUTE.fullmatch(instance):
        # RFC 7807 allows a URI reference, but the binding's RFC7807ProblemResponseBody types
        # `instance` as `format: uri`, i.e. absolute: handlers pass instance_uri(request);
        # anything else (a bare path) is left out, the member being optional.
        body["instance"] = instance
    body.update(problem.extensions)
    body["errors"] = problem.errors
    return SafeJSONResponse(body, status_code=problem.status,
                            media_type="application/problem+json", headers=problem.headers)


class SafeJSONResponse(JSONResponse):
    """A JSON response that renders even when a string holds a lone surrogate (which UTF-8
    cannot encode: a problem quoting bad input, a value stored before such input was
    refused): the text is then written with JSON escapes instead."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def instance_uri(request: HTTPConnection) -> str:
    """The absolute, percent-encoded URI of the request, for a problem's `instance` (the REST
    binding types it `format: uri`, so a bare path or raw Unicode would not do)."""
    raw = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    path = quote(bytes(raw), safe=_URI_SAFE)
    return f"{request.url.scheme}://{request.url.netloc}{path}"


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, instance_uri(request))


# For Starlette(exception_handlers=...): a ProblemError raised in any route, rendered with
# the request's URI as its instance.
EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    ProblemError: _on_problem}
