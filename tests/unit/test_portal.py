"""The portal stand-in: login limits, selection, orders, history, delivery, outage."""

from __future__ import annotations

import email
import io
import json
import re
import socket
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import date
from email import policy
from email.header import decode_header, make_header
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from sandbox.__main__ import parse_args
from sandbox.call_details import call_details_filename, render_call_details
from sandbox.dataset import Account, Login, Subscriber, generate
from sandbox.invoice import invoice_filename, render_invoice_pdf
from sandbox.portal import create_app
from sandbox.portal.selection import numbers_chosen
from sandbox.portal.views import LOGIN_FIELDS

LOGINS = generate(1)
FIRST, SECOND = LOGINS
PASSWORDS = {login.login: f"пароль-{login.login}" for login in LOGINS}
TODAY = date(2026, 11, 15)
INVOICE_TITLE = "Сформированные счета закрытых расчётных периодов"
DETAILS_TITLE = "Детализация разговоров"
SIZE_WARNING = "Из-за большого размера файла, некоторые почтовые серверы могут отказать в получении данного письма."
ACCEPT_RULES = "Я принимаю правила использования системы"
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
OUTAGE = "Получение запрошенной информации в данный момент недоступно"
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    """One parsed HTML element: its tag, attributes, text and child elements."""

    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def find_all(self, tag: str, cls: str | None = None) -> list[Element]:
        """Every descendant with this tag (and class, if given), in document order."""
        found = []
        for child in self.children:
            if child.tag == tag and (cls is None or cls in (child.attrs.get("class") or "").split()):
                found.append(child)
            found.extend(child.find_all(tag, cls))
        return found

    def descendants(self) -> list[Element]:
        """Every descendant element, in document order."""
        return [element for child in self.children for element in (child, *child.descendants())]

    def by_id(self, element_id: str) -> Element:
        """The descendant with this id; AssertionError if there is none."""
        for child in self.children:
            if child.attrs.get("id") == element_id:
                return child
            try:
                return child.by_id(element_id)
            except AssertionError:
                pass
        raise AssertionError(f"no element with id {element_id!r}")

    def has_id(self, element_id: str) -> bool:
        """Whether a descendant has this id."""
        try:
            self.by_id(element_id)
        except AssertionError:
            return False
        return True

    @property
    def clean_text(self) -> str:
        """The text with runs of whitespace collapsed."""
        return " ".join(self.text.split())


class _TreeBuilder(HTMLParser):
    """Builds an Element tree with the standard library's HTML parser."""

    def __init__(self) -> None:
        """Start with an empty document."""
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag, attrs):
        """Open an element (void elements close at once)."""
        element = Element(tag, dict(attrs))
        self._open[-1].children.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)

    def handle_endtag(self, tag):
        """Close the innermost open element with this tag."""
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data):
        """Add text to every open element."""
        for element in self._open:
            element.text += data


def parse(html: str) -> Element:
    """Parse an HTML page into an Element tree."""
    builder = _TreeBuilder()
    builder.feed(html)
    return builder.root


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        """Start with an empty inbox."""
        self.messages: list[email.message.EmailMessage] = []
        self.raw: list[bytes] = []
        self.recipients: list[list[str]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        """Store the message and accept it."""
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        self.raw.append(envelope.content)
        self.recipients.append(envelope.rcpt_tos)
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def smtp():
    """A local SMTP receiver on a free port: yields (port, inbox)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def make_app(data_dir: Path, *, smtp_port: int | None = None, delivery_delay: float = 0.1,
             logins=LOGINS, passwords=PASSWORDS, **options):
    """A portal on a fixed today, delivering quickly to ``smtp_port``; ``options`` go to create_app."""
    app = create_app(
        logins,
        passwords,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port or free_port(),
        delivery_delay=delivery_delay,
        data_dir=data_dir,
        today=lambda: TODAY,
        **options,
    )
    app.testing = True
    return app


@pytest.fixture
def app(tmp_path):
    """A portal whose deliveries go nowhere."""
    app = make_app(tmp_path)
    yield app
    app.extensions["portal"].shutdown()


@pytest.fixture
def client(app):
    """A browser without a session."""
    return app.test_client()


def login_form(login: str, password: str) -> dict[str, str]:
    """The login form's fields as the page posts them (ASP.NET WebForms names)."""
    return {LOGIN_FIELDS["login"]: login, LOGIN_FIELDS["password"]: password}


def log_in(client, login: Login = FIRST, password: str | None = None):
    """Post the login form."""
    return client.post(
        "/selfcare/login", data=login_form(login.login, PASSWORDS[login.login] if password is None else password)
    )


@pytest.fixture
def user(client):
    """A browser logged in as the first login."""
    assert log_in(client).status_code == 302
    return client


def select(client, **item):
    """Add an account or a number to the selection; return the answer."""
    return client.post("/selfcare/api/selection", json={"add": item})


def order(client, **changes):
    """Order the invoice for October 2026 (with ``changes`` to the request)."""
    body = {"document": "invoice", "period": "2026-10", "email": "robot@example.com", "format": "PDF", **changes}
    return client.post("/selfcare/api/orders", json=body)


def order_details(client, **changes):
    """Order the call details of the selection for October 2026 (with ``changes`` to the request)."""
    body = {
        "document": "call_details",
        "period_from": "01.10.2026",
        "period_to": "31.10.2026",
        "email": "robot@example.com",
        "format": "PDF",
        "accept": True,
        **changes,
    }
    return client.post("/selfcare/api/orders", json=body)


def change(client, body: dict):
    """Post a change of the selection; return the answer."""
    return client.post("/selfcare/api/selection", json=body)


def journal(data_dir: Path, name: str) -> list[dict]:
    """The records of one of the portal's JSON Lines logs."""
    path = data_dir / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def decoded_header(raw: bytes, name: str) -> str:
    """A header decoded by RFC 2047's rules.

    ``policy.default`` puts a space between adjacent encoded words of a display
    name, so the name is decoded with ``email.header`` instead.
    """
    return str(make_header(decode_header(email.message_from_bytes(raw)[name])))


def login_error(response) -> str:
    """The text of the login page's error box (its alert)."""
    (alert,) = [element for element in parse(response.text).descendants() if element.attrs.get("role") == "alert"]
    return alert.clean_text


def labelled(page: Element, label: str) -> Element:
    """The control the ``<label>`` with exactly this text names, as a person (and the robot) finds it."""
    (target,) = [element.attrs["for"] for element in page.find_all("label") if element.clean_text == label]
    return page.by_id(target)


# Login page and login attempts


def test_root_redirects_to_selfcare(client):
    """The site root opens the portal's entry page."""
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.endswith("/selfcare/")


def test_login_page_follows_the_dom_contract(client):
    """Public menu, heading, explanation, the form's labels and hint; WebForms names and a view state."""
    response = client.get("/selfcare/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = parse(response.text)
    assert page.find_all("html")[0].attrs["lang"] == "ru"
    text = page.clean_text
    for label in ("Частным клиентам", "Корпоративным клиентам", "О компании", "Дилерам",
                  "ВИРТУАЛЬНЫЙ МЕНЕДЖЕР", "Подробнее о Виртуальном менеджере", "Например, 9161234567"):
        assert label in text
    form = page.by_id("aspnetForm")
    assert (form.attrs["method"], form.attrs["action"]) == ("post", "/selfcare/login")
    assert [label.clean_text for label in form.find_all("label")] == ["Номер:", "Пароль:"]
    assert form.find_all("span", "prefix")[0].clean_text == "+7"
    number, password = labelled(page, "Номер:"), labelled(page, "Пароль:")
    assert number.attrs["placeholder"] == "Например, 9161234567"
    assert (number.attrs["type"], number.attrs["name"]) == ("text", LOGIN_FIELDS["login"])
    assert (password.attrs["type"], password.attrs["name"]) == ("password", LOGIN_FIELDS["password"])
    (submit,) = [i for i in form.find_all("input") if i.attrs.get("type") == "submit"]
    assert submit.attrs["value"] == "Войти"
    hidden = {i.attrs["name"] for i in form.find_all("input") if i.attrs.get("type") == "hidden"}
    assert hidden == {"__VIEWSTATE", "__EVENTVALIDATION"}
    assert page.find_all("span", "error") == []


def test_element_ids_are_the_frameworks_not_words(client, app):
    """Every id on the pages looks like ASP.NET WebForms' (``ctl00_…``), so that nothing can lean on it."""
    pages = [client.get("/selfcare/").text]
    log_in(client)
    pages += [client.get(path).text for path in ("/selfcare/vm", "/selfcare/vm/history")]
    app.config["OUTAGE"] = True
    pages.append(client.get("/selfcare/").text)
    ids = {element.attrs["id"] for text in pages for element in parse(text).descendants() if "id" in element.attrs}
    assert ids and all(re.fullmatch(r"ctl00_\w+|aspnetForm|__VIEWSTATE|__EVENTVALIDATION", i) for i in ids), ids


def test_login_ok_opens_the_virtual_manager(client):
    """The right password leads to /selfcare/vm with the company's name."""
    response = log_in(client)
    assert response.status_code == 302
    assert response.location.endswith("/selfcare/vm")
    page = parse(client.get("/selfcare/vm").text)
    assert FIRST.company in page.clean_text
    assert page.by_id("ctl00_lnkLogout").clean_text == "Выход"


def test_sessions_live_on_the_server(client, app):
    """The cookie is a random id that carries no state; Flask's cookie session is unused."""
    log_in(client)
    cookie = client.get_cookie("VMSESSIONID", path="/selfcare")
    assert cookie is not None and len(cookie.value) >= 32
    assert FIRST.login not in cookie.value
    assert client.get_cookie("session") is None
    assert app.extensions["portal"].sessions.get(cookie.value).login == FIRST.login


def test_wrong_password_and_unknown_login(client):
    """Both say «Неверный пароль»."""
    assert login_error(log_in(client, password="неверный")) == "Неверный пароль"
    unknown = client.post("/selfcare/login", data=login_form("9000000000", "x"))
    assert login_error(unknown) == "Неверный пароль"
    assert client.get("/selfcare/vm").status_code == 302


@pytest.mark.parametrize("value", ["916123456", "91612345678", "+79161234567", "916-123-45-6", ""])
def test_bad_number_format(client, value):
    """Anything but exactly ten digits is refused as a format error."""
    response = client.post("/selfcare/login", data=login_form(value, "x"))
    assert login_error(response) == "Вы ввели телефон в неверном формате"


def test_bad_format_does_not_count_as_an_attempt(client):
    """Many format errors leave the login usable."""
    for _ in range(6):
        client.post("/selfcare/login", data=login_form(FIRST.login[:-1], "x"))
    assert log_in(client).status_code == 302


def test_captcha_after_three_failures_then_lock(client):
    """3 failures bring the captcha, further attempts are refused, 5 lock the login."""
    captcha = "Введите символы, которые вы видите на картинке"
    locked = "Учетная запись заблокирована в связи с превышением попыток ввода пароля"
    errors = [login_error(log_in(client, password="неверный")) for _ in range(3)]
    assert errors == ["Неверный пароль", "Неверный пароль", captcha]
    refused = log_in(client)
    assert login_error(refused) == captcha
    assert labelled(parse(refused.text), "Символы с картинки:").attrs["name"] == LOGIN_FIELDS["captcha"]
    assert login_error(log_in(client)) == locked
    assert login_error(log_in(client)) == locked
    assert client.get("/selfcare/vm").status_code == 302
    assert log_in(client, SECOND).status_code == 302


def test_success_resets_the_failure_count(client):
    """Two failures, a success, two failures: still no captcha."""
    for _ in range(2):
        log_in(client, password="неверный")
    assert log_in(client).status_code == 302
    client.get("/selfcare/logout")
    for _ in range(2):
        assert login_error(log_in(client, password="неверный")) == "Неверный пароль"


def test_attempts_are_logged_without_passwords(client, tmp_path):
    """One line per POST with the outcome; the password never appears."""
    log_in(client, password="очень-секретно")
    client.post("/selfcare/login", data=login_form("12345", "очень-секретно"))
    client.post("/selfcare/login", data=login_form("очень-секретно", "x"))
    log_in(client)
    records = journal(tmp_path, "login_attempts.jsonl")
    assert [r["result"] for r in records] == ["wrong_password", "bad_format", "bad_format", "ok"]
    assert [r["login"] for r in records] == [FIRST.login, "12345", None, FIRST.login]
    assert all(set(r) == {"at", "login", "result"} for r in records)
    raw = (tmp_path / "login_attempts.jsonl").read_text(encoding="utf-8")
    assert "очень-секретно" not in raw
    assert PASSWORDS[FIRST.login] not in raw


def test_logout_ends_the_server_side_session(user, app):
    """After «Выход» the old session id no longer opens anything."""
    session_id = user.get_cookie("VMSESSIONID", path="/selfcare").value
    assert user.get("/selfcare/logout").status_code == 302
    assert app.extensions["portal"].sessions.get(session_id) is None
    user.set_cookie("VMSESSIONID", session_id, path="/selfcare")
    assert user.get("/selfcare/vm").status_code == 302
    assert user.get("/selfcare/api/selection").status_code == 401


def test_pages_and_api_need_a_session(client):
    """Pages send a stranger to the login page, the API answers 401."""
    for path in ("/selfcare/vm", "/selfcare/vm/history", "/selfcare/vm/bills"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/selfcare/")
    assert client.post("/selfcare/api/selection", json={"clear": True}).status_code == 401
    assert order(client).status_code == 401


# The Virtual Manager page and the selection


def test_virtual_manager_page_follows_the_dom_contract(user):
    """Tabs, hierarchy selector, the account tree, the selection and the order panel, as a person sees them."""
    page = parse(user.get("/selfcare/vm").text)
    assert page.find_all("h1")[0].clean_text == "Виртуальный менеджер"
    tabs = [a.clean_text for a in page.by_id("ctl00_tabMenu").find_all("a")]
    assert tabs == ["Операции с номерами", "История действий", "Управление иерархией", "Счета",
                    "Пользователи", "Роли", "Обращения"]
    assert labelled(page, "Иерархия").clean_text == "Биллинговая"
    assert button_values(page) >= {"Фильтр", "Выбранные", "Очистить", "Заказать документ", INVOICE_TITLE, DETAILS_TITLE}
    (tree_filter,) = [i for i in page.find_all("input") if i.attrs.get("placeholder") == "Номер или лицевой счёт"]
    assert tree_filter.attrs["name"] == "filter"

    tree = page.by_id("ctl00_MainContent_pnlTree")
    assert page.by_id(tree.attrs["aria-labelledby"]).clean_text == "Лицевые счета"
    accounts = tree.find_all("li", "account")
    assert [li.attrs["data-account"] for li in accounts] == [a.number for a in FIRST.accounts]
    for li, account in zip(accounts, FIRST.accounts, strict=True):
        assert li.attrs["draggable"] == "true"
        assert li.find_all("span", "account-number")[0].clean_text == f"ЛС {account.number}"
        numbers = li.find_all("li", "subscriber")
        assert [n.attrs["data-number"] for n in numbers] == [s.number for s in account.subscribers]
        assert all(n.attrs["draggable"] == "true" and n.clean_text == n.attrs["data-number"] for n in numbers)
        picks = [n.find_all("input", "pick") for n in numbers]
        assert all(len(pick) == 1 and pick[0].attrs["type"] == "checkbox" for pick in picks)
        assert [pick[0].attrs["aria-label"] for pick in picks] == [s.number for s in account.subscribers]

    selection = page.by_id("ctl00_MainContent_pnlSelection")
    assert "dropzone" in selection.attrs["class"].split()
    assert page.by_id(selection.attrs["aria-labelledby"]).clean_text == "Текущая выборка (0)"
    assert [th.clean_text for th in selection.find_all("th")] == ["Тип", "Абонентский номер", "Папка", "ФИО", ""]
    assert page.by_id("ctl00_MainContent_lblOrderError").attrs["role"] == "alert"
    assert page.by_id("ctl00_MainContent_lblOrderResult").attrs["role"] == "status"


def button_values(page: Element) -> set[str]:
    """The names of the page's buttons (``<button>`` texts and ``<input type=button|submit>`` values)."""
    inputs = {i.attrs["value"] for i in page.find_all("input") if i.attrs.get("type") in ("button", "submit")}
    return inputs | {button.clean_text for button in page.find_all("button")}


def shown_for(element: Element, document: str, step: int = 1) -> bool:
    """Whether the «Документ» window shows this element for ``document`` at the wizard's ``step``.

    ``data-for`` names the documents a part is for; ``data-step`` the call details' steps it belongs to.
    """
    if document not in element.attrs.get("data-for", document).split():
        return False
    return document == "invoice" or str(step) in element.attrs.get("data-step", str(step)).split()


def dialog_parts(dialog: Element, document: str, step: int = 1) -> list[Element]:
    """The window's elements as shown for ``document`` at ``step``."""
    left_out = {id(inner) for part in dialog.descendants() if not shown_for(part, document, step)
                for inner in (part, *part.descendants())}
    return [element for element in dialog.descendants() if id(element) not in left_out]


def dialog_labels(dialog: Element, document: str, step: int = 1) -> list[str]:
    """The window's labels as shown for ``document`` at ``step``."""
    return [part.clean_text for part in dialog_parts(dialog, document, step) if part.tag == "label"]


def dialog_buttons(dialog: Element, document: str, step: int = 1) -> list[str]:
    """The window's buttons as shown for ``document`` at ``step``."""
    return [part.attrs["value"] for part in dialog_parts(dialog, document, step)
            if part.tag == "input" and part.attrs.get("type") in ("button", "submit")]


def dialog_formats(page: Element, document: str) -> list[str]:
    """The formats the window offers for ``document``, in order."""
    return [option.attrs["value"] for option in labelled(page, "Формат данных").find_all("option")
            if shown_for(option, document)]


def test_document_dialog_offers_closed_months_newest_first(user):
    """The «Документ» window opens for the invoice: one window, the six months before November 2026, PDF only."""
    page = parse(user.get("/selfcare/vm").text)
    dialog = page.by_id("ctl00_MainContent_wndDocument")
    assert dialog.tag == "dialog"
    assert dialog.attrs["data-document"] == "invoice"
    assert page.by_id(dialog.attrs["aria-labelledby"]).clean_text == "Документ"
    assert f"Документ: «{INVOICE_TITLE}»" in dialog.clean_text
    assert dialog_labels(dialog, "invoice") == ["Период", "Отправить на", "Формат данных"]
    options = labelled(page, "Период").find_all("option")
    assert [o.attrs["value"] for o in options] == ["2026-10", "2026-09", "2026-08", "2026-07", "2026-06", "2026-05"]
    assert [o.clean_text for o in options][:2] == ["Октябрь 2026", "Сентябрь 2026"]
    assert labelled(page, "Отправить на").attrs["type"] == "text"
    assert dialog_formats(page, "invoice") == ["PDF"]
    for element in dialog.descendants():
        if element.tag != "option":
            assert ("hidden" in element.attrs) is not shown_for(element, "invoice"), element
    assert dialog_buttons(dialog, "invoice") == ["Заказать", "Отмена"]
    (alert,) = [part for part in dialog.descendants() if part.attrs.get("role") == "alert"]
    assert alert.clean_text == ""


def test_call_details_are_ordered_in_steps_with_dates_typed_as_text(user):
    """The same window takes the call details as a wizard: period, delivery, format, confirmation."""
    account = FIRST.accounts[0]
    select(user, account=account.number)
    page = parse(user.get("/selfcare/vm").text)
    dialog = page.by_id("ctl00_MainContent_wndDocument")
    steps = [[part.clean_text for part in dialog_parts(dialog, "call_details", step) if part.tag == "h3"]
             for step in (1, 2, 3, 4)]
    assert steps == [["Шаг 1 из 4. Период"], ["Шаг 2 из 4. Способ доставки"], ["Шаг 3 из 4. Формат"],
                     ["Шаг 4 из 4. Подтверждение"]]
    assert [dialog_labels(dialog, "call_details", step) for step in (1, 2, 3, 4)] == [
        ["Период с", "по"], ["Отправить на"], ["Формат данных"], [ACCEPT_RULES]]
    assert [dialog_buttons(dialog, "call_details", step) for step in (1, 2, 3, 4)] == [
        ["Далее", "Отмена"], ["Назад", "Далее", "Отмена"], ["Назад", "Далее", "Отмена"],
        ["Назад", "Заказать", "Отмена"]]
    header = f"Текущая выборка ({len(account.subscribers)}): один контракт, однотиповая"
    shown = " ".join(part.clean_text for part in dialog_parts(dialog, "call_details", 1) if part.tag == "p")
    assert header in shown and numbers_chosen(len(account.subscribers)) in shown
    kinds = json.loads(page.by_id("ctl00_MainContent_hfTexts").text)["kinds"]
    assert kinds == {"invoice": f"Документ: «{INVOICE_TITLE}»", "call_details": f"Документ: «{DETAILS_TITLE}»"}
    first, last = labelled(page, "Период с"), labelled(page, "по")
    for day in (first, last):
        assert day.tag == "input" and day.attrs["type"] == "text"
        assert (day.attrs["placeholder"], day.attrs["maxlength"]) == ("ДД.ММ.ГГГГ", "10")
    assert (first.attrs["value"], last.attrs["value"]) == ("01.10.2026", "31.10.2026")
    assert "Детализация доступна с 16.05.2026 по 14.11.2026" in dialog.clean_text
    assert 'type="date"' not in user.get("/selfcare/vm").text
    assert dialog_formats(page, "call_details") == ["PDF", "XML", "HTML"]
    (warning,) = [part for part in dialog_parts(dialog, "call_details", 3) if "warning" in part.attrs.get("class", "")]
    assert warning.clean_text == SIZE_WARNING
    accept = labelled(page, ACCEPT_RULES)
    assert accept.tag == "input" and accept.attrs["type"] == "checkbox" and "checked" not in accept.attrs


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "Выбрано 0 номеров"), (1, "Выбрано 1 номер"), (2, "Выбрано 2 номера"), (4, "Выбрано 4 номера"),
     (5, "Выбрано 5 номеров"), (11, "Выбрано 11 номеров"), (12, "Выбрано 12 номеров"), (21, "Выбрано 21 номер"),
     (22, "Выбрано 22 номера"), (111, "Выбрано 111 номеров"), (302, "Выбрано 302 номера")],
)
def test_numbers_chosen_agrees_with_the_count(count, text):
    """«Выбрано N номеров» with the Russian plural."""
    assert numbers_chosen(count) == text


def test_dropping_an_account_selects_all_its_numbers(user):
    """One account: «один контракт, однотиповая» with a row per number."""
    account = FIRST.accounts[0]
    response = select(user, account=account.number)
    assert response.status_code == 200
    state = response.json
    count = len(account.subscribers)
    assert state["header"] == f"Текущая выборка ({count}): один контракт, однотиповая"
    assert state["orderable"] is True and state["account"] == account.number
    assert [row["number"] for row in state["rows"]] == [s.number for s in account.subscribers]
    first = account.subscribers[0]
    assert {k: state["rows"][0][k] for k in ("type", "number", "folder", "full_name")} == {
        "type": first.type, "number": first.number, "folder": first.folder, "full_name": first.full_name}


def test_selection_survives_a_reload(user):
    """The page shows the stored selection."""
    account = FIRST.accounts[1]
    select(user, account=account.number)
    page = parse(user.get("/selfcare/vm").text)
    header = page.by_id("ctl00_MainContent_lblSelection").clean_text
    assert header.startswith(f"Текущая выборка ({len(account.subscribers)}): ")
    rows = page.by_id("ctl00_MainContent_gvSelection").find_all("tbody")[0].find_all("tr")
    assert [row.find_all("td")[1].clean_text for row in rows] == [s.number for s in account.subscribers]
    assert account.subscribers[0].full_name in rows[0].clean_text


def test_numbers_of_two_contracts(user):
    """A number of another account makes «несколько контрактов», not orderable."""
    first, second = FIRST.accounts[:2]
    select(user, number=first.subscribers[0].number)
    assert user.get("/selfcare/api/selection").json["header"] == "Текущая выборка (1): один контракт, однотиповая"
    state = select(user, number=second.subscribers[0].number).json
    assert state["header"] == "Текущая выборка (2): несколько контрактов"
    assert state["orderable"] is False and state["order_error"] == "Выберите номера одного контракта"


def test_adding_twice_and_clearing(user):
    """A number already selected is not added again; «Очистить» empties the selection."""
    account = FIRST.accounts[0]
    select(user, number=account.subscribers[0].number)
    state = select(user, account=account.number).json
    assert state["count"] == len(account.subscribers)
    state = user.post("/selfcare/api/selection", json={"clear": True}).json
    assert state["header"] == "Текущая выборка (0)" and state["rows"] == []


def test_only_the_logins_own_accounts_and_numbers(user):
    """Another company's account or number is not found; a malformed request is refused."""
    other = SECOND.accounts[0]
    assert select(user, account=other.number).status_code == 404
    assert select(user, number=other.subscribers[0].number).status_code == 404
    assert select(user, account="000000000000").json["error"] == "Лицевой счёт не найден"
    assert user.post("/selfcare/api/selection", json={"remove": 1}).status_code == 400
    assert user.post("/selfcare/api/selection", data="not json").status_code == 400
    assert user.get("/selfcare/api/selection").json["count"] == 0


def test_several_numbers_at_once(user):
    """Checked numbers arrive together, in the order given; one unknown number adds none."""
    first, second, third = FIRST.accounts[0].subscribers[:3]
    state = select(user, numbers=[third.number, first.number]).json
    assert [row["number"] for row in state["rows"]] == [third.number, first.number]
    assert state["header"] == "Текущая выборка (2): один контракт, однотиповая"
    assert state["chosen"] == "Выбрано 2 номера"
    state = select(user, numbers=[first.number, second.number]).json
    assert [row["number"] for row in state["rows"]] == [third.number, first.number, second.number]
    foreign = SECOND.accounts[0].subscribers[0].number
    assert select(user, numbers=[FIRST.accounts[1].subscribers[0].number, foreign]).status_code == 404
    for bad in ([], "79000000000", None):
        assert select(user, numbers=bad).status_code == 400
    assert user.get("/selfcare/api/selection").json["count"] == 3


def test_removing_numbers(user):
    """«Удалить» takes one number out; a number not selected leaves the selection as it is."""
    account = FIRST.accounts[0]
    first, second = account.subscribers[:2]
    select(user, account=account.number)
    state = change(user, {"remove": {"number": first.number}}).json
    assert [row["number"] for row in state["rows"]] == [s.number for s in account.subscribers[1:]]
    assert state["header"] == f"Текущая выборка ({len(account.subscribers) - 1}): один контракт, однотиповая"
    assert change(user, {"remove": {"number": first.number}}).json["count"] == len(account.subscribers) - 1
    assert change(user, {"remove": {"number": SECOND.accounts[0].subscribers[0].number}}).status_code == 404
    assert change(user, {"remove": {}}).status_code == 400
    for subscriber in account.subscribers[1:]:
        state = change(user, {"remove": {"number": subscriber.number}}).json
    assert state["header"] == "Текущая выборка (0)" and state["orderable"] is False
    select(user, number=second.number)
    page = parse(user.get("/selfcare/vm").text)
    (row,) = page.by_id("ctl00_MainContent_gvSelection").find_all("tbody")[0].find_all("tr")
    assert row.attrs["data-number"] == second.number
    assert [button.clean_text for button in row.find_all("button", "remove")] == ["Удалить"]


def test_several_numbers_of_two_contracts(user):
    """Numbers of two contracts at once: «несколько контрактов», and no document can be ordered."""
    numbers = [FIRST.accounts[0].subscribers[0].number, FIRST.accounts[1].subscribers[0].number]
    state = select(user, numbers=numbers).json
    assert state["header"] == "Текущая выборка (2): несколько контрактов"
    assert state["orderable"] is False and state["order_error"] == "Выберите номера одного контракта"
    assert order_details(user).json["error"] == "Выберите номера одного контракта"
    assert order(user).json["error"] == "Выберите номера одного контракта"


def test_one_contract_of_several_types(tmp_path):
    """Numbers of one contract but two types cannot be ordered together."""
    subscribers = (
        Subscriber("79990000001", "GSM", "Склад", "Иванов Иван Иванович", "89701000000000000001"),
        Subscriber("79990000002", "M2M", "Склад", "Петрова Анна Сергеевна", "89701000000000000002"),
    )
    login = Login("9990000000", "ООО «Проба»", (Account("277300000001", "100000001", subscribers),))
    app = make_app(tmp_path, logins=(login,), passwords={login.login: "pw"})
    client = app.test_client()
    client.post("/selfcare/login", data=login_form(login.login, "pw"))
    state = select(client, account="277300000001").json
    assert state["header"] == "Текущая выборка (2): один контракт, разнотиповая"
    assert state["orderable"] is False
    assert order(client).status_code == 400


# Orders, history and delivery


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"period": "2026-11"}, "Расчётный период не закрыт"),
        ({"period": "2027-01"}, "Расчётный период не закрыт"),
        ({"period": "2026-04"}, "Период недоступен"),
        ({"period": "10.2026"}, "Укажите период в формате ГГГГ-ММ"),
        ({"email": "robot"}, "Укажите корректный адрес электронной почты"),
        ({"email": "robot@example.com\r\nBcc: x@example.com"}, "Укажите корректный адрес электронной почты"),
        ({"email": ""}, "Укажите корректный адрес электронной почты"),
        ({"format": "XML"}, "Формат недоступен"),
        ({"format": "HTML"}, "Формат недоступен"),
        ({"document": "contract"}, "Неизвестный документ"),
    ],
)
def test_order_validation(user, tmp_path, changes, message):
    """Open, future, too old or malformed periods, bad addresses and formats are refused."""
    select(user, account=FIRST.accounts[0].number)
    response = order(user, **changes)
    assert response.status_code == 400
    assert response.json["error"].startswith(message)
    assert journal(tmp_path, "orders.jsonl") == []


def test_order_needs_an_orderable_selection(user, tmp_path):
    """An empty or mixed selection cannot be ordered."""
    response = order(user)
    assert response.status_code == 400
    assert response.json["error"].startswith("Выборка пуста")
    select(user, number=FIRST.accounts[0].subscribers[0].number)
    select(user, number=FIRST.accounts[1].subscribers[0].number)
    assert order(user).json["error"] == "Выберите номера одного контракта"
    assert user.post("/selfcare/api/orders", data="not json").status_code == 400
    assert journal(tmp_path, "orders.jsonl") == []


def test_accepted_order_is_logged_and_shown_in_history(user, tmp_path):
    """201 with an 8-digit number; a line in orders.jsonl; a row in «История действий»."""
    account = FIRST.accounts[0]
    select(user, account=account.number)
    response = order(user, email="  robot@example.com ")
    assert response.status_code == 201
    order_id = response.json["order_id"]
    assert len(order_id) == 8 and order_id.isdigit()
    assert response.json["message"] == f"Заказ № {order_id} принят. Документ будет отправлен на robot@example.com"

    (record,) = journal(tmp_path, "orders.jsonl")
    assert set(record) == {"order_id", "at", "login", "account", "document", "period", "email", "format"}
    assert {k: v for k, v in record.items() if k != "at"} == {
        "order_id": order_id, "login": FIRST.login, "account": account.number, "document": "invoice",
        "period": "2026-10", "email": "robot@example.com", "format": "PDF"}

    page = parse(user.get("/selfcare/vm/history").text)
    table = page.by_id("ctl00_MainContent_gvHistory")
    assert [th.clean_text for th in table.find_all("th")] == [
        "Пользователь", "Лицевой счёт", "Действие", "Период", "Дата", "Номер заказа", "Абонентские номера"]
    (row,) = table.find_all("tbody")[0].find_all("tr")
    cells = [td.clean_text for td in row.find_all("td")]
    assert cells[0] == FIRST.login
    assert cells[1] == account.number
    assert cells[2] == f"Заказ документа «{INVOICE_TITLE}»"
    assert cells[3] == "01.10.2026 – 31.10.2026"
    assert cells[5] == order_id
    assert cells[6] == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"period_to": "15.11.2026"}, "Период не завершён"),
        ({"period_from": "01.11.2026", "period_to": "31.12.2026"}, "Период не завершён"),
        ({"period_from": "01.11.2026", "period_to": "31.10.2026"}, "Дата начала периода позже даты окончания"),
        ({"period_from": "15.05.2026"}, "Период недоступен: детализация хранится за последние 183 дн."),
        ({"period_from": "2026-10-01"}, "Укажите даты периода в формате ДД.ММ.ГГГГ"),
        ({"period_to": "32.10.2026"}, "Укажите даты периода в формате ДД.ММ.ГГГГ"),
        ({"period_to": "31.10.26"}, "Укажите даты периода в формате ДД.ММ.ГГГГ"),
        ({"period_to": "31102026"}, "Укажите даты периода в формате ДД.ММ.ГГГГ"),
        ({"period_from": "10/01/2026"}, "Укажите даты периода в формате ДД.ММ.ГГГГ"),
        ({"period_from": ""}, "Укажите даты периода в формате ДД.ММ.ГГГГ"),
        ({"period_from": None}, "Укажите даты периода в формате ДД.ММ.ГГГГ"),
        ({"accept": False}, "Примите правила использования системы"),
        ({"accept": "true"}, "Примите правила использования системы"),
        ({"accept": None}, "Примите правила использования системы"),
        ({"email": "robot@"}, "Укажите корректный адрес электронной почты"),
        ({"format": "XLS"}, "Формат недоступен"),
    ],
)
def test_call_details_order_validation(user, tmp_path, changes, message):
    """Unfinished, reversed, too old or malformed periods, the rules not accepted, bad address or format."""
    select(user, account=FIRST.accounts[0].number)
    response = order_details(user, **changes)
    assert response.status_code == 400
    assert response.json["error"].startswith(message)
    assert journal(tmp_path, "orders.jsonl") == []


def test_call_details_period_limits(tmp_path):
    """Yesterday is the last day that can be ordered; the history's length is a setting."""
    app = make_app(tmp_path, details_history_days=30)
    client = app.test_client()
    log_in(client)
    select(client, account=FIRST.accounts[0].number)
    assert order_details(client, period_from="16.10.2026", period_to="14.11.2026").status_code == 201
    refused = order_details(client, period_from="15.10.2026", period_to="20.10.2026")
    assert refused.json["error"] == "Период недоступен: детализация хранится за последние 30 дн."
    page = parse(client.get("/selfcare/vm").text)
    assert (labelled(page, "Период с").attrs["value"], labelled(page, "по").attrs["value"]) == (
        "16.10.2026", "31.10.2026")
    assert "Детализация доступна с 16.10.2026 по 14.11.2026" in page.clean_text
    app.extensions["portal"].shutdown()


def test_call_details_need_an_orderable_selection(user, tmp_path):
    """An empty selection cannot be ordered either."""
    assert order_details(user).json["error"].startswith("Выборка пуста")
    assert journal(tmp_path, "orders.jsonl") == []


def test_accepted_call_details_order_is_logged_and_shown_in_history(user, tmp_path):
    """The order log keeps the numbers in selection order and the dates; the history shows both."""
    account = FIRST.accounts[0]
    chosen = [account.subscribers[2].number, account.subscribers[0].number]
    select(user, numbers=chosen)
    response = order_details(user, period_from="14.09.2026", period_to="20.10.2026", format="xml")
    assert response.status_code == 201
    order_id = response.json["order_id"]
    assert response.json["message"] == f"Заказ № {order_id} принят. Документ будет отправлен на robot@example.com"
    assert response.json["numbers"] == chosen and response.json["format"] == "XML"

    (record,) = journal(tmp_path, "orders.jsonl")
    assert {k: v for k, v in record.items() if k != "at"} == {
        "order_id": order_id, "login": FIRST.login, "account": account.number, "document": "call_details",
        "email": "robot@example.com", "format": "XML", "numbers": chosen,
        "period_from": "2026-09-14", "period_to": "2026-10-20"}

    history = parse(user.get("/selfcare/vm/history").text).by_id("ctl00_MainContent_gvHistory")
    (row,) = history.find_all("tbody")[0].find_all("tr")
    cells = [td.clean_text for td in row.find_all("td")]
    assert cells[2] == f"Заказ документа «{DETAILS_TITLE}»"
    assert cells[3] == "14.09.2026 – 20.10.2026"
    assert cells[5] == order_id
    assert cells[6] == ", ".join(chosen)


def test_history_shows_only_the_logins_orders(user, tmp_path):
    """Another company's user does not see these orders."""
    select(user, account=FIRST.accounts[0].number)
    assert order(user).status_code == 201
    other = make_app(tmp_path).test_client()
    log_in(other, SECOND)
    page = parse(other.get("/selfcare/vm/history").text)
    assert page.by_id("ctl00_MainContent_gvHistory").find_all("tbody")[0].find_all("tr") == []


def test_order_is_delivered_by_email_with_the_invoice(tmp_path, smtp):
    """One message from the portal's sender with the order number and the PDF."""
    port, inbox = smtp
    app = make_app(tmp_path, smtp_port=port)
    client = app.test_client()
    log_in(client)
    account = FIRST.accounts[1]
    select(client, account=account.number)
    order_id = order(client, email="buh@example.com").json["order_id"]
    assert app.extensions["portal"].wait_deliveries(10)

    (message,) = inbox.messages
    assert inbox.recipients == [["buh@example.com"]]
    assert message["Subject"] == f"Заказ № {order_id}: {INVOICE_TITLE}"
    assert decoded_header(inbox.raw[0], "From") == "Виртуальный менеджер МТС <vm-noreply@ihelper.mts.ru>"
    assert message["To"] == "buh@example.com"
    assert order_id in message.get_body(("plain",)).get_content()
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == invoice_filename(account, "2026-10")
    assert attachment.get_content() == render_invoice_pdf(FIRST, account, "2026-10", 1)

    (delivery,) = journal(tmp_path, "deliveries.jsonl")
    assert (delivery["order_id"], delivery["status"], delivery["to"]) == (order_id, "sent", "buh@example.com")


def deliver_call_details(tmp_path: Path, smtp, numbers: list[str], **options) -> tuple[str, email.message.Message]:
    """Order October's call details of ``numbers`` from a fresh portal; return the order id and the e-mail."""
    port, inbox = smtp
    fmt = options.pop("fmt", "PDF")
    app = make_app(tmp_path, smtp_port=port, **options)
    client = app.test_client()
    log_in(client)
    select(client, numbers=numbers)
    order_id = order_details(client, format=fmt, email="buh@example.com").json["order_id"]
    assert app.extensions["portal"].wait_deliveries(30)
    (message,) = inbox.messages
    return order_id, message


def expected_details(subscribers, fmt: str, account: Account | None = None, period=OCTOBER) -> tuple[str, bytes]:
    """The file name and content of the call details of ``subscribers`` (of the first account by default)."""
    account = account or FIRST.accounts[0]
    name = call_details_filename(account, *period, fmt)
    return name, render_call_details(FIRST, account, subscribers, *period, fmt, 1)


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PDF", "application/pdf"), ("XML", "application/xml"), ("HTML", "text/html")]
)
def test_call_details_are_delivered_in_each_format(tmp_path, smtp, fmt, content_type):
    """One e-mail with the order number in the subject and one attachment: the numbers in selection order."""
    subscribers = [FIRST.accounts[0].subscribers[1], FIRST.accounts[0].subscribers[0]]
    order_id, message = deliver_call_details(tmp_path, smtp, [s.number for s in subscribers], fmt=fmt)
    assert message["Subject"] == f"Заказ № {order_id}: {DETAILS_TITLE}"
    assert message["To"] == "buh@example.com"
    body = message.get_body(("plain",)).get_content()
    assert order_id in body and "01.10.2026 – 31.10.2026" in body and subscribers[0].number in body
    (attachment,) = message.iter_attachments()
    name, content = expected_details(subscribers, fmt)
    assert attachment.get_content_type() == content_type
    assert attachment.get_filename() == name
    assert attachment.get_payload(decode=True) == content
    (delivery,) = journal(tmp_path, "deliveries.jsonl")
    assert (delivery["order_id"], delivery["status"], delivery["attachment"]) == (order_id, "sent", name)
    assert delivery["content_type"] == content_type


def test_a_large_document_is_zipped(tmp_path, smtp):
    """Above the threshold the document travels alone in a deflated ZIP named after it."""
    subscribers = list(FIRST.accounts[0].subscribers)
    name, content = expected_details(subscribers, "HTML")
    order_id, message = deliver_call_details(
        tmp_path, smtp, [s.number for s in subscribers], fmt="HTML", zip_above_bytes=len(content) - 1)
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/zip"
    assert attachment.get_filename() == f"{name}.zip"
    with zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True))) as archive:
        (member,) = archive.infolist()
        assert member.filename == name and member.compress_type == zipfile.ZIP_DEFLATED
        assert archive.read(member) == content
    (delivery,) = journal(tmp_path, "deliveries.jsonl")
    assert (delivery["order_id"], delivery["attachment"], delivery["content_type"]) == (
        order_id, f"{name}.zip", "application/zip")


def test_invoices_are_never_zipped(tmp_path, smtp):
    """The threshold applies to call details only."""
    port, inbox = smtp
    app = make_app(tmp_path, smtp_port=port, zip_above_bytes=0)
    client = app.test_client()
    log_in(client)
    select(client, account=FIRST.accounts[0].number)
    order(client)
    assert app.extensions["portal"].wait_deliveries(10)
    (attachment,) = inbox.messages[0].iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == invoice_filename(FIRST.accounts[0], "2026-10")

def test_a_document_of_the_threshold_size_is_not_zipped(tmp_path, smtp):
    """Only a document larger than the threshold is zipped."""
    subscribers = [FIRST.accounts[0].subscribers[0]]
    name, content = expected_details(subscribers, "XML")
    _, message = deliver_call_details(tmp_path, smtp, [subscribers[0].number], fmt="XML", zip_above_bytes=len(content))
    (attachment,) = message.iter_attachments()
    assert (attachment.get_filename(), attachment.get_payload(decode=True)) == (name, content)


def test_wrong_document_fault(tmp_path, smtp):
    """While the switch is on, the ordered file name carries another account's earlier month."""
    port, inbox = smtp
    app = make_app(tmp_path, smtp_port=port)
    app.config["WRONG_DOCUMENT"] = True
    client = app.test_client()
    log_in(client)
    ordered, other = FIRST.accounts[:2]
    select(client, numbers=[ordered.subscribers[0].number])
    order_details(client, format="XML")
    client.post("/selfcare/api/selection", json={"clear": True})
    select(client, account=ordered.number)
    order(client)
    assert app.extensions["portal"].wait_deliveries(30)
    app.config["WRONG_DOCUMENT"] = False
    order(client)
    assert app.extensions["portal"].wait_deliveries(30)

    faulty, (right,) = inbox.messages[:2], inbox.messages[2:]
    (details,) = (next(m.iter_attachments()) for m in faulty if m["Subject"].endswith(DETAILS_TITLE))
    (invoice,) = (next(m.iter_attachments()) for m in faulty if m["Subject"].endswith(INVOICE_TITLE))
    right = next(right.iter_attachments())
    name, content = expected_details([ordered.subscribers[0]], "XML")
    _, wrong = expected_details(other.subscribers, "XML", other, (date(2026, 9, 1), date(2026, 9, 30)))
    assert details.get_filename() == name and details.get_content_type() == "application/xml"
    assert details.get_payload(decode=True) == wrong != content
    assert invoice.get_filename() == invoice_filename(ordered, "2026-10")
    assert invoice.get_payload(decode=True) == render_invoice_pdf(FIRST, other, "2026-09", 1)
    assert right.get_payload(decode=True) == render_invoice_pdf(FIRST, ordered, "2026-10", 1)


def test_failed_delivery_is_recorded(user, app, tmp_path):
    """Without an SMTP receiver the delivery is journaled as failed."""
    select(user, account=FIRST.accounts[0].number)
    order_id = order(user).json["order_id"]
    assert app.extensions["portal"].wait_deliveries(10)
    (delivery,) = journal(tmp_path, "deliveries.jsonl")
    assert (delivery["order_id"], delivery["status"]) == (order_id, "failed")
    assert delivery["error"]


def test_shutdown_cancels_pending_deliveries(tmp_path, smtp):
    """A delivery not yet due is cancelled and never sent."""
    port, inbox = smtp
    app = make_app(tmp_path, smtp_port=port, delivery_delay=30)
    client = app.test_client()
    log_in(client)
    select(client, account=FIRST.accounts[0].number)
    order_id = order(client).json["order_id"]
    portal = app.extensions["portal"]
    assert portal.wait_deliveries(0.2) is False
    portal.shutdown()
    assert portal.wait_deliveries(1)
    (delivery,) = journal(tmp_path, "deliveries.jsonl")
    assert (delivery["order_id"], delivery["status"]) == (order_id, "cancelled")
    assert inbox.messages == []


# Outage


def test_outage_answers_503_everywhere(user, app):
    """Pages show the outage text in #portal-error, the API answers it as JSON."""
    app.config["OUTAGE"] = True
    for path in ("/selfcare/", "/selfcare/vm", "/selfcare/vm/history"):
        response = user.get(path)
        assert response.status_code == 503
        error = parse(response.text).by_id("ctl00_MainContent_lblMessage")
        assert error.clean_text == OUTAGE and error.attrs["role"] == "alert"
    assert log_in(user).status_code == 503
    number = FIRST.accounts[0].subscribers[0].number
    for response in (
        user.get("/selfcare/api/selection"),
        select(user, account=FIRST.accounts[0].number),
        select(user, numbers=[number]),
        change(user, {"remove": {"number": number}}),
        order(user),
        order_details(user),
    ):
        assert response.status_code == 503
        assert response.json == {"error": OUTAGE}
    assert user.get("/selfcare/static/vm.js").status_code == 200
    app.config["OUTAGE"] = False
    assert user.get("/selfcare/vm").status_code == 200


# Options of python -m sandbox


def test_sandbox_options_reach_the_portal():
    """The portal's settings and fault switches can be given on the command line."""
    args = parse_args(["--data-dir", "d", "--env-file", "e"])
    assert (args.details_history_days, args.zip_above, args.fault) == (183, 5 * 1024 * 1024, [])
    args = parse_args(["--data-dir", "d", "--env-file", "e", "--details-history-days", "90", "--zip-above", "0",
                       "--fault", "wrong-document"])
    assert (args.details_history_days, args.zip_above, args.fault) == (90, 0, ["wrong-document"])
    for bad in (["--fault", "no-such-fault"], ["--zip-above", "-1"], ["--details-history-days", "0"]):
        with pytest.raises(SystemExit):
            parse_args(["--data-dir", "d", "--env-file", "e", *bad])


def test_fault_switches_start_off(app):
    """A new portal delivers the right documents."""
    assert app.config["WRONG_DOCUMENT"] is False


def test_an_outage_file_in_the_data_folder_switches_the_portal_off_and_on(client, tmp_path):
    """A test outside the process can start and end an outage with a file."""
    (tmp_path / "OUTAGE").touch()
    response = client.get("/selfcare/")
    assert response.status_code == 503
    assert "Получение запрошенной информации в данный момент недоступно" in response.get_data(as_text=True)
    (tmp_path / "OUTAGE").unlink()
    assert client.get("/selfcare/").status_code == 200
