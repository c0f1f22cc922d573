"""Call details (детализация разговоров) of subscriber numbers, as PDF, XML or HTML.

Every event (a call, an SMS, a USSD request, a mobile data session) is drawn
from ``random.Random`` seeded with the data set's seed, the account, the number
and the period, so the same inputs always give the same events and the
documents are byte-identical (their creation date derives from the period).

The documents follow the real MTS ones: the PDF and HTML print «Оказанные
услуги связи за период с … по …» and a table per «Номер SIM карты /Виртуальный
Номер: …»; the XML uses the ``<Report layerType="OldCompatible">`` schema.
"""

from __future__ import annotations

import html
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from fpdf.enums import XPos, YPos

from sandbox.dataset import Account, Login, Subscriber
from sandbox.invoice import FONT_FAMILY, OPERATOR, RussianPDF, format_date, format_money, vat

FORMATS = ("PDF", "XML", "HTML")
"""The formats the call details can be rendered in."""

TITLE = "Детализация разговоров"
HEADER = "Оказанные услуги связи за период с {start} по {end}"
NUMBER_HEADING = "Номер SIM карты /Виртуальный Номер: {number}"
COLUMNS = (
    "Дата",
    "Время GMT*",
    "Номер",
    "Зона вызова",
    "Зона направления вызова/номер сессии",
    "Услуга",
    "Длительность/Объем (мин.:сек./Kb/шт.)",
    "Стоимость руб. без НДС",
    "Изм. баланса",
)
"""The columns of the event table, as the PDF and HTML print them."""

TIME_NOTE = "* Время указано местное (GMT+03:00)."
RESOURCE_TYPE = "Сетевой ресурс"
"""The ``pt`` of every number in the XML, as in the real files."""

CALL, SMS_OUT, SMS_IN, USSD, DATA_4G, DATA_GPRS = "Телеф.", "sms o", "sms i", "ussd", "4G", "gprs"
INCOMING = "<--"
DATA_APN = "internet.mts.ru"
HOME_ZONE = "Москва"
TRAVEL_ZONES = ("Московская обл.", "Санкт-Петербург", "Тверская обл.")
USSD_CODES = ("100", "111", "115", "0887")
SMS_SENDERS = ("MTS", "MTSBank", "GOSUSLUGI", "Yandex", "Ozon")

CALL_DIRECTIONS = (
    ("Моб. МТС", 0),
    ("Моб. др. операторов", 150),
    ("Фикс. местная", 150),
    ("Межгород", 300),
)
"""Destination zones of outgoing calls and their price per started minute, kopecks."""

HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 12, 12, 11, 12, 12, 11, 10, 9, 8, 7, 6, 4, 3, 2)
"""How likely an event falls in each hour of the day: mostly working hours."""

BUSY_SHARE = 0.25
"""The share of numbers that are busy: several hundred events a month."""

BUSY_EVENTS_PER_DAY = (10.0, 20.0)
QUIET_EVENTS_PER_MONTH = (10, 60)
DAYS_PER_MONTH = 30


@dataclass(frozen=True)
class Event:
    """One billed event of a subscriber number, as the call details list it."""

    at: datetime
    """Local time of the event."""
    number: str
    """The subscriber's number, ``79XXXXXXXXX``."""
    other: str
    """The other party: ``79613456895``, ``<--+79525269871`` (incoming), ``100`` (USSD), ``internet.mts.ru``."""
    service: str
    """``Телеф.``, ``sms o``, ``sms i``, ``ussd``, ``4G`` or ``gprs``."""
    zone: str
    """The call zone (``Москва``), may be empty."""
    direction: str
    """The destination zone of a call or the session number of a data session, may be empty."""
    amount: str
    """Duration ``m:ss`` of a call, volume ``250Kb`` of a data session, ``1`` for an SMS or USSD."""
    cost: Decimal
    """Cost without VAT, roubles with 2 decimals."""
    cost_vat: Decimal
    """Cost with VAT, roubles with 2 decimals."""


@dataclass(frozen=True)
class _Profile:
    """What stays the same for one number across periods: its habits."""

    busy: bool
    contacts: tuple[str, ...]


def _rng(seed: int, account: Account, subscriber: Subscriber, *extra: object) -> random.Random:
    """A generator seeded with the data set's seed, the account, the number and ``extra``."""
    return random.Random(":".join(str(part) for part in (seed, account.number, subscriber.number, *extra)))


def _mobile_number(rng: random.Random) -> str:
    """A random Russian mobile number, ``79XXXXXXXXX``."""
    return "79" + "".join(rng.choice("0123456789") for _ in range(9))


def _profile(account: Account, subscriber: Subscriber, seed: int) -> _Profile:
    """The number's habits: whether it is busy and whom it talks to."""
    rng = _rng(seed, account, subscriber, "profile")
    busy = rng.random() < BUSY_SHARE
    contacts = tuple(_mobile_number(rng) for _ in range(rng.randint(5, 12)))
    return _Profile(busy=busy, contacts=contacts)


def is_busy(account: Account, subscriber: Subscriber, seed: int) -> bool:
    """Tell whether the number is a busy one (several hundred events a month)."""
    return _profile(account, subscriber, seed).busy


def kopecks_to_decimal(kopecks: int) -> Decimal:
    """Return an amount in kopecks as roubles with 2 decimals."""
    return Decimal(kopecks).scaleb(-2)


def format_duration(seconds: int) -> str:
    """Return a duration as ``m:ss`` (minutes are not padded and may exceed 59)."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def _zone(rng: random.Random) -> str:
    """The call zone: mostly home, sometimes travelling."""
    return HOME_ZONE if rng.random() < 0.93 else rng.choice(TRAVEL_ZONES)


def _outgoing_call(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw an outgoing call: other party, zone, direction, duration and cost."""
    other = rng.choice(profile.contacts) if rng.random() < 0.7 else _mobile_number(rng)
    direction, per_minute = rng.choice(CALL_DIRECTIONS)
    seconds = min(int(rng.expovariate(1 / 150)) + 3, 3 * 3600)
    minutes = -(-seconds // 60)
    return other, _zone(rng), direction, format_duration(seconds), per_minute * minutes


def _incoming_call(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw an incoming call (free): other party, zone, direction, duration and cost."""
    caller = rng.choice(profile.contacts) if rng.random() < 0.6 else _mobile_number(rng)
    seconds = min(int(rng.expovariate(1 / 180)) + 2, 3 * 3600)
    return f"{INCOMING}+{caller}", _zone(rng), "", format_duration(seconds), 0


def _sms_out(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw an outgoing SMS: free within the package, otherwise 1,50."""
    other = rng.choice(profile.contacts) if rng.random() < 0.8 else _mobile_number(rng)
    return other, _zone(rng), "", "1", 0 if rng.random() < 0.6 else 150


def _sms_in(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw an incoming SMS (free), from a person or a service."""
    sender = f"+{rng.choice(profile.contacts)}" if rng.random() < 0.5 else rng.choice(SMS_SENDERS)
    return f"{INCOMING}{sender}", _zone(rng), "", "1", 0


def _ussd(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw a USSD request (free)."""
    return rng.choice(USSD_CODES), _zone(rng), "", "1", 0


def _data_session(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw a mobile data session: mostly within the package, sometimes 1 kopeck a Kb."""
    kilobytes = min(int(rng.lognormvariate(6, 1.5)) + 1, 2_000_000)
    session = str(rng.randint(1_000_000, 9_999_999))
    cost = kilobytes if rng.random() < 0.1 else 0
    return DATA_APN, "" if rng.random() < 0.5 else HOME_ZONE, session, f"{kilobytes}Kb", cost


_Draw = Callable[[random.Random, _Profile], tuple[str, str, str, str, int]]
"""Draws one event's details: other party, zone, direction, amount and cost in kopecks."""

_KINDS: tuple[tuple[str, int, _Draw], ...] = (
    (CALL, 30, _outgoing_call),
    (CALL, 25, _incoming_call),
    (SMS_OUT, 8, _sms_out),
    (SMS_IN, 10, _sms_in),
    (USSD, 2, _ussd),
    (DATA_4G, 21, _data_session),
    (DATA_GPRS, 4, _data_session),
)
"""Event kinds: the service, how often it happens and how to draw its details."""


def _event_count(rng: random.Random, busy: bool, days: int) -> int:
    """How many events a number has in a period of ``days`` days."""
    if busy:
        return round(rng.uniform(*BUSY_EVENTS_PER_DAY) * days)
    return round(rng.randint(*QUIET_EVENTS_PER_MONTH) * days / DAYS_PER_MONTH)


def _moment(rng: random.Random, date_from: date, days: int) -> datetime:
    """A random moment within the period, mostly in working hours."""
    day = date_from + timedelta(days=rng.randrange(days))
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))


def _check_period(date_from: date, date_to: date) -> None:
    """Raise ValueError unless the period runs forward."""
    if date_from > date_to:
        raise ValueError(f"the period ends ({date_to}) before it starts ({date_from})")


def generate_events(
    account: Account, subscriber: Subscriber, date_from: date, date_to: date, seed: int
) -> list[Event]:
    """Return the number's events within ``[date_from, date_to]``, sorted by time.

    The same account, number, period and seed always give the same events.
    Incoming calls and SMS, USSD requests and most data sessions are free.
    """
    _check_period(date_from, date_to)
    profile = _profile(account, subscriber, seed)
    rng = _rng(seed, account, subscriber, date_from.isoformat(), date_to.isoformat())
    days = (date_to - date_from).days + 1
    weights = [weight for _, weight, _ in _KINDS]
    events = []
    for _ in range(_event_count(rng, profile.busy, days)):
        at = _moment(rng, date_from, days)
        service, _, draw = rng.choices(_KINDS, weights=weights)[0]
        other, zone, direction, amount, kopecks = draw(rng, profile)
        events.append(Event(
            at=at,
            number=subscriber.number,
            other=other,
            service=service,
            zone=zone,
            direction=direction,
            amount=amount,
            cost=kopecks_to_decimal(kopecks),
            cost_vat=kopecks_to_decimal(kopecks + vat(kopecks)),
        ))
    events.sort(key=lambda event: event.at)
    return events


def _kopecks(amount: Decimal) -> int:
    """Return roubles as whole kopecks."""
    return int(amount.scaleb(2))


def _money(amount: Decimal) -> str:
    """Return roubles as the PDF and HTML print them: ``1 234,56``."""
    return format_money(_kopecks(amount))


def _total(events: Sequence[Event]) -> tuple[Decimal, Decimal]:
    """Return the total cost of the events without and with VAT."""
    return sum((e.cost for e in events), Decimal("0.00")), sum((e.cost_vat for e in events), Decimal("0.00"))


def _row(event: Event) -> tuple[str, ...]:
    """Return an event as the cells of the PDF and HTML tables, in the order of COLUMNS."""
    return (
        format_date(event.at.date()),
        event.at.strftime("%H:%M:%S"),
        event.other,
        event.zone,
        event.direction,
        event.service,
        event.amount,
        _money(event.cost),
        _money(event.cost_vat),
    )


def created_at(date_to: date) -> datetime:
    """Return when the document was made: 6:00 on the day after the period."""
    return datetime.combine(date_to + timedelta(days=1), time(6, 0, 0))


def format_datetime(moment: datetime) -> str:
    """Return a moment as the XML writes it: ``06.09.2015 8:28:49`` (hour not padded)."""
    return f"{format_date(moment.date())} {moment.hour}:{moment.minute:02d}:{moment.second:02d}"


def header(date_from: date, date_to: date) -> str:
    """Return the document's heading: «Оказанные услуги связи за период с … по …»."""
    return HEADER.format(start=format_date(date_from), end=format_date(date_to))


@dataclass(frozen=True)
class _Details:
    """Everything a rendering needs: who, which period, and each number's events."""

    login: Login
    account: Account
    date_from: date
    date_to: date
    numbers: tuple[tuple[Subscriber, list[Event]], ...]

    @property
    def preamble(self) -> tuple[str, ...]:
        """The lines under the heading: client, account, contract and creation time."""
        return (
            f"Клиент: {self.login.company}",
            f"Лицевой счёт: {self.account.number}",
            f"Договор: {self.account.contract}",
            f"Дата формирования: {format_datetime(created_at(self.date_to))}",
        )


def _subscriber_line(subscriber: Subscriber) -> str:
    """The line under a number's heading: its SIM card and its user."""
    return f"SIM (ICCID): {subscriber.sim}; абонент: {subscriber.full_name}"


def _totals_label(number: str) -> str:
    """The label of a number's totals row."""
    return f"Итого по номеру {number}"


# --- PDF ----------------------------------------------------------------------


class _CallDetailsPDF(RussianPDF):
    """A landscape A4 page set with the DejaVu font, the event table and a page footer."""

    WIDTHS = (20, 17, 36, 30, 48, 16, 40, 30, 30)
    """Column widths in mm, in the order of COLUMNS (277 mm in all)."""
    ROW = 4.6
    HEAD_LINE = 3.4
    HEAD_LINES = 3

    def __init__(self) -> None:
        """Set up a landscape A4 page with margins and the DejaVu fonts; page breaks are laid out by hand."""
        super().__init__(orientation="L", margin=10, bottom=14, footer_offset=11, auto_break=False)

    def line_text(self, text: str, size: float = 9, bold: bool = False, height: float = 5) -> None:
        """Print one line of text across the page."""
        self.set_font(FONT_FAMILY, "B" if bold else "", size)
        self.cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table_head(self) -> None:
        """Print the column titles, wrapped to the same height, framed."""
        self.set_font(FONT_FAMILY, "B", 7)
        top, height = self.get_y(), self.HEAD_LINE * self.HEAD_LINES
        for title, width in zip(COLUMNS, self.WIDTHS, strict=True):
            x = self.get_x()
            self.rect(x, top, width, height)
            self.multi_cell(width, self.HEAD_LINE, title, align="C", new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.set_xy(x + width, top)
        self.set_xy(self.l_margin, top + height)

    def table_row(self, cells: Sequence[str]) -> None:
        """Print one framed row of the event table; amounts are right-aligned."""
        self.set_font(FONT_FAMILY, "", 7)
        last = len(cells) - 1
        for index, (text, width) in enumerate(zip(cells, self.WIDTHS, strict=True)):
            align = "R" if index >= last - 1 else "L"
            self.cell(width, self.ROW, text, border=1, align=align,
                      new_x=XPos.LMARGIN if index == last else XPos.RIGHT,
                      new_y=YPos.NEXT if index == last else YPos.TOP)

    def totals_row(self, label: str, cost: Decimal, cost_vat: Decimal) -> None:
        """Print a number's totals: the label across the text columns, then both sums."""
        self.set_font(FONT_FAMILY, "B", 7)
        self.cell(sum(self.WIDTHS[:-2]), self.ROW, label, border=1)
        self.cell(self.WIDTHS[-2], self.ROW, _money(cost), border=1, align="R")
        self.cell(self.WIDTHS[-1], self.ROW, _money(cost_vat), border=1, align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def ensure_room(self, height: float, number: str) -> None:
        """Start a new page with the number's heading and column titles if ``height`` does not fit."""
        if self.no_room_for(height):
            self.add_page()
            self.line_text(NUMBER_HEADING.format(number=number) + " (продолжение)", bold=True)
            self.table_head()

    def no_room_for(self, height: float) -> bool:
        """Tell whether ``height`` mm no longer fit above the bottom margin."""
        return self.get_y() + height > self.page_break_trigger


def _render_pdf(details: _Details) -> bytes:
    """Return the call details as PDF bytes."""
    pdf = _CallDetailsPDF()
    pdf.set_title(f"{TITLE} {details.account.number} {format_date(details.date_from)}–{format_date(details.date_to)}")
    pdf.set_author(OPERATOR)
    pdf.set_creation_date(created_at(details.date_to).replace(tzinfo=UTC))
    pdf.add_page()
    pdf.line_text(OPERATOR, size=8)
    pdf.line_text(header(details.date_from, details.date_to), size=13, bold=True, height=7)
    for text in details.preamble:
        pdf.line_text(text)
    pdf.line_text(TIME_NOTE, size=7)
    head_height = 2 * 5 + _CallDetailsPDF.HEAD_LINE * _CallDetailsPDF.HEAD_LINES + _CallDetailsPDF.ROW
    for subscriber, events in details.numbers:
        pdf.ln(3)
        if pdf.no_room_for(head_height):
            pdf.add_page()
        pdf.line_text(NUMBER_HEADING.format(number=subscriber.number), size=10, bold=True)
        pdf.line_text(_subscriber_line(subscriber), size=8)
        pdf.table_head()
        for event in events:
            pdf.ensure_room(pdf.ROW, subscriber.number)
            pdf.table_row(_row(event))
        pdf.ensure_room(pdf.ROW, subscriber.number)
        pdf.totals_row(_totals_label(subscriber.number), *_total(events))
    return bytes(pdf.output())


# --- XML ----------------------------------------------------------------------


def _xml_amount(amount: Decimal) -> str:
    """Return an event's amount as the XML writes it: ``0`` or ``1,50``."""
    return "0" if not amount else f"{amount:.2f}".replace(".", ",")


def _xml_total(amount: Decimal) -> str:
    """Return a number's total as the XML writes it, with 4 decimals: ``37,8815``."""
    return f"{amount:.4f}".replace(".", ",")


def _xml_event(parent: ET.Element, event: Event) -> None:
    """Append one ``<i>`` element for ``event``."""
    attributes = {
        "d": format_datetime(event.at),
        "n": event.other,
        "zp": event.zone,
        "zv": event.direction,
        "s": event.service,
        "du": event.amount,
        "c": _xml_amount(event.cost),
        "f": _xml_amount(event.cost_vat),
    }
    if event.service == CALL and not event.other.startswith(INCOMING):
        minutes, seconds = map(int, event.amount.split(":"))
        billed_minutes = minutes + 1 if seconds else minutes
        attributes["dup"] = format_duration(60 * billed_minutes)
    ET.SubElement(parent, "i", attributes)


def _render_xml(details: _Details) -> bytes:
    """Return the call details in the real ``Report`` XML schema, UTF-8."""
    report = ET.Element("Report", {"layerType": "OldCompatible", "version": "2"})
    ET.SubElement(report, "cp", {"dn": "2", "dt": "4", "dcd": format_datetime(created_at(details.date_to)), "l": "1"})
    ET.SubElement(report, "b", {"sd": format_date(details.date_from), "ed": format_date(details.date_to)})
    for subscriber, events in details.numbers:
        cost, cost_vat = _total(events)
        number = ET.SubElement(report, "ds", {
            "n": subscriber.number,
            "sim": subscriber.sim,
            "pt": RESOURCE_TYPE,
            "t": _xml_total(cost),
            "f": _xml_total(cost_vat),
            "cn": "руб.",
        })
        for event in events:
            _xml_event(number, event)
    ET.indent(report, space=" ")
    body = ET.tostring(report, encoding="unicode").replace(" />", "/>")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'.encode()


# --- HTML ---------------------------------------------------------------------


HTML_STYLE = (
    "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:12px}"
    "table{border-collapse:collapse;margin-bottom:16px}"
    "th,td{border:1px solid #999;padding:2px 4px}"
    "td.money{text-align:right}"
)


def _cells(tag: str, texts: Sequence[str], money_from: int | None = None) -> str:
    """Return the escaped cells of one table row; cells from ``money_from`` on are right-aligned."""
    return "".join(
        f'<{tag} class="money">{html.escape(text)}</{tag}>'
        if money_from is not None and index >= money_from
        else f"<{tag}>{html.escape(text)}</{tag}>"
        for index, text in enumerate(texts)
    )


def _html_number(subscriber: Subscriber, events: Sequence[Event]) -> list[str]:
    """Return the HTML lines of one number's section: heading and table."""
    money_from = len(COLUMNS) - 2
    cost, cost_vat = _total(events)
    lines = [
        "<section>",
        f"<h2>{html.escape(NUMBER_HEADING.format(number=subscriber.number))}</h2>",
        f"<p>{html.escape(_subscriber_line(subscriber))}</p>",
        "<table>",
        f"<thead><tr>{_cells('th', COLUMNS)}</tr></thead>",
        "<tbody>",
    ]
    lines += [f"<tr>{_cells('td', _row(event), money_from)}</tr>" for event in events]
    lines += [
        "</tbody>",
        f'<tfoot><tr><th colspan="{money_from}">{html.escape(_totals_label(subscriber.number))}</th>'
        f"{_cells('td', (_money(cost), _money(cost_vat)), 0)}</tr></tfoot>",
        "</table>",
        "</section>",
    ]
    return lines


def _render_html(details: _Details) -> bytes:
    """Return the call details as a complete UTF-8 HTML page."""
    title = f"{TITLE} {details.account.number}"
    lines = [
        "<!DOCTYPE html>",
        '<html lang="ru">',
        '<head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{HTML_STYLE}</style>",
        "</head>",
        "<body>",
        f"<p>{html.escape(OPERATOR)}</p>",
        f"<h1>{html.escape(header(details.date_from, details.date_to))}</h1>",
    ]
    lines += [f"<p>{html.escape(text)}</p>" for text in details.preamble]
    lines.append(f"<p>{html.escape(TIME_NOTE)}</p>")
    for subscriber, events in details.numbers:
        lines += _html_number(subscriber, events)
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines).encode("utf-8")


_RENDERERS: dict[str, Callable[[_Details], bytes]] = {"PDF": _render_pdf, "XML": _render_xml, "HTML": _render_html}


def _format(fmt: str) -> str:
    """Return ``fmt`` upper-cased, or raise ValueError unless it is PDF, XML or HTML."""
    normalized = str(fmt).strip().upper()
    if normalized not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return normalized


def render_call_details(
    login: Login,
    account: Account,
    subscribers: Sequence[Subscriber],
    date_from: date,
    date_to: date,
    fmt: str,
    seed: int,
) -> bytes:
    """Return the call details of ``subscribers`` for the period, as ``fmt`` (PDF, XML or HTML).

    Every subscriber has its own section, even without events in the period.
    The same inputs always give the same bytes.
    """
    renderer = _RENDERERS[_format(fmt)]
    _check_period(date_from, date_to)
    details = _Details(
        login=login,
        account=account,
        date_from=date_from,
        date_to=date_to,
        numbers=tuple((s, generate_events(account, s, date_from, date_to, seed)) for s in subscribers),
    )
    return renderer(details)


def call_details_filename(account: Account, date_from: date, date_to: date, fmt: str) -> str:
    """Return the attachment's file name, e.g. ``Детализация_277300018417_2026-10-01_2026-10-31.pdf``."""
    return f"Детализация_{account.number}_{date_from.isoformat()}_{date_to.isoformat()}.{_format(fmt).lower()}"
