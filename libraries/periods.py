"""Billing periods: a closed calendar month written ``YYYY-MM``."""

from __future__ import annotations

import calendar
import re
from datetime import date

PERIOD_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MONTHS_RU = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip


def last_closed_period(today: date | None = None) -> str:
    """The month before ``today``'s month, the last closed billing period."""
    today = today or date.today()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def parse_period(period: str) -> tuple[int, int]:
    """Split ``YYYY-MM`` into year and month, or raise ``ValueError`` saying why."""
    match = PERIOD_PATTERN.match(str(period).strip())
    if not match:
        raise ValueError(f"Period '{period}' is not a month written as YYYY-MM, e.g. 2026-10.")
    return int(match.group(1)), int(match.group(2))


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of the month ``YYYY-MM``."""
    year, month = parse_period(period)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def check_closed(period: str, today: date | None = None) -> str:
    """Return ``period`` if it is a closed month, else raise ``ValueError``."""
    today = today or date.today()
    _, last_day = period_bounds(period)
    if last_day >= today.replace(day=1):
        raise ValueError(f"Period {period} is not closed yet: invoices exist only for closed months.")
    return period


def month_in_words(period: str) -> str:
    """``2026-10`` → ``октябрь 2026``, as the finance team says it («за октябрь 2026»)."""
    year, month = parse_period(period)
    return f"{MONTHS_RU[month - 1]} {year}"
