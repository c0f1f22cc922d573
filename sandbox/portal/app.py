"""The portal stand-in's application: its state object and ``create_app``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path

from flask import Flask

from sandbox.dataset import Login
from sandbox.portal import texts
from sandbox.portal.auth import LoginGuard, LoginResult, loggable_login
from sandbox.portal.catalog import Catalog
from sandbox.portal.delivery import DeliveryQueue, order_message
from sandbox.portal.documents import ordered_document, wrong_document
from sandbox.portal.errors import NotFound, PortalError
from sandbox.portal.faults import FAULTS, WRONG_DOCUMENT
from sandbox.portal.journal import JsonLines, now_iso
from sandbox.portal.orders import CALL_DETAILS, Order, OrderBook
from sandbox.portal.periods import closed_periods, default_details_period, earliest_details_day, format_day
from sandbox.portal.selection import SelectionView
from sandbox.portal.sessions import PortalSession, SessionStore
from sandbox.portal.tree import TREE_PAGE_SIZE
from sandbox.portal.views import (
    EXTENSION,
    TREE_PAGE_SIZE_KEY,
    WITHOUT_LABEL_KEY,
    blueprint,
    leave_out_label,
    refuse_during_outage,
    root_redirect,
)

log = logging.getLogger(__name__)

DEFAULT_SENDER = "vm-noreply@ihelper.mts.ru"
DEFAULT_DETAILS_HISTORY_DAYS = 183
"""How many days back call details can be ordered: about six months."""
DEFAULT_ZIP_ABOVE_BYTES = 5 * 1024 * 1024
"""Call details larger than this are sent zipped (invoices are small and never are)."""


class Portal:
    """Everything the portal knows and does, apart from HTTP.

    Logins and their data, passwords and attempt limits, server-side
    sessions with their selections, orders and the delayed e-mail delivery.
    Logs go to JSON Lines files in ``data_dir``. ``switches`` (the app's
    config) is read for the fault switches whenever an e-mail is built; the
    delivery queue reads its own (the order and number of the e-mails) too.
    """

    def __init__(
        self,
        logins: tuple[Login, ...],
        passwords: dict[str, str],
        *,
        smtp_host: str,
        smtp_port: int,
        delivery_delay: float,
        data_dir: Path,
        seed: int,
        sender: str,
        history_months: int,
        details_history_days: int,
        zip_above_bytes: int,
        today: Callable[[], date],
        switches: Mapping[str, object],
        document_size: int | None = None,
    ):
        """Index the data set and open the logs in ``data_dir`` (created if missing)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.catalog = Catalog(tuple(logins))
        known = {login.login for login in logins}
        self.guard = LoginGuard({login: pw for login, pw in passwords.items() if login in known})
        self.sessions = SessionStore()
        self.attempts = JsonLines(data_dir / "login_attempts.jsonl")
        self.orders = OrderBook(JsonLines(data_dir / "orders.jsonl"), history_months, details_history_days)
        self.deliveries = DeliveryQueue(
            smtp_host, smtp_port, delivery_delay, JsonLines(data_dir / "deliveries.jsonl"), switches
        )
        self.seed = seed
        self.sender = sender
        self.history_months = history_months
        self.details_history_days = details_history_days
        self.zip_above_bytes = zip_above_bytes
        self.document_size = document_size
        self.today = today
        self.switches = switches

    def log_in(self, login: str, password: str) -> tuple[LoginResult, str | None]:
        """Check and log one login attempt; return its outcome and a new session id."""
        result = self.guard.attempt(login, password)
        self.attempts.append({"at": now_iso(), "login": loggable_login(login), "result": result.value})
        return result, self.sessions.create(login) if result is LoginResult.OK else None

    def selection(self, session: PortalSession) -> SelectionView:
        """Return the session's current selection."""
        return SelectionView(self.catalog.lines(session.login, session.selection()))

    def change_selection(self, session: PortalSession, change: object) -> None:
        """Apply one change to the session's selection.

        ``{"add": {"account": n}}`` adds the account's numbers, ``{"add":
        {"number": n}}`` one number, ``{"add": {"numbers": [n, ...]}}`` several
        (all or none), ``{"remove": {"number": n}}`` takes one out and
        ``{"clear": true}`` empties the selection.
        """
        if not isinstance(change, dict):
            raise PortalError(texts.BAD_REQUEST)
        add, remove = change.get("add"), change.get("remove")
        if change.get("clear") is True:
            session.clear_selection()
        elif isinstance(add, dict) and "account" in add:
            account = self.catalog.account(session.login, str(add["account"]))
            if account is None:
                raise NotFound(texts.ACCOUNT_NOT_FOUND)
            session.select([subscriber.number for subscriber in account.subscribers])
        elif isinstance(add, dict) and "number" in add:
            session.select(self._known_numbers(session, [add["number"]]))
        elif isinstance(add, dict) and isinstance(add.get("numbers"), list) and add["numbers"]:
            session.select(self._known_numbers(session, add["numbers"]))
        elif isinstance(remove, dict) and "number" in remove:
            (number,) = self._known_numbers(session, [remove["number"]])
            session.deselect(number)
        else:
            raise PortalError(texts.BAD_REQUEST)

    def _known_numbers(self, session: PortalSession, values: list[object]) -> list[str]:
        """Return the values as the login's phone numbers; NotFound if one is not its own."""
        numbers = [str(value) for value in values]
        if any(self.catalog.line(session.login, number) is None for number in numbers):
            raise NotFound(texts.NUMBER_NOT_FOUND)
        return numbers

    def place_order(self, session: PortalSession, request: object) -> Order:
        """Accept an order request for the session's selection and schedule its delivery."""
        order = self.orders.place(session.login, request, self.selection(session), self.today())
        self.deliveries.schedule(order, partial(self._order_message, order))
        return order

    def _order_message(self, order: Order) -> EmailMessage:
        """Build an order's e-mail when it is due, zipping large call details.

        While the ``WRONG_DOCUMENT`` switch is on, the attachment is another
        account's document for an earlier month.
        """
        if self.switches.get(WRONG_DOCUMENT):
            log.warning("fault wrong-document: order %s gets another document", order.order_id)
            document = wrong_document(order, self.catalog, self.seed, self.document_size)
        else:
            document = ordered_document(order, self.catalog, self.seed, self.document_size)
        if order.document == CALL_DETAILS and len(document.content) > self.zip_above_bytes:
            document = document.zipped()
        account = self.catalog.account(order.login, order.account)
        return order_message(order, account, document, sender=self.sender)

    def closed_periods(self) -> list[str]:
        """The periods that can be ordered today, newest first."""
        return closed_periods(self.today(), self.history_months)

    def details_dates(self) -> dict[str, str]:
        """The «Период с … по …» fields: proposed dates and the days kept, as ``dd.mm.yyyy``."""
        today = self.today()
        first, last = default_details_period(today, self.details_history_days)
        return {
            "from": format_day(first),
            "to": format_day(last),
            "min": format_day(earliest_details_day(today, self.details_history_days)),
            "max": format_day(today - timedelta(days=1)),
        }

    def wait_deliveries(self, timeout: float | None = None) -> bool:
        """Wait until every scheduled e-mail has been sent or has failed."""
        return self.deliveries.wait(timeout)

    def shutdown(self) -> None:
        """Cancel the deliveries that have not started yet."""
        self.deliveries.shutdown()


def create_app(
    logins: tuple[Login, ...],
    passwords: dict[str, str],
    *,
    smtp_host: str,
    smtp_port: int,
    delivery_delay: float = 1.0,
    data_dir: Path,
    seed: int = 1,
    sender: str = DEFAULT_SENDER,
    history_months: int = 6,
    details_history_days: int = DEFAULT_DETAILS_HISTORY_DAYS,
    zip_above_bytes: int = DEFAULT_ZIP_ABOVE_BYTES,
    document_size: int | None = None,
    tree_page_size: int = TREE_PAGE_SIZE,
    without_label: str | None = None,
    today: Callable[[], date] = date.today,
) -> Flask:
    """Return the portal as a Flask app; its Portal is ``app.extensions["portal"]``.

    Invoices can be ordered for the last ``history_months`` closed months,
    call details for the last ``details_history_days`` days; call details
    larger than ``zip_above_bytes`` are sent zipped. ``document_size`` N makes
    call details of N events per number (None: each number's usual count).

    The account tree shows ``tree_page_size`` nodes a page
    (``app.config["TREE_PAGE_SIZE"]``, read on every request).

    ``without_label`` (``app.config["WITHOUT_LABEL"]``), a test option, leaves
    that label out of every page and API answer, as a portal version that
    dropped or renamed it would: the robot's plan mode must name it.

    ``app.config["OUTAGE"] = True`` makes every page and API call answer 503;
    ``app.config["WRONG_DOCUMENT"] = True`` makes the e-mails built from then
    on carry a wrong document (see ``FAULTS``).
    """
    app = Flask(__name__, static_url_path="/selfcare/static")
    app.config["OUTAGE"] = False
    app.config[TREE_PAGE_SIZE_KEY] = tree_page_size
    app.config[WITHOUT_LABEL_KEY] = without_label or None
    app.config.update({key: False for key in FAULTS.values()})
    app.json.ensure_ascii = False
    app.extensions[EXTENSION] = Portal(
        logins,
        passwords,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        delivery_delay=delivery_delay,
        data_dir=Path(data_dir),
        seed=seed,
        sender=sender,
        history_months=history_months,
        details_history_days=details_history_days,
        zip_above_bytes=zip_above_bytes,
        today=today,
        switches=app.config,
        document_size=document_size,
    )
    app.before_request(refuse_during_outage)
    app.after_request(leave_out_label)
    app.register_blueprint(blueprint)
    app.add_url_rule("/", "root", root_redirect)
    return app
