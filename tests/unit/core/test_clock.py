"""chalicelib.core.clock: the API's timestamps, ISO 8601 UTC with milliseconds and Z."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from chalicelib.core.clock import iso, iso_from_ms, utc_now


def test_iso_is_utc_with_milliseconds() -> None:
    moment = datetime(2026, 12, 6, 15, 4, 5, 678_901, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2026-12-06T13:04:05.678Z"


def test_iso_from_ms_reads_epoch_milliseconds() -> None:
    assert iso_from_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_from_ms(1_796_568_645_679) == "2026-12-06T14:50:45.679Z"


def test_now_is_aware_and_utc() -> None:
    assert utc_now().tzinfo is UTC
