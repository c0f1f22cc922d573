"""The monthly invoice (счёт) of a personal account, as a PDF.

The charges are drawn from ``random.Random`` seeded with the data set's seed,
the account and the period, so one account and period always give the same
amounts, and the PDF is byte-identical for the same inputs (its creation date
is the document date, derived from the period).
"""

from __future__ import annotations

import calendar
import os
import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from sandbox.dataset import Account, Login

FONT_DIR = Path(os.environ.get("SANDBOX_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
"""Where DejaVuSans.ttf and DejaVuSans-Bold.ttf are (override: ``SANDBOX_FONT_DIR``)."""

FONT_FAMILY = "DejaVu"
OPERATOR = "ПАО «МТС»"
TITLE = "Счёт"

SECTIONS = (
    "Периодические услуги (абонентская плата)",
    "Разовые начисления",
    "Телефонные соединения",
    "SMS",
    "Мобильный интернет",
    "Роуминг",
)
"""The invoice's charge sections, in the order they are printed."""

VAT_PERCENT = 20

_PERIOD = re.compile(r"(\d{4})-(\d{2})")


def parse_period(period: str) -> tuple[int, int]:
    """Return ``(year, month)`` of a ``YYYY-MM`` period; ValueError if malformed."""
    match = _PERIOD.fullmatch(period)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return int(match.group(1)), int(match.group(2))


def period_bounds(period: str) -> tuple[date, date]:
    """Return the first and the last day of a ``YYYY-MM`` billing period."""
    year, month = parse_period(period)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def format_date(day: date) -> str:
    """Return a date as ``dd.mm.yyyy``."""
    return day.strftime("%d.%m.%Y")


def period_label(period: str) -> str:
    """Return a period as the portal prints it: ``01.10.2026 – 31.10.2026``."""
    first, last = period_bounds(period)
    return f"{format_date(first)} – {format_date(last)}"


def document_date(period: str) -> date:
    """Return the invoice date: the first day of the month after the period."""
    year, month = parse_period(period)
    return date(year + month // 12, month % 12 + 1, 1)


def format_money(kopecks: int) -> str:
    """Return an amount in kopecks as roubles: ``12 345,67``."""
    roubles, cents = divmod(kopecks, 100)
    return f"{roubles:,}".replace(",", " ") + f",{cents:02d}"


def vat(kopecks: int) -> int:
    """Return the VAT on an amount, rounded half up to whole kopecks."""
    return (kopecks * VAT_PERCENT + 50) // 100


@dataclass(frozen=True)
class NumberCharges:
    """The charges of one subscriber number, in kopecks, one per section."""

    number: str
    full_name: str
    by_section: tuple[int, ...]

    @property
    def subtotal(self) -> int:
        """The number's total without VAT."""
        return sum(self.by_section)


@dataclass(frozen=True)
class InvoiceCharges:
    """All charges of one account for one period, in kopecks."""

    numbers: tuple[NumberCharges, ...]

    @property
    def by_section(self) -> tuple[int, ...]:
        """Each section's total over all numbers, in the order of SECTIONS."""
        return tuple(sum(column) for column in zip(*(n.by_section for n in self.numbers), strict=True))

    @property
    def total(self) -> int:
        """The total without VAT."""
        return sum(n.subtotal for n in self.numbers)

    @property
    def vat(self) -> int:
        """The VAT on the total."""
        return vat(self.total)

    @property
    def total_with_vat(self) -> int:
        """The total with VAT."""
        return self.total + self.vat


def _draw_number_charges(rng: random.Random) -> tuple[int, ...]:
    """Draw one number's charges per section, in kopecks."""
    periodic = rng.choice((45_000, 65_000, 89_000, 120_000, 150_000))
    one_off = rng.choice((5_000, 10_000, 29_900)) if rng.random() < 0.3 else 0
    calls = rng.randint(0, 80_000)
    sms = rng.randint(0, 5_000)
    internet = rng.randint(0, 60_000) if rng.random() < 0.8 else 0
    roaming = rng.randint(10_000, 300_000) if rng.random() < 0.15 else 0
    return periodic, one_off, calls, sms, internet, roaming


def invoice_charges(account: Account, period: str, seed: int) -> InvoiceCharges:
    """Return the charges of ``account`` for ``period``, fixed by ``seed``."""
    parse_period(period)
    rng = random.Random(f"{seed}:{account.number}:{period}")
    return InvoiceCharges(
        numbers=tuple(
            NumberCharges(s.number, s.full_name, _draw_number_charges(rng))
            for s in account.subscribers
        )
    )


def document_number(account: Account, period: str) -> str:
    """Return the invoice's document number."""
    year, month = parse_period(period)
    return f"{account.number[-6:]}/{year}{month:02d}"


def invoice_filename(account: Account, period: str) -> str:
    """Return the attachment's file name, e.g. ``Счет_277300018417_2026-10.pdf``."""
    parse_period(period)
    return f"Счет_{account.number}_{period}.pdf"


class RussianPDF(FPDF):
    """An A4 document in the DejaVu font with «Страница N из M» at the foot of every page."""

    def __init__(self, orientation: str, margin: float, bottom: float, footer_offset: float, auto_break: bool = True):
        """Set up the page, its margins and the fonts."""
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.footer_offset = footer_offset
        self.set_margins(margin, margin, margin)
        self.set_auto_page_break(auto=auto_break, margin=bottom)
        self.add_font(FONT_FAMILY, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT_FAMILY, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))

    def footer(self) -> None:
        """Print «Страница N из M» at the bottom of every page."""
        self.set_y(-self.footer_offset)
        self.set_font(FONT_FAMILY, "", 8)
        self.cell(0, 5, f"Страница {self.page_no()} из {{nb}}", align="C")


class _InvoicePDF(RussianPDF):
    """An A4 page set with the DejaVu font and a page-number footer."""

    LINE = 6
    AMOUNT_WIDTH = 40

    def __init__(self) -> None:
        """Set up an A4 portrait page with margins and the DejaVu fonts."""
        super().__init__(orientation="P", margin=15, bottom=18, footer_offset=13)

    def line_text(self, text: str, size: float = 10, bold: bool = False) -> None:
        """Print one line of text across the page."""
        self.set_font(FONT_FAMILY, "B" if bold else "", size)
        self.cell(0, self.LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def amount_row(self, label: str, kopecks: int, bold: bool = False, indent: float = 0) -> None:
        """Print a label with an amount aligned to the right margin."""
        self.set_font(FONT_FAMILY, "B" if bold else "", 10)
        self.set_x(self.l_margin + indent)
        label_width = self.epw - indent - self.AMOUNT_WIDTH
        self.cell(label_width, self.LINE, label)
        self.cell(self.AMOUNT_WIDTH, self.LINE, format_money(kopecks), align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        """Print a section heading with a rule under it."""
        self.ln(3)
        self.line_text(text, size=11, bold=True)
        self.line(self.l_margin, self.get_y(), self.l_margin + self.epw, self.get_y())
        self.ln(1)


def render_invoice_pdf(login: Login, account: Account, period: str, seed: int) -> bytes:
    """Return the invoice of ``account`` for ``period`` as PDF bytes.

    The same login, account, period and seed always give the same bytes.
    """
    charges = invoice_charges(account, period, seed)
    issued = document_date(period)
    pdf = _InvoicePDF()
    pdf.set_title(f"{TITLE} {account.number} {period}")
    pdf.set_author(OPERATOR)
    pdf.set_creation_date(datetime(issued.year, issued.month, issued.day, tzinfo=UTC))
    pdf.add_page()

    pdf.line_text(OPERATOR, size=9)
    pdf.line_text(TITLE, size=18, bold=True)
    pdf.ln(2)
    for text in (
        f"Абонент: {login.company}",
        f"Лицевой счёт: {account.number}",
        f"Договор: {account.contract}",
        f"Расчётный период: {period_label(period)}",
        f"Номер документа: {document_number(account, period)}",
        f"Дата документа: {format_date(issued)}",
    ):
        pdf.line_text(text)

    pdf.heading("Начисления по разделам, руб. без НДС")
    for section, amount in zip(SECTIONS, charges.by_section, strict=True):
        pdf.amount_row(section, amount)

    pdf.heading("Начисления по абонентским номерам, руб. без НДС")
    for number in charges.numbers:
        if pdf.will_page_break((len(SECTIONS) + 2) * pdf.LINE):
            pdf.add_page()
        pdf.line_text(f"Абонентский номер {number.number} ({number.full_name})", bold=True)
        for section, amount in zip(SECTIONS, number.by_section, strict=True):
            pdf.amount_row(section, amount, indent=6)
        pdf.amount_row(f"Итого по номеру {number.number}", number.subtotal, bold=True, indent=6)

    pdf.heading("Итого")
    pdf.amount_row("Итого без НДС", charges.total)
    pdf.amount_row(f"НДС {VAT_PERCENT} %", charges.vat)
    pdf.amount_row("Итого с НДС", charges.total_with_vat, bold=True)
    return bytes(pdf.output())
