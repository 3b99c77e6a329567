"""Tables of the events concern."""

from corridor.store.migrations import Migration

MIGRATIONS: list[Migration] = []
