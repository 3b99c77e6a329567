"""Over real HTTP on loopback: /log/ endpoints, witnesses cosigning pushed checkpoints (one of
them the `corridor witness serve` command), a witness that is down, verification by URL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from starlette.applications import Starlette

from corridor.api.log_routes import IMMUTABLE, routes, witness_app
from corridor.config import WitnessConfig
from corridor.ledger.checkpoint import parse_checkpoint
from corridor.ledger.note import generate_signer, parse_note, verified_by
from corridor.ledger.policy import parse_policy, threshold_policy
from corridor.ledger.tiles import decode_bundle
from corridor.ledger.transport import url_fetcher
from corridor.ledger.verify import VerifyError, verify_log
from corridor.ledger.witness import FileState, Witness
from corridor.node import RunningLog as Ledger
from corridor.node import load_or_create_signer
from corridor.serving import AppContext
from tests.ledger.ledgertest import Server, append, free_port

ROOT = Path(__file__).resolve().parents[2]
CORRIDOR = str(Path(sys.executable).parent / "corridor")


def _wait_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            httpx.get(f"http://127.0.0.1:{port}/00/checkpoint", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("witness serve did not start")


def test_log_endpoints_witnesses_and_a_witness_down(node: Callable[..., Ledger], servers,
                                                    tmp_path: Path) -> None:
    # The node's key must exist before the witnesses are told about the log.
    from corridor.config import Settings

    probe = Settings(data_dir=tmp_path / "node", log_origin="corridor.test/log")
    log_key = load_or_create_signer(probe).verifier
    # Witness 1: in-process uvicorn. Witness 2: the real CLI command in a subprocess.
    w1 = Witness(generate_signer("w1.test"), [log_key], FileState(tmp_path / "w1.json"))
    s1 = Server(witness_app(w1)).start()
    servers.append(s1)
    key2 = tmp_path / "w2.key"
    out = subprocess.run([CORRIDOR, "keygen", "w2.test", "--out",
                          str(key2), "--cosigner"], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    w2_vkey = out.stdout.strip()
    port2 = free_port()
    proc = subprocess.Popen([CORRIDOR, "witness", "serve", "--key",
                             str(key2), "--log", log_key.vkey, "--state",
                             str(tmp_path / "w2.json"), "--port", str(port2)],
                            cwd=ROOT, stderr=subprocess.PIPE)
    try:
        _wait_port(port2, proc)
        ledger = node(witnesses=[WitnessConfig(s1.url, w1.verifier.vkey),
                                 WitnessConfig(f"http://127.0.0.1:{port2}", w2_vkey)], quorum=2)
        app = Starlette(routes=routes(AppContext(ledger.settings, ledger.db, ledger)))
        web = Server(app).start()
        servers.append(web)

        append(ledger, 700)
        ledger.sign_now()
        assert ledger.checkpoint() is None  # not yet witnessed: not published
        assert ledger.witness_now() == 2
        note = ledger.checkpoint()
        good = verified_by(parse_note(note), [w1.verifier, *[l.verifier for l in ledger.links]])
        assert len(good) == 2

        with httpx.Client(base_url=web.url) as http:
            r = http.get("/log/checkpoint")
            assert r.status_code == 200 and r.content == note
            assert r.headers["content-type"].startswith("text/plain")
            r = http.get("/log/tile/0/001")
            assert r.status_code == 200 and len(r.content) == 8192
            assert r.headers["cache-control"] == IMMUTABLE
            assert r.headers["content-type"] == "application/octet-stream"
            r = http.get("/log/tile/0/002.p/188")
            assert len(r.content) == 188 * 32 and "immutable" not in r.headers["cache-control"]
            assert len(http.get("/log/tile/0/002.p/5").content) == 160
            assert len(decode_bundle(http.get("/log/tile/entries/002.p/100").content)) == 100
            assert http.get("/log/tile/1/000.p/2").status_code == 200
            assert http.get("/log/tile/0/003").status_code == 404
            assert http.get("/log/tile/0/3").status_code == 404
            info = http.get("/log/info").json()
            assert info["origin"] == "corridor.test/log" and info["log_vkey"] == log_key.vkey
            assert {w["vkey"] for w in info["witnesses"]} == {w1.verifier.vkey, w2_vkey}
            assert parse_policy(info["policy"]).satisfied({"w1", "w2"})

        fetch, client = url_fetcher(web.url + "/log")
        policy = threshold_policy(log_key, [(w1.verifier, None),
                                            (ledger.links[1].verifier, None)], 2)
        assert verify_log(fetch, log_key, policy).checkpoint.size == 700

        # Witness 2 goes down: capture goes on, checkpoints are signed, only w1 cosigns.
        proc.terminate()
        proc.wait(timeout=10)
        t0 = time.monotonic()
        append(ledger, 50)
        assert time.monotonic() - t0 < 1.0
        assert parse_checkpoint(parse_note(ledger.sign_now()).text).size == 750
        assert ledger.witness_now() == 1
        assert ledger.links[1].last_error
        assert parse_checkpoint(parse_note(ledger.checkpoint()).text).size == 700
        one = threshold_policy(log_key, [(w1.verifier, None)], 1)
        ledger_two = verify_log(fetch, log_key, policy)  # still the witnessed 700
        assert ledger_two.checkpoint.size == 700
        try:
            verify_log(fetch, log_key, one)
        except VerifyError as exc:  # pragma: no cover - would be a bug
            raise AssertionError(exc) from exc
        client.close()

        # Witness 2 comes back (same state file): it catches up with a consistency proof.
        proc = subprocess.Popen([CORRIDOR, "witness", "serve",
                                 "--key", str(key2), "--log", log_key.vkey, "--state",
                                 str(tmp_path / "w2.json"), "--port", str(port2)],
                                cwd=ROOT, stderr=subprocess.PIPE)
        _wait_port(port2, proc)
        assert ledger.witness_now() == 2
        assert parse_checkpoint(parse_note(ledger.checkpoint()).text).size == 750
    finally:
        proc.terminate()
        proc.wait(timeout=10)
