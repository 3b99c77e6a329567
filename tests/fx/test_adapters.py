"""Each bank's parser against its recorded real responses, and the refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from corridor.fx import cbt, cbu, nbk, nbkr, nbt
from corridor.fx.model import FeedError, WrongDateError
from corridor.fx.parsing import header_date
from tests.fx.conftest import body_of


def _one(pubs):
    assert len(pubs) == 1
    return pubs[0]


def test_nbk_archive(recorded) -> None:
    rec = recorded["https://nationalbank.kz/rss/get_rates.cfm?fdate=01.04.2026"]
    pub = _one(nbk.parse(rec.body, url=rec.url, requested=date(2026, 4, 1),
                         published=header_date(rec.headers)))
    assert pub.effective_date == date(2026, 4, 1)
    assert pub.publication_date == date(2026, 4, 8)  # no Last-Modified: the Date header
    assert len(pub.quotes) == 39
    usd = pub.quote("USD")
    assert (usd.units, usd.value, usd.rate) == (1, Decimal("478.77"), Decimal("478.77"))
    uzs = pub.quote("UZS")  # quant 100
    assert (uzs.units, uzs.value, uzs.rate) == (100, Decimal("3.93"), Decimal("0.0393"))
    assert pub.quote("IRR").units == 1000
    assert pub.quote("KGS").value == Decimal("5.47")
    assert pub.quote("TJS").value == Decimal("50.19")


def test_nbk_latest_rss() -> None:
    body = (b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            b"<title>Official exchange rates</title>"
            b"<item><title>USD</title><pubDate>03.04.2026</pubDate>"
            b"<description>472.31</description><quant>1</quant><index>DOWN</index></item>"
            b"<item><title>UZS</title><pubDate>03.04.2026</pubDate>"
            b"<description>3.89</description><quant>100</quant></item>"
            b"</channel></rss>")
    pub = _one(nbk.parse_latest(body))
    assert pub.effective_date == date(2026, 4, 3)
    assert pub.quote("UZS").rate == Decimal("0.0389")
    mixed = body.replace(b"<pubDate>03.04.2026</pubDate><description>3.89",
                         b"<pubDate>02.04.2026</pubDate><description>3.89")
    with pytest.raises(FeedError, match="different dates"):
        nbk.parse_latest(mixed)


def test_nbkr_daily_and_weekly(recorded) -> None:
    rec = recorded[nbkr.DAILY_URL]
    daily = _one(nbkr.parse(rec.body, url=rec.url, published=header_date(rec.headers)))
    assert daily.effective_date == date(2026, 5, 24)  # the Date attribute: effective date
    assert daily.publication_date == date(2026, 5, 23)  # Last-Modified
    assert daily.quote("USD").value == Decimal("87.4500")  # decimal comma, exact digits
    assert daily.quote("KZT").rate == Decimal("0.1859")
    rec = recorded[nbkr.WEEKLY_URL]
    weekly = _one(nbkr.parse(rec.body, url=rec.url))
    assert weekly.effective_date == date(2026, 5, 23)
    assert weekly.quote("TJS").value == Decimal("9.4148")
    assert weekly.quote("UZS").value == Decimal("0.0073")
    assert weekly.quote("TMT").value == Decimal("24.9857")
    assert weekly.quote("JPY").units == 10


def test_nbkr_windows_1251(recorded) -> None:
    """The declared encoding is honoured: a Cyrillic name in windows-1251 bytes parses."""
    text = recorded[nbkr.DAILY_URL].body.decode("ascii")
    text = text.replace('Name="Daily Exchange Rates"', 'Name="Ежедневные курсы валют"')
    body = text.encode("cp1251")
    assert "Ежедневные".encode("cp1251") in body
    pub = _one(nbkr.parse(body, url=nbkr.DAILY_URL))
    assert pub.quote("EUR").value == Decimal("101.5076")


def test_nbkr_history(recorded) -> None:
    url = next(u for u in recorded if "valuta_id=15" in u)
    pubs = nbkr.parse_any(recorded[url].body, url=url)
    assert [p.effective_date for p in pubs] == [date(2005, 6, 25), date(2005, 6, 18),
                                                date(2005, 6, 11), date(2005, 6, 4)]
    assert pubs[0].quote("USD").value == Decimal("40.9614")
    with pytest.raises(FeedError, match="valuta_id"):
        nbkr.parse_any(recorded[url].body, url=url.replace("valuta_id=15", "valuta_id=99"))


def test_nbt(recorded) -> None:
    url = nbt.url_for(date(2026, 5, 18))
    pub = _one(nbt.parse(recorded[url].body, url=url, requested=date(2026, 5, 18)))
    assert pub.effective_date == date(2026, 5, 18)
    assert pub.quote("USD").value == Decimal("9.3450")
    kgs = pub.quote("KGS")  # Nominal 10
    assert (kgs.units, kgs.rate) == (10, Decimal("0.10686"))
    assert pub.quote("KZT").rate == Decimal("0.01971")
    assert pub.quote("UZS").rate == Decimal("0.000780")
    assert pub.quote("TMT").value == Decimal("2.6700")


def test_nbt_out_of_range_date_is_refused(recorded) -> None:
    """NBT answers a date out of range with today's table: refused, never relabelled."""
    body = recorded[nbt.url_for(date(2026, 5, 20))].body
    with pytest.raises(WrongDateError, match="asked for rates of 2026-05-18 but the response "
                                             "carries 2026-05-20"):
        nbt.parse(body, url=nbt.url_for(date(2026, 5, 18)), requested=date(2026, 5, 18))
    with pytest.raises(WrongDateError):
        nbt.parse(body, requested=date(2010, 1, 4))


def test_cbu(recorded) -> None:
    url = cbu.url_for(date(2026, 4, 1))
    pub = _one(cbu.parse(recorded[url].body, url=url, requested=date(2026, 4, 1)))
    assert pub.effective_date == date(2026, 4, 1)
    assert len(pub.quotes) == 75
    assert pub.quote("USD").value == Decimal("12194.21")
    assert pub.quote("KZT").value == Decimal("25.53")
    assert pub.quote("TMT").value == Decimal("4037.68")
    assert pub.quote("IRR").units == 10


def test_cbt_and_its_two_date_formats(recorded) -> None:
    url = cbt.url_for(date(2026, 5, 20))
    assert url == "https://cbt.tm/kurs/2026/20052026.xml"
    body = recorded[url].body
    pub = _one(cbt.parse(body, url=url, requested=date(2026, 5, 20)))
    assert pub.effective_date == date(2026, 5, 20)
    assert pub.quote("USD").rate == Decimal("3.5")
    kzt = pub.quote("KZT")
    assert (kzt.units, kzt.value, kzt.rate) == (100, Decimal("0.7424"), Decimal("0.007424"))
    assert pub.quote("UZS").units == 1000
    old = body.replace(b"<date>20.05.2026</date>", b"<date>2023-05-20</date>")
    assert _one(cbt.parse(old)).effective_date == date(2023, 5, 20)
    with pytest.raises(FeedError, match="DD.MM.YYYY or YYYY-MM-DD"):
        cbt.parse(body.replace(b"<date>20.05.2026</date>", b"<date>05/20/2026</date>"))


# Each parser with its recorded body, for the refusals below.
CASES = {
    "NBK": (nbk.parse, "nationalbank.kz/rss/get_rates.cfm?fdate=02.04.2026", b"475.09"),
    "NBKR": (nbkr.parse, "XML/daily.xml", b"87,4500"),
    "NBT": (nbt.parse, "date=2026-05-19", b"9.3371"),
    "CBU": (cbu.parse, "json/all/2026-04-02/", b"12142.10"),
    "CBT": (cbt.parse, "21052026.xml", b"<rate_tmt>3.5</rate_tmt>"),
}


@pytest.mark.parametrize("bank", CASES)
def test_truncated_response_is_refused(bank: str, recorded) -> None:
    parse, fragment, _ = CASES[bank]
    body = body_of(recorded, fragment)
    with pytest.raises(FeedError, match="truncated") as err:
        parse(body[: len(body) // 2])
    assert err.value.bank == bank


@pytest.mark.parametrize("bank", CASES)
def test_malformed_value_is_refused(bank: str, recorded) -> None:
    parse, fragment, good = CASES[bank]
    body = body_of(recorded, fragment)
    bad = good.replace(b"3.5", b"3,5") if bank == "CBT" else good[:2] + b"x" + good[3:]
    if bank == "NBKR":
        bad = b"87.4500"  # a decimal point where the bank writes a comma
    body = body.replace(good, bad, 1)
    with pytest.raises(FeedError, match="not a decimal number") as err:
        parse(body)
    assert "USD" in err.value.location  # names the field that is wrong
    assert err.value.location.startswith(("line ", "/"))  # and where it is


@pytest.mark.parametrize("bank", CASES)
def test_empty_and_foreign_documents_are_refused(bank: str) -> None:
    parse = CASES[bank][0]
    with pytest.raises(FeedError):
        parse(b"")
    with pytest.raises(FeedError):
        parse(b"<html><body>Service temporarily unavailable</body></html>")


def test_zero_nominal_duplicate_and_bad_code_are_refused(recorded) -> None:
    body = recorded[nbt.url_for(date(2026, 5, 18))].body
    with pytest.raises(FeedError, match="unit count '0'"):
        nbt.parse(body.replace(b"<Nominal>100</Nominal>", b"<Nominal>0</Nominal>", 1))
    with pytest.raises(FeedError, match="EUR quoted twice"):
        nbt.parse(body.replace(b"<CharCode>CNY</CharCode>", b"<CharCode>EUR</CharCode>"))
    with pytest.raises(FeedError, match="ISO 4217"):
        nbt.parse(body.replace(b"<CharCode>CNY</CharCode>", b"<CharCode>cny1</CharCode>"))
    with pytest.raises(FeedError, match="TJS quoted against itself"):
        nbt.parse(body.replace(b"<CharCode>CNY</CharCode>", b"<CharCode>TJS</CharCode>"))
    empty = b'<?xml version="1.0"?><ValCurs Date="2026-05-18"></ValCurs>'
    with pytest.raises(FeedError, match="holds no rates"):
        nbt.parse(empty)


def test_cbu_json_faults_name_the_pointer(recorded) -> None:
    body = recorded[cbu.url_for(date(2026, 4, 2))].body
    with pytest.raises(FeedError) as err:
        cbu.parse(body.replace(b'"Nominal":"1"', b'"Nominal":1', 1))
    assert err.value.location == "/0/Nominal"
    with pytest.raises(FeedError, match="different dates"):
        cbu.parse(body.replace(b'"Date":"02.04.2026"', b'"Date":"01.04.2026"', 1))
    with pytest.raises(FeedError, match="expected a JSON array"):
        cbu.parse(b'{"error": "not found"}')


def test_xml_entities_are_not_expanded() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<ValCurs Date="2026-05-18"><Valute><CharCode>&b;</CharCode>'
            b'<Nominal>1</Nominal><Value>1.0</Value></Valute></ValCurs>')
    with pytest.raises(FeedError):
        nbt.parse(bomb)
