"""The JSON-LD document loader: contexts shipped in contexts/ (listed in contexts/index.yml),
nothing else. It never reaches the network: an unknown URL is a CredentialError naming it."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from corridor.credentials.errors import CredentialError

CONTEXTS_DIR = Path(__file__).resolve().parent / "contexts"
INDEX = CONTEXTS_DIR / "index.yml"

Loader = Callable[..., dict]


@functools.cache
def index() -> dict[str, dict]:
    """The entries of contexts/index.yml by URL (url, file, source, licence)."""
    entries = yaml.safe_load(INDEX.read_text(encoding="utf-8"))["contexts"]
    return {entry["url"]: entry for entry in entries}


@functools.cache
def _parsed(url: str) -> dict:
    entry = index().get(url)
    if entry is None:
        raise CredentialError(f"JSON-LD context {url} is not shipped with Corridor "
                              "(contexts/index.yml); contexts are never fetched",
                              pointer="/@context")
    return json.loads((CONTEXTS_DIR / entry["file"]).read_text(encoding="utf-8"))


def context(url: str) -> dict:
    """The context document at `url` (a copy: callers may change it)."""
    return copy.deepcopy(_parsed(url))


def _remote(url: str, document: dict) -> dict:
    # "tag": pyld keeps a resolved context across operations only when its document is tagged.
    return {"contextUrl": None, "documentUrl": url, "document": document, "tag": "static"}


def document_loader(url: str, options: dict | None = None) -> dict:
    """pyld document loader over the shipped contexts."""
    return _remote(url, context(url))


def loader_with(extra: Mapping[str, dict]) -> Loader:
    """A loader that also answers the given URL -> context document pairs (for documents whose
    contexts Corridor does not ship, such as test vectors), then the shipped ones."""
    extra = {url: copy.deepcopy(doc) for url, doc in extra.items()}

    def load(url: str, options: dict | None = None) -> dict:
        if url in extra:
            return _remote(url, copy.deepcopy(extra[url]))
        return document_loader(url, options)

    return load
