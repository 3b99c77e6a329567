"""Notices on a real node, SQLite and PostgreSQL: a posted notice is captured through the
capture path as the operator's event (Event Hash ID, log entry) and stored in the notices
table in the same transaction; the public cannot post; the filters select by node (either
spelling) and by time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from corridor.config import Settings
from corridor.monitoring.notices import NoticeError, notice_from_event
from corridor.monitoring.service import NotAllowed, notice, notices, post_notice
from corridor.node import RunningLog, open_ledger
from corridor.query import Viewer
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate
from corridor.store.notices import StoredNotice
from corridor.store.parties import add_party

NODE = "urn:epc:id:sgln:4870201.00001.0"
OTHER = "urn:epc:id:sgln:4870201.00002.0"
OPERATOR = "urn:epc:id:pgln:4870201.00000"


class Node:
    def __init__(self, settings: Settings) -> None:
        self.db = Database(settings.db_url)
        self.conn: Connection = self.db.connect()
        migrate(self.db, self.conn)
        self.ledger: RunningLog = open_ledger(settings, self.db)
        party, _ = add_party(self.conn, "Port of Aktau", OPERATOR)
        self.operator = Viewer(party.id, (OPERATOR,), "member")
        auditor, _ = add_party(self.conn, "Audit", "urn:example:audit", role="auditor")
        self.auditor = Viewer(auditor.id, ("urn:example:audit",), "auditor")

    def post(self, raw: Any, now: datetime | None = None) -> Any:
        return post_notice(self.conn, self.ledger, self.operator, raw, now=now)


@pytest.fixture
def node(db_url: str, tmp_path: Path) -> Iterator[Node]:
    found = Node(Settings(data_dir=tmp_path / "node", db_url=db_url))
    yield found
    found.conn.close()
    found.ledger.close()


def _notice(**change: Any) -> dict[str, Any]:
    return {"node": NODE, "kind": "load_cut", "value": 30,
            "validFrom": "2026-03-01T00:00:00Z", "validUntil": "2026-03-15T00:00:00Z",
            "text": "Crane maintenance", **change}


def test_a_posted_notice_is_a_logged_event_and_a_row(node: Node) -> None:
    posted = node.post(_notice())
    assert posted.hash_id.startswith("ni:///sha-256;") and posted.log_index >= 0
    row = node.conn.fetchone("SELECT captured_by, log_index, biz_step, doc FROM events"
                             " WHERE hash_id = ?", (posted.hash_id,))
    assert row is not None and row[0] == node.operator.party_id and row[1] == posted.log_index
    assert row[2] == "https://ns.corridor.example/epcis/bizstep/notice"
    # the stored event reads back as the notice
    assert notice_from_event(posted.hash_id, row[1], orjson.loads(row[3])) == posted
    assert node.ledger.size() == posted.log_index + 1
    stored = notice(node.conn, posted.hash_id)
    assert stored is not None and stored.notice == posted and stored.party == OPERATOR
    assert stored.notice.value == Decimal(30)


def test_the_public_and_auditors_cannot_post_and_bad_input_stores_nothing(node: Node) -> None:
    for viewer in (Viewer.PUBLIC, node.auditor):
        with pytest.raises(NotAllowed):
            post_notice(node.conn, node.ledger, viewer, _notice())
    with pytest.raises(NoticeError):
        node.post(_notice(kind="strike"))
    assert node.conn.fetchone("SELECT COUNT(*) FROM notices")[0] == 0
    assert node.conn.fetchone("SELECT COUNT(*) FROM events")[0] == 0


def test_a_notice_posted_twice_in_one_instant_is_one_notice(node: Node) -> None:
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    first, again = node.post(_notice(), now), node.post(_notice(), now)
    assert first == again
    assert node.conn.fetchone("SELECT COUNT(*) FROM notices")[0] == 1


def ids(found: list[StoredNotice]) -> list[str]:
    return [n.notice.hash_id for n in found]


def test_filters_by_node_and_time(node: Node) -> None:
    cut = node.post(_notice())
    closed = node.post(_notice(node="https://id.gs1.org/414/4870201000026", kind="border_closed",
                               value=None, validFrom="2026-03-10T00:00:00Z", validUntil=None))
    assert ids(notices(node.conn)) == [cut.hash_id, closed.hash_id]
    assert ids(notices(node.conn, node=NODE)) == [cut.hash_id]
    assert ids(notices(node.conn, node=OTHER)) == [closed.hash_id]  # the URN of that GLN
    at = datetime(2026, 3, 12, tzinfo=UTC)
    assert ids(notices(node.conn, at=at)) == [cut.hash_id, closed.hash_id]
    assert ids(notices(node.conn, at=datetime(2026, 3, 15, tzinfo=UTC))) == [closed.hash_id]
    assert ids(notices(node.conn, at=datetime(2026, 2, 1, tzinfo=UTC))) == []
    assert ids(notices(node.conn, start=datetime(2026, 2, 1, tzinfo=UTC),
                       end=datetime(2026, 3, 2, tzinfo=UTC))) == [cut.hash_id]
    assert ids(notices(node.conn, start=datetime(2027, 1, 1, tzinfo=UTC))) == [closed.hash_id]
    assert ids(notices(node.conn, limit=1)) == [cut.hash_id]
