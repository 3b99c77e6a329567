"""EPC URN <-> GS1 Digital Link and the GS1 check digit, against the examples of the GS1 EPC
Tag Data Standard, the GS1 Digital Link standard and the GS1 General Specifications
(independent references)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corridor.epcis.identifiers import canonical, check_digit, dl_to_urn, urn_to_dl

# (EPC URN, Digital Link, GS1 Company Prefix length) from the TDS / Digital Link examples.
VECTORS = [
    ("urn:epc:id:sgtin:0614141.812345.6789", "https://id.gs1.org/01/80614141123458/21/6789", 7),
    ("urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908", 7),
    ("urn:epc:id:sgln:0614141.12345.400", "https://id.gs1.org/414/0614141123452/254/400", 7),
    ("urn:epc:id:sgln:0614141.12345.0", "https://id.gs1.org/414/0614141123452", 7),
    ("urn:epc:id:grai:0614141.12345.400", "https://id.gs1.org/8003/00614141123452400", 7),
    ("urn:epc:id:giai:0614141.12345400", "https://id.gs1.org/8004/061414112345400", 7),
    ("urn:epc:class:lgtin:4012345.012345.998877",
     "https://id.gs1.org/01/04012345123456/10/998877", 7),
    ("urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652", 7),
    ("urn:epc:id:pgln:0614141.00001", "https://id.gs1.org/417/0614141000012", 7),
]


def test_check_digit_gs1_examples() -> None:
    assert check_digit("629104150021") == "3"  # GTIN-13 6291041500213
    assert check_digit("10614141234567890") == "8"  # SSCC 106141412345678908
    assert check_digit("061414112345") == "2"  # GLN 0614141123452
    assert check_digit("952012345678") == "8"  # GTIN-13 9520123456788


@given(st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_check_digit(digits: str) -> None:
    # GS1 General Specifications 7.9.1: weights 3 and 1 alternating from the right
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    assert check_digit(digits) == str((10 - total % 10) % 10)


def test_check_digit_of_other_unicode_digits() -> None:
    # the EPC patterns (`\d`) accept any Unicode decimal digit
    assert check_digit("\u0669\u0665\u0662012345678") == "8"  # Arabic-Indic 952...
    with pytest.raises(ValueError):
        check_digit("\u00b2")  # a digit to str.isdigit, not to int()


@pytest.mark.parametrize(("urn", "dl", "gcp"), VECTORS)
def test_urn_to_digital_link_and_back(urn: str, dl: str, gcp: int) -> None:
    assert urn_to_dl(urn) == dl
    assert dl_to_urn(dl, gcp) == urn
    assert canonical(urn) == canonical(dl) == dl


def test_digital_link_spellings_reduce_to_one_key() -> None:
    key = "https://id.gs1.org/01/80614141123458/21/6789"
    assert canonical("https://example.com/01/80614141123458/21/6789") == key
    assert canonical("http://brand.example/shop/01/80614141123458/21/6789?linkType=all") == key
    assert canonical("https://id.gs1.org/01/80614141123458/10/LOT1/21/6789") == \
        "https://id.gs1.org/01/80614141123458/10/LOT1/21/6789"
    # GTIN-13 zero-padded to 14 digits
    assert canonical("https://id.gs1.org/01/6291041500213") == \
        "https://id.gs1.org/01/06291041500213"


def test_other_identifiers_unchanged() -> None:
    for value in ("urn:uuid:5f1e1b1a-0000-4000-8000-000000000000", "urn:epc:id:gdti:1.2.3",
                  "https://transaction.example.com/po/12345", "ex:thing"):
        assert canonical(value) == value
    assert urn_to_dl("urn:epc:id:sgtin:0614141.8123456.6789") is None  # 14 digits, bad
