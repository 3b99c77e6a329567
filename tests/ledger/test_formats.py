"""Signed notes and keys (against Go's and C2SP's published examples), checkpoints, entries,
RFC 8785 canonical JSON, tlog-policy and tlog-proof."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from corridor.ledger.checkpoint import Checkpoint, CheckpointError, parse_checkpoint
from corridor.ledger.entry import EntryError, LogEntry, entry_encoder
from corridor.ledger.jcs import CanonicalizationError, canonicalize
from corridor.ledger.merkle import ListHasher, inclusion_proof, leaf_hash, root_of
from corridor.ledger.note import (
    ALG_COSIGNATURE_V1,
    NoteError,
    generate_signer,
    open_note,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_note,
    verified_by,
)
from corridor.ledger.policy import PolicyError, parse_policy, threshold_policy
from corridor.ledger.proof import Receipt, ReceiptError, parse_receipt, verify_receipt

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (b"If you think cryptography is the answer to your problem,\n"
           b"then you don't know what your problem is.\n")
GO_SIG = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
          "KvqfqdngotpRZb6KE6RyyBwJnAM=\n")
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = ("This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1"
             "YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n").encode()


def test_go_note_example_keys_and_signature() -> None:
    signer = parse_skey(GO_SKEY)
    assert signer.verifier.vkey == GO_VKEY
    assert sign_note(GO_TEXT, [signer]) == GO_TEXT + b"\n" + GO_SIG.encode()
    note, good = open_note(GO_TEXT + b"\n" + GO_SIG.encode(), [parse_vkey(GO_VKEY)])
    assert note.text == GO_TEXT and good[0].name == "PeterNeumann"


def test_c2sp_signed_note_example_verifies_and_tampering_fails() -> None:
    v = parse_vkey(C2SP_VKEY)
    open_note(C2SP_NOTE, [v])
    with pytest.raises(NoteError, match="does not verify"):
        open_note(C2SP_NOTE.replace(b"example message", b"example massage"), [v])
    other = generate_signer("example.com/foo").verifier
    with pytest.raises(NoteError, match="no valid signature"):
        open_note(C2SP_NOTE, [other])  # same name, other key id: ignored, so unsigned


def test_bad_keys_and_notes_are_refused_with_reasons() -> None:
    with pytest.raises(NoteError, match="key id"):
        parse_vkey(C2SP_VKEY.replace("530d903a", "530d903b"))
    with pytest.raises(NoteError):
        parse_vkey("no-plus-signs")
    with pytest.raises(NoteError, match="control"):
        parse_note(b"a\x07b\n\n\xe2\x80\x94 x AAAAAAA=\n")
    with pytest.raises(NoteError, match="blank line"):
        parse_note(b"just text\n")


def test_cosignature_keys_use_type_4_and_sign_timestamped() -> None:
    w = generate_signer("witness.test/w1").as_cosigner()
    vkey = w.verifier.vkey
    assert parse_vkey(vkey).alg == ALG_COSIGNATURE_V1
    text = Checkpoint("o.test/log", 3, hashlib.sha256(b"r").digest()).text()
    line = w.signature_line(text, timestamp=1679315147)
    note = parse_note(text + b"\n" + (line + "\n").encode())
    assert verified_by(note, [w.verifier]) == [w.verifier]
    assert note.signatures[0].timestamp() == 1679315147
    # The same seed as a plain Ed25519 note key has another key id: no confusion.
    assert generate_signer("x").verifier.key_id != generate_signer("x").as_cosigner().key_id


def test_checkpoint_round_trip_and_errors() -> None:
    cp = Checkpoint("example.com/behind-the-sofa", 20852163,
                    __import__("base64").b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="))
    assert cp.text() == (b"example.com/behind-the-sofa\n20852163\n"
                         b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    assert parse_checkpoint(cp.text()) == cp
    for bad, where in [(b"o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", "line 2"),
                       (b"o\n1\nAAAA\n", "line 3"), (b"\n1\nx\n", "line 1"),
                       (b"o\n1\n", "origin, size and root")]:
        with pytest.raises(CheckpointError, match=where):
            parse_checkpoint(bad)


def test_entry_encoding_is_exact_and_strict() -> None:
    e = LogEntry("ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0", bytes(range(32)),
                 "urn:epc:id:pgln:4012345.00000", "2026-11-27T10:00:00.123Z", b"\x01\x02")
    data = e.encode()
    assert data.decode().split("\n") == [
        "corridor/entry/v1", "event ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0",
        "doc sha-256:" + bytes(range(32)).hex(), "party urn:epc:id:pgln:4012345.00000",
        "time 2026-11-27T10:00:00.123Z", "sig AQI=", ""]
    assert LogEntry.decode(data) == e
    unsigned = LogEntry(e.event_hash_id, e.document_sha256, "Ağ Logistics LLC", e.record_time)
    assert LogEntry.decode(unsigned.encode()) == unsigned
    for bad, where in [(data.replace(b"v1", b"v2"), "line 1"),
                       (data.replace(b"doc sha-256:00", b"doc sha-256:0A"), "line 3"),
                       (data.replace(b"time ", b"time  "), "line 5"),
                       (data + b"extra\n", "lines"), (data[:-1], "newline")]:
        with pytest.raises(EntryError, match=where):
            LogEntry.decode(bad)
    with pytest.raises(EntryError, match="record_time"):
        LogEntry(e.event_hash_id, e.document_sha256, "p", "yesterday")
    with pytest.raises(EntryError, match="party"):
        LogEntry(e.event_hash_id, e.document_sha256, "a\nb", e.record_time)


HASH_ID = "ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0"


@pytest.mark.parametrize(("party", "time", "signature"), [
    ("urn:epc:id:pgln:0614141.00001", "2026-03-01T10:00:00.000000Z", None),
    ("Ülke Lojistik A.Ş.", "2026-03-01T10:00:00+05:00", b"\x01" * 64),
    ("x" * 65380, "2026-03-01T10:00:00Z", None),  # room for the short hash id only
    (" padded", "2026-03-01T10:00:00Z", None), ("p", "yesterday", None),
    ("p", "2026-03-01T10:00:00Z", b""),
])
def test_entry_encoder_gives_log_entry_bytes_and_errors(party: str, time: str,
                                                       signature: bytes | None) -> None:
    encode = entry_encoder(party, time, signature)
    for hash_id, digest in [(HASH_ID, bytes(range(32))), ("ni:///sha-256;1", b"\xff" * 32),
                            ("ni:///x y", bytes(32)), ("sha-256;1", bytes(32)),
                            (HASH_ID, bytes(31)), ("ni:///" + "a" * 200, bytes(32))]:
        try:
            expected: object = LogEntry(hash_id, digest, party, time, signature).encode()
        except EntryError as exc:
            expected = str(exc)
        try:
            got: object = encode(hash_id, digest)
        except EntryError as exc:
            got = str(exc)
        assert got == expected


def test_rfc8785_examples() -> None:
    # RFC 8785 section 3.2.2 (ES6 numbers, string escaping, literals)
    src = ('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],'
           '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
           '"literals":[null,true,false]}')
    want = ('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
            '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
    assert canonicalize(json.loads(src)) == want.encode()
    # RFC 8785 section 3.2.3 (keys sorted by UTF-16 code units)
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    out = canonicalize({k: 0 for k in keys}).decode()
    order = [json.loads("[" + part.split(":")[0] + "]")[0] for part in out[1:-1].split(",")]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    for value, text in [(1e21, "1e+21"), (1e-7, "1e-7"), (-0.0, "0"), (5e-324, "5e-324"),
                        (123456789012345680000.0, "123456789012345680000")]:
        assert canonicalize(value) == text.encode()
    with pytest.raises(CanonicalizationError, match="/a/0"):
        canonicalize({"a": [float("nan")]})


def test_policy_parse_and_quorum() -> None:
    log = generate_signer("log.test").verifier
    ws = [generate_signer(f"w{i}.test").as_cosigner().verifier for i in range(4)]
    text = (f"# test\nlog {log.vkey} https://log.test/\n"
            + "".join(f"witness X{i} {w.vkey}\n" for i, w in enumerate(ws[:3]))
            + f"witness Y1 {ws[3].vkey}\ngroup X 2 X0 X1 X2\ngroup XY all X Y1\nquorum XY\n")
    p = parse_policy(text)
    assert p.satisfied({"X0", "X2", "Y1"}) and not p.satisfied({"X0", "Y1"})
    assert not p.satisfied({"X0", "X1", "X2"})
    assert parse_policy(p.text()).satisfied({"X0", "X2", "Y1"})
    for bad, where in [(text.replace("quorum XY\n", ""), "no quorum"),
                       (text.replace("group X 2", "group X 4"), "line 7"),
                       (text + "quorum X\n", "second quorum"),
                       (text.replace("group XY all X Y1", "group XY all X Z"), "line 8")]:
        with pytest.raises(PolicyError, match=where):
            parse_policy(bad)
    assert threshold_policy(log, [], 0).satisfied(set())


def test_receipt_round_trip_and_failures() -> None:
    signer = generate_signer("log.test")
    witness = generate_signer("w.test").as_cosigner()
    entries = [b"entry %d" % i for i in range(13)]
    leaves = [leaf_hash(e) for e in entries]
    text = Checkpoint("log.test", 13, root_of(leaves)).text()
    note = sign_note(text, [signer]) + (witness.signature_line(text) + "\n").encode()
    r = Receipt(7, inclusion_proof(ListHasher(leaves), 7, 13), note, entries[7])
    parsed = parse_receipt(r.encode())
    assert parsed == r
    assert r.encode().startswith(b"c2sp.org/tlog-proof@v1\nextra ")
    policy = threshold_policy(signer.verifier, [(witness.verifier, None)], 1)
    assert verify_receipt(parsed, signer.verifier, policy).size == 13
    with pytest.raises(ReceiptError, match="inclusion of entry 7"):
        verify_receipt(parsed, signer.verifier, policy, entry=entries[6])
    lone = Receipt(7, r.proof, sign_note(text, [signer]), entries[7])
    with pytest.raises(ReceiptError, match="quorum"):
        verify_receipt(lone, signer.verifier, policy)
    with pytest.raises(ReceiptError, match="checkpoint in receipt"):
        verify_receipt(parsed, generate_signer("log.test").verifier, policy)
    with pytest.raises(ReceiptError, match="line 3"):
        parse_receipt(r.encode().replace(b"index 7", b"index 07"))


def test_entry_format_doc_example() -> None:
    """The worked example in docs/ledger-entry-format.md is what the code produces."""
    from corridor.ledger.jcs import document_digest

    doc = (Path(__file__).resolve().parents[2] / "docs" / "ledger-entry-format.md").read_text()
    event = {"type": "ObjectEvent", "eventTime": "2026-11-27T10:00:00Z",
             "eventTimeZoneOffset": "+05:00", "epcList": ["urn:epc:id:sgtin:4012345.011111.1"],
             "action": "OBSERVE"}
    assert canonicalize(event).decode() in doc
    entry = LogEntry("ni:///sha-256;" + hashlib.sha256(b"example").hexdigest() + "?ver=CBV2.0",
                     document_digest(event), "urn:epc:id:pgln:4012345.00000",
                     "2026-11-27T10:15:00.000000Z")
    data = entry.encode()
    assert data.decode() in doc and f"{len(data)}\nbytes" in doc.replace(" bytes", "\nbytes")
    assert leaf_hash(data).hex() in doc
