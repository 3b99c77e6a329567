"""Load the demo scenario into a node: parties, recorded FX rates, events captured through the
real capture path (validation, Event Hash ID, index rows, log entries), then a signed
checkpoint. Loading twice changes nothing: parties are found again, captures are idempotent,
and a complete load is recognised and skipped."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from corridor.capture import capture_document
from corridor.config import Settings
from corridor.demo.actors import ACTORS, AUDITOR_GRANTS, Actor
from corridor.demo.credentials import issue_demo_credentials
from corridor.demo.fx_history import seed_history
from corridor.demo.insurance import InsuranceSummary, insure_demo
from corridor.demo.scenario import AS_OF, Scenario, documents, generate, master_data_documents
from corridor.epcis.documents import read_document
from corridor.fx.importer import import_bundled
from corridor.insurance.service import BIND_STEP, CLAIM_STEP
from corridor.monitoring.notices import NOTICE_BIZ_STEP
from corridor.node import RunningLog, open_ledger
from corridor.store.db import Connection, Database
from corridor.store.fx_store import count_rates
from corridor.store.migrations import migrate
from corridor.store.parties import (
    PartyError,
    add_party,
    find_party,
    grant_auditor,
    hash_api_key,
)

INSURANCE_STEPS = (BIND_STEP, CLAIM_STEP, NOTICE_BIZ_STEP)


class DemoError(RuntimeError):
    """The demo could not be loaded; the message says which step failed."""


@dataclass(frozen=True)
class DemoParty:
    slug: str
    name: str
    identifier: str
    role: str
    party_id: int
    api_key: str


@dataclass
class DemoSummary:
    shipments: int
    seed: int
    events_total: int  # events in the scenario
    events_captured: int  # stored by this call (0 when the demo was already loaded)
    documents: int  # capture documents sent by this call
    parties: list[DemoParty] = field(default_factory=list)
    fx_rates: int = 0
    checkpoint_size: int = 0
    credentials_issued: int = 0  # by this call (0 when they were already issued)
    credentials_revoked: int = 0
    insurance: InsuranceSummary = field(default_factory=InsuranceSummary)
    as_of: str = AS_OF.isoformat()
    already_loaded: bool = False

    def lines(self) -> list[str]:
        """Human-readable summary, with the demo parties' API keys for the login form."""
        head = (f"{self.shipments} shipments (seed {self.seed}), {self.events_total} events"
                f" as of {self.as_of}; "
                + ("already loaded" if self.already_loaded
                   else f"captured {self.events_captured} in {self.documents} documents")
                + f"; log checkpoint size {self.checkpoint_size}; {self.fx_rates} FX rates"
                + (f"; {self.credentials_issued} certificates issued"
                   f" ({self.credentials_revoked} revoked)" if self.credentials_issued else ""))
        out = [head, f"Insurance: {self.insurance.line()}",
               "Demo parties (API keys derived from the seed: demo data only):"]
        width = max((len(p.name) for p in self.parties), default=0)
        out += [f"  {p.name:<{width}}  {p.role:<7}  {p.api_key}" for p in self.parties]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def demo_api_key(seed: int, slug: str) -> str:
    """The demo party's API key: derived from the seed so that reloading the demo (or restarting
    `corridor serve --demo`) keeps the keys people logged in with. Demo data only."""
    digest = hashlib.sha256(f"corridor-demo/{seed}/{slug}".encode()).hexdigest()
    return f"cor_demo_{slug}_{digest[:24]}"


def _register(conn: Connection, actor: Actor, seed: int) -> DemoParty:
    try:
        party = find_party(conn, actor.pgln)
    except PartyError:
        party, _ = add_party(conn, actor.name, actor.pgln, role=actor.role)
    key = demo_api_key(seed, actor.slug)
    with conn.transaction():
        # The parties table keeps only the key's hash; set the derived key's hash.
        conn.execute("UPDATE parties SET key_hash = ? WHERE id = ?",
                     (hash_api_key(key), party.id))
    return DemoParty(actor.slug, party.name, party.identifier, party.role, party.id, key)


def _fx(conn: Connection, scenario: Scenario) -> int:
    """The recorded tables, then a rate for every business day of the scenario's period
    (corridor/demo/data/fx_history.yml), so no invoice is valued at a later rate."""
    if count_rates(conn) == 0:
        import_bundled(conn)
    events = scenario.all_events()
    if events:
        seed_history(conn, events[0].time.date(), events[-1].time.date())
    return count_rates(conn)


def _describe_places(conn: Connection, ledger: RunningLog, parties: dict[str, DemoParty]
                     ) -> None:
    """Each operator captures the master data of its sites (names, countries, coordinates)
    through the capture path, which stores it; the dashboard reads its places from them.
    Repeating it changes nothing."""
    for slug, doc in master_data_documents():
        party = parties[slug]
        parsed = read_document(json.dumps(doc).encode(), "application/ld+json")
        result = capture_document(conn, ledger, parsed, party_id=party.party_id,
                                  party_identifier=party.identifier)
        if not result.success:
            raise DemoError(f"capture of {slug}'s master data was refused: {result.errors[:3]}")


def load_demo(settings: Settings, shipments: int = 200, seed: int = 7, *,
              ledger: RunningLog | None = None) -> DemoSummary:
    """Load `shipments` shipments of the scenario drawn from `seed` into the node's database.

    `ledger` is the node's running log (corridor.node.RunningLog) when the caller already has
    one (corridor serve); otherwise one is opened on `settings`."""
    if shipments < 1:
        raise DemoError(f"shipments: must be at least 1, got {shipments}")
    db = Database(settings.db_url)
    own_ledger = ledger is None
    if ledger is None:
        ledger = open_ledger(settings, db)
    conn = db.connect()
    try:
        migrate(db, conn)
        parties = {a.slug: _register(conn, a, seed) for a in ACTORS}
        for auditor, party in AUDITOR_GRANTS:
            grant_auditor(conn, parties[auditor].party_id, parties[party].party_id)
        scenario = generate(shipments, seed)
        rates = _fx(conn, scenario)
        _describe_places(conn, ledger, parties)
        total = sum(1 for _ in scenario.all_events())
        ids = [p.party_id for p in parties.values()]
        marks = ",".join("?" * len(ids))
        # the scenario's own events: not the insurance's nor the notices, which add to them
        row = conn.fetchone(f"SELECT COUNT(*) FROM events WHERE captured_by IN ({marks}) AND "
                            f"(biz_step IS NULL OR biz_step NOT IN (?, ?, ?))",
                            [*ids, *INSURANCE_STEPS])
        summary = DemoSummary(shipments, seed, total, 0, 0, list(parties.values()),
                              fx_rates=rates)
        if row and int(row[0]) >= total:
            summary.already_loaded = True
        else:
            for slug, doc in documents(scenario):
                party = parties[slug]
                parsed = read_document(json.dumps(doc).encode(), "application/ld+json")
                result = capture_document(conn, ledger, parsed, party_id=party.party_id,
                                          party_identifier=party.identifier)
                if not result.success:
                    raise DemoError(f"capture of a {slug} document was refused: "
                                    f"{result.errors[:3]}")
                summary.events_captured += result.stored
                summary.documents += 1
        note = ledger.sign_now()
        summary.checkpoint_size = int(note.decode().split("\n")[1])
        # certificates carry receipts: they need the checkpoint cosigned by the quorum first
        ledger.witness_now()
        if ledger.checkpoint() is None:
            raise DemoError(f"no witnessed checkpoint to issue certificates against: "
                            f"{ledger.waiting_for()}")
        certificates = issue_demo_credentials(settings, db, conn, ledger, scenario, seed)
        summary.credentials_issued = certificates.issued
        summary.credentials_revoked = certificates.revoked
        summary.insurance = insure_demo(conn, ledger, parties, scenario)
        summary.checkpoint_size = ledger.size()  # insure_demo signed what it added
    finally:
        conn.close()
        if own_ledger:
            ledger.close()
    return summary
