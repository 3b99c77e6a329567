"""CBV 2.0 Event Hash ID: `ni:///sha-256;<hex>?ver=CBV2.0` for an EPCIS 2.0 event.

Byte-identical to the GS1 reference generator (PyPI `epcis-event-hash-generator`) and the GS1
Event Hash ID test vectors. Events come in EPCIS 2.0 JSON-LD form (XML documents reach here
converted by corridor.epcis.documents) with the document's namespace prefixes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from corridor.epcis import hash_fast, hash_tree

# accepted spellings -> (hashlib constructor, name in the ni URI per the reference generator)
_ALGORITHMS = {
    "sha-256": (hashlib.sha256, "sha-256"),
    "sha3-256": (hashlib.sha3_256, "sha3-256"),
    "sha-384": (hashlib.sha384, "sha-384"),
    "sha-512": (hashlib.sha512, "sha-512"),
}
_ALIASES = {"sha256": "sha-256", "sha3_256": "sha3-256", "sha384": "sha-384",
            "sha512": "sha-512"}
ALGORITHMS: tuple[str, ...] = tuple(_ALGORITHMS)
_EMPTY: Mapping[str, str] = {}


_LOOKUP = {**_ALGORITHMS, **{alias: _ALGORITHMS[name] for alias, name in _ALIASES.items()}}


def _algorithm(name: str) -> tuple:
    found = _LOOKUP.get(name) or _LOOKUP.get(name.lower())
    if found is None:
        raise ValueError(f"unsupported hash algorithm {name!r}; use one of "
                         + ", ".join(ALGORITHMS))
    return found


def ignore_names(fields: Iterable[str], namespaces: Mapping[str, str] | None = None
                 ) -> frozenset[str]:
    """`repository-x:hash` -> the expanded name the pre-hash uses for that field."""
    ns = namespaces or _EMPTY
    return frozenset(f if f.startswith("{") else hash_tree.key_name(f, ns) for f in fields)


def prehash_string(event: dict, namespaces: Mapping[str, str] | None = None, *,
                   ignore_fields: Iterable[str] = ()) -> str:
    """The canonical pre-hash string of one event (JSON-LD form). `ignore_fields` lists
    top-level fields to leave out (a document's `ignoreFields`, as CURIEs or `{iri}name`)."""
    if event.__class__ is not dict and not isinstance(event, Mapping):
        raise TypeError(f"an event must be a JSON object, not {type(event).__name__}")
    ns = namespaces if namespaces is not None else _EMPTY
    ignore = ignore_names(ignore_fields, ns) if ignore_fields else frozenset()
    if not ignore:
        fast = hash_fast.prehash(event, ns)
        if fast is not None:
            return fast
    return hash_tree.prehash(event, ns, ignore)


def event_hash_id(event: dict, namespaces: Mapping[str, str] | None = None,
                  algorithm: str = "sha-256", *, ignore_fields: Iterable[str] = ()) -> str:
    """`ni:///sha-256;<hex>?ver=CBV2.0` (or sha3-256, sha-384, sha-512)."""
    make, label = _algorithm(algorithm)
    digest = make(prehash_string(event, namespaces, ignore_fields=ignore_fields)
                  .encode("utf-8")).hexdigest()
    return f"ni:///{label};{digest}?ver=CBV2.0"


def _ignore_in(container: object) -> list[str]:
    if not isinstance(container, Mapping):
        return []
    for key, value in container.items():
        if isinstance(key, str) and (key == "ignoreFields" or key.endswith(":ignoreFields")):
            if isinstance(value, str):
                return [value]
            if isinstance(value, list):
                return [v for v in value if isinstance(v, str)]
            if isinstance(value, Mapping):  # XML form: one empty child element per field
                return [k for k in value if isinstance(k, str) and not k.startswith("@")]
    return []


def document_ignore_fields(header: Mapping) -> list[str]:
    """The fields a document asks to leave out of every event's hash: an `ignoreFields` list
    in the document (any namespace) or in a query document's `queryResults`."""
    found = _ignore_in(header)
    body = header.get("epcisBody") if isinstance(header, Mapping) else None
    if isinstance(body, Mapping):
        found += _ignore_in(body.get("queryResults"))
    return found
