"""An importer's EU CBAM declaration for a year, on this node.

1. The imports: corridor.query.imports reads, as `viewer`, what the importer imported into
   the EU in the year (per container and lot: CN code, net mass, entry, installation,
   country of origin, the events behind each).
2. The actual values: for each lot, the newest GreenMetalCredential the node holds about it
   (corridor.store.credentials) that is usable: not revoked, within its validity period,
   about that lot, stating its direct emissions and net mass, and passing `check` when one is
   given (e.g. the node's full verification: signature, trusted issuer, status list,
   evidence receipts; corridor.credentials.service.CredentialService.verify). Its figures are
   the installation's communicated values: SEE = directEmissions / netMass of the lot.
   A credential set aside is named on the lot's line, with why.
3. The declaration: corridor.emissions.declaration, pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from corridor.emissions.declaration import (
    ActualValues,
    Adjustment,
    Declaration,
    ImportedLot,
    declaration,
)
from corridor.emissions.events import number, same_item
from corridor.query import Imports, ViewerLike, imports_of
from corridor.store.credentials import StoredCredential, list_credentials
from corridor.store.db import Connection

GREEN = "GreenMetalCredential"
# The failed checks of a credential (names or sentences); empty when it is valid.
CredentialCheck = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class ImporterDeclaration:
    declaration: Declaration
    imports: Imports

    def to_json(self) -> dict[str, Any]:
        return {**self.declaration.to_json(),
                "containersNotCounted": list(self.imports.not_counted)}


def lots(found: Imports) -> list[ImportedLot]:
    """The imports as the declaration's input records."""
    return [ImportedLot(i.container, i.lot, i.cn, i.country_of_origin, i.installation.site,
                        i.installation.name, i.installation.operator, i.net_tonnes,
                        i.entered.date(), i.evidence)
            for i in found.imports]


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _figures(stored: StoredCredential, doc: Mapping[str, Any], lot: str, now: datetime
             ) -> ActualValues | str:
    """The communicated values a stored credential gives for `lot`, or why it gives none."""
    start, end = _time(doc.get("validFrom")), _time(doc.get("validUntil"))
    if start is None or start > now:
        return f"credential {stored.id} is not yet valid (validFrom {doc.get('validFrom')})"
    if doc.get("validUntil") is not None and (end is None or end <= now):
        return f"credential {stored.id} expired (validUntil {doc.get('validUntil')})"
    subject = doc.get("credentialSubject")
    subject = subject if isinstance(subject, Mapping) else {}
    if not same_item(subject.get("id"), lot):
        return f"credential {stored.id} is about {subject.get('id')!r}, not {lot}"
    direct, tonnes = number(subject.get("directEmissions")), number(subject.get("netMass"))
    cn = subject.get("cnCode")
    if direct is None or tonnes is None or tonnes <= 0 or not isinstance(cn, str):
        return (f"credential {stored.id} states no direct emissions, net mass above 0 and CN "
                "code")
    if subject.get("emissionsUnit", "tCO2e") != "tCO2e" or subject.get("massUnit", "t") != "t":
        return f"credential {stored.id}: emissions not in tCO2e or mass not in t"
    evidence = doc.get("evidence")
    hash_ids = tuple(str(e["id"]) for e in evidence if isinstance(e, Mapping)
                     and isinstance(e.get("id"), str)) if isinstance(evidence, list) else ()
    return ActualValues(lot, cn, direct, tonnes, stored.id, hash_ids)


def actual_values(conn: Connection, lot: str, *, check: CredentialCheck | None = None,
                  now: datetime | None = None) -> tuple[ActualValues | None, str | None]:
    """(the lot's communicated values from its newest usable GreenMetalCredential, None) or
    (None, why each credential about it was set aside; None when there is none)."""
    now = now or datetime.now(UTC)
    reasons: list[str] = []
    for stored in list_credentials(conn, subject=lot):
        if stored.kind != GREEN:
            continue
        if stored.revoked_at is not None:
            reasons.append(f"credential {stored.id} revoked on {stored.revoked_at[:10]}: "
                           f"{stored.revocation_reason}")
            continue
        doc = json.loads(stored.document)
        found = _figures(stored, doc, lot, now)
        failed = check(doc) if check is not None and not isinstance(found, str) else []
        if failed:
            found = f"credential {stored.id} failed verification ({', '.join(failed)})"
        if isinstance(found, str):
            reasons.append(found)
            continue
        return found, None
    return None, "; ".join(reasons) or None


def importer_declaration(conn: Connection, viewer: ViewerLike, importer: str, year: int, *,
                         price_eur: Decimal, price_period: str,
                         check: CredentialCheck | None = None,
                         adjustment: Adjustment | None = None,
                         now: datetime | None = None) -> ImporterDeclaration:
    """The CBAM declaration of `importer` (a party identifier) for `year`, from what `viewer`
    reads, at the certificate price `price_eur` of `price_period`."""
    found = imports_of(conn, viewer, importer, year)
    records = lots(found)
    actual: dict[str, ActualValues] = {}
    set_aside: dict[str, str] = {}
    for lot in dict.fromkeys(r.lot for r in records):
        values, why = actual_values(conn, lot, check=check, now=now)
        if values is not None:
            actual[lot] = values
        elif why:
            set_aside[lot] = why
    return ImporterDeclaration(
        declaration(importer, year, records, actual, price_eur=price_eur,
                    price_period=price_period, adjustment=adjustment, set_aside=set_aside),
        found)
