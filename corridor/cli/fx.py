"""`corridor` commands for the fx concern."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
