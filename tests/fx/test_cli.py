"""`corridor fx ...` commands, offline: import the recorded tables, then read them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from corridor.cli.fx import fx
from corridor.fx.importer import DATA_DIR


@pytest.fixture
def run(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(fx, ["--db", db, "--init", *args], catch_exceptions=False)

    return invoke


def test_import_then_ticker(run) -> None:
    r = run("import", str(DATA_DIR / "nbk.yml"), str(DATA_DIR / "cbu.yml"))
    assert r.exit_code == 0, r.output
    assert "nbk.yml: 3 responses, 3 tables; 117 new" in r.output
    r = run("import", "--bundled")
    assert r.exit_code == 0
    assert "16 responses, 22 tables; 305 new, 0 corrected, 342 unchanged" in r.output
    r = run("ticker")
    lines = r.output.splitlines()
    assert lines[0].startswith("KZT/USD = 0.002117") and "472.31" in lines[0]
    assert lines[3].startswith("UZS/USD = 8.231e-5") and "12,149.84" in lines[3]
    assert "CBU 2026-04-03" in lines[3]


def test_convert_rates_check(run) -> None:
    run("import", "--bundled")
    r = run("convert", "0.5", "usd", "kzt", "--date", "2026-04-01")
    assert r.output.splitlines()[0] == "0.5 USD = 239.39 KZT"
    assert "ROUND_HALF_UP" in r.output
    r = run("rates", "USD", "KZT", "--from", "2026-04-01", "--to", "2026-04-05", "--csv")
    assert r.output.splitlines()[1].startswith("2026-04-01,USD,KZT,478.77,direct,NBK")
    r = run("check", "--date", "2026-04-01", "--fail-on-flag")
    assert r.exit_code == 1 and "3 beyond tolerance" in r.output
    assert "FLAG TMT per USD: CBU cross via UZS" in r.output
    r = run("check", "--date", "2026-04-02", "--all")
    assert r.exit_code == 0 and "0 beyond tolerance" in r.output and "ok   " in r.output


def test_errors_are_clear(run, tmp_path: Path) -> None:
    run("import", "--bundled")
    r = run("convert", "abc", "USD", "KZT")
    assert r.exit_code == 1 and "amount: 'abc' is not a decimal number" in r.output
    r = run("rates", "USD", "RUB")
    assert r.exit_code == 1 and "quote: 'RUB' is not one of" in r.output
    r = run("convert", "1", "USD", "KZT", "--date", "2020-01-01")
    assert r.exit_code == 1 and "no stored rate" in r.output
    bad = tmp_path / "bad.yml"
    bad.write_text("just: text")
    r = run("import", str(bad))
    assert r.exit_code == 1 and "http_interactions" in r.output
    r = run("update", "--date", "2026-04-01", "--from", "2026-04-01")
    assert r.exit_code == 2 and "either --date or --from/--to" in r.output
    r = run("update", "--bank", "ECB")
    assert r.exit_code == 1 and "--bank: unknown ['ECB']" in r.output
    r = run("ticker", "--date", "2026-13-01")
    assert r.exit_code == 2 and "is not a date" in r.output


def test_convert_without_date_uses_the_latest_stored_rate_and_says_its_date(run) -> None:
    run("import", str(DATA_DIR / "nbk.yml"))  # NBK only: 2026-04-01 .. 04-03
    r = run("convert", "100", "USD", "KZT")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "100 USD = 47231.00 KZT"  # NBK's 472.31 of 3 April
    assert lines[1] == "  rate of  2026-04-03, the latest stored rate (no date given)"
    run("import", "--bundled")  # NBKR's table of 24 May is now the latest answering
    r = run("convert", "100", "USD", "KZT")
    assert r.exit_code == 0, r.output
    assert "rate of  2026-05-24, the latest stored rate" in r.output
    assert "cross: NBKR publishes both" in r.output


def test_convert_on_a_date_uses_the_rate_in_force_then(run) -> None:
    run("import", "--bundled")
    r = run("convert", "100", "USD", "KZT", "--date", "2026-04-02")
    assert r.output.splitlines()[:2] == ["100 USD = 47509.00 KZT",
                                         "  rate of  2026-04-02, in force on that date"]
    r = run("convert", "100", "USD", "KZT", "--date", "2026-04-05")  # a Sunday
    assert r.output.splitlines()[:2] == [
        "100 USD = 47231.00 KZT",
        "  rate of  2026-04-03, the latest published on or before 2026-04-05"]
    r = run("convert", "100", "USD", "KZT", "--date", "2026-03-31")  # before any NBK table
    assert r.exit_code == 1 and "no stored rate for USD->KZT on 2026-03-31" in r.output
