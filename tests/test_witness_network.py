"""Witnesses as a network: three `corridor witness serve` processes, a quorum of two, and a
real `corridor serve` node, all on loopback.

One witness down: witnessed checkpoints are still published. Two down: captures go on
(202, jobs succeed) but the published checkpoint does not advance, and a receipt says what
it waits for. A witness back from its state file catches up, and refuses a forked log (a
tree of the same log key at the same or a larger size that is not an extension of the
tree it cosigned). A static mirror (`corridor log export --follow`) follows the published
checkpoints and verifies under the same 2-of-3 policy.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from corridor.config import Settings
from corridor.ledger.checkpoint import Checkpoint, parse_checkpoint
from corridor.ledger.merkle import ListHasher, consistency_proof, leaf_hash, tree_root
from corridor.ledger.note import (
    ALG_COSIGNATURE_V1,
    Signer,
    Verifier,
    generate_signer,
    parse_note,
    sign_note,
    verified_by,
)
from corridor.ledger.witness import add_checkpoint_body
from corridor.node import load_or_create_signer
from tests.api.e2_harness import CORRIDOR, add_party, auth, capture, free_port, object_event

ORIGIN = "corridor.test/network"
A_ID = "urn:epc:id:pgln:4700000.00001"


class WitnessProcess:
    """`corridor witness serve` with its own key and state file, stoppable and restartable."""

    def __init__(self, tmp: Path, n: int, log_vkey: str) -> None:
        self.signer: Signer = generate_signer(f"w{n}.test", ALG_COSIGNATURE_V1)
        self.key = tmp / f"w{n}.key"
        self.key.write_text(self.signer.skey + "\n")
        self.state = tmp / f"w{n}.json"
        self.log_vkey = log_vkey
        self.port = free_port()
        self.out = tmp / f"w{n}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    def start(self) -> WitnessProcess:
        self.proc = subprocess.Popen(
            [CORRIDOR, "witness", "serve", "--key", str(self.key), "--log", self.log_vkey,
             "--state", str(self.state), "--port", str(self.port)],
            stdout=self.out.open("ab"), stderr=subprocess.STDOUT)
        _wait_http(self.url + "/00/checkpoint", self.proc, self.out)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _wait_http(url: str, proc: subprocess.Popen, out: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: process exited: {out.read_text()[-2000:]}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer: {out.read_text()[-2000:]}")


def _published(base: str, witnesses: list[WitnessProcess]) -> tuple[int, set[str]]:
    """Size of the node's published (witnessed) checkpoint and who cosigned it."""
    r = httpx.get(base + "/log/checkpoint", timeout=5)
    if r.status_code == 404:
        return -1, set()
    assert r.status_code == 200, r.text
    note = parse_note(r.content)
    names = {v.name for v in verified_by(note, [w.verifier for w in witnesses])}
    return parse_checkpoint(note.text).size, names


def _wait_published(base: str, witnesses: list[WitnessProcess], size: int,
                    timeout: float = 15.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got, names = _published(base, witnesses)
        if got >= size:
            return names
        time.sleep(0.1)
    raise AssertionError(f"no witnessed checkpoint of size {size} was published "
                         f"(still {_published(base, witnesses)[0]})")


def _events(start: int, count: int) -> list[dict]:
    return [object_event(epc=f"urn:epc:id:sgtin:4700000.000001.{n}",
                         event_id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}")
            for n in range(start, start + count)]


def _fork(log: Signer, size: int, old: int) -> bytes:
    """An add-checkpoint request from `old` to a tree of `size` leaves that no Corridor entry
    made, signed by the log's own key: what a compromised or buggy log would send."""
    leaves = [leaf_hash(b"fork %d" % i) for i in range(size)]
    hasher = ListHasher(leaves)
    note = sign_note(Checkpoint(log.name, size, tree_root(hasher, size)).text(), [log])
    proof = consistency_proof(hasher, old, size) if 0 < old < size else []
    return add_checkpoint_body(old, proof, note)


@pytest.mark.timeout(120)
def test_three_witnesses_quorum_two(tmp_path: Path) -> None:
    node_dir = tmp_path / "node"
    settings = Settings(data_dir=node_dir, log_origin=ORIGIN)
    log_signer = load_or_create_signer(settings)
    witnesses = [WitnessProcess(tmp_path, n, log_signer.verifier.vkey).start()
                 for n in (1, 2, 3)]
    db_url = f"sqlite:///{tmp_path / 'node.sqlite3'}"
    _, key = add_party(db_url, "A", A_ID)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("CORRIDOR_WITNESSES", "CORRIDOR_WITNESS_QUORUM", "CORRIDOR_DB")}
    env.update(CORRIDOR_DATA_DIR=str(node_dir), CORRIDOR_LOG_ORIGIN=ORIGIN)
    flags = [x for w in witnesses for x in ("--witness", f"{w.url}={w.verifier.vkey}")]
    out = tmp_path / "node.log"
    node = subprocess.Popen([CORRIDOR, "serve", "--db", db_url, "--port", str(port), *flags,
                             "--quorum", "2"], cwd=tmp_path, env=env,
                            stdout=out.open("ab"), stderr=subprocess.STDOUT)
    mirror_dir, mirror_out = tmp_path / "mirror", tmp_path / "mirror.log"
    mirror = subprocess.Popen([CORRIDOR, "log", "export", str(mirror_dir), "--follow",
                               "--interval", "0.2", "--db", db_url, *flags, "--quorum", "2"],
                              cwd=tmp_path, env=env, stdout=mirror_out.open("ab"),
                              stderr=subprocess.STDOUT)
    try:
        _wait_http(base + "/log/info", node, out)
        with httpx.Client(base_url=base, timeout=20) as client:
            assert capture(client, key, _events(1, 5))["success"]
            assert len(_wait_published(base, witnesses, 5)) >= 2

            # One witness down: still published, cosigned by the two others.
            witnesses[2].stop()
            assert capture(client, key, _events(6, 5))["success"]
            assert _wait_published(base, witnesses, 10) == {"w1.test", "w2.test"}

            # Two down: captures are accepted and stored; publication waits.
            witnesses[1].stop()
            for start in (11, 16):
                assert capture(client, key, _events(start, 5))["success"]
            r = client.post("/epcis/events", json=_events(21, 1)[0],
                            headers={**auth(key), "Content-Type": "application/json"})
            assert r.status_code == 201, r.text
            time.sleep(3.0)  # several signing and push rounds
            assert _published(base, witnesses)[0] == 10
            assert _mirror_verifies(mirror_dir, log_signer, witnesses) == 10
            waiting = client.get(
                "/epcis/events/urn:uuid:00000000-0000-4000-8000-000000000021/receipt",
                headers=auth(key))
            assert waiting.status_code == 404
            assert "waiting for 2 of 3 witnesses" in waiting.json()["detail"]

            # Witness 2 back from its state file: it catches up and publication resumes.
            witnesses[1].start()
            assert _wait_published(base, witnesses, 21) >= {"w1.test", "w2.test"}
            deadline = time.monotonic() + 10
            while parse_checkpoint(parse_note((mirror_dir / "checkpoint").read_bytes())
                                   .text).size != 21:
                assert time.monotonic() < deadline, mirror_out.read_text()
                time.sleep(0.1)
            assert _mirror_verifies(mirror_dir, log_signer, witnesses) == 21
    finally:
        for proc in (mirror, node):
            proc.terminate()
            proc.wait(timeout=30)
    assert mirror.returncode == 0, mirror_out.read_text()

    # The restarted witness refuses a fork of the log it cosigned, at the same size and at
    # larger sizes, whatever old size the request claims; the honest log still goes on.
    w2 = witnesses[1]
    w2.stop()
    w2.start()
    size = _published_state_size(w2)
    assert size == 21
    for fork_size, old in ((21, 21), (30, 21), (30, 0), (21, 0), (40, 10)):
        r = httpx.post(w2.url + "/add-checkpoint", content=_fork(log_signer, fork_size, old))
        assert r.status_code in (409, 422), (fork_size, old, r.status_code, r.text)
        if r.status_code == 409:
            assert r.text.strip() == "21"
    assert _published_state_size(w2) == 21
    for w in witnesses:
        w.stop()


def _mirror_verifies(directory: Path, log: Signer, witnesses: list[WitnessProcess]) -> int:
    """`corridor log verify` of the static mirror under the 2-of-3 policy; its size."""
    keys = [x for w in witnesses for x in ("--witness", w.verifier.vkey)]
    done = subprocess.run([CORRIDOR, "log", "verify", str(directory), "--vkey",
                           log.verifier.vkey, *keys, "--quorum", "2", "--workers", "1"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split(" size ")[1].split(";")[0].split(",")[0])


def _published_state_size(w: WitnessProcess) -> int:
    """The size of the checkpoint the witness last cosigned (GET /<origin hash>/checkpoint)."""
    origin_hash = hashlib.sha256(ORIGIN.encode()).hexdigest()
    r = httpx.get(f"{w.url}/{origin_hash}/checkpoint", timeout=5)
    assert r.status_code == 200, r.text
    return parse_checkpoint(parse_note(r.content).text).size
