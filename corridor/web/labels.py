"""Readable labels for what events write as codes, read from data files that cite their
source (corridor/web/vocab/): master data attributes of an event's ilmd (GS1 CBV, trade item
master data) and units of measure (UN/CEFACT Recommendation 20). A code the files do not know
is shown as written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from corridor.epcis.jsonld import standard_prefixes


@cache
def _vocab(name: str) -> dict[str, Any]:
    text = resources.files("corridor.web").joinpath(f"vocab/{name}").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@cache
def _standard_prefixes() -> dict[str, str]:
    return standard_prefixes()


@dataclass(frozen=True)
class Unit:
    code: str
    symbol: str
    name: str


def unit(code: str | None) -> Unit:
    """A UN/CEFACT unit code's symbol and name (the code itself when unknown)."""
    code = (code or "").strip()
    known = _vocab("units.yml")["units"].get(code)
    if known is None:
        return Unit(code, code, code)
    return Unit(code, str(known["symbol"]), str(known["name"]))


def with_unit(value: object, code: str | None) -> str:
    """'12.5 °C', '24000 kg': a value followed by its unit's symbol."""
    symbol = unit(code).symbol
    if not symbol:
        return str(value)
    return f"{value}{'' if symbol in ('°', '%') else ' '}{symbol}"


def expand(key: str, namespaces: Mapping[str, str]) -> str:
    """A compact key (cbvmda:lotNumber, cor:cnCode) in full, with the standard EPCIS context's
    prefixes and the namespaces captured documents declared."""
    prefix, sep, rest = key.partition(":")
    if not sep or rest.startswith("//"):
        return key
    iri = _standard_prefixes().get(prefix) or namespaces.get(prefix)
    return iri + rest if iri else key


@dataclass(frozen=True)
class Attribute:
    key: str  # as written in the event
    label: str
    value: str


def _value(value: Any, measured: bool) -> str:
    if measured and isinstance(value, dict) and "measurement" in value:
        return with_unit(value["measurement"], value.get("measurementUnitCode"))
    if isinstance(value, list):
        return ", ".join(_value(v, measured) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{attribute_label(k)}: {_value(v, False)}" for k, v in value.items())
    return str(value)


def attribute_label(iri: str) -> str:
    """The label of a master data attribute by its IRI; its local name when unknown."""
    data = _vocab("master_data.yml")
    known = data["attributes"].get(iri) or (data.get("extensions") or {}).get(iri)
    if known is not None:
        return str(known["label"])
    return re.split(r"[:#/]", iri)[-1] or iri


def master_data(attributes: Mapping[str, Any], namespaces: Mapping[str, str]
                ) -> list[Attribute]:
    """An ilmd object's attributes, labelled, in the order written."""
    data = _vocab("master_data.yml")
    out = []
    for key, value in attributes.items():
        iri = expand(key, namespaces)
        known = data["attributes"].get(iri) or (data.get("extensions") or {}).get(iri) or {}
        label = str(known.get("label") or key)
        out.append(Attribute(key, label, _value(value, bool(known.get("unit")))))
    return out


def measurement_type(word: str) -> str:
    """'RelativeHumidity' -> 'Relative humidity': an EPCIS sensor measurement type (a gs1:
    word, prefix removed) as words."""
    word = word.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    parts = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", word)
    if not parts:
        return word
    return " ".join([parts[0], *(p if p.isupper() else p.lower() for p in parts[1:])])
