"""Billing periods the portal offers: closed months within the online history."""

from __future__ import annotations

from datetime import date

from sandbox.invoice import parse_period
from sandbox.portal import texts


def _month_index(year: int, month: int) -> int:
    """Count months from year zero, so periods can be compared and stepped."""
    return year * 12 + month - 1


def closed_periods(today: date, history_months: int) -> list[str]:
    """Return the ``history_months`` months before today's month, newest first."""
    current = _month_index(today.year, today.month)
    return [
        f"{index // 12:04d}-{index % 12 + 1:02d}"
        for index in range(current - 1, current - 1 - history_months, -1)
    ]


def period_problem(period: str, today: date, history_months: int) -> str | None:
    """Return why ``period`` cannot be ordered today, or None if it can."""
    try:
        year, month = parse_period(period)
    except ValueError:
        return texts.PERIOD_INVALID
    age = _month_index(today.year, today.month) - _month_index(year, month)
    if age < 1:
        return texts.PERIOD_NOT_CLOSED
    if age > history_months:
        return texts.PERIOD_TOO_OLD.format(months=history_months)
    return None


def month_title(period: str) -> str:
    """Return a period as the period list shows it: «Октябрь 2026»."""
    year, month = parse_period(period)
    return f"{texts.MONTHS[month - 1]} {year}"
