"""Settings read from the environment."""

import pytest

from corridor.config import Settings, parse_witnesses


def test_witnesses_and_quorum_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRIDOR_WITNESSES", "http://a.test/w/=w1+0a0b0c0d+AAAA, http://b.test=w2+01020304+BBBB")
    monkeypatch.setenv("CORRIDOR_WITNESS_QUORUM", "2")
    settings = Settings(data_dir="d")
    assert [(w.url, w.vkey) for w in settings.witnesses] == [
        ("http://a.test/w", "w1+0a0b0c0d+AAAA"), ("http://b.test", "w2+01020304+BBBB")]
    assert settings.witness_quorum == 2
    assert settings.db_url == "sqlite:///d/corridor.sqlite3"


def test_malformed_witness_item_names_it() -> None:
    with pytest.raises(ValueError, match="'http://no-key' is not URL=VKEY"):
        parse_witnesses("http://no-key")


def test_document_size_limit_agrees_with_the_epcis_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """corridor.epcis reads no configuration: its default limit (for callers that pass none)
    is Settings.max_capture_bytes's default, and CORRIDOR_MAX_CAPTURE_BYTES reaches only
    Settings (the service and the command line pass the limit down)."""
    from corridor.epcis.problems import EpcisError
    from corridor.epcis.safe_xml import DEFAULT_MAX_BYTES, limit_of, parse_bytes

    monkeypatch.delenv("CORRIDOR_MAX_CAPTURE_BYTES", raising=False)
    assert Settings().max_capture_bytes == limit_of(None) == DEFAULT_MAX_BYTES
    monkeypatch.setenv("CORRIDOR_MAX_CAPTURE_BYTES", "12345")
    assert Settings().max_capture_bytes == 12345
    assert limit_of(None) == DEFAULT_MAX_BYTES  # the environment is not read by epcis
    big = b"<a>" + b"x" * 20_000 + b"</a>"
    assert parse_bytes(big).tag == "a"
    with pytest.raises(EpcisError, match="12345 bytes"):
        parse_bytes(big, Settings().max_capture_bytes)
