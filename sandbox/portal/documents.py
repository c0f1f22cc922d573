"""The files the portal sends for an order: rendered, zipped when large, or wrong on purpose."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, replace

from sandbox.call_details import call_details_filename, render_call_details
from sandbox.dataset import Account
from sandbox.invoice import invoice_filename, render_invoice_pdf
from sandbox.portal.catalog import Catalog
from sandbox.portal.orders import INVOICE, Order
from sandbox.portal.periods import month_earlier

CONTENT_TYPES = {"PDF": "application/pdf", "XML": "application/xml", "HTML": "text/html"}
ZIP_CONTENT_TYPE = "application/zip"


@dataclass(frozen=True)
class Document:
    """One file to attach: its name, its bytes and its content type."""

    filename: str
    content: bytes
    content_type: str

    def zipped(self) -> Document:
        """The document alone in a ZIP archive (deflated), named after it plus ``.zip``."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(self.filename, self.content)
        return Document(f"{self.filename}.zip", buffer.getvalue(), ZIP_CONTENT_TYPE)


def ordered_document(order: Order, catalog: Catalog, seed: int, document_size: int | None = None) -> Document:
    """Render what ``order`` asked for: its month's invoice or its numbers' call details.

    Call details come in the real layouts (the XML's variant is chosen from
    the seed, the account, the numbers and the period); ``document_size`` N
    gives each number N events instead of its usual count.
    """
    return _document(order, order, catalog, seed, document_size)


def wrong_document(order: Order, catalog: Catalog, seed: int, document_size: int | None = None) -> Document:
    """The document of another account (if the login has one) for a month earlier.

    It keeps the ordered document's file name and type, so only a check of
    the content tells it apart.
    """
    accounts = catalog.login(order.login).accounts
    other = next((account for account in accounts if account.number != order.account), accounts[0])
    first, last = (month_earlier(day) for day in order.dates)
    if order.document == INVOICE:
        mistaken = replace(order, account=other.number, period=f"{first.year:04d}-{first.month:02d}")
    else:
        numbers = tuple(subscriber.number for subscriber in other.subscribers)
        mistaken = replace(
            order, account=other.number, numbers=numbers, period_from=first.isoformat(), period_to=last.isoformat()
        )
    return _document(order, mistaken, catalog, seed, document_size)


def _document(order: Order, content_of: Order, catalog: Catalog, seed: int, document_size: int | None) -> Document:
    """A file named and typed as ``order`` asks, holding the document ``content_of`` describes."""
    account = catalog.account(order.login, order.account)
    content = _content(content_of, catalog, seed, document_size)
    return Document(_filename(order, account), content, CONTENT_TYPES[order.format])


def _filename(order: Order, account: Account) -> str:
    """The attachment's name for the ordered document."""
    if order.document == INVOICE:
        return invoice_filename(account, order.period)
    first, last = order.dates
    return call_details_filename(account, first, last, order.format)


def _content(order: Order, catalog: Catalog, seed: int, document_size: int | None) -> bytes:
    """The rendered bytes of the document ``order`` describes."""
    login = catalog.login(order.login)
    account = catalog.account(order.login, order.account)
    if order.document == INVOICE:
        return render_invoice_pdf(login, account, order.period, seed)
    first, last = order.dates
    subscribers = [line.subscriber for line in catalog.lines(order.login, order.numbers)]
    return render_call_details(
        login, account, subscribers, first, last, order.format, seed, document_size=document_size
    )
