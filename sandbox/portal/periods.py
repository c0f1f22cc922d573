"""Periods the portal offers: closed months for invoices, past days for call details."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from sandbox.invoice import parse_period, period_bounds
from sandbox.portal import texts

_DAY = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")
DAY_FORMAT = "%d.%m.%Y"
"""How the portal writes a day, and how it wants one typed: ``31.10.2026``."""


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


def parse_day(text: str) -> date | None:
    """Return the date typed as ``dd.mm.yyyy`` (the portal's text field), or None if the text is not one."""
    match = _DAY.fullmatch(text)
    if not match:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def format_day(day: date) -> str:
    """Write a day as the portal does: ``31.10.2026``."""
    return day.strftime(DAY_FORMAT)


def earliest_details_day(today: date, history_days: int) -> date:
    """The first day whose call details the portal still keeps."""
    return today - timedelta(days=history_days)


def details_period_problem(first: date, last: date, today: date, history_days: int) -> str | None:
    """Return why call details from ``first`` to ``last`` cannot be ordered today, or None.

    The period must be over (it ends yesterday at the latest), run forwards,
    and start no earlier than ``history_days`` days ago.
    """
    if first > last:
        return texts.PERIOD_REVERSED
    if last >= today:
        return texts.PERIOD_NOT_FINISHED
    if first < earliest_details_day(today, history_days):
        return texts.DETAILS_TOO_OLD.format(days=history_days)
    return None


def default_details_period(today: date, history_days: int) -> tuple[date, date]:
    """The dates the «Документ» window proposes: the last closed month, as far as it is kept.

    With a history shorter than that month, the kept days up to yesterday.
    """
    first, last = period_bounds(closed_periods(today, 1)[0])
    earliest = earliest_details_day(today, history_days)
    if earliest > last:
        return earliest, today - timedelta(days=1)
    return max(first, earliest), last


def month_earlier(day: date) -> date:
    """The same day a month before (the month's last day if it is shorter)."""
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))
