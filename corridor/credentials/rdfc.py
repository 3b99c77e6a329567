"""RDF Dataset Canonicalization (RDFC-1.0, the algorithm URDNA2015 became) of JSON-LD, with
pyld, in a safe mode for signing.

pyld alone would leave out of the RDF, silently, every term and type the @context does not define
and every IRI it does not take for absolute; what is left out is not signed, so here each is an
error (CredentialError) instead. The loader is Corridor's offline one unless another is given.

`canonicalize` first tries the fast path (rdf_fast.py: JSON-LD to quads in one walk, over
contexts pyld processed once; urdna.py: RDFC-1.0 of the quads), which gives pyld's bytes for the
documents it takes and leaves every other document (and every one the strict checks would
refuse) to pyld here (`canonicalize_pyld`), whose answer, bytes or error, is then as before.
"""

from __future__ import annotations

import math
import re
import weakref

from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import JsonLdError, JsonLdProcessor

from corridor.credentials import rdf_contexts, rdf_fast, urdna
from corridor.credentials.errors import CredentialError
from corridor.credentials.loader import Loader, document_loader
from corridor.credentials.rdf_contexts import Unsupported

# Resolved contexts, kept per loader so that one loader's documents never answer another's.
_resolved: weakref.WeakKeyDictionary[Loader, dict] = weakref.WeakKeyDictionary()
# Work allowed to canonicalize one dataset, in Hash N-Degree Quads calls and permutations:
# generous for credentials, far below what a poisoned dataset (many look-alike blank nodes)
# would make the algorithm do.
WORK_LIMIT = 20_000


class _BoundedURDNA2015(URDNA2015):
    """URDNA2015 that stops at a work limit (RDFC-1.0 asks to detect dataset poisoning)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._left = limit

    def _spend(self, work: int) -> None:
        self._left -= work
        if self._left < 0:
            raise CredentialError("RDF canonicalization exceeded its work limit "
                                  "(too many look-alike blank nodes)")

    def hash_n_degree_quads(self, id_: str, issuer: IdentifierIssuer) -> dict:
        self._spend(1)
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: IdentifierIssuer) -> dict:
        related = super().create_hash_to_related(id_, issuer)
        self._spend(sum(math.factorial(min(len(nodes), 12)) for nodes in related.values()))
        return related


def _options(loader: Loader) -> dict:
    cache = _resolved.setdefault(loader, {})
    # No base IRI: pyld would resolve relative IRIs against a made-up one (example.org/base);
    # without it they stay relative, and _check_iris refuses them.
    return {"documentLoader": loader, "contextResolver": ContextResolver(cache, loader),
            "base": None, "processingMode": "json-ld-1.1"}


def expand_strict(document: dict, *, loader: Loader | None = None) -> list:
    """The JSON-LD expansion of `document`; CredentialError where the @context leaves a term,
    a type or an IRI undefined (data that would not reach the RDF, so would not be signed)."""
    loader = loader or document_loader

    def dropped(term: str | None) -> None:
        raise CredentialError(f"term {term!r} is not defined by the @context, so it would not "
                              "be signed")

    try:
        expanded = JsonLdProcessor(on_property_dropped=dropped).expand(document,
                                                                       _options(loader))
    except JsonLdError as exc:
        raise _credential_error(exc) from None
    _check_iris(expanded)
    return expanded


def canonicalize(document: dict, *, loader: Loader | None = None) -> bytes:
    """The RDFC-1.0 canonical N-Quads (UTF-8) of a JSON-LD document, in safe mode: the fast
    path where it takes the document, pyld otherwise."""
    loader = loader or document_loader
    fast = canonicalize_fast(document, loader=loader)
    return fast if fast is not None else canonicalize_pyld(document, loader=loader)


def canonicalize_fast(document: dict, *, loader: Loader | None = None) -> bytes | None:
    """The canonical N-Quads by the fast path (rdf_fast.py, urdna.py), or None where it does
    not take the document (the caller then uses `canonicalize_pyld`)."""
    loader = loader or document_loader
    try:
        quads = rdf_fast.to_quads(document, rdf_contexts.registry(loader, _options(loader)))
        nquads = urdna.canonical_nquads(quads, WORK_LIMIT, 100)
        return nquads.encode("utf-8")
    except (Unsupported, urdna.WorkExceeded, UnicodeEncodeError, RecursionError):
        return None


def canonicalize_pyld(document: dict, *, loader: Loader | None = None) -> bytes:
    """The canonical N-Quads by pyld, with the strict checks (the slow path)."""
    loader = loader or document_loader
    expanded = expand_strict(document, loader=loader)
    try:
        dataset = _to_rdf(expanded)
    except JsonLdError as exc:
        raise _credential_error(exc) from None
    _check_escapes(dataset)
    nodes = {c["value"] for quads in dataset.values() for q in quads
             for c in (q["subject"], q["object"]) if c["type"] == "blank node"}
    nquads = _BoundedURDNA2015(WORK_LIMIT + 100 * len(nodes)).main(
        dataset, {"format": "application/n-quads"})
    return nquads.encode("utf-8")


def _to_rdf(expanded: list) -> dict:
    """pyld's RDF dataset of an expanded document: what its to_rdf makes, without expanding
    the document a second time (to_rdf expands whatever it is given)."""
    processor = JsonLdProcessor()
    issuer = IdentifierIssuer("_:b")
    node_map: dict = {"@default": {}}
    processor._create_node_map(expanded, node_map, "@default", issuer)
    options = {"produceGeneralizedRdf": False, "processingMode": "json-ld-1.1",
               "rdfDirection": None}
    return {name: processor._graph_to_rdf(graph, issuer, options)
            for name, graph in sorted(node_map.items())
            if name == "@default" or _PYLD_ABSOLUTE.match(name)}


# The graph names pyld's to_rdf keeps (its own test for an absolute IRI).
_PYLD_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")

# pyld writes N-Quads as URDNA2015 did; RDFC-1.0 also escapes these characters (\b, \f, other
# controls as a \u escape of four hex digits in literals; controls, space and <>"{}|^`\ in IRIs). Where they occur the
# two canonical forms differ, so such documents are refused rather than signed or verified wrongly.
_LITERAL_UNESCAPED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_IRI_UNESCAPED = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _check_escapes(dataset: dict) -> None:
    for graph, quads in dataset.items():
        if _IRI_UNESCAPED.search(graph):
            raise CredentialError(f"graph name {graph!r} is not a valid IRI")
        for quad in quads:
            for part in ("subject", "predicate", "object"):
                term = quad[part]
                if term["type"] == "literal":
                    found = _LITERAL_UNESCAPED.search(term["value"])
                    if found:
                        raise CredentialError(f"a string holds control character "
                                              f"U+{ord(found.group()):04X}, which "
                                              "eddsa-rdfc-2022 canonicalization here refuses")
                    term = {"value": term["datatype"]}
                if term.get("type") != "blank node" and _IRI_UNESCAPED.search(term["value"]):
                    raise CredentialError(f"IRI {term['value']!r} holds a character IRIs "
                                          "may not hold")


# What pyld (and jsonld.js) take for an absolute IRI; anything else is left out of the RDF.
_ABSOLUTE_IRI = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*|_):\S*")


def _absolute(value: object) -> bool:
    return isinstance(value, str) and _ABSOLUTE_IRI.fullmatch(value) is not None


def _check_iris(node: object) -> None:
    """IRIs that are relative (an undefined type, an id like "foo") or hold spaces are
    dropped from the RDF: refuse them."""
    if isinstance(node, list):
        for item in node:
            _check_iris(item)
        return
    if not isinstance(node, dict):
        return
    if "@value" in node:
        datatype = node.get("@type")
        if datatype is not None and datatype != "@json" and not _absolute(datatype):
            raise CredentialError(f"datatype {datatype!r} is not defined by the @context")
        return
    for key, value in node.items():
        if key == "@id":
            if not _absolute(value):
                raise CredentialError(f"identifier {value!r} is not an absolute IRI")
        elif key == "@type":
            for name in value if isinstance(value, list) else [value]:
                if not _absolute(name):
                    raise CredentialError(f"type {name!r} is not defined by the @context")
        else:
            _check_iris(value)


def _credential_error(exc: BaseException) -> CredentialError:
    """The CredentialError inside a pyld error (an unknown context, an undefined term), or a
    new one carrying pyld's message."""
    cause: BaseException | None = exc
    messages = []
    while cause is not None:
        if isinstance(cause, CredentialError):
            return cause
        messages.append(str(cause).split("\n")[0])
        cause = cause.__cause__ or cause.__context__
    return CredentialError("JSON-LD: " + "; ".join(messages))
