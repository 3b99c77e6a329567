"""Parties store and `corridor party` CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from corridor.serving import AuthError, parse_bearer, problem_response
from corridor.store import Database, migrate
from corridor.store import parties as store
from corridor.store.parties import hash_api_key


@pytest.fixture(params=["sqlite", "postgresql"])
def conn(request, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    db = Database(url)
    c = db.connect()
    migrate(db, c)
    yield c
    c.close()


def _vkey() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def test_keys_are_random_and_stored_only_hashed(conn) -> None:
    p, key = store.add_party(conn, "Acme", "urn:epc:id:pgln:4012345.00000",
                             verifier_key=_vkey())
    _, key2 = store.add_party(conn, "Beta", "urn:epc:id:pgln:4012345.00001")
    assert key != key2 and len(key) > 40
    stored = conn.fetchall("SELECT key_hash FROM parties ORDER BY id")
    assert stored[0][0] == hashlib.sha256(key.encode()).hexdigest() == hash_api_key(key)
    dump = repr(conn.fetchall("SELECT * FROM parties"))
    assert key not in dump and key2 not in dump
    assert store.party_for_key(conn, key).id == p.id
    assert store.party_for_key(conn, key + "x") is None
    assert store.verifier_key_of(conn, p.id) is not None and len(store.verifier_key_of(
        conn, p.id)) == 32


def test_revoke_and_rotate(conn) -> None:
    p, key = store.add_party(conn, "Acme", "gln-1")
    new = store.rotate_key(conn, "Acme")
    assert store.party_for_key(conn, key) is None
    assert store.party_for_key(conn, new).id == p.id
    revoked = store.revoke_party(conn, "gln-1")
    assert revoked.revoked_at is not None and not revoked.active
    assert store.party_for_key(conn, new) is None
    with pytest.raises(store.PartyError, match="revoked"):
        store.rotate_key(conn, p.id)


def test_identifiers_shares_grants(conn) -> None:
    a, _ = store.add_party(conn, "A", "id-a", extra_identifiers=["sgln-a", "id-a"])
    b, _ = store.add_party(conn, "B", "id-b")
    aud, _ = store.add_party(conn, "Aud", "id-aud", role="auditor")
    assert a.identifiers == ("id-a", "sgln-a")
    assert store.add_identifier(conn, "B", "more-b").identifiers == ("id-b", "more-b")
    store.share_events(conn, [1], "B")
    store.share_events(conn, [1], "B")  # idempotent
    assert store.shares_of(conn, 1) == [b.id]
    assert store.unshare_events(conn, [1], "B")
    assert store.shares_of(conn, 1) == []
    store.grant_auditor(conn, "Aud", "A")
    assert store.grants_of(conn, aud.id) == [a.id]
    with pytest.raises(store.PartyError, match="not 'auditor'"):
        store.grant_auditor(conn, "A", "B")
    assert store.revoke_grant(conn, "Aud", "A") and store.grants_of(conn, aud.id) == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": "", "identifier": "x"}, "name"),
    ({"name": "n", "identifier": " "}, "identifier"),
    ({"name": "n", "identifier": "x", "role": "king"}, "role"),
    ({"name": "n", "identifier": "x", "verifier_key": "!!"}, "verifier_key"),
    ({"name": "n", "identifier": "x", "verifier_key": base64.b64encode(b"short").decode()},
     "verifier_key"),
])
def test_bad_input_names_the_field(conn, kwargs, field) -> None:
    with pytest.raises(store.PartyError) as err:
        store.add_party(conn, **kwargs)
    assert err.value.field == field and str(err.value).startswith(field)
    assert conn.fetchone("SELECT COUNT(*) FROM parties")[0] == 0


def test_duplicate_identifier_refused(conn) -> None:
    store.add_party(conn, "A", "same")
    with pytest.raises(store.PartyError, match="already belongs"):
        store.add_party(conn, "B", "same")
    for ref in ("nobody", "\u00b9", "9" * 40):  # superscript one is a digit to isdigit()
        with pytest.raises(store.PartyError, match="no party"):
            store.find_party(conn, ref)


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "Token x",
                                    "Bearer " + "k" * 600, "Bearer a\x01b"])
def test_malformed_authorization_is_401(header: str) -> None:
    with pytest.raises(AuthError) as err:
        parse_bearer(header)
    assert err.value.status == 401
    body = problem_response(err.value, "/x").body
    assert b"epcisException:SecurityException" in body


def test_no_header_means_public() -> None:
    assert parse_bearer(None) is None


def _corridor(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "corridor"
    return subprocess.run([str(exe), *args], check=False, capture_output=True, text=True, timeout=60)


def test_cli_round_trip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    out = _corridor("party", "add", "Acme Steel", "--identifier", "urn:epc:id:pgln:4012345.00000",
                    "--also", "urn:epc:id:sgln:4012345.00000.0", "--verifier-key", _vkey(),
                    "--db", url, "--init")
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    assert key.startswith("cor_") and "\n" not in key
    out = _corridor("party", "add", "Audit", "--identifier", "aud", "--role", "auditor",
                    "--db", url)
    assert out.returncode == 0, out.stderr
    assert _corridor("party", "grant", "Audit", "Acme Steel", "--db", url).returncode == 0
    # A share names a stored event: there is none yet.
    out = _corridor("party", "share", "urn:uuid:e1", "aud", "--db", url)
    assert out.returncode != 0 and "no stored event 'urn:uuid:e1'" in out.stderr
    listing = _corridor("party", "list", "--db", url)
    assert "Acme Steel" in listing.stdout and "auditor" in listing.stdout
    assert key not in listing.stdout and hash_api_key(key) not in listing.stdout
    assert _corridor("party", "revoke", "Acme Steel", "--db", url).returncode == 0
    db = Database(url)
    with db.connect() as c:
        assert store.party_for_key(c, key) is None
    bad = _corridor("party", "add", "X", "--identifier", "x", "--verifier-key", "zz", "--db", url)
    assert bad.returncode != 0 and "verifier_key" in bad.stderr
    bad = _corridor("party", "revoke", "nobody", "--db", url)
    assert bad.returncode != 0 and "no party" in bad.stderr


def test_capture_signatures_verify_with_the_registered_key(conn) -> None:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signer, _ = store.add_party(conn, "Signer", "sig", verifier_key=base64.b64encode(raw).decode())
    plain, _ = store.add_party(conn, "Plain", "plain")
    digest = hashlib.sha256(b'{"type":"EPCISDocument"}').digest()
    store.verify_signature(conn, signer.id, digest, private.sign(digest))
    with pytest.raises(store.PartyError, match="does not verify"):
        store.verify_signature(conn, signer.id, digest[::-1], private.sign(digest))
    with pytest.raises(store.PartyError, match="64 bytes"):
        store.verify_signature(conn, signer.id, digest, b"short")
    with pytest.raises(store.PartyError, match="no verifier key"):
        store.verify_signature(conn, plain.id, digest, private.sign(digest))


def test_key_lookup_gives_the_whole_party(conn) -> None:
    """party_for_key reads the identifiers in the same query: same Party as get_party, in
    code-point order whatever the database's collation."""
    party, key = store.add_party(conn, "Zeta", "urn:epc:id:pgln:4870001.00001",
                                 extra_identifiers=["urn:epc:id:sgln:4870001.00002.0",
                                                    "Ärztekammer", "urn:a", "Zürich", "b"])
    found = store.party_for_key(conn, key)
    assert found == store.get_party(conn, party.id)
    assert found is not None and found.identifiers == tuple(sorted(found.identifiers))
    assert set(found.identifiers) >= {"Ärztekammer", "urn:a", "Zürich", "b"}
    bare, bare_key = store.add_party(conn, "Eta", "urn:example:eta")
    assert store.party_for_key(conn, bare_key) == store.get_party(conn, bare.id)
    store.revoke_party(conn, "Zeta")
    assert store.party_for_key(conn, key) is None
