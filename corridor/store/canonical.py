"""RFC 8785 canonical JSON on the capture path, fast where it can be.

For the JSON that events are made of, orjson with sorted keys (like `json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`) already writes the RFC 8785 bytes: same escaping (\\" \\\\ \\b \\f \\n
\\r \\t, other controls as lowercase \\u00xx), same integer form. It differs only for floats
whose ECMAScript form is not Python's repr (integral floats like 26.0, exponents) and for keys
outside the Basic Multilingual Plane (UTF-16 vs code point order). Those documents go to the
reference implementation, corridor.ledger.jcs.canonicalize; tests compare the two.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from corridor.ledger.jcs import canonicalize as reference_canonicalize


def _float_ok(value: float) -> bool:
    if not math.isfinite(value) or value.is_integer():
        return False
    text = repr(value)
    return "e" not in text and "E" not in text


def _simple(value: Any) -> bool:
    """True when the fast serialisers write exactly the RFC 8785 form of `value`."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is dict:
            for k, x in v.items():
                if type(k) is not str or (not k.isascii() and max(k) >= "\ud800"):
                    return False
                tx = type(x)
                if tx is str or tx is int or tx is bool or x is None:
                    continue
                stack.append(x)
        elif t is list:
            for x in v:
                tx = type(x)
                if tx is str or tx is int or tx is bool or x is None:
                    continue
                stack.append(x)
        elif t is float:
            if not _float_ok(v):
                return False
        elif not (t is str or t is int or t is bool or v is None):
            return False
    return True


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value (dict, list, str, int, float, bool, None)."""
    if _simple(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
            pass
    return reference_canonicalize(value)
