"""Look-ups in the data set, always within one login's own accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.dataset import Account, Login, Subscriber


@dataclass(frozen=True)
class Line:
    """A subscriber together with the personal account it is on."""

    account: Account
    subscriber: Subscriber


class Catalog:
    """The portal's logins, their accounts and numbers, indexed for look-up."""

    def __init__(self, logins: tuple[Login, ...]):
        """Index the logins and, per login, its numbers."""
        self._logins = {login.login: login for login in logins}
        self._accounts = {
            login.login: {account.number: account for account in login.accounts} for login in logins
        }
        self._lines = {
            login.login: {
                subscriber.number: Line(account, subscriber)
                for account in login.accounts
                for subscriber in account.subscribers
            }
            for login in logins
        }

    def login(self, login: str) -> Login:
        """Return the login's data; KeyError if it is not in the data set."""
        return self._logins[login]

    def account(self, login: str, number: str) -> Account | None:
        """Return the login's personal account with this number, or None."""
        return self._accounts[login].get(number)

    def line(self, login: str, number: str) -> Line | None:
        """Return the login's subscriber with this phone number, or None."""
        return self._lines[login].get(number)

    def lines(self, login: str, numbers: tuple[str, ...]) -> tuple[Line, ...]:
        """Return the login's subscribers with these numbers, in the same order."""
        return tuple(self._lines[login][number] for number in numbers)
