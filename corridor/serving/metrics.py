"""The node's Prometheus metrics (prometheus-client), served at GET /metrics.

Each app has a registry of its own (NodeMetrics.registry), so several apps in one process
(the tests) do not mix their counts. What is counted where:
  HttpMetrics (ASGI middleware)  request latency by route family; captures, their latency and
                                 the capture requests in progress; EPCIS query latency by
                                 query-parameter family
  watch_capture                  events newly stored (CaptureService.on_stored)
  watch_witnesses                witness cosign latency and failures (per witness)
  _NodeCollector (at scrape)     log size, newest checkpoint (size, age, cosignatures), the
                                 capture writer's queue, witnesses' last state, sequencer

There is no connection pool (one connection per thread), so there is no pool metric.
/metrics holds counts and timings only, no event data: it is served without authentication,
like /healthz; restrict it at the network edge if the counts themselves are sensitive.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor.serving._context import AppContext
from corridor.serving._db import read_db
from corridor.serving.health import checkpoint_state, sequencer_status

__all__ = ["HttpMetrics", "NodeMetrics", "metrics_routes", "param_families", "route_family"]

CAPTURE_PATHS = ("/epcis/capture", "/epcis/events")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_FIXED = ("/epcis/capture", "/epcis/events", "/epcis/queries", "/epcis/subscriptions", "/log",
          "/parties", "/credentials", "/certifiers", "/openapi", "/healthz", "/readyz",
          "/metrics", "/static", "/.well-known")
_API_SEGMENT = re.compile(r"/api/([a-z0-9-]{1,32})(?:/|$)")
# EPCIS 2.0 query parameters: a family is a name's prefix (EQ_bizStep -> EQ) or, for the
# parameters without one, the name itself; anything else counts as "other".
_PREFIXES = ("EQATTR", "HASATTR", "EXISTS", "MATCH", "INNER", "EQ", "GE", "GT", "LE", "LT",
             "WD")
_NAMED = {"eventType", "orderBy", "orderDirection", "eventCountLimit", "maxEventCount",
          "perPage", "nextPageToken"}
_LATENCY = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def route_family(path: str, status: int) -> str:
    """A bounded label for a request path: the resource group it belongs to."""
    if status == 404:
        return "not_found"  # fuzzed or mistyped paths must not each get a label
    for prefix in _FIXED:
        if path == prefix or path.startswith(prefix + "/") or (
                prefix in ("/openapi",) and path.startswith(prefix)):
            return prefix
    if path == "/epcis" or path.startswith("/epcis/"):
        return "/epcis"
    m = _API_SEGMENT.match(path)
    if m:
        return f"/api/{m.group(1)}"
    return "pages"


def param_families(query_string: str) -> list[str]:
    """The query-parameter families a query uses, sorted ("none" when it has none)."""
    found: set[str] = set()
    for name, _ in parse_qsl(query_string, keep_blank_values=True):
        if name in _NAMED:
            found.add(name)
            continue
        prefix = name.split("_", 1)[0]
        found.add(prefix if prefix in _PREFIXES and "_" in name else "other")
    return sorted(found) or ["none"]


def _is_query(method: str, path: str) -> bool:
    return method == "GET" and (path == "/epcis/events" or (
        path.startswith("/epcis/") and path.endswith("/events")))


class NodeMetrics:
    """The metrics of one app, in a registry of its own."""

    def __init__(self, ctx: AppContext) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_seconds = Histogram(
            "corridor_http_request_duration_seconds", "HTTP request latency by route family",
            ["family", "method"], buckets=_LATENCY, registry=r)
        self.http_requests = Counter(
            "corridor_http_requests", "HTTP requests answered, by route family and status",
            ["family", "method", "status"], registry=r)
        self.captures = Counter(
            "corridor_captures", "Capture requests (POST /epcis/capture, POST /epcis/events) "
            "answered, by path and status", ["path", "status"], registry=r)
        self.capture_seconds = Histogram(
            "corridor_capture_duration_seconds", "Capture request latency, by path",
            ["path"], buckets=_LATENCY, registry=r)
        self.capture_in_progress = Gauge(
            "corridor_capture_requests_in_progress", "Capture requests being served",
            registry=r)
        self.events_captured = Counter(
            "corridor_events_captured", "Events newly stored by captures (duplicates "
            "excluded)", registry=r)
        self.query_seconds = Histogram(
            "corridor_query_duration_seconds", "EPCIS query latency (GET .../events), "
            "once per query-parameter family the query uses", ["family"],
            buckets=_LATENCY, registry=r)
        self.witness_seconds = Histogram(
            "corridor_witness_cosign_duration_seconds", "Time a witness took to cosign a "
            "checkpoint (successful pushes)", ["witness"], buckets=_LATENCY, registry=r)
        self.witness_failures = Counter(
            "corridor_witness_failures", "Checkpoint pushes a witness did not cosign "
            "(unreachable, refused, bad answer)", ["witness"], registry=r)
        r.register(_NodeCollector(ctx))

    def watch_capture(self, service: Any) -> None:
        """Count the events `service` (a CaptureService) stores, through its on_stored
        hook; once per service."""
        before = getattr(service, "on_stored", None)
        if getattr(before, "_corridor_counted", False):
            return
        events = self.events_captured

        def counted(event_ids: list[str]) -> None:
            events.inc(len(event_ids))
            if before is not None:
                before(event_ids)

        counted._corridor_counted = True  # type: ignore[attr-defined]
        service.on_stored = counted

    def watch_witnesses(self, ledger: Any) -> bool:
        """Time each push to a witness of `ledger` (a RunningLog): wraps its Witnesses'
        per-witness push, whose answer is the cosignature lines (none: a failure). Returns
        False when the log has no such push to wrap (then nothing is measured)."""
        witnesses = getattr(ledger, "witnesses", None)
        push = getattr(witnesses, "_push", None)
        if push is None or getattr(push, "_corridor_timed", False):
            return push is not None
        seconds, failures = self.witness_seconds, self.witness_failures

        def timed(*args: Any, **kwargs: Any) -> Any:
            link = next((a for a in args if hasattr(a, "verifier") and hasattr(a, "url")),
                        None)
            name = link.verifier.name if link is not None else "unknown"
            started = time.perf_counter()
            try:
                lines = push(*args, **kwargs)
            except Exception:
                failures.labels(name).inc()
                raise
            if lines:
                seconds.labels(name).observe(time.perf_counter() - started)
            else:
                failures.labels(name).inc()
            return lines

        timed._corridor_timed = True  # type: ignore[attr-defined]
        witnesses._push = timed
        return True


class _NodeCollector:
    """Gauges read at scrape time from the database and the running log."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def describe(self) -> list[Metric]:
        return []  # registered without a first scrape

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("corridor_database_up",
                               "1 when the scrape could read the database")
        try:
            state = read_db(self.ctx.db, checkpoint_state)
        except Exception:  # noqa: BLE001 - the scrape still answers; readyz names why
            up.add_metric([], 0)
            yield up
            state = None
        else:
            up.add_metric([], 1)
            yield up
        if state is not None:
            yield from _log_gauges(state)
        yield from self._live_gauges()

    def _live_gauges(self) -> Iterator[Metric]:
        queue = GaugeMetricFamily("corridor_capture_queue_depth",
                                  "Prepared captures waiting for the writer's next commit")
        writer = getattr(self.ctx.capture, "writer", None)
        pending = getattr(writer, "_queue", None)
        queue.add_metric([], pending.qsize() if hasattr(pending, "qsize") else 0)
        yield queue
        ledger = self.ctx.ledger
        if ledger is None:
            return
        up = GaugeMetricFamily("corridor_witness_up", "1 when the witness's last push "
                               "succeeded (or none failed yet)", labels=["witness"])
        for link in getattr(ledger, "links", []):
            up.add_metric([link.verifier.name], 0 if link.last_error else 1)
        yield up
        seq = GaugeMetricFamily("corridor_is_sequencer", "1 when this node is the sequencer")
        try:
            seq.add_metric([], 1 if sequencer_status(self.ctx).get("is_sequencer") else 0)
        except Exception:  # noqa: BLE001 - an election failure shows as not the sequencer
            seq.add_metric([], 0)
        yield seq


def _log_gauges(state: Any) -> Iterator[Metric]:
    size = GaugeMetricFamily("corridor_log_size", "Entries in the stored log tree")
    size.add_metric([], state.tree_size)
    yield size
    if state.size is None:
        return
    cp = GaugeMetricFamily("corridor_checkpoint_size", "Size of the newest signed checkpoint")
    cp.add_metric([], state.size)
    yield cp
    age = state.age()
    if age is not None:
        g = GaugeMetricFamily("corridor_checkpoint_age_seconds",
                              "Seconds since the newest signed checkpoint was signed")
        g.add_metric([], max(age, 0.0))
        yield g
    cos = GaugeMetricFamily("corridor_checkpoint_cosignatures",
                            "Valid witness cosignatures on the newest signed checkpoint")
    cos.add_metric([], state.witnessed)
    yield cos


class HttpMetrics:
    """ASGI middleware timing every HTTP request; `capture_service` returns the node's
    CaptureService (made on first use), whose stored events are then counted."""

    def __init__(self, app: ASGIApp, metrics: NodeMetrics,
                 capture_service: Callable[[], Any] | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.capture_service = capture_service
        # labelled children by (metric, labels): prometheus_client's labels() takes a lock
        # and builds its key on every call; the label sets here are few and bounded
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        m, path = self.metrics, scope["path"]
        method = scope["method"] if scope["method"] in _METHODS else "other"
        capture = method == "POST" and path in CAPTURE_PATHS
        if capture:
            if self.capture_service is not None:
                m.watch_capture(self.capture_service())
            m.capture_in_progress.inc()
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            family = route_family(path, status)
            code = str(status or 500)
            self._child(m.http_seconds, family, method).observe(elapsed)
            self._child(m.http_requests, family, method, code).inc()
            if capture:
                m.capture_in_progress.dec()
                self._child(m.captures, path, code).inc()
                self._child(m.capture_seconds, path).observe(elapsed)
            if _is_query(method, path) and status != 404:
                query = scope.get("query_string", b"").decode("latin-1")
                for name in param_families(query):
                    self._child(m.query_seconds, name).observe(elapsed)


def metrics_routes(metrics: NodeMetrics) -> list[BaseRoute]:
    """GET /metrics in the Prometheus text format."""

    async def scrape(request: Request) -> Response:
        # The scraper's Accept picks the format (OpenMetrics, or the text format 0.0.4).
        encode, media = choose_encoder(request.headers.get("accept", ""))
        body = await run_in_threadpool(encode, metrics.registry)
        return Response(body, media_type=media, headers={"Cache-Control": "no-store"})

    return [Route("/metrics", scrape, methods=["GET"])]
