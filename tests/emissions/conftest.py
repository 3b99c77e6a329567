"""A demo-like production event of Pavlodar aluminium, logged as a node logs it."""

from __future__ import annotations

from typing import Any

import pytest

from corridor.emissions.events import COR_NS, LoggedEvent
from corridor.epcis.hashid import event_hash_id
from corridor.epcis.jsonld import standard_prefixes

LOT = "urn:epc:class:lgtin:4870101.076011.AL26-0901"
ROD_LOT = "urn:epc:class:lgtin:4870101.076042.RD26-0901"


def logged(event: dict[str, Any], index: int = 0) -> LoggedEvent:
    hash_id = event_hash_id(event, {**standard_prefixes(), "cor": COR_NS})
    return LoggedEvent(hash_id, index, {**event, "eventID": hash_id})


def smelting(lot: str = LOT, kg: float = 75650, ilmd: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    return {
        "type": "TransformationEvent",
        "eventTime": "2026-01-30T05:00:28.000+05:00", "eventTimeZoneOffset": "+05:00",
        "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4870101.028182.ALO26-0901",
                               "quantity": 145000, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": lot, "quantity": kg, "uom": "KGM"}],
        "bizStep": "commissioning", "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:4870101.00010.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:4870101.00010.0"},
        "ilmd": ilmd if ilmd is not None else {
            "cbvmda:lotNumber": "AL26-0901", "cor:cnCode": "76011000",
            "cor:electricityKWh": 1134750,
            "cor:electricitySource": [{"cor:source": "coal", "cor:share": 0.8},
                                      {"cor:source": "hydro", "cor:share": 0.2}],
            "cor:directEmissions": [{"cor:source": "anode_consumption", "cor:co2eKg": 121000},
                                    {"cor:source": "pfc", "cor:co2eKg": 27576.6}],
            "cor:upstreamEmissions": [{"cor:source": "alumina", "cor:co2eKg": 190000}],
        },
    }


@pytest.fixture
def aluminium_event() -> LoggedEvent:
    return logged(smelting())
