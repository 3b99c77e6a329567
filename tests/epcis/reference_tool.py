"""The GS1 reference hash generator (PyPI epcis-event-hash-generator 1.9.3) as the tests run
it: on one document file, the way its command line does, but offline.

Offline: the reference loads the JSON-LD contexts a document names. It ships the two full EPCIS
contexts; the simple context (`gs1.github.io/EPCIS/epcis-context-simple.jsonld`) it would fetch
from the web, so the tests hand it the official copy in ../shared/conformance/gs1-epcis/, and
any other URL fails at once instead of waiting on the network.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from epcis_event_hash_generator import (
    events_from_file_reader,
    file_document_loader,
    hash_generator,
    json_to_py,
)
from pyld import jsonld

SIMPLE_CONTEXT = "https://gs1.github.io/EPCIS/epcis-context-simple.jsonld"
PACKAGED = ("https://gs1.github.io/EPCIS/epcis-context.jsonld",
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld")


class Refused(Exception):
    """The reference failed on the document (it raised)."""


@contextmanager
def offline(conformance: Path) -> Iterator[None]:
    """The reference's JSON-LD document loader, without the network, for the block."""
    packaged = file_document_loader.file_document_loader()
    simple = json.loads((conformance / "gs1-epcis" / "epcis-context-simple.jsonld")
                        .read_text(encoding="utf-8"))

    def load(url: str, options: dict | None = None) -> dict:
        if url == SIMPLE_CONTEXT:
            return {"contentType": "application/ld+json", "contextUrl": None,
                    "documentUrl": url, "document": simple}
        if url in PACKAGED:
            return packaged(url, options or {})
        raise jsonld.JsonLdError(f"offline: {url} is not available",
                                 "jsonld.LoadDocumentError", code="loading document failed")

    before = jsonld.get_document_loader()
    jsonld.set_document_loader(load)
    level = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # it logs every value it cannot normalise
    try:
        yield
    finally:
        jsonld.set_document_loader(before)
        logging.disable(level)


def reference_hashes(path: Path) -> list[str]:
    """The hash IDs the reference prints for the document at `path` (Refused if it raises).
    Its JSON reading keeps the prefixes of every document read so far in a module global;
    cleared here, so that each document is read as by a fresh `python -m
    epcis_event_hash_generator FILE`."""
    json_to_py._namespaces.clear()
    try:
        events = events_from_file_reader.event_list_from_file(str(path))
        prehashes = hash_generator.derive_prehashes_from_events(events)
        return hash_generator.calculate_hashes_from_pre_hashes(prehashes)
    except Exception as exc:  # any failure of the reference is a refusal
        raise Refused(f"{type(exc).__name__}: {exc}") from exc
