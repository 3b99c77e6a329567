"""`corridor` commands for the parties concern."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
