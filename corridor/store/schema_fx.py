"""Tables of the fx concern."""

from corridor.store.migrations import Migration

MIGRATIONS: list[Migration] = []
