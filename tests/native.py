"""The C parts are optional at install (no compiler: Python paths), required in CI."""

from __future__ import annotations

import os

import pytest


def require_built(built: bool, module: str) -> None:
    """Skip the calling test module when `module` is not built, with a visible reason; fail
    it where CORRIDOR_REQUIRE_NATIVE=1 (CI), since there it must be."""
    if built:
        return
    if os.environ.get("CORRIDOR_REQUIRE_NATIVE") == "1":
        raise RuntimeError(f"required by CI but missing: {module} is not built"
                           " (pip install -e . with a C compiler builds it)")
    pytest.skip(f"{module} is not built (no C compiler at install time?): only the Python"
                " path is tested", allow_module_level=True)
