"""The `corridor` command imports a command's module only when that command runs, and its
table names every command each module defines."""

from __future__ import annotations

import importlib
import subprocess
import sys

from click.testing import CliRunner

from corridor.cli import COMMAND_MODULES, main


def test_the_table_lists_every_command_of_every_module() -> None:
    defined = {}
    for module_name in set(COMMAND_MODULES.values()):
        module = importlib.import_module(f"corridor.cli.{module_name}")
        defined.update({c.name: module_name for c in module.COMMANDS})
    assert defined == COMMAND_MODULES


def test_help_lists_every_command() -> None:
    out = CliRunner().invoke(main, ["--help"]).output
    for name in COMMAND_MODULES:
        assert f"  {name} " in out or f"  {name}\n" in out, name


def test_hashing_does_not_load_the_web_service() -> None:
    probe = ("import sys; from corridor.cli import main\n"
             "try:\n    main(['hash', '--help'])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in"
             " ('starlette', 'uvicorn') or m.startswith(('corridor.app', 'corridor.web'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
