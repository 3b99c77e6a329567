"""Who may write a vocabulary element's master data: the capture writer asks, in its write
transaction, for the captures whose documents carry master data (documents without any cost
nothing here).

An element named by a GS1 key (an SGLN or GLN location, a PGLN party, a GTIN or LGTIN
class..., as an EPC URN or a GS1 Digital Link URI) belongs to the holder of the key's GS1
Company Prefix: a party may write its attributes and children when its identifiers
(`parties.identifier` and `party_identifiers`) carry that prefix. An EPC URN spells the prefix
out (corridor.epcis.identifiers.company_prefix_key): the element's must be one of the party's.
A Digital Link URI does not: the key's digits must begin with one of the party's prefixes.
A party's EPC URN identifiers give its prefixes exactly; a GLN alone (Digital Link or 13
digits) gives its twelve digits before the check digit, which begin with the prefix it does
not tell, so the party owns the keys that begin with them.

An element that is no GS1 key (a private URI) belongs to the party whose capture first wrote
it (`vocabulary_elements.written_by`); where that is not known (NULL: stored before it was
recorded), only an admin may write it. An admin may write any element. A capture without a
party (party_id None: local scripts) is judged by its party identifier, as no admin.

A capture naming an element its party may not write is refused as a whole, with a problem
per element (rule `master-data-owner`) at the element's JSON pointer and, in an XML
document, its line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from corridor.capture.master_data import xml_note
from corridor.capture.work import CaptureWork
from corridor.epcis.identifiers import canonical, company_prefix_key
from corridor.epcis.problems import Problem
from corridor.store.db import Connection
from corridor.store.master_data import element_writers
from corridor.store.parties import roles_and_identifiers

OWNER_RULE = "master-data-owner"
MAX_PROBLEMS = 100  # problems listed per refused capture; the rest are counted
GLN_DIGITS = 13

Key = tuple[str, str | None]  # company_prefix_key: digits from the prefix on, the prefix


@dataclass(frozen=True)
class Prefixes:
    """The GS1 Company Prefixes a party's identifiers carry."""

    exact: frozenset[str]  # spelt out by EPC URNs
    leading: tuple[str, ...]  # digits its keys begin with (a GLN without its check digit)

    def owns(self, key: Key) -> bool:
        digits, prefix = key
        if prefix is not None:
            if prefix in self.exact:
                return True
        elif any(digits.startswith(p) for p in self.exact):
            return True
        return any(digits.startswith(d) for d in self.leading)

    def __str__(self) -> str:
        shown = sorted(self.exact) + [f"{d} (a GLN's)" for d in sorted(self.leading)]
        return ", ".join(shown) or "none"


def prefixes_of(identifiers: Iterable[str]) -> Prefixes:
    exact: set[str] = set()
    leading: set[str] = set()
    for ident in identifiers:
        key = (ident, None) if ident.isdigit() and len(ident) == GLN_DIGITS \
            else company_prefix_key(ident)
        if key is None:
            continue
        if key[1] is not None:
            exact.add(key[1])
        else:  # the key without its last character: its check digit, or more than a prefix
            leading.add(key[0][:-1])
    return Prefixes(frozenset(exact), tuple(sorted(leading)))


@dataclass
class _Writer:
    party_id: int | None
    admin: bool
    prefixes: Prefixes


def _not_owner(vtype: str, ident: str, key: Key, prefixes: Prefixes) -> str:
    digits, prefix = key
    if prefix is not None:
        return (f"{ident!r} in vocabulary {vtype}: a GS1 key of GS1 Company Prefix {prefix},"
                " whose master data only a party with that prefix among its identifiers (or"
                f" an admin) may write; this party's prefixes: {prefixes}")
    return (f"{ident!r} in vocabulary {vtype}: a GS1 key ({digits} from its company prefix"
            f" on) that begins with none of this party's prefixes ({prefixes}); only a party"
            " whose company prefix begins it (or an admin) may write its master data")


def _not_first(vtype: str, ident: str, owner: int | None) -> str:
    if owner is None:
        return (f"{ident!r} in vocabulary {vtype}: no GS1 key, and the party that first wrote"
                " its master data is not recorded; only an admin may write it")
    return (f"{ident!r} in vocabulary {vtype}: no GS1 key, so its master data belongs to the"
            " party that first wrote it, another party; only that party (or an admin) may"
            " write it")


def _judge(work: CaptureWork, writer: _Writer, keys: dict[str, Key | None],
           owners: dict[tuple[str, str], int | None]
           ) -> tuple[list[Problem], list[tuple[str, str]]]:
    """(the problems of the elements this work may not write, the private elements it would
    write first)."""
    problems: list[Problem] = []
    new: list[tuple[str, str]] = []
    for vtype, ident, where, line in work.elements:
        key = keys[ident]
        if key is not None:
            if not (writer.admin or writer.prefixes.owns(key)):
                problems.append(Problem(where, OWNER_RULE, _not_owner(
                    vtype, ident, key, writer.prefixes) + xml_note(line)))
            continue
        element = (vtype, canonical(ident))
        if element not in owners:
            new.append(element)
            continue
        owner = owners[element]
        if not (writer.admin or (owner is not None and owner == writer.party_id)):
            problems.append(Problem(where, OWNER_RULE,
                                    _not_first(vtype, ident, owner) + xml_note(line)))
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], Problem(
            "/", OWNER_RULE, f"and {more:,} more vocabulary elements this party may not write")]
    return problems, new


def master_data_refusals(conn: Connection, works: Sequence[CaptureWork]
                         ) -> dict[int, list[Problem]]:
    """The works (by id()) whose master data names an element their party may not write,
    with why; in the write transaction, after the log's lock (so that no other writer can
    store a private element first meanwhile). Works are judged in order: a private element
    first written by an earlier work of the group belongs to that work's party."""
    writing = [w for w in works if w.elements]
    if not writing:
        return {}
    keys = {ident: company_prefix_key(ident)
            for w in writing for _, ident, _, _ in w.elements}
    private = {(vtype, canonical(ident)) for w in writing for vtype, ident, _, _ in w.elements
               if keys[ident] is None}
    owners = element_writers(conn, private) if private else {}
    parties = roles_and_identifiers(conn, {w.party_id for w in writing
                                           if w.party_id is not None})
    refused: dict[int, list[Problem]] = {}
    for w in writing:
        role, identifiers = parties.get(w.party_id, ("", {w.party})) \
            if w.party_id is not None else ("", {w.party})
        writer = _Writer(w.party_id, role == "admin", prefixes_of(identifiers))
        problems, new = _judge(w, writer, keys, owners)
        if problems:
            refused[id(w)] = problems
        else:
            for element in new:
                owners.setdefault(element, w.party_id)
    return refused
