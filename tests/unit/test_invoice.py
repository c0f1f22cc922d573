"""The invoice PDF: Cyrillic text, totals, determinism, file name."""

import hashlib
import io
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from sandbox.dataset import generate
from sandbox.invoice import (
    FONT_DIR,
    SECTIONS,
    document_date,
    format_money,
    invoice_charges,
    invoice_filename,
    period_bounds,
    period_label,
    render_invoice_pdf,
)

ROOT = Path(__file__).resolve().parents[2]
LOGIN = generate(1)[0]
ACCOUNT = LOGIN.accounts[0]
PERIOD = "2026-10"


def _text(pdf: bytes) -> str:
    """All text of a PDF, page after page."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _kopecks(amount: str) -> int:
    """Parse ``12 345,67`` into kopecks."""
    return int(amount.replace(" ", "").replace(",", ""))


def _amount(text: str, label: str) -> int:
    """The amount printed after ``label`` at the start of a line."""
    match = re.search(rf"^{re.escape(label)} ([\d ]+,\d\d)$", text, re.M)
    assert match, f"no amount for {label!r}"
    return _kopecks(match.group(1))


@pytest.fixture(scope="module")
def pdf() -> bytes:
    """The invoice of the first account for October 2026."""
    return render_invoice_pdf(LOGIN, ACCOUNT, PERIOD, seed=1)


def test_is_a_pdf_with_the_dejavu_font_embedded(pdf):
    """The file is a real PDF and carries its (subset) font."""
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in pdf
    assert b"DejaVuSans" in pdf


def test_text_has_the_invoice_details(pdf):
    """Title, company, account, contract, period, document number and date, numbers."""
    text = _text(pdf)
    assert "Счёт" in text
    assert LOGIN.company in text
    assert f"Лицевой счёт: {ACCOUNT.number}" in text
    assert f"Договор: {ACCOUNT.contract}" in text
    assert "Расчётный период: 01.10.2026 – 31.10.2026" in text
    assert "Номер документа: " in text
    assert "Дата документа: 01.11.2026" in text
    for subscriber in ACCOUNT.subscribers:
        assert subscriber.number in text
    for section in SECTIONS:
        assert section in text
    for label in ("Итого без НДС", "НДС 20 %", "Итого с НДС"):
        assert label in text


def test_totals_add_up(pdf):
    """Number subtotals sum to the total; VAT is 20 % rounded; with VAT is their sum."""
    text = _text(pdf)
    subtotals = [_amount(text, f"Итого по номеру {s.number}") for s in ACCOUNT.subscribers]
    sections = [_amount(text, section) for section in SECTIONS]
    total = _amount(text, "Итого без НДС")
    vat = _amount(text, "НДС 20 %")
    assert sum(subtotals) == total == sum(sections)
    assert vat == round(total * 0.2)
    assert _amount(text, "Итого с НДС") == total + vat
    assert total == invoice_charges(ACCOUNT, PERIOD, 1).total


def test_same_inputs_give_the_same_bytes(pdf):
    """Rendering again gives a byte-identical file."""
    assert render_invoice_pdf(LOGIN, ACCOUNT, PERIOD, seed=1) == pdf


def test_sha256_is_stable_across_processes(pdf):
    """Another interpreter with another hash seed renders the same SHA-256."""
    script = (
        "import hashlib; from sandbox.dataset import generate; "
        "from sandbox.invoice import render_invoice_pdf; l = generate(1)[0]; "
        "print(hashlib.sha256(render_invoice_pdf(l, l.accounts[0], '2026-10', 1)).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == hashlib.sha256(pdf).hexdigest()


def test_amounts_depend_on_seed_account_and_period():
    """Another seed, account or period gives other charges."""
    base = invoice_charges(ACCOUNT, PERIOD, 1)
    assert invoice_charges(ACCOUNT, PERIOD, 1) == base
    assert invoice_charges(ACCOUNT, PERIOD, 2) != base
    assert invoice_charges(ACCOUNT, "2026-09", 1) != base
    assert invoice_charges(LOGIN.accounts[1], PERIOD, 1) != base


def test_other_period_gives_other_dates():
    """The period and the document date follow the ordered month."""
    text = _text(render_invoice_pdf(LOGIN, ACCOUNT, "2026-12", seed=1))
    assert "Расчётный период: 01.12.2026 – 31.12.2026" in text
    assert "Дата документа: 01.01.2027" in text


def test_filename():
    """The attachment is named after the account and the period."""
    assert invoice_filename(ACCOUNT, PERIOD) == f"Счет_{ACCOUNT.number}_2026-10.pdf"


def test_period_helpers():
    """Month bounds, labels, document dates and money formatting."""
    assert period_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert period_label("2026-02") == "01.02.2026 – 28.02.2026"
    assert document_date("2026-12") == date(2027, 1, 1)
    assert format_money(0) == "0,00"
    assert format_money(123_456_789) == "1 234 567,89"
    for bad in ("2026-13", "2026-1", "октябрь", ""):
        with pytest.raises(ValueError):
            period_bounds(bad)


def test_font_dir_can_be_overridden():
    """SANDBOX_FONT_DIR points the renderer at another font folder."""
    assert FONT_DIR.joinpath("DejaVuSans.ttf").is_file()
    env = {**os.environ, "SANDBOX_FONT_DIR": "/elsewhere/fonts"}
    result = subprocess.run(
        [sys.executable, "-c", "import sandbox.invoice as i; print(i.FONT_DIR)"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    assert result.stdout.strip() == "/elsewhere/fonts"
