"""Configuration of a Corridor node: where data lives, the log's identity, limits.

Values come from the command line, else from CORRIDOR_* environment variables, else defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CORRIDOR_{name}", default)


@dataclass
class WitnessConfig:
    url: str  # base URL; the witness serves POST {url}/add-checkpoint
    vkey: str  # signed-note verifier key: name+hexid+base64


def parse_witnesses(text: str) -> list[WitnessConfig]:
    """`URL=VKEY` items separated by commas or white space (CORRIDOR_WITNESSES)."""
    found: list[WitnessConfig] = []
    for item in text.replace(",", " ").split():
        url, sep, vkey = item.partition("=")
        if not sep or not url or not vkey:
            raise ValueError(f"CORRIDOR_WITNESSES: {item!r} is not URL=VKEY")
        found.append(WitnessConfig(url=url.rstrip("/"), vkey=vkey))
    return found


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "corridor-data")))
    db_url: str = ""  # default: SQLite file in data_dir
    # A read replica of db_url (CORRIDOR_READ_DB) that EPCIS event queries read; they
    # tolerate its lag. Captures, keys, log tiles and checkpoints stay on db_url.
    read_db_url: str = field(default_factory=lambda: _env("READ_DB", ""))
    # The log's origin line (C2SP tlog-checkpoint): a schema-less URL that names the log.
    log_origin: str = field(default_factory=lambda: _env("LOG_ORIGIN", "corridor.example/log"))
    log_key_file: Path | None = None  # default: data_dir/keys/log.key (created on first start)
    # The log's next key while its key is rotated (CORRIDOR_LOG_NEXT_KEY): checkpoints carry
    # both signatures, so verifiers holding either key accept them (docs/deploy.md).
    log_next_key_file: Path | None = field(
        default_factory=lambda: Path(p) if (p := _env("LOG_NEXT_KEY", "")) else None)
    witnesses: list[WitnessConfig] = field(
        default_factory=lambda: parse_witnesses(_env("WITNESSES", "")))
    # cosignatures a checkpoint needs to count as witnessed (CORRIDOR_WITNESS_QUORUM)
    witness_quorum: int = field(default_factory=lambda: int(_env("WITNESS_QUORUM", "0")))
    max_capture_bytes: int = field(
        default_factory=lambda: int(_env("MAX_CAPTURE_BYTES", str(64 * 1024 * 1024))))
    max_capture_events: int = field(
        default_factory=lambda: int(_env("MAX_CAPTURE_EVENTS", "100000")))
    # Capture documents of at least capture_process_bytes are parsed and hashed in this many
    # worker processes (0: on a thread of the server process, as smaller ones always are).
    # Default: one per core, at most 4 (the single writer cannot use more).
    capture_workers: int = field(
        default_factory=lambda: int(_env("CAPTURE_WORKERS", str(min(os.cpu_count() or 1, 4)))))
    capture_process_bytes: int = field(
        default_factory=lambda: int(_env("CAPTURE_PROCESS_BYTES", str(128 * 1024))))
    # The node's public base URL (CORRIDOR_PUBLIC_URL): credentials name their status lists
    # under it and the node's did:web is made from its host. `serve` sets it from --host and
    # --port when it is not given.
    public_url: str = field(default_factory=lambda: _env("PUBLIC_URL", "http://127.0.0.1:8000"))
    # Webhook destinations on loopback/private/link-local addresses are refused (SSRF) unless
    # CORRIDOR_ALLOW_PRIVATE_WEBHOOKS=1 (tests and closed networks).
    allow_private_webhooks: bool = field(
        default_factory=lambda: _env("ALLOW_PRIVATE_WEBHOOKS", "0").strip().lower()
        in ("1", "true", "yes", "on"))

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if not self.db_url:
            self.db_url = _env("DB", f"sqlite:///{self.data_dir / 'corridor.sqlite3'}")
        if self.log_key_file is None:
            self.log_key_file = self.data_dir / "keys" / "log.key"
