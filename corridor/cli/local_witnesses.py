"""Witnesses for `corridor serve`: the --witness/--quorum flags, and the two local C2SP
tlog-witnesses that `corridor serve --demo` runs on loopback when no witness is configured,
so that the demo's checkpoints are cosigned from the first screen.

The local witnesses are the same `Witness` as `corridor witness serve` (corridor.ledger.witness
behind corridor.api.log_routes.witness_app), each on its own port and thread in this process,
with its key and state under DATA_DIR/witnesses/. They prove nothing an outside witness would
(the operator holds their keys); they show the protocol at work.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import click
import uvicorn

from corridor.api.log_routes import witness_app
from corridor.config import Settings, WitnessConfig
from corridor.ledger.note import (
    ALG_COSIGNATURE_V1,
    NoteError,
    Signer,
    Verifier,
    generate_signer,
    parse_skey,
    parse_vkey,
)
from corridor.ledger.witness import FileState, Witness

LOCAL_WITNESSES = 2


def parse_witness_flag(value: str) -> WitnessConfig:
    """One `--witness URL=VKEY`, checked: an http(s) URL and a cosigner verifier key."""
    url, sep, vkey = value.partition("=")
    if not sep or not url or not vkey:
        raise click.ClickException(f"--witness {value!r}: expected URL=VKEY (the witness's "
                                   "base URL, '=', its cosigner verifier key)")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise click.ClickException(f"--witness {value!r}: the URL must be http:// or https:// "
                                   "with a host")
    try:
        verifier = parse_vkey(vkey)
    except NoteError as exc:
        raise click.ClickException(f"--witness {value!r}: {exc}") from None
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise click.ClickException(
            f"--witness {value!r}: {verifier.name} is not a witness cosigner key (type 0x04); "
            "`corridor keygen NAME --cosigner` prints one")
    return WitnessConfig(url=url.rstrip("/"), vkey=vkey)


def parse_quorum_flag(text: str | None) -> int | None:
    """`--quorum N`: a whole number of witnesses, 0 or more (checked here, so that a wrong
    value is one line naming the flag rather than a usage text)."""
    if text is None:
        return None
    if not text.strip().isdigit():
        raise click.ClickException(f"--quorum {text!r}: expected a whole number of witnesses "
                                   "(0 or more)")
    return int(text)


def apply_witness_flags(settings: Settings, flags: tuple[str, ...], quorum: int | None
                        ) -> None:
    """--witness replaces CORRIDOR_WITNESSES; --quorum (default: every --witness given)
    replaces CORRIDOR_WITNESS_QUORUM. The quorum must be reachable."""
    if flags:
        settings.witnesses = [parse_witness_flag(f) for f in flags]
        settings.witness_quorum = len(settings.witnesses) if quorum is None else quorum
    elif quorum is not None:
        settings.witness_quorum = quorum
    check_quorum(settings, "--quorum" if quorum is not None else "CORRIDOR_WITNESS_QUORUM")


def check_quorum(settings: Settings, source: str) -> None:
    n, k = len(settings.witnesses), settings.witness_quorum
    if not 0 <= k <= n:
        raise click.ClickException(
            f"{source} {k}: {n} witness{'' if n == 1 else 'es'} configured (--witness or "
            "CORRIDOR_WITNESSES), so the quorum must be between 0 and "
            f"{n}")


def _key(path: Path, name: str) -> Signer:
    """The witness key at `path`, created (mode 0600) on first use."""
    if path.exists():
        return parse_skey(path.read_text())
    signer = generate_signer(name, ALG_COSIGNATURE_V1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.skey + "\n")
    return signer


class LocalWitnesses:
    """`count` witnesses of the log `log_key`, served on loopback by this process."""

    def __init__(self, directory: Path, log_key: Verifier, count: int = LOCAL_WITNESSES
                 ) -> None:
        self.witnesses = [
            Witness(_key(directory / f"witness-{i}.key", f"local-witness-{i}"), [log_key],
                    FileState(directory / f"witness-{i}-state.json"))
            for i in range(1, count + 1)]
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(self) -> list[WitnessConfig]:
        """Serve each witness on a free loopback port; return their URLs and keys."""
        found = []
        for witness in self.witnesses:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(witness_app(witness), host="127.0.0.1",
                                                   port=port, log_level="warning",
                                                   lifespan="off", access_log=False))
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                      name=f"witness-{port}", daemon=True)
            thread.start()
            self._servers.append((server, thread))
            found.append(WitnessConfig(f"http://127.0.0.1:{port}", witness.verifier.vkey))
        deadline = time.monotonic() + 10
        while not all(s.started for s, _ in self._servers):
            if time.monotonic() > deadline:
                self.stop()
                raise click.ClickException("the local witnesses did not start")
            time.sleep(0.01)
        return found

    def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(timeout=10)
        self._servers = []
