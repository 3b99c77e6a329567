"""RFC 8785 JSON Canonicalization Scheme, and the document digest logged for each event."""

from __future__ import annotations

import json
import math
import os
from hashlib import sha256

import orjson


class CanonicalizationError(ValueError):
    """A value JSON cannot represent canonically (NaN, infinity, non-string keys, ...)."""


def _number(value: float, path: str) -> str:
    if math.isnan(value) or math.isinf(value):
        raise CanonicalizationError(f"{path}: {value} is not a JSON number")
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    # repr gives the shortest round-tripping digits; re-format them the ECMAScript way.
    digits, _, exp = repr(abs(value)).partition("e")
    int_part, _, frac = digits.partition(".")
    frac = frac.rstrip("0")
    mantissa = (int_part + frac).lstrip("0")
    # decimal point position relative to the start of `mantissa`
    point = len(int_part.lstrip("0")) + (int(exp) if exp else 0)
    if int_part.strip("0") == "":
        point = -(len(frac) - len(frac.lstrip("0"))) + (int(exp) if exp else 0)
    mantissa = mantissa.rstrip("0") or "0"
    sign = "-" if value < 0 else ""
    k, n = len(mantissa), point
    if k <= n <= 21:
        return sign + mantissa + "0" * (n - k)
    if 0 < n <= 21:
        return sign + mantissa[:n] + "." + mantissa[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + mantissa
    e = n - 1
    body = mantissa[0] + ("." + mantissa[1:] if k > 1 else "")
    return f"{sign}{body}e{'+' if e > 0 else '-'}{abs(e)}"


def _write(value: object, out: list[str], path: str) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_number(value, path))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, f"{path}/{i}")
        out.append("]")
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalizationError(f"{path}: object key {key!r} is not a string")
        out.append("{")
        # RFC 8785 orders keys by their UTF-16 code units.
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _write(value[key], out, f"{path}/{key}")
        out.append("}")
    else:
        raise CanonicalizationError(f"{path or '/'}: {type(value).__name__} is not JSON")


def canonicalize_reference(obj: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value, written step by step: the
    definition that `canonicalize` must agree with (tests compare the two)."""
    out: list[str] = []
    _write(obj, out, "")
    return "".join(out).encode("utf-8")


# The fast path. For the JSON events are made of, orjson with sorted keys already writes the
# RFC 8785 bytes: the same escaping (\" \\ \b \f \n \r \t, other controls as lowercase
# \u00xx) and integer form. It differs only for floats whose ECMAScript form is not Python's
# repr (integral floats like 26.0, exponents) and for keys outside the Basic Multilingual Plane
# (UTF-16 vs code point order); those values take the reference path.

def _float_ok(value: float) -> bool:
    if not math.isfinite(value) or value.is_integer():
        return False
    text = repr(value)
    return "e" not in text and "E" not in text


def _orjson_exact_python(value: object) -> bool:
    """True when orjson writes exactly the RFC 8785 form of `value`. (_jcscore.c does the
    same in C: this loop is a visible part of preparing an event.)"""
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


try:
    from corridor.ledger._jcscore import orjson_exact as _orjson_exact_native
except ImportError:  # not built (no C compiler at install time): the Python loop
    _orjson_exact_native = None
NATIVE = _orjson_exact_native is not None
_orjson_exact = (_orjson_exact_native if NATIVE and os.environ.get("CORRIDOR_PURE_PYTHON") != "1"
                 else _orjson_exact_python)


def canonicalize(obj: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    if _orjson_exact(obj):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
            pass
    return canonicalize_reference(obj)


def document_digest(event: dict) -> bytes:
    """SHA-256 of the canonical JSON of an event document (the `doc` field of log entries)."""
    return sha256(canonicalize(event)).digest()
