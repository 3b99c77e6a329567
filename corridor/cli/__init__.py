"""The `corridor` command. Each concern's commands live in their own module here (thin shells
over the library functions), listed in `COMMAND_MODULES`; a module is imported only when one
of its commands runs, so that `corridor hash` does not load the web service."""

from __future__ import annotations

import importlib

import click

from corridor import __version__

__all__ = ["COMMAND_MODULES", "main"]

# Command name -> the module of corridor.cli that defines it (in its `COMMANDS` list), in the
# order of `--help`. tests/test_cli_lazy.py checks the table against the modules.
COMMAND_MODULES: dict[str, str] = {
    "validate": "epcis", "convert": "epcis", "hash": "epcis",
    "keygen": "ledger", "log": "ledger", "receipt": "ledger", "witness": "ledger",
    "fx": "fx", "serve": "service", "party": "parties", "demo": "demo",
    "credential": "credentials", "certifier": "credentials", "cbam": "cbam",
    "policy": "insurance", "claim": "insurance", "insurance": "insurance",
    "backup": "ops", "restore": "ops", "doctor": "ops",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"corridor.cli.{module_name}")
        return next((c for c in module.COMMANDS if c.name == cmd_name), None)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="corridor")
def main() -> None:
    """Corridor: EPCIS 2.0 events on a verifiable Merkle log, with central-bank FX rates."""
