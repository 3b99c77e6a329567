"""What every HTTP route module receives: the node's settings and its open parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corridor.config import Settings
from corridor.store.db import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    # The running log (see corridor.node.open_ledger); set by the app factory.
    ledger: Any = None
    # Other long-lived parts keyed by concern ("fx", "subscriptions", ...).
    parts: dict[str, Any] = field(default_factory=dict)
