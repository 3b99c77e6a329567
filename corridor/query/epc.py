"""MATCH_epc / MATCH_epcClass values as SQL conditions on canonical identifier keys.

Stored identifiers are canonical keys (corridor.epcis.identifiers.canonical); an exact value
is matched through the same function, and an EPC pattern URI (`urn:epc:idpat:...` with `*`
for trailing fields) of SGTIN, SSCC, SGLN, GRAI or GIAI becomes a prefix or LIKE pattern of
those keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from corridor.epcis.identifiers import (
    AI_GIAI,
    AI_GLN,
    AI_GRAI,
    AI_GTIN,
    AI_SERIAL,
    AI_SSCC,
    DL_BASE,
    EPC_URI,
    canonical,
    gln13,
    grai14,
    gtin14,
    require_digits,
)


@dataclass(frozen=True)
class EpcPattern:
    """What a MATCH_ value means in SQL: an exact key, a prefix, or a LIKE pattern."""

    exact: str | None = None
    prefix: str | None = None
    like: str | None = None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def match_pattern(value: str) -> EpcPattern:
    """Interpret a MATCH_epc / MATCH_epcClass value (URN, idpat pattern, or Digital Link).

    Raises ValueError with a reason for a malformed pattern."""
    m = EPC_URI.match(value)
    if not m or m.group(1) != "idpat":
        return EpcPattern(exact=canonical(value))
    scheme, body = m.group(2), m.group(3)
    parts = body.split(".")
    stars = [p == "*" for p in parts]
    # Wildcards may only fill trailing fields (EPC Tag Data Standard, pattern URIs).
    if any(stars[i] and not stars[i + 1] for i in range(len(parts) - 1)):
        raise ValueError(f"pattern {value!r}: '*' may only be used for trailing fields")
    if not any(stars):
        return EpcPattern(exact=canonical(value.replace(":idpat:", ":id:")))
    gtin, sscc, gln = f"{DL_BASE}/{AI_GTIN}/", f"{DL_BASE}/{AI_SSCC}/", f"{DL_BASE}/{AI_GLN}/"
    grai, giai, serial = f"{DL_BASE}/{AI_GRAI}/", f"{DL_BASE}/{AI_GIAI}/", f"/{AI_SERIAL}/"
    try:
        if scheme == "sgtin" and len(parts) == 3:
            if not stars[1]:
                return EpcPattern(prefix=f"{gtin}{gtin14(parts[0], parts[1])}{serial}")
            if not stars[0]:
                require_digits(parts[0], None)
                return EpcPattern(like=f"{gtin}_{_like_escape(parts[0])}%{serial}%")
            return EpcPattern(prefix=gtin)
        if scheme == "sscc" and len(parts) == 2:
            if not stars[0]:
                require_digits(parts[0], None)
                return EpcPattern(like=f"{sscc}_{_like_escape(parts[0])}%")
            return EpcPattern(prefix=sscc)
        if scheme == "sgln" and len(parts) == 3:
            if not stars[1]:
                return EpcPattern(like=f"{gln}{gln13(parts[0], parts[1])}%")
            if not stars[0]:
                require_digits(parts[0], None)
                return EpcPattern(prefix=f"{gln}{parts[0]}")
            return EpcPattern(prefix=gln)
        if scheme == "grai" and len(parts) == 3:
            if not stars[1]:
                return EpcPattern(prefix=f"{grai}{grai14(parts[0], parts[1])}")
            if not stars[0]:
                require_digits(parts[0], None)
                return EpcPattern(prefix=f"{grai}0{parts[0]}")
            return EpcPattern(prefix=grai)
        if scheme == "giai" and len(parts) == 2:
            if not stars[0]:
                require_digits(parts[0], None)
                return EpcPattern(prefix=f"{giai}{parts[0]}")
            return EpcPattern(prefix=giai)
    except ValueError:
        pass
    raise ValueError(f"pattern {value!r}: unsupported or malformed EPC pattern URI")
