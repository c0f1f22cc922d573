"""What the robot must understand of the portal's answers.

The Browser steps live in ``resources/portal.resource``; this library turns
the portal's Russian messages into decisions: is a login refusal worth a
second attempt (never), which order number did the portal give.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from robot.api.deco import keyword, library

# Known texts of the real portal (shared with the stand-in) and what they mean.
LOGIN_REFUSALS = {
    "Неверный пароль": "the password was refused",
    "Вы ввели телефон в неверном формате": "the number is not in the 10-digit format",
    "Введите символы, которые вы видите на картинке": "the portal asks for a captcha; a person must log in once",
    "Учетная запись заблокирована": "the account is locked after too many attempts; contact the personal manager",
    "Получение запрошенной информации в данный момент недоступно": "the portal is temporarily unavailable",
}

ORDER_NUMBER = re.compile(r"№\s*(\d+)")
DOCUMENT_TITLES = {
    "invoice": "Сформированные счета закрытых расчётных периодов",
    "call_details": "Детализация разговоров",
}
HISTORY_COLUMNS = {
    "account": "Лицевой счёт",
    "action": "Действие",
    "period": "Период",
    "at": "Дата",
    "order_id": "Номер заказа",
    "numbers": "Абонентские номера",
}
"""The columns of «История действий» the robot reads, by their headings."""
HISTORY_SLACK = timedelta(days=1)
"""How much earlier than the robot's intent an order in the history may be dated and still be
the robot's: the portal prints its own local time, whose zone the robot does not know."""


class LoginRefused(AssertionError):
    """The portal refused the login; trying again would burn the customer's attempts."""

    ROBOT_EXIT_ON_FAILURE = True


def login_refusal(login: str, portal_text: str) -> str:
    """A message for a human about a refused login, from the portal's own text."""
    portal_text = " ".join(portal_text.split())
    for known, meaning in LOGIN_REFUSALS.items():
        if known in portal_text:
            return (
                f"The portal refused the login of +7{login}: {meaning} («{portal_text}»). "
                "No further attempt was made."
            )
    return f"The portal refused the login of +7{login}: «{portal_text}». No further attempt was made."


def order_number(confirmation: str) -> str:
    """The order number in the portal's confirmation, e.g. «Заказ № 12345678 принят»."""
    match = ORDER_NUMBER.search(confirmation)
    if not match:
        raise AssertionError(f"The portal's confirmation does not contain an order number: «{confirmation}».")
    return match.group(1)


def choose_accounts(listed: list[str], configured: list[str]) -> tuple[list[str], list[str]]:
    """The accounts to handle (all listed, or the configured ones in the portal's order) and the
    configured accounts the portal does not list."""
    if not configured:
        return list(listed), []
    return [account for account in listed if account in configured], [a for a in configured if a not in listed]


def choose_groups(
    configured: list[dict], numbers_by_account: dict[str, list[str]], accounts: list[str]
) -> tuple[list[dict], list[dict]]:
    """The groups of numbers to order call details for, and the configured groups that cannot be.

    With no configured group, each handled account is one group of all its
    numbers. A configured group must name a listed account and only numbers
    attached to it; otherwise it comes back with the ``reason``. A group of
    every number of its account says ``whole_account``: it is selected with
    one drag of the account.
    """
    if not configured:
        return [
            {
                "name": f"ЛС {account}",
                "account": account,
                "numbers": list(numbers_by_account.get(account, [])),
                "whole_account": True,
            }
            for account in accounts
        ], []
    chosen, refused = [], []
    for group in configured:
        listed = numbers_by_account.get(group["account"])
        if listed is None:
            refused.append({**group, "reason": f"Personal account {group['account']} is not listed."})
            continue
        strangers = [number for number in group["numbers"] if number not in listed]
        if strangers:
            reason = f"Numbers {', '.join(strangers)} are not attached to personal account {group['account']}."
            refused.append({**group, "reason": reason})
            continue
        chosen.append({**group, "whole_account": set(group["numbers"]) == set(listed)})
    return chosen, refused


def _ru_day(iso_day: str) -> str:
    return date.fromisoformat(iso_day).strftime("%d.%m.%Y")


def _history_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(" ".join(text.split()), "%d.%m.%Y %H:%M:%S")
    except ValueError:
        return None


def matching_order(history: list[dict], document: dict) -> str | None:
    """The number of the newest order in «История действий» that is ``document`` (a ledger entry), or ``None``.

    ``history`` holds the table's rows as ``heading → cell text``. A row is the
    document's order when its action names the document, its period is the
    document's, its numbers are exactly the document's and, where the table
    shows it, its personal account is the document's; and it is dated no
    earlier than the robot's intent to order (``ordered_at``, less a day for
    the portal's unknown time zone).
    """
    title = DOCUMENT_TITLES[document["kind"]]
    period = f"{_ru_day(document['period_from'])} – {_ru_day(document['period_to'])}"
    wanted_numbers = sorted(document.get("numbers") or [])
    intent = datetime.fromisoformat(document["ordered_at"]).astimezone() if document.get("ordered_at") else None
    found = []
    for row in history:
        cells = {name: " ".join(str(row.get(heading, "")).split()) for name, heading in HISTORY_COLUMNS.items()}
        numbers = sorted(re.findall(r"\d{11}", cells["numbers"]))
        at = _history_time(cells["at"])
        if (
            title in cells["action"]
            and cells["period"].replace("—", "–").replace(" - ", " – ") == period
            and numbers == wanted_numbers
            and (HISTORY_COLUMNS["account"] not in row or cells["account"] == document["account"])
            and cells["order_id"]
            and (intent is None or (at is not None and at >= intent.replace(tzinfo=None) - HISTORY_SLACK))
        ):
            found.append((at or datetime.min, cells["order_id"]))
    return max(found)[1] if found else None


@library(scope="GLOBAL", auto_keywords=False)
class Portal:
    """Reads the portal's answers: login refusals and order confirmations."""

    def __init__(self):
        self.failed_logins: dict[str, str] = {}

    @keyword("Remember Failed Login")
    def remember_failed_login(self, login: str, error: str) -> None:
        """Note that ``login`` failed with ``error``: the run does not try it again."""
        self.failed_logins[login] = error

    @keyword("Earlier Login Failure")
    def earlier_login_failure(self, login: str) -> str | None:
        """Why ``login`` failed earlier in this run, or ``None`` if it did not."""
        return self.failed_logins.get(login)

    @keyword("Refuse Login")
    def refuse_login(self, login: str, portal_text: str) -> None:
        """Stop the run: the portal refused ``login`` with ``portal_text``; say what it means."""
        raise LoginRefused(login_refusal(login, portal_text))

    @keyword("Order Number From Confirmation")
    def order_number_from_confirmation(self, confirmation: str) -> str:
        """Return the order number the portal confirmed, or fail if there is none."""
        return order_number(confirmation)

    @keyword("Matching Order In History")
    def matching_order_in_history(self, history: list[dict], document: dict) -> str | None:
        """Return the number of ``document``'s order in the rows of «История действий», or ``None``.

        Used for a document whose «Заказать» an earlier run pressed without
        living to see the answer: found, the order is continued; not found,
        nothing was placed.
        """
        return matching_order(history, document)

    @keyword("Add Hierarchy Page")
    def add_hierarchy_page(self, found: dict, page: list) -> None:
        """Add one page of the left pane (``[[account, [numbers…]], …]``) to ``found`` (account → numbers).

        An account split over two pages («(продолжение)») is joined; a number is listed once.
        """
        for account, numbers in page:
            listed = found.setdefault(account, [])
            listed.extend(number for number in numbers if number not in listed)

    @keyword("Choose Accounts")
    def choose_accounts(self, listed: list[str], configured: list[str]) -> tuple[list[str], list[str]]:
        """Return the accounts to handle and the configured ones the portal does not list.

        With no configured subset every listed account is handled.
        """
        return choose_accounts(listed, configured)

    @keyword("Choose Groups")
    def choose_groups(
        self, configured: list[dict], numbers_by_account: dict, accounts: list[str]
    ) -> tuple[list[dict], list[dict]]:
        """Return the groups of numbers to order call details for, and the refused ones with a ``reason``.

        With no configured group (CALL_DETAILS_GROUPS), every handled personal
        account is one group of all its numbers.
        """
        return choose_groups(configured, numbers_by_account, accounts)
