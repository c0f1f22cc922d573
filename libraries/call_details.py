"""Read and check received call details (детализация разговоров): PDF, XML or HTML.

The format is told by the content, never by the file name. Every reader finds
things by what they say, never by where they sit: the period by its wording
(«Оказанные услуги связи за период с … по …», «Детализация за период с … по
…», ``<b sd ed>`` or ``<ds sd ed>``), a subscriber number by its heading
(«Сетевой ресурс 79…», or the stand-in's «Номер SIM карты /Виртуальный Номер:
79…» when the value there is a phone number and not a 20-digit SIM serial),
the columns of an HTML table by their header text, the money of a PDF line
from its end.

A document is the ordered one when it is in the ordered format, states the
ordered period (and the ordered personal account, if it states one), dates
every event inside that period and lists no number that was not ordered. An
ordered number with no events at all is accepted (it made no calls) and said
in the log.

XML is read with expat, streaming, and refused as soon as it declares a
DOCTYPE or an entity, so nothing is ever expanded or fetched. HTML is fed to
the parser a chunk at a time and PDF is read a page at a time; checking keeps
counts, not events, so memory does not grow with the document.
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from xml.parsers import expat

from robot.api import logger
from robot.api.deco import keyword, library

from libraries.documents import DocumentCheckError, PdfUnreadable, pdf_pages, ru_date

FORMATS = ("pdf", "xml", "html")
FORMAT_LABELS = {"pdf": "PDF", "xml": "XML", "html": "HTML"}
SNIFF_BYTES = 4096

RU_DATE = r"\d{2}\.\d{2}\.\d{4}"
TIME = r"\d{1,2}:\d{2}(?::\d{2})?"
PERIOD_WORDS = rf"за\s+период\s+с\s+({RU_DATE})\s+по\s+({RU_DATE})"
HEADING_PERIOD = re.compile(rf"Оказанные\s+услуги\s+связи\s*:?\s+{PERIOD_WORDS}", re.I)
"""The heading of the PDF and HTML; its two halves may sit in two cells or rows (joined with a space)."""
TITLE_PERIOD = re.compile(rf"Детализация(?:\s+\S+){{0,3}}?\s+{PERIOD_WORDS}", re.I)
"""The HTML's ``<title>`` «Детализация за период с … по …», used when the heading is not found."""
RESOURCE = re.compile(r"Сетевой\s+ресурс\s*:?\s*\+?(\d{10,11})(?!\d)", re.I)
SIM_HEADING = re.compile(r"Номер\s+SIM\s+карты\s*/\s*Виртуальный\s+Номер\s*:?\s*\+?(\d+)", re.I)
ACCOUNT = re.compile(r"Лицевой\s+сч[её]т\s*(?:№\s*)?:?\s*(\d{6,})", re.I)
TOTAL = re.compile(r"^Итого\b\s*(?:по\s+номеру\s+\+?(\d{10,11})\b)?", re.I)
MONEY = r"-?\d+(?:[ \u00a0]\d{3})*,\d+"
MONEY_TOKEN = re.compile(MONEY)
MOMENT = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?$")
DATE_CELL = re.compile(rf"^{RU_DATE}(?:\s+{TIME})?$")
TIME_CELL = re.compile(rf"^{TIME}$")
SUBSCRIBER = re.compile(r"^7\d{10}$")
PHONE_TEXT = re.compile(r"^\+?[\d\s()-]{10,18}$")

KNOWN_SERVICES = (
    "Телеф.", "sms i", "sms o", "mms i", "mms o", "gprs", "hsdpa", "HSDPA (3G)", "Данные",
    "clip", "ussd", "4G", "cw", "ch", "ct",
)
"""Services seen in real files. Any other service is read too: in a PDF line, a service not
listed here is the word before the amount."""
_SERVICES_LONGEST_FIRST = sorted(KNOWN_SERVICES, key=len, reverse=True)

COST_TITLE = re.compile(r"Стоимость\b", re.I)
BALANCE_TITLE = re.compile(r"Изм(?:\.|енение)\s*баланса", re.I)
PDF_EVENT_START = re.compile(rf"^{RU_DATE}\s+{TIME}(?:\s|$)")
_PDF_HEAD = (
    rf"^(?P<date>{RU_DATE})\s+(?P<time>{TIME})\s+(?:(?P<gmt>[+-]\d{{1,2}}:\d{{2}})\s+)?(?P<other>\S+)\s+"
    rf"(?:(?P<middle>.*?)\s+)?(?P<amount>\S+)\s+(?P<m1>{MONEY})"
)
PDF_EVENT_ONE = re.compile(_PDF_HEAD + "$")
PDF_EVENT_TWO = re.compile(_PDF_HEAD + rf"\s+(?P<m2>{MONEY})$")
"""One event line of a PDF's text: date, time, [GMT], other party, zones and service, amount, one or two sums."""

DEFAULT_HEADER = (
    "Дата", "Время GMT*", "Номер", "Зона вызова", "Зона направления вызова/номер сессии", "Услуга",
    "Длительность/Объем (мин.:сек./Kb/шт.)", "Стоимость руб. без НДС", "Изм. баланса",
)
"""The columns assumed for an HTML table that has no header row (the stand-in's own layout)."""

HTML_MARKERS = ("<!doctype html", "<html")
CHARSET = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
XML_START = re.compile(r"<(\?xml|[A-Za-z_])")


@dataclass
class ReadCallDetails:
    """What a call details document says: its format, period, account, numbers and their events."""

    format: str
    """``pdf``, ``xml`` or ``html``, told by the content."""
    period_from: date
    period_to: date
    numbers: dict[str, list[dict]] = field(default_factory=dict)
    """Number -> its events ``{"at", "other", "service", "amount", "cost", "cost_vat"}`` (``cost`` without
    VAT, ``cost_vat`` the balance change; either is None where the document has no such column). Read
    without keeping events, every number maps to an empty list: see ``counts``."""
    account: str = ""
    """The personal account the document states («Лицевой счёт», ``<b an>``), or empty."""
    counts: dict[str, int] = field(default_factory=dict)
    """Number -> how many events the document lists for it."""
    totals: dict[str, Decimal] = field(default_factory=dict)
    """Number -> the total the document states for it (XML ``<ds t>``, «Итого по номеру …»)."""
    total: Decimal | None = None
    """The document's total («Итого: 1519,0785»): the one it states for the whole document, or else the sum of
    the totals it states per number; None if it states none. It need not equal the sum of the events."""
    earliest: tuple[datetime, str] | None = None
    """The first event's moment and number."""
    latest: tuple[datetime, str] | None = None
    """The last event's moment and number."""
    quiet: list[str] = field(default_factory=list)
    """Set by the check: the ordered numbers with no events in the document (none made a call)."""


class _Unreadable(Exception):
    """The content cannot be read as call details; the message says why (without the file name)."""


# --- shared parsing -------------------------------------------------------------


def parse_ru_date(text: str) -> date:
    """Return a ``dd.mm.yyyy`` date."""
    return datetime.strptime(text.strip(), "%d.%m.%Y").date()


def parse_moment(text: str) -> datetime:
    """Return ``dd.mm.yyyy H:MM:SS`` (the hour may be unpadded, the seconds missing) as a datetime."""
    match = MOMENT.match(" ".join(text.split()))
    if not match:
        raise ValueError(f"{text!r} is not a moment written as dd.mm.yyyy H:MM:SS")
    day, month, year, hour, minute, second = match.groups()
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))


def parse_money(text: str) -> Decimal:
    """Return ``1 234,56`` (or ``0``, ``37,8815``) as a Decimal."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not an amount") from error


def _money_or_none(text: str | None) -> Decimal | None:
    """Return an amount, or None for a missing or empty one."""
    return None if text is None or not text.strip() else parse_money(text)


def make_event(moment: str, other: str, service: str, amount: str, cost: str | None, cost_vat: str | None) -> dict:
    """Return one event as a dict from its texts; ``moment`` is ``dd.mm.yyyy H:MM:SS``."""
    return {
        "at": parse_moment(moment),
        "other": other.strip(),
        "service": service.strip(),
        "amount": amount.strip(),
        "cost": _money_or_none(cost),
        "cost_vat": _money_or_none(cost_vat),
    }


def normalize_number(number: object) -> str:
    """Return a phone number as ``79XXXXXXXXX`` (from ``+7…``, ``8…`` or ten digits)."""
    digits = re.sub(r"\D", "", str(number))
    if len(digits) == 10 and digits.startswith("9"):
        return "7" + digits
    if len(digits) == 11 and digits.startswith("8"):
        return "7" + digits[1:]
    return digits


def subscriber_number(text: object) -> str | None:
    """Return ``text`` as ``7XXXXXXXXXX`` if it is a subscriber number, else None.

    ``+79…``, ``89…``, ``9…`` (ten digits) and ``79…`` are numbers; a 20-digit
    SIM serial, a short number or words («Абонентская плата») are not.
    """
    text = str(text).strip()
    if not PHONE_TEXT.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) not in (10, 11):
        return None
    number = normalize_number(digits)
    return number if SUBSCRIBER.match(number) else None


def to_date(value: str | date) -> date:
    """Return a date given as a ``date``, ``YYYY-MM-DD`` or ``dd.mm.yyyy``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"'{value}' is not a date written as YYYY-MM-DD or dd.mm.yyyy.")


def _period(first: str, last: str, where: str) -> tuple[date, date]:
    """Return the period ``first``–``last`` read from ``where``, or refuse it."""
    try:
        period = parse_ru_date(first), parse_ru_date(last)
    except ValueError as error:
        raise _Unreadable(f"has an unreadable period {where} ({error})") from error
    if period[0] > period[1]:
        raise _Unreadable(f"states a period {where} that ends before it starts ({first}–{last})")
    return period


def _span(period: tuple[date, date]) -> str:
    """A period as ``dd.mm.yyyy–dd.mm.yyyy``."""
    return f"{ru_date(period[0])}–{ru_date(period[1])}"


class _Numbers:
    """Collects events under the number whose section is being read.

    Every event is read and validated; with ``keep=False`` (a check before
    upload) only counts are kept, not the events, so that memory does not grow
    with the document's size.
    """

    def __init__(self, keep: bool = True) -> None:
        """Start with no numbers and no current section."""
        self.events: dict[str, list[dict]] = {}
        self.counts: dict[str, int] = {}
        self.totals: dict[str, Decimal] = {}
        self.current: str | None = None
        self.keep = keep
        self.earliest: tuple[datetime, str] | None = None
        self.latest: tuple[datetime, str] | None = None

    def start(self, number: str) -> None:
        """Open (or continue) the section of ``number``."""
        self.current = number
        self.events.setdefault(number, [])
        self.counts.setdefault(number, 0)

    def add(self, build: Callable[..., dict], *texts: object) -> None:
        """Add the event ``build(*texts)`` to the current number."""
        if self.current is None:
            raise _Unreadable("lists events before any number's heading («Сетевой ресурс 79…»)")
        try:
            event = build(*texts)
        except (ValueError, KeyError, ArithmeticError) as error:
            position = self.counts[self.current] + 1
            raise _Unreadable(f"has an unreadable event #{position} of number {self.current} ({error})") from error
        self.counts[self.current] += 1
        moment = event["at"]
        if self.earliest is None or moment < self.earliest[0]:
            self.earliest = (moment, self.current)
        if self.latest is None or moment > self.latest[0]:
            self.latest = (moment, self.current)
        if self.keep:
            self.events[self.current].append(event)

    def result(self, document_format: str, period: tuple[date, date], account: str = "",
               total: Decimal | None = None) -> ReadCallDetails:
        """The read document; its total is the one it states for itself, or else the sum of its numbers' totals."""
        if total is None and self.totals:
            total = sum(self.totals.values(), Decimal(0))
        return ReadCallDetails(
            document_format, period[0], period[1], self.events, account=account, counts=self.counts,
            totals=self.totals, total=total, earliest=self.earliest, latest=self.latest,
        )


# --- PDF and HTML: lines of text and table rows ---------------------------------


def _column(title: str) -> str | None:
    """The field an HTML column holds, told by its header text; None for a column not read."""
    text = " ".join(title.lower().replace("ё", "е").split()).strip(" *:")
    if not text:
        return None
    if text.startswith("дата") and "формир" not in text:
        return "date"
    if text.startswith("время"):
        return "time"
    if text.startswith("gmt") or "часовой пояс" in text:
        return "gmt"
    if text.startswith("номер") and "sim" not in text:
        return "other"
    if text.startswith("зона направления"):
        return "direction"
    if text.startswith("зона"):
        return "zone"
    if text.startswith("услуга"):
        return "service"
    if text.startswith(("длительность", "объем")):
        return "amount"
    if "баланс" in text or "с ндс" in text:
        return "cost_vat"
    if text.startswith(("стоимость", "сумма")):
        return "cost"
    return None


def _columns(cells: list[str]) -> dict[str, int]:
    """Where each field sits in a header row, found by the header texts (the first of each kind)."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = _column(cell)
        if name and name not in found:
            found[name] = index
    return found


DEFAULT_COLUMNS = _columns(list(DEFAULT_HEADER))


def _service(middle: str | None) -> str:
    """The service at the end of a PDF line's middle part (zones, direction, service)."""
    if not middle:
        return ""
    for service in _SERVICES_LONGEST_FIRST:
        if middle == service or middle.endswith(" " + service):
            return service
    return middle.rsplit(" ", 1)[-1]


class _Lines:
    """Reads the lines of a PDF's text or the rows of an HTML page, by what they say.

    A window of the last few lines is searched for the period (its heading may
    be split over two cells or rows); each other line may name a number («Сетевой
    ресурс 79…» or «Номер SIM карты /Виртуальный Номер: 79…»), the personal
    account or a total («Итого»). A row or line starting with a date is an
    event of the number last named.
    """

    WINDOW = 3

    def __init__(self, keep: bool) -> None:
        """Start with nothing read."""
        self.numbers = _Numbers(keep)
        self.window: deque[str] = deque(maxlen=self.WINDOW)
        self.heading: tuple[date, date] | None = None
        self.title: tuple[date, date] | None = None
        self.account = ""
        self.total: Decimal | None = None
        self.columns = DEFAULT_COLUMNS
        self.money_titles: set[str] = set()
        self.pending: str | None = None
        self.pending_parts = 0

    # text common to both

    def text(self, line: str) -> None:
        """Read a line that is not an event: period, account, number heading, total, money columns."""
        line = " ".join(line.split())
        if not line:
            return
        self.window.append(line)
        if self.heading is None or self.title is None:
            joined = " ".join(self.window)
            if self.heading is None and (match := HEADING_PERIOD.search(joined)):
                self.heading = _period(match.group(1), match.group(2), "in its heading")
            if self.title is None and (match := TITLE_PERIOD.search(joined)):
                self.title = _period(match.group(1), match.group(2), "in its title")
        if not self.account and (match := ACCOUNT.search(line)):
            self.account = match.group(1)
        if COST_TITLE.search(line):
            self.money_titles.add("cost")
        if BALANCE_TITLE.search(line):
            self.money_titles.add("cost_vat")
        if total := TOTAL.match(line):
            self.read_total(line[total.end():], total.group(1))
            return
        if resource := RESOURCE.search(line):
            self.numbers.start(normalize_number(resource.group(1)))
        elif (sim := SIM_HEADING.search(line)) and (number := subscriber_number(sim.group(1))):
            # the stand-in's older layout: a phone number where the real files put the SIM serial
            self.numbers.start(number)

    def read_total(self, rest: str, number: str | None) -> None:
        """Read «Итого по номеру N …» as N's total; «Итого: …» as the open number's, or else the document's."""
        amounts = MONEY_TOKEN.findall(rest)
        if not amounts:
            return
        amount = parse_money(amounts[0])
        if number:
            self.numbers.totals[normalize_number(number)] = amount
        elif self.numbers.current is not None and self.numbers.current not in self.numbers.totals:
            self.numbers.totals[self.numbers.current] = amount
        else:
            self.total = amount

    def period(self) -> tuple[date, date]:
        """The period the document states, or refuse it."""
        if self.heading and self.title and self.heading != self.title:
            raise _Unreadable(
                f"states two periods: {_span(self.heading)} in its heading and {_span(self.title)} in its title"
            )
        period = self.heading or self.title
        if period is None:
            raise _Unreadable("does not state its period («Оказанные услуги связи за период с … по …»)")
        return period

    # HTML rows

    def row(self, cells: list[str]) -> None:
        """Read one row of an HTML table: a header, an event or text.

        An event is a row whose first text is a date, or that has a date and,
        where the header puts the time, a time; its other cells are found under
        the header's columns, shifted by as many cells as its date is.
        """
        filled = [index for index, cell in enumerate(cells) if cell]
        if not filled:
            return
        dated = next((index for index in filled if DATE_CELL.match(cells[index])), None)
        if dated is not None and len(filled) >= 3 and (dated == filled[0] or self.timed(cells, dated)):
            self.table_event(cells, dated)
            return
        columns = _columns(cells)
        if "date" in columns and len(columns.keys() & {"time", "other", "service", "amount", "cost", "cost_vat"}) >= 2:
            self.columns = columns
            return
        self.text(" ".join(cells[index] for index in filled))

    def timed(self, cells: list[str], date_index: int) -> bool:
        """Whether a row whose date is not its first text is an event under the header read.

        Its texts before the date must sit under columns of the header, and it
        must have a time: with the date or where the header puts the time.
        """
        if self.columns is DEFAULT_COLUMNS:
            return False
        shift = date_index - self.columns["date"]
        known = set(self.columns.values())
        if any(cells[index] and index - shift not in known for index in range(date_index)):
            return False
        if " " in cells[date_index]:
            return True
        time_index = self.columns.get("time", -1) + shift
        return 0 <= time_index < len(cells) and bool(TIME_CELL.match(cells[time_index]))

    def table_event(self, cells: list[str], date_index: int) -> None:
        """Read an event row, its cells found under the header's columns (shifted as its date is)."""
        shift = date_index - self.columns.get("date", 0)

        def cell(name: str) -> str | None:
            index = self.columns.get(name)
            if index is None or not 0 <= index + shift < len(cells):
                return None
            return cells[index + shift]

        moment = cells[date_index]
        if " " not in moment:
            moment = f"{moment} {cell('time') or ''}"
        self.numbers.add(make_event, moment, cell("other") or "", cell("service") or "", cell("amount") or "",
                         cell("cost"), cell("cost_vat"))

    # PDF lines

    def pdf_line(self, line: str) -> None:
        """Read one line of a PDF's text; an event line wrapped over two or three lines is joined."""
        line = " ".join(line.split())
        if not line:
            return
        starts_event = bool(PDF_EVENT_START.match(line))
        if self.pending is not None:
            if not starts_event and self.pending_parts < 2:
                self.pending, self.pending_parts = f"{self.pending} {line}", self.pending_parts + 1
                if self.pdf_event(self.pending):
                    self.pending = None
                return
            self.unreadable_line()
        if starts_event:
            if not self.pdf_event(line):
                self.pending, self.pending_parts = line, 0
            return
        self.text(line)

    def pdf_event(self, line: str) -> bool:
        """Read ``line`` as an event; False if it is not one (yet)."""
        titles = self.money_titles
        patterns = (PDF_EVENT_ONE, PDF_EVENT_TWO) if len(titles) == 1 else (PDF_EVENT_TWO, PDF_EVENT_ONE)
        for pattern in patterns:  # the header's money columns first; a line that does not fit them, the other way
            match = pattern.match(line)
            if match:
                break
        else:
            return False
        if match.groupdict().get("m2"):
            cost, cost_vat = match["m1"], match["m2"]
        elif titles == {"cost_vat"}:
            cost, cost_vat = None, match["m1"]
        else:
            cost, cost_vat = match["m1"], None
        self.numbers.add(make_event, f"{match['date']} {match['time']}", match["other"], _service(match["middle"]),
                         match["amount"], cost, cost_vat)
        return True

    def unreadable_line(self) -> None:
        """Refuse the event line that could not be read."""
        line, self.pending = self.pending, None
        raise _Unreadable(f"has an unreadable event line «{line}»")

    def finish(self) -> None:
        """End of the text: a pending event line that never completed is refused."""
        if self.pending is not None:
            self.unreadable_line()


# --- PDF ------------------------------------------------------------------------


def _read_pdf(path: Path, keep: bool) -> ReadCallDetails:
    """Read a PDF's period and events from its text, a page at a time."""
    lines = _Lines(keep)
    try:
        for text in pdf_pages(path):
            for line in text.splitlines():
                lines.pdf_line(line)
    except PdfUnreadable as error:
        raise _Unreadable(f"is a damaged PDF ({error})") from error
    lines.finish()
    return lines.numbers.result("pdf", lines.period(), lines.account, lines.total)


# --- XML ------------------------------------------------------------------------


class _ReportReader:
    """Expat handlers for the ``<Report>`` schema that refuse DTDs and entities.

    The period is ``<b sd ed>``, or else the ``sd``/``ed`` of the ``<ds>``
    sections; ``<b an>`` is the personal account. A ``<ds>`` or ``<tp>`` is a
    subscriber's section only when its ``n`` is a subscriber number; an
    ``<i>`` is an event of the innermost such section, and one inside a
    section that is not a number's (``<ds n="Абонентская плата">``, ``<ss>``)
    is not a call of any number and is passed over.
    """

    SECTIONS = ("ds", "tp", "ss")

    def __init__(self, keep: bool) -> None:
        """Start before the root element."""
        self.root: str | None = None
        self.period: tuple[date, date] | None = None
        self.section_periods: set[tuple[date, date]] = set()
        self.other_periods: set[tuple[date, date]] = set()
        self.account = ""
        self.numbers = _Numbers(keep)
        self.sections: list[tuple[str, str | None]] = []

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        """Handle an opening tag: the root, the period ``b``, a section ``ds``/``tp``/``ss``, an event ``i``."""
        if self.root is None:
            self.root = tag
            if tag != "Report":
                raise _Unreadable(f"is XML but not an MTS call details report (its root is <{tag}>, not <Report>)")
        if tag == "i":
            self.event(attributes)
        elif tag in self.SECTIONS:
            self.section(tag, attributes)
        elif tag == "b":
            if "sd" in attributes or "ed" in attributes:
                self.period = _period(attributes.get("sd", ""), attributes.get("ed", ""), "<b>")
            if attributes.get("an", "").strip():
                self.account = attributes["an"].strip()

    def section(self, tag: str, attributes: dict[str, str]) -> None:
        """Open a section; a subscriber's one opens the number's events."""
        number = subscriber_number(attributes.get("n", "")) if tag != "ss" else None
        self.sections.append((tag, number))
        if number:
            self.numbers.start(number)
            total = attributes.get("t", "").strip()
            if tag == "ds" and total:
                try:
                    self.numbers.totals[number] = parse_money(total)
                except ValueError:
                    pass  # a total is shown, never checked: an odd one does not make the document unreadable
        if tag == "ds" and ("sd" in attributes or "ed" in attributes):
            period = _period(attributes.get("sd", ""), attributes.get("ed", ""), f"on <ds n=\"{attributes.get('n')}\">")
            (self.section_periods if number else self.other_periods).add(period)

    def event(self, attributes: dict[str, str]) -> None:
        """Read an ``<i>`` as an event of the section it is in."""
        if not self.sections:
            raise _Unreadable("lists an event <i> outside any section <ds>")
        owner = self.owner()
        if owner is None:
            return
        if self.numbers.current != owner:
            self.numbers.start(owner)
        self.numbers.add(self.build, attributes)

    def owner(self) -> str | None:
        """The number whose events the innermost section holds, or None for a section that is no number's."""
        for tag, number in reversed(self.sections):
            if tag == "tp" and number is None:
                continue
            return number
        return None

    def end(self, tag: str) -> None:
        """Handle a closing tag: a section ends."""
        if tag in self.SECTIONS and self.sections:
            self.sections.pop()
            self.numbers.current = self.owner() if self.sections else None

    def result(self) -> ReadCallDetails:
        """The document read; its period from ``<b>``, or else from its numbers' ``<ds>`` (all they cover), or
        else from its other ``<ds>``."""
        period = self.period
        periods = self.section_periods or self.other_periods
        if period is None and periods:
            period = min(p[0] for p in periods), max(p[1] for p in periods)
        if period is None:
            raise _Unreadable("is a <Report> without its period (<b sd=… ed=…> or <ds sd=… ed=…>)")
        return self.numbers.result("xml", period, self.account)

    @staticmethod
    def build(attributes: dict[str, str]) -> dict:
        """Return an ``<i>`` element's attributes as an event."""
        return make_event(attributes["d"], attributes.get("n", ""), attributes.get("s", ""),
                          attributes.get("du", ""), attributes.get("c"), attributes.get("f"))

    @staticmethod
    def refuse(*_args: object) -> None:
        """Refuse a DOCTYPE, an entity declaration or an external entity."""
        raise _Unreadable("is XML with a DOCTYPE or entity declaration, which is refused as unsafe")


def _read_xml(path: Path, keep: bool) -> ReadCallDetails:
    """Read the ``<Report>`` XML, streaming, refusing DTDs and entities; expat decodes the declared encoding."""
    reader = _ReportReader(keep)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = reader.refuse
    parser.EntityDeclHandler = reader.refuse
    parser.UnparsedEntityDeclHandler = reader.refuse
    parser.ExternalEntityRefHandler = reader.refuse
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    try:
        with open(path, "rb") as handle:
            parser.ParseFile(handle)
    except expat.ExpatError as error:
        raise _Unreadable(f"is not well-formed XML ({error})") from error
    return reader.result()


# --- HTML -----------------------------------------------------------------------


INLINE_TAGS = frozenset(
    "a abbr b big cite code em font i nobr small span strong sub sup u s strike tt label wbr".split()
)
SKIPPED_TAGS = frozenset(("script", "style"))
CELL_TAGS = ("td", "th")


class _Table:
    """One open table: its open row and cell."""

    __slots__ = ("row", "cell")

    def __init__(self) -> None:
        """No row open yet."""
        self.row: list[str] | None = None
        self.cell: list[str] | None = None


class _PageReader(HTMLParser):
    """Turns an HTML page into rows (lists of cell texts) and lines of text, in reading order.

    Tables may nest: each cell's own text belongs to it, a nested table's rows
    are rows of their own, and what an outer row held before a nested table is
    given as a row of its own first. Text outside tables (a title, a heading,
    a paragraph) is a line of its own.
    """

    def __init__(self, lines: _Lines) -> None:
        """Read into ``lines``."""
        super().__init__(convert_charrefs=True)
        self.lines = lines
        self.tables: list[_Table] = []
        self.block: list[str] = []
        self.skipping = 0

    def in_cell(self) -> bool:
        """Whether text now goes into a table cell."""
        return bool(self.tables) and self.tables[-1].cell is not None

    def table(self) -> _Table:
        """The innermost open table (one is opened for a row outside any table)."""
        if not self.tables:
            self.tables.append(_Table())
        return self.tables[-1]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        """Open a table, row or cell; any other tag but an inline one separates text."""
        if tag in SKIPPED_TAGS:
            self.flush_block()
            self.skipping += 1
        elif tag == "table":
            self.flush_block()
            if self.in_cell():
                self.flush_partial(self.tables[-1])
            self.tables.append(_Table())
        elif tag == "tr":
            self.flush_block()
            table = self.table()
            self.end_row(table)
            table.row = []
        elif tag in CELL_TAGS:
            self.flush_block()
            table = self.table()
            self.end_cell(table)
            if table.row is None:
                table.row = []
            table.cell = []
        elif tag not in INLINE_TAGS:
            self.separate()

    def handle_endtag(self, tag: str) -> None:
        """Close a cell, a row or a table; any other tag but an inline one separates text."""
        if tag in SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in CELL_TAGS:
            if self.tables:
                self.end_cell(self.tables[-1])
        elif tag in ("tr", "thead", "tbody", "tfoot"):
            self.flush_block()
            if self.tables:
                self.end_row(self.tables[-1])
        elif tag == "table":
            self.flush_block()
            if self.tables:
                self.end_row(self.tables.pop())
        elif tag not in INLINE_TAGS:
            self.separate()

    def handle_data(self, data: str) -> None:
        """Keep text in the open cell, or in the block of text outside cells."""
        if self.skipping:
            return
        if self.in_cell():
            self.tables[-1].cell.append(data)
        else:
            self.block.append(data)

    def separate(self) -> None:
        """A block boundary: a space within a cell, the end of a line outside cells."""
        if self.in_cell():
            self.tables[-1].cell.append(" ")
        else:
            self.flush_block()

    def flush_block(self) -> None:
        """Give the text outside cells as a line."""
        if self.block:
            text, self.block = "".join(self.block), []
            if text.strip():
                self.lines.text(text)

    def flush_partial(self, table: _Table) -> None:
        """Give what an outer row holds before a nested table as a row of its own."""
        cells = [*(table.row or []), " ".join("".join(table.cell or []).split())]
        table.row, table.cell = [], []
        self.lines.row(cells)

    def end_cell(self, table: _Table) -> None:
        """Close the open cell, if any."""
        if table.cell is not None:
            if table.row is None:
                table.row = []
            table.row.append(" ".join("".join(table.cell).split()))
        table.cell = None

    def end_row(self, table: _Table) -> None:
        """Close the open row, if any, and give it."""
        self.end_cell(table)
        row, table.row = table.row, None
        if row:
            self.lines.row(row)

    def close(self) -> None:
        """Finish the page: every open row and the text after it."""
        super().close()
        self.flush_block()
        while self.tables:
            self.end_row(self.tables.pop())


HTML_CHUNK = 1 << 20


def _html_encoding(head: bytes) -> tuple[str, int]:
    """The encoding of an HTML page and the length of its BOM.

    By its BOM, its declared charset (or XML prolog encoding), or else UTF-8
    if its first bytes are UTF-8 and windows-1251 if they are not.
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    declared = CHARSET.search(head[:SNIFF_BYTES])
    if declared:
        return declared.group(1).decode("ascii"), 0
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        return "windows-1251", 0
    return "utf-8", 0


def _read_html(path: Path, keep: bool) -> ReadCallDetails:
    """Read the HTML page's period, number headings and event tables, a chunk at a time."""
    lines = _Lines(keep)
    reader = _PageReader(lines)
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        encoding, bom = _html_encoding(head)
        try:
            decoder = codecs.getincrementaldecoder(encoding)()
            chunk = head[bom:]
            while chunk:
                reader.feed(decoder.decode(chunk))
                chunk = handle.read(HTML_CHUNK)
            reader.feed(decoder.decode(b"", final=True))
        except (LookupError, UnicodeDecodeError) as error:
            raise _Unreadable(f"is HTML that cannot be decoded as {encoding} ({error})") from error
    reader.close()
    return lines.numbers.result("html", lines.period(), lines.account, lines.total)


_READERS: dict[str, Callable[[Path, bool], ReadCallDetails]] = {
    "pdf": _read_pdf, "xml": _read_xml, "html": _read_html,
}


# --- detection, reading, checking ----------------------------------------------


def detect_format(path: str | Path) -> str | None:
    """Return ``pdf``, ``xml`` or ``html`` as the content shows, or None.

    Only the first bytes decide: ``%PDF-`` is a PDF; ``<!DOCTYPE html`` or
    ``<html`` near the start is HTML; other text starting with a tag or
    ``<?xml`` is XML. The file name is never looked at.
    """
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"%PDF-"):
        return "pdf"
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if any(marker in text.lower() for marker in HTML_MARKERS):
        return "html"
    if XML_START.match(text):
        return "xml"
    return None


def _unknown(name: str) -> DocumentCheckError:
    """The error for content that is neither PDF, XML nor HTML."""
    return DocumentCheckError(f"{name} is neither a PDF, an XML nor an HTML document: it is not call details.")


def read_call_details(path: str | Path, keep_events: bool = True) -> ReadCallDetails:
    """Return what the call details document at ``path`` says.

    Raises ``DocumentCheckError`` naming the file if it is not a PDF, XML or
    HTML document, or not readable as MTS call details. Without
    ``keep_events`` every event is still read and checked, but only the
    numbers and their event counts are returned (each number's list of events
    is empty), in memory that does not grow with the document.
    """
    path = Path(path)
    document_format = detect_format(path)
    if document_format is None:
        raise _unknown(path.name)
    try:
        return _READERS[document_format](path, keep_events)
    except _Unreadable as error:
        raise DocumentCheckError(f"{path.name} {error}.") from error


def _listing(numbers: Iterable[str]) -> str:
    """Return numbers sorted and comma-separated."""
    return ", ".join(sorted(numbers))


def _moment(moment: datetime) -> str:
    """A moment the way the documents write it: ``dd.mm.yyyy H:MM:SS``."""
    return f"{ru_date(moment.date())} {moment.hour}:{moment.minute:02d}:{moment.second:02d}"


def expected_format_of(expected_format: str) -> str:
    """Return ``pdf``, ``xml`` or ``html`` for a format named in any case, or raise ValueError."""
    expected = str(expected_format).strip().lower()
    if expected not in FORMATS:
        raise ValueError(f"Format '{expected_format}' is not one of PDF, XML, HTML.")
    return expected


def judge_call_details(
    document: ReadCallDetails,
    name: str,
    numbers: Iterable[str] | None,
    period_from: str | date,
    period_to: str | date,
    account: str = "",
) -> list[str]:
    """Raise ``DocumentCheckError`` unless the read ``document`` is the ordered one; return the quiet numbers.

    The ordered one states the period ``period_from``–``period_to``; if it
    states a personal account, it is ``account`` (when given); every event is
    dated inside the period; every number it lists is among ``numbers``
    (``None``: numbers are not checked). The ordered numbers with no events
    in it are returned (sorted): accepted, as numbers that made no calls.
    """
    ordered_from, ordered_to = to_date(period_from), to_date(period_to)
    if (document.period_from, document.period_to) != (ordered_from, ordered_to):
        raise DocumentCheckError(
            f"{name} covers {ru_date(document.period_from)}–{ru_date(document.period_to)}, "
            f"not the ordered period {ru_date(ordered_from)}–{ru_date(ordered_to)}."
        )
    ordered_account = str(account or "").strip()
    if ordered_account and document.account and document.account != ordered_account:
        raise DocumentCheckError(
            f"{name} is the call details of personal account {document.account}, "
            f"not of the ordered account {ordered_account}."
        )
    for edge in (document.earliest, document.latest):
        if edge and not ordered_from <= edge[0].date() <= ordered_to:
            raise DocumentCheckError(
                f"{name} lists an event of number {edge[1]} on {_moment(edge[0])}, outside its period "
                f"{ru_date(ordered_from)}–{ru_date(ordered_to)}."
            )
    if numbers is None:
        return []
    ordered = {normalize_number(number) for number in numbers}
    unexpected = document.numbers.keys() - ordered
    if unexpected:
        raise DocumentCheckError(f"{name} lists numbers that were not ordered: unexpected {_listing(unexpected)}.")
    return sorted(number for number in ordered if not document.counts.get(number))


def check_call_details(
    path: str | Path,
    numbers: list[str] | None,
    period_from: str | date,
    period_to: str | date,
    expected_format: str,
    account: str = "",
) -> ReadCallDetails:
    """Return the read document (its numbers, without their events), or raise ``DocumentCheckError``
    unless it is the ordered one.

    The ordered one is in ``expected_format`` (told by content), states the
    period ``period_from``–``period_to``, states no personal account other
    than ``account`` (when given), dates every event inside the period and
    lists no number outside ``numbers`` (``None``: numbers not checked). An
    ordered number with no events (no section, or an empty one) is accepted:
    it is logged and listed in the result's ``quiet``. Every event is read on
    the way, streaming, so a document of any size is checked in bounded memory.
    """
    path = Path(path)
    expected = expected_format_of(expected_format)
    found = detect_format(path)
    if found is None:
        raise _unknown(path.name)
    if found != expected:
        raise DocumentCheckError(
            f"{path.name} is {FORMAT_LABELS[found]}, not the ordered {FORMAT_LABELS[expected]}."
        )
    document = read_call_details(path, keep_events=False)
    document.quiet = judge_call_details(document, path.name, numbers, period_from, period_to, account)
    if document.quiet:
        absent = [number for number in document.quiet if number not in document.numbers]
        note = f" ({_listing(absent)} not in the document at all)" if absent else ""
        logger.info(
            f"{path.name}: ordered number(s) {_listing(document.quiet)} have no events in the period"
            f"{note}: accepted as numbers that made no calls."
        )
    return document


@library(scope="GLOBAL", auto_keywords=False)
class CallDetails:
    """Checks of received call details documents."""

    @keyword("Check Call Details Document")
    def check_call_details_document(
        self, path: str, numbers: list, period_from: str, period_to: str, format: str, account: str = ""
    ) -> None:
        """Fail unless ``path`` is the ordered call details document.

        The content (never the file name) must be in ``format`` (PDF, XML or
        HTML) and readable as MTS call details; it must state the ordered
        period ``period_from``–``period_to`` (``YYYY-MM-DD`` or ``dd.mm.yyyy``),
        date every event inside it, state no personal account but ``account``
        (when given), and list no number outside the ordered ``numbers``: the
        error names every unexpected number. An ordered number without events
        is accepted and logged. XML declaring a DOCTYPE or entities is refused.
        """
        check_call_details(path, numbers, period_from, period_to, format, account)
