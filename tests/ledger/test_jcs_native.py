"""The C check of the RFC 8785 fast path (corridor/ledger/_jcscore.c) against the Python one:
the same answer for every JSON value, edge cases and random ones; and canonicalize gives the
reference bytes either way.

Skipped when the extension is not built, except where CORRIDOR_REQUIRE_NATIVE=1 (CI).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.ledger import jcs
from tests.native import require_built

require_built(jcs.NATIVE, "corridor.ledger._jcscore")

from corridor.ledger._jcscore import orjson_exact  # built: checked above


class Text(str):
    pass


class Number(int):
    pass


def _deep(levels: int) -> Any:
    value: Any = "leaf"
    for k in range(levels):
        value = [value] if k % 2 else {"k": value}
    return value


CASES: list[Any] = [
    None, True, False, 0, -1, 2**63, 2**70, "", "text", "ü€漢\U0001f600",
    0.5, -0.25, 1.1, 26.0, -0.0, 0.0, 1e300, 1e-7, 1.5e-5, 123456789.125, float("nan"),
    float("inf"), float("-inf"), 2.0**53 + 0.5,
    {"a": 1, "b": [1, "x", None]}, {"é": 1}, {"\ud7ff": 1}, {"\ud800": 1}, {"\U0001f600": 1},
    {"ok": {"deep": [{"x": 1.5}, {"y": 2.0}]}}, {1: "int key"}, {"k": (1, 2)}, (1, 2),
    {"k": Text("subclass")}, Text("subclass"), {"k": Number(3)}, b"bytes", {"k": {1, 2}},
    [[[]]], {}, [], _deep(254), _deep(255),
]


@pytest.mark.parametrize("value", CASES, ids=range(len(CASES)))
def test_c_check_is_the_python_check(value: Any) -> None:
    assert orjson_exact(value) is jcs._orjson_exact_python(value)


@pytest.mark.parametrize("levels", [256, 600])
def test_deeper_than_orjson_goes_to_the_reference_path(levels: int) -> None:
    """Beyond 255 levels (where orjson.dumps refuses) the C check says no at once; the Python
    one finds out from orjson. Either way the bytes are the reference's."""
    value = _deep(levels)
    assert orjson_exact(value) is False
    assert jcs.canonicalize(value) == jcs.canonicalize_reference(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_random_values_agree(value: Any) -> None:
    assert orjson_exact(value) is jcs._orjson_exact_python(value)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_canonicalize_is_the_reference(value: Any) -> None:
    try:
        expected = jcs.canonicalize_reference(value)
    except (jcs.CanonicalizationError, ValueError, TypeError):
        return  # NaN, infinity: refused by both
    assert jcs.canonicalize(value) == expected
