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
