"""The portal's pages and JSON API, all under ``/selfcare/``."""

from __future__ import annotations

import base64
import re
import secrets
import string
import time
from datetime import datetime
from functools import wraps
from typing import TYPE_CHECKING

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for

from sandbox.portal import texts
from sandbox.portal.auth import LoginResult
from sandbox.portal.errors import PortalError
from sandbox.portal.faults import SILENT_ORDER_SECONDS, SILENT_ORDERS
from sandbox.portal.orders import DOCUMENT_TITLES, FORMATS
from sandbox.portal.periods import month_title
from sandbox.portal.sessions import COOKIE, PortalSession
from sandbox.portal.tree import TREE_PAGE_SIZE, TreePage, tree_page

if TYPE_CHECKING:
    from sandbox.portal.app import Portal

EXTENSION = "portal"
"""The key of the Portal object in ``app.extensions``."""
TREE_PAGE_SIZE_KEY = "TREE_PAGE_SIZE"
"""The app's config key of the account tree's page size (nodes a page)."""

PREFIX = "/selfcare"
LOGIN_FIELDS = {
    "login": "ctl00$MainContent$txtLogin",
    "password": "ctl00$MainContent$txtPassword",
    "captcha": "ctl00$MainContent$txtCaptcha",
    "submit": "ctl00$MainContent$btnLogin",
}
"""The login form's field names, as ASP.NET WebForms names a page's controls."""
WITHOUT_LABEL_KEY = "WITHOUT_LABEL"
"""The app's config key of a label left out of every page and answer (None: none is)."""
NUMBERS_TAB = "Операции с номерами"
HISTORY_TAB = "История действий"
PLACEHOLDER_TABS = {
    "hierarchy": "Управление иерархией",
    "bills": "Счета",
    "users": "Пользователи",
    "roles": "Роли",
    "requests": "Обращения",
}

blueprint = Blueprint("portal", __name__, url_prefix=PREFIX)


def portal() -> Portal:
    """Return the current app's Portal."""
    return current_app.extensions[EXTENSION]


OUTAGE_FLAG = "OUTAGE"


def current_session() -> PortalSession | None:
    """Return the session named by the request's cookie, or None."""
    return portal().sessions.get(request.cookies.get(COOKIE))


def api_error(message: str, status: int):
    """Return a JSON error answer with a Russian message."""
    return jsonify({"error": message}), status


def refuse_during_outage():
    """Answer 503 to every request but static files while the portal is in outage.

    The outage is switched by ``app.config["OUTAGE"]`` or, from outside the
    process, by a file named ``OUTAGE`` in the portal's data folder.
    """
    in_outage = current_app.config.get("OUTAGE") or (portal().data_dir / OUTAGE_FLAG).exists()
    if not in_outage or request.endpoint == "static":
        return None
    if request.path.startswith(f"{PREFIX}/api/"):
        return api_error(texts.OUTAGE, 503)
    return render_template("error.html", message=texts.OUTAGE), 503


def page(view):
    """Make a page view require a session (else go to the login page) and receive it."""

    @wraps(view)
    def with_session(*args, **kwargs):
        """Call the view with the request's session."""
        session = current_session()
        if session is None:
            return redirect(url_for("portal.login_page"))
        return view(session, *args, **kwargs)

    return with_session


def api(view):
    """Make an API view require a session (else 401) and receive it."""

    @wraps(view)
    def with_session(*args, **kwargs):
        """Call the view with the request's session."""
        session = current_session()
        if session is None:
            return api_error(texts.SESSION_EXPIRED, 401)
        try:
            return view(session, *args, **kwargs)
        except PortalError as error:
            return api_error(str(error), error.status)

    return with_session


def render_vm_page(template: str, session: PortalSession, **context):
    """Render a Virtual Manager page with its header, the tabs and the company."""
    tabs = [
        (url_for("portal.numbers"), NUMBERS_TAB),
        (url_for("portal.history"), HISTORY_TAB),
        *((url_for("portal.placeholder", tab=slug), title) for slug, title in PLACEHOLDER_TABS.items()),
    ]
    return render_template(
        template,
        login=portal().catalog.login(session.login),
        tabs=tabs,
        texts=texts,
        **context,
    )


@blueprint.app_context_processor
def page_furniture() -> dict:
    """What every page's template may use: the login form's field names and a view state."""
    return {"fields": LOGIN_FIELDS, "viewstate": view_state}


def view_state() -> str:
    """A random ``__VIEWSTATE``-like value: the pages carry one, as WebForms pages do, and ignore it."""
    return base64.b64encode(secrets.token_bytes(48)).decode("ascii")


def leave_out_label(response):
    """Remove the label ``app.config["WITHOUT_LABEL"]`` from a page or an API answer, if one is set.

    A test option: every whole-word occurrence of the text goes, in the page's text,
    its attributes and its scripts' data, as if a portal version had dropped or
    renamed that label.
    """
    label = current_app.config.get(WITHOUT_LABEL_KEY)
    if not label or response.direct_passthrough or response.mimetype not in ("text/html", "application/json"):
        return response
    pattern = re.compile(rf"(?<!\w){re.escape(label)}(?!\w)")
    response.set_data(pattern.sub("", response.get_data(as_text=True)))
    return response


@blueprint.app_template_filter("local_datetime")
def local_datetime(value: str) -> str:
    """Format an ISO 8601 timestamp in local time as ``dd.mm.yyyy hh:mm:ss``."""
    return datetime.fromisoformat(value).astimezone().strftime("%d.%m.%Y %H:%M:%S")


@blueprint.app_template_filter("month_title")
def month_title_filter(period: str) -> str:
    """Format a ``YYYY-MM`` period as «Октябрь 2026»."""
    return month_title(period)


def format_options() -> dict[str, list[str]]:
    """Every format the «Документ» window offers, PDF first, with the documents offered in it."""
    options: dict[str, list[str]] = {}
    for document, formats in FORMATS.items():
        for document_format in formats:
            options.setdefault(document_format, []).append(document)
    return options


def captcha_text() -> str:
    """Return five random characters for the captcha picture."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(5))


def root_redirect():
    """Send the site root to the portal."""
    return redirect(url_for("portal.login_page"))


@blueprint.get("/")
def login_page():
    """The entry page with the login form; a logged-in user goes on to the portal."""
    if current_session() is not None:
        return redirect(url_for("portal.numbers"))
    return render_template("login.html", error=None, login="")


@blueprint.get("/login")
def login_get():
    """The login form lives on the entry page."""
    return redirect(url_for("portal.login_page"))


@blueprint.post("/login")
def log_in():
    """Check a login attempt; on success start a new session and open the portal."""
    login = request.form.get(LOGIN_FIELDS["login"], "").strip()
    result, session_id = portal().log_in(login, request.form.get(LOGIN_FIELDS["password"], ""))
    if session_id is None:
        return render_template(
            "login.html",
            error=result.message,
            login=login,
            captcha=captcha_text() if result is LoginResult.CAPTCHA else None,
        )
    portal().sessions.drop(request.cookies.get(COOKIE))
    response = redirect(url_for("portal.numbers"))
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax", path=PREFIX)
    return response


@blueprint.route("/logout", methods=["GET", "POST"])
def log_out():
    """End the session and return to the entry page."""
    portal().sessions.drop(request.cookies.get(COOKIE))
    response = redirect(url_for("portal.login_page"))
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@blueprint.get("/about")
def about():
    """«Подробнее о Виртуальном менеджере»: what the service is for."""
    return render_template("about.html")


def requested_page_number() -> int:
    """The ``page`` of the query string, 1 if it is missing or not a whole number."""
    try:
        return int(request.args.get("page", "1"))
    except ValueError:
        return 1


def tree_page_url(tree: TreePage, number: int) -> str:
    """The address of another page of the same (filtered) tree."""
    return url_for("portal.numbers", page=number, **({"filter": tree.filter} if tree.filter else {}))


@blueprint.get("/vm")
@page
def numbers(session: PortalSession):
    """«Операции с номерами»: the account tree, the selection and the order panel.

    The tree shows one page: ``?page=N`` (from 1) of the listing that
    ``?filter=…`` leaves (see ``sandbox.portal.tree``).
    """
    tree = tree_page(
        portal().catalog.login(session.login),
        requested_page_number(),
        current_app.config.get(TREE_PAGE_SIZE_KEY, TREE_PAGE_SIZE),
        request.args.get("filter", ""),
    )
    return render_vm_page(
        "numbers.html",
        session,
        active=NUMBERS_TAB,
        tree=tree,
        previous_url=tree_page_url(tree, tree.page - 1) if tree.has_previous else None,
        next_url=tree_page_url(tree, tree.page + 1) if tree.has_next else None,
        selection=portal().selection(session).to_json(),
        periods=portal().closed_periods(),
        details_dates=portal().details_dates(),
        format_options=format_options(),
        document_kinds={
            document: texts.DOCUMENT_KIND.format(document=title) for document, title in DOCUMENT_TITLES.items()
        },
    )


@blueprint.get("/vm/history")
@page
def history(session: PortalSession):
    """«История действий»: the login's document orders, newest first."""
    return render_vm_page(
        "history.html",
        session,
        active=HISTORY_TAB,
        orders=portal().orders.history(session.login),
        document_titles=DOCUMENT_TITLES,
    )


@blueprint.get("/vm/<tab>")
@page
def placeholder(session: PortalSession, tab: str):
    """The tabs the stand-in does not implement."""
    if tab not in PLACEHOLDER_TABS:
        abort(404)
    title = PLACEHOLDER_TABS[tab]
    return render_vm_page("placeholder.html", session, active=title, title=title)


@blueprint.route("/api/selection", methods=["GET", "POST"])
@api
def selection_api(session: PortalSession):
    """Read the selection, or change it and answer the new one."""
    if request.method == "POST":
        portal().change_selection(session, request.get_json(silent=True))
    return jsonify(portal().selection(session).to_json())


@blueprint.post("/api/orders")
@api
def orders_api(session: PortalSession):
    """Accept a document order for the current selection (201) or refuse it (400)."""
    order = portal().place_order(session, request.get_json(silent=True))
    if current_app.config.get(SILENT_ORDERS):
        time.sleep(SILENT_ORDER_SECONDS)
    record = order.to_record()
    del record["at"], record["login"]
    return jsonify({"message": order.accepted_message, **record}), 201
