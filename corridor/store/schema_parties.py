"""Tables of the parties concern."""

from corridor.store.migrations import Migration

MIGRATIONS: list[Migration] = []
