"""Tables of the ledger concern."""

from corridor.store.migrations import Migration

MIGRATIONS: list[Migration] = []
