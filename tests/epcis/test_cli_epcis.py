"""`corridor validate` and `corridor convert`, run through the real command group."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corridor.cli import main


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


def test_validate_accepts_valid_files(gs1: Path) -> None:
    files = [str(gs1 / "JSON/Example_9.6.1-ObjectEvent.jsonld"),
             str(gs1 / "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml")]
    result = run("validate", *files)
    assert result.exit_code == 0, result.output
    assert result.output.count(": valid") == 2


def test_validate_lists_every_problem_and_exits_1(gs1: Path, tmp_path: Path) -> None:
    bad = gs1 / "JSON-simple-context/Example-TransactionEvents-2020_07_03y.jsonld"
    result = run("validate", str(bad), str(gs1 / "JSON/Example_9.6.1-ObjectEvent.jsonld"))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(bad))]
    assert len(lines) == 2
    assert any("/epcisBody/eventList/1/sourceList" in line and "[json-schema:type]" in line
               for line in lines)
    assert "Example_9.6.1-ObjectEvent.jsonld: valid" in result.output


def test_validate_reads_stdin_and_names_xml_lines(gs1: Path) -> None:
    data = (gs1 / "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes()
    broken = data.replace(b"<action>OBSERVE</action>", b"<action>WATCH</action>", 1)
    result = run("validate", "-", stdin=broken)
    assert result.exit_code == 1
    assert result.output.startswith("<stdin>: line ")
    assert "element <action>" in result.output and "[xsd:" in result.output


def test_convert_xml_to_json_and_back(gs1: Path, tmp_path: Path) -> None:
    source = gs1 / "XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml"
    result = run("convert", str(source), "--to", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["type"] == "EPCISDocument"
    assert doc["epcisBody"]["eventList"][0]["bizStep"] == "shipping"
    converted = tmp_path / "doc.jsonld"
    converted.write_text(result.output)
    back = run("convert", str(converted), "--to", "xml")
    assert back.exit_code == 0
    assert back.output.startswith("<?xml")
    assert run("validate", "-", stdin=back.output.encode()).exit_code == 0


def test_convert_refuses_invalid_documents_without_traceback(gs1: Path) -> None:
    result = run("convert", "-", "--to", "xml", stdin=b'{"type": "EPCISDocument"}')
    assert result.exit_code == 1
    assert "is not a valid EPCIS document" in result.output
    assert "Traceback" not in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)


def test_missing_file_is_a_clear_error(tmp_path: Path, gs1: Path) -> None:
    good = str(gs1 / "JSON/Example_9.6.1-ObjectEvent.jsonld")
    result = run("validate", str(tmp_path / "nope.xml"), good)
    assert result.exit_code == 1
    assert "cannot read" in result.output and "Traceback" not in result.output
    assert f"{good}: valid" in result.output  # the other files are still checked


def test_hostile_xml_is_reported_not_crashed() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "x">]><a>&a;</a>'
    result = run("validate", "-", stdin=bomb)
    assert result.exit_code == 1
    assert "[xml-safety]" in result.output


def test_extended_event_types_are_refused(gs1: Path) -> None:
    """The schema lets an event of any URI type through ("Extended-Event"); EPCIS 2.0 has
    five event types, and convert, like validate, refuses the others (their lack of an XML
    form is test_convert's test_events_without_an_xml_form_are_refused_clearly)."""
    doc = json.loads((gs1 / "JSON/Example_9.6.1-ObjectEvent.jsonld").read_bytes())
    extended = dict(doc["epcisBody"]["eventList"][0], type="https://example.com/MyEvent")
    del extended["action"]
    doc["epcisBody"]["eventList"].append(extended)
    data = json.dumps(doc).encode()
    result = run("validate", "-", stdin=data)
    assert result.exit_code == 1
    where = f"/epcisBody/eventList/{len(doc['epcisBody']['eventList']) - 1}/type"
    assert f"<stdin>: {where}: 'https://example.com/MyEvent' is not an EPCIS 2.0 event " \
           "type" in result.output and "[epcis:event-type]" in result.output
    result = run("convert", "-", "--to", "xml", stdin=data)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "is not a valid EPCIS document" in result.output
    assert "[epcis:event-type]" in result.output
