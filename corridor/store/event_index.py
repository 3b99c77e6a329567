"""Index rows: what a query may filter on, read from one JSON-LD event.

`index_event` turns an event into its row values and index rows (pure Python, no database;
the usual shapes in C, `_indexcore.c`); corridor.store.events stores them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corridor.epcis.cbv import PREFIXES, normalise
from corridor.epcis.identifiers import canonical
from corridor.store.events import utc_time

# Keys of each EPCIS structure that the standard defines; any other key is an extension.
_EPC_ROLES = (("epcList", "epc"), ("childEPCs", "child"), ("inputEPCList", "input"),
              ("outputEPCList", "output"))
_QTY_ROLES = (("quantityList", "class"), ("childQuantityList", "child_class"),
              ("inputQuantityList", "input_class"), ("outputQuantityList", "output_class"))
_SENSOR_META_TEXT = ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules")
_SENSOR_REPORT_TEXT = ("deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
                       "microorganism", "chemicalSubstance", "stringValue", "uriValue",
                       "coordinateReferenceSystem", "component")
_SENSOR_NUMS = ("value", "minValue", "maxValue", "meanValue", "sDev", "percValue")
_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$")


def is_extension_key(key: str) -> bool:
    return not key.startswith("@") and (":" in key)


def expand_key(key: str, namespaces: Mapping[str, str]) -> str:
    """`example:myField` -> `http://ns.example.com/epcis/myField` when the prefix is known."""
    prefix, _, local = key.partition(":")
    iri = namespaces.get(prefix)
    if iri is None or local.startswith("//"):
        return key
    return iri + local


def _number(value: Any) -> float | None:
    """A number to index, or None: infinities and NaN are not indexed as numbers (SQLite
    stores NaN as NULL, JSON has neither)."""
    num = float(value)
    return num if math.isfinite(num) else None


def _scalar_row(path: str, value: Any) -> tuple[str, str | None, float | None]:
    if isinstance(value, bool):
        return (path, "true" if value else "false", None)
    if isinstance(value, int | float):
        return (path, repr(float(value)) if isinstance(value, float) else str(value),
                _number(value))
    if isinstance(value, str):
        if _TIME_RE.match(value):
            try:
                return (path, utc_time(value), None)
            except ValueError:
                pass
        try:
            num = _number(value)
        except ValueError:
            num = None
        return (path, value, num)
    return (path, None, None)


@dataclass
class IndexedEvent:
    """Row values and index rows of one event (event_pk filled in at insert)."""

    event_type: str
    action: str | None
    event_time: str
    biz_step: str | None
    disposition: str | None
    read_point: str | None
    biz_location: str | None
    transformation_id: str | None
    error_time: str | None
    epcs: list[tuple[str, str, float | None, str | None]] = field(default_factory=list)
    fields: list[tuple[str, str | None, float | None]] = field(default_factory=list)
    # (path, canonical key) of each source and destination, path "source:<type>" or
    # "destination:<type>"; stored in event_parties, not event_fields
    parties: set[tuple[str, str]] = field(default_factory=set)

    def columns(self) -> tuple[Any, ...]:
        """The event row's indexed columns, in the order _INSERT_EVENT ends with
        (read_point at READ_POINT, biz_location at BIZ_LOCATION)."""
        return (self.event_type, self.action, self.event_time, self.biz_step,
                self.disposition, self.read_point, self.biz_location, self.transformation_id,
                self.error_time)


def _ext_rows(out: list, scope: str, obj: Mapping[str, Any], namespaces: Mapping[str, str],
              only_ext: bool = True) -> None:
    """Index rows for the extension fields of one structure: top level under `scope`,
    anything nested under `inner_<scope>` (EQ_INNER_ and friends)."""
    for key, value in obj.items():
        if only_ext and not is_extension_key(key):
            continue
        _ext_value(out, scope, expand_key(key, namespaces), value, namespaces)


def _ext_value(out: list, scope: str, path: str, value: Any,
               namespaces: Mapping[str, str]) -> None:
    inner = scope if scope.startswith("inner_") else f"inner_{scope}"
    if isinstance(value, list):
        for item in value:
            _ext_value(out, scope, path, item, namespaces)
    elif isinstance(value, dict):
        if "@value" in value:
            out.append(_scalar_row(f"{scope}:{path}", value["@value"]))
            return
        out.append((f"{scope}:{path}", None, None))
        for key, sub in value.items():
            if key.startswith("@"):
                continue
            _ext_value(out, inner, expand_key(key, namespaces), sub, namespaces)
    else:
        out.append(_scalar_row(f"{scope}:{path}", value))


def index_event(event: Mapping[str, Any], namespaces: Mapping[str, str]) -> IndexedEvent:
    """Everything a query may filter on, in canonical form. Raises ValueError (with the
    field named) on a value the index cannot hold, e.g. an unparseable eventTime."""
    if _native is not None:
        fast = _native(event)
        if fast is not None:
            return IndexedEvent(*fast[:8], None, fast[8], fast[9], set(fast[10]))
    return index_event_python(event, namespaces)


def index_event_python(event: Mapping[str, Any], namespaces: Mapping[str, str]
                       ) -> IndexedEvent:
    """index_event without the C core: the reference for every shape of event."""
    try:
        event_time = utc_time(event["eventTime"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"eventTime: missing or not an ISO 8601 date-time ({exc})") from None
    read_point = event.get("readPoint")
    biz_location = event.get("bizLocation")
    error = event.get("errorDeclaration")
    error_time = None
    if isinstance(error, dict) and error.get("declarationTime"):
        try:
            error_time = utc_time(error["declarationTime"])
        except (TypeError, ValueError):
            raise ValueError("errorDeclaration.declarationTime: not an ISO 8601 date-time") \
                from None
    biz_step = event.get("bizStep")
    disposition = event.get("disposition")
    ix = IndexedEvent(
        event_type=normalise("eventType", str(event.get("type", ""))),
        action=event.get("action"),
        event_time=event_time,
        biz_step=normalise("bizStep", biz_step) if isinstance(biz_step, str) else None,
        disposition=normalise("disposition", disposition)
        if isinstance(disposition, str) else None,
        read_point=canonical(read_point["id"]) if isinstance(read_point, dict)
        and isinstance(read_point.get("id"), str) else None,
        biz_location=canonical(biz_location["id"]) if isinstance(biz_location, dict)
        and isinstance(biz_location.get("id"), str) else None,
        transformation_id=event.get("transformationID"),
        error_time=error_time,
    )
    _epc_rows(ix.epcs, event)
    fields = ix.fields
    for bt in event.get("bizTransactionList") or ():
        if isinstance(bt, dict) and isinstance(bt.get("bizTransaction"), str):
            btype = normalise("bizTransactionType", str(bt.get("type", "")))
            fields.append((f"bizTransaction:{btype}", canonical(bt["bizTransaction"]), None))
    for key, kind in (("sourceList", "source"), ("destinationList", "destination")):
        for sd in event.get(key) or ():
            if isinstance(sd, dict) and isinstance(sd.get(kind), str):
                stype = normalise("sourceDestType", str(sd.get("type", "")))
                ix.parties.add((f"{kind}:{stype}", canonical(sd[kind])))
    pd = event.get("persistentDisposition")
    if isinstance(pd, dict):
        for which in ("set", "unset"):
            for d in pd.get(which) or ():
                if isinstance(d, str):
                    fields.append((f"persistentDisposition:{which}",
                                   normalise("disposition", d), None))
    if isinstance(error, dict):
        fields.append(("errorDeclaration", "1", None))
        if isinstance(error.get("reason"), str):
            fields.append(("errorReason", normalise("errorReason", error["reason"]), None))
        for cid in error.get("correctiveEventIDs") or ():
            if isinstance(cid, str):
                fields.append(("correctiveEventID", cid, None))
        _ext_rows(fields, "errdecl", error, namespaces)
    _ext_rows(fields, "ext", event, namespaces)
    ilmd = event.get("ilmd")
    if isinstance(ilmd, dict):
        _ext_rows(fields, "ilmd", ilmd, namespaces)
    if isinstance(read_point, dict):
        _ext_rows(fields, "readPoint", read_point, namespaces)
    if isinstance(biz_location, dict):
        _ext_rows(fields, "bizLocation", biz_location, namespaces)
    _sensor_rows(fields, event.get("sensorElementList"), namespaces)
    return ix


def _epc_rows(epcs: list, event: Mapping[str, Any]) -> None:
    """The event's EPCs, parent and quantities: (role, canonical key, quantity, uom)."""
    for key, role in _EPC_ROLES:
        for epc in event.get(key) or ():
            if isinstance(epc, str):
                epcs.append((role, canonical(epc), None, None))
    parent = event.get("parentID")
    if isinstance(parent, str):
        epcs.append(("parent", canonical(parent), None, None))
    for key, role in _QTY_ROLES:
        for q in event.get(key) or ():
            if isinstance(q, dict) and isinstance(q.get("epcClass"), str):
                qty = q.get("quantity")
                epcs.append((role, canonical(q["epcClass"]),
                             _number(qty) if isinstance(qty, int | float) else None,
                             q.get("uom")))


# The usual event shapes also have a C path (`_indexcore.c`, built by setup.py when a compiler
# is there): it returns index_event's values, or None for this module's Python to decide.
# `NATIVE` tells whether it is built; `CORRIDOR_PURE_PYTHON=1` (or `set_native(False)`) leaves
# it unused.
try:
    from corridor.store import _indexcore  # type: ignore[attr-defined]
except ImportError:  # not built (no compiler at install time): the Python path alone
    _indexcore = None
NATIVE = _indexcore is not None
if NATIVE:
    _indexcore.configure(canonical, PREFIXES)
_native: Callable[[Mapping[str, Any]], tuple | None] | None = None


def set_native(enabled: bool) -> bool:
    """Use the C core (when built) or not; returns whether it is in use now."""
    global _native
    _native = _indexcore.index if enabled and NATIVE else None
    return _native is not None


set_native(os.environ.get("CORRIDOR_PURE_PYTHON") != "1")


def _sensor_rows(fields: list, elements: Any, namespaces: Mapping[str, str]) -> None:
    if not isinstance(elements, list) or not elements:
        return
    fields.append(("sensorElementList", "1", None))
    for element in elements:
        if not isinstance(element, dict):
            continue
        _ext_rows(fields, "sensorelement", element, namespaces)
        meta = element.get("sensorMetadata")
        if isinstance(meta, dict):
            for key in ("time", "startTime", "endTime"):
                if isinstance(meta.get(key), str):
                    fields.append(_scalar_row(f"sensor:{key}", meta[key]))
            for key in _SENSOR_META_TEXT:
                if isinstance(meta.get(key), str):
                    fields.append((f"sensor:{key}", meta[key], None))
            _ext_rows(fields, "sensormetadata", meta, namespaces)
        for report in element.get("sensorReport") or ():
            if not isinstance(report, dict):
                continue
            if isinstance(report.get("type"), str):
                fields.append(("sensor:type", normalise("measurementType", report["type"]),
                               None))
            if isinstance(report.get("time"), str):
                fields.append(_scalar_row("sensor:time", report["time"]))
            for key in _SENSOR_REPORT_TEXT:
                if isinstance(report.get(key), str):
                    fields.append((f"sensor:{key}", report[key], None))
            if isinstance(report.get("booleanValue"), bool):
                fields.append(("sensor:booleanValue",
                               "true" if report["booleanValue"] else "false", None))
            if isinstance(report.get("hexBinaryValue"), str):
                fields.append(("sensor:hexBinaryValue", report["hexBinaryValue"].upper(), None))
            if isinstance(report.get("percRank"), int | float):
                fields.append(("sensor:percRank", None, _number(report["percRank"])))
            uom = report.get("uom")
            for key in _SENSOR_NUMS:
                num = report.get(key)
                if isinstance(num, int | float) and not isinstance(num, bool):
                    fields.append((f"sensor:{key}:{uom or ''}", None, _number(num)))
            _ext_rows(fields, "sensorreport", report, namespaces)
