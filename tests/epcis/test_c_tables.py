"""corridor/_epcis_tables.h, the C cores' tables, comes from corridor.epcis.identifiers and
corridor.epcis.cbv (corridor/epcis/c_tables.py writes it when setup.py builds them)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from corridor.epcis import c_tables


def test_header_written_with_the_standard_library_only() -> None:
    """setup.py runs before Corridor's dependencies exist: no site-packages here."""
    code = "import runpy, sys; sys.stdout.write(runpy.run_path(sys.argv[1])['header']())"
    run = subprocess.run([sys.executable, "-S", "-I", "-c", code, c_tables.__file__],
                         capture_output=True, text=True, check=True)
    assert run.stdout == c_tables.header()


def test_built_header_is_current() -> None:
    """A header older than the Python tables means C cores built from old tables: rebuild
    (`pip install -e .`)."""
    if not c_tables.HEADER.exists():
        pytest.skip("the C cores were not built here")
    assert c_tables.HEADER.read_text(encoding="ascii") == c_tables.header()
