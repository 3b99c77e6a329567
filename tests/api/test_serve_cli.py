"""`corridor serve` as a user runs it: a subprocess on loopback that prints its URL and
answers the EPCIS REST binding, and captures an EPCISQueryDocument (the binding accepts both
document kinds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from corridor.store.db import Database
from tests.api.e1_server import free_port, make_parties

CORRIDOR = str(Path(sys.executable).parent / "corridor")


def test_serve_prints_url_and_serves(tmp_path: Path, conformance: Path) -> None:
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    keys, _ids = make_parties(Database(db_url))
    env = {**os.environ, "CORRIDOR_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([CORRIDOR, "serve", "--db", db_url, "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert f"http://127.0.0.1:{port}/" in line
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                root = httpx.get(base + "/epcis/")
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert root.status_code == 200 and "events" in root.json()["member"]
        doc = (conformance / "gs1-epcis" / "JSON" / "EPCISQueryDocument.jsonld").read_bytes()
        r = httpx.post(base + "/epcis/capture", content=doc,
                       headers={"Authorization": f"Bearer {keys['alice']}",
                                "Content-Type": "application/ld+json"})
        assert r.status_code == 202, r.text
        job = httpx.get(base + r.headers["Location"],
                        headers={"Authorization": f"Bearer {keys['alice']}"}).json()
        assert job["success"] and job["events"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _read_until_serving(proc: subprocess.Popen, limit: float = 120) -> list[str]:
    """The lines `corridor serve` prints up to its "serving on" line."""
    lines: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise AssertionError("corridor serve exited:\n" + "".join(lines))
        lines.append(line)
        if "serving on" in line:
            return lines
    raise AssertionError("no 'serving on' line:\n" + "".join(lines))


def _cosigners(note: str, origin: str) -> list[str]:
    """Names on a checkpoint's signature lines other than the log's own."""
    _text, _, sigs = note.rpartition("\n\n")
    return [line[2:].split(" ")[0] for line in sigs.splitlines()
            if line.startswith("\u2014 ") and line[2:].split(" ")[0] != origin]


def test_serve_demo_starts_two_local_witnesses_with_a_quorum_of_two(tmp_path: Path) -> None:
    """`make run` is `corridor serve --demo`: its first screen shows cosigned checkpoints."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CORRIDOR_WITNESSES", "CORRIDOR_WITNESS_QUORUM", "CORRIDOR_DB")}
    env["CORRIDOR_DATA_DIR"] = str(tmp_path / "node")
    proc = subprocess.Popen([CORRIDOR, "serve", "--demo", "--shipments", "2", "--port",
                             str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        printed = "".join(_read_until_serving(proc))
        assert "witness" in printed
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                info = httpx.get(base + "/log/info").json()
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert info["quorum"] == 2 and len(info["witnesses"]) == 2
        assert all(w["url"].startswith("http://127.0.0.1:") for w in info["witnesses"])
        # Published at once: the checkpoint already carries both cosignatures.
        r = httpx.get(base + "/log/checkpoint")
        assert r.status_code == 200, r.text
        names = _cosigners(r.text, info["origin"])
        assert len(names) == 2 and {w["vkey"].split("+")[0] for w in info["witnesses"]} == \
            set(names)
        for page in ("/", "/ledger"):
            html = httpx.get(base + page).text
            assert all(name in html for name in names), page
        # The witnesses' keys and states live in the node's data directory.
        assert len(list((tmp_path / "node" / "witnesses").glob("*.key"))) == 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode is not None


def test_serve_takes_witnesses_and_quorum_as_flags(tmp_path: Path) -> None:
    from corridor.api.log_routes import witness_app
    from corridor.config import Settings
    from corridor.ledger.note import generate_signer
    from corridor.ledger.witness import FileState, Witness
    from corridor.node import load_or_create_signer
    from tests.ledger.ledgertest import Server

    data_dir = tmp_path / "node"
    log_key = load_or_create_signer(Settings(data_dir=data_dir)).verifier
    witnesses = [Witness(generate_signer(f"w{i}.test"), [log_key],
                         FileState(tmp_path / f"w{i}.json")) for i in (1, 2)]
    servers = [Server(witness_app(w)).start() for w in witnesses]
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CORRIDOR_WITNESSES", "CORRIDOR_WITNESS_QUORUM", "CORRIDOR_DB")}
    env["CORRIDOR_DATA_DIR"] = str(data_dir)
    flags = [x for s, w in zip(servers, witnesses, strict=True)
             for x in ("--witness", f"{s.url}={w.verifier.vkey}")]
    proc = subprocess.Popen([CORRIDOR, "serve", "--port", str(port), *flags, "--quorum", "1"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _read_until_serving(proc)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                info = httpx.get(base + "/log/info").json()
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert info["quorum"] == 1
        assert [(w["url"], w["vkey"]) for w in info["witnesses"]] == [
            (s.url, w.verifier.vkey) for s, w in zip(servers, witnesses, strict=True)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for s in servers:
            s.stop()


def _serve_error(*args: str, tmp_path: Path) -> str:
    from click.testing import CliRunner

    from corridor.cli import main

    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "node"), *args])
    assert result.exit_code != 0
    assert "serving on" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output  # one line, no usage text
    return lines[0]


def test_serve_flag_errors_are_one_line_naming_the_flag(tmp_path: Path) -> None:
    from corridor.ledger.note import generate_signer

    cosigner = generate_signer("w1.test").as_cosigner().verifier.vkey
    log_key = generate_signer("w1.test").verifier.vkey
    line = _serve_error("--witness", "nonsense", tmp_path=tmp_path)
    assert "--witness" in line and "URL=VKEY" in line and "nonsense" in line
    line = _serve_error("--witness", "http://127.0.0.1:9=not-a-key", tmp_path=tmp_path)
    assert "--witness" in line and "not-a-key" in line
    line = _serve_error("--witness", f"ftp://127.0.0.1:9={cosigner}", tmp_path=tmp_path)
    assert "--witness" in line and "http" in line
    line = _serve_error("--witness", f"http://127.0.0.1:9={log_key}", tmp_path=tmp_path)
    assert "--witness" in line and "--cosigner" in line
    line = _serve_error("--witness", f"http://127.0.0.1:9={cosigner}", "--quorum", "2",
                        tmp_path=tmp_path)
    assert "--quorum 2" in line and "1 witness" in line
    for wrong in ("-1", "two"):
        line = _serve_error("--quorum", wrong, tmp_path=tmp_path)
        assert f"--quorum {wrong!r}" in line and "whole number" in line
    line = _serve_error("--quorum", "1", tmp_path=tmp_path)
    assert "--quorum 1" in line and "0 witnesses" in line
    assert not (tmp_path / "node").exists()  # nothing was created for a refused command


def test_serve_on_a_busy_port_fails_with_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "CORRIDOR_DATA_DIR": str(tmp_path / "node")}
        out = subprocess.run([CORRIDOR, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode != 0
    assert "serving on" not in out.stdout
    assert out.stderr.strip().splitlines() == [
        f"Error: port {port} on 127.0.0.1 is in use; choose another with --port"], out.stderr


def test_serve_logs_json_lines_with_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    db_url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    env = {**os.environ, "CORRIDOR_DATA_DIR": str(tmp_path)}
    log = (tmp_path / "stderr.log").open("w+")
    proc = subprocess.Popen([CORRIDOR, "serve", "--db", db_url, "--port", str(port),
                             "--log-format", "json", "--log-level", "info"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=log,
                            text=True)
    try:
        _read_until_serving(proc)
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz",
                           headers={"X-Request-ID": "trace-42"})
        assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "trace-42"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    log.seek(0)
    lines = [line for line in log.read().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(r["request_id"] == "trace-42" and r["logger"] == "corridor.request"
               for r in records), lines
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
