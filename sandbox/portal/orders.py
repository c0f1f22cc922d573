"""Document orders: validation, order numbers, the order log and the history."""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import asdict, dataclass, fields
from datetime import date

from sandbox.portal import texts
from sandbox.portal.errors import PortalError
from sandbox.portal.journal import JsonLines, now_iso
from sandbox.portal.periods import period_problem
from sandbox.portal.selection import SelectionView

INVOICE = "invoice"
CALL_DETAILS = "call_details"
DOCUMENT_TITLES = {INVOICE: texts.INVOICE_DOCUMENT, CALL_DETAILS: texts.CALL_DETAILS_DOCUMENT}
FORMATS = ("PDF",)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")


@dataclass(frozen=True)
class Order:
    """An accepted document order, as the order log records it."""

    order_id: str
    at: str
    login: str
    account: str
    document: str
    period: str
    email: str
    format: str

    @property
    def accepted_message(self) -> str:
        """The confirmation the page shows once the order is accepted."""
        return texts.ORDER_ACCEPTED.format(order_id=self.order_id, email=self.email)


def _text_field(payload: dict, name: str) -> str:
    """Return a request field as stripped text (empty if missing or not text)."""
    value = payload.get(name)
    return value.strip() if isinstance(value, str) else ""


class OrderBook:
    """Accepts valid orders, numbers them and keeps the order log."""

    def __init__(self, journal: JsonLines, history_months: int):
        """Use ``journal`` as the order log; order numbers in it are never reissued."""
        self._journal = journal
        self._history_months = history_months
        self._issued: set[str] = {record["order_id"] for record in journal.read()}
        self._lock = threading.Lock()

    def place(self, login: str, payload: object, selection: SelectionView, today: date) -> Order:
        """Validate an order request and log it; PortalError says what is wrong."""
        if not isinstance(payload, dict):
            raise PortalError(texts.BAD_REQUEST)
        document = _text_field(payload, "document")
        if document not in DOCUMENT_TITLES:
            raise PortalError(texts.UNKNOWN_DOCUMENT)
        if document != INVOICE:
            raise PortalError(texts.FEATURE_UNAVAILABLE)
        if selection.problem:
            raise PortalError(selection.problem)
        period = _text_field(payload, "period")
        problem = period_problem(period, today, self._history_months)
        if problem:
            raise PortalError(problem)
        email = _text_field(payload, "email")
        if len(email) > 254 or not _EMAIL.fullmatch(email):
            raise PortalError(texts.EMAIL_INVALID)
        document_format = _text_field(payload, "format").upper()
        if document_format not in FORMATS:
            raise PortalError(texts.FORMAT_INVALID)
        order = Order(
            order_id=self._new_order_id(),
            at=now_iso(),
            login=login,
            account=selection.account.number,
            document=document,
            period=period,
            email=email,
            format=document_format,
        )
        self._journal.append(asdict(order))
        return order

    def history(self, login: str) -> list[Order]:
        """Return the login's orders, newest first."""
        names = [f.name for f in fields(Order)]
        orders = [
            Order(**{name: record[name] for name in names})
            for record in self._journal.read()
            if record["login"] == login
        ]
        return orders[::-1]

    def _new_order_id(self) -> str:
        """Return an 8-digit order number not issued before."""
        with self._lock:
            while True:
                order_id = str(10_000_000 + secrets.randbelow(90_000_000))
                if order_id not in self._issued:
                    self._issued.add(order_id)
                    return order_id
