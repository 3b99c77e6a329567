"""JSON-LD to RDF, fast, for the documents Corridor signs: one walk over the JSON that yields
the quads pyld's expansion and RDF conversion would (the same terms, coercions, type-scoped and
property-scoped contexts, blank nodes, @graph containers, number forms and duplicate rules).

Only documents whose @context is a list of context URLs are taken, and only what they use that
this walk handles; anything else raises `Unsupported` (rdf_contexts.py) and the caller uses pyld,
which keeps its strict checks and errors. Every case where the strict pyld path (rdfc.py) refuses
a document (an undefined term or type, a relative IRI, a character an IRI may not hold, a control
character in a string) is `Unsupported` here, so such documents are refused by that path.
"""

from __future__ import annotations

import math
import re
from typing import Any

from corridor.credentials.rdf_contexts import XSD_DOUBLE, Context, Registry, Term, Unsupported

Quad = tuple[str, str, str, str]  # subject, predicate, object, graph ('' is the default graph)

_XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = _XSD + "string"
XSD_BOOLEAN = _XSD + "boolean"
XSD_INTEGER = _XSD + "integer"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
# rdfc.py refuses strings holding these; pyld's N-Quads escapes only \\ \t \n \r and ".
_LITERAL_UNESCAPED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPECIAL = re.compile(r'[\x00-\x1f\x7f\\"]')  # a control character, \\ or "
_HUGE = 10 ** 21  # integers from here on are written as doubles
# Nesting (node objects and arrays) the fast path goes into; deeper documents go to pyld, so
# they meet pyld's own limits as before.
_DEPTH_LIMIT = 64


def to_quads(document: Any, registry: Registry) -> list[Quad]:
    """The RDF quads of a JSON-LD document (a multiset, as pyld makes it)."""
    if not isinstance(document, dict):
        raise Unsupported("not a JSON object")
    walk = _Walk()
    walk.node(registry.root(_urls(document.get("@context"))), None, document, "", top=True)
    return walk.quads


def _urls(context: Any) -> tuple[str, ...]:
    urls = [context] if isinstance(context, str) else context
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise Unsupported("an @context that is not a list of context URLs")
    return tuple(urls)


def canonical_double(value: float) -> str:
    """The canonical xsd:double form pyld writes (1.5E0, 1.0E21, -2.5E-7)."""
    mantissa, _, exponent = f"{value:1.15E}".partition("E")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{int(exponent)}"


def _string(text: str) -> str:
    if _SPECIAL.search(text):
        if _LITERAL_UNESCAPED.search(text):
            raise Unsupported("a control character in a string")
        text = (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r").replace('"', '\\"'))
    return f'"{text}"'


def _literal(value: Any, coerce: str | None) -> tuple[str, tuple]:
    """The N-Quads literal of a JSON scalar under a datatype coercion (None, '@id' and
    '@vocab' give none), and the key pyld's duplicate check compares it by."""
    datatype = coerce if coerce not in ("@id", "@vocab") else None
    if isinstance(value, str):
        if datatype == XSD_DOUBLE:
            raise Unsupported("a string coerced to xsd:double")
        lexical, written = value, datatype or XSD_STRING
        key: Any = value
    elif isinstance(value, bool):
        lexical, written = ("true" if value else "false"), datatype or XSD_BOOLEAN
        key = ("bool", value)
    elif isinstance(value, int):
        if abs(value) >= _HUGE:
            raise Unsupported("a very large integer")
        if datatype == XSD_DOUBLE:
            lexical, written = canonical_double(float(value)), XSD_DOUBLE
        else:
            lexical, written = str(value), datatype or XSD_INTEGER
        key = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Unsupported("a number that is not finite")
        if not value.is_integer() or datatype == XSD_DOUBLE or abs(value) >= _HUGE:
            lexical, written = canonical_double(value), datatype or XSD_DOUBLE
        else:
            lexical, written = str(int(value)), datatype or XSD_INTEGER
        key = value
    else:
        raise Unsupported("a value that is not JSON")
    text = _string(lexical)
    if written != XSD_STRING:
        text = f"{text}^^<{written}>"
    return text, ("value", key, datatype)


class _Walk:
    """One document's walk: the quads so far, pyld's duplicate check, blank node labels."""

    def __init__(self) -> None:
        self.quads: list[Quad] = []
        self._seen: set[tuple] = set()
        self._blanks = 0
        self._depth = 0

    def blank(self) -> str:
        self._blanks += 1
        return f"_:b{self._blanks}"

    def add(self, s: str, p: str, o: str, g: str, key: tuple) -> None:
        """Add a quad unless the node already has this value (pyld's node map keeps one)."""
        entry = (g, s, p, key)
        if entry not in self._seen:
            self._seen.add(entry)
            self.quads.append((s, p, o, g))

    def node(self, ctx: Context, prop: str | None, element: dict, graph: str, *,
             top: bool = False) -> str:
        """Emit a node object's quads into `graph`; its subject (IRI or blank node).
        `ctx` and `prop` are the context and key its value was found under (pyld's
        active context and active property)."""
        self._depth += 1
        if self._depth > _DEPTH_LIMIT:
            raise Unsupported("nested too deep")
        if top:
            keys = tuple(k for k in element if k != "@context")
        else:
            scoped = ctx.term(prop).scoped if prop is not None else None
            if ctx.has_previous:
                ctx = self._revert(ctx, element)
            if scoped is not None:
                ctx = ctx.derive(scoped, propagate=True, override=True)
            if "@context" in element:  # the node's own context (a JCS proof carries one)
                ctx = ctx.embedded(_urls(element["@context"]))
                keys = tuple(k for k in element if k != "@context")
            else:
                keys = tuple(element)
        shape = layout = ctx.shape(keys)
        types: list[str] = []
        node_ctx = ctx
        if shape.type_key is not None:
            value = element[shape.type_key]
            types = [value] if isinstance(value, str) else value
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise Unsupported("a type that is not a string")
            node_ctx = ctx.typed(tuple(sorted(types)))
            if node_ctx is not ctx:
                layout = node_ctx.shape(keys)
                if layout.type_key != shape.type_key:
                    raise Unsupported("a type key the type-scoped context changed")
        if layout.error is not None:
            raise Unsupported(layout.error)
        if layout.id_key is None:
            subject = self.blank()
        else:
            value = element[layout.id_key]
            if not isinstance(value, str):
                raise Unsupported("an @id that is not a string")
            subject = f"<{node_ctx.id_iri(value)}>"
        for name in types:
            iri = f"<{ctx.vocab_iri(name)}>"
            self.add(subject, RDF_TYPE, iri, graph, ("type", iri))
        for key, term, term_ctx, coerce in layout.props:
            value = element[key]
            if value is not None:
                self._values(term_ctx, key, term, coerce, value, subject, graph)
        self._depth -= 1
        return subject

    def _revert(self, ctx: Context, element: dict) -> Context:
        """pyld leaves type-scoped contexts behind on entering a nested node object, but not
        for a value object or a bare reference ({"id": ...})."""
        if len(element) <= 2 and "@context" not in element:
            for key in element:
                iri = ctx.term(key).iri
                if iri == "@value":
                    raise Unsupported("a value object")
                if iri == "@id" and len(element) == 1:
                    return ctx
        return ctx.previous()

    def _values(self, ctx: Context, key: str, term: Term, coerce: str | None, value: Any,
                subject: str, graph: str) -> None:
        """Emit the quads of `value`, found under `key` (`term`) of `subject`; `ctx` is the
        context it is expanded in, `coerce` the coercion that gives plain values."""
        predicate = term.nq
        seen = self._seen
        plain = coerce is None and not term.graph
        for item in value if isinstance(value, list) else (value,):
            if item is None:
                continue
            if plain and type(item) is str:  # the most common value: a plain string
                obj = f'"{item}"' if _SPECIAL.search(item) is None else _string(item)
                same: tuple | str = item
            elif isinstance(item, dict):
                if term.graph:  # the node goes into a graph of its own, named by a blank node
                    name = self.blank()
                    self.quads.append((subject, predicate, name, graph))
                    self.node(ctx, key, item, name)
                    continue
                obj = self.node(ctx, key, item, graph)
                if obj[0] == "_":  # a new blank node: never equal to another value
                    self.quads.append((subject, predicate, obj, graph))
                    continue
                same = ("id", obj)
            elif isinstance(item, list):
                self._depth += 1
                if self._depth > _DEPTH_LIMIT:
                    raise Unsupported("nested too deep")
                self._values(ctx, key, term, coerce, item, subject, graph)
                self._depth -= 1
                continue
            elif term.graph:
                raise Unsupported("a value in a @graph container")
            elif coerce is not None and coerce[0] == "@" and isinstance(item, str):
                iri = ctx.id_iri(item) if coerce == "@id" else ctx.vocab_iri(item)
                obj = f"<{iri}>"
                same = ("id", obj)
            else:
                obj, same = _literal(item, coerce)
            # pyld keeps one of equal values of a node's property (its node map)
            entry = (graph, subject, predicate, same)
            if entry not in seen:
                seen.add(entry)
                self.quads.append((subject, predicate, obj, graph))
