"""Port and border notices: an operator's statement that a node works below normal for a
period (a load cut by N %, sailings suspended, a border closed), logged like an event so that
forecasts and insurance triggers can rest on it (docs/monitoring.md, "Notices")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from corridor.epcis.identifiers import check_digit, dl_key, epc_uri_fault
from corridor.epcis.rules import time_fault

NOTICE_KINDS = ("load_cut", "sailings_suspended", "border_closed")


@dataclass(frozen=True)
class Notice:
    hash_id: str  # the Event Hash ID of the logged notice event
    log_index: int
    node: str  # the location (SGLN URN or Digital Link) the notice is about
    kind: str  # one of NOTICE_KINDS
    valid_from: datetime
    valid_until: datetime | None  # None: until further notice
    value: Decimal | None = None  # the load cut in percent, for kind load_cut
    text: str = ""


NOTICE_NS = "https://ns.corridor.example/epcis/"
NOTICE_BIZ_STEP = "https://ns.corridor.example/epcis/bizstep/notice"
NOTICE_CONTEXT: list[Any] = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                             {"cor": NOTICE_NS}]
FIELDS = ("node", "kind", "value", "validFrom", "validUntil", "text")
MAX_NODE, MAX_TEXT = 512, 1000
_SGLN = "urn:epc:id:sgln:"
_ALLOWED_CONTROLS = {"\n", "\t"}


class NoticeError(ValueError):
    """A posted notice is not valid: `pointer` (a JSON pointer into the body) names the
    field."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"{pointer or '/'}: {message}")
        self.pointer = pointer
        self.message = message


@dataclass(frozen=True)
class NoticeRequest:
    """A checked notice as posted, before it is logged."""

    node: str
    kind: str
    valid_from: datetime
    valid_until: datetime | None = None
    value: Decimal | None = None
    text: str = ""


def node_fault(node: str) -> str | None:
    """Why `node` is no location identifier (an SGLN URN, or a GS1 Digital Link URI with a
    GLN, AI 414), or None."""
    if node.startswith(_SGLN):
        fault = epc_uri_fault(node)
        return None if fault is None else f"not a valid SGLN URN: {fault}"
    if node.startswith(("https://", "http://")):
        key = dl_key(node)
        if key is None or "/414/" not in key:
            return "a Digital Link location must carry a GLN (AI 414)"
        gln = key.split("/414/", 1)[1].split("/", 1)[0]
        if len(gln) != 13 or not gln.isdigit() or check_digit(gln[:12]) != gln[12]:
            return "the GLN of this Digital Link has a wrong check digit"
        return None
    return "must be an SGLN URN (urn:epc:id:sgln:...) or a GS1 Digital Link URI with a GLN"


def _string(body: Mapping[str, Any], name: str, limit: int) -> str:
    value = body[name]
    if not isinstance(value, str):
        raise NoticeError(f"/{name}", "must be a string")
    if len(value) > limit:
        raise NoticeError(f"/{name}", f"must be at most {limit} characters")
    if any(not c.isprintable() and c not in _ALLOWED_CONTROLS for c in value):
        raise NoticeError(f"/{name}", "must not contain control characters")
    return value


def parse_time(text: object, pointer: str) -> datetime:
    """An RFC 3339 date-time with an offset (as EPCIS writes times), as an aware datetime."""
    if not isinstance(text, str):
        raise NoticeError(pointer, "must be a string (an RFC 3339 date-time)")
    fault = time_fault(text)
    if fault is not None:
        raise NoticeError(pointer, fault)
    return datetime.fromisoformat(text).astimezone(UTC)


def _value(body: Mapping[str, Any], kind: str) -> Decimal | None:
    raw = body.get("value")
    if kind != "load_cut":
        if raw is not None:
            raise NoticeError("/value", f"only a load_cut has a value, not {kind}")
        return None
    if raw is None:
        raise NoticeError("/value", "required for load_cut: the percent (1-100) the load is"
                                    " cut by")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise NoticeError("/value", "must be a number (percent, 1-100)")
    if not 1 <= raw <= 100:
        raise NoticeError("/value", "must be from 1 to 100 (percent)")
    return Decimal(raw) if isinstance(raw, int) else _decimal(raw)


def _decimal(raw: float) -> Decimal:
    """A float as the shortest decimal that reads back as it (30.5, not 30.499999...)."""
    found = Decimal(repr(raw))
    return found.quantize(Decimal(1)) if found == found.to_integral_value() else found


def parse_notice(raw: object) -> NoticeRequest:
    """A posted notice `{"node", "kind", "value"?, "validFrom", "validUntil"?, "text"?}`,
    checked; NoticeError names the first field that is wrong."""
    if not isinstance(raw, Mapping):
        raise NoticeError("", "the body must be a JSON object")
    for name in raw:
        if name not in FIELDS:
            raise NoticeError(f"/{name}", f"unknown field; a notice has {', '.join(FIELDS)}")
    for name in ("node", "kind", "validFrom"):
        if name not in raw:
            raise NoticeError(f"/{name}", "required")
    node = _string(raw, "node", MAX_NODE)
    fault = node_fault(node)
    if fault is not None:
        raise NoticeError("/node", fault)
    kind = raw["kind"]
    if kind not in NOTICE_KINDS:
        raise NoticeError("/kind", f"must be one of {', '.join(NOTICE_KINDS)}")
    value = _value(raw, kind)
    valid_from = parse_time(raw["validFrom"], "/validFrom")
    valid_until = None
    if raw.get("validUntil") is not None:
        valid_until = parse_time(raw["validUntil"], "/validUntil")
        if valid_until <= valid_from:
            raise NoticeError("/validUntil", "must be after validFrom")
    text = _string(raw, "text", MAX_TEXT) if raw.get("text") is not None else ""
    return NoticeRequest(node, kind, valid_from, valid_until, value, text)


def time_text(moment: datetime) -> str:
    """A time as the event writes it: UTC, `Z`, milliseconds only when there are any."""
    utc = moment.astimezone(UTC)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    text = utc.isoformat(timespec=spec if utc.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def value_text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() \
        else format(value, "f")


def notice_event(request: NoticeRequest, party_identifier: str, now: datetime
                 ) -> dict[str, Any]:
    """The EPCIS ObjectEvent that logs a notice: observed at the node, no objects, the
    notice's terms as `cor:` extension fields and the operator that states it."""
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # EPCIS writes milliseconds
    event: dict[str, Any] = {
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": time_text(now),
        "eventTimeZoneOffset": "+00:00", "epcList": [], "bizStep": NOTICE_BIZ_STEP,
        "readPoint": {"id": request.node}, "bizLocation": {"id": request.node},
        "cor:noticeKind": request.kind,
    }
    if request.value is not None:
        event["cor:noticeValue"] = value_text(request.value)
    event["cor:validFrom"] = time_text(request.valid_from)
    if request.valid_until is not None:
        event["cor:validUntil"] = time_text(request.valid_until)
    if request.text:
        event["cor:noticeText"] = request.text
    event["cor:operator"] = party_identifier
    return event


def notice_document(event: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """An EPCIS document carrying the notice event, as the capture path takes it."""
    return {"@context": NOTICE_CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": time_text(now), "epcisBody": {"eventList": [dict(event)]}}


def _field(event: Mapping[str, Any], name: str) -> Any:
    return event.get(f"cor:{name}", event.get(NOTICE_NS + name))


def notice_from_event(hash_id: str, log_index: int, event: Mapping[str, Any]
                      ) -> Notice | None:
    """The Notice a stored notice event states (the `cor:` prefix or full IRIs), or None
    when the event is no well-formed notice."""
    if event.get("bizStep") != NOTICE_BIZ_STEP:
        return None
    place = event.get("bizLocation") or event.get("readPoint")
    node = place.get("id") if isinstance(place, Mapping) else None
    kind, raw_value = _field(event, "noticeKind"), _field(event, "noticeValue")
    text = _field(event, "noticeText")
    if not isinstance(node, str) or kind not in NOTICE_KINDS:
        return None
    try:
        valid_from = parse_time(_field(event, "validFrom"), "/validFrom")
        until = _field(event, "validUntil")
        valid_until = None if until is None else parse_time(until, "/validUntil")
        value = None if raw_value is None else Decimal(str(raw_value))
    except (NoticeError, ArithmeticError, ValueError):
        return None
    if value is not None and not value.is_finite():
        return None
    return Notice(hash_id, log_index, node, kind, valid_from, valid_until, value,
                  text if isinstance(text, str) else "")


def notice_of(request: NoticeRequest, hash_id: str, log_index: int) -> Notice:
    """The Notice a request becomes once logged as event `hash_id` at `log_index`."""
    return Notice(hash_id, log_index, request.node, request.kind, request.valid_from,
                  request.valid_until, request.value, request.text)


def notice_json(notice: Notice, party: str | None = None) -> dict[str, Any]:
    """A notice as the API shows it."""
    return {"id": notice.hash_id, "logIndex": notice.log_index, "node": notice.node,
            "kind": notice.kind,
            "value": None if notice.value is None else value_text(notice.value),
            "validFrom": time_text(notice.valid_from),
            "validUntil": None if notice.valid_until is None else time_text(notice.valid_until),
            "text": notice.text, "party": party}
