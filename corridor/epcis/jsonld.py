"""JSON-LD details: parsing bytes with located errors, and prefixes declared in @context."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import orjson

from corridor.epcis.problems import EpcisError, Problem


def load_json(data: bytes) -> object:
    """Parse JSON bytes; a syntax error becomes a Problem naming line and column."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise json_problem(exc) from None


def json_problem(exc: json.JSONDecodeError) -> EpcisError:
    return EpcisError([Problem(f"line {exc.lineno}, column {exc.colno}", "json-syntax",
                               exc.msg)])


@cache
def standard_prefixes() -> dict[str, str]:
    """Prefixes the GS1 EPCIS 2.0 context itself declares (gs1, cbv, cbvmda, ...)."""
    text = resources.files("corridor.epcis").joinpath("data/epcis-context.jsonld").read_text(
        encoding="utf-8")
    context = json.loads(text)["@context"]
    return {k: v for k, v in context.items()
            if isinstance(v, str) and not k.startswith("@") and v.endswith(("/", ":", "#"))}


def _is_standard_context(url: str) -> bool:
    return "epcis-context" in url and ("gs1.org" in url or "gs1.github.io" in url)


def context_namespaces(context: object) -> dict[str, str]:
    """prefix -> IRI for every prefix a JSON-LD @context declares (later entries win). A
    reference to the standard EPCIS context contributes the prefixes that context defines."""
    found: dict[str, str] = {}
    entries = context if isinstance(context, list) else [context]
    for entry in entries:
        if isinstance(entry, str):
            if _is_standard_context(entry):
                found.update(standard_prefixes())
        elif isinstance(entry, dict):
            for key, value in entry.items():
                if key.startswith("@") or ":" in key:
                    continue
                if isinstance(value, dict):
                    value = value.get("@id")
                if isinstance(value, str) and ":" in value:
                    found[key] = value
    return found
