"""The service's own OpenAPI description of the parties and subscription resources, as
Corridor serves them (GET /openapi/parties.json). It follows the EPCIS 2.0 REST binding's
subscription schemas and adds what the binding leaves out: the 400 a malformed subscription
gets, and the /parties management resources."""

from __future__ import annotations

from typing import Any

_PROBLEM = {
    "type": "object",
    "required": ["type", "title"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "format": "uri"},
    },
}


def _problem(description: str, *types: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"allOf": [{"$ref": "#/components/schemas/Problem"}]}
    if types:
        schema["allOf"].append({"properties": {"type": {"enum": list(types)}}})
    return {"description": description,
            "content": {"application/problem+json": {"schema": schema}}}


_401 = _problem("Missing, malformed, unknown or revoked API key",
                "epcisException:SecurityException")
_403 = _problem("The party may not do this", "epcisException:SecurityException")
_404 = _problem("No such resource for this party", "epcisException:NoSuchNameException")
_400_SUB = _problem("Invalid subscription controls",
                    "epcisException:SubscriptionControlsException")
_400 = _problem("Invalid request", "epcisException:ValidationException")
_SCHEDULE_FIELD = {"type": "string", "minLength": 1}

_SUBSCRIPTION_RESPONSE = {
    "type": "object",
    "required": ["subscriptionID", "dest", "createdAt", "queryName"],
    "properties": {
        "subscriptionID": {"type": "string"},
        "queryName": {"type": "string"},
        "dest": {"type": "string", "format": "uri"},
        "createdAt": {"type": "string", "format": "date-time"},
        "lastNotifiedAt": {"type": "string", "format": "date-time"},
        "initialRecordTime": {"type": "string", "format": "date-time"},
        "minRecordTime": {"type": "string", "format": "date-time"},
        "stream": {"type": "boolean", "enum": [True]},
        "schedule": {"$ref": "#/components/schemas/Schedule"},
        "reportIfEmpty": {"type": "boolean"},
        "epcFormat": {"type": "string"},
        "signed": {"type": "boolean"},
    },
    "oneOf": [{"required": ["stream"]}, {"required": ["schedule"]}],
}

_PARTY = {
    "type": "object",
    "required": ["id", "name", "identifier", "role", "identifiers"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "identifier": {"type": "string"},
        "role": {"type": "string", "enum": ["member", "auditor", "admin"]},
        "identifiers": {"type": "array", "items": {"type": "string"}},
        "verifierKey": {"type": ["string", "null"]},
        "createdAt": {"type": ["string", "null"]},
        "revokedAt": {"type": ["string", "null"]},
        "grants": {"type": "array", "items": {"type": "integer"}},
    },
}

_QUERY_NAME = {"name": "queryName", "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1}}
_SUB_ID = {"name": "subscriptionID", "in": "path", "required": True,
           "schema": {"type": "string", "minLength": 1}}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict each call)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Corridor parties and query subscriptions", "version": "1.0.0"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": _PROBLEM,
                "Schedule": {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {k: _SCHEDULE_FIELD for k in (
                        "second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek")},
                },
                "SubscriptionRequest": {
                    "type": "object",
                    "required": ["dest"],
                    "properties": {
                        "dest": {"type": "string", "format": "uri"},
                        "signatureToken": {"type": "string", "minLength": 1,
                                           "maxLength": 1024},
                        "stream": {"type": "boolean"},
                        "schedule": {"$ref": "#/components/schemas/Schedule"},
                        "reportIfEmpty": {"type": "boolean"},
                        "initialRecordTime": {"type": "string", "format": "date-time"},
                    },
                },
                "Subscription": _SUBSCRIPTION_RESPONSE,
                "Party": _PARTY,
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/epcis/queries/{queryName}/subscriptions": {
                "parameters": [_QUERY_NAME],
                "get": {"responses": {
                    "200": _ok("The caller's subscriptions to its query",
                               {"type": "array",
                                "items": {"$ref": "#/components/schemas/Subscription"}}),
                    "401": _401, "404": _404}},
                "post": {
                    "requestBody": _json_body({"$ref": "#/components/schemas/SubscriptionRequest"}),
                    "responses": {
                        "201": _ok("Subscribed", {"$ref": "#/components/schemas/Subscription"}),
                        "400": _400_SUB, "401": _401, "404": _404,
                        "413": _problem("Body too large"),
                        "415": _problem("Not JSON",
                                        "epcisException:UnsupportedMediaTypeException")}},
                "options": {"security": [], "responses": {"204": {"description": "Allowed"}}},
            },
            "/epcis/queries/{queryName}/subscriptions/{subscriptionID}": {
                "parameters": [_QUERY_NAME, _SUB_ID],
                "get": {"responses": {
                    "200": _ok("The subscription", {"$ref": "#/components/schemas/Subscription"}),
                    "401": _401, "404": _404}},
                "delete": {"responses": {"204": {"description": "Unsubscribed"},
                                         "401": _401, "404": _404}},
                "options": {"security": [], "responses": {"204": {"description": "Allowed"}}},
            },
            "/parties/me": {"get": {"responses": {
                "200": _ok("The calling party", {"$ref": "#/components/schemas/Party"}),
                "401": _401}}},
            "/parties/shares": {
                "post": {
                    "requestBody": _json_body({
                        "type": "object", "required": ["eventID", "party"],
                        "properties": {"eventID": {"type": "string"},
                                       "party": {"type": "string"},
                                       "capturedBy": {"type": "string"}}}),
                    "responses": {"201": {"description": "Shared"}, "400": _400,
                                  "401": _401, "404": _404,
                                  "409": _problem("Several parties' events have that eventID; "
                                                  "name the capturing party (admin)",
                                                  "epcisException:ValidationException")}},
                "delete": {
                    "parameters": [
                        {"name": "eventID", "in": "query", "required": True,
                         "schema": {"type": "string"}},
                        {"name": "party", "in": "query", "required": True,
                         "schema": {"type": "string"}},
                        {"name": "capturedBy", "in": "query", "required": False,
                         "schema": {"type": "string"}}],
                    "responses": {"204": {"description": "Share withdrawn"}, "400": _400,
                                  "401": _401, "404": _404,
                                  "409": _problem("Several parties' events have that eventID; "
                                                  "name the capturing party (admin)",
                                                  "epcisException:ValidationException")}},
            },
            "/parties": {
                "get": {"responses": {
                    "200": _ok("Every party (admin)",
                               {"type": "array", "items": {"$ref": "#/components/schemas/Party"}}),
                    "401": _401, "403": _403}},
                "post": {
                    "requestBody": _json_body({
                        "type": "object", "required": ["name", "identifier"],
                        "properties": {
                            "name": {"type": "string"}, "identifier": {"type": "string"},
                            "role": {"type": "string", "enum": ["member", "auditor", "admin"]},
                            "verifierKey": {"type": "string"},
                            "identifiers": {"type": "array", "items": {"type": "string"}}}}),
                    "responses": {
                        "201": _ok("Created; apiKey is shown only here", {"allOf": [
                            {"$ref": "#/components/schemas/Party"},
                            {"required": ["apiKey"],
                             "properties": {"apiKey": {"type": "string"}}}]}),
                        "400": _400, "401": _401, "403": _403}},
            },
            "/parties/{ref}/revoke": {
                "parameters": [{"name": "ref", "in": "path", "required": True,
                                "schema": {"type": "string", "minLength": 1}}],
                "post": {"responses": {
                    "200": _ok("Revoked", {"$ref": "#/components/schemas/Party"}),
                    "400": _400, "401": _401, "403": _403, "404": _404}},
            },
            "/parties/grants": {
                "post": {
                    "requestBody": _json_body({
                        "type": "object", "required": ["auditor", "party"],
                        "properties": {"auditor": {"type": "string"},
                                       "party": {"type": "string"}}}),
                    "responses": {"201": {"description": "Granted"}, "400": _400,
                                  "401": _401, "403": _403, "404": _404}},
                "delete": {
                    "parameters": [
                        {"name": "auditor", "in": "query", "required": True,
                         "schema": {"type": "string"}},
                        {"name": "party", "in": "query", "required": True,
                         "schema": {"type": "string"}}],
                    "responses": {"204": {"description": "Grant withdrawn"}, "400": _400,
                                  "401": _401, "403": _403, "404": _404}},
            },
        },
    }
