"""Call details (детализация разговоров) of subscriber numbers, as PDF, XML or HTML.

Every event (a call, an SMS, a USSD request, a mobile data session) is drawn
from ``random.Random`` seeded with the data set's seed, the account, the number
and the period, so the same inputs always give the same events and the
documents are byte-identical (their creation date derives from the period).

The documents take the shapes of the real MTS ones
(``shared/domain/real-documents.md``):

- the PDF prints «Оказанные услуги связи за период с … по …» and a table per
  «Номер SIM карты /Виртуальный Номер: …»;
- the HTML is built as the real XSLT output: UTF-8 with a byte-order mark,
  CRLF, no DOCTYPE, nested tables, the heading split over two rows, a row
  «Сетевой ресурс 79…» | «Номер SIM карты /Виртуальный Номер: <ICCID>» per
  number, ten header cells, a GMT column, four-decimal money and «Итого:»
  that includes the subscription fee (a charge without an event);
- the XML uses the ``<Report layerType="OldCompatible">`` schema in one of
  ``XML_VARIANTS``, chosen per order by ``xml_variant``.

``document_size`` (``python -m sandbox --document-size N``) replaces each
number's drawn event count with N, so that large documents can be made.
"""

from __future__ import annotations

import hashlib
import html
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate

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
"""The columns of the PDF's event table."""

TIME_NOTE = "* Время указано местное (GMT+03:00)."
RESOURCE_TYPE = "Сетевой ресурс"
"""The ``pt`` (or ``type``) of every number in the XML, as in the real files."""

CALL, SMS_OUT, SMS_IN, USSD = "Телеф.", "sms o", "sms i", "ussd"
DATA_4G, DATA_GPRS, DATA_HSDPA = "4G", "gprs", "hsdpa"
SERVICES = (CALL, SMS_OUT, SMS_IN, USSD, DATA_4G, DATA_GPRS, DATA_HSDPA)
"""Every service code the generated events use, as the real files write them."""
DATA_SERVICES = (DATA_4G, DATA_GPRS, DATA_HSDPA)
INCOMING = "<--"
DATA_APN = "internet.mts.ru"
HOME_ZONE = "Москва"
HOME_GMT = "+03:00"
VOLTE = "VoLTE"
"""What the real XML's ``zp`` sometimes holds for a call instead of a zone."""
TRAVEL_ZONES = (("Московская обл.", "+03:00"), ("Санкт-Петербург", "+03:00"), ("Свердловская обл.", "+05:00"))
"""Zones a number travels to, with their time zones."""
USSD_CODES = ("100", "111", "115", "0887")
SHORT_CALL_NUMBERS = ("0890", "900", "0611")
"""Short numbers called: the operator's help desk and services."""
SHORT_SMS_NUMBERS = ("3339", "900", "5051")
"""Short numbers texted."""
SMS_SENDERS = ("sms:SMS.RU", "sms:3339", "sms:GOSUSLUGI", "sms:MTSBank", "sms:Ozon", "MTC", "900")
"""Senders of incoming service SMS, as the real files write them after ``<--``."""

MONTHLY_FEES = (250, 350, 450, 590, 790, 1150)
"""Subscription fees a month, roubles: charged without an event, so in the HTML's «Итого:» only."""
FEE_SERVICE = "Абонентская плата"

CALL_DIRECTIONS = (
    ("Моб. МТС", 0),
    ("Моб. др. операторов", 150),
    ("Фикс. местная", 150),
    ("Межгород", 300),
)
"""Destination zones of outgoing calls and their price per started minute, kopecks."""

HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 12, 12, 11, 12, 12, 11, 10, 9, 8, 7, 6, 4, 3, 2)
"""How likely an event falls in each hour of the day: mostly working hours."""
_HOURS = tuple(range(24))
_HOUR_CUMULATIVE = tuple(accumulate(HOUR_WEIGHTS))

BUSY_SHARE = 0.25
"""The share of numbers that are busy: several hundred events a month."""

BUSY_EVENTS_PER_DAY = (10.0, 20.0)
QUIET_EVENTS_PER_MONTH = (10, 60)
DAYS_PER_MONTH = 30


@dataclass(frozen=True, slots=True)
class Event:
    """One billed event of a subscriber number, as the call details list it."""

    at: datetime
    """Local time of the event (in the time zone ``gmt``)."""
    number: str
    """The subscriber's number, ``79XXXXXXXXX``."""
    other: str
    """The other party: ``79613456895``, ``<--+79525269871`` or ``<--79…`` (incoming), ``<--sms:SMS.RU``,
    ``0890``, ``100`` (USSD), ``internet.mts.ru``."""
    service: str
    """One of ``SERVICES``: ``Телеф.``, ``sms o``, ``sms i``, ``ussd``, ``4G``, ``gprs`` or ``hsdpa``."""
    zone: str
    """The call zone (``Москва``), ``VoLTE`` for some calls, often empty."""
    direction: str
    """The destination zone of a call or the session number of a data session, often empty."""
    amount: str
    """Duration ``m:ss`` of a call, volume ``250Kb`` of a data session, ``1`` for an SMS or USSD."""
    cost: Decimal
    """Cost without VAT, roubles with 2 decimals."""
    cost_vat: Decimal
    """Cost with VAT, roubles with 2 decimals."""
    gmt: str = HOME_GMT
    """The time zone of the place the service was given, ``+03:00``."""


@dataclass(frozen=True)
class _Profile:
    """What stays the same for one number across periods: its habits and its fee."""

    busy: bool
    contacts: tuple[str, ...]
    monthly_fee: int
    """Subscription fee a month, roubles."""


def _rng(seed: int, account: Account, subscriber: Subscriber, *extra: object) -> random.Random:
    """A generator seeded with the data set's seed, the account, the number and ``extra``."""
    return random.Random(":".join(str(part) for part in (seed, account.number, subscriber.number, *extra)))


def _mobile_number(rng: random.Random) -> str:
    """A random Russian mobile number, ``79XXXXXXXXX``."""
    return "79" + "".join(rng.choice("0123456789") for _ in range(9))


def _profile(account: Account, subscriber: Subscriber, seed: int) -> _Profile:
    """The number's habits: whether it is busy and whom it talks to; and its fee."""
    rng = _rng(seed, account, subscriber, "profile")
    busy = rng.random() < BUSY_SHARE
    contacts = tuple(_mobile_number(rng) for _ in range(rng.randint(5, 12)))
    return _Profile(busy=busy, contacts=contacts, monthly_fee=rng.choice(MONTHLY_FEES))


def is_busy(account: Account, subscriber: Subscriber, seed: int) -> bool:
    """Tell whether the number is a busy one (several hundred events a month)."""
    return _profile(account, subscriber, seed).busy


def subscription_fee(account: Account, subscriber: Subscriber, date_from: date, date_to: date, seed: int) -> Decimal:
    """The number's subscription fee for the period (its monthly fee by the day), roubles with 4 decimals.

    It has no event: the HTML's «Итого:» includes it, so that total is more
    than the sum of the event rows, as in the real files.
    """
    days = (date_to - date_from).days + 1
    fee = Decimal(_profile(account, subscriber, seed).monthly_fee) * days / DAYS_PER_MONTH
    return fee.quantize(Decimal("0.0001"))


def kopecks_to_decimal(kopecks: int) -> Decimal:
    """Return an amount in kopecks as roubles with 2 decimals."""
    return Decimal(kopecks).scaleb(-2)


def format_duration(seconds: int) -> str:
    """Return a duration as ``m:ss`` (minutes are not padded and may exceed 59)."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def _zone(rng: random.Random, voice: bool = False) -> str:
    """The call zone: often empty, mostly home, ``VoLTE`` for some calls, sometimes travelling."""
    draw = rng.random()
    if draw < 0.4:
        return ""
    if voice and draw < 0.5:
        return VOLTE
    if draw < 0.94:
        return HOME_ZONE
    return rng.choice(TRAVEL_ZONES)[0]


_ZONE_GMT = dict(TRAVEL_ZONES)


def _incoming_party(rng: random.Random, number: str) -> str:
    """An incoming mobile number as the real files write it: ``<--+79…`` or ``<--79…``."""
    return f"{INCOMING}+{number}" if rng.random() < 0.5 else f"{INCOMING}{number}"


def _outgoing_call(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw an outgoing call: other party, zone, direction, duration and cost."""
    draw = rng.random()
    seconds = min(int(rng.expovariate(1 / 150)) + 3, 3 * 3600)
    if draw < 0.06:
        return rng.choice(SHORT_CALL_NUMBERS), _zone(rng, voice=True), "", format_duration(seconds), 0
    other = rng.choice(profile.contacts) if draw < 0.7 else _mobile_number(rng)
    direction, per_minute = rng.choice(CALL_DIRECTIONS)
    if rng.random() < 0.35:
        direction = ""
    minutes = -(-seconds // 60)
    return other, _zone(rng, voice=True), direction, format_duration(seconds), per_minute * minutes


def _incoming_call(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw an incoming call (free): other party, zone, direction, duration and cost."""
    caller = rng.choice(profile.contacts) if rng.random() < 0.6 else _mobile_number(rng)
    seconds = min(int(rng.expovariate(1 / 180)) + 2, 3 * 3600)
    return _incoming_party(rng, caller), _zone(rng, voice=True), "", format_duration(seconds), 0


def _sms_out(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw an outgoing SMS, to a person or a short number: free within the package, otherwise 1,50."""
    draw = rng.random()
    if draw < 0.1:
        other = rng.choice(SHORT_SMS_NUMBERS)
    else:
        other = rng.choice(profile.contacts) if draw < 0.8 else _mobile_number(rng)
    return other, _zone(rng), "", "1", 0 if rng.random() < 0.6 else 150


def _sms_in(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw an incoming SMS (free), from a person or a service: ``<--+79…``, ``<--79…``, ``<--sms:SMS.RU``."""
    if rng.random() < 0.5:
        other = _incoming_party(rng, rng.choice(profile.contacts))
    else:
        other = INCOMING + rng.choice(SMS_SENDERS)
    return other, _zone(rng), "", "1", 0


def _ussd(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw a USSD request (free)."""
    return rng.choice(USSD_CODES), _zone(rng), "", "1", 0


def _data_session(rng: random.Random, profile: _Profile) -> tuple[str, str, str, str, int]:
    """Draw a mobile data session: mostly within the package, sometimes 1 kopeck a Kb."""
    kilobytes = min(int(rng.lognormvariate(6, 1.5)) + 1, 2_000_000)
    session = str(rng.randint(1_000_000, 9_999_999))
    cost = kilobytes if rng.random() < 0.1 else 0
    return DATA_APN, _zone(rng), session, f"{kilobytes}Kb", cost


_Draw = Callable[[random.Random, _Profile], tuple[str, str, str, str, int]]
"""Draws one event's details: other party, zone, direction, amount and cost in kopecks."""

_KINDS: tuple[tuple[str, int, _Draw], ...] = (
    (CALL, 30, _outgoing_call),
    (CALL, 25, _incoming_call),
    (SMS_OUT, 8, _sms_out),
    (SMS_IN, 10, _sms_in),
    (USSD, 2, _ussd),
    (DATA_4G, 17, _data_session),
    (DATA_GPRS, 4, _data_session),
    (DATA_HSDPA, 4, _data_session),
)
"""Event kinds: the service, how often it happens and how to draw its details."""
_KIND_CUMULATIVE = tuple(accumulate(weight for _, weight, _ in _KINDS))


def _event_count(rng: random.Random, busy: bool, days: int) -> int:
    """How many events a number has in a period of ``days`` days."""
    if busy:
        return round(rng.uniform(*BUSY_EVENTS_PER_DAY) * days)
    return round(rng.randint(*QUIET_EVENTS_PER_MONTH) * days / DAYS_PER_MONTH)


def _moment(rng: random.Random, date_from: date, days: int) -> datetime:
    """A random moment within the period, mostly in working hours."""
    day = date_from + timedelta(days=rng.randrange(days))
    hour = rng.choices(_HOURS, cum_weights=_HOUR_CUMULATIVE)[0]
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)))


def _check_period(date_from: date, date_to: date) -> None:
    """Raise ValueError unless the period runs forward."""
    if date_from > date_to:
        raise ValueError(f"the period ends ({date_to}) before it starts ({date_from})")


def _check_size(document_size: int | None) -> None:
    """Raise ValueError unless ``document_size`` is None or a whole number of at least 0."""
    if document_size is not None and (not isinstance(document_size, int) or document_size < 0):
        raise ValueError(f"document_size must be a whole number of at least 0, got {document_size!r}")


def generate_events(
    account: Account,
    subscriber: Subscriber,
    date_from: date,
    date_to: date,
    seed: int,
    document_size: int | None = None,
) -> list[Event]:
    """Return the number's events within ``[date_from, date_to]``, sorted by time.

    The same account, number, period, seed and ``document_size`` always give
    the same events. ``document_size`` N gives exactly N events instead of
    the drawn count (a busy number has several hundred a month, a quiet one a
    few dozen). Incoming calls and SMS, USSD requests, calls to short numbers
    and most data sessions are free.
    """
    _check_period(date_from, date_to)
    _check_size(document_size)
    profile = _profile(account, subscriber, seed)
    rng = _rng(seed, account, subscriber, date_from.isoformat(), date_to.isoformat())
    days = (date_to - date_from).days + 1
    count = _event_count(rng, profile.busy, days)
    if document_size is not None:
        count = document_size
    events = []
    for _ in range(count):
        at = _moment(rng, date_from, days)
        service, _, draw = rng.choices(_KINDS, cum_weights=_KIND_CUMULATIVE)[0]
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
            gmt=_ZONE_GMT.get(zone, HOME_GMT),
        ))
    events.sort(key=lambda event: event.at)
    return events


def _kopecks(amount: Decimal) -> int:
    """Return roubles as whole kopecks."""
    return int(amount.scaleb(2))


def _money(amount: Decimal) -> str:
    """Return roubles as the PDF prints them: ``1 234,56``."""
    return format_money(_kopecks(amount))


def money4(amount: Decimal) -> str:
    """Return roubles as the HTML and the XML's totals write them: ``1519,0785`` (no thousands separator)."""
    return f"{amount:.4f}".replace(".", ",")


def _total(events: Sequence[Event]) -> tuple[Decimal, Decimal]:
    """Return the total cost of the events without and with VAT."""
    return sum((e.cost for e in events), Decimal("0.00")), sum((e.cost_vat for e in events), Decimal("0.00"))


def _row(event: Event) -> tuple[str, ...]:
    """Return an event as the cells of the PDF's table, in the order of COLUMNS."""
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


def format_time(moment: datetime) -> str:
    """Return a time of day with an unpadded hour: ``7:53:01``."""
    return f"{moment.hour}:{moment.minute:02d}:{moment.second:02d}"


def format_datetime(moment: datetime) -> str:
    """Return a moment as the XML writes it: ``06.09.2015 8:28:49`` (hour not padded)."""
    return f"{format_date(moment.date())} {format_time(moment)}"


def header(date_from: date, date_to: date) -> str:
    """Return the document's heading: «Оказанные услуги связи за период с … по …»."""
    return HEADER.format(start=format_date(date_from), end=format_date(date_to))


# --- which XML --------------------------------------------------------------------


XML_SCHEMA = "schema"
"""``<b sd ed>``, ``<ds pt=…>``, every ``<i>`` with ``f``: the schema of portal-and-documents.md."""
XML_PERIOD_ON_DS = "period-on-ds"
"""No ``<b>``: the period is on each ``<ds sd ed>``; ``<i>`` with ``bd gmt a cur``, ``f`` only when charged."""
XML_TYPE = "type"
"""``<ds type=…>`` instead of ``pt``, in windows-1251."""
XML_PERSONAL_ACCOUNT = "personal-account"
"""``<b an=… sd ed>``: the period element carries the personal account."""
XML_ACCOUNT_WIDE = "account-wide"
"""``<b an sd ed>``, a ``<tp n u sim>`` per subscriber, ``<ss>`` service summaries in each number's ``<ds>``
and a last ``<ds n="Абонентская плата">`` that is not a number."""
XML_VARIANTS = (XML_SCHEMA, XML_PERIOD_ON_DS, XML_TYPE, XML_PERSONAL_ACCOUNT, XML_ACCOUNT_WIDE)
"""The XML layouts the real files come in; an order gets one of them (``xml_variant``)."""


def _month_index(day: date) -> int:
    """Months since year 0: consecutive months differ by one."""
    return day.year * 12 + day.month - 1


def xml_variant(
    seed: int,
    account: Account | str,
    numbers: Iterable[Subscriber | str],
    date_from: date,
    date_to: date,
) -> str:
    """Return which of ``XML_VARIANTS`` the XML call details of an order come in.

    Deterministic: a hash of the seed, the account, the set of numbers and
    the first day's day of the month picks a starting variant, and the
    months of the period's first and last day move it on. So the same order
    always gets the same layout, different orders get different ones, and
    the same order (the same numbers' whole month, say) gets every variant
    in turn over any five consecutive months.
    """
    account_number = account.number if isinstance(account, Account) else str(account)
    ordered = sorted(n.number if isinstance(n, Subscriber) else str(n) for n in numbers)
    key = f"{seed}:{account_number}:{','.join(ordered)}:{date_from.day}".encode()
    start = int.from_bytes(hashlib.sha256(key).digest()[:8], "big")
    return XML_VARIANTS[(start + _month_index(date_from) + _month_index(date_to)) % len(XML_VARIANTS)]


@dataclass(frozen=True)
class _Details:
    """Everything a rendering needs: who, which period, which numbers, the XML's layout.

    Each number's events are generated when its section is rendered
    (``sections``), so a large document holds one number's events at a time.
    """

    login: Login
    account: Account
    date_from: date
    date_to: date
    subscribers: tuple[Subscriber, ...]
    seed: int
    document_size: int | None
    xml_variant: str

    def fee(self, subscriber: Subscriber) -> Decimal:
        """The number's subscription fee for the period."""
        return subscription_fee(self.account, subscriber, self.date_from, self.date_to, self.seed)

    def sections(self) -> Iterator[tuple[Subscriber, list[Event], Decimal]]:
        """Each number in order, with its events and its subscription fee."""
        for subscriber in self.subscribers:
            events = generate_events(
                self.account, subscriber, self.date_from, self.date_to, self.seed, self.document_size
            )
            yield subscriber, events, self.fee(subscriber)

    @property
    def preamble(self) -> tuple[str, ...]:
        """The lines under the PDF's heading: client, account, contract and creation time."""
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
    for subscriber, events, _fee in details.sections():
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


def _attr(value: str) -> str:
    """Return text escaped for a double-quoted XML attribute."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _element(tag: str, attributes: Iterable[tuple[str, str]], close: bool = True) -> str:
    """Return ``<tag a="…" …/>`` (or the opening tag only)."""
    text = "".join(f' {name}="{_attr(value)}"' for name, value in attributes)
    return f"<{tag}{text}{'/' if close else ''}>"


def _xml_amount(amount: Decimal) -> str:
    """Return an event's amount as the XML writes it: ``0`` or ``1,50``."""
    return "0" if not amount else f"{amount:.2f}".replace(".", ",")


def _billed_at(event: Event) -> datetime:
    """When the event was billed (the real ``bd``): at a call's end, a few seconds after anything else."""
    if event.service == CALL:
        minutes, seconds = map(int, event.amount.split(":"))
        return event.at + timedelta(seconds=60 * minutes + seconds)
    return event.at + timedelta(seconds=1 + event.at.second % 3)


def _xml_event(event: Event, variant: str) -> str:
    """Return one ``<i>`` element for ``event`` in the layout of ``variant``."""
    attributes = [
        ("d", format_datetime(event.at)),
        ("n", event.other),
        ("zp", event.zone),
        ("zv", event.direction),
        ("s", event.service),
        ("du", event.amount),
        ("c", _xml_amount(event.cost)),
    ]
    if event.service == CALL and not event.other.startswith(INCOMING):
        minutes, seconds = map(int, event.amount.split(":"))
        attributes.append(("dup", format_duration(60 * (minutes + 1 if seconds else minutes))))
    if variant == XML_SCHEMA:
        attributes.append(("f", _xml_amount(event.cost_vat)))
        return _element("i", attributes)
    if event.cost_vat:
        attributes.append(("f", _xml_amount(event.cost_vat)))
    attributes += [
        ("bd", format_datetime(_billed_at(event))),
        ("gmt", event.gmt),
        ("a", _xml_amount(event.cost_vat)),
        ("cur", "руб."),
    ]
    return _element("i", attributes)


def _service_summaries(events: Sequence[Event]) -> list[str]:
    """The ``<ss>`` lines of an account-wide file: per service, how many events and what they cost."""
    lines = []
    for service in SERVICES:
        chosen = [event for event in events if event.service == service]
        if chosen:
            cost, cost_vat = _total(chosen)
            lines.append("  " + _element("ss", [
                ("s", service), ("k", str(len(chosen))), ("t", money4(cost)), ("f", money4(cost_vat)),
            ]))
    return lines


def _xml_number(details: _Details, subscriber: Subscriber, events: Sequence[Event]) -> list[str]:
    """Return the lines of one number's ``<ds>``: its attributes, its events and (account-wide) summaries."""
    variant = details.xml_variant
    cost, cost_vat = _total(events)
    attributes = [("n", subscriber.number), ("sim", subscriber.sim)]
    attributes.append(("type" if variant == XML_TYPE else "pt", RESOURCE_TYPE))
    if variant == XML_PERIOD_ON_DS:
        attributes += [("sd", format_date(details.date_from)), ("ed", format_date(details.date_to))]
    attributes += [("t", money4(cost)), ("f", money4(cost_vat)), ("cn", "руб.")]
    children = [f"  {_xml_event(event, variant)}" for event in events]
    if variant == XML_ACCOUNT_WIDE:
        children += _service_summaries(events)
    if not children:
        return [" " + _element("ds", attributes)]
    return [" " + _element("ds", attributes, close=False), *children, " </ds>"]


def _xml_fees(details: _Details) -> list[str]:
    """The account-wide file's last ``<ds n="Абонентская плата">``: one ``<i>`` per number's fee."""
    fees = [(subscriber, details.fee(subscriber)) for subscriber in details.subscribers]
    total = sum((fee for _, fee in fees), Decimal("0"))
    total_vat = sum((fee * Decimal("1.2") for _, fee in fees), Decimal("0"))
    moment = format_datetime(datetime.combine(details.date_from, time(0, 0, 0)))
    lines = [" " + _element("ds", [("n", FEE_SERVICE), ("t", money4(total)), ("f", money4(total_vat)),
                                   ("cn", "руб.")], close=False)]
    lines += [
        "  " + _element("i", [("d", moment), ("n", subscriber.number), ("s", FEE_SERVICE), ("du", "1"),
                              ("c", money4(fee)), ("f", money4(fee * Decimal("1.2")))])
        for subscriber, fee in fees
    ]
    lines.append(" </ds>")
    return lines


def _render_xml(details: _Details) -> bytes:
    """Return the call details in the real ``Report`` XML schema, in the order's variant (``xml_variant``).

    The text is encoded a number at a time, so that a large document is held
    once as bytes and never whole as text.
    """
    variant = details.xml_variant
    encoding = "windows-1251" if variant == XML_TYPE else "utf-8"
    period = [("sd", format_date(details.date_from)), ("ed", format_date(details.date_to))]
    lines = [
        f'<?xml version="1.0" encoding="{encoding}"?>',
        '<Report layerType="OldCompatible" version="2">',
        " " + _element("cp", [("dn", "2"), ("dt", "4"), ("dcd", format_datetime(created_at(details.date_to))),
                              ("l", "1")]),
    ]
    if variant in (XML_PERSONAL_ACCOUNT, XML_ACCOUNT_WIDE):
        lines.append(" " + _element("b", [("an", details.account.number), *period]))
    elif variant != XML_PERIOD_ON_DS:
        lines.append(" " + _element("b", period))
    if variant == XML_ACCOUNT_WIDE:
        lines += [
            " " + _element("tp", [("n", subscriber.number), ("u", subscriber.full_name), ("sim", subscriber.sim),
                                  ("pt", RESOURCE_TYPE)])
            for subscriber in details.subscribers
        ]
    chunks = [_encode(lines, encoding)]
    for subscriber, events, _ in details.sections():
        chunks.append(_encode(_xml_number(details, subscriber, events), encoding))
    lines = _xml_fees(details) if variant == XML_ACCOUNT_WIDE else []
    chunks.append(_encode([*lines, "</Report>", ""], encoding, last=True))
    return b"".join(chunks)


def _encode(lines: Sequence[str], encoding: str, newline: str = "\n", last: bool = False) -> bytes:
    """Return lines joined and encoded; each ends with ``newline`` unless ``last`` (whose final line is empty)."""
    text = newline.join(lines) if last else newline.join(lines) + newline
    return text.encode(encoding, errors="xmlcharrefreplace")


# --- HTML ---------------------------------------------------------------------


HTML_TITLE = "Детализация за период с {start} по {end}"
HTML_HEADING = ("Оказанные услуги связи", "за период с {start} по {end}")
"""The heading, split over two table rows as in the real file."""
RESOURCE_HEADING = "Сетевой ресурс {number}"
HTML_COLUMNS = (
    "Дата",
    "Время",
    "GMT*",
    "Номер",
    "Зона вызова",
    "Зона направления вызова/номер сессии",
    "Услуга",
    "",
    "Длительность/Объем (мин.:сек.)/(Kb)",
    "Стоимость руб. без НДС",
)
"""The ten cells of the HTML's column header row, one of them empty."""
TOTAL_LABEL = "Итого:"
TIME_ZONE_NOTE = "* - Часовой пояс места оказания услуги"
FOOTER = "FORIS OSS"
HTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
HTML_STYLE = (
    "body{font-family:Arial,sans-serif;font-size:8pt}"
    "td.h{font-size:11pt;font-weight:bold}"
    "td.n{font-weight:bold}"
    "td.c{text-align:right}"
)
CRLF = "\r\n"
BOM = "\ufeff"


def _td(text: str, css: str = "", colspan: int = 0) -> str:
    """Return one escaped table cell."""
    attributes = (f' class="{css}"' if css else "") + (f' colspan="{colspan}"' if colspan else "")
    return f"<td{attributes}>{html.escape(text, quote=False)}</td>"


def _html_event(event: Event) -> str:
    """Return one event row: the ten cells of HTML_COLUMNS and an empty cell after them, as real rows have."""
    cells = (
        _td(format_date(event.at.date())),
        _td(format_time(event.at)),
        _td(event.gmt),
        _td(event.other),
        _td(event.zone),
        _td(event.direction),
        _td(event.service),
        "<td></td>",
        _td(event.amount),
        _td(money4(event.cost), "c"),
        "<td></td>",
    )
    return f"<tr>{''.join(cells)}</tr>"


def _html_number(subscriber: Subscriber, events: Sequence[Event], fee: Decimal) -> list[str]:
    """Return the lines of one number's table: its heading row, the column header, its events, «Итого:»."""
    total = sum((event.cost for event in events), fee)
    return [
        "<tr>",
        "<td>",
        '<table width="100%" border="1" cellspacing="0" cellpadding="2">',
        "<tr>" + _td(RESOURCE_HEADING.format(number=subscriber.number), "n", 4)
        + _td(NUMBER_HEADING.format(number=subscriber.sim), "n", 6) + "</tr>",
        "<tr>" + "".join(_td(column, "n") for column in HTML_COLUMNS) + "</tr>",
        *(_html_event(event) for event in events),
        "<tr>" + _td(TOTAL_LABEL, "n", 9) + _td(money4(total), "c") + "</tr>",
        "</table>",
        "</td>",
        "</tr>",
    ]


def _render_html(details: _Details) -> bytes:
    """Return the call details as the real XSLT-made page: UTF-8 with a BOM, CRLF, nested tables."""
    start, end = format_date(details.date_from), format_date(details.date_to)
    lines = [
        f'{BOM}<html xmlns="{HTML_NAMESPACE}">',
        "<head>",
        '<META http-equiv="Content-Type" content="text/html; charset=utf-8">',
        f"<title>{HTML_TITLE.format(start=start, end=end)}</title>",
        f'<style type="text/css">{HTML_STYLE}</style>',
        "</head>",
        "<body>",
        '<table width="100%" border="0" cellspacing="0" cellpadding="0">',
        "<tr>",
        "<td>",
        '<table width="100%" border="0">',
        *(f"<tr>{_td(text.format(start=start, end=end), 'h')}</tr>" for text in HTML_HEADING),
        "</table>",
        "</td>",
        "</tr>",
    ]
    chunks = [_encode(lines, "utf-8", CRLF)]
    for subscriber, events, fee in details.sections():
        chunks.append(_encode(_html_number(subscriber, events, fee), "utf-8", CRLF))
    lines = [f"<tr>{_td(TIME_ZONE_NOTE)}</tr>", f"<tr>{_td(FOOTER)}</tr>", "</table>", "</body>", "</html>", ""]
    chunks.append(_encode(lines, "utf-8", CRLF, last=True))
    return b"".join(chunks)


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
    *,
    document_size: int | None = None,
    variant: str | None = None,
) -> bytes:
    """Return the call details of ``subscribers`` for the period, as ``fmt`` (PDF, XML or HTML).

    Every subscriber has its own section, in the given order, even without
    events in the period. The XML comes in ``xml_variant(...)`` of these
    inputs unless ``variant`` names one of ``XML_VARIANTS``. ``document_size``
    N gives each number N events (``generate_events``). The same inputs
    always give the same bytes.
    """
    renderer = _RENDERERS[_format(fmt)]
    _check_period(date_from, date_to)
    _check_size(document_size)
    if variant is None:
        variant = xml_variant(seed, account, subscribers, date_from, date_to)
    elif variant not in XML_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(XML_VARIANTS)}, got {variant!r}")
    details = _Details(
        login=login,
        account=account,
        date_from=date_from,
        date_to=date_to,
        subscribers=tuple(subscribers),
        seed=seed,
        document_size=document_size,
        xml_variant=variant,
    )
    return renderer(details)


def call_details_filename(account: Account, date_from: date, date_to: date, fmt: str) -> str:
    """Return the attachment's file name, e.g. ``Детализация_277300018417_2026-10-01_2026-10-31.pdf``."""
    return f"Детализация_{account.number}_{date_from.isoformat()}_{date_to.isoformat()}.{_format(fmt).lower()}"
