"""`corridor` commands for the epcis concern."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
