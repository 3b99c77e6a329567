"""Single-field tamperings of a JSON document, for tests that a verifier rejects each one.

Every leaf value is changed in turn (strings keep their length where they can, so a changed
date is still a date and a changed key still looks like a key), every object member is removed
in turn, and one member is added to each object.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if value is None:
        return "tampered"
    text = str(value)
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch.isdigit():
            return text[:i] + str((int(ch) + 1) % 10) + text[i + 1:]
    for i in range(len(text) - 1, -1, -1):
        ch = text[i]
        if ch.isascii() and ch.isalpha():
            nxt = {"z": "a", "Z": "A"}.get(ch, chr(ord(ch) + 1))
            return text[:i] + nxt + text[i + 1:]
    return text + "x"


def _walk(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))


def _parent(doc: Any, path: Path) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


def pointer(path: Path) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def tamperings(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, tampered copy) for every single-field change of `document`."""
    out: list[tuple[str, dict[str, Any]]] = []
    for path, value in _walk(document, ()):
        if isinstance(value, dict):
            doc = copy.deepcopy(document)
            target = doc if not path else _parent(doc, path)[path[-1]]
            target["tampered"] = "added"
            out.append((f"add {pointer((*path, 'tampered'))}", doc))
            continue
        if isinstance(value, list):
            continue
        doc = copy.deepcopy(document)
        _parent(doc, path)[path[-1]] = _changed(value)
        out.append((f"change {pointer(path)}", doc))
    for path, _value in _walk(document, ()):
        if path and isinstance(path[-1], str):
            doc = copy.deepcopy(document)
            del _parent(doc, path)[path[-1]]
            out.append((f"remove {pointer(path)}", doc))
    return out


# A valid Ed25519 did:key that did not sign the documents under test (the W3C vectors' key).
OTHER_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def key_substitution(document: dict[str, Any], did: str = OTHER_DID) -> dict[str, Any]:
    """`document` claiming another issuer key: issuer and verification method both name `did`,
    consistently, so only the signature can tell."""
    doc = copy.deepcopy(document)
    if isinstance(doc.get("issuer"), dict):
        doc["issuer"]["id"] = did
    else:
        doc["issuer"] = did
    doc["proof"]["verificationMethod"] = f"{did}#{did.removeprefix('did:key:')}"
    return doc
