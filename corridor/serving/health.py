"""Liveness and readiness of a node, for a load balancer or an orchestrator.

GET /healthz: the process answers (200, no database access).
GET /readyz: 200 when every check passes, else 503; the JSON body names each check:
  database    a query on the node's database answers within `timeout` seconds;
  sequencer   a sequencer is known: this node, or the one RunningLog.sequencer_status()
              names (a node without that method is a single node: its own sequencer);
  checkpoint  the newest signed checkpoint is fresh: it covers the whole stored tree, or it
              was signed at most `max_age` seconds ago (the tree grows faster than the signer
              runs); an empty log with nothing signed yet is fresh; a tree smaller than the
              signed checkpoint (a rollback) never is.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from corridor.serving._context import AppContext
from corridor.store.db import Connection, Database

__all__ = ["CheckpointState", "Readiness", "checkpoint_state", "health_routes",
           "sequencer_status"]

# Seconds a signed checkpoint may lag a growing tree before the node is not ready.
DEFAULT_MAX_AGE = float(os.environ.get("CORRIDOR_READY_CHECKPOINT_AGE", "30"))
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class CheckpointState:
    """The stored tree's size and its newest signed checkpoint (size, signing time)."""
    tree_size: int
    size: int | None
    signed_at: datetime | None
    witnessed: int

    def age(self, now: datetime | None = None) -> float | None:
        if self.signed_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.signed_at).total_seconds()


def _parse_time(text: Any) -> datetime | None:
    if text is None:
        return None
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def checkpoint_state(conn: Connection) -> CheckpointState:
    """Read the tree size and the newest signed checkpoint (ledger_checkpoints.created_at is
    when the signer recorded it)."""
    row = conn.fetchone("SELECT size FROM ledger_state WHERE id = 1")
    tree = int(row[0]) if row else 0
    cp = conn.fetchone("SELECT size, created_at, witnessed FROM ledger_checkpoints "
                       "ORDER BY size DESC LIMIT 1")
    if cp is None:
        return CheckpointState(tree, None, None, 0)
    return CheckpointState(tree, int(cp[0]), _parse_time(cp[1]), int(cp[2]))


def sequencer_status(ctx: AppContext) -> dict[str, Any]:
    """RunningLog.sequencer_status() where the log has one; else this node, alone."""
    log = ctx.running_log()
    status = getattr(log, "sequencer_status", None)
    if callable(status):
        return dict(status())
    return {"is_sequencer": True, "sequencer": "self", "since": None, "single_node": True}


def _fresh(state: CheckpointState, max_age: float) -> tuple[bool, str]:
    if state.size is None:
        if state.tree_size == 0:
            return True, "empty log, nothing to sign yet"
        return False, f"{state.tree_size} entries and no signed checkpoint"
    if state.size > state.tree_size:
        return False, (f"stored tree of size {state.tree_size} is smaller than the signed "
                       f"checkpoint of size {state.size}")
    if state.size == state.tree_size:
        return True, "the newest checkpoint covers the whole tree"
    age = state.age()
    if age is not None and age <= max_age:
        return True, f"signed {age:.1f} s ago, within {max_age:g} s"
    shown = "at an unknown time" if age is None else f"{age:.1f} s ago"
    return False, (f"the newest checkpoint (size {state.size}) was signed {shown}; the tree "
                   f"has {state.tree_size} entries and the limit is {max_age:g} s")


class Readiness:
    """The checks of GET /readyz. `max_age` and `timeout` may be changed on a live app."""

    def __init__(self, ctx: AppContext, *, max_age: float = DEFAULT_MAX_AGE,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.ctx = ctx
        self.max_age = max_age
        self.timeout = timeout

    def _read(self, db: Database) -> CheckpointState:
        # A connection of its own: a broken thread connection must not make this pass.
        with db.connect(reader=True) as conn:
            conn.fetchone("SELECT 1")
            return checkpoint_state(conn)

    async def checks(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        state: CheckpointState | None = None
        try:
            state = await asyncio.wait_for(asyncio.to_thread(self._read, self.ctx.db),
                                           self.timeout)
            out["database"] = {"ok": True, "dialect": self.ctx.db.dialect}
        except TimeoutError:
            out["database"] = {"ok": False, "error": f"no answer within {self.timeout:g} s"}
        except Exception as exc:  # noqa: BLE001 - any failure to reach the database is the answer
            first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            out["database"] = {"ok": False, "error": f"{type(exc).__name__}: {first}"}
        try:
            status = await asyncio.wait_for(asyncio.to_thread(sequencer_status, self.ctx),
                                            self.timeout)
            known = bool(status.get("is_sequencer")) or status.get("sequencer") is not None
            out["sequencer"] = {"ok": known, **status}
            if not known:
                out["sequencer"]["error"] = "no sequencer is known"
        except TimeoutError:
            out["sequencer"] = {"ok": False, "error": f"no answer within {self.timeout:g} s"}
        except Exception as exc:  # noqa: BLE001 - the election's failure is a failing check
            out["sequencer"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        if state is None:
            out["checkpoint"] = {"ok": False, "error": "database unreachable"}
        else:
            ok, why = _fresh(state, self.max_age)
            age = state.age()
            out["checkpoint"] = {"ok": ok, "tree_size": state.tree_size,
                                 "checkpoint_size": state.size,
                                 "age_seconds": None if age is None else round(age, 3),
                                 "max_age_seconds": self.max_age,
                                 ("detail" if ok else "error"): why}
        return out


def health_routes(readiness: Readiness) -> list[BaseRoute]:
    """GET /healthz and GET /readyz (no authentication: they expose no event data)."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    async def readyz(request: Request) -> Response:
        checks = await readiness.checks()
        failing = [name for name, check in checks.items() if not check["ok"]]
        body = {"status": "not ready" if failing else "ready", "failing": failing,
                "checks": checks}
        return JSONResponse(body, status_code=503 if failing else 200,
                            headers={"Cache-Control": "no-store"})

    return [Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"])]
