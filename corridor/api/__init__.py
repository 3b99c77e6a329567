"""corridor.api: the HTTP adapters of the REST API, one module per resource, each exposing
`routes(ctx: corridor.serving.AppContext) -> list[BaseRoute]` for the app factory
(corridor.app), which alone mounts them.

epcis_routes (the EPCIS 2.0 REST binding under /epcis/, and its EXCEPTION_HANDLERS),
subscription_routes (query subscriptions: webhooks and WebSocket), log_routes (the public log
under /log/, and witness_app, a C2SP tlog-witness), fx_routes (/api/fx/), party_routes
(/parties/), openapi_routes (/openapi.json); http_protocol, the uvicorn protocol
`corridor serve` runs them on. What the API shares with the dashboard is corridor.serving.
"""

__all__ = [
    "epcis_routes",
    "fx_routes",
    "http_protocol",
    "log_routes",
    "openapi_routes",
    "party_routes",
    "subscription_routes",
]
