"""Value normalisation against the GS1 reference generator's own functions (test dependency)."""

from __future__ import annotations

import datetime
import logging

import dateutil.parser
import pytest
from epcis_event_hash_generator import hash_generator
from epcis_event_hash_generator.dl_normaliser import normaliser as reference_dl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corridor.epcis.hash_dl import normalise
from corridor.epcis.hash_values import canon, canon_time
from tests.epcis.test_hash_strategies import identifiers, timestamps

logging.disable(logging.WARNING)  # the reference warns on every non-identifier


def _reference_time(text: str) -> str:
    """The reference's timestamp normalisation (it raises past .9995 s; see hash_values)."""
    moment = dateutil.parser.parse(text).astimezone(datetime.timezone.utc)  # noqa: UP017
    moment = moment.replace(microsecond=round(moment.microsecond, -3))
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


@settings(max_examples=300, deadline=None)
@given(identifiers())
@example("urn:epc:id:sgtin:0614141.107346.2017")
@example("urn:epc:id:sgln:0614141.07346.0")
@example("urn:epc:id:grai:012345678901...1")
@example("https://example.com/gtin/9520123456788/lot/A1/ser/12?x=1")
@example("https://id.gs1.org/01/9520123456788/10/ABC/21/12345")
@example("https://id.gs1.org/01/09520123456788/22/2A/10/AB")
@example("http://id.gs1.org/414/9520123456788/254/x%2Fy")
def test_identifiers_like_the_reference(value: str) -> None:
    assert normalise(value) == reference_dl(value)


@settings(max_examples=200, deadline=None)
@given(timestamps())
def test_timestamps_like_the_reference(text: str) -> None:
    assert canon_time(text) == _reference_time(text)


@pytest.mark.parametrize("text", ["2019-10-21T14:45:00Z", "2019-10-21T14:45:00.1234567+01:00",
                                  "2005-04-03T20:33:31.116000-06:00", "2019-10-21T14:45+01:00",
                                  "2019-10-21 14:45:00.5-03:30"])
def test_timestamp_examples(text: str) -> None:
    assert canon_time(text) == _reference_time(text)


def test_timestamp_rounding_carries_into_the_next_second() -> None:
    # the reference raises here (microsecond=1000000) and silently drops the event
    assert canon_time("2019-12-31T23:59:59.9996Z") == "2020-01-01T00:00:00.000Z"


def test_not_a_timestamp_is_kept() -> None:
    assert canon_time("yesterday") == "yesterday"
    assert canon_time("2019-13-45T10:00:00Z") == "2019-13-45T10:00:00Z"


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(str),
    st.integers(-10 ** 20, 10 ** 20).map(str),
    st.from_regex(r"\A[+-]?0*\d{1,8}(\.\d{0,6}0*)?([eE][+-]?\d{1,2})?\Z"),
    st.text(alphabet="0123456789.+-eE_ abc", min_size=1, max_size=10).map(str.strip)
    .filter(bool)))
def test_values_like_the_reference(text: str) -> None:
    try:
        expected = hash_generator._canonize_value(text)
    except OverflowError:  # `1e999`: the reference fails and drops the event; we keep the text
        expected = text
    assert canon(text) == expected


@pytest.mark.parametrize("text", ["urn:epcglobal:cbv:bizstep:shipping", "urn:epcglobal:cbv:disp:active",
                                  "urn:epcglobal:cbv:btt:po", "urn:epcglobal:cbv:sdt:owning_party",
                                  "urn:epcglobal:cbv:er:incorrect_data", "+26.50", "1e3", "007",
                                  "nan", "-0.0", "urn:epc:class:lgtin:4012345.012345.998877"])
def test_value_examples(text: str) -> None:
    assert canon(text) == hash_generator._canonize_value(text)


def test_party_and_transaction_lists_ignore_json_key_order() -> None:
    """JSON members are unordered: `{"source": .., "type": ..}` hashes as `type` first."""
    from corridor.epcis.hashid import event_hash_id

    base = {
        "type": "ObjectEvent", "eventTime": "2020-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:0614141.00001.1618034"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00001"},
                       {"type": "location", "source": "urn:epc:id:sgln:0614141.00001.0"}],
        "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00002"}],
    }
    flipped = dict(base)
    for name in ("bizTransactionList", "sourceList", "destinationList"):
        flipped[name] = [dict(reversed(list(item.items()))) for item in base[name]]
    assert event_hash_id(flipped) == event_hash_id(base)
    # the slow path (taken when fields are ignored) agrees
    assert event_hash_id(flipped, ignore_fields=["x:none"], namespaces={"x": "urn:x:"}) == \
        event_hash_id(base, ignore_fields=["x:none"], namespaces={"x": "urn:x:"})
