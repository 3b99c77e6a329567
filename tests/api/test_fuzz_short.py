"""A short run of bench/bench_fuzz.py's hostile requests against a real node, on each
database: no answer is a 5xx, none takes 10 s, none hands A's private events to another
party or the public, and oversize bodies cost the server no more than their limits. The
long run (100,000 requests) is `python bench/bench_fuzz.py`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.api.e2_harness import free_port
from tests.benches import load_bench

REQUESTS = 1500


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_hostile_requests_get_no_5xx_no_hang_no_leak(kind: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    fuzz = load_bench("bench_fuzz")
    pg = request.getfixturevalue("pg_server") if kind == "postgresql" else fuzz.PG
    world, proc, schema = fuzz.make_world(kind, tmp_path, free_port(), pg)
    try:
        findings = asyncio.run(fuzz.fuzz(world, 7, REQUESTS, 8, proc.pid, 16))
        report = fuzz.report(findings, 1.0)
        assert not findings.server_errors, report
        assert not findings.hangs, report
        assert not findings.leaks, report
        answered = sum(v for k, v in findings.statuses.items() if k[0] in "2345")
        assert answered >= REQUESTS * 0.95, report
        # Six 16 MiB bodies went in; the server may grow by its caches, not by the bodies
        # (each process from its own first sample: capture workers may start midway).
        assert fuzz.growth_kib(findings.by_process) < 160 * 1024, report
    finally:
        fuzz.stop_server(proc)
        fuzz.drop_db(schema, pg)
