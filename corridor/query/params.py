"""EPCIS 2.0 query parameters -> SQL conditions over `events e`.

Input is a mapping name -> list of string values: from a URL (`from_url_pairs`, pipe-delimited
lists) or from a named query's JSON body (`from_json`). Every unknown or malformed parameter is
reported at once in a QueryError naming each of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from corridor.epcis.cbv import normalise
from corridor.epcis.identifiers import canonical
from corridor.query.epc import EpcPattern, match_pattern
from corridor.store.db import lookup_key
from corridor.store.event_index import expand_key
from corridor.store.events import TimeOutOfRange, place_match, utc_time


class QueryError(ValueError):
    """Bad query parameters: `problems` is a list of (parameter name, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str]],
                 exception: str = "QueryParameterException") -> None:
        self.problems = problems
        self.exception = exception
        super().__init__("; ".join(f"{n}: {m}" for n, m in problems))


@dataclass
class Query:
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    order_by: str = "eventTime"  # eventTime | recordTime
    direction: str = "ASC"
    event_count_limit: int | None = None
    max_event_count: int | None = None
    # The parameters in canonical JSON: what a page token is bound to.
    fingerprint: str = ""

    def add(self, sql: str, *params: Any) -> None:
        """add(sql, p1, p2, ...) or add(sql, [p1, p2, ...]) (the helpers' (sql, list))."""
        self.where.append(sql)
        if len(params) == 1 and isinstance(params[0], list):
            self.params.extend(params[0])
        else:
            self.params.extend(params)


def from_url_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """URL query pairs -> name -> values; list values are pipe-delimited (openapi style)."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).extend(value.split("|") if value != "" else [""])
    return out


def from_json(obj: object) -> dict[str, list[str]]:
    """A named query's `query` object -> name -> values."""
    if not isinstance(obj, dict):
        raise QueryError([("query", "must be a JSON object of EPCIS query parameters")])
    out: dict[str, list[str]] = {}
    for name, value in obj.items():
        if name == "@context":
            continue
        items = value if isinstance(value, list) else [value]
        vals: list[str] = []
        for item in items:
            if item is None:
                vals.append("")
            elif isinstance(item, bool):
                vals.append("true" if item else "false")
            elif isinstance(item, int | float | str):
                vals.append(str(item))
            else:
                raise QueryError([(name, "values must be strings, numbers or arrays of them")])
        out[name] = vals
    return out


_EPC_ROLES = {
    "MATCH_epc": ("epc", "child"),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input",),
    "MATCH_outputEPC": ("output",),
    "MATCH_anyEPC": ("epc", "child", "parent", "input", "output"),
    "MATCH_epcClass": ("class", "child_class"),
    "MATCH_inputEPCClass": ("input_class",),
    "MATCH_outputEPCClass": ("output_class",),
    "MATCH_anyEPCClass": ("class", "child_class", "input_class", "output_class"),
}
_CLASS_ROLES = _EPC_ROLES["MATCH_anyEPCClass"]
_OPS = {"EQ": "=", "GT": ">", "GE": ">=", "LT": "<", "LE": "<="}
_TIME_COLS = {"eventTime": "e.event_time", "recordTime": "e.record_time",
              "errorDeclarationTime": "e.error_time", "errorDeclaration_Time": "e.error_time"}
_SENSOR_TIMES = {"time", "startTime", "endTime"}
_SENSOR_TEXT = {"EQ_deviceID", "EQ_dataProcessingMethod", "EQ_microorganism",
                "EQ_chemicalSubstance", "EQ_bizRules", "EQ_stringValue", "EQ_uriValue"}
_ACTIONS = {"ADD", "OBSERVE", "DELETE"}
_PATTERN_SCOPES = {"": "ext", "ILMD_": "ilmd", "ERROR_DECLARATION_": "errdecl",
                   "SENSORELEMENT_": "sensorelement", "SENSORMETADATA_": "sensormetadata",
                   "SENSORREPORT_": "sensorreport"}
_EXT_NAME = r"([A-Za-z][\w.-]*:[^\s]+)"
_RE_EXT = re.compile(r"^(EQ|GT|GE|LT|LE|EXISTS)_(INNER_)?(ILMD_|ERROR_DECLARATION_|"
                     r"SENSORELEMENT_|SENSORMETADATA_|SENSORREPORT_)?" + _EXT_NAME + "$")
_RE_LOC_EXT = re.compile(r"^EQ_(INNER_)?(readPoint|bizLocation)_" + _EXT_NAME + "$")
_RE_SD = re.compile(r"^EQ_(bizTransaction|source|destination)_(.+)$")
_RE_SENSOR_NUM = re.compile(
    r"^(EQ|GT|GE|LT|LE)_(value|minValue|maxValue|meanValue|sDev|percValue)_([A-Z0-9]{2,4})$")
_RE_QTY_UOM = re.compile(r"^(EQ|GT|GE|LT|LE)_quantity_([A-Z0-9]{2,4})$")
_RE_TIME = re.compile(r"^(GE|LT)_(eventTime|recordTime|errorDeclarationTime|"
                      r"errorDeclaration_Time|time|startTime|endTime)$")
_RE_QTY = re.compile(r"^(EQ|GT|GE|LT|LE)_quantity$")
_RE_PERC = re.compile(r"^(GT|GE|LT|LE)_percRank$")
_RE_ATTR = re.compile(r"HASATTR_|EQATTR_|EQ_ATTR_")  # master data attributes (refused)


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _field_in(path: str, values: list[str]) -> tuple[str, list[Any]]:
    return ((f"e.id IN (SELECT f.event_pk FROM event_fields f WHERE f.path = ?"
            f" AND f.sval IN ({_marks(len(values))}))"), [path, *values])


def _field_cmp(path: str, column: str, op: str, value: Any) -> tuple[str, list[Any]]:
    return ((f"e.id IN (SELECT f.event_pk FROM event_fields f WHERE f.path = ?"
            f" AND f.{column} {op} ?)"), [path, value])


def _field_exists(path: str) -> tuple[str, list[Any]]:
    return ("e.id IN (SELECT f.event_pk FROM event_fields f WHERE f.path = ?)", [path])


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _epc_condition(roles: tuple[str, ...], patterns: list[EpcPattern]) -> tuple[str, list[Any]]:
    ors: list[str] = []
    params: list[Any] = []
    exact = [p.exact for p in patterns if p.exact is not None]
    if exact:
        ors.append(f"x.epc IN ({_marks(len(exact))})")
        params.extend(exact)
    for p in patterns:
        if p.prefix is not None:
            ors.append("x.epc LIKE ? ESCAPE '\\'")
            params.append(_like_escape(p.prefix) + "%")
        elif p.like is not None:
            ors.append("x.epc LIKE ? ESCAPE '\\'")
            params.append(p.like)
    sql = (f"e.id IN (SELECT x.event_pk FROM event_epcs x WHERE ({' OR '.join(ors)})"
           f" AND x.role IN ({_marks(len(roles))}))")
    return sql, params + list(roles)


# eventCountLimit and maxEventCount are xsd:int in the EPCIS query schema
MAX_COUNT = 2**31 - 1


def _shown(value: str) -> str:
    """A value quoted in an error message, cut short when long."""
    return repr(value if len(value) <= 60 else value[:60] + "...")


def _number(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise QueryError([(name, f"{_shown(value)} is not a number")]) from None


def _int(name: str, value: str) -> int:
    text = value.strip()
    if not (re.fullmatch(r"[+-]?[0-9]{1,12}", text) and 1 <= int(text) <= MAX_COUNT):
        raise QueryError([(name, f"{_shown(value)} must be an integer from 1 to {MAX_COUNT}")])
    return int(text)


def _time(name: str, value: str) -> str:
    try:
        return utc_time(value)
    except TimeOutOfRange:
        raise QueryError([(name, f"{_shown(value)} is outside years 1-9999 once in UTC")]) \
            from None
    except ValueError:
        raise QueryError([(name, f"{_shown(value)} is not an ISO 8601 date-time")]) from None


def _single(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise QueryError([(name, "takes exactly one value")])
    return values[0]


def _nonempty(name: str, values: list[str]) -> list[str]:
    vals = [v for v in values if v != ""]
    if not vals:
        raise QueryError([(name, "needs at least one value")])
    return vals


def _typed_value(name: str, value: str) -> tuple[str, Any]:
    """Comparison operand of an extension field: a time (as stored text) or a number."""
    try:
        return "sval", utc_time(value)
    except ValueError:
        pass
    try:
        return "nval", float(value)
    except ValueError:
        raise QueryError([(name, f"{value!r} is neither a number nor a date-time")]) from None


def _eq_ext(path: str, values: list[str]) -> tuple[str, list[Any]]:
    svals: list[Any] = []
    nvals: list[Any] = []
    for v in values:
        try:
            svals.append(utc_time(v))
        except ValueError:
            svals.append(v)
        try:
            nvals.append(float(v))
        except ValueError:
            pass
    cond = f"f.sval IN ({_marks(len(svals))})"
    if nvals:
        cond = f"({cond} OR f.nval IN ({_marks(len(nvals))}))"
    return (f"e.id IN (SELECT f.event_pk FROM event_fields f WHERE f.path = ? AND {cond})",
            [path, *svals, *nvals])


LocationExpander = Callable[[list[str]], list[str]]


@dataclass(frozen=True, slots=True)
class _Context:  # what a handler may need besides the parameter itself
    ns: Mapping[str, str]  # extension prefix -> namespace IRI
    descendants: LocationExpander | None  # WD_ location expansion


# A handler compiles one parameter into `q` or raises QueryError naming it. Handlers of exact
# names get the name; handlers of name patterns get the match (the name is `m.string`).
Handler = Callable[[Query, str, list[str], _Context], None]
MatchHandler = Callable[[Query, "re.Match[str]", list[str], _Context], None]


def parse_query(raw: Mapping[str, list[str]], namespaces: Mapping[str, str] | None = None,
                descendants: LocationExpander | None = None) -> Query:
    """Compile EPCIS query parameters. `namespaces` resolves extension prefixes;
    `descendants` expands locations for WD_ (defaults to the locations themselves)."""
    ctx = _Context(namespaces or {}, descendants)
    q = Query()
    problems: list[tuple[str, str]] = []
    for name, values in raw.items():
        if "\x00" in name or any("\x00" in v for v in values):
            # no stored text holds U+0000 (capture refuses it; PostgreSQL cannot store it)
            problems.append((name.replace("\x00", "\\x00"),
                             "must not contain U+0000 (NUL)"))
            continue
        try:
            _dispatch(q, name, values, ctx)
        except QueryError as exc:
            problems.extend(exc.problems)
    if q.event_count_limit is not None and q.max_event_count is not None:
        problems.append(("eventCountLimit", "cannot be combined with maxEventCount"))
    if "orderBy" in raw and "orderDirection" not in raw:
        q.direction = "DESC"  # the standard's default once an order is asked for
    if problems:
        raise QueryError(problems)
    q.fingerprint = json.dumps(sorted((k, sorted(v)) for k, v in raw.items()),
                               separators=(",", ":"))
    return q


def _dispatch(q: Query, name: str, values: list[str], ctx: _Context) -> None:
    """Compile one parameter by the handler of its name, else of the first pattern matching it."""
    handler = _BY_NAME.get(name)
    if handler is not None:
        handler(q, name, values, ctx)
        return
    for pattern, on_match in _BY_PATTERN:
        if m := pattern.match(name):
            on_match(q, m, values, ctx)
            return
    raise QueryError([(name, "unknown query parameter")])


# Handlers of exact names. The first five are bound to a column, field path or attribute (and
# the vocabulary of the stored bare words, or the allowed values) in the table below.
def _column_in(column: str, vocab: str | None,
               q: Query, name: str, values: list[str], ctx: _Context) -> None:
    vals = _nonempty(name, values)
    if vocab is not None:
        vals = [normalise(vocab, v) for v in vals]
    q.add(f"{column} IN ({_marks(len(vals))})", *vals)


def _field_values(path: str, vocab: str | None,
                  q: Query, name: str, values: list[str], ctx: _Context) -> None:
    vals = _nonempty(name, values)
    if vocab is not None:
        vals = [normalise(vocab, v) for v in vals]
    q.add(*_field_in(path, vals))


def _count(attr: str, q: Query, name: str, values: list[str], ctx: _Context) -> None:
    setattr(q, attr, _int(name, _single(name, values)))  # eventCountLimit, maxEventCount


def _choice(attr: str, allowed: tuple[str, ...], problem: str,
            q: Query, name: str, values: list[str], ctx: _Context) -> None:
    value = _single(name, values)
    if value not in allowed:
        raise QueryError([(name, problem.format(value))])
    setattr(q, attr, value)  # orderBy, orderDirection


def _checked(path: str, fold: Callable[[str], str], form: re.Pattern[str], problem: str,
             q: Query, name: str, values: list[str], ctx: _Context) -> None:
    vals = [fold(v) for v in _nonempty(name, values)]
    if any(not form.fullmatch(v) for v in vals):
        raise QueryError([(name, problem)])
    q.add(*_field_in(path, vals))  # EQ_booleanValue, EQ_hexBinaryValue


def _action(q: Query, name: str, values: list[str], ctx: _Context) -> None:
    vals = _nonempty(name, values)
    bad = [v for v in vals if v not in _ACTIONS]
    if bad:
        raise QueryError([(name, f"{bad[0]!r} is not one of ADD, OBSERVE, DELETE")])
    q.add(f"e.action IN ({_marks(len(vals))})", *vals)


def _place(q: Query, name: str, values: list[str], ctx: _Context) -> None:
    vals = [canonical(v) for v in _nonempty(name, values)]
    if name.startswith("WD_") and ctx.descendants is not None:
        vals = ctx.descendants(vals)
    q.add(*place_match("e", "read_point" if name.endswith("readPoint") else "biz_location",
                       vals))


def _epc_match(q: Query, name: str, values: list[str], ctx: _Context) -> None:
    patterns: list[EpcPattern] = []
    for v in _nonempty(name, values):
        try:
            patterns.append(match_pattern(v))
        except ValueError as exc:
            raise QueryError([(name, str(exc))]) from None
    q.add(*_epc_condition(_EPC_ROLES[name], patterns))


def _event_id(q: Query, name: str, values: list[str], ctx: _Context) -> None:
    vals = _nonempty(name, values)
    keys = [lookup_key(v) for v in vals]  # the indexed keys, then the text itself
    q.add(f"e.id_key IN ({_marks(len(vals))}) AND e.event_id IN ({_marks(len(vals))})",
          *keys, *vals)


def _exists(q: Query, name: str, values: list[str], ctx: _Context) -> None:
    q.add(*_field_exists(name.removeprefix("EXISTS_")))  # errorDeclaration, sensorElementList


# Handlers of name patterns.
def _time_bound(q: Query, m: re.Match[str], values: list[str], ctx: _Context) -> None:
    name, (op, which) = m.string, m.groups()
    value = _time(name, _single(name, values))
    sqlop = ">=" if op == "GE" else "<"
    if which in _SENSOR_TIMES:
        q.add(*_field_cmp(f"sensor:{which}", "sval", sqlop, value))
    else:
        q.add(f"{_TIME_COLS[which]} {sqlop} ?", value)


def _quantity(q: Query, m: re.Match[str], values: list[str], ctx: _Context) -> None:
    name, op = m.string, m.group(1)
    uom = m.group(2) if m.re is _RE_QTY_UOM else None
    vals = _nonempty(name, values) if op == "EQ" else [_single(name, values)]
    nums = [_number(name, v) for v in vals]
    cond = (f"x.quantity IN ({_marks(len(nums))})" if op == "EQ"
            else f"x.quantity {_OPS[op]} ?")
    params: list[Any] = list(nums)
    if uom is not None:
        cond += " AND x.uom = ?"
        params.append(uom)
    q.add(f"e.id IN (SELECT x.event_pk FROM event_epcs x WHERE x.role IN"
          f" ({_marks(len(_CLASS_ROLES))}) AND {cond})", *_CLASS_ROLES, *params)


def _perc_rank(q: Query, m: re.Match[str], values: list[str], ctx: _Context) -> None:
    name = m.string
    q.add(*_field_cmp("sensor:percRank", "nval", _OPS[m.group(1)],
                      _number(name, _single(name, values))))


def _sensor_number(q: Query, m: re.Match[str], values: list[str], ctx: _Context) -> None:
    name, (op, key, uom) = m.string, m.groups()
    path = f"sensor:{key}:{uom}"
    if op == "EQ":
        nums = [_number(name, v) for v in _nonempty(name, values)]
        q.add(f"e.id IN (SELECT f.event_pk FROM event_fields f WHERE f.path = ?"
              f" AND f.nval IN ({_marks(len(nums))}))", path, *nums)
    else:
        q.add(*_field_cmp(path, "nval", _OPS[op], _number(name, _single(name, values))))


def _party(q: Query, m: re.Match[str], values: list[str], ctx: _Context) -> None:
    name, (kind, typ) = m.string, m.groups()
    vocab = "bizTransactionType" if kind == "bizTransaction" else "sourceDestType"
    vals = [canonical(v) for v in _nonempty(name, values)]
    path = f"{kind}:{normalise(vocab, typ)}"
    if kind == "bizTransaction":
        q.add(*_field_in(path, vals))
    else:  # sources and destinations are indexed in event_parties only
        q.add(f"e.id IN (SELECT p.event_pk FROM event_parties p WHERE p.path = ?"
              f" AND p.value IN ({_marks(len(vals))}))", path, *vals)


def _place_extension(q: Query, m: re.Match[str], values: list[str], ctx: _Context) -> None:
    inner, which, ext = m.groups()
    scope = f"inner_{which}" if inner else which
    q.add(*_eq_ext(f"{scope}:{expand_key(ext, ctx.ns)}", _nonempty(m.string, values)))


def _master_data(q: Query, m: re.Match[str], values: list[str], ctx: _Context) -> None:
    raise QueryError([(m.string, ("master data attribute queries are not supported by this"
                                  " repository"))])


def _extension(q: Query, m: re.Match[str], values: list[str], ctx: _Context) -> None:
    name, (op, inner, scope_key, ext) = m.string, m.groups()
    scope = _PATTERN_SCOPES[scope_key or ""]
    if inner:
        scope = f"inner_{scope}"
    path = f"{scope}:{expand_key(ext, ctx.ns)}"
    if op == "EXISTS":
        q.add(*_field_exists(path))
    elif op == "EQ":
        q.add(*_eq_ext(path, _nonempty(name, values)))
    else:
        column, operand = _typed_value(name, _single(name, values))
        q.add(*_field_cmp(path, column, _OPS[op], operand))


# Exact names are looked up first. That keeps the precedence of the if/elif chain this table
# replaced: no exact name here is matched by any pattern below.
_BY_NAME: dict[str, Handler] = {
    "eventType": partial(_column_in, "e.event_type", "eventType"),
    "EQ_action": _action,
    "EQ_bizStep": partial(_column_in, "e.biz_step", "bizStep"),
    "EQ_disposition": partial(_column_in, "e.disposition", "disposition"),
    **{f"EQ_persistentDisposition_{w}": partial(_field_values, f"persistentDisposition:{w}",
                                                "disposition") for w in ("set", "unset")},
    **dict.fromkeys(("EQ_readPoint", "WD_readPoint", "EQ_bizLocation", "WD_bizLocation"),
                    _place),
    "EQ_transformationID": partial(_column_in, "e.transformation_id", None),
    **dict.fromkeys(_EPC_ROLES, _epc_match),
    "EQ_eventID": _event_id,
    **dict.fromkeys(("EXISTS_errorDeclaration", "EXISTS_sensorElementList"), _exists),
    "EQ_errorReason": partial(_field_values, "errorReason", "errorReason"),
    "EQ_correctiveEventID": partial(_field_values, "correctiveEventID", None),
    "orderBy": partial(_choice, "order_by", ("eventTime", "recordTime"),
                       "{!r}: ordering is supported by eventTime or recordTime"),
    "orderDirection": partial(_choice, "direction", ("ASC", "DESC"), "{!r} is not ASC or DESC"),
    "eventCountLimit": partial(_count, "event_count_limit"),
    "maxEventCount": partial(_count, "max_event_count"),
    "EQ_type": partial(_field_values, "sensor:type", "measurementType"),
    **{n: partial(_field_values, f"sensor:{n[3:]}", None) for n in sorted(_SENSOR_TEXT)},
    "EQ_booleanValue": partial(_checked, "sensor:booleanValue", str.lower,
                               re.compile("true|false"), "values must be true or false"),
    "EQ_hexBinaryValue": partial(_checked, "sensor:hexBinaryValue", str.upper,
                                 re.compile("[0-9A-F]*"), "values must be hexadecimal"),
}

# Then the patterns, in this order: the first that matches decides (a name such as
# EQ_bizTransaction_ex:po or EQ_ATTR_ex:a matches a later pattern too).
_BY_PATTERN: tuple[tuple[re.Pattern[str], MatchHandler], ...] = (
    (_RE_TIME, _time_bound), (_RE_QTY, _quantity), (_RE_QTY_UOM, _quantity),
    (_RE_PERC, _perc_rank), (_RE_SENSOR_NUM, _sensor_number), (_RE_SD, _party),
    (_RE_LOC_EXT, _place_extension), (_RE_ATTR, _master_data), (_RE_EXT, _extension),
)
