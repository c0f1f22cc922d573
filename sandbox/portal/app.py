"""The portal stand-in's application: its state object and ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from flask import Flask

from sandbox.dataset import Login
from sandbox.portal import texts
from sandbox.portal.auth import LoginGuard, LoginResult, loggable_login
from sandbox.portal.catalog import Catalog
from sandbox.portal.delivery import DeliveryQueue, invoice_message
from sandbox.portal.errors import NotFound, PortalError
from sandbox.portal.journal import JsonLines, now_iso
from sandbox.portal.orders import Order, OrderBook
from sandbox.portal.periods import closed_periods
from sandbox.portal.selection import SelectionView
from sandbox.portal.sessions import PortalSession, SessionStore
from sandbox.portal.views import EXTENSION, blueprint, refuse_during_outage, root_redirect

DEFAULT_SENDER = "vm-noreply@ihelper.mts.ru"


class Portal:
    """Everything the portal knows and does, apart from HTTP.

    Logins and their data, passwords and attempt limits, server-side
    sessions with their selections, orders and the delayed e-mail delivery.
    Logs go to JSON Lines files in ``data_dir``.
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
        today: Callable[[], date],
    ):
        """Index the data set and open the logs in ``data_dir`` (created if missing)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(tuple(logins))
        known = {login.login for login in logins}
        self.guard = LoginGuard({login: pw for login, pw in passwords.items() if login in known})
        self.sessions = SessionStore()
        self.attempts = JsonLines(data_dir / "login_attempts.jsonl")
        self.orders = OrderBook(JsonLines(data_dir / "orders.jsonl"), history_months)
        self.deliveries = DeliveryQueue(
            smtp_host, smtp_port, delivery_delay, JsonLines(data_dir / "deliveries.jsonl")
        )
        self.seed = seed
        self.sender = sender
        self.history_months = history_months
        self.today = today

    def log_in(self, login: str, password: str) -> tuple[LoginResult, str | None]:
        """Check and log one login attempt; return its outcome and a new session id."""
        result = self.guard.attempt(login, password)
        self.attempts.append({"at": now_iso(), "login": loggable_login(login), "result": result.value})
        return result, self.sessions.create(login) if result is LoginResult.OK else None

    def selection(self, session: PortalSession) -> SelectionView:
        """Return the session's current selection."""
        return SelectionView(self.catalog.lines(session.login, session.selection()))

    def change_selection(self, session: PortalSession, change: object) -> None:
        """Apply ``{"add": {"account": n}}``, ``{"add": {"number": n}}`` or ``{"clear": true}``."""
        add = change.get("add") if isinstance(change, dict) else None
        if isinstance(change, dict) and change.get("clear") is True:
            session.clear_selection()
        elif isinstance(add, dict) and "account" in add:
            account = self.catalog.account(session.login, str(add["account"]))
            if account is None:
                raise NotFound(texts.ACCOUNT_NOT_FOUND)
            session.select([subscriber.number for subscriber in account.subscribers])
        elif isinstance(add, dict) and "number" in add:
            line = self.catalog.line(session.login, str(add["number"]))
            if line is None:
                raise NotFound(texts.NUMBER_NOT_FOUND)
            session.select([line.subscriber.number])
        else:
            raise PortalError(texts.BAD_REQUEST)

    def place_order(self, session: PortalSession, request: object) -> Order:
        """Accept an order request for the session's selection and schedule its delivery."""
        order = self.orders.place(session.login, request, self.selection(session), self.today())
        login = self.catalog.login(order.login)
        account = self.catalog.account(order.login, order.account)
        build = partial(invoice_message, order, login, account, sender=self.sender, seed=self.seed)
        self.deliveries.schedule(order, build)
        return order

    def closed_periods(self) -> list[str]:
        """The periods that can be ordered today, newest first."""
        return closed_periods(self.today(), self.history_months)

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
    today: Callable[[], date] = date.today,
) -> Flask:
    """Return the portal as a Flask app; its Portal is ``app.extensions["portal"]``.

    ``app.config["OUTAGE"] = True`` makes every page and API call answer 503.
    """
    app = Flask(__name__, static_url_path="/selfcare/static")
    app.config["OUTAGE"] = False
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
        today=today,
    )
    app.before_request(refuse_during_outage)
    app.register_blueprint(blueprint)
    app.add_url_rule("/", "root", root_redirect)
    return app
