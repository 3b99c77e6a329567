"""HTTP routes of one concern, mounted by corridor.api.app."""

from __future__ import annotations

from starlette.routing import BaseRoute

from corridor.api.context import AppContext


def routes(ctx: AppContext) -> list[BaseRoute]:
    return []
