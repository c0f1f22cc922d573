"""The portal's labels and locators (variables/portal_locators.py) and how the robot reads with them."""

from __future__ import annotations

import re
from datetime import date

import pytest

from libraries.portal import (
    Portal,
    missing_labels_message,
    numbers_chosen,
    order_number,
    period_option,
    portal_date,
    screen,
    tree_page_position,
)
from sandbox.portal.selection import numbers_chosen as stand_in_numbers_chosen
from tests.unit.test_portal import FIRST, log_in, make_app, parse, select
from variables import portal_locators, settings

VARIABLES = portal_locators.get_variables()
LOCATORS = {name: value for name, value in VARIABLES.items() if isinstance(value, str) and (
    value.startswith(("role=", "css=", "text=", "internal:")) or " >> " in value)}
ID_LIKE = re.compile(r"(^|>> )(id=|css=#)|#[A-Za-z]|ctl00|\[id[~|^$*]?=")


def test_the_file_is_a_robot_variables_file_whose_names_clash_with_nothing():
    """Upper-case names only, and none that the run's settings already use (``${PERIOD}`` is the month)."""
    assert VARIABLES and all(name.isupper() for name in VARIABLES)
    assert not set(VARIABLES) & set(settings.get_variables())
    assert {"SCREENS", "CALL_DETAILS_STEPS", "NUMBER_FIELD", "DOCUMENT_WINDOW_LOCATOR"} <= set(VARIABLES)


def test_no_locator_leans_on_an_id():
    """Labels, roles with names, texts and table headings; never the page's ids."""
    assert len(LOCATORS) > 30
    for name, locator in LOCATORS.items():
        assert not ID_LIKE.search(locator), f"{name} = {locator}"
    for name, definition in portal_locators.SCREENS.items():
        for label, locator in definition["labels"].items():
            assert not ID_LIKE.search(locator), f"{name}: {label} = {locator}"


def test_every_screen_names_its_labels_and_a_numbered_screenshot():
    """Each screen: a JPEG name with ``{index}``, the window it is (or None), labels → locators."""
    names = list(portal_locators.SCREENS)
    assert names[:5] == ["Вход", "Операции с номерами", "Текущая выборка", "Заказать документ",
                         "Сформированные счета закрытых расчётных периодов"]
    assert names[-1] == "История действий"
    assert len(portal_locators.CALL_DETAILS_STEPS) == 4
    assert all(step.startswith("Детализация разговоров: ") for step in portal_locators.CALL_DETAILS_STEPS)
    shots = [definition["screenshot"] for definition in portal_locators.SCREENS.values()]
    assert len(set(shots)) == len(shots)
    for definition in portal_locators.SCREENS.values():
        assert set(definition) == {"screenshot", "window", "labels"}
        assert re.fullmatch(r"plan-[a-z0-9-]+-\{index\}", definition["screenshot"])
        assert definition["labels"] and all(isinstance(locator, str) for locator in definition["labels"].values())
    assert portal_locators.SCREENS["Вход"]["labels"] == {
        "ВИРТУАЛЬНЫЙ МЕНЕДЖЕР": 'role=heading[name="ВИРТУАЛЬНЫЙ МЕНЕДЖЕР"s]',
        "Номер:": 'internal:label="Номер:"s',
        "Пароль:": 'internal:label="Пароль:"s',
        "Войти": 'role=button[name="Войти"s]',
    }


def test_templates_become_locators_of_one_item():
    """The robot fills the account and number templates; the text is the one the left pane shows."""
    assert portal_locators.TREE_ACCOUNT_ITEM.format(account="277300018417") == (
        'role=region[name="Лицевые счета"s] >> text="ЛС 277300018417"')
    assert portal_locators.SELECTION_ROW.format(number="79161234567") == (
        'css=table:has(th:text-is("Абонентский номер")) tbody tr:has(td:text-is("79161234567"))')
    reading = portal_locators.TREE_READING
    assert re.fullmatch(reading["account"], "ЛС 277300018417").group(1) == "277300018417"
    assert re.fullmatch(reading["number"], "79161234567").group(1) == "79161234567"
    assert re.fullmatch(reading["number"], "100000001") is None


def test_a_changed_label_changes_its_locators():
    """Adapting to another portal version is changing the label: the locators built from it follow."""
    assert portal_locators._field("Пароль") == 'internal:label="Пароль"s'
    assert portal_locators._role("button", 'Войти "в кабинет"') == r'role=button[name="Войти \"в кабинет\""s]'
    assert portal_locators._table("Номер заказа") == 'css=table:has(th:text-is("Номер заказа"))'
    assert portal_locators._pattern("Стр. {page} (из {pages})", page=r"(\d+)", pages=r"(\d+)") == (
        r"Стр\. (\d+) \(из (\d+)\)")


@pytest.fixture
def pages(tmp_path):
    """The stand-in's login page, Virtual Manager with a selection, and history, as text."""
    app = make_app(tmp_path)
    client = app.test_client()
    login_page = client.get("/selfcare/").text
    log_in(client)
    select(client, account=FIRST.accounts[0].number)
    yield {
        "login": login_page,
        "vm": client.get("/selfcare/vm").text,
        "history": client.get("/selfcare/vm/history").text,
    }
    app.extensions["portal"].shutdown()


def test_the_stand_in_shows_every_label_of_every_screen(pages):
    """The locators file and the stand-in agree: each screen's labels are on the stand-in's pages."""
    text = {name: " ".join(parse(page).clean_text.split()) + " " + page for name, page in pages.items()}
    for name, definition in portal_locators.SCREENS.items():
        page = text["login"] if name == "Вход" else text["history"] if name == "История действий" else text["vm"]
        for label in definition["labels"]:
            shown = label.replace("…", "").strip()
            assert shown.split(" ")[0] in page, f"{name}: {label}"
            if "…" not in label:
                assert label in page, f"{name}: {label}"


def test_the_left_pane_reads_as_the_robot_expects(pages):
    """«Страница 1 из 1», «ЛС …» and the numbers: the texts the robot reads the pane by."""
    tree = parse(pages["vm"]).by_id("ctl00_MainContent_pnlTree")
    assert tree_page_position(tree.clean_text) == (1, 1)
    texts = [element.clean_text for element in tree.descendants() if not element.children and element.clean_text]
    accounts = [m.group(1) for t in texts if (m := re.fullmatch(portal_locators.TREE_READING["account"], t))]
    assert accounts == [account.number for account in FIRST.accounts]


def test_dates_months_and_counts_as_the_portal_writes_them():
    assert portal_date("2026-10-01") == "01.10.2026"
    assert period_option("2026-10") == "Октябрь 2026"
    assert period_option("2027-01") == "Январь 2027"
    assert tree_page_position("Страница 2 из 3") == (2, 3)
    assert tree_page_position(" Страница  12\nиз 340 ") == (12, 340)
    with pytest.raises(AssertionError, match="does not read like"):
        tree_page_position("Page 2 of 3")
    for count in (1, 3, 5, 21, 50):
        assert numbers_chosen(stand_in_numbers_chosen(count)) == count
    with pytest.raises(AssertionError, match="does not read like"):
        numbers_chosen("Номера: 5")
    assert order_number("Заказ № 12345678 принят. Документ будет отправлен на a@b.ru") == "12345678"
    assert date(2026, 10, 1).strftime(portal_locators.DATE_FORMAT) == "01.10.2026"


def test_a_missing_label_is_named_with_its_screen():
    assert missing_labels_message("Заказать документ", ["Детализация разговоров"]) == (
        "Screen «Заказать документ»: «Детализация разговоров» is not there")
    assert missing_labels_message("Вход", ["Номер:", "Войти"]) == "Screen «Вход»: «Номер:», «Войти» are not there"
    assert screen("Вход") is portal_locators.SCREENS["Вход"]
    Portal().fail_for_missing_labels("Вход")
    with pytest.raises(AssertionError, match="^Screen «Вход»: «Войти» is not there$"):
        Portal().fail_for_missing_labels("Вход", "Войти")
    with pytest.raises(AssertionError, match="No screen «Нет такого» in the locators file; it lists «Вход»"):
        screen("Нет такого")
