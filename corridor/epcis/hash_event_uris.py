"""The web-vocabulary URIs of an event, for the Event Hash ID fast path (hash_fast).

The reference generator replaces a bare CBV word with the vocabulary URI it is the tail of,
among the URIs the event holds (hash_vocab.replacements). The fast path reads those URIs from
the vocabulary-typed fields only; a vocabulary URI anywhere else sends the event to hash_tree.
"""

from __future__ import annotations

from collections.abc import Mapping

from corridor.epcis.cbv import VOCAB_ROOTS, expand_curie, terms
from corridor.epcis.hash_pieces import Fallback

# kind -> value -> URI ("" for none), shared with the C core
vocab_memo: dict[str, dict[str, str]] = {}


def vocab_uri(kind: str, value: object) -> str:
    """The URI a vocabulary field's value adds to the event's URIs ("" for none)."""
    if value.__class__ is not str:
        if value is None or value.__class__ is list:
            return ""  # absent, or a shape the renderer refuses
        raise Fallback
    memo = vocab_memo.setdefault(kind, {})
    uri = memo.get(value)
    if uri is None:
        uri = terms()[kind].get(value)
        if uri is None:
            uri = value
            if uri.startswith(("cbv:", "gs1:")):
                uri = expand_curie(uri)
            if not uri.startswith(VOCAB_ROOTS):
                uri = ""
        if len(memo) < 10_000:
            memo[value] = uri
    return uri


_PARTY_KINDS = (("bizTransactionList", "bizTransactionType"), ("sourceList", "sourceDestType"),
                ("destinationList", "sourceDestType"))


def event_uris(event: Mapping) -> frozenset[str]:
    """The web-vocabulary URIs of the event, read from the vocabulary fields only (a URI
    anywhere else sends the event to hash_tree: see hash_pieces)."""
    found = {vocab_uri("bizStep", event.get("bizStep")),
             vocab_uri("disposition", event.get("disposition"))}
    persistent = event.get("persistentDisposition")
    if persistent.__class__ is dict:
        for key in ("set", "unset"):
            words = persistent.get(key)
            if words.__class__ is list:
                for word in words:
                    found.add(vocab_uri("disposition", word))
    for list_name, kind in _PARTY_KINDS:
        items = event.get(list_name)
        if items.__class__ is list:
            for item in items:
                if item.__class__ is dict:
                    found.add(vocab_uri(kind, item.get("type")))
    sensors = event.get("sensorElementList")
    if sensors.__class__ is list:
        for element in sensors:
            if element.__class__ is dict:
                reports = element.get("sensorReport")
                for report in reports if reports.__class__ is list else [reports]:
                    if report.__class__ is dict:
                        found.add(vocab_uri("measurementType", report.get("type")))
                        found.add(vocab_uri("sensorAlertType", report.get("exception")))
                        found.add(vocab_uri("component", report.get("component")))
    found.discard("")
    return frozenset(found)

