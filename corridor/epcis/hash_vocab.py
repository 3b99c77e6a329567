"""Bare CBV words in JSON-LD events and the web-vocabulary URIs they stand for, for the Event
Hash ID.

A JSON-LD event may write `"bizStep": "shipping"`; the official EPCIS 2.0 context turns such a
word into `https://ref.gs1.org/cbv/BizStep-shipping`. The GS1 reference generator applies this
through JSON-LD expansion and then replaces every string value that is the unique tail of one of
the expanded vocabulary URIs; `expand_vocab` and `replacements` reproduce that per event. The
words and their URIs are corridor.epcis.cbv's.
"""

from __future__ import annotations

from functools import cache

from corridor.epcis.cbv import VOCAB_ROOTS, expand_curie, terms


def expand_vocab(kind: str, value: object) -> str | None:
    """The URI a vocabulary-typed value expands to, when it is one the reference collects."""
    if not isinstance(value, str):
        return None
    uri = terms()[kind].get(value)
    if uri is not None:
        return uri
    if value.startswith(("cbv:", "gs1:")):
        value = expand_curie(value)
    return value if value.startswith(VOCAB_ROOTS) else None


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
