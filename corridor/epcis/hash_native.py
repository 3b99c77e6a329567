"""The C core of the Event Hash ID fast path (`_hashcore.c`), when it is built.

setup.py compiles it when a compiler is there. It handles the usual event shapes itself and
hands every other value or field to the Python renderers of hash_plan and hash_pieces (sharing
their caches), or returns None for hash_fast's Python path to decide. This module loads it and
passes it those renderers and caches; `NATIVE` tells whether it can be used and `PREHASH` is its
entry point (None when not). hash_fast chooses between it and the Python path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from corridor.epcis import hash_values, hash_vocab
from corridor.epcis.cbv import VOCAB_ROOTS
from corridor.epcis.hash_event_uris import event_uris, vocab_memo, vocab_uri
from corridor.epcis.hash_pieces import (
    CACHE_LIMIT,
    Ctx,
    Fallback,
    Setup,
    extension_pieces,
    field_cache,
    has_vocab_uri,
    piece,
    setup_for,
)
from corridor.epcis.hash_plan import EVENT_TYPES, PLAN, TAIL
from corridor.epcis.hash_tree import key_name
from corridor.epcis.hash_values import _time_uncached as time_uncached
from corridor.epcis.hash_vocab import replacements

try:
    from corridor.epcis import _hashcore  # type: ignore[attr-defined]
except ImportError:  # not built (no compiler at install time): the Python path alone
    _hashcore = None

# the field positions the C core is written for (its P_* and T_* constants)
_C_PLAN = ("eventTime", "eventTimeZoneOffset", "certificationInfo", "parentID", "epcList",
           "inputEPCList", "childEPCs", "quantityList", "childQuantityList",
           "inputQuantityList", "outputEPCList", "outputQuantityList", "action",
           "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint",
           "bizLocation", "sensorElementList")
_C_TAIL = ("bizTransactionList", "sourceList", "destinationList", "ilmd")


def _extension_tail(key: str, value: object, c: Ctx) -> list[str]:
    """A top-level `prefix:name` field."""
    name = key_name(key, c.ns)
    if "{" not in name:
        raise Fallback
    return extension_pieces(name, value, c)


def _make_ctx(ns: Mapping[str, str], swaps: dict[str, str], uris: frozenset[str]) -> Ctx:
    return Ctx(ns, swaps, uris, setup_for(ns))


def _matches_plan() -> bool:
    """Whether the C core's field positions are still hash_plan's."""
    return tuple(sorted(PLAN, key=lambda name: PLAN[name][0])) == _C_PLAN and tuple(TAIL) == _C_TAIL


def _configure() -> None:
    order = sorted(PLAN.items(), key=lambda item: item[1][0])
    _hashcore.configure({
        "plan": [(name, render, cache) for name, (_, render, cache) in order],
        "tail": [(name, render) for name, render in TAIL.items()],
        "caches": {name: field_cache(name) for name in (
            "epc", "id", "type", "bizTransaction", "source", "destination", "epcClass",
            "quantity", "uom")},
        "cache_limit": CACHE_LIMIT,
        "Fallback": Fallback, "piece": piece, "time_uncached": time_uncached,
        "make_ctx": _make_ctx, "setup": setup_for, "Setup": Setup,
        "extension": _extension_tail, "has_vocab_uri": has_vocab_uri,
        "vocab_memo": vocab_memo, "vocab_uri": vocab_uri,
        "replacement_cache": hash_vocab._replacement_cache, "replacements": replacements,
        "uris": event_uris, "canon_cache": hash_values._canon_cache, "event_types": EVENT_TYPES,
        "vocab_prefixes": VOCAB_ROOTS,
    })


# built and written for this plan (if the plan changed, the core is not used)
NATIVE = _hashcore is not None and _matches_plan()
if NATIVE:
    _configure()
PREHASH: Callable[[object, object], str | None] | None = _hashcore.prehash if NATIVE else None
