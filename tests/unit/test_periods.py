"""Billing periods: the last closed month and its bounds."""

from datetime import date

import pytest

from libraries.periods import check_closed, last_closed_period, period_bounds


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2026, 11, 24), "2026-10"), (date(2026, 1, 1), "2025-12"), (date(2026, 3, 31), "2026-02")],
)
def test_last_closed_period_is_the_month_before(today, expected):
    assert last_closed_period(today) == expected


def test_bounds_cover_the_whole_month_including_leap_february():
    assert period_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert period_bounds("2026-10") == (date(2026, 10, 1), date(2026, 10, 31))


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "10.2026", "", "2026-10-01"])
def test_a_period_that_is_not_yyyy_mm_is_refused_with_the_expected_form(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        period_bounds(bad)


def test_only_closed_months_pass():
    assert check_closed("2026-10", date(2026, 11, 1)) == "2026-10"
    with pytest.raises(ValueError, match="not closed"):
        check_closed("2026-11", date(2026, 11, 30))
