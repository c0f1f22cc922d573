"""The portal's labels and locators: everything the robot looks for on «Виртуальный менеджер».

One place for the operator's wording and for how the robot finds each thing a
person sees there. ``resources/portal.resource`` imports this file as a Robot
Framework variables file (``get_variables``), ``libraries/portal.py`` reads the
wording from it, and plan mode checks every screen listed in ``SCREENS``.

Adapting the robot to another portal version (README, «Adapting the locators
to another portal version») means editing this file only:

1. **Labels** (the first part) are the portal's visible Russian texts. Change a
   text here when the portal words it differently: the locators built from it
   follow.
2. **Locators** (the second part) say how each label is found, in Browser's
   selector syntax (Playwright's selectors): ``_field`` is the input, list or
   checkbox a ``<label>`` names (Playwright's ``getByLabel``, the selector
   Browser's ``Get Element By    Label`` gives), ``_placeholder`` an input by
   the hint it shows while empty, ``_role`` an element by its ARIA role and
   accessible name (a button's text, a link's text, a window's title), ``_text``
   a visible text, ``_table`` a table by one of its column headings. A template
   with ``{placeholders}`` is filled in by the robot (an account, a number).
3. **Screens** list, per screen, the labels the robot relies on there; plan mode
   (``Check The Screen``) fails naming every one that is missing.

Element ids are not used: the real pages are ASP.NET WebForms whose ids
(``ctl00_MainContent_…``) are the framework's and change between versions.
"""

from __future__ import annotations

import json
import re

# --- Labels: the portal's own words -------------------------------------------------------------

# «Вход»: the login page (manual 1.1)
LOGIN_SCREEN = "Вход"
"""The login page's name among the screens (``SCREENS``)."""
LOGIN_HEADING = "ВИРТУАЛЬНЫЙ МЕНЕДЖЕР"
NUMBER = "Номер:"
PASSWORD = "Пароль:"
LOG_IN = "Войти"

# The Virtual Manager: tabs and the header
NUMBERS_TAB = "Операции с номерами"
HISTORY_TAB = "История действий"
LOG_OUT = "Выход"

# «Операции с номерами»: the left pane
HIERARCHY = "Иерархия"
BILLING_HIERARCHY = "Биллинговая"
TREE_FILTER = "Номер или лицевой счёт"
"""The left pane's filter field, found by the hint it shows while empty."""
FILTER = "Фильтр"
ACCOUNTS_PANE = "Лицевые счета"
TREE_ACCOUNT = "ЛС {account}"
"""How the left pane shows a personal account (12 digits)."""
TREE_NUMBER = r"7\d{10}"
"""How the left pane shows a subscriber number: 11 digits (a regular expression)."""
TREE_PAGE = "Страница {page} из {pages}"
NEXT_PAGE = "Следующая страница"

# «Текущая выборка»: the right pane (manual 1.1, 1.2)
SELECTION = "Текущая выборка"
EMPTY_SELECTION = f"{SELECTION} (0)"
ONE_CONTRACT = "один контракт, однотиповая"
SELECTION_COLUMNS = ("Тип", "Абонентский номер", "Папка", "ФИО")
NUMBER_COLUMN = "Абонентский номер"
CLEAR_SELECTION = "Очистить"

# «Заказать документ» and the «Документ» window (manual 1.2, 2.1)
ORDER_DOCUMENT = "Заказать документ"
INVOICE_DOCUMENT = "Сформированные счета закрытых расчётных периодов"
CALL_DETAILS_DOCUMENT = "Детализация разговоров"
DOCUMENT_WINDOW = "Документ"
INVOICE_PERIOD = "Период"
PERIOD_OPTION = "{month} {year}"
"""How the «Период» list names a month: «Октябрь 2026»."""
MONTHS = (
    "Январь", "Февраль", "Март", "Апрель", "Май", "Июнь",
    "Июль", "Август", "Сентябрь", "Октябрь", "Ноябрь", "Декабрь",
)  # fmt: skip
NUMBERS_CHOSEN = "Выбрано {count}"
DETAILS_FROM = "Период с"
DETAILS_TO = "по"
DATE_FORMAT = "%d.%m.%Y"
"""How dates are typed into «Период с … по …»: ``31.10.2026``."""
SEND_TO = "Отправить на"
DATA_FORMAT = "Формат данных"
DATA_FORMATS = {"pdf": "PDF", "xml": "XML", "html": "HTML"}
"""The options of «Формат данных», by the format the robot is set to order (the invoice: ``pdf``)."""
ACCEPT_RULES = "Я принимаю правила использования системы"
NEXT_STEP = "Далее"
ORDER = "Заказать"
CANCEL = "Отмена"
ORDER_CONFIRMATION = r"Заказ №\s*(\d+)"
"""The portal's confirmation of an order, «Заказ № 12345678 принят…»: the order number (a regular expression)."""

# «История действий»: the columns the robot reads, by their headings
HISTORY_COLUMNS = {
    "account": "Лицевой счёт",
    "action": "Действие",
    "period": "Период",
    "at": "Дата",
    "order_id": "Номер заказа",
    "numbers": "Абонентские номера",
}

# Refusals the portal shows on the login page, and what they mean to a person
LOGIN_REFUSALS = {
    "Неверный пароль": "the password was refused",
    "Вы ввели телефон в неверном формате": "the number is not in the 10-digit format",
    "Введите символы, которые вы видите на картинке": "the portal asks for a captcha; a person must log in once",
    "Учетная запись заблокирована": "the account is locked after too many attempts; contact the personal manager",
    "Получение запрошенной информации в данный момент недоступно": "the portal is temporarily unavailable",
}


# --- How a label is found ----------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A selector's quoted string."""
    return json.dumps(text, ensure_ascii=False)


def _field(label: str) -> str:
    """The input, list or checkbox the ``<label>`` with exactly this text names."""
    return f"internal:label={_quoted(label)}s"


def _placeholder(hint: str) -> str:
    """The input that shows exactly this hint while empty."""
    return f"internal:attr=[placeholder={_quoted(hint)}s]"


def _role(role: str, name: str | None = None) -> str:
    """The element of this ARIA role whose accessible name is exactly ``name`` (a ``/regular expression/`` as is)."""
    if name is None:
        return f"role={role}"
    return f"role={role}[name={name if name.startswith('/') else _quoted(name) + 's'}]"


def _text(text: str) -> str:
    """The element that shows exactly this text."""
    return f"text={_quoted(text)}"


def _escape(text: str) -> str:
    """``text`` as a regular expression (Python and JavaScript alike) that matches it literally."""
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", text)


def _starts_with(text: str) -> str:
    """A ``/regular expression/`` for a text that begins with ``text``."""
    return f"/^{_escape(text)}/"


def _table(heading: str) -> str:
    """The table with a column headed exactly ``heading``."""
    return f"css=table:has(th:text-is({_quoted(heading)}))"


def _column(table: str, heading: str) -> str:
    """The column heading ``heading`` of the table ``table``."""
    return f"{table} >> {_role('columnheader', heading)}"


def _pattern(template: str, **groups: str) -> str:
    """A regular expression (Python and JavaScript alike) matching ``template`` with its placeholders as groups."""
    pattern = _escape(template)
    for name, group in groups.items():
        pattern = pattern.replace(_escape("{" + name + "}"), group)
    return pattern


# --- Locators ---------------------------------------------------------------------------------

LOGIN_HEADING_LOCATOR = _role("heading", LOGIN_HEADING)
NUMBER_FIELD = _field(NUMBER)
PASSWORD_FIELD = _field(PASSWORD)
LOG_IN_BUTTON = _role("button", LOG_IN)
PORTAL_REFUSAL = _role("alert")
"""The portal's refusal of a login, or its error page (an outage)."""

NUMBERS_TAB_LINK = _role("link", NUMBERS_TAB)
HISTORY_TAB_LINK = _role("link", HISTORY_TAB)
LOG_OUT_LINK = _role("link", LOG_OUT)

HIERARCHY_FIELD = _field(HIERARCHY)
TREE_FILTER_FIELD = _placeholder(TREE_FILTER)
FILTER_BUTTON = _role("button", FILTER)
ACCOUNTS_PANE_LOCATOR = _role("region", ACCOUNTS_PANE)
TREE_ACCOUNT_ITEM = f"{ACCOUNTS_PANE_LOCATOR} >> {_text(TREE_ACCOUNT)}"
"""A personal account in the left pane, to drag (``{account}``: its 12 digits)."""
TREE_NUMBER_ITEM = f"{ACCOUNTS_PANE_LOCATOR} >> {_text('{number}')}"
"""A subscriber number in the left pane, to drag (``{number}``: its 11 digits)."""
_ANY_PAGE = _pattern(TREE_PAGE, page=r"\d+", pages=r"\d+")
TREE_PAGE_LABEL = f"{ACCOUNTS_PANE_LOCATOR} >> text=/^{_ANY_PAGE}$/"
NEXT_PAGE_LINK = f"{ACCOUNTS_PANE_LOCATOR} >> {_role('link', NEXT_PAGE)}"
TREE_READING = {
    "account": _pattern(TREE_ACCOUNT, account=r"(\d+)"),
    "number": f"({TREE_NUMBER})",
    "page": _pattern(TREE_PAGE, page=r"(\d+)", pages=r"(\d+)"),
}
"""How the robot reads the left pane's texts: an account, a number (group 1 is the value), the page."""

SELECTION_HEADING = _role("heading", _starts_with(SELECTION))
SELECTION_PANE = _role("region", _starts_with(SELECTION))
"""The right pane, where accounts and numbers are dropped."""
_ORDERABLE = _pattern(f"{SELECTION} ({{count}}): {ONE_CONTRACT}", count=r"\d+")
SELECTION_ORDERABLE = _role("heading", f"/^{_ORDERABLE}$/")
"""The selection's heading when it can be ordered: «Текущая выборка (5): один контракт, однотиповая»."""
SELECTION_TABLE = _table(NUMBER_COLUMN)
SELECTION_ROWS = f"{SELECTION_TABLE} tbody tr"
SELECTION_ROW = f"{SELECTION_TABLE} tbody tr:has(td:text-is({_quoted('{number}')}))"
"""The selection's row of one number (``{number}``: its 11 digits)."""
CLEAR_SELECTION_BUTTON = _role("button", CLEAR_SELECTION)

ORDER_DOCUMENT_BUTTON = _role("button", ORDER_DOCUMENT)
ORDER_MENU_ITEM = {
    INVOICE_DOCUMENT: _role("button", INVOICE_DOCUMENT),
    CALL_DETAILS_DOCUMENT: _role("button", CALL_DETAILS_DOCUMENT),
}
"""The documents «Заказать документ» offers, by their titles."""
ORDER_CONFIRMATION_TEXT = f"text=/{ORDER_CONFIRMATION}/"

DOCUMENT_WINDOW_LOCATOR = _role("dialog", DOCUMENT_WINDOW)
INVOICE_PERIOD_FIELD = _field(INVOICE_PERIOD)
NUMBERS_CHOSEN_PATTERN = _pattern(NUMBERS_CHOSEN, count=r"(\d+)")
NUMBERS_CHOSEN_TEXT = f"{DOCUMENT_WINDOW_LOCATOR} >> text=/^{NUMBERS_CHOSEN_PATTERN}/"
DETAILS_FROM_FIELD = _field(DETAILS_FROM)
DETAILS_TO_FIELD = _field(DETAILS_TO)
SEND_TO_FIELD = _field(SEND_TO)
DATA_FORMAT_FIELD = _field(DATA_FORMAT)
ACCEPT_RULES_CHECKBOX = _field(ACCEPT_RULES)
NEXT_STEP_BUTTON = f"{DOCUMENT_WINDOW_LOCATOR} >> {_role('button', NEXT_STEP)}"
ORDER_BUTTON = f"{DOCUMENT_WINDOW_LOCATOR} >> {_role('button', ORDER)}"
CANCEL_BUTTON = f"{DOCUMENT_WINDOW_LOCATOR} >> {_role('button', CANCEL)}"
ORDER_REFUSAL = f"{DOCUMENT_WINDOW_LOCATOR} >> {_role('alert')}"
"""The portal's refusal of an order, shown in the «Документ» window."""

HISTORY_TABLE = _table(HISTORY_COLUMNS["order_id"])

READ_THE_PANE = """(pane, reading) => {
  const account = new RegExp('^' + reading.account + '$');
  const number = new RegExp('^' + reading.number + '$');
  const found = [];
  const texts = document.createTreeWalker(pane, NodeFilter.SHOW_TEXT);
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    const isAccount = account.exec(text);
    const isNumber = number.exec(text);
    if (isAccount) found.push([isAccount[1], []]);
    else if (isNumber && found.length) found[found.length - 1][1].push(isNumber[1]);
  }
  return found;
}"""
"""Reads the left pane by its texts, in the order a person reads them: each «ЛС …» starts a personal
account, each number after it is one of its numbers (``TREE_READING`` says what is which)."""
READ_THE_TABLE = """(table) => {
  const headings = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
  return [...table.querySelectorAll('tbody tr')].map((row) => Object.fromEntries(
    [...row.querySelectorAll('td')].map((cell, index) => [headings[index], cell.textContent.trim()])));
}"""
"""Reads a table's rows as dictionaries of column heading → cell text."""


# --- Screens: what the robot relies on, screen by screen (plan mode checks them) --------------------

SCREENS = {
    LOGIN_SCREEN: {
        "screenshot": "plan-login-{index}",
        "window": None,
        "labels": {
            LOGIN_HEADING: LOGIN_HEADING_LOCATOR,
            NUMBER: NUMBER_FIELD,
            PASSWORD: PASSWORD_FIELD,
            LOG_IN: LOG_IN_BUTTON,
        },
    },
    NUMBERS_TAB: {
        "screenshot": "plan-numbers-{index}",
        "window": None,
        "labels": {
            NUMBERS_TAB: NUMBERS_TAB_LINK,
            HISTORY_TAB: HISTORY_TAB_LINK,
            LOG_OUT: LOG_OUT_LINK,
            HIERARCHY: HIERARCHY_FIELD,
            TREE_FILTER: TREE_FILTER_FIELD,
            FILTER: FILTER_BUTTON,
            ACCOUNTS_PANE: ACCOUNTS_PANE_LOCATOR,
            TREE_PAGE.format(page="…", pages="…"): TREE_PAGE_LABEL,
            SELECTION: SELECTION_HEADING,
            **{column: _column(SELECTION_TABLE, column) for column in SELECTION_COLUMNS},
            ORDER_DOCUMENT: ORDER_DOCUMENT_BUTTON,
        },
    },
    SELECTION: {
        "screenshot": "plan-selection-{index}",
        "window": None,
        "labels": {
            SELECTION: SELECTION_HEADING,
            ONE_CONTRACT: SELECTION_ORDERABLE,
            NUMBER_COLUMN: SELECTION_ROWS,
            CLEAR_SELECTION: CLEAR_SELECTION_BUTTON,
            ORDER_DOCUMENT: ORDER_DOCUMENT_BUTTON,
        },
    },
    ORDER_DOCUMENT: {
        "screenshot": "plan-order-menu-{index}",
        "window": None,
        "labels": {
            INVOICE_DOCUMENT: ORDER_MENU_ITEM[INVOICE_DOCUMENT],
            CALL_DETAILS_DOCUMENT: ORDER_MENU_ITEM[CALL_DETAILS_DOCUMENT],
        },
    },
    INVOICE_DOCUMENT: {
        "screenshot": "plan-invoice-window-{index}",
        "window": DOCUMENT_WINDOW_LOCATOR,
        "labels": {
            DOCUMENT_WINDOW: DOCUMENT_WINDOW_LOCATOR,
            INVOICE_PERIOD: INVOICE_PERIOD_FIELD,
            SEND_TO: SEND_TO_FIELD,
            DATA_FORMAT: DATA_FORMAT_FIELD,
            ORDER: ORDER_BUTTON,
            CANCEL: CANCEL_BUTTON,
        },
    },
    f"{CALL_DETAILS_DOCUMENT}: период": {
        "screenshot": "plan-call-details-1-period-{index}",
        "window": DOCUMENT_WINDOW_LOCATOR,
        "labels": {
            DOCUMENT_WINDOW: DOCUMENT_WINDOW_LOCATOR,
            NUMBERS_CHOSEN.format(count="…"): NUMBERS_CHOSEN_TEXT,
            DETAILS_FROM: DETAILS_FROM_FIELD,
            DETAILS_TO: DETAILS_TO_FIELD,
            NEXT_STEP: NEXT_STEP_BUTTON,
            CANCEL: CANCEL_BUTTON,
        },
    },
    f"{CALL_DETAILS_DOCUMENT}: отправка": {
        "screenshot": "plan-call-details-2-delivery-{index}",
        "window": DOCUMENT_WINDOW_LOCATOR,
        "labels": {
            SEND_TO: SEND_TO_FIELD,
            NEXT_STEP: NEXT_STEP_BUTTON,
            CANCEL: CANCEL_BUTTON,
        },
    },
    f"{CALL_DETAILS_DOCUMENT}: формат": {
        "screenshot": "plan-call-details-3-format-{index}",
        "window": DOCUMENT_WINDOW_LOCATOR,
        "labels": {
            DATA_FORMAT: DATA_FORMAT_FIELD,
            NEXT_STEP: NEXT_STEP_BUTTON,
            CANCEL: CANCEL_BUTTON,
        },
    },
    f"{CALL_DETAILS_DOCUMENT}: подтверждение": {
        "screenshot": "plan-call-details-4-confirm-{index}",
        "window": DOCUMENT_WINDOW_LOCATOR,
        "labels": {
            ACCEPT_RULES: ACCEPT_RULES_CHECKBOX,
            ORDER: ORDER_BUTTON,
            CANCEL: CANCEL_BUTTON,
        },
    },
    HISTORY_TAB: {
        "screenshot": "plan-history-{index}",
        "window": None,
        "labels": {heading: _column(HISTORY_TABLE, heading) for heading in HISTORY_COLUMNS.values()},
    },
}
"""Each screen the month passes through: its screenshot's name, the window it is (None: the whole page),
and its labels, each with its locator. The «Детализация разговоров» order is a wizard of four steps."""
CALL_DETAILS_STEPS = tuple(name for name in SCREENS if name.startswith(f"{CALL_DETAILS_DOCUMENT}: "))
"""The call details order's steps, in order: one screen each."""


def get_variables() -> dict:
    """The labels, locators and screens above, as Robot Framework variables."""
    return {name: value for name, value in globals().items() if name.isupper() and not name.startswith("_")}
