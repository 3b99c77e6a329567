"""One entry point for callers outside the REST routes (subscriptions, demo, CLI):
compile EPCIS query parameters against a connection, with extension prefixes and the
location hierarchy resolved from the store."""

from __future__ import annotations

from collections.abc import Mapping

from corridor.query.params import Query, parse_query
from corridor.query.run import descendants, known_namespaces
from corridor.store.db import Connection


def compile_query(conn: Connection, raw: Mapping[str, list[str]],
                  extensions: Mapping[str, str] | None = None) -> Query:
    """Compile name -> values; `extensions` (GS1-Extensions) take precedence over the
    prefixes seen at capture. Raises corridor.query.params.QueryError."""
    # Stored prefixes are read only when a parameter names an extension field.
    stored = known_namespaces(conn) if any(":" in name for name in raw) else {}
    namespaces = {**stored, **(extensions or {})}
    return parse_query(raw, namespaces, lambda locs: descendants(conn, locs))

