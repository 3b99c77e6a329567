"""C2SP signed notes with Ed25519 keys in the formats of golang.org/x/mod/sumdb/note, plus
tlog-cosignature/v1 (timestamped Ed25519, signature type 0x04).

Signer key:   PRIVATE+KEY+<name>+<hex key id>+base64(<type> || 32-byte seed)
Verifier key: <name>+<hex key id>+base64(<type> || 32-byte public key)
Key id:       first 4 bytes of SHA-256(name || 0x0A || type || public key)
"""

from __future__ import annotations

import base64
import binascii
import struct
import time
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_ALGS = (ALG_ED25519, ALG_COSIGNATURE_V1)
_DASH = "\u2014 "
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A malformed note or key, or a note without a valid signature from a trusted key."""


def _key_id(name: str, alg: int, public: bytes) -> int:
    return int.from_bytes(sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4], "big")


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _b64(data: str, what: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what}: not valid base64") from exc


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: int
    alg: int
    public: bytes

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id:08x}+" + base64.b64encode(
            bytes([self.alg]) + self.public).decode()

    def verify(self, msg: bytes, sig: bytes) -> bool:
        """sig is the signature without its key id prefix."""
        key = Ed25519PublicKey.from_public_bytes(self.public)
        try:
            if self.alg == ALG_COSIGNATURE_V1:
                if len(sig) != 72:
                    return False
                (stamp,) = struct.unpack(">Q", sig[:8])
                key.verify(sig[8:], cosignature_message(msg, stamp))
            else:
                key.verify(sig, msg)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_vkey(vkey: str) -> Verifier:
    parts = vkey.strip().split("+", 2)  # base64 may itself contain '+'
    if len(parts) != 3:
        raise NoteError(f"verifier key {vkey!r}: expected name+hexid+base64")
    name, hexid, data = parts
    _check_name(name)
    raw = _b64(data, f"verifier key {name}")
    if len(raw) != 33 or raw[0] not in _ALGS:
        raise NoteError(f"verifier key {name}: expected an Ed25519 key (type 0x01 or 0x04)")
    try:
        key_id = int(hexid, 16)
    except ValueError as exc:
        raise NoteError(f"verifier key {name}: key id {hexid!r} is not hex") from exc
    if len(hexid) != 8 or key_id != _key_id(name, raw[0], raw[1:]):
        raise NoteError(f"verifier key {name}: key id {hexid} does not match the key")
    return Verifier(name, key_id, raw[0], raw[1:])


@dataclass(frozen=True)
class Signer:
    name: str
    alg: int
    seed: bytes

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public(self) -> bytes:
        return self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> int:
        return _key_id(self.name, self.alg, self.public)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.alg, self.public)

    @property
    def skey(self) -> str:
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+" + base64.b64encode(
            bytes([self.alg]) + self.seed).decode()

    def as_cosigner(self) -> Signer:
        """The same key used for tlog-cosignature/v1 (type 0x04, its own key id)."""
        return Signer(self.name, ALG_COSIGNATURE_V1, self.seed)

    def signature(self, text: bytes, timestamp: int | None = None) -> bytes:
        """key id || signature over the note text (cosigners: || timestamp || signature)."""
        if self.alg == ALG_COSIGNATURE_V1:
            stamp = int(time.time()) if timestamp is None else timestamp
            body = struct.pack(">Q", stamp) + self._private.sign(cosignature_message(text, stamp))
        else:
            body = self._private.sign(text)
        return struct.pack(">I", self.key_id) + body

    def signature_line(self, text: bytes, timestamp: int | None = None) -> str:
        return f"{_DASH}{self.name} " + base64.b64encode(self.signature(text, timestamp)).decode()


def generate_signer(name: str, alg: int = ALG_ED25519) -> Signer:
    _check_name(name)
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                                       NoEncryption())
    return Signer(name, alg, seed)


def parse_skey(skey: str) -> Signer:
    text = skey.strip()
    parts = text[len("PRIVATE+KEY+"):].split("+", 2)
    if not text.startswith("PRIVATE+KEY+") or len(parts) != 3:
        raise NoteError("signer key: expected PRIVATE+KEY+name+hexid+base64")
    name, hexid, data = parts
    _check_name(name)
    raw = _b64(data, f"signer key {name}")
    if len(raw) != 33 or raw[0] not in _ALGS:
        raise NoteError(f"signer key {name}: expected an Ed25519 key (type 0x01 or 0x04)")
    signer = Signer(name, raw[0], raw[1:])
    if hexid != f"{signer.key_id:08x}":
        raise NoteError(f"signer key {name}: key id {hexid} does not match the key")
    return signer


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: int
    sig: bytes  # without the key id
    line: str

    def timestamp(self) -> int | None:
        return struct.unpack(">Q", self.sig[:8])[0] if len(self.sig) == 72 else None


@dataclass(frozen=True)
class Note:
    text: bytes  # including its final newline
    signatures: tuple[Signature, ...]

    def encode(self) -> bytes:
        return self.text + b"\n" + "".join(s.line + "\n" for s in self.signatures).encode()


def parse_note(data: bytes) -> Note:
    """Split a signed note into text and signature lines (no verification)."""
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError(f"note is not UTF-8 (byte {exc.start})") from exc
    for i, ch in enumerate(raw):
        if ch < " " and ch != "\n":
            raise NoteError(f"note contains control character {ord(ch):#04x} at offset {i}")
    split = raw.rfind("\n\n")
    if split < 0 or not raw.endswith("\n"):
        raise NoteError("note has no blank line before its signatures, or no final newline")
    text = raw[:split + 1]
    lines = raw[split + 2:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    sigs = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(_DASH):
            raise NoteError(f"signature line {number} does not start with an em dash")
        name, _, b64 = line[len(_DASH):].partition(" ")
        _check_name(name)
        blob = _b64(b64, f"signature line {number} ({name})")
        if len(blob) < 5:
            raise NoteError(f"signature line {number} ({name}) is too short")
        sigs.append(Signature(name, int.from_bytes(blob[:4], "big"), blob[4:], line))
    return Note(text.encode(), tuple(sigs))


def verified_by(note: Note, verifiers: list[Verifier]) -> list[Verifier]:
    """Known verifiers whose signature verifies. A known key whose signature fails makes the
    whole note invalid (NoteError); unknown keys are ignored."""
    good: list[Verifier] = []
    for sig in note.signatures:
        for v in verifiers:
            if v.name == sig.name and v.key_id == sig.key_id:
                if not v.verify(note.text, sig.sig):
                    raise NoteError(f"signature by {v.name} (key id {v.key_id:08x}) "
                                    "does not verify")
                if v not in good:
                    good.append(v)
    return good


def open_note(data: bytes, verifiers: list[Verifier]) -> tuple[Note, list[Verifier]]:
    """Parse and verify; raise NoteError unless at least one known key signed it."""
    note = parse_note(data)
    good = verified_by(note, verifiers)
    if not good:
        names = ", ".join(v.name for v in verifiers) or "(none)"
        raise NoteError(f"note has no valid signature from a trusted key ({names})")
    return note, good


def sign_note(text: bytes, signers: list[Signer]) -> bytes:
    if not text.endswith(b"\n"):
        raise NoteError("note text must end with a newline")
    parse_note(text + b"\n" + _DASH.encode() + b"x AAAAAAA=\n")  # validates the text itself
    return text + b"\n" + "".join(s.signature_line(text) + "\n" for s in signers).encode()


def add_signatures(note_bytes: bytes, lines: list[str]) -> bytes:
    """Append signature lines not already present."""
    note = parse_note(note_bytes)
    present = {s.line for s in note.signatures}
    extra = [line for line in lines if line not in present]
    return note_bytes + "".join(line + "\n" for line in extra).encode()
