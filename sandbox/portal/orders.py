"""Document orders: validation, order numbers, the order log and the history."""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import asdict, dataclass, fields
from datetime import date

from sandbox.invoice import format_date, period_bounds
from sandbox.portal import texts
from sandbox.portal.errors import PortalError
from sandbox.portal.journal import JsonLines, now_iso
from sandbox.portal.periods import details_period_problem, parse_day, period_problem
from sandbox.portal.selection import SelectionView

INVOICE = "invoice"
CALL_DETAILS = "call_details"
DOCUMENT_TITLES = {INVOICE: texts.INVOICE_DOCUMENT, CALL_DETAILS: texts.CALL_DETAILS_DOCUMENT}
FORMATS = {INVOICE: ("PDF",), CALL_DETAILS: ("PDF", "XML", "HTML")}
"""The formats each document is offered in; the first is the default."""

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")


@dataclass(frozen=True)
class Order:
    """An accepted document order, as the order log records it.

    An invoice covers the billing month ``period``; call details cover the
    ``numbers`` from ``period_from`` to ``period_to`` (``YYYY-MM-DD``).
    """

    order_id: str
    at: str
    login: str
    account: str
    document: str
    email: str
    format: str
    period: str | None = None
    numbers: tuple[str, ...] = ()
    period_from: str | None = None
    period_to: str | None = None

    @property
    def accepted_message(self) -> str:
        """The confirmation the page shows once the order is accepted."""
        return texts.ORDER_ACCEPTED.format(order_id=self.order_id, email=self.email)

    @property
    def dates(self) -> tuple[date, date]:
        """The first and the last day the document covers."""
        if self.period is not None:
            return period_bounds(self.period)
        return date.fromisoformat(self.period_from), date.fromisoformat(self.period_to)

    @property
    def period_text(self) -> str:
        """The period as the portal prints it: ``01.10.2026 – 31.10.2026``."""
        first, last = self.dates
        return f"{format_date(first)} – {format_date(last)}"

    def to_record(self) -> dict:
        """The order as the order log keeps it: only the fields its document has."""
        return {name: value for name, value in asdict(self).items() if value not in (None, ())}

    @classmethod
    def from_record(cls, record: dict) -> Order:
        """Read an order back from its order log record."""
        values = {f.name: record[f.name] for f in fields(cls) if f.name in record}
        return cls(**{**values, "numbers": tuple(values.get("numbers", ()))})


def _text_field(payload: dict, name: str) -> str:
    """Return a request field as stripped text (empty if missing or not text)."""
    value = payload.get(name)
    return value.strip() if isinstance(value, str) else ""


class OrderBook:
    """Accepts valid orders, numbers them and keeps the order log."""

    def __init__(self, journal: JsonLines, history_months: int, details_history_days: int):
        """Use ``journal`` as the order log; order numbers in it are never reissued.

        Invoices can be ordered for the last ``history_months`` closed months,
        call details for periods within the last ``details_history_days`` days.
        """
        self._journal = journal
        self._history_months = history_months
        self._details_history_days = details_history_days
        self._issued: set[str] = {record["order_id"] for record in journal.read()}
        self._lock = threading.Lock()

    def place(self, login: str, payload: object, selection: SelectionView, today: date) -> Order:
        """Validate an order request and log it; PortalError says what is wrong."""
        if not isinstance(payload, dict):
            raise PortalError(texts.BAD_REQUEST)
        document = _text_field(payload, "document")
        if document not in DOCUMENT_TITLES:
            raise PortalError(texts.UNKNOWN_DOCUMENT)
        if selection.problem:
            raise PortalError(selection.problem)
        if document == INVOICE:
            terms = self._invoice_terms(payload, today)
        else:
            terms = self._call_details_terms(payload, selection, today)
        email = _text_field(payload, "email")
        if len(email) > 254 or not _EMAIL.fullmatch(email):
            raise PortalError(texts.EMAIL_INVALID)
        document_format = _text_field(payload, "format").upper()
        if document_format not in FORMATS[document]:
            raise PortalError(texts.FORMAT_INVALID)
        if document == CALL_DETAILS and payload.get("accept") is not True:
            raise PortalError(texts.RULES_NOT_ACCEPTED)
        order = Order(
            order_id=self._new_order_id(),
            at=now_iso(),
            login=login,
            account=selection.account.number,
            document=document,
            email=email,
            format=document_format,
            **terms,
        )
        self._journal.append(order.to_record())
        return order

    def _invoice_terms(self, payload: dict, today: date) -> dict:
        """The invoice's billing month, checked: ``{"period": "YYYY-MM"}``."""
        period = _text_field(payload, "period")
        problem = period_problem(period, today, self._history_months)
        if problem:
            raise PortalError(problem)
        return {"period": period}

    def _call_details_terms(self, payload: dict, selection: SelectionView, today: date) -> dict:
        """The selected numbers and the checked dates of a call details order.

        The dates come as typed into «Период с … по …» (``dd.mm.yyyy``); the
        order log keeps them as ``YYYY-MM-DD``.
        """
        first = parse_day(_text_field(payload, "period_from"))
        last = parse_day(_text_field(payload, "period_to"))
        if first is None or last is None:
            raise PortalError(texts.DATE_INVALID)
        problem = details_period_problem(first, last, today, self._details_history_days)
        if problem:
            raise PortalError(problem)
        return {"numbers": selection.numbers, "period_from": first.isoformat(), "period_to": last.isoformat()}

    def history(self, login: str) -> list[Order]:
        """Return the login's orders, newest first."""
        orders = [Order.from_record(record) for record in self._journal.read() if record["login"] == login]
        return orders[::-1]

    def _new_order_id(self) -> str:
        """Return an 8-digit order number not issued before."""
        with self._lock:
            while True:
                order_id = str(10_000_000 + secrets.randbelow(90_000_000))
                if order_id not in self._issued:
                    self._issued.add(order_id)
                    return order_id
