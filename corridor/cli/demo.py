"""`corridor` commands for the demo concern."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
