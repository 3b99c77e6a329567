"""One schema migration, as each concern lists its own in a `schema_*` module
(`MIGRATIONS = [Migration(id, sql), ...]`) and corridor.store.migrations applies them. SQL uses
the type words of `corridor.store.db`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from corridor.store.db import Connection


@dataclass(frozen=True)
class Migration:
    id: str
    sql: str  # one or more statements separated by ';' on their own line ends
    dialect: str | None = None  # "sqlite" or "postgresql": applied on that database only
    # Python to run after the SQL, in the same transaction (rows SQL cannot compute)
    run: Callable[[Connection], None] | None = None
