"""The `corridor` command. Each concern registers its commands from its own module here;
the modules are thin shells over the library functions."""

from __future__ import annotations

import importlib

import click

from corridor import __version__

# Modules under corridor.cli that each expose `COMMANDS: list[click.Command]`.
_COMMAND_MODULES = ("epcis", "ledger", "fx", "service", "parties", "demo")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="corridor")
def main() -> None:
    """Corridor: EPCIS 2.0 events on a verifiable Merkle log, with central-bank FX rates."""


for _name in _COMMAND_MODULES:
    _module = importlib.import_module(f"corridor.cli.{_name}")
    for _command in _module.COMMANDS:
        main.add_command(_command)
