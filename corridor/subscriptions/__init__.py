"""Query subscriptions: webhooks (stream and schedule) with signed, retried, durable
deliveries, and WebSocket subscriptions on /epcis/queries/{name}/events.

What the HTTP service calls:

  - `notify_captured(ctx, event_ids)` after a capture transaction commits (a plain function,
    safe from any thread). It only wakes the subscription task; deliveries are derived from
    the database, so a missed call delays (by at most the poll interval, 1 s) but never
    loses a delivery.
  - `async with subscription_lifespan(ctx):` around the app's life (the app factory's
    lifespan): it starts the delivery task, resuming any outbox rows left by a previous run,
    and stops it on shutdown.
  - `service_for(ctx)`: the node's service, kept in `ctx.subscriptions` (made on first use,
    by the subscription routes or the lifespan).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from corridor.subscriptions.service import SubscriptionService, Tuning

if TYPE_CHECKING:  # (types only: corridor.serving's AppContext holds this package's service)
    from corridor.serving import AppContext

__all__ = ["SubscriptionService", "Tuning", "notify_captured", "service_for",
           "subscription_lifespan"]


def service_for(ctx: AppContext) -> SubscriptionService:
    """The node's subscription service (created on first use, started by the lifespan)."""
    if ctx.subscriptions is None:
        ctx.subscriptions = SubscriptionService(
            ctx.db, allow_private=ctx.settings.allow_private_webhooks)
    return ctx.subscriptions


def notify_captured(ctx: AppContext, event_ids: list[str]) -> None:
    """Tell subscriptions that events were committed. Never raises for a missing service."""
    if ctx.subscriptions is not None:
        ctx.subscriptions.notify(list(event_ids))


@asynccontextmanager
async def subscription_lifespan(ctx: AppContext) -> AsyncIterator[SubscriptionService]:
    service = service_for(ctx)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
