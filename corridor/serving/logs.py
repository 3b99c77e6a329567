"""Log lines an operator's tools can read: `configure_logging("json", ...)` makes every line
one JSON object (time, level, logger, message, request_id, and the traceback when there is
one); RequestIds is the ASGI middleware that gives each HTTP request an id (the client's
`X-Request-ID` when it is sane, else a new one), returns it in `X-Request-ID` and keeps it in
a context variable that the formatter reads, so every line logged while serving the request
carries it."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REQUEST_ID_HEADER", "JsonFormatter", "RequestIds", "configure_logging",
           "current_request_id"]

REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is echoed into logs and headers: only short, plain tokens are taken as given.
_SANE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "corridor_request_id", default=None)
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
access_log = logging.getLogger("corridor.request")
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
           "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}


def current_request_id() -> str | None:
    """The id of the HTTP request being served in this context (None outside a request)."""
    return _request_id.get()


class _RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record, so both formats can name it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, request_id
    (null outside a request), exception (the traceback) when the record has one, and the
    `extra` fields a caller passed."""

    _PLAIN = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if rid in (None, "-") else rid,
        }
        for key, value in vars(record).items():
            if key not in self._PLAIN and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(fmt: str = "text", level: str = "INFO") -> logging.Handler:
    """Send every log line (the root logger's, uvicorn's included) to stderr as `fmt`:
    "json" (one JSON object a line) or "text"; at `level` (DEBUG, INFO, WARNING, ERROR).
    Replaces the root logger's handlers; returns the handler installed. Raises ValueError
    naming the bad argument."""
    if fmt not in ("json", "text"):
        raise ValueError(f"log format {fmt!r}: expected 'json' or 'text'")
    numeric = _LEVELS.get(level.upper())
    if numeric is None:
        raise ValueError(f"log level {level!r}: expected DEBUG, INFO, WARNING or ERROR")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # uvicorn's loggers go through the root handler, so that they are formatted alike.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _SANE_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestIds:
    """ASGI middleware: the request's id in a context variable and the response's
    `X-Request-ID`, and one `corridor.request` line per request (method, path, status,
    duration) at INFO, which carries the id (uvicorn's access line cannot)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope)
        token = _request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # the app never sets X-Request-ID itself: the id is added, not replaced
                message = {**message, "headers": [*message.get("headers", ()),
                                                  (b"x-request-id", rid.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http" and access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d %.1f ms", scope.get("method", ""), scope["path"],
                                status, (time.perf_counter() - started) * 1000,
                                extra={"method": scope.get("method"), "path": scope["path"],
                                       "status": status})
            _request_id.reset(token)
