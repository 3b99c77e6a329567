"""C2SP tlog-checkpoint note text: origin, tree size, root hash, optional extension lines."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from corridor.ledger.merkle import HASH_SIZE

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class CheckpointError(ValueError):
    """Malformed checkpoint text."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> bytes:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(),
                 *self.extensions]
        return ("\n".join(lines) + "\n").encode()


def parse_checkpoint(text: bytes) -> Checkpoint:
    """Parse the note text (not the signatures) of a checkpoint."""
    try:
        lines = text.decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise CheckpointError("checkpoint is not UTF-8") from exc
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("checkpoint needs origin, size and root lines, each ending in "
                              "a newline")
    origin, size, root, *ext = lines[:-1]
    if not origin:
        raise CheckpointError("checkpoint line 1 (origin) is empty")
    if not _SIZE.fullmatch(size) or int(size) >= 2**63:
        raise CheckpointError(f"checkpoint line 2 (tree size) {size!r} is not a decimal size")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError("checkpoint line 3 (root hash) is not base64") from exc
    if len(root_hash) != HASH_SIZE:
        raise CheckpointError(f"checkpoint line 3 (root hash) has {len(root_hash)} bytes")
    for n, line in enumerate(ext, 4):
        if not line:
            raise CheckpointError(f"checkpoint line {n} (extension) is empty")
    return Checkpoint(origin, int(size), root_hash, tuple(ext))
