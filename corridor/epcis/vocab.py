"""Standard vocabulary values: the bare JSON-LD words and their XML (URN / URI) forms.

The word lists come from the enums of the official JSON schema, so a value is only shortened
when the standard defines it; anything else is a user vocabulary URI and passes unchanged.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

GS1_VOC = "https://gs1.org/voc/"
CBV_WEB = "https://ref.gs1.org/cbv/"

# field kind -> (schema definition holding the enum, URN prefix, web-vocabulary prefix)
_KINDS: dict[str, tuple[str, str, str]] = {
    "bizStep": ("bizStep", "urn:epcglobal:cbv:bizstep:", CBV_WEB + "BizStep-"),
    "disposition": ("disposition", "urn:epcglobal:cbv:disp:", CBV_WEB + "Disp-"),
    "btt": ("bizTransaction-type", "urn:epcglobal:cbv:btt:", CBV_WEB + "BTT-"),
    "sdt": ("source-dest-type", "urn:epcglobal:cbv:sdt:", CBV_WEB + "SDT-"),
    "reason": ("error-reason", "urn:epcglobal:cbv:er:", CBV_WEB + "ER-"),
    "measurement": ("measurementType", GS1_VOC, GS1_VOC),
    "alert": ("sensorAlertType", GS1_VOC, GS1_VOC),
    "component": ("component", CBV_WEB + "Comp-", CBV_WEB + "Comp-"),
}


@cache
def json_schema() -> dict:
    """The official EPCIS 2.0 JSON schema shipped in corridor/epcis/data."""
    text = resources.files("corridor.epcis").joinpath("data/EPCIS-JSON-Schema.json").read_text(
        encoding="utf-8")
    return json.loads(text)


def _enum_words(definition: dict) -> set[str]:
    words: set[str] = set()
    for option in definition.get("anyOf", []) + [definition]:
        words.update(option.get("enum", []))
    return words


@cache
def words(kind: str) -> frozenset[str]:
    definition = json_schema()["definitions"][_KINDS[kind][0]]
    return frozenset(_enum_words(definition))


def to_word(kind: str, value: str) -> str:
    """XML form -> JSON-LD form: `urn:epcglobal:cbv:bizstep:shipping` -> `shipping`."""
    _, urn, web = _KINDS[kind]
    for prefix in (urn, web, "gs1:", "cbv:" + web[len(CBV_WEB):] if web.startswith(CBV_WEB)
                   else "gs1:"):
        if value.startswith(prefix):
            rest = value[len(prefix):]
            if rest in words(kind):
                return rest
    return value


def to_uri(kind: str, value: str) -> str:
    """JSON-LD form -> XML form: `shipping` -> `urn:epcglobal:cbv:bizstep:shipping`."""
    if value in words(kind):
        return _KINDS[kind][1] + value
    return value
