"""`corridor hash`: hash IDs of every event, from files or standard input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from corridor.cli import main
from tests.epcis.reference_tool import offline, reference_hashes


def _examples(conformance: Path) -> Path:
    return conformance / "event-hash" / "tests" / "examples"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


@pytest.mark.parametrize("name", ["epcisDocWithVariousEventTypes.xml",
                                  "epcisDocWithVariousEventTypes.jsonld",
                                  "epcisDocHavingEventWithIgnoreFields.jsonld",
                                  "epcisDocWithTransformationEventWithMultipleExtensions.xml"])
def test_hash_files(conformance: Path, name: str) -> None:
    path = _examples(conformance) / name
    result = CliRunner().invoke(main, ["hash", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == _lines(path.with_suffix(".hashes"))


def test_several_files_and_stdin(conformance: Path) -> None:
    """With several files each line is FILE<TAB>HASH (standard input: <stdin>)."""
    first = _examples(conformance) / "epcisDocWithSingleEvent.jsonld"
    second = _examples(conformance) / "persistentDisposition.xml"
    result = CliRunner().invoke(main, ["hash", str(first), "-"], input=second.read_bytes())
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{first}\t{h}" for h in _lines(first.with_suffix(".hashes"))] + [
        f"<stdin>\t{h}" for h in _lines(second.with_suffix(".hashes"))]
    plain = CliRunner().invoke(main, ["hash", "--no-filename", str(first), str(second)])
    assert plain.stdout.splitlines() == _lines(first.with_suffix(".hashes")) + _lines(
        second.with_suffix(".hashes"))
    named = CliRunner().invoke(main, ["hash", "--with-filename", "--prehash", str(first)])
    name, hash_id, prehash = named.stdout.splitlines()[0].split("\t")
    assert (name, hash_id) == (str(first), _lines(first.with_suffix(".hashes"))[0])
    assert prehash == _lines(first.with_suffix(".prehashes"))[0]


def test_prehash_and_algorithm(conformance: Path) -> None:
    path = _examples(conformance) / "epcisDocWithShippingAndTransportingEvent.jsonld"
    result = CliRunner().invoke(main, ["hash", "--prehash", "--algorithm", "sha-512", str(path)])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert [pre for _, pre in rows] == _lines(path.with_suffix(".prehashes"))
    assert all(h.startswith("ni:///sha-512;") and h.endswith("?ver=CBV2.0") for h, _ in rows)
    assert len(rows[0][0]) == len("ni:///sha-512;?ver=CBV2.0") + 128


def test_invalid_document_exits_1_with_the_problems_when_strict(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonld"
    bad.write_text('{"type": "EPCISDocument", "epcisBody": {"eventList": []}}')
    result = CliRunner().invoke(main, ["hash", "--strict", str(bad)])
    assert result.exit_code == 1
    assert "is not a valid EPCIS document" in result.output
    assert '"schemaVersion" is a required property' in result.output
    assert "Traceback" not in result.output
    lenient = CliRunner().invoke(main, ["hash", str(bad)])  # as the reference: no events
    assert lenient.exit_code == 0 and lenient.stdout == ""
    assert f'{bad}: warning: /: "schemaVersion" is a required property' in lenient.stderr


def test_broken_xml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:2'><EPCISBody>")
    result = CliRunner().invoke(main, ["hash", str(broken)])
    assert result.exit_code == 1
    assert "broken.xml is not a valid EPCIS document" in result.output
    missing = CliRunner().invoke(main, ["hash", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1
    assert "cannot read" in missing.output


def test_console_script_no_traceback(conformance: Path, tmp_path: Path) -> None:
    """The installed `corridor` command, as a user runs it (stdin, exit codes)."""
    corridor = Path(sys.executable).parent / "corridor"
    path = _examples(conformance) / "epcisEventWithCURIEs.jsonld"
    ok = subprocess.run([str(corridor), "hash", "-"], input=path.read_bytes(),
                        capture_output=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.decode().splitlines() == _lines(path.with_suffix(".hashes"))
    bad = subprocess.run([str(corridor), "hash", "-"], input=b"not json at all",
                         capture_output=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert b"Traceback" not in bad.stderr
    assert b"<stdin> is not a valid EPCIS document" in bad.stderr


# ---- a drop-in for the GS1 reference tool (issue 19) ----

# Official documents that are not valid EPCIS 2.0 (XSD or the standard's rules) and that the
# GS1 reference tool hashes. Their expected hash IDs: the event-hash vectors where they exist
# (they decide where the reference's PyPI release is older: query documents, ignoreFields),
# else the reference tool's own output.
OFFICIAL_INVALID = [
    "event-hash/tests/examples/SensorDataExamples.xml",  # sensorElementList inside extension
    "event-hash/tests/examples/epcisQueryDocument.xml",  # QueryResults the XSD does not allow
    "event-hash/tests/examples/epcisXmlDocHavingEventWithIgnoreFields.xml",  # ignoreFields
    "event-hash/tests/examples/epcisXmlQueryDocHavingEventWithIgnoreFields.xml",  # (no XSD)
    "gs1-epcis/XML/WithSensorData/SensorDataExamples.xml",  # .../cbv/Bizstep-sensor_reporting
]

# CBV values in their URN form, which the EPCIS 2.0 JSON schema does not allow in JSON (it
# wants the bare word or the web URI) and which the reference hashes as the CBV value they
# name.
URN_VALUES = {
    "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
    "disposition": "urn:epcglobal:cbv:disp:in_transit",
    "bizTransactionList": [{"type": "urn:epcglobal:cbv:btt:po",
                            "bizTransaction": "urn:epc:id:gdti:0614141.00001.1618034"}],
    "sourceList": [{"type": "urn:epcglobal:cbv:sdt:owning_party",
                    "source": "urn:epc:id:pgln:0614141.00001"}],
}
WORDS = {"bizStep": "shipping", "disposition": "in_transit",
         "bizTransactionList": [{"type": "po",
                                 "bizTransaction": "urn:epc:id:gdti:0614141.00001.1618034"}],
         "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"}]}


def _document(values: dict) -> dict:
    event = {"type": "ObjectEvent", "eventTime": "2024-03-01T10:00:00.000+01:00",
             "eventTimeZoneOffset": "+01:00",
             "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"], "action": "OBSERVE",
             "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}, **values}
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2024-03-01T12:00:00Z", "epcisBody": {"eventList": [event]}}


def _hash(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(main, ["hash", *args], input=stdin)


def _expected(conformance: Path, path: Path) -> list[str]:
    vector = path.with_suffix(".hashes")
    if vector.exists():
        return _lines(vector)
    with offline(conformance):
        return reference_hashes(path)


@pytest.mark.parametrize("name", OFFICIAL_INVALID)
def test_official_documents_that_are_not_valid_are_hashed(conformance: Path, name: str) -> None:
    path = conformance / name
    result = _hash(str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == _expected(conformance, path)
    assert f"{path}: warning: " in result.stderr  # the problem, named
    assert "hashed as the GS1 reference tool hashes it (--strict refuses it)" in result.stderr


@pytest.mark.parametrize("name", OFFICIAL_INVALID)
def test_strict_refuses_them(conformance: Path, name: str) -> None:
    path = conformance / name
    result = _hash("--strict", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""  # refused whole: no hash IDs of the events before the fault
    assert f"Error: {path} is not a valid EPCIS document" in result.stderr
    assert "warning" not in result.stderr


def test_json_with_urn_cbv_values(conformance: Path, tmp_path: Path) -> None:
    path = tmp_path / "urn-values.jsonld"
    path.write_text(json.dumps(_document(URN_VALUES)), encoding="utf-8")
    with offline(conformance):
        expected = reference_hashes(path)
    result = _hash(str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == expected
    assert f"{path}: warning: /epcisBody/eventList/0/bizStep: " in result.stderr
    words = tmp_path / "words.jsonld"
    words.write_text(json.dumps(_document(WORDS)), encoding="utf-8")
    assert _hash(str(words)).stdout == result.stdout  # the same CBV values, so the same hash
    strict = _hash("--strict", str(path))
    assert strict.exit_code == 1 and strict.stdout == ""


def test_not_well_formed_is_refused_even_without_strict(tmp_path: Path) -> None:
    """Refused, the other files hashed all the same, exit 1."""
    good = tmp_path / "good.jsonld"
    good.write_text(json.dumps(_document(WORDS)), encoding="utf-8")
    cases = {"cut.json": json.dumps(_document(WORDS))[:-20],
             "no-events.json": json.dumps({**_document(WORDS), "epcisBody": {}}),
             "not-epcis.json": json.dumps({**_document(WORDS), "type": "Catalogue"}),
             "cut.xml": "<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:2'><Body>"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = _hash(str(tmp_path / name), str(good))
        assert result.exit_code == 1, name
        assert f"Error: {tmp_path / name} is not a valid EPCIS document" in result.stderr
        assert [line.split("\t")[0] for line in result.stdout.splitlines()] == [str(good)]
        assert "Traceback" not in result.output


def test_warnings_are_capped(tmp_path: Path) -> None:
    doc = _document(URN_VALUES)
    doc["epcisBody"]["eventList"] *= 30  # 4 problems each
    path = tmp_path / "many.jsonld"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = _hash(str(path))
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 30
    assert result.stderr.count(": warning: /epcisBody/") == 20
    assert "100 more problems not shown" in result.stderr
    assert "(120 problem(s))" in result.stderr


def _reference_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "epcis_event_hash_generator", *args],
                          capture_output=True, timeout=120, check=False)


def test_batch_files_as_the_reference_writes_them(conformance: Path, tmp_path: Path) -> None:
    """-b -p: FILE.hashes and FILE.prehashes beside each FILE, byte for byte as the reference
    tool writes them; nothing on stdout."""
    source = _examples(conformance) / "epcisDocWithShippingAndTransportingEvent.xml"
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for folder in (ours, theirs):
        folder.mkdir()
        shutil.copy(source, folder / "doc.xml")
    reference = _reference_cli("-b", "-p", str(theirs / "doc.xml"))
    assert reference.returncode == 0, reference.stderr
    result = _hash("-b", "-p", "-a", "sha256", str(ours / "doc.xml"))
    assert result.exit_code == 0 and result.stdout == ""
    for suffix in (".hashes", ".prehashes"):
        assert (ours / f"doc{suffix}").read_bytes() == (theirs / f"doc{suffix}").read_bytes()
    assert sorted(p.name for p in ours.iterdir()) == ["doc.hashes", "doc.prehashes", "doc.xml"]


def test_batch_writes_nothing_for_a_refused_document(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "EPCISDocument", "epcisBody": {"eventList": [1]}}')
    result = _hash("--batch", str(bad))
    assert result.exit_code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]
    assert _hash("--batch", "-").exit_code == 2  # a usage error: no FILE to write beside


def test_enforce_format(conformance: Path, tmp_path: Path) -> None:
    """-e JSON / -e XML as in the reference tool (which otherwise goes by the file name;
    corridor by the content)."""
    source = _examples(conformance) / "epcisDocWithSingleEvent.jsonld"
    path = tmp_path / "events.txt"
    shutil.copy(source, path)
    expected = _lines(source.with_suffix(".hashes"))
    assert _hash("-e", "JSON", str(path)).stdout.splitlines() == expected
    assert _hash(str(path)).stdout.splitlines() == expected
    assert _hash("-e", "XML", str(path)).exit_code == 1
