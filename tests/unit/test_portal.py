"""The portal stand-in: login limits, selection, orders, history, delivery, outage."""

from __future__ import annotations

import email
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import date
from email import policy
from email.header import decode_header, make_header
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from sandbox.dataset import Account, Login, Subscriber, generate
from sandbox.invoice import invoice_filename, render_invoice_pdf
from sandbox.portal import create_app

LOGINS = generate(1)
FIRST, SECOND = LOGINS
PASSWORDS = {login.login: f"пароль-{login.login}" for login in LOGINS}
TODAY = date(2026, 11, 15)
INVOICE_TITLE = "Сформированные счета закрытых расчётных периодов"
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
             logins=LOGINS, passwords=PASSWORDS):
    """A portal on a fixed today, delivering quickly to ``smtp_port``."""
    app = create_app(
        logins,
        passwords,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port or free_port(),
        delivery_delay=delivery_delay,
        data_dir=data_dir,
        today=lambda: TODAY,
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


def log_in(client, login: Login = FIRST, password: str | None = None):
    """Post the login form."""
    return client.post(
        "/selfcare/login",
        data={"login": login.login, "password": PASSWORDS[login.login] if password is None else password},
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
    """The text of the login page's error box."""
    return parse(response.text).by_id("login-error").clean_text


# Login page and login attempts


def test_root_redirects_to_selfcare(client):
    """The site root opens the portal's entry page."""
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.endswith("/selfcare/")


def test_login_page_follows_the_dom_contract(client):
    """Public menu, heading, explanation, the form's labels, ids and hint."""
    response = client.get("/selfcare/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = parse(response.text)
    assert page.find_all("html")[0].attrs["lang"] == "ru"
    text = page.clean_text
    for label in ("Частным клиентам", "Корпоративным клиентам", "О компании", "Дилерам",
                  "ВИРТУАЛЬНЫЙ МЕНЕДЖЕР", "Подробнее о Виртуальном менеджере", "Например, 9161234567"):
        assert label in text
    form = page.by_id("login-form")
    assert (form.attrs["method"], form.attrs["action"]) == ("post", "/selfcare/login")
    labels = {label.attrs["for"]: label.clean_text for label in form.find_all("label")}
    assert labels == {"login": "Номер:", "password": "Пароль:"}
    assert form.find_all("span", "prefix")[0].clean_text == "+7"
    assert page.by_id("login").attrs["placeholder"] == "Например, 9161234567"
    assert page.by_id("login").attrs["name"] == "login"
    assert page.by_id("password").attrs["type"] == "password"
    assert page.by_id("login-submit").clean_text == "Войти"
    assert not page.has_id("login-error")


def test_login_ok_opens_the_virtual_manager(client):
    """The right password leads to /selfcare/vm with the company's name."""
    response = log_in(client)
    assert response.status_code == 302
    assert response.location.endswith("/selfcare/vm")
    page = parse(client.get("/selfcare/vm").text)
    assert FIRST.company in page.clean_text
    assert page.by_id("logout").clean_text == "Выход"


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
    unknown = client.post("/selfcare/login", data={"login": "9000000000", "password": "x"})
    assert login_error(unknown) == "Неверный пароль"
    assert client.get("/selfcare/vm").status_code == 302


@pytest.mark.parametrize("value", ["916123456", "91612345678", "+79161234567", "916-123-45-6", ""])
def test_bad_number_format(client, value):
    """Anything but exactly ten digits is refused as a format error."""
    response = client.post("/selfcare/login", data={"login": value, "password": "x"})
    assert login_error(response) == "Вы ввели телефон в неверном формате"


def test_bad_format_does_not_count_as_an_attempt(client):
    """Many format errors leave the login usable."""
    for _ in range(6):
        client.post("/selfcare/login", data={"login": FIRST.login[:-1], "password": "x"})
    assert log_in(client).status_code == 302


def test_captcha_after_three_failures_then_lock(client):
    """3 failures bring the captcha, further attempts are refused, 5 lock the login."""
    captcha = "Введите символы, которые вы видите на картинке"
    locked = "Учетная запись заблокирована в связи с превышением попыток ввода пароля"
    errors = [login_error(log_in(client, password="неверный")) for _ in range(3)]
    assert errors == ["Неверный пароль", "Неверный пароль", captcha]
    refused = log_in(client)
    assert login_error(refused) == captcha
    assert parse(refused.text).has_id("captcha")
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
    client.post("/selfcare/login", data={"login": "12345", "password": "очень-секретно"})
    client.post("/selfcare/login", data={"login": "очень-секретно", "password": "x"})
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
    """Tabs, hierarchy selector, the account tree, the selection and the order panel."""
    page = parse(user.get("/selfcare/vm").text)
    assert page.find_all("h1")[0].clean_text == "Виртуальный менеджер"
    tabs = [a.clean_text for a in page.by_id("tabs").find_all("a")]
    assert tabs == ["Операции с номерами", "История действий", "Управление иерархией", "Счета",
                    "Пользователи", "Роли", "Обращения"]
    assert page.by_id("hierarchy").clean_text == "Биллинговая"
    assert "Фильтр" in page.clean_text and "Выбранные" in page.clean_text

    tree = page.by_id("tree")
    assert tree.attrs["aria-label"] == "Лицевые счета"
    accounts = tree.find_all("li", "account")
    assert [li.attrs["data-account"] for li in accounts] == [a.number for a in FIRST.accounts]
    for li, account in zip(accounts, FIRST.accounts):
        assert li.attrs["draggable"] == "true"
        assert f"ЛС {account.number}" in li.clean_text
        numbers = li.find_all("li", "subscriber")
        assert [n.attrs["data-number"] for n in numbers] == [s.number for s in account.subscribers]
        assert all(n.attrs["draggable"] == "true" and n.clean_text == n.attrs["data-number"] for n in numbers)

    selection = page.by_id("selection")
    assert "dropzone" in selection.attrs["class"].split()
    assert page.by_id("selection-header").clean_text == "Текущая выборка (0)"
    assert [th.clean_text for th in page.by_id("selection-table").find_all("th")] == [
        "Тип", "Абонентский номер", "Папка", "ФИО"]
    assert page.by_id("selection-clear").clean_text == "Очистить"

    assert page.by_id("order-document-toggle").clean_text == "Заказать документ"
    assert page.by_id("order-invoice").clean_text == INVOICE_TITLE
    assert page.by_id("order-call-details").clean_text == "Детализация разговоров"
    assert page.by_id("order-error").attrs["role"] == "alert"
    assert page.by_id("order-result").attrs["role"] == "status"


def test_document_dialog_offers_closed_months_newest_first(user):
    """The «Документ» window lists the six months before November 2026."""
    page = parse(user.get("/selfcare/vm").text)
    dialog = page.by_id("document-dialog")
    assert dialog.tag == "dialog"
    assert page.by_id("document-dialog-title").clean_text == "Документ"
    assert page.by_id("doc-kind").clean_text == f"Документ: «{INVOICE_TITLE}»"
    labels = {label.attrs["for"]: label.clean_text for label in dialog.find_all("label")}
    assert labels == {"doc-period": "Период", "doc-email": "Отправить на", "doc-format": "Формат"}
    options = page.by_id("doc-period").find_all("option")
    assert [o.attrs["value"] for o in options] == ["2026-10", "2026-09", "2026-08", "2026-07", "2026-06", "2026-05"]
    assert options[0].clean_text == "Октябрь 2026"
    assert page.by_id("doc-email").attrs["type"] == "email"
    assert [(o.attrs["value"], o.clean_text) for o in page.by_id("doc-format").find_all("option")] == [("PDF", "PDF")]
    assert page.by_id("doc-submit").clean_text == "Заказать"
    assert "Отмена" in dialog.clean_text
    assert page.by_id("doc-error").attrs["role"] == "alert"


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
    assert page.by_id("selection-header").clean_text.startswith(f"Текущая выборка ({len(account.subscribers)}): ")
    rows = page.by_id("selection-table").find_all("tbody")[0].find_all("tr")
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


def test_one_contract_of_several_types(tmp_path):
    """Numbers of one contract but two types cannot be ordered together."""
    subscribers = (
        Subscriber("79990000001", "GSM", "Склад", "Иванов Иван Иванович", "89701000000000000001"),
        Subscriber("79990000002", "M2M", "Склад", "Петрова Анна Сергеевна", "89701000000000000002"),
    )
    login = Login("9990000000", "ООО «Проба»", (Account("277300000001", "100000001", subscribers),))
    app = make_app(tmp_path, logins=(login,), passwords={login.login: "pw"})
    client = app.test_client()
    client.post("/selfcare/login", data={"login": login.login, "password": "pw"})
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
        ({"document": "call_details"}, "Функция временно недоступна"),
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
    table = page.by_id("history-table")
    assert [th.clean_text for th in table.find_all("th")] == [
        "Пользователь", "Действие", "Период", "Дата", "Номер заказа"]
    (row,) = table.find_all("tbody")[0].find_all("tr")
    cells = [td.clean_text for td in row.find_all("td")]
    assert cells[0] == FIRST.login
    assert cells[1] == f"Заказ документа «{INVOICE_TITLE}»"
    assert cells[2] == "01.10.2026 – 31.10.2026"
    assert cells[4] == order_id


def test_history_shows_only_the_logins_orders(user, tmp_path):
    """Another company's user does not see these orders."""
    select(user, account=FIRST.accounts[0].number)
    assert order(user).status_code == 201
    other = make_app(tmp_path).test_client()
    log_in(other, SECOND)
    page = parse(other.get("/selfcare/vm/history").text)
    assert page.by_id("history-table").find_all("tbody")[0].find_all("tr") == []


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
        error = parse(response.text).by_id("portal-error")
        assert error.clean_text == OUTAGE and error.attrs["role"] == "alert"
    assert log_in(user).status_code == 503
    for response in (user.get("/selfcare/api/selection"), select(user, account=FIRST.accounts[0].number), order(user)):
        assert response.status_code == 503
        assert response.json == {"error": OUTAGE}
    assert user.get("/selfcare/static/vm.js").status_code == 200
    app.config["OUTAGE"] = False
    assert user.get("/selfcare/vm").status_code == 200
