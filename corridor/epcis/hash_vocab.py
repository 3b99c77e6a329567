"""Bare CBV words in JSON-LD events and the web-vocabulary URIs they stand for.

A JSON-LD event may write `"bizStep": "shipping"`; the official EPCIS 2.0 context turns such a
word into `https://ref.gs1.org/cbv/BizStep-shipping`. The GS1 reference generator applies this
through JSON-LD expansion and then replaces every string value that is the unique tail of one of
the expanded vocabulary URIs; `vocabulary_uris` and `replacements` reproduce that per event.
The word lists are read from the official context shipped in corridor/epcis/data.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"
# expanded values the reference considers for replacement
VOCAB_PREFIXES = ("https://ref.gs1.org/cbv", "https://gs1.org/voc")
_CURIES = {"cbv": CBV, "gs1": GS1_VOC}


def _expand(curie: str) -> str:
    prefix, _, rest = curie.partition(":")
    return _CURIES[prefix] + rest if prefix in _CURIES else curie


@cache
def _context() -> dict:
    text = resources.files("corridor.epcis").joinpath("data/epcis-context.jsonld").read_text(
        encoding="utf-8")
    return json.loads(text)["@context"]


def _terms(definition: dict) -> dict[str, str]:
    scoped = definition.get("@context", {})
    if isinstance(scoped, list):
        merged: dict = {}
        for part in scoped:
            merged.update(part)
        scoped = merged
    return {k: _expand(v) for k, v in scoped.items() if isinstance(v, str) and ":" in v
            and not k.startswith("@") and k not in _CURIES and k != "epcis"}


@cache
def tables() -> dict[str, dict[str, str]]:
    """field kind -> {bare word: URI}. Kinds: bizStep, disposition, btt, sdt, reason,
    measurement, exception, component."""
    ctx = _context()
    sensor = ctx["sensorElementList"]["@context"]["sensorReport"]["@context"]
    return {
        "bizStep": _terms(ctx["bizStep"]),
        "disposition": _terms(ctx["disposition"]),
        "btt": _terms(ctx["bizTransactionList"]["@context"]["type"]),
        "sdt": _terms(ctx["sourceList"]["@context"]["type"]),
        "reason": _terms(ctx["errorDeclaration"]["@context"]["reason"]),
        "measurement": _terms(sensor["type"]),
        "exception": _terms(sensor["exception"]),
        "component": _terms(sensor["component"]),
    }


def expand_vocab(kind: str, value: object) -> str | None:
    """The URI a vocabulary-typed value expands to, when it is one the reference collects."""
    if not isinstance(value, str):
        return None
    uri = tables()[kind].get(value)
    if uri is not None:
        return uri
    if value.startswith(("cbv:", "gs1:")):
        value = _expand(value)
    return value if value.startswith(VOCAB_PREFIXES) else None


_replacement_cache: dict[frozenset[str], dict[str, str]] = {}


def replacements(uris: frozenset[str]) -> dict[str, str]:
    """value -> URI for every value that is the tail (after `/` or `-`) of exactly one URI."""
    hit = _replacement_cache.get(uris)
    if hit is not None:
        return hit
    owners: dict[str, str | None] = {}
    for uri in uris:
        for tail in _tails(uri):
            owners[tail] = None if tail in owners else uri  # None: more than one owner
    table = {tail: uri for tail, uri in owners.items() if uri is not None}
    if len(_replacement_cache) > 4096:
        _replacement_cache.clear()
    _replacement_cache[uris] = table
    return table


@cache
def _tails(uri: str) -> tuple[str, ...]:
    """Every `v` with uri.endswith("/" + v) or uri.endswith("-" + v), once each."""
    return tuple(dict.fromkeys(uri[i + 1:] for i, ch in enumerate(uri) if ch in "/-"))
