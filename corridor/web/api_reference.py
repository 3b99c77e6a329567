"""The API reference page (/api-reference): the OpenAPI description that /openapi.json serves
(corridor.serving.openapi), as one section per tag, each operation with its method, path,
summary, parameters, request body media types and responses. Built once: the description is
data shipped with the package."""

from __future__ import annotations

import functools
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from corridor.serving import openapi

_CODE = re.compile(r"`([^`]+)`")


def prose(text: str | None) -> Markup:
    """The little Markdown the description uses: paragraphs and `code`, all else escaped."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    out = []
    for p in paragraphs:
        escaped = html.escape(" ".join(p.split()), quote=False)
        out.append("<p>" + _CODE.sub(r"<code>\1</code>", escaped) + "</p>")
    return Markup("".join(out))  # (every piece of text above is escaped)


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # path, query, header
    required: bool
    type: str
    description: Markup


@dataclass(frozen=True)
class Response:
    code: str
    description: Markup
    media: list[str]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: Markup
    auth: str
    parameters: list[Parameter]
    body_media: list[str]
    body_required: bool
    responses: list[Response]


@dataclass
class Section:
    name: str
    description: Markup
    operations: list[Operation] = field(default_factory=list)


def schema_type(doc: dict[str, Any], schema: dict[str, Any] | None) -> str:
    """A short name of a schema's type: `string`, `integer (1 to 10000)`, `one of: a, b`."""
    s = openapi.resolve(doc, schema or {})
    kind = s.get("type")
    text = " or ".join(kind) if isinstance(kind, list) else kind or ""
    if "enum" in s:
        text = "one of: " + ", ".join(json.dumps(v) if v == "" else str(v) for v in s["enum"])
    elif "const" in s:
        text = json.dumps(s["const"])
    elif kind == "array":
        text = f"array of {schema_type(doc, s.get('items'))}"
    elif "minimum" in s and "maximum" in s:
        text += f" ({s['minimum']} to {s['maximum']})"
    return text or "object"


def _auth(doc: dict[str, Any], op: dict[str, Any]) -> str:
    security = op.get("security", doc.get("security", []))
    if not security:
        return "public"
    return "key optional" if {} in security else "party key"


def _parameters(doc: dict[str, Any], item: dict[str, Any], op: dict[str, Any]
                ) -> list[Parameter]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
        p = openapi.resolve(doc, raw)
        found[(p["name"], p["in"])] = p  # an operation's parameter overrides the path's
    return [Parameter(p["name"], p["in"], bool(p.get("required")),
                      schema_type(doc, p.get("schema")), prose(p.get("description")))
            for p in found.values()]


def _responses(doc: dict[str, Any], op: dict[str, Any]) -> list[Response]:
    out = []
    for code, raw in op.get("responses", {}).items():
        r = openapi.resolve(doc, raw)
        out.append(Response(str(code), prose(r.get("description")), list(r.get("content", {}))))
    return out


def _anchor(method: str, path: str) -> str:
    return f"op-{method}-" + re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")


def _operation(doc: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> Operation:
    body = openapi.resolve(doc, op.get("requestBody") or {})
    return Operation(
        method=method.upper(), path=path, anchor=_anchor(method, path),
        summary=op.get("summary", ""), description=prose(op.get("description")),
        auth=_auth(doc, op), parameters=_parameters(doc, doc["paths"][path], op),
        body_media=list(body.get("content", {})), body_required=bool(body.get("required")),
        responses=_responses(doc, op))


@functools.cache
def reference() -> dict[str, Any]:
    """The page's context: info, intro, sections (one per tag, in the document's order)."""
    doc = openapi.document()
    sections = {t["name"]: Section(t["name"], prose(t.get("description")))
                for t in doc.get("tags", [])}
    for path, method, op in openapi.operations(doc):
        tag = (op.get("tags") or ["Other"])[0]
        section = sections.setdefault(tag, Section(tag, Markup("")))
        section.operations.append(_operation(doc, path, method, op))
    info = doc["info"]
    return {"title": info["title"], "version": info["version"],
            "openapi": doc["openapi"], "summary": info.get("summary", ""),
            "intro": prose(info.get("description")),
            "sections": [s for s in sections.values() if s.operations],
            "count": sum(len(s.operations) for s in sections.values())}
