"""The whole month as a bare script: the benchmark's measuring stick for ``robot robot``.

``python -m tests.bare_month ENV_FILE [--call-details-format pdf|xml|html]`` does the
month of the settings in ENV_FILE (``KEY=VALUE`` lines, as ``python -m sandbox
--env-file`` writes them) with nothing but Playwright (sync API, Debian's Chromium),
imaplib and requests, in the robot's order:

1. for every login (each ``[[login]]`` of ``MTS_LOGINS_FILE`` when there is one, else
   ``MTS_LOGIN``): log in («Номер:», «Пароль:», «Войти»), read the left pane «Лицевые
   счета» page by page, then for every personal account find it with «Фильтр», drag it
   into «Текущая выборка» and order the invoice of the last closed month in the
   «Документ» window («Период», «Отправить на», «Формат данных», «Заказать»), then for
   every personal account its call details (all its numbers, the period's first to last
   day) through the window's four steps: «Период с … по …» typed as dd.mm.yyyy,
   «Далее», «Отправить на», «Далее», «Формат данных», «Далее», «Я принимаю правила
   использования системы», «Заказать»; log out with «Выход»;
2. wait once for all the mails: each ordered document's mail (by the order number in
   its subject), its attachment saved, unzipped when zipped;
3. upload every document to Tarifer with the same request and metadata fields as the
   robot (``libraries/tarifer.py``: login, account, kind, period_from, period_to,
   operator, numbers, file).

Same clicks, found the same way (the visible labels, roles and column headings of
``variables/portal_locators.py``, never an element id), same mail, same uploads, and
none of the robot's safety: no ledger, no question to Tarifer before ordering or
uploading, no check of «Выбрано N номеров», of the offered periods or of a document's
content, no screenshot of the «Документ» window, no look into «История действий». A
portal refusal stops the script. It prints how many documents it ordered and uploaded
and its wall time, and exits 1 unless every ordered document was uploaded.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import imaplib
import io
import os
import re
import ssl
import sys
import tempfile
import time
import tomllib
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from libraries.documents import document_file_name
from libraries.environment import read_env_file
from libraries.periods import last_closed_period, period_bounds
from libraries.portal import order_number, period_option, portal_date, tree_page_position
from variables import portal_locators as L

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
PORTAL_TIMEOUT_MS = 30_000
"""The longest wait for one thing on the portal (the robot's BROWSER_TIMEOUT)."""
MAIL_POLL_SECONDS = 0.2
"""How often the mailbox is looked at while documents are missing."""

ORDER_NUMBER = re.compile(r"№\s*(\d+)")
"""The order number in the subject of the operator's mail, «Заказ № 12345678: …»."""
CONTENT_TYPES = {"pdf": "application/pdf", "xml": "application/xml", "html": "text/html"}

expect.set_options(timeout=PORTAL_TIMEOUT_MS)


@dataclass
class Document:
    """One ordered document and how far it got."""

    login: str
    account: str
    kind: str
    period_from: str
    period_to: str
    format: str
    numbers: list[str] = field(default_factory=list)
    order_id: str = ""
    file: Path | None = None
    uploaded: bool = False

    def file_name(self) -> str:
        """The robot's name for it, e.g. ``invoice_277300018417_2026-10_12345678.pdf``."""
        return document_file_name(asdict(self))


def logins(settings: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """Each login's number, password and personal accounts to handle (empty: all of them)."""
    if settings.get("MTS_LOGINS_FILE"):
        tables = tomllib.loads(Path(settings["MTS_LOGINS_FILE"]).read_text(encoding="utf-8"))["login"]
        return [(each["number"], password(settings, each["password_env"]), each.get("accounts", [])) for each in tables]
    accounts = [account.strip() for account in settings.get("MTS_ACCOUNTS", "").split(",") if account.strip()]
    return [(settings["MTS_LOGIN"], settings["MTS_PASSWORD"], accounts)]


def password(settings: dict[str, str], variable: str) -> str:
    """The password in ``variable``: from the settings, else from the environment."""
    return settings.get(variable) or os.environ[variable]


# --- The portal ------------------------------------------------------------------------------
#
# Every click goes where the robot's goes (resources/portal.resource, portal_window.resource), found
# the same way: by the visible labels, roles and headings of variables/portal_locators.py (``L``).


def shown(page: Page, *selectors: str) -> str:
    """Wait until one of ``selectors`` shows on the page (whichever answer the portal gives) and return it."""
    visible = [page.locator(f"{selector} >> visible=true") for selector in selectors]
    anyone = visible[0]
    for locator in visible[1:]:
        anyone = anyone.or_(locator)
    anyone.first.wait_for()
    return next(selector for selector, locator in zip(selectors, visible, strict=True) if locator.count())


def log_in(page: Page, url: str, login: str, password: str) -> None:
    """Manual 1.1: the number without +7 in «Номер:», «Пароль:», «Войти»; a refusal stops the script."""
    page.goto(url)
    page.fill(L.NUMBER_FIELD, login)
    page.fill(L.PASSWORD_FIELD, password)
    page.click(L.LOG_IN_BUTTON)
    if shown(page, L.NUMBERS_TAB_LINK, L.PORTAL_REFUSAL) == L.PORTAL_REFUSAL:
        raise SystemExit(f"The portal refused login {login}: {page.locator(L.PORTAL_REFUSAL).first.inner_text()}")


def redraw_left_pane(page: Page, button: str) -> None:
    """Click ``button`` («Фильтр», «Следующая страница») and wait until the left pane is drawn anew."""
    page.locator(L.ACCOUNTS_PANE_LOCATOR).evaluate("(pane) => pane.setAttribute('data-shown-before', '')")
    page.click(button)
    page.locator("[data-shown-before]").wait_for(state="detached")
    page.locator(L.ACCOUNTS_PANE_LOCATOR).wait_for()


def tree_page(page: Page) -> tuple[int, int]:
    """The page the left pane shows and how many it has («Страница 2 из 3»)."""
    return tree_page_position(page.inner_text(L.TREE_PAGE_LABEL))


def show_in_tree(page: Page, text: str) -> None:
    """«Номер или лицевой счёт» ← ``text`` (a personal account; empty for all), «Фильтр»: its first page."""
    if page.input_value(L.TREE_FILTER_FIELD) == text and tree_page(page)[0] == 1:
        return
    page.fill(L.TREE_FILTER_FIELD, text)
    redraw_left_pane(page, L.FILTER_BUTTON)


def numbers_by_account(page: Page) -> dict[str, list[str]]:
    """The left pane «Лицевые счета», page by page: personal account → its numbers, in the portal's order."""
    show_in_tree(page, "")
    found: dict[str, list[str]] = {}
    while True:
        for account, numbers in page.locator(L.ACCOUNTS_PANE_LOCATOR).evaluate(L.READ_THE_PANE, L.TREE_READING):
            listed = found.setdefault(account, [])
            listed.extend(number for number in numbers if number not in listed)
        shown_page, pages = tree_page(page)
        if shown_page >= pages:
            return found
        redraw_left_pane(page, L.NEXT_PAGE_LINK)


def drag_account(page: Page, account: str) -> None:
    """Empty «Текущая выборка» («Очистить»), find the personal account (filtering only when the
    pane does not show it) and drag it in."""
    heading = page.locator(L.SELECTION_HEADING)
    if page.locator(L.SELECTION_ROWS).count():
        page.click(L.CLEAR_SELECTION_BUTTON)
        expect(heading).to_have_text(L.EMPTY_SELECTION)
    item = page.locator(L.TREE_ACCOUNT_ITEM.format(account=account)).first
    if not item.count():
        show_in_tree(page, account)
    item.scroll_into_view_if_needed()
    item.drag_to(page.locator(L.SELECTION_PANE))
    expect(heading).to_contain_text(L.ONE_CONTRACT)


def open_document_window(page: Page, document: str) -> None:
    """«Заказать документ», then the document: the «Документ» window showing it."""
    page.click(L.ORDER_DOCUMENT_BUTTON)
    page.click(L.ORDER_MENU_ITEM[document])
    expect(page.locator(L.DOCUMENT_WINDOW_LOCATOR)).to_contain_text(document)


def stop_if_refused(page: Page) -> None:
    """Stop the script with the portal's words when the «Документ» window refuses."""
    refusal = page.locator(f"{L.ORDER_REFUSAL} >> visible=true")
    if refusal.count():
        raise SystemExit(f"The portal refused the order: {refusal.inner_text()}")


def next_step(page: Page, expected: str) -> None:
    """«Далее», and the next step of the wizard (its control ``expected``) or the portal's refusal."""
    page.click(L.NEXT_STEP_BUTTON)
    shown(page, expected, L.ORDER_REFUSAL)
    stop_if_refused(page)


def submit_order(page: Page) -> str:
    """«Заказать», and the order number of the portal's «Заказ № … принят»."""
    page.click(L.ORDER_BUTTON)
    shown(page, L.ORDER_CONFIRMATION_TEXT, L.ORDER_REFUSAL)
    stop_if_refused(page)
    return order_number(page.inner_text(L.ORDER_CONFIRMATION_TEXT))


def order_invoice(page: Page, period: str, address: str) -> str:
    """Manual 1.2: the invoice of the selected personal account: «Период», «Отправить на», PDF."""
    open_document_window(page, L.INVOICE_DOCUMENT)
    page.select_option(L.INVOICE_PERIOD_FIELD, label=period_option(period))
    page.fill(L.SEND_TO_FIELD, address)
    page.select_option(L.DATA_FORMAT_FIELD, label=L.DATA_FORMATS["pdf"])
    return submit_order(page)


def order_call_details(page: Page, first: str, last: str, address: str, fmt: str) -> str:
    """Manual 2.1: the call details of the selection, ``first`` to ``last`` (``YYYY-MM-DD``), in ``fmt``,
    through the wizard's four steps: «Период с … по …» (dd.mm.yyyy), «Отправить на», «Формат данных»,
    «Я принимаю правила использования системы»."""
    open_document_window(page, L.CALL_DETAILS_DOCUMENT)
    page.fill(L.DETAILS_FROM_FIELD, portal_date(first))
    page.fill(L.DETAILS_TO_FIELD, portal_date(last))
    next_step(page, L.SEND_TO_FIELD)
    page.fill(L.SEND_TO_FIELD, address)
    next_step(page, L.DATA_FORMAT_FIELD)
    page.select_option(L.DATA_FORMAT_FIELD, label=L.DATA_FORMATS[fmt])
    next_step(page, L.ACCEPT_RULES_CHECKBOX)
    page.check(L.ACCEPT_RULES_CHECKBOX)
    return submit_order(page)


def order_login(browser: Browser, settings: dict, login: str, password: str, accounts: list[str], fmt: str):
    """Every document of one login, ordered in a browser context of its own; returns them."""
    period = os.environ.get("PERIOD") or last_closed_period()
    first, last = (day.isoformat() for day in period_bounds(period))
    address = settings["REPORT_EMAIL"]
    context = browser.new_context(locale="ru-RU", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(PORTAL_TIMEOUT_MS)
    log_in(page, settings["MTS_PORTAL_URL"], login, password)
    numbers = numbers_by_account(page)
    chosen = [account for account in numbers if not accounts or account in accounts]
    documents = []
    for account in chosen:
        drag_account(page, account)
        document = Document(login, account, "invoice", first, last, "pdf")
        document.order_id = order_invoice(page, period, address)
        documents.append(document)
    for account in chosen:
        drag_account(page, account)
        document = Document(login, account, "call_details", first, last, fmt, numbers[account])
        document.order_id = order_call_details(page, first, last, address, fmt)
        documents.append(document)
    page.click(L.LOG_OUT_LINK)
    context.close()
    return documents


# --- The mailbox and Tarifer -----------------------------------------------------------------


def collect(settings: dict, documents: list[Document], folder: Path) -> None:
    """Wait once for every document's mail (its order number is in the subject) and save its file."""
    waiting = {document.order_id: document for document in documents}
    senders = [sender.strip().lower() for sender in settings.get("MAIL_FROM", "@mts.ru").split(",")]
    context = ssl.create_default_context(cafile=settings.get("IMAP_CA_FILE") or None)
    deadline = time.monotonic() + float(settings.get("MAIL_TIMEOUT", 3600))
    last_uid = 0
    with imaplib.IMAP4_SSL(settings["IMAP_HOST"], int(settings.get("IMAP_PORT", 993)), ssl_context=context) as imap:
        imap.login(settings["IMAP_USER"], settings["IMAP_PASSWORD"])
        imap.select("INBOX")
        while waiting and time.monotonic() < deadline:
            _, found = imap.uid("SEARCH", None, f"UID {last_uid + 1}:*")
            for uid in sorted(int(uid) for uid in found[0].split() if int(uid) > last_uid):
                last_uid = uid
                _, fetched = imap.uid("FETCH", str(uid), "(BODY[])")  # marks it read, as the robot does
                message = email.message_from_bytes(fetched[0][1], policy=email.policy.default)
                match = ORDER_NUMBER.search(str(message["Subject"] or ""))
                sender = str(message["From"] or "").lower()
                if match and match[1] in waiting and any(allowed in sender for allowed in senders):
                    save_attachment(message, waiting.pop(match[1]), folder)
            if waiting:
                time.sleep(MAIL_POLL_SECONDS)


def save_attachment(message: email.message.EmailMessage, document: Document, folder: Path) -> None:
    """Keep the mail's attachment as the document's file, the first member of a ZIP unpacked."""
    content = next(message.iter_attachments()).get_payload(decode=True)
    if zipfile.is_zipfile(io.BytesIO(content)):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = archive.read(archive.namelist()[0])
    document.file = folder / document.file_name()
    document.file.write_bytes(content)


def upload(session: requests.Session, settings: dict, document: Document) -> None:
    """Tarifer's upload: the robot's metadata fields and the file, multipart."""
    fields = {name: getattr(document, name) for name in ("login", "account", "kind", "period_from", "period_to")}
    fields["operator"] = "MTS"
    if document.numbers:
        fields["numbers"] = ",".join(document.numbers)
    with open(document.file, "rb") as handle:
        response = session.post(
            f"{settings['TARIFER_URL']}/documents",
            data=fields,
            files={"file": (document.file.name, handle, CONTENT_TYPES[document.format])},
            timeout=60,
        )
    document.uploaded = response.status_code in (200, 201)
    if not document.uploaded:
        print(f"Tarifer refused {document.file.name} (HTTP {response.status_code}): {response.text}", file=sys.stderr)


def month(settings: dict, fmt: str) -> list[Document]:
    """Order everything of every login, wait for the mails once, upload; return the documents."""
    documents: list[Document] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        for login, password, accounts in logins(settings):
            documents += order_login(browser, settings, login, password, accounts, fmt)
        browser.close()
    with tempfile.TemporaryDirectory(prefix="bare-month-") as folder:
        collect(settings, documents, Path(folder))
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {settings['TARIFER_TOKEN']}"
            session.verify = settings.get("TARIFER_CA_FILE") or True
            for document in documents:
                if document.file is not None:
                    upload(session, settings, document)
    return documents


def main(argv: list[str] | None = None) -> int:
    """Do the month of ENV_FILE; print documents ordered and uploaded and the wall time."""
    parser = argparse.ArgumentParser(prog="python -m tests.bare_month", description=__doc__.splitlines()[0])
    parser.add_argument("env_file", type=Path, help="KEY=VALUE settings, as python -m sandbox writes them")
    parser.add_argument(
        "--call-details-format",
        choices=sorted(CONTENT_TYPES),
        help="pdf, xml or html (default: CALL_DETAILS_FORMAT of the settings, else pdf)",
    )
    args = parser.parse_args(argv)
    settings = read_env_file(args.env_file)
    fmt = args.call_details_format or settings.get("CALL_DETAILS_FORMAT", "pdf").lower()
    started = time.perf_counter()
    documents = month(settings, fmt)
    seconds = time.perf_counter() - started
    uploaded = sum(document.uploaded for document in documents)
    print(f"documents ordered: {len(documents)}, uploaded: {uploaded}")
    print(f"wall time: {seconds:.1f} s")
    return 0 if documents and uploaded == len(documents) else 1


if __name__ == "__main__":
    sys.exit(main())
