"""Certificates on the dashboard: a lot's credentials (on its page, for whoever may see the
lot), the printable certificate page of one credential (public: a credential is meant to be
shown) with a QR code that opens its verification page, and that page, where the browser
checks the credential itself (static/verify-credential.js).

Reads go through corridor.store.credentials and the node's CredentialService; the wording is
in the templates, the names of the claim's codes in vocab/credentials.yml."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import segno
import yaml

from corridor.credentials.credential import issuer_of, kind_of
from corridor.credentials.service import CredentialService
from corridor.epcis.identifiers import canonical
from corridor.ledger.entry import EntryError, LogEntry
from corridor.ledger.proof import ReceiptError, parse_receipt
from corridor.query.parties import PartyNames, party_names
from corridor.query.places import Places, stored_places
from corridor.store import credentials as store
from corridor.store.db import Connection

MAX_REF = 500  # characters of a credential id or URL worth looking up


@cache
def _vocab() -> dict[str, dict[str, str]]:
    text = resources.files("corridor.web").joinpath("vocab/credentials.yml").read_text(
        encoding="utf-8")
    data = yaml.safe_load(text)
    # a section is its names, or {source, names}
    return {section: {str(k): str(v) for k, v in (body.get("names", body)).items()
                      if k != "source"}
            for section, body in data.items()}


def term(section: str, code: object) -> str:
    """A claim code's readable name from vocab/credentials.yml; the code when unknown."""
    return _vocab().get(section, {}).get(str(code), str(code))


def percent(value: object) -> str:
    """0.4213 -> '42.13 %' (a share as the claim states it, as a percentage)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{round(value * 100, 2):g} %"


def qr_svg(url: str) -> str:
    """The URL as a QR code (segno), an inline SVG that scales with its box."""
    code = segno.make(url, error="m", micro=False)
    return str(code.svg_inline(scale=4, border=2, dark="#10202c", svgclass="qr",
                               lineclass=None, omitsize=True,
                               title="QR code: " + url))


def verify_url(base: str, credential_id: str) -> str:
    return f"{base}/verify?credential={quote(credential_id, safe='')}"


# ---------------------------------------------------------------- the lot page


@dataclass(frozen=True)
class Listed:
    """One credential about a lot, as the lot page lists it."""

    id: str
    kind: str
    name: str
    issuer_name: str
    issued_at: str
    revoked_at: str | None
    subject: dict[str, Any]
    cryptosuite: str

    @property
    def href(self) -> str:
        return f"/certificate/{quote(self.id, safe=':')}"

    @property
    def json_href(self) -> str:
        return f"/credentials/{quote(self.id, safe=':')}"


def _document(stored: store.StoredCredential) -> dict[str, Any]:
    try:
        document = json.loads(stored.document)
    except ValueError:  # stored verbatim by the service; never expected to fail
        return {}
    return document if isinstance(document, dict) else {}


def _issuer_name(document: dict[str, Any]) -> str:
    issuer = document.get("issuer")
    name = issuer.get("name") if isinstance(issuer, dict) else None
    return str(name) if name else str(issuer_of(document) or "")


def lot_credentials(conn: Connection, epc_class: str) -> list[Listed]:
    """The credentials about a lot, newest first, whichever spelling (URN or Digital Link)
    their subject uses."""
    found: dict[str, store.StoredCredential] = {}
    for subject in dict.fromkeys([epc_class, canonical(epc_class)]):
        for c in store.list_credentials(conn, subject=subject):
            found.setdefault(c.id, c)
    out = []
    for c in sorted(found.values(), key=lambda c: (c.issued_at, c.id), reverse=True):
        document = _document(c)
        subject = document.get("credentialSubject")
        proof = document.get("proof")
        out.append(Listed(c.id, c.kind, str(document.get("name") or c.kind),
                          _issuer_name(document), c.issued_at, c.revoked_at,
                          subject if isinstance(subject, dict) else {},
                          str(proof.get("cryptosuite", "")) if isinstance(proof, dict) else ""))
    return out


def verify_config(service: CredentialService, info: dict[str, Any], *,
                  autorun: bool = False) -> dict[str, Any]:
    """What verify-credential.js needs: where to fetch, and the log's and witnesses' keys
    (shown on the page, to compare with those the log publishes)."""
    return {"base": service.base_url, "certifiersUrl": "/certifiers",
            "verifyUrl": "/credentials/verify", "logVkey": info.get("log_vkey", ""),
            "witnesses": [w["vkey"] for w in info.get("witnesses", [])],
            "quorum": int(info.get("quorum", 0) or 0), "autorun": autorun}


# ---------------------------------------------------------------- the certificate page


@dataclass(frozen=True)
class Evidence:
    hash_id: str
    log_index: int | None
    log_origin: str
    party: str | None  # the capturing party, as the receipt's log entry names it


def _recorded_by(receipt: object) -> str | None:
    """The capturing party of a receipt's log entry (shown only; the verifier checks it)."""
    try:
        extra = parse_receipt(str(receipt).encode("utf-8")).extra
        return LogEntry.decode(extra).party if extra else None
    except (ReceiptError, EntryError):
        return None


@dataclass(frozen=True)
class Step:
    """One transformation of an origin claim, with its place and party named."""

    raw: dict[str, Any]
    place: str
    place_key: str | None
    country: str
    party: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]


@dataclass
class Certificate:
    id: str
    kind: str | None
    document: dict[str, Any]
    subject: dict[str, Any]
    issuer_did: str
    issuer_name: str
    accreditation: str | None
    certifier_known: bool
    revoked_at: str | None
    revocation_reason: str | None
    evidence: list[Evidence]
    proof: dict[str, Any]
    lot_dl: str
    produced_at: list[tuple[str, str | None]] = field(default_factory=list)  # (name, key)
    steps: list[Step] = field(default_factory=list)

    @property
    def pretty(self) -> str:
        return json.dumps(self.document, indent=2, ensure_ascii=False)


def _evidence(document: dict[str, Any]) -> list[Evidence]:
    items = document.get("evidence")
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        index = item.get("logIndex")
        out.append(Evidence(str(item.get("id", "")),
                            index if isinstance(index, int) and not isinstance(index, bool)
                            else None, str(item.get("logOrigin", "")),
                            _recorded_by(item.get("receipt", ""))))
    return out


def _place(places: Places, location: object) -> tuple[str, str | None]:
    if not isinstance(location, str):
        return "", None
    place = places.by_location.get(canonical(location))
    return (place.name, place.key) if place else (location, None)


def _steps(subject: dict[str, Any], evidence: list[Evidence], places: Places,
           names: PartyNames) -> list[Step]:
    """The transformations of an origin claim; a step's party is the one it names, else the
    party that recorded its event (the evidence's log entry)."""
    recorded = {e.hash_id: e.party for e in evidence}
    steps = subject.get("transformations")
    out = []
    for s in steps if isinstance(steps, list) else []:
        if not isinstance(s, dict):
            continue
        name, key = _place(places, s.get("place"))
        party = s.get("party") or recorded.get(str(s.get("event")))
        out.append(Step(s, name, key, term("countries", s.get("country", "")),
                        (names.name(party) or party) if isinstance(party, str) else "",
                        [i for i in s.get("inputs") or [] if isinstance(i, dict)],
                        [o for o in s.get("outputs") or [] if isinstance(o, dict)]))
    return out


def certificate(conn: Connection, credential_id: str) -> Certificate | None:
    """The credential with its issuer, status, evidence and claim readied for the page."""
    stored = store.get_credential(conn, credential_id[:MAX_REF])
    if stored is None:
        return None
    document = _document(stored)
    subject = document.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    did = issuer_of(document) or ""
    certifier = next((c for c in store.certifiers(conn) if c.did == did), None)
    proof = document.get("proof")
    places = stored_places(conn)
    lot = str(subject.get("id", stored.subject))
    produced = subject.get("producedAt")
    evidence = _evidence(document)
    return Certificate(
        stored.id, kind_of(document), document, subject, did, _issuer_name(document),
        certifier.accreditation if certifier else None, certifier is not None,
        stored.revoked_at, stored.revocation_reason, evidence,
        proof if isinstance(proof, dict) else {}, canonical(lot),
        [_place(places, p) for p in produced] if isinstance(produced, list) else [],
        _steps(subject, evidence, places, party_names(conn)))


# ---------------------------------------------------------------- the verification page


def credential_ref(ref: str, bases: list[str]) -> str | None:
    """The credential id a ?credential= names: an id, or this node's URL of the credential
    (its JSON or its certificate page) under one of `bases`; None for another node's."""
    ref = ref.strip()[:MAX_REF]
    if not ref.startswith(("http://", "https://")):
        return ref or None
    parts = urlsplit(ref)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin not in {b.rstrip("/") for b in bases}:
        return None
    for prefix in ("/credentials/", "/certificate/"):
        if parts.path.startswith(prefix):
            return unquote(parts.path[len(prefix):]) or None
    return None
