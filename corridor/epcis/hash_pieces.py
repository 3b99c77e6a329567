"""Pre-hash pieces of single values, for the fast path of the Event Hash ID (hash_fast).

A piece is `name=canonical value` as the GS1 reference generator's tree renders it. Values that
render the same in every event are cached per field (`field_caches`, shared with the C core);
`Ctx` carries what one event's pieces depend on (namespaces, bare CBV words and their URIs).
User extensions inside an element are rendered here too. Anything this module cannot render as
the reference would raises `Fallback`: the caller then uses hash_tree.
"""

from __future__ import annotations

from collections.abc import Mapping

from corridor.epcis.cbv import CBV_URN, VOCAB_ROOTS
from corridor.epcis.hash_dl import normalise
from corridor.epcis.hash_tree import _Builder, correct, generic, key_name, value_prefixes
from corridor.epcis.hash_values import _NOT_NUMERIC, canon, canon_time, canon_uncached


class Fallback(Exception):
    """The event needs the full model (hash_tree)."""


class Setup:
    """Per-namespaces values, kept while the same mapping object is passed in."""
    ns: object = None
    size = -1
    vexp: dict[str, str] = {}  # noqa: RUF012 (replaced, never mutated)
    vpfx: tuple[str, ...] = ()
    special: tuple[str, ...] = VOCAB_ROOTS


class Ctx:
    """What the pieces of one event depend on."""
    __slots__ = ("builder", "ns", "special", "swaps", "uris", "vexp", "vpfx")

    def __init__(self, ns: Mapping[str, str], swaps: dict[str, str], uris: frozenset[str],
                 setup: type[Setup]) -> None:
        self.ns = ns
        self.swaps = swaps
        self.uris = uris
        self.vexp = setup.vexp
        self.vpfx = setup.vpfx
        self.builder: _Builder | None = None
        # values that may render differently from event to event are never cached
        self.special = setup.special

    def tree(self) -> _Builder:
        if self.builder is None:
            self.builder = _Builder(self.ns, self.swaps)
        return self.builder


def _text(v: object, c: Ctx) -> str:
    """A scalar as the reference's tree holds it (stripped)."""
    if v.__class__ is str:
        if not v.startswith(c.special) and v not in c.swaps:
            return v.strip()
        if v.startswith(VOCAB_ROOTS) and v not in c.uris:
            raise Fallback  # would change the vocabulary replacements
        if c.swaps:
            v = c.swaps.get(v, v)
        if v.startswith(c.vpfx):
            prefix, _, rest = v.partition(":")
            v = c.vexp[prefix] + rest
        return v.strip()
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v.__class__ is int or v.__class__ is float:
        return str(v)
    raise Fallback


def piece_uncached(name: str, v: object, c: Ctx) -> str:
    t = _text(v, c)
    return name + "=" + canon(t) if t else ""


CACHE_LIMIT = 100_000
field_caches: dict[str, dict[str, str]] = {}  # valid for the value prefixes in Setup.vexp


def field_cache(name: str) -> dict[str, str]:
    """raw value -> `name=canonical` for values that render the same in every event."""
    return field_caches.setdefault(name, {})


def piece(name: str, v: object, c: Ctx, cache: dict[str, str]) -> str:
    """piece_uncached through the per-field cache of plain values."""
    if v.__class__ is str and v in c.swaps:  # a bare CBV word: its URI (in c.uris)
        t = c.swaps[v].strip()
        return name + "=" + canon(t) if t else ""
    if v.__class__ is str:
        hit = cache.get(v)
        if hit is None:
            if v.startswith(c.special):
                return piece_uncached(name, v, c)
            t = v.strip()
            if t:
                if CBV_URN in t or t[0] not in _NOT_NUMERIC:
                    hit = name + "=" + canon_uncached(t)
                else:
                    hit = name + "=" + (normalise(t) or t)
            else:
                hit = ""
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[v] = hit
        return hit
    return piece_uncached(name, v, c)


def time_piece(name: str, v: object, c: Ctx) -> str:
    t = _text(v, c)
    return name + "=" + canon_time(t) if t else ""


def is_time(name: str) -> bool:
    low = name.lower()
    return "time" in low and "offset" not in low


# ---- user extensions inside an element ----

def extension_pieces(name: str, value: object, c: Ctx) -> list[str]:
    """Generic rendering of one extension field (one piece per value of a list)."""
    if value.__class__ in (str, int, float, bool):
        t = _text(value, c)
        return [name + "=" + canon(t) if t else name]
    if isinstance(value, (dict, list)):
        if has_vocab_uri(value, c):
            raise Fallback
        nodes = c.tree().node({"x": value})[2]
        return [generic([correct((name, n[1], n[2]))]) for n in nodes]
    raise Fallback


def has_vocab_uri(obj: object, c: Ctx) -> bool:
    if isinstance(obj, str):
        return obj.startswith(VOCAB_ROOTS) and obj not in c.uris
    if isinstance(obj, dict):
        return any(has_vocab_uri(v, c) for v in obj.values())
    if isinstance(obj, list):
        return any(has_vocab_uri(v, c) for v in obj)
    return False


def nested_extensions(extra: list[tuple[str, object]], kid_count: int, c: Ctx) -> str:
    """Extensions of a nested element: appended after its fields, sorted."""
    pieces: list[str] = []
    for key, value in extra:
        name = key_name(key, c.ns)
        # the reference only moves `{iri/}name` keys, and not from levels that look like events
        if "{" not in name or "/}" not in name or "eventTime" in name or "action" in name:
            raise Fallback
        pieces.extend(extension_pieces(name, value, c))
    if kid_count <= 1:
        raise Fallback  # a lone extension stays in place in the reference
    if len(pieces) > 1:
        pieces.sort()
    return "".join(pieces)


SKIP = frozenset({"rdfs:comment", "comment"})  # "#text" is not skipped: it is a text


def element_pieces(value: object, fields: dict[str, tuple[bool, dict]], c: Ctx
                   ) -> tuple[list[str], str]:
    """An element with scalar fields in `fields` order (name -> (is a timestamp, cache)) and
    extensions: (per-field strings in order, extension string)."""
    if value.__class__ is not dict:
        raise Fallback
    found: dict[str, object] = {}
    extra: list[tuple[str, object]] = []
    for key, v in value.items():
        if key in fields:
            found[key] = v
        elif key in SKIP:
            if has_vocab_uri(v, c):
                raise Fallback
        elif ":" in key:
            extra.append((key, v))
        else:
            raise Fallback
    out = []
    for name, (timed, cache) in fields.items():
        if name in found:
            v = found[name]
            text = time_piece(name, v, c) if timed else piece(name, v, c, cache)
            if text:
                out.append(text)
    kids = len(found) + sum(len(v) if v.__class__ is list else 1 for _, v in extra)
    return out, nested_extensions(extra, kids, c) if extra else ""


def setup_for(ns: Mapping[str, str]) -> type[Setup]:
    """The Setup for these namespaces (made current, clearing the caches if the value
    prefixes changed)."""
    if ns is not Setup.ns or len(ns) != Setup.size:
        vexp = value_prefixes(ns)
        if vexp != Setup.vexp:  # cached pieces hold values read with the old prefixes
            for cache in field_caches.values():
                cache.clear()
            Setup.vexp = vexp
            Setup.vpfx = tuple(p + ":" for p in vexp)
            Setup.special = VOCAB_ROOTS + Setup.vpfx
        Setup.ns, Setup.size = ns, len(ns)
    return Setup

