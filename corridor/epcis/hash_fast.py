"""Fast pre-hash strings for events of the usual shapes.

Produces exactly what `hash_tree` (the step-by-step model of the GS1 reference generator)
produces, but walks the JSON-LD event once with a precompiled plan per field (hash_plan, over
the value renderers and caches of hash_pieces) instead of building and re-sorting a tree.
Whenever an event holds something outside the plan (an unknown field, an extension the
reference would place differently, a value of an unexpected type, a web-vocabulary URI outside
a vocabulary field, an error declaration, ...) `prehash` returns None and the caller uses
`hash_tree`, so correctness never depends on this module's coverage.

The hot loop also exists in C (`_hashcore.c`, loaded by hash_native when it is built). `NATIVE`
tells whether it is built; `CORRIDOR_PURE_PYTHON=1` (or `set_native(False)`) leaves it unused.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from corridor.epcis.cbv import VOCAB_ROOTS
from corridor.epcis.hash_event_uris import event_uris
from corridor.epcis.hash_native import NATIVE, PREHASH
from corridor.epcis.hash_pieces import (
    SKIP,
    Ctx,
    Fallback,
    extension_pieces,
    has_vocab_uri,
    setup_for,
)
from corridor.epcis.hash_plan import EVENT_TYPES, IGNORED, PLAN, SLOTS, TAIL
from corridor.epcis.hash_tree import key_name
from corridor.epcis.hash_values import _time_uncached as time_uncached
from corridor.epcis.hash_vocab import replacements

__all__ = ["NATIVE", "native_enabled", "prehash", "prehash_python", "set_native"]

_native: Callable[[object, object], str | None] | None = None


def set_native(enabled: bool) -> bool:
    """Use the C core (when built) or not; returns whether it is in use now."""
    global _native
    _native = PREHASH if enabled and NATIVE else None
    return _native is not None


set_native(NATIVE and os.environ.get("CORRIDOR_PURE_PYTHON") != "1")


def native_enabled() -> bool:
    return _native is not None


def prehash(event: Mapping, namespaces: Mapping[str, str]) -> str | None:
    """The pre-hash string, or None when the event needs hash_tree."""
    if _native is not None:
        fast = _native(event, namespaces)
        if fast is not None:
            return fast
    return prehash_python(event, namespaces)


def prehash_python(event: Mapping, namespaces: Mapping[str, str]) -> str | None:
    """prehash without the C core."""
    etype = event.get("type")
    if etype not in EVENT_TYPES or ("eventTime" not in event and "action" not in event):
        return None
    try:
        uris = event_uris(event)
        swaps = replacements(uris) if uris else {}
        c = Ctx(namespaces, swaps, uris, setup_for(namespaces))  # small; one per event
        slots = [""] * SLOTS
        tail: list[str] = []
        special = c.special
        # a local: CPython 3.11 compiles a method call on a name bound by `import` as an
        # attribute load, which makes a bound method object on every call
        plan = PLAN
        for key, value in event.items():
            planned = plan.get(key)
            if planned is not None:
                pos, render, cache = planned
                if value.__class__ is str and value not in swaps:
                    if cache is not None:  # a plain scalar seen before
                        hit = cache.get(value)
                        if hit is not None:
                            slots[pos] = hit
                            continue
                    elif pos == 0 and not value.startswith(special):  # eventTime: unique
                        text = value.strip()
                        slots[0] = "eventTime=" + time_uncached(text) if text else ""
                        continue
                slots[pos] = render(value, c)
            elif key in TAIL:
                piece = TAIL[key](value, c)
                if piece:
                    tail.append(piece)
            elif key in IGNORED or key in SKIP:
                if value.__class__ is str:
                    if value.startswith(VOCAB_ROOTS) and value not in uris:
                        return None
                elif has_vocab_uri(value, c):
                    return None
            elif ":" in key:
                name = key_name(key, namespaces)
                if "{" not in name:
                    return None
                tail.extend(extension_pieces(name, value, c))
            else:
                return None  # errorDeclaration and anything unknown
    except Fallback:
        return None
    if len(tail) > 1:
        tail.sort()
    return "eventType=" + etype + "".join(slots) + "".join(tail)
