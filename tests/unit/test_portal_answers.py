"""How the robot reads the portal: refusals, order numbers, which accounts and groups."""

import pytest

from libraries.portal import Portal, choose_accounts, choose_groups, login_refusal, matching_order, order_number


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ("Неверный пароль", "the password was refused"),
        ("Введите символы, которые вы видите на картинке", "captcha"),
        ("Учетная запись заблокирована в связи с превышением попыток ввода пароля", "locked"),
        ("Получение запрошенной информации в данный момент недоступно", "temporarily unavailable"),
        ("Что-то новое", "«Что-то новое»"),
    ],
)
def test_a_refusal_is_explained_and_says_nothing_more_was_tried(text, meaning):
    message = login_refusal("9161234567", text)
    assert "+79161234567" in message and meaning in message and "No further attempt" in message


def test_the_order_number_is_read_from_the_confirmation():
    assert order_number("Заказ № 12345678 принят. Документ будет отправлен на a@b.ru") == "12345678"
    with pytest.raises(AssertionError, match="does not contain an order number"):
        order_number("Заказ принят")


def test_accounts_are_all_listed_ones_or_the_configured_subset_in_portal_order():
    listed = ["1", "2", "3"]
    assert choose_accounts(listed, []) == (listed, [])
    assert choose_accounts(listed, ["3", "1", "9"]) == (["1", "3"], ["9"])


def test_default_groups_are_whole_accounts_and_configured_ones_are_checked():
    numbers = {"111111111111": ["79000000001", "79000000002"], "222222222222": ["79000000003"]}
    groups, refused = choose_groups([], numbers, ["111111111111"])
    assert groups == [
        {
            "name": "ЛС 111111111111",
            "account": "111111111111",
            "numbers": numbers["111111111111"],
            "whole_account": True,
        }
    ]
    assert refused == []
    configured = [
        {"name": "ok", "account": "111111111111", "numbers": ["79000000002"]},
        {"name": "all", "account": "111111111111", "numbers": ["79000000002", "79000000001"]},
        {"name": "stranger", "account": "111111111111", "numbers": ["79000000003"]},
        {"name": "unknown", "account": "999999999999", "numbers": ["79000000001"]},
    ]
    groups, refused = choose_groups(configured, numbers, ["111111111111"])
    assert [(group["name"], group["whole_account"]) for group in groups] == [("ok", False), ("all", True)]
    assert [group["name"] for group in refused] == ["stranger", "unknown"]
    assert "79000000003 are not attached to personal account 111111111111" in refused[0]["reason"]
    assert "999999999999 is not listed" in refused[1]["reason"]


HISTORY_ROW = {
    "Пользователь": "9161234567",
    "Лицевой счёт": "277300018417",
    "Действие": "Заказ документа «Сформированные счета закрытых расчётных периодов»",
    "Период": "01.10.2026 – 31.10.2026",
    "Дата": "02.11.2026 10:15:00",
    "Номер заказа": "12345678",
    "Абонентские номера": "",
}
INTENT = {
    "kind": "invoice",
    "account": "277300018417",
    "period_from": "2026-10-01",
    "period_to": "2026-10-31",
    "numbers": [],
    "ordered_at": "2026-11-02T10:14:59+00:00",
}


def test_an_interrupted_order_is_found_in_the_history_by_what_it_is():
    assert matching_order([HISTORY_ROW], INTENT) == "12345678"
    newer = {**HISTORY_ROW, "Дата": "02.11.2026 10:20:00", "Номер заказа": "87654321"}
    assert matching_order([HISTORY_ROW, newer], INTENT) == "87654321", "the newest of several is continued"


@pytest.mark.parametrize(
    "change",
    [
        {"Лицевой счёт": "277300099999"},
        {"Действие": "Заказ документа «Детализация разговоров»"},
        {"Период": "01.09.2026 – 30.09.2026"},
        {"Абонентские номера": "79161234567"},
        {"Дата": "30.10.2026 10:15:00"},
        {"Номер заказа": ""},
    ],
)
def test_another_order_in_the_history_is_not_taken_for_the_interrupted_one(change):
    assert matching_order([{**HISTORY_ROW, **change}], INTENT) is None


def test_call_details_in_the_history_match_on_exactly_their_numbers():
    details = {**INTENT, "kind": "call_details", "numbers": ["79160000001", "79160000002"]}
    row = {
        **HISTORY_ROW,
        "Действие": "Заказ документа «Детализация разговоров»",
        "Абонентские номера": "79160000002, 79160000001",
    }
    assert matching_order([row], details) == "12345678"
    assert matching_order([{**row, "Абонентские номера": "79160000002"}], details) is None


def test_pages_of_the_hierarchy_are_joined_account_by_account():
    found = {}
    portal = Portal()
    portal.add_hierarchy_page(found, [["111", ["791", "792"]], ["222", ["793"]]])
    portal.add_hierarchy_page(found, [["222", ["793", "794"]], ["333", []]])
    assert found == {"111": ["791", "792"], "222": ["793", "794"], "333": []}
