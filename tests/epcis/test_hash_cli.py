"""`corridor hash`: hash IDs of every event, from files or standard input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from corridor.cli import main


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
    first = _examples(conformance) / "epcisDocWithSingleEvent.jsonld"
    second = _examples(conformance) / "persistentDisposition.xml"
    result = CliRunner().invoke(main, ["hash", str(first), "-"], input=second.read_bytes())
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == _lines(first.with_suffix(".hashes")) + _lines(
        second.with_suffix(".hashes"))


def test_prehash_and_algorithm(conformance: Path) -> None:
    path = _examples(conformance) / "epcisDocWithShippingAndTransportingEvent.jsonld"
    result = CliRunner().invoke(main, ["hash", "--prehash", "--algorithm", "sha-512", str(path)])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()]
    assert [pre for _, pre in rows] == _lines(path.with_suffix(".prehashes"))
    assert all(h.startswith("ni:///sha-512;") and h.endswith("?ver=CBV2.0") for h, _ in rows)
    assert len(rows[0][0]) == len("ni:///sha-512;?ver=CBV2.0") + 128


def test_invalid_document_exits_1_with_the_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonld"
    bad.write_text('{"type": "EPCISDocument", "epcisBody": {"eventList": []}}')
    result = CliRunner().invoke(main, ["hash", str(bad)])
    assert result.exit_code == 1
    assert "is not a valid EPCIS document" in result.output
    assert '"schemaVersion" is a required property' in result.output
    assert "Traceback" not in result.output


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
