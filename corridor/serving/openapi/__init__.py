"""The OpenAPI 3.1 description of Corridor's HTTP surface, kept as data beside this module
(here in corridor.serving because both faces read it: corridor.api serves it as JSON,
corridor.web renders it as the API reference page).

`openapi.yaml` is the root (info, servers, default security, the Meta operations); it names
in `x-corridor-parts` the other files, one per resource group (components.yaml: what they
share; epcis.yaml, query-parameters.yaml, discovery.yaml, queries.yaml: the EPCIS 2.0 REST
binding; log.yaml; parties.yaml; fx.yaml). `document()` merges them, in that order, into one
document: tags are appended, paths and each components section are joined, and a name
defined twice, a `$ref` to nothing or an operation tagged with an undeclared tag is an
error (DescriptionError), so a broken file fails at the first request and in the tests.

  document()       the merged document (cached; do not mutate it)
  document_json()  the same as JSON bytes, as served at GET /openapi.json
  subset(tags)     a document holding only the operations of these tags (PARTIES_TAGS:
                   GET /openapi/parties.json)
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

__all__ = ["METHODS", "PARTIES_TAGS", "DescriptionError", "document", "document_json",
           "operations", "resolve", "subset"]

HERE = Path(__file__).resolve().parent
ROOT = "openapi.yaml"
PARTS_KEY = "x-corridor-parts"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PART_KEYS = {"tags", "paths", "components"}
PARTIES_TAGS = frozenset({"Parties", "Subscriptions"})


class DescriptionError(ValueError):
    """The description files do not merge into one consistent document."""


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise DescriptionError(f"{name}: not a YAML mapping")
    return data


def _join(into: dict[str, Any], more: dict[str, Any], where: str) -> None:
    for key, value in more.items():
        if key in into:
            raise DescriptionError(f"{where}: {key!r} is defined twice")
        into[key] = value


def _merge(root: dict[str, Any], name: str, part: dict[str, Any]) -> None:
    unknown = sorted(set(part) - _PART_KEYS)
    if unknown:
        raise DescriptionError(f"{name}: unexpected top-level keys {unknown}")
    known = {t["name"] for t in root.setdefault("tags", [])}
    for tag in part.get("tags", []):
        if tag["name"] in known:
            raise DescriptionError(f"{name}: tag {tag['name']!r} is declared twice")
        known.add(tag["name"])
        root["tags"].append(tag)
    _join(root.setdefault("paths", {}), part.get("paths") or {}, f"{name}: paths")
    components = root.setdefault("components", {})
    for section, entries in (part.get("components") or {}).items():
        _join(components.setdefault(section, {}), entries, f"{name}: components/{section}")


def _refs(node: Any) -> Iterator[str]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                yield ref
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """`node`, or what its local `$ref` (`#/components/...`) points at, followed to the end."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or seen > 20:
            raise DescriptionError(f"{ref}: not a local reference (or a loop)")
        target: Any = doc
        for key in ref[2:].split("/"):
            key = key.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or key not in target:
                raise DescriptionError(f"{ref}: points at nothing")
            target = target[key]
        node, seen = target, seen + 1
    return node


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every operation, in document order."""
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _check(doc: dict[str, Any]) -> None:
    for ref in _refs(doc):
        resolve(doc, {"$ref": ref})
    declared = {t["name"] for t in doc.get("tags", [])}
    for path, method, op in operations(doc):
        for tag in op.get("tags", []):
            if tag not in declared:
                raise DescriptionError(f"{method.upper()} {path}: tag {tag!r} is not declared")


@functools.cache
def _merged() -> dict[str, Any]:
    root = _load(ROOT)
    for name in root.pop(PARTS_KEY, []):
        _merge(root, name, _load(name))
    _check(root)
    return root


def document() -> dict[str, Any]:
    """The merged OpenAPI document (cached: treat it as read-only)."""
    return _merged()


@functools.cache
def document_json() -> bytes:
    return json.dumps(_merged(), ensure_ascii=False, separators=(",", ":")).encode()


@functools.cache
def subset(tags: frozenset[str]) -> dict[str, Any]:
    """The document with only the operations tagged with one of `tags` (and the tags
    themselves); every component stays. Cached: treat it as read-only."""
    doc = copy.deepcopy(_merged())
    doc["tags"] = [t for t in doc.get("tags", []) if t["name"] in tags]
    paths: dict[str, Any] = {}
    for path, item in doc.get("paths", {}).items():
        kept = {k: v for k, v in item.items()
                if k not in METHODS or set(v.get("tags", [])) & set(tags)}
        if any(k in METHODS for k in kept):
            paths[path] = kept
    doc["paths"] = paths
    return doc
