"""`corridor` commands for the ledger concern."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
