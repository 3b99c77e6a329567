"""Where a viewer's view of a unit ends (corridor.query.custody) and who an identifier names
(corridor.query.parties): from the events the viewer may read, and nothing invented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corridor.config import Settings
from corridor.epcis.identifiers import canonical
from corridor.query.custody import handover, last_seen, named_ids
from corridor.query.events_view import EventRow
from corridor.query.parties import PartyNames, party_names
from corridor.query.places import Place, Places
from corridor.query.visibility import Viewer
from corridor.store.db import Database
from corridor.store.master_data import add_vocabulary_attributes, vocabulary_rows
from corridor.store.migrations import migrate
from corridor.store.parties import add_party

FERRY_GLN = "4760201000006"
NAMES = PartyNames(
    by_key={"https://id.gs1.org/417/4760201000006": "Caspian Ferry & Feeder Line",
            "https://id.gs1.org/417/8010603000002": "Metalli Padani S.p.A."},
    by_gln={FERRY_GLN: "Caspian Ferry & Feeder Line",
            "8010603000002": "Metalli Padani S.p.A."})
AKTAU = Place("aktau", "Port of Aktau", "KZAAU", "KZ", 43.6, 51.2,
              "urn:epc:id:sgln:4870104.00010.0", canonical("urn:epc:id:sgln:4870104.00010.0"))
ALAT = Place("alat", "Port of Baku (Alat)", "AZALA", "AZ", 39.95, 49.41,
             "urn:epc:id:sgln:4760202.00010.0", canonical("urn:epc:id:sgln:4760202.00010.0"))
PLACES = Places([AKTAU, ALAT])


def _row(pk: int, step: str, doc: dict[str, Any], place: Place | None = AKTAU) -> EventRow:
    return EventRow(pk, f"e{pk}", f"h{pk}", "ObjectEvent", "OBSERVE",
                    f"2026-03-0{pk}T10:00:00.000000Z", "", step, "in_transit",
                    place.location if place else None, place.location if place else None,
                    "urn:epc:id:pgln:4870104.00000", 1, pk, {"bizStep": step, **doc}, place)


def test_a_bill_of_lading_on_a_loading_event_names_the_carrier() -> None:
    doc = {"bizTransactionList": [
        {"type": "urn:epcglobal:cbv:btt:bol",
         "bizTransaction": f"urn:epcglobal:cbv:bt:{FERRY_GLN}:CFL-BL-000012"}],
        "destinationList": [{"type": "owning_party",
                             "destination": "urn:epc:id:pgln:8010603.00000"}]}
    told = handover({"bizStep": "loading", **doc}, NAMES, PLACES)
    assert (told.to, told.via, told.bound_for) == (
        "Caspian Ferry & Feeder Line", "bill of lading CFL-BL-000012", "Metalli Padani S.p.A.")
    # The same bill on a receiving event says where it came from, not where it went.
    assert handover({"bizStep": "receiving", **doc}, NAMES, PLACES).to is None
    # An issuer the node does not know is not guessed.
    unknown = {"bizStep": "loading", "bizTransactionList": [
        {"type": "bol", "bizTransaction": "urn:epcglobal:cbv:bt:1234567000004:X"}]}
    assert handover(unknown, NAMES, PLACES).to is None


def test_a_possessing_party_destination_and_a_location_are_read() -> None:
    doc = {"bizStep": "departing", "destinationList": [
        {"type": "https://ref.gs1.org/cbv/SDT-possessing_party",
         "destination": "urn:epc:id:pgln:4760201.00000"},
        {"type": "location", "destination": "urn:epc:id:sgln:4760202.00010.0"}]}
    told = handover(doc, NAMES, PLACES)
    assert (told.to, told.via, told.bound_for) == (
        "Caspian Ferry & Feeder Line", None, "Port of Baku (Alat)")


def test_last_seen_reads_the_events_at_the_last_place() -> None:
    bol = {"bizTransactionList": [{"type": "bol", "bizTransaction":
                                   f"urn:epcglobal:cbv:bt:{FERRY_GLN}:CFL-BL-7"}]}
    events = [_row(1, "receiving", {}), _row(2, "loading", bol), _row(3, "holding", {})]
    seen = last_seen(events, NAMES, PLACES)
    assert seen is not None
    assert seen.text == "last seen by you at Port of Aktau, handed over to " \
        "Caspian Ferry & Feeder Line"
    assert (seen.where, seen.place_key, seen.biz_step) == ("Port of Aktau", "aktau", "holding")
    quiet = last_seen([_row(1, "arriving", {})], NAMES, PLACES)
    assert quiet is not None and quiet.text == "last seen by you at Port of Aktau"


def test_party_names_and_who_the_viewer_is_named_by(tmp_path: Path) -> None:
    db = Database(Settings(data_dir=tmp_path).db_url)
    with db.connect() as conn:
        migrate(db, conn)
        ferry, _ = add_party(conn, "Caspian Ferry & Feeder Line", "urn:epc:id:pgln:4760201.00000")
        with conn.transaction():  # a master data name of an identifier no party registered
            add_vocabulary_attributes(conn, vocabulary_rows({"epcisHeader": {
                "epcisMasterData": {"vocabularyList": [{
                    "type": "urn:epcglobal:epcis:vtype:SourceDest",
                    "vocabularyElementList": [
                        {"id": "urn:epc:id:pgln:4860399.00000", "attributes": [
                            {"id": "urn:epcglobal:cbv:mda:name",
                             "attribute": "Tbilisi Dry Port"}]},
                        {"id": "urn:epc:id:pgln:4760201.00000", "attributes": [
                            {"id": "urn:epcglobal:cbv:mda:name", "attribute": "Another"}]},
                    ]}]}}}, {}))
        names = party_names(conn)
        assert names.name("urn:epc:id:pgln:4760201.00000") == "Caspian Ferry & Feeder Line"
        assert names.name("https://id.gs1.org/417/4760201000006") == \
            "Caspian Ferry & Feeder Line"  # its Digital Link too
        assert names.name("urn:epc:id:pgln:4860399.00000") == "Tbilisi Dry Port"
        assert names.label("urn:epc:id:pgln:9999999.00000") == "urn:epc:id:pgln:9999999.00000"
        assert names.issuer(f"urn:epcglobal:cbv:bt:{FERRY_GLN}:CFL-BL-1") == \
            "Caspian Ferry & Feeder Line"
        assert names.by_id[ferry.id] == "Caspian Ferry & Feeder Line"
        viewer = Viewer(ferry.id, ferry.identifiers, ferry.role)
        assert named_ids(conn, viewer) == set()
        assert named_ids(conn, Viewer(None, (), "admin")) is None
