"""Log entries: the public fingerprint of one captured event (docs/ledger-entry-format.md).

    corridor/entry/v1
    event ni:///sha-256;<hex>?ver=CBV2.0
    doc sha-256:<64 lowercase hex>
    party <capturing party identifier (UTF-8)>
    time <record time, RFC 3339>
    sig <base64 signature>            (only when the party signed its capture)

Every line ends with a newline; nothing else is allowed, so each entry has exactly one encoding.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

VERSION_LINE = "corridor/entry/v1"
MAX_ENTRY_BYTES = 65535  # entry bundles prefix each entry with a uint16 length
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII without space
# Any text without control characters and without surrounding spaces.
_PARTY = re.compile(r"[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class EntryError(ValueError):
    """An entry that does not follow the encoding; the message names the field."""


@dataclass(frozen=True)
class LogEntry:
    event_hash_id: str
    document_sha256: bytes
    party: str
    record_time: str
    signature: bytes | None = None

    def __post_init__(self) -> None:
        _check_event_fields(self.event_hash_id, self.document_sha256)
        _check_capture_fields(self.party, self.record_time, self.signature)

    def encode(self) -> bytes:
        text = (f"{VERSION_LINE}\nevent {self.event_hash_id}\n"
                f"doc sha-256:{self.document_sha256.hex()}\nparty {self.party}\n"
                f"time {self.record_time}\n")
        if self.signature is not None:
            text += f"sig {base64.b64encode(self.signature).decode()}\n"
        data = text.encode()
        if len(data) > MAX_ENTRY_BYTES:
            raise EntryError(f"entry is {len(data)} bytes, more than {MAX_ENTRY_BYTES}")
        return data

    @classmethod
    def decode(cls, data: bytes) -> LogEntry:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EntryError(f"entry byte {exc.start} is not UTF-8") from exc
        if not text.endswith("\n"):
            raise EntryError("entry does not end with a newline")
        lines = text[:-1].split("\n")
        if lines[0] != VERSION_LINE:
            raise EntryError(f"line 1: expected {VERSION_LINE!r}, got {lines[0][:40]!r}")
        keys = ["event", "doc", "party", "time", "sig"]
        if not 5 <= len(lines) <= 6:
            raise EntryError(f"entry has {len(lines)} lines, expected 5 or 6")
        values: dict[str, str] = {}
        for n, (line, key) in enumerate(zip(lines[1:], keys, strict=False), 2):
            prefix = key + " "
            pattern = _PARTY if key == "party" else _TOKEN
            if not line.startswith(prefix) or not pattern.fullmatch(line[len(prefix):]):
                raise EntryError(f"line {n}: expected '{key} <value>'")
            values[key] = line[len(prefix):]
        doc = values["doc"]
        if not doc.startswith("sha-256:") or not _HEX64.fullmatch(doc[8:]):
            raise EntryError("line 3 (doc): expected sha-256:<64 lowercase hex>")
        signature = None
        if "sig" in values:
            try:
                signature = base64.b64decode(values["sig"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise EntryError("line 6 (sig): not valid base64") from exc
        entry = cls(values["event"], bytes.fromhex(doc[8:]), values["party"], values["time"],
                    signature)
        if entry.encode() != data:
            raise EntryError("entry is not in its canonical encoding")
        return entry


def _check_event_fields(event_hash_id: str, document_sha256: bytes) -> None:
    if not event_hash_id.startswith("ni:///") or not _TOKEN.fullmatch(event_hash_id):
        raise EntryError(f"event_hash_id {event_hash_id!r}: expected an ni:/// URI "
                         "of printable ASCII without spaces")
    if len(document_sha256) != 32:
        raise EntryError(f"document_sha256: {len(document_sha256)} bytes, expected 32")


def _check_capture_fields(party: str, record_time: str, signature: bytes | None) -> None:
    """The fields all entries of one capture share."""
    if not _PARTY.fullmatch(party):
        raise EntryError(f"party {party!r}: expected non-empty text without control "
                         "characters or surrounding spaces")
    if not _TIME.fullmatch(record_time):
        raise EntryError(f"record_time {record_time!r}: expected RFC 3339 date-time")
    if signature is not None and not signature:
        raise EntryError("signature: empty; use None for an unsigned capture")


_DOC_LINE_BYTES = len("\ndoc sha-256:") + 64


def entry_encoder(party: str, record_time: str, signature: bytes | None
                  ) -> Callable[[str, bytes], bytes]:
    """`encode(event_hash_id, document_sha256)`: the encoded LogEntry of each event of one
    capture, which share party, record time and signature. Those are checked once, not per
    event; the bytes are LogEntry(...).encode()'s, and whatever that would refuse it refuses
    with the same EntryError."""

    def checked(event_hash_id: str, document_sha256: bytes) -> bytes:
        return LogEntry(event_hash_id, document_sha256, party, record_time, signature).encode()

    try:
        _check_capture_fields(party, record_time, signature)
    except EntryError:
        return checked  # every event gets LogEntry's error, as without this function
    head = f"{VERSION_LINE}\nevent "
    tail = f"\nparty {party}\ntime {record_time}\n"
    if signature is not None:
        tail += f"sig {base64.b64encode(signature).decode()}\n"
    room = MAX_ENTRY_BYTES - len(head.encode()) - len(tail.encode()) - _DOC_LINE_BYTES

    def encode(event_hash_id: str, document_sha256: bytes) -> bytes:
        _check_event_fields(event_hash_id, document_sha256)  # what LogEntry checks first
        if len(event_hash_id) > room:  # (ASCII: checked) too large an entry
            return checked(event_hash_id, document_sha256)
        return f"{head}{event_hash_id}\ndoc sha-256:{document_sha256.hex()}{tail}".encode()

    return encode
