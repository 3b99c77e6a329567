"""Active JSON-LD contexts for the fast JSON-LD to RDF path (rdf_fast.py).

pyld processes every context (the document's, type-scoped, property-scoped), so what a term
means is decided by pyld's own context processing; this module keeps each processed context with
its term definitions compiled to what the fast path needs, and remembers each derivation (the
root context of a @context list, a type-scoped or property-scoped context applied to it), so a
context is processed once per loader, not once per document.

Anything the fast path does not handle (a term with @reverse, @language, @nest, @index or
@list, a @json or language-tagged value, a compact IRI whose prefix is a term, ...) is
`Unsupported`: the caller then canonicalizes with pyld, which keeps its strict checks.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from pyld.jsonld import JsonLdProcessor

from corridor.credentials.loader import Loader

# What pyld (and rdfc.py's strict checks) take for an absolute IRI, and the characters an IRI
# may not hold (rdfc.py refuses them; here they send the document to that slow path).
_ABSOLUTE_IRI = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*|_):\S*")
_IRI_UNESCAPED = re.compile(r'[\x00-\x20<>"{}|^`\\]')
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
# What a pyld term definition may hold for the fast path to take it as it is.
_DEFINITION_KEYS = frozenset({"reverse", "protected", "_prefix", "_term_has_colon", "@id",
                              "@type", "@container", "@context"})
# Bounds on what documents can make the caches hold (keys and values are the documents' own):
# entries per memo, contexts per registry, memo entries per registry (then a fresh registry).
_MEMO_LIMIT = 1024
_CONTEXT_LIMIT = 512
_ENTRY_LIMIT = 100_000


class Unsupported(Exception):
    """The fast path does not handle this document: canonicalize it with pyld."""


def valid_iri(value: str) -> bool:
    """An absolute IRI pyld keeps and rdfc.py's strict checks accept (not a blank node)."""
    return (_ABSOLUTE_IRI.fullmatch(value) is not None and not value.startswith("_:")
            and _IRI_UNESCAPED.search(value) is None)


class Term:
    """What a key of a node object means in one active context."""

    __slots__ = ("coerce", "graph", "iri", "nq", "ok", "scoped")

    def __init__(self, iri: str | None, ok: bool, coerce: str | None = None,
                 graph: bool = False, scoped: Any = None) -> None:
        self.iri = iri  # absolute IRI, or a keyword ('@id', '@type', ...); None: dropped
        self.ok = ok  # a definition the fast path handles as a property
        self.coerce = coerce  # '@id', '@vocab', a datatype IRI, or None
        self.graph = graph  # @container @graph
        self.scoped = scoped  # the term's scoped context (pyld's raw value), or None
        self.nq = f"<{iri}>"  # the predicate, as N-Quads writes it


_DROPPED = Term(None, False)


class Shape:
    """What the keys of a node object mean in one context: which key gives its types, which
    its @id, and for each other key its term, the context its value is expanded in and the
    coercion that context gives plain values (pyld takes it from there)."""

    __slots__ = ("error", "id_key", "props", "type_key")

    def __init__(self, ctx: Context, keys: tuple[str, ...]) -> None:
        self.type_key: str | None = None
        self.id_key: str | None = None
        self.props: list[tuple[str, Term, Context, str | None]] = []
        self.error: str | None = None  # why the fast path cannot take such a node
        for key in keys:
            term = ctx.term(key)
            if term.iri == "@type":
                if self.type_key is not None:
                    self.error = "two keys for @type"
                self.type_key = key
            elif term.iri == "@id":
                if self.id_key is not None:
                    self.error = "two keys for @id"
                self.id_key = key
            elif not term.ok:
                self.error = self.error or f"key {key!r}"
            elif self.error is None:
                self._add(ctx, key, term)

    def _add(self, ctx: Context, key: str, term: Term) -> None:
        if term.scoped is None:
            self.props.append((key, term, ctx, term.coerce))
            return
        try:
            inner = ctx.derive(term.scoped, propagate=True, override=True)
        except Unsupported as exc:
            self.error = str(exc)
            return
        again = inner.term(key)  # the term as its own scoped context has it (maybe not at all)
        if again.iri is not None and not (again.ok and again.iri[0] != "@"):
            self.error = "a scoped context that redefines its own term"
        self.props.append((key, term, inner, again.coerce))


def _memo_put(registry: Registry, memo: dict, key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    registry.entries += 1
    if registry.entries > _ENTRY_LIMIT:
        registry.full = True


class Context:
    """One pyld active context, with its terms compiled on first use."""

    __slots__ = (
        "_derived",
        "_id_iris",
        "_mappings",
        "_prefixes",
        "_previous",
        "_registry",
        "_shapes",
        "_terms",
        "_typed",
        "_vocab_iris",
        "has_previous",
        "raw",
        "vocab",
    )

    def __init__(self, raw: Any, registry: Registry) -> None:
        if raw.get("@language") is not None or raw.get("@direction") is not None:
            raise Unsupported("a default language or direction")
        self.raw = raw
        self._registry = registry
        self._mappings = raw["mappings"]
        self._prefixes = frozenset(term for term, m in self._mappings.items()
                                   if m and m.get("_prefix"))
        self.vocab: str | None = raw.get("@vocab")
        self.has_previous = raw.get("previousContext") is not None
        self._terms: dict[str, Term] = {}
        self._vocab_iris: dict[str, str | None] = {}
        self._id_iris: dict[str, bool] = {}
        self._derived: dict[tuple, Context] = {}
        self._typed: dict[tuple, Context] = {}
        self._previous: Context | None = None
        self._shapes: dict[tuple[str, ...], Shape] = {}

    # -- terms ---------------------------------------------------------------------------------

    def term(self, key: str) -> Term:
        """The meaning of `key` (a node object's key) here."""
        term = self._terms.get(key)
        if term is None:
            term = self._compile(key)
            _memo_put(self._registry, self._terms, key, term)
        return term

    def _compile(self, key: str) -> Term:
        if not isinstance(key, str):
            return _DROPPED
        if key.startswith("@"):
            return Term(key, False)
        if key in self._mappings:
            return _definition(self._mappings[key])
        if ":" in key or self.vocab is None:
            return _DROPPED  # a compact or absolute IRI as a key, or an undefined term
        iri = self.vocab + key
        return Term(iri, True) if valid_iri(iri) else _DROPPED

    def shape(self, keys: tuple[str, ...]) -> Shape:
        """The meaning of a node object's keys here."""
        found = self._shapes.get(keys)
        if found is None:
            found = Shape(self, keys)
            _memo_put(self._registry, self._shapes, keys, found)
        return found

    def id_iri(self, value: str) -> str:
        """`value` expanded as an @id (document-relative, not against @vocab)."""
        known = self._id_iris.get(value)
        if known is None:
            prefix, colon, suffix = value.partition(":")
            known = bool(colon) and valid_iri(value) and (
                prefix not in self._prefixes or suffix.startswith("//"))
            _memo_put(self._registry, self._id_iris, value, known)
        if not known:
            raise Unsupported("an identifier that is not an absolute IRI")
        return value

    def vocab_iri(self, value: str) -> str:
        """`value` expanded as a type (or an @vocab-coerced value): a term, an IRI, @vocab."""
        iri = self._vocab_iris.get(value)
        if iri is None:
            iri = self._expand_vocab(value)
            _memo_put(self._registry, self._vocab_iris, value, iri)
        if not iri:
            raise Unsupported("a type that is not an absolute IRI")
        return iri

    def _expand_vocab(self, value: str) -> str:
        if value.startswith("@"):
            return ""
        if value in self._mappings:
            mapping = self._mappings[value]
            iri = mapping["@id"] if mapping else ""
        elif ":" in value:
            prefix, _, suffix = value.partition(":")
            iri = "" if prefix in self._prefixes and not suffix.startswith("//") else value
        else:
            iri = self.vocab + value if self.vocab is not None else ""
        return iri if iri and valid_iri(iri) else ""

    # -- derived contexts ------------------------------------------------------------------------

    def previous(self) -> Context:
        """The context before the type-scoped ones (they do not reach nested nodes)."""
        if self._previous is None:
            self._previous = self._registry.wrap(self.raw["previousContext"])
        return self._previous

    def derive(self, local: Any, *, propagate: bool, override: bool) -> Context:
        """This context with a scoped context (`local`, from a term definition) applied."""
        key = (id(local), propagate, override)
        found = self._derived.get(key)
        if found is None:
            raw = self._registry.process(self.raw, local, propagate=propagate,
                                         override=override)
            found = self._registry.wrap(raw)
            _memo_put(self._registry, self._derived, key, found)
        return found

    def embedded(self, urls: tuple[str, ...]) -> Context:
        """This context with a node's own @context (a list of context URLs) applied."""
        key = ("@context", urls)
        found = self._derived.get(key)
        if found is None:
            raw = self._registry.process(self.raw, list(urls), propagate=True, override=False)
            found = self._registry.wrap(raw)
            _memo_put(self._registry, self._derived, key, found)
        return found

    def typed(self, types: tuple[str, ...]) -> Context:
        """This context with the type-scoped contexts of `types` (sorted) applied in order;
        the terms naming the types are looked up here, as pyld does."""
        found = self._typed.get(types)
        if found is None:
            found = self
            for name in types:
                mapping = self._mappings.get(name)
                local = mapping.get("@context") if mapping else None
                if local is not None and local is not False:
                    found = found.derive(local, propagate=False, override=False)
            _memo_put(self._registry, self._typed, types, found)
        return found


def _definition(mapping: dict | None) -> Term:
    """A pyld term definition compiled for the fast path."""
    if mapping is None:
        return _DROPPED  # a term defined as null: its data is dropped
    iri = mapping.get("@id")
    if iri in ("@id", "@type"):
        return Term(iri, False)
    if (not isinstance(iri, str) or not valid_iri(iri) or mapping.get("reverse")
            or not _DEFINITION_KEYS.issuperset(mapping)):
        return Term(iri, False)
    container = mapping.get("@container") or []
    if not {"@set", "@graph"}.issuperset(container):
        return Term(iri, False)
    coerce = mapping.get("@type")
    if coerce == "@none":
        coerce = None
    if coerce not in (None, "@id", "@vocab") and (
            coerce in ("@json", _RDF_LANGSTRING) or not valid_iri(coerce)):
        return Term(iri, False)
    return Term(iri, True, coerce, "@graph" in container, mapping.get("@context"))


class Registry:
    """The contexts processed with one document loader."""

    def __init__(self, options: dict) -> None:
        self._processor = JsonLdProcessor()
        self._options = {**options, "isFrame": False, "keepFreeFloatingNodes": False}
        self._initial = self._processor._get_initial_context(self._options)
        self._wrapped: dict[int, Context] = {}
        self._roots: dict[tuple[str, ...], Context] = {}
        self.entries = 0  # memo entries made, all contexts together
        self.full = False  # past a bound: the next document gets a fresh registry

    def root(self, urls: tuple[str, ...]) -> Context:
        """The active context of a document whose @context is `urls`."""
        found = self._roots.get(urls)
        if found is None:
            raw = self.process(self._initial, list(urls), propagate=True, override=False)
            found = self.wrap(raw)
            _memo_put(self, self._roots, urls, found)
        return found

    def wrap(self, raw: Any) -> Context:
        found = self._wrapped.get(id(raw))
        if found is None:
            if len(self._wrapped) >= _CONTEXT_LIMIT:
                self.full = True
                raise Unsupported("too many distinct contexts")
            found = Context(raw, self)
            # the Context holds `raw`, so its id stays this object's while the registry lives
            self._wrapped[id(raw)] = found
        return found

    def process(self, raw: Any, local: Any, *, propagate: bool, override: bool) -> Any:
        try:
            return self._processor._process_context(raw, local, self._options,
                                                    override_protected=override,
                                                    propagate=propagate)
        except Exception as exc:  # pyld's own error (or the loader's): pyld will say it
            raise Unsupported("context processing failed") from exc


_registries: weakref.WeakKeyDictionary[Loader, Registry] = weakref.WeakKeyDictionary()


def registry(loader: Loader, options: dict) -> Registry:
    """The registry of `loader` (`options`: pyld's options for it, used when first made)."""
    found = _registries.get(loader)
    if found is None or found.full:
        found = _registries[loader] = Registry(options)
    return found
