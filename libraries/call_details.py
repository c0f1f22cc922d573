"""Read and check received call details (детализация разговоров): PDF, XML or HTML.

The format is told by the content, never by the file name. A document is
the ordered one when it is in the ordered format, states the ordered period
(«Оказанные услуги связи за период с … по …» or the XML's ``<b sd ed>``) and
lists exactly the ordered numbers, no more and no fewer.

XML is read with expat, streaming, and refused as soon as it declares a
DOCTYPE or an entity, so nothing is ever expanded or fetched.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from xml.parsers import expat

from robot.api.deco import keyword, library

from libraries.documents import DocumentCheckError, pdf_text, ru_date

FORMATS = ("pdf", "xml", "html")
FORMAT_LABELS = {"pdf": "PDF", "xml": "XML", "html": "HTML"}
SNIFF_BYTES = 4096

RU_DATE = r"\d{2}\.\d{2}\.\d{4}"
HEADER = re.compile(rf"Оказанные\s+услуги\s+связи\s+за\s+период\s+с\s+({RU_DATE})\s+по\s+({RU_DATE})")
NUMBER_HEADING = re.compile(r"Номер\s+SIM\s+карты\s*/\s*Виртуальный\s+Номер:\s*\+?(\d{11})")
MONEY = r"-?\d{1,3}(?:[ \u00a0]\d{3})*,\d+"
SERVICES = ("Телеф.", "sms o", "sms i", "mms o", "mms i", "ussd", "4G", "gprs")
PDF_ROW = re.compile(
    rf"^(?P<date>{RU_DATE})\s+(?P<time>\d{{1,2}}:\d{{2}}:\d{{2}})\s+(?P<other>\S+)\s+(?:.*?\s+)?"
    rf"(?P<service>{'|'.join(re.escape(s) for s in SERVICES)}|\S+)\s+(?P<amount>\S+)\s+"
    rf"(?P<cost>{MONEY})\s+(?P<cost_vat>{MONEY})$"
)
"""One event line of the PDF's text: date, time, other party, zones, service, amount, two sums."""

TABLE_CELLS = {"date": 0, "time": 1, "other": 2, "service": 5, "amount": 6, "cost": 7, "cost_vat": 8}
"""Where each read field sits in a row of the HTML table, whose columns are the PDF's: «Дата | Время
GMT* | Номер | Зона вызова | Зона направления вызова/номер сессии | Услуга | Длительность/Объем
(мин.:сек./Kb/шт.) | Стоимость руб. без НДС | Изм. баланса»."""
TABLE_WIDTH = 9

HTML_MARKERS = ("<!doctype html", "<html")
CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
XML_START = re.compile(r"<(\?xml|[A-Za-z_])")


@dataclass
class ReadCallDetails:
    """What a call details document says: its format, period and each number's events."""

    format: str
    """``pdf``, ``xml`` or ``html``, told by the content."""
    period_from: date
    period_to: date
    numbers: dict[str, list[dict]] = field(default_factory=dict)
    """Number -> its events: ``{"at", "other", "service", "amount", "cost", "cost_vat"}``."""


class _Unreadable(Exception):
    """The content cannot be read as call details; the message says why (without the file name)."""


# --- shared parsing -------------------------------------------------------------


def parse_ru_date(text: str) -> date:
    """Return a ``dd.mm.yyyy`` date."""
    return datetime.strptime(text.strip(), "%d.%m.%Y").date()


def parse_money(text: str) -> Decimal:
    """Return ``1 234,56`` (or ``0``, ``37,8815``) as a Decimal."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not an amount") from error


def make_event(moment: str, other: str, service: str, amount: str, cost: str, cost_vat: str) -> dict:
    """Return one event as a dict from its texts; ``moment`` is ``dd.mm.yyyy H:MM:SS``."""
    return {
        "at": datetime.strptime(" ".join(moment.split()), "%d.%m.%Y %H:%M:%S"),
        "other": other.strip(),
        "service": service.strip(),
        "amount": amount.strip(),
        "cost": parse_money(cost),
        "cost_vat": parse_money(cost_vat),
    }


def normalize_number(number: object) -> str:
    """Return a phone number as ``79XXXXXXXXX`` (from ``+7…``, ``8…`` or ten digits)."""
    digits = re.sub(r"\D", "", str(number))
    if len(digits) == 10 and digits.startswith("9"):
        return "7" + digits
    if len(digits) == 11 and digits.startswith("8"):
        return "7" + digits[1:]
    return digits


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


def _header_period(text: str) -> tuple[date, date]:
    """Return the period of «Оказанные услуги связи за период с … по …» in ``text``."""
    match = HEADER.search(text)
    if not match:
        raise _Unreadable("does not state its period («Оказанные услуги связи за период с … по …»)")
    return parse_ru_date(match.group(1)), parse_ru_date(match.group(2))


class _Numbers:
    """Collects events under the number whose section is being read.

    Every event is read and validated; with ``keep=False`` (a check before
    upload) only the numbers are kept, not their events, so that memory does
    not grow with the document's size.
    """

    def __init__(self, keep: bool = True) -> None:
        """Start with no numbers and no current section."""
        self.events: dict[str, list[dict]] = {}
        self.counts: dict[str, int] = {}
        self.current: str | None = None
        self.keep = keep

    def start(self, number: str) -> None:
        """Open (or continue) the section of ``number``."""
        self.current = number
        self.events.setdefault(number, [])
        self.counts.setdefault(number, 0)

    def add(self, build, *texts: str) -> None:
        """Add the event ``build(*texts)`` to the current number."""
        if self.current is None:
            raise _Unreadable("lists events before any «Номер SIM карты /Виртуальный Номер» section")
        try:
            event = build(*texts)
        except (ValueError, KeyError) as error:
            position = self.counts[self.current] + 1
            raise _Unreadable(f"has an unreadable event #{position} of number {self.current} ({error})") from error
        self.counts[self.current] += 1
        if self.keep:
            self.events[self.current].append(event)


# --- PDF ------------------------------------------------------------------------


def _read_pdf(path: Path, keep: bool) -> tuple[date, date, dict[str, list[dict]]]:
    """Read a PDF's period and events from its text, line by line."""
    text = pdf_text(path)
    period_from, period_to = _header_period(text)
    numbers = _Numbers(keep)
    for line in text.splitlines():
        line = " ".join(line.split())
        heading = NUMBER_HEADING.search(line)
        if heading:
            numbers.start(heading.group(1))
            continue
        row = PDF_ROW.match(line)
        if row:
            numbers.add(make_event, f"{row['date']} {row['time']}", row["other"], row["service"],
                        row["amount"], row["cost"], row["cost_vat"])
    return period_from, period_to, numbers.events


# --- XML ------------------------------------------------------------------------


class _ReportReader:
    """Expat handlers for the ``<Report>`` schema that refuse DTDs and entities."""

    def __init__(self, keep: bool) -> None:
        """Start before the root element."""
        self.root: str | None = None
        self.period: tuple[date, date] | None = None
        self.numbers = _Numbers(keep)

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        """Handle an opening tag: the root, the period ``b``, a number ``ds``, an event ``i``."""
        if self.root is None:
            self.root = tag
            if tag != "Report":
                raise _Unreadable(f"is XML but not an MTS call details report (its root is <{tag}>, not <Report>)")
        if tag == "b":
            try:
                self.period = parse_ru_date(attributes["sd"]), parse_ru_date(attributes["ed"])
            except (KeyError, ValueError) as error:
                raise _Unreadable(f"has an unreadable period <b> ({error})") from error
        elif tag == "ds":
            self.numbers.start(normalize_number(attributes.get("n", "")))
        elif tag == "i":
            self.numbers.add(self.event, attributes)

    def end(self, tag: str) -> None:
        """Handle a closing tag: a number's section ends with ``</ds>``."""
        if tag == "ds":
            self.numbers.current = None

    @staticmethod
    def event(attributes: dict[str, str]) -> dict:
        """Return an ``<i>`` element's attributes as an event."""
        return make_event(attributes["d"], attributes.get("n", ""), attributes.get("s", ""),
                          attributes.get("du", ""), attributes.get("c", "0"), attributes.get("f", "0"))

    @staticmethod
    def refuse(*_args: object) -> None:
        """Refuse a DOCTYPE, an entity declaration or an external entity."""
        raise _Unreadable("is XML with a DOCTYPE or entity declaration, which is refused as unsafe")


def _read_xml(path: Path, keep: bool) -> tuple[date, date, dict[str, list[dict]]]:
    """Read the ``<Report>`` XML, streaming, refusing DTDs and entities."""
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
    if reader.period is None:
        raise _Unreadable("is a <Report> without its period <b sd=… ed=…>")
    return *reader.period, reader.numbers.events


# --- HTML -----------------------------------------------------------------------


class _TableReader(HTMLParser):
    """Reads number headings and event rows of the HTML call details.

    Text outside table rows is searched for number headings (in any element:
    a heading, a paragraph or a table caption); a row whose first cells are
    a date and a time is an event of the number last named.
    """

    CELLS = ("td", "th")

    def __init__(self, keep: bool) -> None:
        """Start with no text, no row and no numbers."""
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.period: tuple[date, date] | None = None
        self.outside: list[str] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.numbers = _Numbers(keep)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        """Open a row or a cell (closing ones the page left open)."""
        if tag == "tr":
            self.end_row()
            self.find_headings()
            self.row = []
        elif tag in self.CELLS and self.row is not None:
            self.end_cell()
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        """Close a cell, a row, or every open row at the end of a table part."""
        if tag in self.CELLS:
            self.end_cell()
        elif tag in ("tr", "thead", "tbody", "tfoot", "table"):
            self.end_row()

    def handle_data(self, data: str) -> None:
        """Keep text: in the open cell, or outside rows for the headings (and the period, until found)."""
        if self.period is None:
            self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)
        elif self.row is None:
            self.outside.append(data)

    def close(self) -> None:
        """Finish the page: the last row and any headings after it."""
        super().close()
        self.end_row()
        self.find_headings()

    def end_cell(self) -> None:
        """Close the open cell, if any."""
        if self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
        self.cell = None

    def end_row(self) -> None:
        """Close the open row, if any; keep it if it is an event."""
        self.end_cell()
        row, self.row = self.row, None
        if row and len(row) >= TABLE_WIDTH and re.fullmatch(RU_DATE, row[0]):
            cells = {name: row[index] for name, index in TABLE_CELLS.items()}
            self.numbers.add(make_event, f"{cells['date']} {cells['time']}", cells["other"],
                             cells["service"], cells["amount"], cells["cost"], cells["cost_vat"])

    def find_headings(self) -> None:
        """Open the section of every number named in the text since the last row; find the period once."""
        if self.period is None and self.text:
            try:
                self.period = _header_period(" ".join("".join(self.text).split()))
                self.text = []
            except _Unreadable:
                pass
        for match in NUMBER_HEADING.finditer(" ".join("".join(self.outside).split())):
            self.numbers.start(match.group(1))
        self.outside = []


HTML_CHUNK = 1 << 20


def _html_encoding(head: bytes) -> tuple[str, int]:
    """The encoding of an HTML page by its BOM, its declared charset, or UTF-8; and the BOM's length."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8", 3
    declared = CHARSET.search(head[:SNIFF_BYTES])
    return (declared.group(1).decode("ascii") if declared else "utf-8"), 0


def _read_html(path: Path, keep: bool) -> tuple[date, date, dict[str, list[dict]]]:
    """Read the HTML page's period, number headings and event tables, a chunk at a time."""
    reader = _TableReader(keep)
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
    period = reader.period or _header_period(" ".join("".join(reader.text).split()))
    return *period, reader.numbers.events


_READERS = {"pdf": _read_pdf, "xml": _read_xml, "html": _read_html}


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
    numbers are returned (with no events), in memory that does not grow with
    the document.
    """
    path = Path(path)
    document_format = detect_format(path)
    if document_format is None:
        raise _unknown(path.name)
    try:
        period_from, period_to, numbers = _READERS[document_format](path, keep_events)
    except _Unreadable as error:
        raise DocumentCheckError(f"{path.name} {error}.") from error
    return ReadCallDetails(document_format, period_from, period_to, numbers)


def _listing(numbers: Iterable[str]) -> str:
    """Return numbers sorted and comma-separated."""
    return ", ".join(sorted(numbers))


def check_call_details(
    path: str | Path,
    numbers: list[str],
    period_from: str | date,
    period_to: str | date,
    expected_format: str,
) -> ReadCallDetails:
    """Return the read document (its numbers, without their events), or raise ``DocumentCheckError``
    unless it is the ordered one.

    The ordered one is in ``expected_format`` (told by content), states the
    period ``period_from``–``period_to`` and lists exactly ``numbers``. Every
    event is read on the way, streaming, so a document of any size is checked
    in bounded memory (PDF text excepted).
    """
    path = Path(path)
    expected = str(expected_format).strip().lower()
    if expected not in FORMATS:
        raise ValueError(f"Format '{expected_format}' is not one of PDF, XML, HTML.")
    found = detect_format(path)
    if found is None:
        raise _unknown(path.name)
    if found != expected:
        raise DocumentCheckError(
            f"{path.name} is {FORMAT_LABELS[found]}, not the ordered {FORMAT_LABELS[expected]}."
        )
    document = read_call_details(path, keep_events=False)
    ordered_from, ordered_to = to_date(period_from), to_date(period_to)
    if (document.period_from, document.period_to) != (ordered_from, ordered_to):
        raise DocumentCheckError(
            f"{path.name} covers {ru_date(document.period_from)}–{ru_date(document.period_to)}, "
            f"not the ordered period {ru_date(ordered_from)}–{ru_date(ordered_to)}."
        )
    ordered = {normalize_number(number) for number in numbers}
    missing, unexpected = ordered - document.numbers.keys(), document.numbers.keys() - ordered
    if missing or unexpected:
        problems = [f"missing {_listing(missing)}"] if missing else []
        problems += [f"unexpected {_listing(unexpected)}"] if unexpected else []
        raise DocumentCheckError(
            f"{path.name} does not list exactly the ordered numbers (no more, no fewer): {'; '.join(problems)}."
        )
    return document


@library(scope="GLOBAL", auto_keywords=False)
class CallDetails:
    """Checks of received call details documents."""

    @keyword("Check Call Details Document")
    def check_call_details_document(
        self, path: str, numbers: list, period_from: str, period_to: str, format: str
    ) -> None:
        """Fail unless ``path`` is the ordered call details document.

        The content (never the file name) must be in ``format`` (PDF, XML or
        HTML) and readable as MTS call details; it must state the ordered
        period ``period_from``–``period_to`` (``YYYY-MM-DD`` or ``dd.mm.yyyy``)
        and list exactly the ordered ``numbers``: the error names every
        missing and every unexpected number. XML declaring a DOCTYPE or
        entities is refused.
        """
        check_call_details(path, numbers, period_from, period_to, format)
