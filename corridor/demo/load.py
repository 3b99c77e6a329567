"""Load the demo scenario into a node: parties, recorded FX rates, events captured through the
real capture path (validation, Event Hash ID, index rows, log entries), then a signed
checkpoint. Loading twice changes nothing: parties are found again, captures are idempotent,
and a complete load is recognised and skipped."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from corridor.config import Settings
from corridor.demo.actors import ACTORS, AUDITOR_GRANTS, Actor
from corridor.demo.scenario import AS_OF, documents, generate
from corridor.store.db import Connection, Database


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
    as_of: str = AS_OF.isoformat()
    already_loaded: bool = False

    def lines(self) -> list[str]:
        """Human-readable summary, with the demo parties' API keys for the login form."""
        head = (f"{self.shipments} shipments (seed {self.seed}), {self.events_total} events"
                f" as of {self.as_of}; "
                + ("already loaded" if self.already_loaded
                   else f"captured {self.events_captured} in {self.documents} documents")
                + f"; log checkpoint size {self.checkpoint_size}; {self.fx_rates} FX rates")
        out = [head, "Demo parties (API keys derived from the seed: demo data only):"]
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
    from corridor.store.parties import PartyError, add_party, find_party, hash_api_key

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


def _fx(conn: Connection) -> int:
    from corridor.fx.importer import import_bundled
    from corridor.store.fx_store import count_rates

    if count_rates(conn) == 0:
        import_bundled(conn)
    return count_rates(conn)


def _describe_places(conn: Connection, ledger: object, parties: dict[str, DemoParty]) -> None:
    """Each operator captures the master data of its sites (names, countries, coordinates)
    through the capture path; the dashboard reads its places from them. Repeating it changes
    nothing."""
    from corridor.capture import capture_document
    from corridor.demo.scenario import master_data_documents
    from corridor.epcis.documents import read_document
    from corridor.store.master_data import add_vocabulary_attributes, vocabulary_rows

    for slug, doc in master_data_documents():
        party = parties[slug]
        parsed = read_document(json.dumps(doc).encode(), "application/ld+json")
        result = capture_document(conn, ledger, parsed, party_id=party.party_id,
                                  party_identifier=party.identifier)
        if not result.success:
            raise DemoError(f"capture of {slug}'s master data was refused: {result.errors[:3]}")
        # The capture path keeps the location hierarchy of master data, not yet attributes.
        with conn.transaction():
            add_vocabulary_attributes(conn, vocabulary_rows(parsed.header, parsed.namespaces))


def load_demo(settings: Settings, shipments: int = 200, seed: int = 7, *,
              ledger: object | None = None) -> DemoSummary:
    """Load `shipments` shipments of the scenario drawn from `seed` into the node's database.

    `ledger` is the node's running log (corridor.node.RunningLog) when the caller already has
    one (corridor serve); otherwise one is opened on `settings`."""
    from corridor.capture import capture_document
    from corridor.epcis.documents import read_document
    from corridor.node import open_ledger
    from corridor.store.migrations import migrate
    from corridor.store.parties import grant_auditor

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
        rates = _fx(conn)
        _describe_places(conn, ledger, parties)
        scenario = generate(shipments, seed)
        total = sum(1 for _ in scenario.all_events())
        ids = [p.party_id for p in parties.values()]
        marks = ",".join("?" * len(ids))
        row = conn.fetchone(f"SELECT COUNT(*) FROM events WHERE captured_by IN ({marks})", ids)
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
        note = ledger.sign_now()  # type: ignore[attr-defined]
        summary.checkpoint_size = int(note.decode().split("\n")[1])
    finally:
        conn.close()
        if own_ledger:
            ledger.close()  # type: ignore[attr-defined]
    return summary
