"""The left pane «Лицевые счета»: a login's account tree, filtered and paged.

The real portal lists a long hierarchy a page at a time (300 nodes a page)
and can filter it. Here a node is a personal account or a subscriber number;
the listing is every account followed by its numbers, in the data set's
order, cut into pages of ``page_size`` nodes. A page that starts inside an
account repeats that account at its top (``continued``; the repeat is not
counted as a node), so every number on a page sits under its account.

The filter («Номер или лицевой счёт») keeps the digits of what was typed:
an account whose number contains them is listed with all its numbers; a
number that contains them is listed under its account, alone or with the
other matches of that account. A filter without a digit finds nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sandbox.dataset import Account, Login, Subscriber

TREE_PAGE_SIZE = 300
"""Nodes (accounts and numbers) per page of the tree, as on the real portal."""


@dataclass(frozen=True)
class TreeAccount:
    """One account on a page, with the numbers of it that the page shows."""

    account: Account
    subscribers: tuple[Subscriber, ...]
    continued: bool = False
    """The account began on an earlier page: this is a repeat of its heading."""
    continues: bool = False
    """More of its listed numbers follow on the next page."""


@dataclass(frozen=True)
class TreePage:
    """One page of the (filtered) tree."""

    accounts: tuple[TreeAccount, ...]
    page: int
    """This page's number, from 1."""
    pages: int
    """How many pages the listing has (at least 1, even when it is empty)."""
    nodes: int
    """How many nodes the whole listing has."""
    filter: str
    """The filter as typed (empty: none)."""

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a page comes after this one."""
        return self.page < self.pages


def filter_digits(text: str) -> str:
    """The digits of a typed filter: «+7 916 123-45-67» → ``79161234567``."""
    return "".join(char for char in text if char.isdigit())


def listed_nodes(login: Login, filter_text: str = "") -> list[tuple[Account, Subscriber | None]]:
    """The listing's nodes in order: ``(account, None)`` for an account, ``(account, subscriber)`` for a number."""
    text = filter_text.strip()
    needle = filter_digits(text)
    if text and not needle:
        return []
    nodes: list[tuple[Account, Subscriber | None]] = []
    for account in login.accounts:
        if not needle or needle in account.number:
            shown = account.subscribers
        else:
            shown = tuple(subscriber for subscriber in account.subscribers if needle in subscriber.number)
            if not shown:
                continue
        nodes.append((account, None))
        nodes.extend((account, subscriber) for subscriber in shown)
    return nodes


def tree_page(login: Login, page: int = 1, page_size: int = TREE_PAGE_SIZE, filter_text: str = "") -> TreePage:
    """Return page ``page`` of the login's tree (clamped to the pages there are)."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    nodes = listed_nodes(login, filter_text)
    pages = max(1, math.ceil(len(nodes) / page_size))
    page = min(max(1, page), pages)
    start, end = (page - 1) * page_size, page * page_size
    groups: list[TreeAccount] = []
    for account, subscriber in nodes[start:end]:
        if subscriber is None:
            groups.append(TreeAccount(account, ()))
        elif groups and groups[-1].account is account:
            last = groups[-1]
            groups[-1] = TreeAccount(account, (*last.subscribers, subscriber), last.continued)
        else:
            groups.append(TreeAccount(account, (subscriber,), continued=True))
    if groups and end < len(nodes):
        next_account, next_subscriber = nodes[end]
        last = groups[-1]
        if next_subscriber is not None and next_account is last.account:
            groups[-1] = TreeAccount(last.account, last.subscribers, last.continued, continues=True)
    return TreePage(tuple(groups), page, pages, len(nodes), filter_text.strip())
