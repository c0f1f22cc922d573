"""Check a received document before it goes anywhere: is it what was ordered?

A document is checked by its content, never by its name: an invoice must be
a readable PDF that says it is an invoice («Счёт») and names the ordered
personal account and both ends of the ordered period (as ``dd.mm.yyyy``, the
way MTS writes dates); its total is read for the finance team.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pypdfium2 as pdfium
from robot.api.deco import keyword, library

from libraries.periods import period_bounds


class DocumentCheckError(AssertionError):
    """The received document is not the one that was ordered."""

    ROBOT_CONTINUE_ON_FAILURE = False


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class PdfUnreadable(ValueError):
    """A PDF that PDFium cannot open or read: the reason, without the file's name."""


def pdf_pages(path: str | Path) -> Iterator[str]:
    """The text of each page of the PDF at ``path``, one page at a time, lines ending in ``\\n``.

    Read with PDFium (pypdfium2): its text in the page's reading order, several
    times faster than a PDF parser in Python, which matters for call details of
    hundreds of pages. Raises ``PdfUnreadable`` for a file PDFium cannot open or
    a page it cannot read.
    """
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        raise PdfUnreadable(str(error)) from error
    try:
        for index in range(len(document)):
            try:
                page = document[index]
                text_page = page.get_textpage()
                text = text_page.get_text_bounded()
            except pdfium.PdfiumError as error:
                raise PdfUnreadable(f"page {index + 1}: {error}") from error
            text_page.close()
            page.close()
            yield text.replace("\r\n", "\n")
    finally:
        document.close()


def pdf_text(path: str | Path) -> str:
    """The text of every page of a PDF, or ``DocumentCheckError`` if it is not one."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(5)
    if head != b"%PDF-":
        raise DocumentCheckError(f"{path.name} is not a PDF document (it starts with {head!r}).")
    try:
        return "\n".join(pdf_pages(path))
    except (PdfUnreadable, OSError) as error:
        raise DocumentCheckError(f"{path.name} is a damaged PDF: {error}") from error


def ru_date(day: date) -> str:
    """A date the way Russian documents write it: ``dd.mm.yyyy``."""
    return day.strftime("%d.%m.%Y")


INVOICE_WORD = re.compile(r"(?<![А-Яа-яЁё])(?:Счёт|Счет|СЧЁТ|СЧЕТ)(?![А-Яа-яЁё])")
"""«Счёт» as a word of its own (not «Лицевой счёт» only: that names the account, not the document)."""
TOTAL_LABELS = ("Итого с НДС", "Всего к оплате", "Итого к оплате", "Всего с НДС")
"""The lines that carry an invoice's total with VAT, most specific first."""
AMOUNT = r"(-?\d{1,3}(?:[ \u00a0]\d{3})*(?:[.,]\d{2})|-?\d+(?:[.,]\d{2}))"


def invoice_total(text: str) -> str | None:
    """The invoice's total with VAT as a decimal string (``12454.40``), or ``None`` if it prints none."""
    for label in TOTAL_LABELS:
        match = re.search(rf"{re.escape(label)}\s*:?\s*{AMOUNT}", text)
        if match:
            digits = match.group(1).replace("\u00a0", "").replace(" ", "").replace(",", ".")
            try:
                return str(Decimal(digits))
            except InvalidOperation:
                continue
    return None


def check_invoice(path: str | Path, account: str, period: str) -> dict:
    """Return what the invoice says (``{"amount": "12454.40" or None}``); raise ``DocumentCheckError``
    unless ``path`` is the invoice of ``account`` for ``period``."""
    text = pdf_text(path)
    name = Path(path).name
    first, last = period_bounds(period)
    without_account_label = re.sub(r"[Лл]ицево(?:й|го|му)\s+сч[её]т\w*", "", text)
    if not INVOICE_WORD.search(without_account_label):
        raise DocumentCheckError(f"{name} does not say it is an invoice («Счёт»): it is not the ordered invoice.")
    if account not in text:
        raise DocumentCheckError(f"{name} does not name personal account {account}: it is not the ordered invoice.")
    missing = [ru_date(day) for day in (first, last) if ru_date(day) not in text]
    if missing:
        raise DocumentCheckError(
            f"{name} does not cover the period {ru_date(first)}–{ru_date(last)} (missing {', '.join(missing)})."
        )
    return {"amount": invoice_total(text)}


def check_document(path: str | Path, document: dict) -> dict:
    """Raise ``DocumentCheckError`` unless ``path`` is the document a ledger entry ordered; return the
    facts read that the summary keeps (an invoice's ``amount``)."""
    if document["kind"] == "invoice":
        return check_invoice(path, document["account"], document["period_from"][:7])
    if document["kind"] == "call_details":
        from libraries.call_details import check_call_details  # noqa: PLC0415 (it imports this module)

        check_call_details(
            path,
            document["numbers"],
            document["period_from"],
            document["period_to"],
            document["format"],
            account=document["account"],
        )
        return {}
    raise ValueError(f"Unknown kind of document: {document['kind']}")


def document_file_name(document: dict) -> str:
    """Where a received document is kept: kind, account, period, order, format.

    E.g. ``invoice_277300018417_2026-10_12345678.pdf`` or
    ``call_details_277300018417_2026-10-01_2026-10-31_12345678.xml``; an order
    the portal never confirmed has ``unconfirmed`` in place of its number.
    """
    if document["kind"] == "invoice":
        period = document["period_from"][:7]
    else:
        period = f"{document['period_from']}_{document['period_to']}"
    order = document["order_id"] or "unconfirmed"
    return f"{document['kind']}_{document['account']}_{period}_{order}.{document['format']}"


MAX_UNPACKED_BYTES = 1 << 30
MAX_ZIP_MEMBERS = 20


def unpack_zip(path: str | Path, folder: str | Path, max_bytes: int = MAX_UNPACKED_BYTES, budget=None) -> list[Path]:
    """Unpack the files of a ZIP attachment into ``folder`` safely; return their paths.

    Only file names are kept (no folders, so nothing can land outside
    ``folder``); an archive with too many members or that would unpack to more
    than ``max_bytes`` is refused with ``DocumentCheckError`` before anything
    is written. With a ``budget`` (the mail's, see
    ``libraries.mail_structure.Budget``) the declared sizes and the members
    are taken from it first, so one mail's archives together stay within it;
    a member larger than its archive declares is refused while unpacking.
    """
    path, folder = Path(path), Path(folder)
    with zipfile.ZipFile(path) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            raise DocumentCheckError(f"{path.name} holds {len(members)} files; a document archive holds a few.")
        declared = sum(info.file_size for info in members)
        if declared > max_bytes:
            raise DocumentCheckError(f"{path.name} would unpack to more than {max_bytes} bytes; refused.")
        if budget is not None:
            for _ in members:
                budget.add_file()
            budget.take(declared)
        folder.mkdir(parents=True, exist_ok=True)
        unpacked = []
        for number, info in enumerate(members):
            name = Path(info.filename.replace("\\", "/").replace("\x00", "")).name or f"member-{number}"
            target = folder / f"{number}-{name.lstrip('.') or 'member'}"
            with archive.open(info) as source, open(target, "wb") as sink:
                copied = 0
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    copied += len(chunk)
                    if copied > info.file_size:
                        raise DocumentCheckError(f"{path.name}: {name} is larger than its archive says; refused.")
                    sink.write(chunk)
            unpacked.append(target)
        return unpacked


@library(scope="GLOBAL", auto_keywords=False)
class Documents:
    """Checks of received documents and their fingerprints."""

    @keyword("Check Invoice Document")
    def check_invoice_document(self, path: str, account: str, period: str) -> None:
        """Fail unless ``path`` is a readable PDF invoice of ``account`` for ``period``.

        The check reads the PDF's text: it must name the personal account and
        the first and last day of the month. The file name is not trusted.
        """
        check_invoice(path, account, period)

    @keyword("Document Fingerprint")
    def document_fingerprint(self, path: str) -> str:
        """Return the SHA-256 of the file, the identity Tarifer knows it by."""
        return sha256_of(path)


if __name__ == "__main__":
    import sys

    from libraries.document_cli import main

    sys.exit(main())
