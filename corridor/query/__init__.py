"""corridor.query: EPCIS query parameters compiled to SQL, and the read models the REST API,
the dashboard and the subscriptions share. Every read of events applies the viewer's
visibility (Viewer: who is asking).

params (the EPCIS query parameters: parse_query, from_json, from_url_pairs -> Query), engine
(compile_query against a connection), run (running a Query), visibility and visible_set (what
a viewer may read, per row or as a set), events_view (EventRow, the events a viewer sees),
places and history (the stored places and typical times), dashboard (the corridor's overview),
custody (where a viewer's view of a unit ends), parties (party names), place_view (the units
at a place), search and log_view (what the dashboard's search and log pages read), epc
(MATCH_ patterns), imports (what an importer imported into the EU in a year, for EU CBAM).
"""

from corridor.query.dashboard import Corridor, Position, UnitIndex, overview, unit_index
from corridor.query.engine import compile_query
from corridor.query.events_view import (
    EventRow,
    event_at_log_index,
    events_naming,
    matching_events,
    stored_document,
)
from corridor.query.history import NOTHING_KNOWN, Typical
from corridor.query.imports import Import, Imports, Installation, imports_of
from corridor.query.params import Query, QueryError, from_json, from_url_pairs, parse_query
from corridor.query.places import NO_PLACES, Place, Places, stored_places
from corridor.query.run import known_namespaces
from corridor.query.visibility import Viewer, ViewerLike, visibility_clause
from corridor.query.visible_set import reading_parties, visible_ids

__all__ = [
    "NOTHING_KNOWN", "NO_PLACES", "Corridor", "EventRow", "Import", "Imports", "Installation",
    "Place", "Places", "Position", "Query", "QueryError", "Typical", "UnitIndex", "Viewer",
    "ViewerLike", "compile_query", "event_at_log_index", "events_naming", "from_json",
    "from_url_pairs", "imports_of", "known_namespaces", "matching_events",
    "overview", "parse_query", "reading_parties", "stored_document", "stored_places",
    "unit_index", "visibility_clause", "visible_ids",
]
