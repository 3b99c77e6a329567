"""Query subscriptions: webhooks (stream and schedule) with signed, retried, durable
deliveries, and WebSocket subscriptions on /epcis/queries/{name}/events.

FOR E1 (capture and the app factory), the two calls this package needs:

  1. After a capture transaction COMMITS (POST /epcis/capture job finished, POST /epcis/events):
         from corridor.subscriptions import notify_captured
         notify_captured(ctx, event_ids)        # plain function, safe from any thread
     It only wakes the subscription task; deliveries are derived from the database, so a
     missed call delays (by at most the poll interval, 1 s) but never loses a delivery.

  2. In create_app's lifespan, around the app's life:
         from corridor.subscriptions import subscription_lifespan
         async with subscription_lifespan(ctx):
             yield
     It starts the delivery task (resuming any outbox rows left by a previous run) and
     stops it on shutdown. corridor.api.subscription_routes.routes(ctx) registers the
     service in ctx.parts["subscriptions"]; the lifespan creates it if routes() did not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from corridor.subscriptions.service import SubscriptionService, Tuning

__all__ = ["SubscriptionService", "Tuning", "notify_captured", "service_for",
           "subscription_lifespan"]

PART = "subscriptions"


def service_for(ctx: Any) -> SubscriptionService:
    """The node's subscription service (created on first use, started by the lifespan)."""
    service = ctx.parts.get(PART)
    if service is None:
        service = ctx.parts[PART] = SubscriptionService(
            ctx.db, allow_private=ctx.settings.allow_private_webhooks)
    return service


def notify_captured(ctx: Any, event_ids: list[str]) -> None:
    """Tell subscriptions that events were committed. Never raises for a missing service."""
    service = ctx.parts.get(PART)
    if service is not None:
        service.notify(list(event_ids))


@asynccontextmanager
async def subscription_lifespan(ctx: Any) -> AsyncIterator[SubscriptionService]:
    service = service_for(ctx)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
