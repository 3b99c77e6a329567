"""`corridor fx import --bank B FILE...`: a bank's own published file, byte for byte as it
comes from the bank's site, read by the parser of its live responses.

The files are rebuilt from the recorded real responses in ../shared/conformance/fx: a body
recorded as bytes (`!binary`) is written as is; a body VCR kept as text is encoded back with
the charset the response declared (Content-Type, else the XML declaration), as the bank sent it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from lxml import etree

from corridor.cli.fx import fx
from corridor.fx.http import MAX_BYTES
from corridor.fx.importer import CassetteError, _Loader, import_files

_CHARSET = re.compile(rb"charset=([\w-]+)", re.IGNORECASE)
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([\w-]+)["']""")


def published(cassette: Path, fragment: str) -> bytes:
    """The body of the recorded response whose URL contains `fragment`, as the bank sent it."""
    data = yaml.load(cassette.read_text(encoding="utf-8"), Loader=_Loader)
    hits = [i for i in data["http_interactions"] if fragment in i["request"]["uri"]]
    assert len(hits) == 1, f"{fragment}: {len(hits)} recordings in {cassette.name}"
    response = hits[0]["response"]
    body = response["body"]["string"]
    if isinstance(body, bytes):  # recorded byte for byte
        return body
    headers = {k.lower(): v[0] if isinstance(v, list) else v
               for k, v in (response.get("headers") or {}).items()}
    head = body[:200].encode("ascii", "replace")
    found = _CHARSET.search(headers.get("content-type", "").encode()) or _DECLARED.search(head)
    charset = found.group(1).decode() if found else "utf-8"
    return body.encode(charset)


@pytest.fixture
def fx_dir(conformance: Path) -> Path:
    return conformance / "fx"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'import.sqlite3'}"


@pytest.fixture
def run(db: str):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(fx, ["--db", db, "--init", *args], catch_exceptions=False)

    return invoke


def _rows(db: str) -> list[tuple]:
    path = db.removeprefix("sqlite:///")
    if not Path(path).exists():
        return []
    with sqlite3.connect(path) as c:
        try:
            return c.execute("SELECT bank, currency, effective_date, units, value, rate"
                             " FROM fx_rates ORDER BY 1, 2, 3").fetchall()
        except sqlite3.OperationalError:  # not even migrated
            return []


def _write(tmp_path: Path, name: str, body: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


# bank, cassette, URL fragment, file name as the bank's site serves it
FILES = [
    ("nbk", "nbk.yml", "fdate=01.04.2026", "get_rates.xml"),
    ("nbkr", "nbkr_live.yml", "daily.xml", "daily.xml"),
    ("nbkr", "nbkr_live.yml", "weekly.xml", "weekly.xml"),
    ("nbt", "nbt.yml", "date=2026-05-18", "export_xml.xml"),
    ("cbu", "cbu.yml", "2026-04-01", "cbu-2026-04-01.json"),
    ("cbt", "cbt.yml", "20052026", "20052026.xml"),
]


@pytest.mark.parametrize(("bank", "cassette", "fragment", "name"), FILES)
def test_a_banks_own_file_gives_the_same_rates_as_its_live_response(
        run, db: str, tmp_path: Path, fx_dir: Path, bank: str, cassette: str, fragment: str,
        name: str) -> None:
    path = _write(tmp_path, name, published(fx_dir / cassette, fragment))
    r = run("import", "--bank", bank, str(path))
    assert r.exit_code == 0, r.output
    assert f"{name}: 1 bank file(s), 1 tables;" in r.output
    from_file = _rows(db)
    # The same response imported from the cassette (the live parser, with its URL) agrees.
    other = f"sqlite:///{tmp_path / 'cassette.sqlite3'}"
    r = CliRunner().invoke(fx, ["--db", other, "--init", "import", str(fx_dir / cassette)])
    assert r.exit_code == 0, r.output
    day = from_file[0][2]
    assert from_file == [row for row in _rows(other) if row[2] == day and row[0] in
                         {x[0] for x in from_file}]
    assert len(from_file) >= 5


def test_nbkr_file_in_windows_1251(run, db: str, tmp_path: Path, fx_dir: Path) -> None:
    """NBKR's XML declares windows-1251; its Russian edition names things in Cyrillic."""
    body = published(fx_dir / "nbkr_live.yml", "daily.xml")
    assert body.startswith(b'<?xml version="1.0" encoding="windows-1251"')
    body = body.replace(b'Name="Daily Exchange Rates"',
                        'Name="Ежедневные курсы валют"'.encode("cp1251"))
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    path = _write(tmp_path, "daily.xml", body)
    r = run("import", "--bank", "NBKR", str(path))
    assert r.exit_code == 0, r.output
    assert ("NBKR", "USD", "2026-05-24", 1, "87.4500", "87.4500") in _rows(db)


def test_nbk_rss_file(run, db: str, tmp_path: Path, fx_dir: Path) -> None:
    """NBK's latest-only RSS (rates_all.xml), built from the recorded archive table of the
    same day: the same items, each with its <pubDate>."""
    archive = etree.fromstring(published(fx_dir / "nbk.yml", "fdate=03.04.2026"))
    rss = etree.Element("rss", version="2.0")
    channel = etree.SubElement(rss, "channel")
    for item in archive.findall("item"):
        out = etree.SubElement(channel, "item")
        for tag, text in (("title", item.findtext("title")), ("pubDate", "03.04.2026"),
                          ("description", item.findtext("description")),
                          ("quant", item.findtext("quant"))):
            etree.SubElement(out, tag).text = text
    path = _write(tmp_path, "rates_all.xml",
                  etree.tostring(rss, xml_declaration=True, encoding="utf-8"))
    r = run("import", "--bank", "nbk", str(path))
    assert r.exit_code == 0, r.output
    rows = _rows(db)
    assert ("NBK", "USD", "2026-04-03", 1, "472.31", "472.31") in rows
    assert ("NBK", "UZS", "2026-04-03", 100, "3.89", "0.0389") in rows


def test_cassettes_and_bank_files_together(run, tmp_path: Path, fx_dir: Path) -> None:
    path = _write(tmp_path, "export.xml", published(fx_dir / "nbt.yml", "date=2026-05-19"))
    r = run("import", "--bank", "nbt", str(fx_dir / "nbt.yml"), str(path))
    assert r.exit_code == 0, r.output
    assert "nbt.yml: 3 responses, 3 tables;" in r.output
    assert "export.xml: 1 bank file(s), 1 tables; 0 new" in r.output  # same as recorded
    # A cassette of another bank than --bank says is refused.
    r = run("import", "--bank", "nbt", str(fx_dir / "cbu.yml"))
    assert r.exit_code == 1 and "not of --bank nbt" in r.output


def test_a_bad_file_is_named_and_nothing_is_stored(run, db: str, tmp_path: Path,
                                                    fx_dir: Path) -> None:
    good = _write(tmp_path, "good.xml", published(fx_dir / "nbt.yml", "date=2026-05-18"))
    cut = published(fx_dir / "nbt.yml", "date=2026-05-19")
    truncated = _write(tmp_path, "truncated.xml", cut[: len(cut) // 2])
    r = run("import", "--bank", "nbt", str(good), str(truncated))
    assert r.exit_code == 1
    assert "refused, nothing stored" in r.output
    assert f"NBT {truncated}: line " in r.output and "not well-formed XML" in r.output
    assert str(good) not in r.output
    assert _rows(db) == []  # not even the good file


def test_the_wrong_bank_is_refused(run, db: str, tmp_path: Path, fx_dir: Path) -> None:
    path = _write(tmp_path, "x.xml", published(fx_dir / "nbt.yml", "date=2026-05-18"))
    r = run("import", "--bank", "cbt", str(path))
    assert r.exit_code == 1
    assert f"CBT {path}: line 2, element <ValCurs>: expected root element " \
           "<cbt_currency_rate>" in r.output
    json_file = _write(tmp_path, "x.json", published(fx_dir / "cbu.yml", "2026-04-02"))
    r = run("import", "--bank", "nbk", str(json_file))
    assert r.exit_code == 1 and f"NBK {json_file}: line 1: not well-formed XML" in r.output
    assert _rows(db) == []


def test_a_banks_file_needs_bank(run, tmp_path: Path, fx_dir: Path) -> None:
    path = _write(tmp_path, "20052026.xml", published(fx_dir / "cbt.yml", "20052026"))
    r = run("import", str(path))
    assert r.exit_code == 1
    assert f"{path}: a bank's own XML or JSON file" in r.output and "--bank" in r.output
    r = run("import", "--bank", "ecb", str(path))
    assert r.exit_code == 2 and "'ecb' is not one of" in r.output


def test_unsafe_and_oversized_files_are_refused(run, db: str, tmp_path: Path,
                                                fx_dir: Path) -> None:
    # An external entity is never resolved: the date it would fill stays empty.
    xxe = _write(tmp_path, "xxe.xml", b'<?xml version="1.0"?>\n<!DOCTYPE rates [<!ENTITY d '
                 b'SYSTEM "file:///etc/hostname">]>\n<rates><date>&d;</date><item><title>USD'
                 b"</title><description>478.77</description><quant>1</quant></item></rates>")
    r = run("import", "--bank", "nbk", str(xxe))
    assert r.exit_code == 1 and f"NBK {xxe}: " in r.output
    assert "missing or empty <date>" in r.output
    # Entity expansion (billion laughs) is not performed either.
    laughs = _write(tmp_path, "laughs.xml", b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a '
                    b'"aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<ValCurs '
                    b'Date="&b;"></ValCurs>')
    r = run("import", "--bank", "nbt", str(laughs))
    assert r.exit_code == 1 and f"NBT {laughs}: " in r.output
    body = published(fx_dir / "cbu.yml", "2026-04-01")
    big = _write(tmp_path, "big.json", body + b" " * (MAX_BYTES + 1 - len(body)))
    r = run("import", "--bank", "cbu", str(big))
    assert r.exit_code == 1 and f"{big}: body: larger than {MAX_BYTES} bytes" in r.output
    assert _rows(db) == []


def test_sanity_checks_of_live_responses_apply(run, db: str, tmp_path: Path,
                                               fx_dir: Path) -> None:
    body = published(fx_dir / "cbt.yml", "21052026")
    twice = body.replace(b'<rate code="AED">', b'<rate code="USD">', 1)
    path = _write(tmp_path, "twice.xml", twice)
    r = run("import", "--bank", "cbt", str(path))
    assert r.exit_code == 1 and "USD quoted twice" in r.output
    negative = body.replace(b"<rate_tmt>3.5</rate_tmt>", b"<rate_tmt>-3.5</rate_tmt>", 1)
    path = _write(tmp_path, "negative.xml", negative)
    r = run("import", "--bank", "cbt", str(path))
    assert r.exit_code == 1 and "is not a decimal number" in r.output
    assert _rows(db) == []


def test_a_table_dated_in_the_future_is_refused(conn, tmp_path: Path, fx_dir: Path) -> None:
    path = _write(tmp_path, "18.xml", published(fx_dir / "nbt.yml", "date=2026-05-18"))
    with pytest.raises(CassetteError, match=r"dated 2026-05-18, after 2026-05-13 \(today \+ 3"):
        import_files(conn, [path], bank="nbt", today=date(2026, 5, 10))
    assert conn.fetchone("SELECT COUNT(*) FROM fx_rates")[0] == 0
    reports = import_files(conn, [path], bank="nbt", today=date(2026, 5, 15))
    assert reports[0].stored.inserted == conn.fetchone("SELECT COUNT(*) FROM fx_rates")[0]
    row = conn.fetchone("SELECT source_url, publication_date FROM fx_rates LIMIT 1")
    assert row == (path.resolve().as_uri(), None)  # where it came from; no publication date
