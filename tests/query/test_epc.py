"""The MATCH_ pattern forms of EPC URIs (the conversions themselves: tests/epcis/
test_identifiers.py)."""

from __future__ import annotations

import pytest

from corridor.query.epc import EpcPattern, match_pattern


def test_match_patterns() -> None:
    assert match_pattern("urn:epc:id:sgtin:0614141.812345.6789") == EpcPattern(
        exact="https://id.gs1.org/01/80614141123458/21/6789")
    assert match_pattern("urn:epc:idpat:sgtin:0614141.812345.*") == EpcPattern(
        prefix="https://id.gs1.org/01/80614141123458/21/")
    assert match_pattern("urn:epc:idpat:sgtin:0614141.*.*") == EpcPattern(
        like="https://id.gs1.org/01/_0614141%/21/%")
    assert match_pattern("urn:epc:idpat:sscc:0614141.*").like == \
        "https://id.gs1.org/00/_0614141%"
    with pytest.raises(ValueError, match="trailing"):
        match_pattern("urn:epc:idpat:sgtin:*.812345.*")
    with pytest.raises(ValueError, match="unsupported"):
        match_pattern("urn:epc:idpat:xyz:1.*")
