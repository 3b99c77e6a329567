"""corridor.serving: what both HTTP faces, the REST API (corridor.api) and the dashboard
(corridor.web), share.

AppContext (the node's settings, database and long-lived parts, handed to every route
module); who is asking (parse_bearer, viewer_for, require_party, AuthError, CaptureKeys);
short reads on a per-thread connection (read_db); one endpoint for several methods of a
path (by_method); bounded request bodies (read_limited,
read_body, read_json_body, parse_json_body); and RFC 7807 problem details: one exception,
ProblemError, one renderer, problem_response, and the EXCEPTION_HANDLERS that render a raised
ProblemError with the request's URI (instance_uri) as its instance.
"""

from corridor.serving._auth import (
    AuthError,
    CaptureKeys,
    must_be_party,
    parse_bearer,
    require_party,
    viewer_for,
)
from corridor.serving._bodies import (
    MAX_BODY_STRING,
    MAX_JSON_DEPTH,
    parse_json_body,
    read_body,
    read_json_body,
    read_limited,
)
from corridor.serving._context import AppContext
from corridor.serving._db import read_db
from corridor.serving._methods import by_method
from corridor.serving._problems import (
    EXCEPTION_HANDLERS,
    GS1_HEADERS,
    ProblemError,
    SafeJSONResponse,
    instance_uri,
    problem_response,
    query_pointer,
)

__all__ = [
    "EXCEPTION_HANDLERS",
    "GS1_HEADERS",
    "MAX_BODY_STRING",
    "MAX_JSON_DEPTH",
    "AppContext",
    "AuthError",
    "CaptureKeys",
    "ProblemError",
    "SafeJSONResponse",
    "by_method",
    "instance_uri",
    "must_be_party",
    "parse_bearer",
    "parse_json_body",
    "problem_response",
    "query_pointer",
    "read_body",
    "read_db",
    "read_json_body",
    "read_limited",
    "require_party",
    "viewer_for",
]
