"""Who a party identifier names, for pages that show parties: the registered parties
(corridor.store.parties: a name and the identifiers it answers to), else the name captured as
EPCIS master data of a source/destination identifier (vocabulary type SourceDest, attribute
urn:epcglobal:cbv:mda:name, as the CBV's location and party master data has it).

Identifiers are matched by their canonical key (corridor.epcis.identifiers.canonical), so a
PGLN URN, its Digital Link and an SGLN of the same GLN all find the party. A business
transaction identifier of the CBV form urn:epcglobal:cbv:bt:<GLN>:<id> names the party that
issued it by its GLN (`issuer`). Party names are public (the search page lists them), so no
visibility rule applies here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from corridor.epcis.identifiers import AI_GLN, AI_PARTY, canonical, dl_head
from corridor.query.places import NAME
from corridor.store.db import Connection
from corridor.store.master_data import element_attributes

PARTY_VOCABULARIES = ("urn:epcglobal:epcis:vtype:SourceDest",)
BT_PREFIX = "urn:epcglobal:cbv:bt:"  # CBV business transaction identifier: <GLN>:<id>
_GLN_HEADS = (dl_head(AI_PARTY), dl_head(AI_GLN))


def gln_of(key: str) -> str | None:
    """The 13-digit GLN of a canonical PGLN or SGLN key, else None."""
    for head in _GLN_HEADS:
        if key.startswith(head):
            digits = key[len(head):len(head) + 13]
            if len(digits) == 13 and digits.isdigit():
                return digits
    return None


@dataclass(frozen=True)
class PartyNames:
    by_key: dict[str, str] = field(default_factory=dict)  # canonical identifier -> name
    by_gln: dict[str, str] = field(default_factory=dict)  # GLN-13 -> name
    by_id: dict[int, str] = field(default_factory=dict)  # parties.id -> name

    def name(self, identifier: str | None) -> str | None:
        """The name of the party an identifier names, None when unknown."""
        if not identifier:
            return None
        key = canonical(identifier)
        found = self.by_key.get(key)
        if found is None:
            gln = gln_of(key)
            found = self.by_gln.get(gln) if gln else None
        return found

    def label(self, identifier: str | None) -> str:
        """The party's name, else the identifier as written."""
        return self.name(identifier) or (identifier or "")

    def issuer(self, transaction: str | None) -> str | None:
        """The name of the party that issued a business transaction identifier of the form
        urn:epcglobal:cbv:bt:<GLN>:<id>, None when it has another form or an unknown GLN."""
        if not transaction or not transaction.startswith(BT_PREFIX):
            return None
        gln, sep, _ = transaction[len(BT_PREFIX):].partition(":")
        return self.by_gln.get(gln) if sep and len(gln) == 13 and gln.isdigit() else None


NO_NAMES = PartyNames()


def party_names(conn: Connection) -> PartyNames:
    """Every registered party's name by identifier, GLN and id; master data names of other
    identifiers after them (a registered name wins)."""
    by_key: dict[str, str] = {}
    by_gln: dict[str, str] = {}
    by_id: dict[int, str] = {}
    for element in element_attributes(conn, PARTY_VOCABULARIES):
        name = element.attributes.get(NAME)
        if isinstance(name, str) and name.strip():
            by_key[element.element] = name.strip()
    rows = conn.fetchall(
        "SELECT p.id, p.name, p.identifier, i.identifier FROM parties p"
        " LEFT JOIN party_identifiers i ON i.party_id = p.id ORDER BY p.id")
    for pk, name, main, other in rows:
        by_id[int(pk)] = name
        for ident in (main, other):
            if ident:
                by_key[canonical(ident)] = name
    for key, name in by_key.items():
        gln = gln_of(key)
        if gln is not None:
            by_gln.setdefault(gln, name)
    # A registered party's GLN wins over a master data name of another of its identifiers.
    for pk, name, main, other in rows:
        for ident in (main, other):
            gln = gln_of(canonical(ident)) if ident else None
            if gln is not None:
                by_gln[gln] = name
    return PartyNames(by_key, by_gln, by_id)
