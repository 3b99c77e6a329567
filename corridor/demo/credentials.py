"""The demo's certificates: the certifier (an accredited verification body, corridor.demo.actors)
issues a GreenMetalCredential for every lot the smelter and the ferro-alloy works produced
before VERIFIED_UNTIL and an OriginCredential for every parts lot the Italian plant made,
through the same service the API uses, so each claim is computed from the logged events; then
revokes one, as a certifier does when a figure behind it is corrected. Loading twice issues
nothing new."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from corridor.config import Settings
from corridor.credentials.errors import CredentialError
from corridor.credentials.keys import IssuerKey
from corridor.credentials.service import CredentialService, IssueRequest
from corridor.demo.actors import ACTOR_BY_SLUG, CERTIFIER_ACCREDITATION
from corridor.demo.scenario import PlannedEvent, Scenario
from corridor.node import RunningLog
from corridor.query import Viewer
from corridor.store import credentials as store
from corridor.store.db import Connection, Database

# The certifier has verified the installations' emissions for the first quarter of 2026 only:
# a metal lot made from 1 April on has no GreenMetalCredential yet, so the importers' CBAM
# declarations show both bases, the installations' actual values (lots of the first quarter)
# and the fallback to the Commission's default values (the later ones), as a demo should.
VERIFIED_UNTIL = datetime(2026, 4, 1, tzinfo=UTC)

REVOCATION_REASON = ("superseded: the producer corrected the lot's electricity meter reading "
                     "after issue")


@dataclass
class DemoCredentials:
    issued: int = 0
    refused: int = 0
    revoked: int = 0


def _produced_lots(scenario: Scenario) -> list[tuple[str, str, PlannedEvent]]:
    """(credential type, lot, the event that made it) for each lot a TransformationEvent of the
    scenario made: the smelter's and the works' metal lots, and the buyer's parts lots."""
    found: list[tuple[str, str, PlannedEvent]] = []
    for planned in scenario.lot_events:
        event = planned.event
        if event.get("type") != "TransformationEvent":
            continue
        kind = "OriginCredential" if planned.party == "buyer" else "GreenMetalCredential"
        for quantity in event.get("outputQuantityList", []):
            found.append((kind, quantity["epcClass"], planned))
    return found


def _accredit(conn: Connection, seed: int) -> store.Certifier:
    actor = ACTOR_BY_SLUG["certifier"]
    party_id = int(conn.fetchone("SELECT id FROM parties WHERE identifier = ?",
                                 (actor.pgln,))[0])
    existing = store.certifier(conn, party_id)
    if existing is not None:
        return existing
    # a key derived from the seed keeps the demo issuer's DID across reloads: demo data only
    seed_bytes = hashlib.sha256(f"corridor-demo/{seed}/certifier-issuer".encode()).digest()
    key = IssuerKey.from_seed(seed_bytes)
    return store.add_certifier(conn, party_id, did=key.did, secret_key=key.secret_multibase(),
                               display_name=actor.name, accreditation=CERTIFIER_ACCREDITATION,
                               scope=("GreenMetalCredential", "OriginCredential"))


def issue_demo_credentials(settings: Settings, db: Database, conn: Connection,
                           ledger: RunningLog, scenario: Scenario, seed: int
                           ) -> DemoCredentials:
    service = CredentialService(settings, db, ledger)
    certifier = _accredit(conn, seed)
    done = DemoCredentials()
    if store.list_credentials(conn, issuer_party=certifier.party_id, limit=1):
        return done
    actor = ACTOR_BY_SLUG["certifier"]
    viewer = Viewer(certifier.party_id, (actor.pgln,), "auditor")
    first_high_carbon: str | None = None
    for n, (kind, lot, made) in enumerate(_produced_lots(scenario)):
        if kind == "GreenMetalCredential" and made.time >= VERIFIED_UNTIL:
            continue  # not verified yet; n still counts it, the other lots keep their suites
        # one in eight signed with eddsa-rdfc-2022, so the demo shows both cryptosuites
        suite = "eddsa-rdfc-2022" if n % 8 == 7 else "eddsa-jcs-2022"
        try:
            stored = service.issue(conn, viewer, IssueRequest(kind, lot, suite))
        except CredentialError:
            done.refused += 1  # e.g. a lot whose production data is incomplete
            continue
        done.issued += 1
        if first_high_carbon is None and kind == "GreenMetalCredential" \
                and not json.loads(stored.document)["credentialSubject"].get("classesMet"):
            first_high_carbon = stored.id
    if first_high_carbon is not None:
        store.revoke_credential(conn, first_high_carbon, REVOCATION_REASON)
        done.revoked = 1
    return done
