"""RDF Dataset Canonicalization (RDFC-1.0, W3C Recommendation) of quads in N-Quads term form.

A quad is (subject, predicate, object, graph), each term written as in N-Quads ('<iri>',
'_:label', '"literal"^^<datatype>'; graph '' for the default graph). The result is what pyld's
URDNA2015 writes for the same quads (rdfc.py's slow path): the same hashes (SHA-256), the same
Hash N-Degree Quads with its permutations, one N-Quads line per input quad, sorted.

The work of Hash N-Degree Quads is bounded as rdfc.py bounds pyld's (one unit per call, the
factorial of each related group's size): past the bound `WorkExceeded` is raised.
"""

from __future__ import annotations

import math
from hashlib import sha256
from itertools import permutations

Quad = tuple[str, str, str, str]


class WorkExceeded(Exception):
    """Canonicalization would take more than its work bound (many look-alike blank nodes)."""


def _blank(term: str) -> bool:
    return term[:1] == "_"  # IRIs are written <...>, literals "...", the default graph ''


class _Issuer:
    """Issues prefix0, prefix1, ... to identifiers, remembering the order."""

    __slots__ = ("ids", "order", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ids: dict[str, str] = {}
        self.order: list[str] = []

    def issue(self, old: str) -> str:
        new = self.ids.get(old)
        if new is None:
            new = self.ids[old] = f"{self.prefix}{len(self.order)}"
            self.order.append(old)
        return new

    def copy(self) -> _Issuer:
        other = _Issuer(self.prefix)
        other.ids = dict(self.ids)
        other.order = list(self.order)
        return other


def canonical_nquads(quads: list[Quad], work_base: int, work_per_node: int = 0) -> str:
    """The canonical N-Quads document of `quads` (blank nodes relabelled _:c14nN); the work
    bound is `work_base` + `work_per_node` per blank node."""
    by_node: dict[str, list[Quad]] = {}
    lines = []
    blank_quads = []
    for quad in quads:
        s, p, o, g = quad
        if s[0] == "_" or o[0] == "_" or g[:1] == "_":
            blank_quads.append(quad)
            for term in (s, o, g):  # one entry per place, as pyld
                if term[:1] == "_":
                    by_node.setdefault(term, []).append(quad)
        else:
            lines.append(f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n")
    labels = _State(by_node, work_base + work_per_node * len(by_node)).canonical.ids
    for s, p, o, g in blank_quads:
        if s[0] == "_":
            s = labels[s]
        if o[0] == "_":
            o = labels[o]
        if g:
            g = labels.get(g, g)
            lines.append(f"{s} {p} {o} {g} .\n")
        else:
            lines.append(f"{s} {p} {o} .\n")
    lines.sort()
    return "".join(lines)


class _State:
    """Canonical labels for the blank nodes of `by_node` (each one's quads)."""

    def __init__(self, by_node: dict[str, list[Quad]], work_limit: int) -> None:
        self._left = work_limit
        self._quads = by_node
        self._first = {node: self._first_degree(node) for node in by_node}
        self.canonical = _Issuer("_:c14n")
        by_hash: dict[str, list[str]] = {}
        for node, digest in self._first.items():
            by_hash.setdefault(digest, []).append(node)
        shared = []
        for digest in sorted(by_hash):
            nodes = by_hash[digest]
            if len(nodes) == 1:
                self.canonical.issue(nodes[0])
            else:
                shared.append(nodes)
        for nodes in shared:
            results = []
            for node in nodes:
                if node not in self.canonical.ids:
                    issuer = _Issuer("_:b")
                    issuer.issue(node)
                    results.append(self._hash_n_degree(node, issuer))
            for _, issuer in sorted(results, key=lambda r: r[0]):
                for old in issuer.order:
                    self.canonical.issue(old)

    def _spend(self, work: int) -> None:
        self._left -= work
        if self._left < 0:
            raise WorkExceeded

    def _first_degree(self, node: str) -> str:
        lines = []
        for s, p, o, g in self._quads[node]:
            if s[0] == "_":
                s = "_:a" if s == node else "_:z"
            if o[0] == "_":
                o = "_:a" if o == node else "_:z"
            if g:
                if g[0] == "_":
                    g = "_:a" if g == node else "_:z"
                lines.append(f"{s} {p} {o} {g} .\n")
            else:
                lines.append(f"{s} {p} {o} .\n")
        lines.sort()
        return sha256("".join(lines).encode("utf-8")).hexdigest()

    def _related_hash(self, related: str, predicate: str, issuer: _Issuer,
                      position: str) -> str:
        label = (self.canonical.ids.get(related) or issuer.ids.get(related)
                 or self._first[related])
        text = position + (predicate if position != "g" else "") + label
        return sha256(text.encode("utf-8")).hexdigest()

    def _hash_n_degree(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        self._spend(1)
        related: dict[str, list[str]] = {}
        for s, p, o, g in self._quads[node]:
            for term, position in ((s, "s"), (o, "o"), (g, "g")):
                if _blank(term) and term != node:
                    related.setdefault(self._related_hash(term, p, issuer, position),
                                       []).append(term)
        self._spend(sum(math.factorial(min(len(nodes), 12)) for nodes in related.values()))
        digest = sha256()
        for related_hash in sorted(related):
            digest.update(related_hash.encode("utf-8"))
            chosen_path, chosen_issuer = self._choose(related[related_hash], issuer)
            digest.update(chosen_path.encode("utf-8"))
            issuer = chosen_issuer
        return digest.hexdigest(), issuer

    def _choose(self, nodes: list[str], issuer: _Issuer) -> tuple[str, _Issuer]:
        """The least path over the permutations of `nodes`, and the issuer that made it."""
        chosen_path = ""
        chosen_issuer = issuer
        for permutation in permutations(nodes):
            issuer_copy = issuer.copy()
            path = ""
            recursion = []
            for related in permutation:
                label = self.canonical.ids.get(related)
                if label is None:
                    if related not in issuer_copy.ids:
                        recursion.append(related)
                    label = issuer_copy.issue(related)
                path += label
                if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                    break
            else:
                for related in recursion:
                    result, next_issuer = self._hash_n_degree(related, issuer_copy)
                    path += issuer_copy.issue(related) + "<" + result + ">"
                    issuer_copy = next_issuer
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        break
                else:
                    if not chosen_path or path < chosen_path:
                        chosen_path, chosen_issuer = path, issuer_copy
        return chosen_path, chosen_issuer
