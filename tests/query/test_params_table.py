"""The query parameter table compiles every parameter as the if/elif chain it replaced did.

A broad generated set of parameter names and values (every family, unknown names, edge names
such as `EQ_`, `GE_eventTime\\n` or `EQ_ATTR_ex:a`) is compiled, and each outcome (the Query's
`where`, `params`, order, counts and fingerprint, or the QueryError's problems) is compared with
tests/query/data/params_golden.json, which was written from the chain version of
corridor/query/params.py (git HEAD before the table landed). While HEAD still has that chain
(`_one`), the outcomes are also compared with it directly, loaded from git.

Regenerate the golden file only for an intended change of behaviour, by hand:
    .venv/bin/python tests/query/test_params_table.py           # from the working tree
    .venv/bin/python tests/query/test_params_table.py --head    # from git HEAD's params.py
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from corridor.query import params as current

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("data") / "params_golden.json"
NAMESPACES = {"example": "http://ns.example.com/epcis/", "ex2": "urn:example:ns:"}

_OPS = ("EQ", "GT", "GE", "LT", "LE", "NE")
_TIMES = ["2020-01-01T00:00:00Z", "2019-04-02T13:05:00", "2019-04-02T13:05:00.123456789-05:00",
          "2019-02-30T00:00:00Z", " 2019-04-02T13:05:00Z ", "9999-12-31T23:59:59-23:59",
          "0001-01-01T00:00:00+01:00", "2020-01-01", "noon"]
_NUMBERS = ["1", "-2.5", " 7 ", "1e3", "1_000", "0x10", "nan", "-inf", "abc"]
# Tried with every exact name: empty, several, numbers, counts, times, words, long text.
_GENERIC: list[list[str]] = [
    [], [""], ["x"], ["", "x"], ["1"], ["1", "2.5"], ["0"], ["-3"], ["nan"], ["2147483647"],
    ["2147483648"], ["2020-01-01T00:00:00Z"], ["9999-12-31T23:59:59-23:59"], ["noon"],
    ["y" * 70], ["true"], ["FALSE"], ["f0F0"], ["ADD"], ["eventTime"], ["DESC"],
]
_EPCS = [
    ["urn:epc:id:sgtin:0614141.107346.2017"],
    ["urn:epc:idpat:sgtin:0614141.107346.*", "urn:epc:idpat:sgtin:0614141.*.*",
     "urn:epc:idpat:sgtin:*.*.*"],
    ["urn:epc:idpat:sgtin:*.107346.2017"], ["urn:epc:idpat:sscc:0614141.*"],
    ["urn:epc:idpat:sgln:0614141.00777.*"], ["urn:epc:idpat:sgln:0614141.*.*"],
    ["urn:epc:idpat:grai:0614141.12345.*"], ["urn:epc:idpat:giai:0614141.*"],
    ["urn:epc:class:lgtin:4012345.012345.998877"], ["urn:epc:idpat:sgtin:06%14_41.*.*"],
    ["https://id.gs1.org/01/70614141123451/21/2018"], ["urn:epc:idpat:sgtin:abc.*.*"],
]
_PLACES = [["urn:epc:id:sgln:0614141.00777.0"],
           ["https://id.gs1.org/414/0614141007770", "urn:epc:id:sgln:0614141.00777.0"],
           ["urn:epc:id:sgln:bad"], ["https://example.org/place"]]
_FAMILY: dict[str, list[list[str]]] = {
    "eventType": [["ObjectEvent"], ["epcis:ObjectEvent", "https://ref.gs1.org/epcis/Aggr"]],
    "EQ_action": [["ADD", "OBSERVE", "DELETE"], ["add"], ["ADD", "BOGUS"], ["BOGUS", "ADD"]],
    "EQ_bizStep": [["urn:epcglobal:cbv:bizstep:shipping", "https://ref.gs1.org/cbv/BizStep-x"],
                   ["cbv:BizStep-y", "https://example.org/step"]],
    "EQ_disposition": [["urn:epcglobal:cbv:disp:in_transit", "https://gs1.org/voc/Disp-a"]],
    "EQ_persistentDisposition_set": [["urn:epcglobal:cbv:disp:completeness_verified"]],
    "EQ_persistentDisposition_unset": [["cbv:Disp-completeness_inferred", "x"]],
    "EQ_eventID": [["urn:uuid:6d0ba3e1-4a5c-4c44-9ec5-a0b3d4c4b6f1"],
                   ["ni:///sha-256;abc?ver=CBV2.0", "urn:uuid:x"]],
    "EQ_errorReason": [["urn:epcglobal:cbv:er:did_not_occur", "incorrect_data"]],
    "orderBy": [["recordTime"], ["eventtime"], ["eventTime", "recordTime"]],
    "orderDirection": [["ASC"], ["desc"]],
    "eventCountLimit": [["+5"], ["05"], ["1.0"], ["999999999999"], ["1234567890123"], ["-0"]],
    "maxEventCount": [["+5"], [" 12 "], ["1e2"]],
    "EQ_type": [["gs1:Temperature", "https://gs1.org/voc/RelativeHumidity", "x:y"]],
    "EQ_booleanValue": [["True", "false"], ["TRUE", "no"], ["1"]],
    "EQ_hexBinaryValue": [["f0f0", "00"], ["0x1"], ["ABCDEFG"], ["é"]],
    **{n: _PLACES for n in ("EQ_readPoint", "WD_readPoint", "EQ_bizLocation", "WD_bizLocation")},
    **{n: _EPCS for n in ("MATCH_epc", "MATCH_parentID", "MATCH_inputEPC", "MATCH_outputEPC",
                          "MATCH_anyEPC", "MATCH_epcClass", "MATCH_inputEPCClass",
                          "MATCH_outputEPCClass", "MATCH_anyEPCClass")},
}
_EXACT = [*_FAMILY, "EQ_transformationID", "EXISTS_errorDeclaration", "EQ_correctiveEventID",
          "EXISTS_sensorElementList", "EQ_deviceID", "EQ_dataProcessingMethod",
          "EQ_microorganism", "EQ_chemicalSubstance", "EQ_bizRules", "EQ_stringValue",
          "EQ_uriValue"]
_SMALL = [[], [""], ["a"], ["3"], ["2020-01-01T00:00:00+01:00"], ["1", "b"]]
_EXT_NAMES = ["example://f", "http://ns.example.com/epcis/f", "ex2:g", "example:", "1x:f",
              "x:f g", "é:f", "x.y-z:f", "example:f\n", "example:f:g", "EXAMPLE:f", "_x:f"]
_EDGE_NAMES = [
    "", "EQ_", "GE_", "LT_", "GT_", "LE_", "EXISTS_", "WD_", "MATCH_", "EQ_INNER_",
    "EQ_INNER_ILMD_", "EQ_ILMD_", "EQ_INNER_INNER_example:f", "EQ_ILMD_INNER_example:f",
    "eventtype", "EVENTTYPE", " eventType", "eventType ", "GE_eventTime\n", "EQ_quantity\n",
    "EQ_quantity_KGM\n", "GE_value_CEL\n", "GE_percRank\n", "EQ_bizTransaction_po\n",
    "EQ_readPoint_example:a\n", "EQ_action\n", "eq_action", "EQ_bizStep_x", "EQ_value",
    "EQ_value_", "perPage", "nextPageToken", "@context", "EQ_eventID ", "EXISTS_errorDeclaration_x",
    "EXISTS_sensorElementList\n", "MATCH_anyEPC_x", "EQ_\uff45xample:f", "EQ_quantity_KGM_x",
    "EQ_type_x", "GE_ILMD_example:f\n", "EQ_\x00", "EQ_example:\u2028", "GE_eventTime_x",
    "EQ_errorDeclarationTime", "GE_errorDeclaration_time", "LT_recordtime",
]


def _names_and_values() -> Iterator[tuple[str, list[str]]]:
    for name in _EXACT:
        for values in [*_GENERIC, *_FAMILY.get(name, [])]:
            yield name, values
    for op in ("GE", "LT", "GT", "EQ"):
        for which in ("eventTime", "recordTime", "errorDeclarationTime", "errorDeclaration_Time",
                      "time", "startTime", "endTime"):
            for t in _TIMES:
                yield f"{op}_{which}", [t]
            yield f"{op}_{which}", [_TIMES[0], _TIMES[0]]
    for op in _OPS:
        for suffix in ("", "_KGM", "_K", "_A93", "_ABCDE", "_kgm", "_"):
            for n in _NUMBERS:
                yield f"{op}_quantity{suffix}", [n]
            yield f"{op}_quantity{suffix}", ["1", "2", "3"]
        yield f"{op}_percRank", ["50"]
        yield f"{op}_percRank", ["1", "2"]
        yield f"{op}_percRank", ["x"]
        for key in ("value", "minValue", "maxValue", "meanValue", "sDev", "percValue", "other"):
            for uom in ("CEL", "cel") if key != "value" else ("CEL", "P1", "KGMS", "KGMSX", "cel"):
                for values in (["26.5"], ["1", "2"], ["warm"], []):
                    yield f"{op}_{key}_{uom}", values
    for name in ("EQ_bizTransaction_po", "EQ_bizTransaction_urn:epcglobal:cbv:btt:desadv",
                 "EQ_bizTransaction_https://ref.gs1.org/cbv/BTT-inv",
                 "EQ_bizTransaction_example:x", "EQ_bizTransaction_", "EQ_source_owning_party",
                 "EQ_source_urn:epcglobal:cbv:sdt:possessing_party", "EQ_destination_location",
                 "EQ_destination_example:x", "GT_source_owning_party", "EQ_sources_x",
                 "EQ_source_", "EQ_readPoint_example:a", "EQ_bizLocation_example:a",
                 "EQ_INNER_readPoint_example:a", "EQ_INNER_bizLocation_ex2:b",
                 "EQ_readPoint_unknown:a", "EQ_readPoint_example://a", "EQ_readPoint_a",
                 "EQ_readPoint_", "GT_readPoint_example:a", "EXISTS_bizLocation_example:a",
                 "WD_readPoint_example:a", "EQ_readPoint_http://x.org/a",
                 "HASATTR_urn:epcglobal:epcis:vtype:BusinessLocation", "HASATTR_",
                 "EQATTR_urn:epcglobal:epcis:vtype:ReadPoint_urn:x", "EQ_ATTR_example:a",
                 "EQ_ATTR_x", "EQATTR_", "hasattr_x"):
        for values in (*_PLACES[:2], [], ["", "urn:epc:id:pgln:0614141.00001"]):
            yield name, values
    for op in ("EQ", "GT", "GE", "LT", "LE", "EXISTS", "NE"):
        for inner in ("", "INNER_"):
            for scope in ("", "ILMD_", "ERROR_DECLARATION_", "SENSORELEMENT_",
                          "SENSORMETADATA_", "SENSORREPORT_", "OTHER_"):
                for values in _SMALL:
                    yield f"{op}_{inner}{scope}example:f", values
                for values in _SMALL[2:4]:
                    yield f"{op}_{inner}{scope}unknown:f", values
    for op in ("EQ", "GE", "EXISTS"):
        for ext in _EXT_NAMES:
            for values in _SMALL[2:5]:
                yield f"{op}_{ext}", values
    for name in _EDGE_NAMES:
        for values in (["x"], [], ["1"], ["2020-01-01T00:00:00Z"], ["a\x00b"]):
            yield name, values


def cases() -> list[dict[str, Any]]:
    """Every case: the raw parameters, and whether namespaces and a WD_ expander are given."""
    out = [{"raw": {name: values}, "ns": True, "wd": False}
           for name, values in _names_and_values()]
    for name in ("WD_readPoint", "WD_bizLocation", "EQ_readPoint", "EQ_example:f"):
        for values in _PLACES:
            out.append({"raw": {name: values}, "ns": True, "wd": True})
    for name in ("EQ_example:f", "GE_ILMD_ex2:g", "EQ_INNER_readPoint_example:a",
                 "EXISTS_example:f", "EQ_bizTransaction_example:x"):
        out.append({"raw": {name: ["1"]}, "ns": False, "wd": False})
    multi: list[dict[str, list[str]]] = [
        {"EQ_colour": ["red"], "GE_eventTime": ["noon"], "perPage": ["x"],
         "eventCountLimit": ["-1"], "GE_value_CEL": ["warm"], "EQ_booleanValue": ["maybe"],
         "orderBy": ["colour"]},
        {"eventCountLimit": ["1"], "maxEventCount": ["1"]},
        {"eventCountLimit": ["0"], "maxEventCount": ["1"]},
        {"orderBy": ["recordTime"]}, {"orderDirection": ["ASC"]}, {"orderBy": ["x"]},
        {"orderBy": ["eventTime"], "orderDirection": ["ASC"]},
        {"orderDirection": ["DESC"], "orderBy": ["eventTime"]},
        {"eventType": ["ObjectEvent"], "GE_eventTime": ["2020-01-01T00:00:00Z"],
         "EQ_bizStep": ["shipping"], "MATCH_epc": ["urn:epc:idpat:sgtin:0614141.*.*"],
         "EQ_example:f": ["1"], "GT_quantity_KGM": ["2"], "eventCountLimit": ["10"]},
        {"EQ_\x00x": ["1"], "eventType": ["a\x00"], "EQ_colour": ["red"], "EQ_action": []},
        {"MATCH_epc": ["urn:epc:idpat:sgtin:*.1.2"], "HASATTR_x": ["1"], "GE_quantity": ["1", "2"]},
        {}, {"@context": ["x"]},
    ]
    out += [{"raw": raw, "ns": True, "wd": True} for raw in multi]
    return out


def _descendants(places: list[str]) -> list[str]:
    return [*places, *(p + "#child" for p in places)]


def outcome(module: ModuleType, case: dict[str, Any]) -> dict[str, Any]:
    """What `module.parse_query` makes of a case, as JSON: the Query, or the QueryError's
    problems (any other exception fails the test: no parameter may cause one)."""
    try:
        q = module.parse_query(case["raw"], NAMESPACES if case["ns"] else None,
                               _descendants if case["wd"] else None)
    except module.QueryError as exc:
        return {"problems": [list(p) for p in exc.problems], "exception": exc.exception}
    return {"where": q.where, "params": q.params, "order_by": q.order_by,
            "direction": q.direction, "event_count_limit": q.event_count_limit,
            "max_event_count": q.max_event_count,
            "fingerprint_sha256": hashlib.sha256(q.fingerprint.encode()).hexdigest()[:16]}


def _text(obj: Any) -> str:
    # JSON text (keys kept in order), so that NaN parameters compare equal and 1 differs from 1.0
    return json.dumps(obj, ensure_ascii=True)


def head_module() -> ModuleType | str:
    """corridor/query/params.py as committed at git HEAD, if it still has the if/elif chain
    (`_one`); else the reason why not."""
    if shutil.which("git") is None:
        return "git is not installed"
    shown = subprocess.run(["git", "-C", str(REPO), "show", "HEAD:corridor/query/params.py"],
                           capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        return f"git show HEAD:corridor/query/params.py failed: {shown.stderr.strip()[:200]}"
    if "def _one(" not in shown.stdout:
        return ("HEAD's corridor/query/params.py has no `_one` chain any more (the table has "
                "landed): tests/query/data/params_golden.json is the reference")
    name = "corridor_query_params_at_head"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params_at_head.py"
        path.write_text(shown.stdout, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        try:
            spec.loader.exec_module(module)
        finally:
            del sys.modules[name]
    return module


def _differences(expected: Iterable[tuple[dict[str, Any], Any]]) -> list[str]:
    """The cases whose outcome now differs from the expected one, shown."""
    out = []
    for case, want in expected:
        got = outcome(current, case)
        if _text(want) != _text(got):
            out.append(f"{_text(case)}\n  expected {_text(want)}\n  got      {_text(got)}")
    return out


def _golden() -> list[tuple[dict[str, Any], Any]]:
    """The golden file's (case, expected outcome) pairs; it holds [raw, ns, wd, expected]."""
    entries = json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]
    return [({"raw": raw, "ns": ns, "wd": wd}, want) for raw, ns, wd, want in entries]


def test_the_golden_file_holds_every_generated_case() -> None:
    golden = _golden()
    assert [_text(case) for case, _ in golden] == [_text(case) for case in cases()]
    assert len(golden) > 3000
    assert {next(iter(want)) for _, want in golden} == {"where", "problems"}


def test_every_case_compiles_as_the_golden_file_says() -> None:
    diffs = _differences(_golden())
    assert not diffs, f"{len(diffs)} cases differ, e.g.\n" + "\n".join(diffs[:5])


def test_every_case_compiles_as_the_chain_at_head_does() -> None:
    head = head_module()
    if isinstance(head, str):
        pytest.skip(head)
    diffs = _differences((case, outcome(head, case)) for case in cases())
    assert not diffs, f"{len(diffs)} cases differ, e.g.\n" + "\n".join(diffs[:5])


def write_golden(from_head: bool) -> None:
    """Write the golden file (by hand only; see the module docstring)."""
    module = head_module() if from_head else current
    if isinstance(module, str):
        raise SystemExit(module)
    lines = [_text([case["raw"], case["ns"], case["wd"], outcome(module, case)])
             for case in cases()]
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text('{"cases": [\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")
    print(f"wrote {len(lines)} cases to {GOLDEN}")


if __name__ == "__main__":
    write_golden(from_head="--head" in sys.argv[1:])
