"""Query schedules (EPCIS 8.2.5.3 grammar) and subscription request validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from corridor.subscriptions.model import SubscriptionError, parse_controls
from corridor.subscriptions.schedule import Schedule, ScheduleError
from corridor.subscriptions.signing import sign, verify


def t(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def test_standard_examples() -> None:
    hourly = Schedule.parse({"second": "0", "minute": "0"})
    assert hourly.next_after(t("2024-05-01T10:00:00")) == t("2024-05-01T11:00:00")
    daily = Schedule.parse({"second": "0", "minute": "30", "hour": "2"})
    assert daily.next_after(t("2024-05-01T02:30:00")) == t("2024-05-02T02:30:00")
    weekdays = Schedule.parse({"second": "0", "minute": "0", "dayOfWeek": "[1-5]"})
    # 2024-05-04 is a Saturday: the next weekday hour is Monday 00:00.
    assert weekdays.next_after(t("2024-05-03T23:10:00")) == t("2024-05-06T00:00:00")
    # Omitted finer fields match any value: every second of 02:xx.
    every = Schedule.parse({"hour": "2"})
    assert every.next_after(t("2024-05-01T02:10:07")) == t("2024-05-01T02:10:08")
    assert every.next_after(t("2024-05-01T02:59:59")) == t("2024-05-02T02:00:00")


def test_lists_ranges_steps_and_leap_day() -> None:
    s = Schedule.parse({"second": "0/30"})
    assert s.next_after(t("2024-05-01T00:00:00")) == t("2024-05-01T00:00:30")
    s = Schedule.parse({"second": "0", "minute": "5,[10-11]", "hour": "1"})
    assert s.next_after(t("2024-05-01T01:05:00")) == t("2024-05-01T01:10:00")
    assert s.next_after(t("2024-05-01T01:11:00")) == t("2024-05-02T01:05:00")
    leap = Schedule.parse({"second": "0", "minute": "0", "hour": "0", "dayOfMonth": "29",
                           "month": "2"})
    assert leap.next_after(t("2024-03-01T00:00:00")) == t("2028-02-29T00:00:00")
    assert leap.matches(t("2028-02-29T00:00:00"))


@pytest.mark.parametrize(("spec", "field"), [
    ({"second": "60"}, "second"),
    ({"minute": "[5-1]"}, "minute"),
    ({"hour": "x"}, "hour"),
    ({"dayOfWeek": "0"}, "dayOfWeek"),
    ({"month": ""}, "month"),
    ({"hour": "\u0661"}, "hour"),  # ARABIC-INDIC DIGIT ONE: a digit, not an ASCII one
    ({"weekday": "1"}, "weekday"),
    ({"dayOfMonth": "31", "month": "2"}, "(schedule)"),
])
def test_bad_schedules(spec, field) -> None:
    with pytest.raises(ScheduleError) as err:
        Schedule.parse(spec)
    assert err.value.field == field


def test_controls() -> None:
    req = parse_controls({"dest": "http://127.0.0.1:9/x", "signatureToken": "s",
                          "stream": True}, dest_required=True)
    assert req.stream and req.secret == "s" and req.schedule is None
    req = parse_controls({"dest": "https://h/x", "schedule": {"hour": "1", "minute": "5"},
                          "reportIfEmpty": True,
                          "initialRecordTime": "2024-01-01T00:00:00+02:00"},
                         dest_required=True)
    assert req.schedule is not None and req.report_if_empty
    assert req.initial_record_time == t("2023-12-31T22:00:00")
    for body, field in [
        ({"stream": True}, "/dest"),
        ({"dest": "ftp://h/x", "stream": True}, "/dest"),
        ({"dest": "http://h/x"}, "/stream"),
        ({"dest": "http://h/x", "stream": False}, "/stream"),
        ({"dest": "http://h/x", "stream": True, "schedule": {"hour": "1"}}, "/stream"),
        ({"dest": "http://h/x", "stream": "yes"}, "/stream"),
        ({"dest": "http://h/x", "schedule": {"hour": "99"}}, "/schedule/hour"),
        ({"dest": "http://h/x", "stream": True, "initialRecordTime": "yesterday"},
         "/initialRecordTime"),
        ({"dest": "http://h/x", "stream": True, "initialRecordTime": "2024-01-01T00:00:00"},
         "/initialRecordTime"),
        ({"dest": "http://h/x", "stream": True, "colour": "red"}, "/colour"),
        ({"dest": "http://h/x", "stream": True,
          "initialRecordTime": "0001-01-01T00:00:00+01:00"}, "/initialRecordTime"),
        ({"dest": "http://h/x\x00", "stream": True}, "/dest"),
        ({"dest": "http://h/x", "stream": True, "signatureToken": 5}, "/signatureToken"),
    ]:
        with pytest.raises(SubscriptionError) as err:
            parse_controls(body, dest_required=True)
        assert err.value.field == field, body


def test_signature() -> None:
    body = b'{"type":"EPCISQueryDocument"}'
    header = sign(body, "13df38d8275b13f05704629e5f1cf3d45d6132d5")
    # HMAC-SHA256 computed independently with the standard library's hmac module:
    import hashlib
    import hmac
    expected = hmac.new(b"13df38d8275b13f05704629e5f1cf3d45d6132d5", body,
                        hashlib.sha256).hexdigest()
    assert header == "sha256=" + expected
    assert verify(body, "13df38d8275b13f05704629e5f1cf3d45d6132d5", header)
    assert not verify(body + b" ", "13df38d8275b13f05704629e5f1cf3d45d6132d5", header)
    assert not verify(body, "other", header)
    assert not verify(body, "x", None)
