"""`corridor` commands for the service concern."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
