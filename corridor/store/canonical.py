"""RFC 8785 canonical JSON on the capture path, fast where it can be.

For the JSON that events are made of, `json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` already writes the RFC 8785 bytes: same escaping (\\" \\\\ \\b \\f \\n
\\r \\t, other controls as lowercase \\u00xx), same integer form. It differs only for floats
whose ECMAScript form is not Python's repr (integral floats like 26.0, exponents) and for keys
outside the Basic Multilingual Plane (UTF-16 vs code point order). Those documents go to the
reference implementation, corridor.ledger.jcs.canonicalize; tests compare the two.
"""

from __future__ import annotations

import json
import math
from typing import Any

from corridor.ledger.jcs import canonicalize as reference_canonicalize

_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          allow_nan=False).encode


def _simple(value: Any) -> bool:
    """True when json.dumps writes exactly the RFC 8785 form of `value`."""
    if isinstance(value, str) or value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or (not k.isascii() and max(k) >= "\ud800"):
                return False
            if not (isinstance(v, str) or _simple(v)):
                return False
        return True
    if isinstance(value, list):
        return all(isinstance(v, str) or _simple(v) for v in value)
    if isinstance(value, float):
        if not math.isfinite(value) or value.is_integer():
            return False
        text = repr(value)
        return "e" not in text and "E" not in text
    return False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value (dict, list, str, int, float, bool, None)."""
    if _simple(value):
        return _dumps(value).encode("utf-8")
    return reference_canonicalize(value)
