"""CBV vocabulary values in one spelling.

EPCIS 2.0 writes standard values as bare words (`shipping`); EPCIS 1.x XML uses URNs
(`urn:epcglobal:cbv:bizstep:shipping`) and Web vocabulary URIs also appear
(`https://ref.gs1.org/cbv/BizStep-shipping`). Stored and queried values are reduced to the bare
word so that every spelling matches every other.
"""

from __future__ import annotations

PREFIXES = {
    "bizStep": ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-",
                "https://gs1.org/voc/Bizstep-", "cbv:BizStep-"),
    "disposition": ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-",
                    "https://gs1.org/voc/Disp-", "cbv:Disp-"),
    "bizTransactionType": ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-",
                           "https://gs1.org/voc/BTT-", "cbv:BTT-"),
    "sourceDestType": ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-",
                       "https://gs1.org/voc/SDT-", "cbv:SDT-"),
    "errorReason": ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-",
                    "https://gs1.org/voc/ER-", "cbv:ER-"),
    "measurementType": ("gs1:", "https://gs1.org/voc/", "https://ref.gs1.org/voc/"),
    "eventType": ("epcis:", "https://ref.gs1.org/epcis/"),
}


def normalise(kind: str, value: str) -> str:
    """Bare-word form of a CBV value of the given kind; custom URIs are returned unchanged."""
    prefixes = PREFIXES[kind]
    if not value.startswith(prefixes):  # the usual case in EPCIS 2.0: already a bare word
        return value
    for prefix in prefixes:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value
