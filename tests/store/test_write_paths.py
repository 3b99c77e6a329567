"""The fast write paths: batched inserts on PostgreSQL (COPY, multi-row INSERT), the capture
writer thread, background WAL checkpoints and incremental entry bundles."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corridor.capture import CaptureWriter, capture_document, prepare_work
from corridor.config import Settings
from corridor.ledger.tiles import ENTRIES, Edge, append_entries, encode_bundle
from corridor.node import open_ledger
from corridor.store import wal
from corridor.store.db import Connection, Database
from corridor.store.migrations import migrate
from corridor.store.wal import WalCheckpointer, tune_writer
from tests.store.test_capture_store import PARTY, _doc, _event

# Values COPY's text format must escape, and types of every kind the store writes.
AWKWARD = ["tab\there", "new\nline", "back\\slash", "\\N", "quote ' and \"", "ünï €", "",
           "x" * 5000]


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    db = Database(db_url)
    c = db.connect()
    with c.transaction():
        c.execute(db.sql("CREATE TABLE t (id {BIGINT} PRIMARY KEY, s TEXT, b {BLOB}, r {REAL},"
                         " n INTEGER)"))
    yield c
    c.close()


def _rows(n: int, start: int = 0) -> list[tuple[Any, ...]]:
    return [(start + i, AWKWARD[i % len(AWKWARD)] if i % 7 else None,
             bytes([i % 256, 0, 255]) if i % 5 else None, i / 3 if i % 3 else None,
             i if i % 2 else None) for i in range(n)]


def test_plain_insert_keeps_every_value(conn: Connection) -> None:
    rows = _rows(300)
    with conn.transaction():
        conn.executemany("INSERT INTO t (id, s, b, r, n) VALUES (?, ?, ?, ?, ?)", rows)
    got = [(r[0], r[1], None if r[2] is None else bytes(r[2]), r[3], r[4])
           for r in conn.fetchall("SELECT id, s, b, r, n FROM t ORDER BY id")]
    assert got == rows


def test_insert_on_conflict_in_chunks(conn: Connection) -> None:
    """More rows than one statement's parameters: several chunks; duplicates skipped."""
    rows = [(i, f"s{i}", None, None, i) for i in range(7000)]
    with conn.transaction():
        conn.executemany("INSERT INTO t (id, s, b, r, n) VALUES (?, ?, ?, ?, ?)"
                         " ON CONFLICT DO NOTHING", rows + rows[:10])
        conn.executemany("INSERT INTO t (id, s, b, r, n) VALUES (?, ?, ?, ?, ?)"
                         " ON CONFLICT (id) DO UPDATE SET s = excluded.s",
                         [(1, "one", None, None, 1), (2, "two", None, None, 2)])
    assert conn.fetchone("SELECT COUNT(*), SUM(n) FROM t") == (7000, sum(range(7000)))
    assert conn.fetchone("SELECT s FROM t WHERE id = 2") == ("two",)


def test_failed_batch_leaves_nothing(conn: Connection) -> None:
    with pytest.raises(Exception), conn.transaction():  # noqa: B017 - either driver's error
        conn.executemany("INSERT INTO t (id, s, b, r, n) VALUES (?, ?, ?, ?, ?)",
                         _rows(50) + [(3, "again", None, None, None)])
    assert conn.fetchone("SELECT COUNT(*) FROM t") == (0,)


def test_bundle_bytes_are_the_same_appended_in_steps() -> None:
    """Small appends reuse the partial bundle's bytes; the result must not depend on them."""
    entries = [f"entry {i}\n".encode() * (i % 5 + 1) for i in range(700)]
    edge = Edge(0, [], [])
    bundles: dict[int, bytes] = {}
    done = 0
    for step in (1, 2, 3, 50, 1, 200, 7, 300, 136):
        edge, writes = append_entries(edge, entries[done:done + step])
        done += step
        bundles.update({n: data for (level, n), (data, _, _) in writes.items()
                        if level == ENTRIES})
        n = done // 256
        expected = encode_bundle(entries[n * 256:done])
        assert edge.bundle_data == expected or (not expected and edge.bundle_data == b"")
    assert done == 700 and sorted(bundles) == [0, 1, 2]
    for n, data in bundles.items():
        assert data == encode_bundle(entries[n * 256:(n + 1) * 256])


def _store(tmp_path: Path) -> tuple[Database, Any]:
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    db = Database(url)
    with db.connect() as c:
        migrate(db, c)
    return db, open_ledger(Settings(data_dir=tmp_path, db_url=url), db)


def test_writer_restarts_after_close_and_survives_a_broken_database(tmp_path: Path) -> None:
    db, ledger = _store(tmp_path)
    writer = CaptureWriter(db, ledger)
    with db.connect() as c:
        first = capture_document(c, ledger, _doc([_event("W1")]), party_id=None,
                                 party_identifier=PARTY, committer=writer)
        writer.close()
        second = capture_document(c, ledger, _doc([_event("W2")]), party_id=None,
                                  party_identifier=PARTY, committer=writer)
    writer.close()
    assert first.success and second.success
    assert [first.events[0].log_index, second.events[0].log_index] == [0, 1]

    class Broken:
        dialect = "sqlite"
        sqlite_path = ":memory:"

        def connect(self) -> Connection:
            raise OSError("database unreachable")

    broken = CaptureWriter(Broken(), ledger)
    work = prepare_work(_doc([_event("W3")]), party_id=None, party_identifier=PARTY)
    assert not isinstance(work, list)
    with pytest.raises(OSError, match="unreachable"):
        broken.commit(work)
    with pytest.raises(OSError, match="unreachable"):  # the thread is still there to answer
        broken.commit(work)
    broken.close()


def test_wal_checkpoints_run_in_the_background(tmp_path: Path) -> None:
    """The busy writer leaves checkpoints to the WalCheckpointer: pages reach the database file
    although the writer's own automatic limit is far away."""
    db = Database(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    conn = db.connect()
    tune_writer(conn)
    conn.execute("CREATE TABLE blobs (b BLOB)")
    checkpointer = WalCheckpointer(db)
    try:
        size_before = os.path.getsize(db.sqlite_path)
        for _ in range(8):
            with conn.transaction():
                conn.executemany("INSERT INTO blobs (b) VALUES (?)",
                                 [(os.urandom(4096),) for _ in range(64)])
            checkpointer.committed(conn)
        deadline = time.monotonic() + 10
        while os.path.getsize(db.sqlite_path) < size_before + 2_000_000:
            assert time.monotonic() < deadline, "no checkpoint reached the database file"
            time.sleep(0.05)
    finally:
        checkpointer.close()
        conn.close()


def _wal_restarts(db: Database) -> int:
    """The WAL header's checkpoint sequence number: SQLite adds one each time it writes the
    WAL from its start again (https://www.sqlite.org/fileformat.html#wal_file_format)."""
    with open(f"{db.sqlite_path}-wal", "rb") as wal_file:
        return int.from_bytes(wal_file.read(16)[12:16], "big")


def _commit_pages(conn: Connection, pages: int) -> None:
    with conn.transaction():
        conn.executemany("INSERT INTO blobs (b) VALUES (?)",
                         [(os.urandom(4000),) for _ in range(pages)])


def test_the_wal_restarts_under_a_steady_stream_of_commits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same with the thread running and the writer never pausing: the WAL is written from
    its start again and again, so it stays short, with the writer's own limit off."""
    monkeypatch.setattr(wal, "RESTART_PAGES", 256)
    monkeypatch.setattr(wal, "DELAY_S", 0.01)
    db = Database(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    conn = db.connect()
    conn.raw.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE blobs (b BLOB)")
    checkpointer = WalCheckpointer(db)
    try:
        _commit_pages(conn, 1)
        first = _wal_restarts(db)
        deadline = time.monotonic() + 20
        while _wal_restarts(db) < first + 3:
            assert time.monotonic() < deadline, "the WAL never started again"
            _commit_pages(conn, 4)
            checkpointer.committed(conn)
        # 4 KiB pages; no restart would leave ~1,000 pages of WAL per second here
        assert os.path.getsize(f"{db.sqlite_path}-wal") < 40 * 1024 * 1024
    finally:
        checkpointer.close()
        conn.close()


def test_reader_connection_transactions_stay_atomic(db_url: str) -> None:
    """A reader connection (autocommit on PostgreSQL) still gets all-or-nothing from
    transaction(), and its single reads need no ROLLBACK to see new data."""
    db = Database(db_url)
    with db.connect() as setup, setup.transaction():
        setup.execute("CREATE TABLE r (n INTEGER)")
    reader, writer = db.connect(reader=True), db.connect()
    try:
        with pytest.raises(RuntimeError), reader.transaction():
            reader.execute("INSERT INTO r (n) VALUES (1)")
            raise RuntimeError("abandon")
        assert reader.fetchone("SELECT COUNT(*) FROM r") == (0,)
        with reader.transaction():
            reader.execute("INSERT INTO r (n) VALUES (2)")
            reader.execute("INSERT INTO r (n) VALUES (3)")
        with writer.transaction():
            writer.execute("INSERT INTO r (n) VALUES (4)")
        assert reader.fetchone("SELECT SUM(n) FROM r") == (9,)
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("reader", [False, True])
def test_after_commit_runs_only_once_committed(db_url: str, reader: bool) -> None:
    """after_commit callbacks run after the outermost transaction commits, on writer and
    reader connections alike; never after a rollback, and not twice."""
    db = Database(db_url)
    conn = db.connect(reader=reader)
    calls: list[str] = []
    try:
        with pytest.raises(RuntimeError, match="outside a transaction"):
            conn.after_commit(lambda: calls.append("outside"))
        with pytest.raises(ValueError), conn.transaction():
            conn.after_commit(lambda: calls.append("rolled back"))
            raise ValueError("abandon")
        with conn.transaction():
            with conn.transaction():  # joins: runs when the outer one commits
                conn.after_commit(lambda: calls.append("inner"))
            assert calls == []
            conn.after_commit(lambda: calls.append("outer"))
        with conn.transaction():
            pass
        assert calls == ["inner", "outer"]
    finally:
        conn.close()


def _namespace_rows(conn: Connection) -> list[tuple[str, str]]:
    return [tuple(r) for r in conn.fetchall("SELECT prefix, iri FROM event_namespaces"
                                            " ORDER BY prefix")]


def test_namespaces_are_sent_once_per_connection_and_again_after_a_rollback(
        db_url: str, tmp_path: Path) -> None:
    """The writer skips namespace pairs its connection has committed, but a pair written in a
    transaction that rolled back is written again (else EQ_ex:f queries would not resolve)."""
    from corridor.store.events import remember_namespaces

    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    sent: list[str] = []
    real = conn.executemany

    def counting(sql: str, rows: Any) -> None:
        sent.append(sql)
        real(sql, rows)

    conn.executemany = counting  # type: ignore[method-assign]
    try:
        ns = {"ex": "https://example.com/ns/"}
        with pytest.raises(ValueError), conn.transaction():
            remember_namespaces(conn, ns)
            raise ValueError("abandon")
        assert _namespace_rows(conn) == []
        with conn.transaction():
            remember_namespaces(conn, ns)
        assert _namespace_rows(conn) == [("ex", "https://example.com/ns/")]
        assert len(sent) == 2
        with conn.transaction():
            remember_namespaces(conn, ns)
            remember_namespaces(conn, {**ns, "ex2": "https://example.com/two/"})
        assert len(sent) == 3  # only the new pair went out
        assert _namespace_rows(conn) == [("ex", "https://example.com/ns/"),
                                         ("ex2", "https://example.com/two/")]
        # what is remembered stays bounded: past the limit it starts again
        many = {f"p{k}": f"https://example.com/{k}/" for k in range(10_001)}
        with conn.transaction():
            remember_namespaces(conn, many)
        assert len(conn.committed_memo["namespaces"]) == 10_003
        with conn.transaction():
            remember_namespaces(conn, ns)
        assert len(sent) == 5 and conn.committed_memo["namespaces"] == {
            ("ex", "https://example.com/ns/")}
    finally:
        conn.close()


def test_a_group_commit_locks_and_reads_the_log_state_once(db_url: str, tmp_path: Path
                                                           ) -> None:
    """Ledger.lock hands the state it read to append: one read of ledger_state per group
    (on PostgreSQL, one SELECT ... FOR UPDATE round trip instead of two), and the entries
    still land at the right indices."""
    from corridor.capture import write_captures

    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    ledger = open_ledger(Settings(data_dir=tmp_path, db_url=db_url), db)
    reads: list[str] = []
    real = conn.execute

    def counting(sql: str, params: Any = ()) -> Any:
        if "FROM ledger_state" in sql:
            reads.append(sql)
        return real(sql, params)

    conn.execute = counting  # type: ignore[method-assign]
    try:
        for round_ in range(2):
            works = [prepare_work(_doc([_event(f"L{round_}-{k}-{i}") for i in range(3)]),
                                  party_id=None, party_identifier=PARTY) for k in range(2)]
            reads.clear()
            results = write_captures(conn, ledger, works)
            assert len(reads) == 1
            assert [e.log_index for r in results for e in r.events] == list(
                range(round_ * 6, round_ * 6 + 6))
        assert ledger.size() == 12
    finally:
        ledger.close()
        conn.close()


def test_partial_entry_bundles_grow_by_pieces(db_url: str, tmp_path: Path) -> None:
    """Each append to a partial entry bundle stores only its own entries (a piece), not the
    bundle again; every width reads back as the bundle of the entries so far; a bundle that
    fills becomes one row and its pieces go; a writer that reloads its edge (here: a new
    Ledger on the same store) writes the partial bundle whole, and the audit stays clean."""
    from tests.ledger.ledgertest import make_entries

    def ledger_at(data_dir: Path) -> Any:
        return open_ledger(Settings(data_dir=data_dir, db_url=db_url), db)

    def counts(c: Connection) -> tuple[int, int]:
        rows = c.fetchone("SELECT COUNT(*) FROM ledger_tiles WHERE level = ?", (ENTRIES,))
        pieces = c.fetchone("SELECT COUNT(*) FROM ledger_bundle_parts")
        return int(rows[0]), int(pieces[0])

    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    ledger = ledger_at(tmp_path / "a")
    entries = [e.encode() for e in make_entries(0, 600)]
    done = 0
    try:
        for step in (5, 1, 30, 100, 7, 120, 1, 2):  # 266: bundle 0 fills at the sixth step
            with conn.transaction():
                ledger.append(conn, entries[done:done + step])
            done += step
            for width in (1, done % 256 or 256):
                n = (done - 1) // 256
                got = ledger.read_tile(ENTRIES, n, width)
                assert got == encode_bundle(entries[n * 256:n * 256 + width])
            assert ledger.entry(done - 1) == entries[done - 1]
        # the first append (its edge read from the store) wrote bundle 0 as a row, the next
        # four as pieces; once full, bundle 0 is one row and its pieces went; bundle 1 has
        # grown by three pieces
        assert counts(conn) == (1, 3)
        assert ledger.read_tile(ENTRIES, 0, 256) == encode_bundle(entries[:256])
        pieces = conn.fetchall("SELECT n, start, width, data FROM ledger_bundle_parts"
                               " ORDER BY start")
        assert [(n, s, w, bytes(d)) for n, s, w, d in pieces] == [
            (1, 0, 7, encode_bundle(entries[256:263])),
            (1, 7, 8, encode_bundle(entries[263:264])),
            (1, 8, 10, encode_bundle(entries[264:266]))]
        assert ledger.audit() == []
        ledger.close()
        ledger = ledger_at(tmp_path / "a")  # a new writer: its edge comes from the store
        with conn.transaction():
            ledger.append(conn, entries[done:done + 3])
        done += 3
        assert counts(conn) == (2, 0)  # bundle 1 written whole, its pieces gone
        with conn.transaction():
            ledger.append(conn, entries[done:done + 4])
        done += 4
        assert counts(conn) == (2, 1)
        assert ledger.read_tile(ENTRIES, 1, done - 256) == encode_bundle(entries[256:done])
        assert ledger.audit() == []
    finally:
        ledger.close()
        conn.close()


def test_pieces_join_only_where_they_follow_each_other() -> None:
    from corridor.store.ledger_bundles import join_pieces

    assert join_pieces(None, []) == (None, [])
    assert join_pieces((3, b"abc"), []) == ((3, b"abc"), [])
    assert join_pieces(None, [(0, 2, b"ab"), (2, 5, b"cde")]) == ((5, b"abcde"), [])
    assert join_pieces((2, b"ab"), [(2, 3, b"c"), (3, 4, b"d")]) == ((4, b"abcd"), [])
    # a gap, an overlap, a piece starting inside the row: the bundle ends before them
    assert join_pieces(None, [(0, 2, b"ab"), (3, 4, b"d"), (4, 5, b"e")]) == (
        (2, b"ab"), [(3, 4, b"d"), (4, 5, b"e")])
    assert join_pieces((2, b"ab"), [(1, 3, b"xc")]) == ((2, b"ab"), [(1, 3, b"xc")])
    assert join_pieces(None, [(1, 2, b"b")]) == (None, [(1, 2, b"b")])
    # widths that do not grow, or pass a full bundle
    assert join_pieces(None, [(0, 0, b"")]) == (None, [(0, 0, b"")])
    assert join_pieces((250, b"x"), [(250, 257, b"y")]) == ((250, b"x"), [(250, 257, b"y")])


def test_keys_for_several_tables_in_one_query(db_url: str) -> None:
    """next_ids_of: distinct new keys per table, none for a count of 0, and the next call
    continues after them (SQLite: consecutive from MAX(id) + 1 inside the transaction)."""
    db = Database(db_url)
    conn = db.connect()
    migrate(db, conn)
    try:
        with conn.transaction():
            ids = conn.next_ids_of({"capture_jobs": 3, "events": 5, "subscriptions": 0})
            assert [len(ids[t]) for t in ("capture_jobs", "events", "subscriptions")] == [3, 5, 0]
            assert len(set(ids["events"])) == 5 and len(set(ids["capture_jobs"])) == 3
            if conn.dialect == "sqlite":
                assert ids["events"] == [1, 2, 3, 4, 5]
            more = conn.next_ids_of({"events": 2})["events"]
            if conn.dialect == "postgresql":  # a sequence never gives a key twice
                assert not set(more) & set(ids["events"])
        assert conn.next_ids_of({}) == {}
    finally:
        conn.close()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="no /proc task names here")
def test_the_writer_thread_is_named_in_the_os(tmp_path: Path) -> None:
    """bench_capture, top -H and perf find the writer (the serial stage under documents) by
    its OS thread name."""
    import threading

    db, ledger = _store(tmp_path)
    writer = CaptureWriter(db, ledger)
    try:
        with db.connect() as c:
            assert capture_document(c, ledger, _doc([_event("N1")]), party_id=None,
                                    party_identifier=PARTY, committer=writer).success
        thread = writer._thread
        assert thread is not None and thread.native_id is not None
        comm = Path(f"/proc/self/task/{thread.native_id}/comm").read_text().strip()
        assert comm == "capture-writer"
        ours = Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip()
        assert ours != "capture-writer"  # only the writer's own thread was renamed
    finally:
        writer.close()
