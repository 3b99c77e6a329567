"""corridor.web: the dashboard, server-rendered pages and static files reading through the
corridor.query read models. `routes.routes(ctx)` gives its routes to the app factory
(corridor.app); what it shares with the REST API is corridor.serving."""

__all__ = ["routes"]
