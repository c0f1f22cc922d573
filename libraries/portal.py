"""What the robot must understand of the portal's answers.

The Browser steps live in ``resources/portal.resource``; this library turns
the portal's Russian messages into decisions: is a login refusal worth a
second attempt (never), which order number did the portal give. The portal's
wording comes from ``variables/portal_locators.py``, the one place for it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from robot.api.deco import keyword, library

from variables import portal_locators as labels

LOGIN_REFUSALS = labels.LOGIN_REFUSALS
"""Known refusals of the real portal (shared with the stand-in) and what they mean."""

ORDER_NUMBER = re.compile(labels.ORDER_CONFIRMATION)
DOCUMENT_TITLES = {
    "invoice": labels.INVOICE_DOCUMENT,
    "call_details": labels.CALL_DETAILS_DOCUMENT,
}
HISTORY_COLUMNS = labels.HISTORY_COLUMNS
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


def portal_date(iso_day: str) -> str:
    """A ``YYYY-MM-DD`` day as it is typed into the portal's date fields (``31.10.2026``)."""
    return date.fromisoformat(iso_day).strftime(labels.DATE_FORMAT)


def period_option(period: str) -> str:
    """How the «Период» list names a ``YYYY-MM`` billing month: «Октябрь 2026»."""
    year, month = (int(part) for part in period.split("-"))
    return labels.PERIOD_OPTION.format(month=labels.MONTHS[month - 1], year=year)


def tree_page_position(text: str) -> tuple[int, int]:
    """The page shown and the pages there are, from the left pane's «Страница 2 из 3»."""
    match = re.search(labels.TREE_READING["page"], " ".join(text.split()))
    if not match:
        raise AssertionError(f"The left pane's page label «{text}» does not read like «{labels.TREE_PAGE}».")
    return int(match.group(1)), int(match.group(2))


def numbers_chosen(text: str) -> int:
    """How many numbers the «Документ» window says are chosen: «Выбрано 5 номеров» → 5."""
    match = re.search(labels.NUMBERS_CHOSEN_PATTERN, " ".join(text.split()))
    if not match:
        raise AssertionError(f"The «Документ» window's «{text}» does not read like «{labels.NUMBERS_CHOSEN}».")
    return int(match.group(1))


def screen(name: str) -> dict:
    """A screen of ``labels.SCREENS``: its screenshot name, its window and its labels with their locators."""
    if name not in labels.SCREENS:
        known = ", ".join(f"«{known}»" for known in labels.SCREENS)
        raise AssertionError(f"No screen «{name}» in the locators file; it lists {known}.")
    return labels.SCREENS[name]


def missing_labels_message(name: str, missing: list[str]) -> str:
    """What plan mode says of a screen without some of its labels, naming every one."""
    named = ", ".join(f"«{label}»" for label in missing)
    return f"Screen «{name}»: {named} {'is' if len(missing) == 1 else 'are'} not there"


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
        self.walked_logins: set[str] = set()
        self.hierarchies: dict[str, dict[str, list[str]]] = {}

    @keyword("First Walk For Login")
    def first_walk_for_login(self, login: str) -> bool:
        """True the first time it is asked for ``login`` in this run: plan mode walks each login's
        order screens once, whichever routine comes first."""
        if login in self.walked_logins:
            return False
        self.walked_logins.add(login)
        return True

    @keyword("Hierarchy Read Before")
    def hierarchy_read_before(self, login: str) -> dict[str, list[str]] | None:
        """The left pane of ``login`` as read earlier in this run (account → numbers), or ``None``."""
        return self.hierarchies.get(login)

    @keyword("Remember The Hierarchy")
    def remember_the_hierarchy(self, login: str, numbers: dict[str, list[str]]) -> None:
        """Keep the left pane of ``login`` as read (account → numbers) for the rest of the run."""
        self.hierarchies[login] = numbers

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

    @keyword("Portal Date")
    def portal_date(self, iso_day: str) -> str:
        """Return the ``YYYY-MM-DD`` day as the portal's date fields take it, e.g. ``31.10.2026``."""
        return portal_date(iso_day)

    @keyword("Period Option")
    def period_option(self, period: str) -> str:
        """Return how the «Период» list names the ``YYYY-MM`` month, e.g. «Октябрь 2026»."""
        return period_option(period)

    @keyword("Tree Page Position")
    def tree_page_position(self, text: str) -> tuple[int, int]:
        """Return the page shown and the number of pages from the left pane's «Страница N из M»."""
        return tree_page_position(text)

    @keyword("Numbers Chosen")
    def numbers_chosen(self, text: str) -> int:
        """Return how many numbers the «Документ» window's «Выбрано N номеров» says are chosen."""
        return numbers_chosen(text)

    @keyword("Screen")
    def screen(self, name: str) -> dict:
        """Return the screen ``name`` of the locators file: ``screenshot``, ``window`` and ``labels``.

        Fails naming the screens there are when there is no such screen.
        """
        return screen(name)

    @keyword("Fail For Missing Labels")
    def fail_for_missing_labels(self, name: str, *missing: str) -> None:
        """Fail naming the screen and every label of it that is not there; pass when none is missing."""
        if missing:
            raise AssertionError(missing_labels_message(name, list(missing)))

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
