"""Subscription requests and records: validation of the REST binding's subscription body and
the JSON shape returned to clients (never the signatureToken)."""

from __future__ import annotations

import ipaddress
import json
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from corridor.subscriptions.schedule import Schedule, ScheduleError

_KNOWN = {"dest", "signatureToken", "secret", "stream", "schedule", "reportIfEmpty",
          "initialRecordTime"}
_EPC_FORMATS = ("No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN", "Never_Translates")


class SubscriptionError(ValueError):
    """A subscription request was refused (epcisException:SubscriptionControlsException);
    `field` is a JSON pointer into the request (or the query parameter) at fault."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(field: str, value: object) -> datetime:
    if not isinstance(value, str):
        raise SubscriptionError(field, "must be a date-time string such as "
                                       "2024-05-01T00:00:00Z")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise SubscriptionError(field, f"{value!r} is not an RFC 3339 date-time") from None
    if when.tzinfo is None:
        raise SubscriptionError(field, f"{value!r} lacks a time zone offset (Z or +hh:mm)")
    try:
        return when.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise SubscriptionError(field, f"{value!r} is out of the representable range") from None


def check_dest(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SubscriptionError("/dest", "is required: the callback URL (http or https)")
    if "\x00" in value or any(c.isspace() for c in value.strip()):
        raise SubscriptionError("/dest", "must not contain NUL or white space")
    try:
        url = urlparse(value.strip())
        host = url.hostname
    except ValueError:  # e.g. "http://[::1/x", an IPv6 host without its "]"
        host = None
    if not host or url.scheme not in ("http", "https"):
        raise SubscriptionError("/dest", f"{value!r} is not an absolute http(s) URL")
    return value.strip()


def forbidden_address(address: str) -> bool:
    """Loopback, private, link-local, multicast, unspecified or reserved: an address a
    webhook must not reach from the node (SSRF). IPv4-mapped IPv6 is judged as IPv4."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_unspecified or ip.is_reserved)


Resolver = Callable[[str, int], Sequence[str]]
"""Resolves (host, port) to IP address strings; injectable so tests can answer differently
from one call to the next (DNS rebinding)."""


def system_resolver(host: str, port: int) -> list[str]:
    """The system's resolver (getaddrinfo), addresses in its order without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_host(host: str, port: int, *, resolver: Resolver = system_resolver,
                 pointer: str = "/dest") -> list[str]:
    """The addresses of `host`: an IP literal is itself (no lookup), a name is resolved once.
    Blocks on DNS: call it off the event loop."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        addresses = [str(a) for a in resolver(host, port)]
    except (OSError, UnicodeError) as exc:
        raise SubscriptionError(pointer, f"host {host!r} does not resolve: {exc}") from None
    if not addresses:
        raise SubscriptionError(pointer, f"host {host!r} does not resolve: no address")
    return addresses


def check_addresses(host: str, addresses: Sequence[str], *, pointer: str = "/dest") -> None:
    """Refuse unless EVERY address is allowed. A name with one public and one private record
    is refused, not trimmed to its public part: such a name is misconfigured or an attack,
    and silently keeping some answers would make delivery depend on which ones came back."""
    bad = [a for a in addresses if forbidden_address(a)]
    if bad:
        raise SubscriptionError(pointer, f"host {host!r} is a loopback, private, link-local, "
                                         f"multicast or unspecified address ({bad[0]}); this "
                                         "node does not deliver webhooks there")


def check_dest_address(dest: str, *, allow_private: bool, pointer: str = "/dest",
                       resolver: Resolver = system_resolver) -> None:
    """Refuse a webhook URL whose host is (or resolves, by any of its addresses, to) a
    forbidden address unless `allow_private`. Resolves names: call it off the event loop.
    This is the subscribe-time check; delivery does not rely on it (the name may resolve
    elsewhere later) but checks and pins at connection time (corridor.subscriptions.pinned)."""
    if allow_private:
        return
    url = urlparse(dest)
    host = url.hostname or ""
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        raise SubscriptionError(pointer, f"{dest!r} has an invalid port") from None
    check_addresses(host, resolve_host(host, port, resolver=resolver, pointer=pointer),
                    pointer=pointer)


def _flag(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SubscriptionError(field, f"must be true or false, got {value!r}")


@dataclass(frozen=True)
class Request:
    """A validated subscription request (webhook body or WebSocket query string)."""

    dest: str | None
    secret: str | None
    stream: bool
    schedule: Schedule | None
    report_if_empty: bool
    initial_record_time: datetime | None


def parse_controls(source: dict[str, Any], *, pointer: str = "/", dest_required: bool) -> Request:
    """Validate subscription controls: exactly one of `stream: true` or `schedule`."""
    unknown = sorted(set(source) - _KNOWN)
    if unknown:
        raise SubscriptionError(pointer + unknown[0],
                                f"unknown field; expected {', '.join(sorted(_KNOWN))}")
    dest = check_dest(source.get("dest")) if dest_required else None
    secret = source.get("signatureToken", source.get("secret"))
    if secret is not None and (not isinstance(secret, str) or not secret or len(secret) > 1024
                               or "\x00" in secret):
        raise SubscriptionError(pointer + "signatureToken", "must be a string of 1 to 1024 "
                                                            "characters")
    stream = _flag(pointer + "stream", source["stream"]) if "stream" in source else False
    schedule = None
    if "schedule" in source:
        try:
            schedule = Schedule.parse(source["schedule"])
        except ScheduleError as exc:
            raise SubscriptionError(pointer + "schedule/" + exc.field.strip("()"),
                                    str(exc).split(": ", 1)[1]) from None
    if stream and schedule is not None:
        raise SubscriptionError(pointer + "stream", "stream and schedule are mutually exclusive")
    if not stream and schedule is None:
        raise SubscriptionError(pointer + "stream", "set stream to true or give a schedule; "
                                                    "otherwise the server never notifies")
    report = (_flag(pointer + "reportIfEmpty", source["reportIfEmpty"])
              if "reportIfEmpty" in source else False)
    initial = (parse_time(pointer + "initialRecordTime", source["initialRecordTime"])
               if source.get("initialRecordTime") is not None else None)
    return Request(dest, secret, stream, schedule, report, initial)


@dataclass(frozen=True)
class Subscription:
    id: str
    query_name: str
    party_id: int
    dest: str
    secret: str | None
    stream: bool
    schedule: dict[str, str] | None
    report_if_empty: bool
    initial_record_time: str | None
    min_record_time: str | None
    cursor: int | None
    epc_format: str | None
    created_at: str
    last_notified_at: str | None
    next_run_at: str | None
    settings: dict[str, Any] | None = None  # a subscription of another kind: its rule

    COLUMNS = ("id, query_name, party_id, dest, secret, stream, schedule, report_if_empty, "
               "initial_record_time, min_record_time, cursor, epc_format, created_at, "
               "last_notified_at, next_run_at, settings")

    @classmethod
    def from_row(cls, row: tuple) -> Subscription:
        return cls(row[0], row[1], int(row[2]), row[3], row[4], bool(row[5]),
                   json.loads(row[6]) if row[6] else None, bool(row[7]), row[8], row[9],
                   None if row[10] is None else int(row[10]), row[11], row[12], row[13],
                   row[14], json.loads(row[15]) if row[15] else None)

    @property
    def kind(self) -> str | None:
        """None for a query subscription; for one of another kind (e.g. forecast alerts), the
        kind its query_name holds instead of a query name: it holds a colon, which no named
        query's name may (see store.create_other)."""
        return self.query_name if ":" in self.query_name else None

    def to_json(self) -> dict[str, Any]:
        """The REST binding's subscription resource (the secret is never returned)."""
        out: dict[str, Any] = {"subscriptionID": self.id, "queryName": self.query_name,
                               "dest": self.dest, "createdAt": self.created_at}
        if self.stream:
            out["stream"] = True
        else:
            out["schedule"] = self.schedule or {}
            out["reportIfEmpty"] = self.report_if_empty
        if self.initial_record_time:
            out["initialRecordTime"] = self.initial_record_time
        if self.min_record_time:
            out["minRecordTime"] = self.min_record_time
        if self.last_notified_at:
            out["lastNotifiedAt"] = self.last_notified_at
        if self.epc_format:
            out["epcFormat"] = self.epc_format
        out["signed"] = self.secret is not None
        return out


def new_id() -> str:
    return str(uuid.uuid4())


def check_epc_format(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if value not in _EPC_FORMATS:
        raise SubscriptionError("GS1-EPC-Format", f"must be one of {', '.join(_EPC_FORMATS)}")
    return value
