"""`corridor log export|verify|audit` and `corridor receipt verify`: a sound log passes; a
rollback, a fork, a changed entry, tile, checkpoint or event document, a wrong signature or a
missing cosignature each fail with a message naming what and where (randomised mutations)."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from corridor.api.log_routes import witness_app
from corridor.cli import main
from corridor.config import Settings, WitnessConfig
from corridor.ledger.jcs import canonicalize
from corridor.ledger.note import generate_signer
from corridor.ledger.witness import FileState, Witness
from corridor.node import RunningLog as Ledger
from corridor.node import load_or_create_signer
from tests.ledger.ledgertest import ORIGIN, Server, append, make_entries


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def witnessed(node: Callable[..., Ledger], servers, tmp_path: Path):
    """A node of 1000 entries cosigned by one witness, exported; plus its export at 600."""
    log_key = load_or_create_signer(Settings(data_dir=tmp_path / "node",
                                             log_origin=ORIGIN)).verifier
    w = Witness(generate_signer("w1.test"), [log_key], FileState(tmp_path / "w.json"))
    server = Server(witness_app(w)).start()
    servers.append(server)
    ledger = node(witnesses=[WitnessConfig(server.url, w.verifier.vkey)], quorum=1)
    append(ledger, 600)
    ledger.sign_now()
    assert ledger.witness_now() == 1
    ledger.export(tmp_path / "at600")
    append(ledger, 400)
    ledger.sign_now()
    assert ledger.witness_now() == 1
    code, out = run("log", "export", str(tmp_path / "mirror"), "--data-dir",
                    str(tmp_path / "node"), "--db", ledger.settings.db_url, "--origin", ORIGIN)
    assert code == 0, out
    return ledger, log_key.vkey, w.verifier.vkey


def test_sound_log_verifies_and_state_tracks_it(witnessed, tmp_path: Path) -> None:
    ledger, vkey, wkey = witnessed
    state = tmp_path / "state"
    code, out = run("log", "verify", str(tmp_path / "at600"), "--vkey", vkey, "--witness", wkey,
                    "--state", str(state))
    assert code == 0 and "size 600" in out, out
    code, out = run("log", "verify", str(tmp_path / "mirror"), "--vkey", vkey, "--witness",
                    wkey, "--state", str(state))
    assert code == 0 and "size 1000" in out and "consistent with size 600" in out, out
    # Rollback: the old mirror after the newer one was verified.
    code, out = run("log", "verify", str(tmp_path / "at600"), "--vkey", vkey, "--witness", wkey,
                    "--state", str(state))
    assert code != 0 and "rollback" in out and "600" in out and "1000" in out, out
    # Wrong key, missing cosignature.
    other = generate_signer(ORIGIN).verifier.vkey
    code, out = run("log", "verify", str(tmp_path / "mirror"), "--vkey", other)
    assert code != 0 and "wrong signature" in out and "checkpoint" in out, out
    stranger = generate_signer("w2.test").as_cosigner().verifier.vkey
    code, out = run("log", "verify", str(tmp_path / "mirror"), "--vkey", vkey, "--witness",
                    wkey, "--witness", stranger, "--quorum", "2")
    assert code != 0 and "missing cosignature" in out and "w2.test" in out, out
    code, out = run("log", "audit", "--data-dir", str(tmp_path / "node"), "--db",
                    ledger.settings.db_url, "--origin", ORIGIN, "--witness", wkey)
    assert code == 0 and "size 1000" in out, out
    # A changed entry: one character of entry 300's party line.
    bundle = tmp_path / "mirror" / "tile" / "entries" / "001"
    data = bundle.read_bytes()
    entry_300 = make_entries(300, 1)[0].encode()
    at = data.index(entry_300) + entry_300.index(b"party ") + 8
    bundle.write_bytes(data[:at] + b"X" + data[at + 1:])
    code, out = run("log", "verify", str(tmp_path / "mirror"), "--vkey", vkey, "--witness", wkey)
    assert code != 0 and "changed entry: entry 300" in out and "tile/entries/001" in out, out


def test_fork_is_detected(witnessed, node: Callable[..., Ledger], tmp_path: Path) -> None:
    _, vkey, wkey = witnessed
    state = tmp_path / "state"
    assert run("log", "verify", str(tmp_path / "mirror"), "--vkey", vkey, "--state",
               str(state), "--witness", wkey, "--quorum", "0")[0] == 0
    # A second store signed with the same key but other entries: the operator forking.
    fork_dir = tmp_path / "forknode"
    (fork_dir / "keys").mkdir(parents=True)
    shutil.copy(tmp_path / "node" / "keys" / "log.key", fork_dir / "keys" / "log.key")
    fork = node(db_url=f"sqlite:///{tmp_path / 'fork.sqlite3'}", data_dir=fork_dir)
    conn = fork._conn()
    with conn.transaction():
        fork.append(conn, make_entries(0, 999) + make_entries(5000, 101))
    fork.sign_now()
    fork.export(tmp_path / "forked")
    code, out = run("log", "verify", str(tmp_path / "forked"), "--vkey", vkey, "--state",
                    str(state))
    assert code != 0 and "fork" in out and "size 1000" in out, out


def _mutate(data: bytes, rng: random.Random, text: bool) -> bytes:
    i = rng.randrange(len(data))
    if text:  # keep notes valid UTF-8 text so the change is about content, not encoding
        chars = data.decode()
        i = rng.randrange(len(chars))
        new = rng.choice([c for c in "ABCxyz019+/=\n " if c != chars[i]])
        return (chars[:i] + new + chars[i + 1:]).encode()
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]


def test_random_changes_to_the_mirror_fail_verification(witnessed, tmp_path: Path) -> None:
    _, vkey, wkey = witnessed
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    files = sorted(p for p in (tmp_path / "mirror").rglob("*") if p.is_file()
                   and p.name != "info")
    for trial in range(30):
        copy = tmp_path / f"t{trial}"
        shutil.copytree(tmp_path / "mirror", copy)
        victim = copy / rng.choice(files).relative_to(tmp_path / "mirror")
        victim.write_bytes(_mutate(victim.read_bytes(), rng, victim.name == "checkpoint"))
        code, out = run("log", "verify", str(copy), "--vkey", vkey, "--witness", wkey)
        assert code != 0, f"seed {seed}: change to {victim} went unnoticed"
        named = victim.relative_to(copy).as_posix()
        assert any(w in out for w in ("checkpoint", "tile", "root")), f"seed {seed}: {out}"
        if "tile/entries" in named:
            assert "entr" in out, f"seed {seed}: {out}"
        shutil.rmtree(copy)


def _stored_event(i: int) -> dict[str, object]:
    """The document of the stored event of entry i (< 20)."""
    return {"type": "ObjectEvent", "eventTime": "2026-11-27T10:00:00Z", "n": i,
            "eventID": f"e{i}"}


def _fill_events(db: str, ledger: Ledger) -> bool:
    """Rows in the events table (if its columns are the expected ones) for entries 0..19,
    with the columns the entries commit to."""
    con = sqlite3.connect(db)
    cols = con.execute("PRAGMA table_info(events)").fetchall()
    names = {c[1] for c in cols}
    doc_col = "document" if "document" in names else "doc"
    if not {"event_id", "hash_id", doc_col, "log_index"} <= names:
        return False
    for i in range(20):
        doc = canonicalize(_stored_event(i)).decode()
        entry = make_entries(i, 1)[0]
        values = {"event_id": f"e{i}", "hash_id": entry.event_hash_id,
                  doc_col: doc, "log_index": i}
        values.update({k: v for k, v in (("party", entry.party),
                                         ("record_time", entry.record_time)) if k in names})
        for _, name, _type, notnull, default, pk in cols:
            if notnull and default is None and not pk and name not in values:
                values[name] = f"x{i}"
        con.execute(f"INSERT INTO events ({', '.join(values)}) VALUES "
                    f"({', '.join('?' * len(values))})", list(values.values()))
    con.commit()
    con.close()
    return True


def _copy_db(src: Path, dst: Path) -> None:
    """Copy a live SQLite database, WAL content included."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def test_random_changes_to_the_store_fail_the_audit(node: Callable[..., Ledger],
                                                    tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    db = tmp_path / "audit.sqlite3"
    url = f"sqlite:///{db}"
    ledger = node(db_url=url, data_dir=tmp_path / "a")
    # Entries whose documents the events table holds, then more.
    conn = ledger._conn()
    entries = make_entries(0, 20)
    entries = [type(e)(e.event_hash_id, hashlib.sha256(canonicalize(_stored_event(i))).digest(),
        e.party, e.record_time) for i, e in enumerate(entries)]
    with conn.transaction():
        ledger.append(conn, entries)
    ledger.sign_now()
    append(ledger, 2100 - 20)
    ledger.sign_now()
    append(ledger, 3)
    has_events = _fill_events(str(db), ledger)
    assert ledger.audit() == []
    base = tmp_path / "base.sqlite3"
    _copy_db(db, base)
    with sqlite3.connect(base) as con:  # the last append grew the partial bundle by a piece
        assert con.execute("SELECT COUNT(*) FROM ledger_bundle_parts").fetchone()[0] >= 1
    con.close()
    targets = (["tile", "bundle", "checkpoint", "nodes", "piece", "piece gone"]
               + (["event", "event column"] * has_events))
    cli = ("log", "audit", "--data-dir", str(tmp_path / "a"), "--origin", ORIGIN, "--db")
    for trial in range(2 * len(targets)):
        kind = targets[trial % len(targets)]
        work = tmp_path / f"a{trial}.sqlite3"
        _copy_db(base, work)
        con = sqlite3.connect(work)
        if kind in ("tile", "bundle"):
            op = "<" if kind == "bundle" else ">="
            rows = con.execute(f"SELECT level, n, data FROM ledger_tiles WHERE level {op} 0"
                               ).fetchall()
            level, n, data = rng.choice(rows)
            con.execute("UPDATE ledger_tiles SET data = ? WHERE level = ? AND n = ?",
                        (_mutate(bytes(data), rng, False), level, n))
        elif kind == "piece":
            n, start, data = rng.choice(con.execute(
                "SELECT n, start, data FROM ledger_bundle_parts").fetchall())
            con.execute("UPDATE ledger_bundle_parts SET data = ? WHERE n = ? AND start = ?",
                        (_mutate(bytes(data), rng, False), n, start))
        elif kind == "piece gone":
            n, start = rng.choice(con.execute(
                "SELECT n, start FROM ledger_bundle_parts").fetchall())
            con.execute("DELETE FROM ledger_bundle_parts WHERE n = ? AND start = ?", (n, start))
        elif kind == "checkpoint":
            size, note = rng.choice(con.execute(
                "SELECT size, note FROM ledger_checkpoints").fetchall())
            con.execute("UPDATE ledger_checkpoints SET note = ? WHERE size = ?",
                        (_mutate(note.encode(), rng, True).decode(), size))
        elif kind == "nodes":
            level, n, nodes = rng.choice(con.execute(
                "SELECT level, n, nodes FROM ledger_tiles WHERE nodes IS NOT NULL").fetchall())
            con.execute("UPDATE ledger_tiles SET nodes = ? WHERE level = ? AND n = ?",
                        (_mutate(bytes(nodes), rng, False), level, n))
        elif kind == "event column":  # one the entry commits to, or captured_by
            col, value = rng.choice([("party", "urn:epc:id:pgln:4012345.00009"),
                                     ("record_time", "2026-11-28T00:00:00.000000Z"),
                                     ("event_id", "e-other"), ("captured_by", 1)])
            con.execute(f"UPDATE events SET {col} = ? WHERE log_index = ?",
                        (value, rng.randrange(20)))
        else:
            col = "document" if any(c[1] == "document" for c in con.execute(
                "PRAGMA table_info(events)")) else "doc"
            event_id, doc = rng.choice(con.execute(f"SELECT event_id, {col} FROM events"
                                                   ).fetchall())
            new = _mutate(doc.encode(), rng, True).decode()
            con.execute(f"UPDATE events SET {col} = ? WHERE event_id = ?", (new, event_id))
        con.commit()
        con.close()
        code, out = run(*cli, f"sqlite:///{work}")
        assert code != 0 and "PROBLEM" in out, f"seed {seed}: {kind} change unnoticed: {out}"
    # and the untouched copy still passes
    assert run(*cli, f"sqlite:///{base}")[0] == 0


def test_receipt_verify_command(witnessed, tmp_path: Path) -> None:
    ledger, vkey, wkey = witnessed
    receipt = tmp_path / "r.tlog-proof"
    receipt.write_bytes(ledger.receipt(777))
    code, out = run("receipt", "verify", str(receipt), "--vkey", vkey, "--witness", wkey)
    assert code == 0 and "entry 777" in out and "size 1000" in out, out
    bad = receipt.read_bytes().replace(b"index 777", b"index 778")
    (tmp_path / "bad.tlog-proof").write_bytes(bad)
    code, out = run("receipt", "verify", str(tmp_path / "bad.tlog-proof"), "--vkey", vkey,
                    "--witness", wkey)
    assert code != 0 and "inclusion of entry 778" in out, out
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"type": "ObjectEvent"}))
    code, out = run("receipt", "verify", str(receipt), "--vkey", vkey, "--witness", wkey,
                    "--event", str(event))
    assert code != 0 and "event" in out, out


def test_receipt_for_a_real_event_checks_the_event(node: Callable[..., Ledger],
                                                   tmp_path: Path) -> None:
    from corridor.epcis.hashid import event_hash_id
    from corridor.ledger.entry import LogEntry
    from corridor.ledger.jcs import document_digest

    event = {"type": "ObjectEvent", "eventTime": "2026-11-27T10:00:00.000Z",
             "eventTimeZoneOffset": "+05:00", "action": "OBSERVE",
             "epcList": ["urn:epc:id:sgtin:4012345.011111.1"],
             "bizStep": "shipping", "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"}}
    ledger = node()
    append(ledger, 5)
    conn = ledger._conn()
    with conn.transaction():
        [index] = ledger.append(conn, [LogEntry(event_hash_id(event), document_digest(event),
                                                "urn:epc:id:pgln:4012345.00000",
                                                "2026-11-27T10:00:01.000000Z", b"sig")])
    ledger.sign_now()
    receipt = tmp_path / "e.tlog-proof"
    receipt.write_bytes(ledger.receipt(index))
    good, changed = tmp_path / "good.json", tmp_path / "changed.json"
    good.write_text(json.dumps(event, indent=2))
    changed.write_text(json.dumps({**event, "eventTimeZoneOffset": "+04:00"}))
    vkey = ledger.signer.verifier.vkey
    code, out = run("receipt", "verify", str(receipt), "--vkey", vkey, "--event", str(good))
    assert code == 0 and f"entry {index}" in out, out
    code, out = run("receipt", "verify", str(receipt), "--vkey", vkey, "--event", str(changed))
    assert code != 0 and "event hash id" in out, out


def test_receipt_event_with_extension_fields_needs_its_context(node: Callable[..., Ledger],
                                                               tmp_path: Path) -> None:
    from corridor.epcis.hashid import event_hash_id
    from corridor.ledger.entry import LogEntry
    from corridor.ledger.jcs import document_digest

    namespaces = {"ex": "https://ns.example.org/epcis/"}
    event = {"type": "ObjectEvent", "eventTime": "2026-11-27T10:00:00.000Z",
             "eventTimeZoneOffset": "+05:00", "action": "ADD",
             "epcList": ["urn:epc:id:sgtin:4012345.011111.2"], "ex:cnCode": "72024110"}
    ledger = node()
    conn = ledger._conn()
    with conn.transaction():
        [index] = ledger.append(conn, [LogEntry(event_hash_id(event, namespaces),
                                                document_digest(event), "p",
                                                "2026-11-27T10:00:01Z")])
    ledger.sign_now()
    receipt = tmp_path / "x.tlog-proof"
    receipt.write_bytes(ledger.receipt(index))
    bare, with_context = tmp_path / "bare.json", tmp_path / "ctx.json"
    bare.write_text(json.dumps(event))
    with_context.write_text(json.dumps({"@context": [
        "https://ref.gs1.org/standards/epcis/epcis-context.jsonld", namespaces], **event}))
    vkey = ledger.signer.verifier.vkey
    code, out = run("receipt", "verify", str(receipt), "--vkey", vkey, "--event",
                    str(with_context))
    assert code == 0, out
    code, out = run("receipt", "verify", str(receipt), "--vkey", vkey, "--event", str(bare))
    assert code != 0 and "@context" in out, out


def test_split_view_a_forked_node_gets_no_cosignature(witnessed, node: Callable[..., Ledger],
                                                      tmp_path: Path) -> None:
    ledger, _, _ = witnessed
    fork_dir = tmp_path / "forknode"
    (fork_dir / "keys").mkdir(parents=True)
    shutil.copy(tmp_path / "node" / "keys" / "log.key", fork_dir / "keys" / "log.key")
    fork = node(db_url=f"sqlite:///{tmp_path / 'fork.sqlite3'}", data_dir=fork_dir,
                witnesses=ledger.settings.witnesses, quorum=1)
    conn = fork._conn()
    with conn.transaction():
        fork.append(conn, make_entries(0, 999) + make_entries(7000, 301))
    fork.sign_now()
    assert fork.witness_now() == 0  # the witness saw the honest 1000 first
    assert fork.checkpoint() is None and fork.links[0].last_error
    append(ledger, 10)
    ledger.sign_now()
    assert ledger.witness_now() == 1  # the honest log goes on being cosigned


def test_parallel_verification_reports_the_same(witnessed, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from corridor.ledger import verify
    from corridor.ledger.note import parse_vkey
    from corridor.ledger.policy import threshold_policy
    from corridor.ledger.transport import directory_fetcher

    _, vkey, _ = witnessed
    monkeypatch.setattr(verify, "PARALLEL_MIN_TILES", 1)
    log = parse_vkey(vkey)
    policy = threshold_policy(log, [], 0)
    mirror = tmp_path / "mirror"
    result = verify.verify_log(directory_fetcher(mirror), log, policy, workers=2)
    assert result.checkpoint.size == 1000
    bundle = mirror / "tile" / "entries" / "002"
    data = bundle.read_bytes()
    at = data.index(b"party ", 2000) + 7
    bundle.write_bytes(data[:at] + b"Z" + data[at + 1:])
    with pytest.raises(verify.VerifyError, match=r"changed entry: entry 5\d\d \(tile/entries/002"):
        verify.verify_log(directory_fetcher(mirror), log, policy, workers=2)
