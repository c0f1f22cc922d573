"""Password checks with the real portal's attempt limits: captcha, then lock."""

from __future__ import annotations

import hmac
import re
import threading
from collections import defaultdict
from enum import StrEnum

from sandbox.portal import texts

CAPTCHA_AFTER = 3
"""Consecutive failures after which the portal asks for a captcha and refuses attempts."""

LOCK_AFTER = 5
"""Consecutive failures after which the login is locked."""

_LOGIN_FORMAT = re.compile(r"[0-9]{10}")
_LOGGABLE_INPUT = re.compile(r"[0-9+() -]{0,20}")


class LoginResult(StrEnum):
    """The outcome of one login attempt, as written to the attempts log."""

    OK = "ok"
    WRONG_PASSWORD = "wrong_password"
    BAD_FORMAT = "bad_format"
    CAPTCHA = "captcha"
    LOCKED = "locked"

    @property
    def message(self) -> str | None:
        """The error the login page shows for this outcome (None for success)."""
        return {
            LoginResult.WRONG_PASSWORD: texts.WRONG_PASSWORD,
            LoginResult.BAD_FORMAT: texts.BAD_FORMAT,
            LoginResult.CAPTCHA: texts.CAPTCHA,
            LoginResult.LOCKED: texts.LOCKED,
        }.get(self)


def loggable_login(value: str) -> str | None:
    """Return what was typed as the login if it may be logged, else None.

    Only short phone-like input is kept, so a password typed into the wrong
    field never reaches the log.
    """
    return value if _LOGGABLE_INPUT.fullmatch(value) else None


class LoginGuard:
    """Checks passwords and counts each login's consecutive failures."""

    def __init__(self, passwords: dict[str, str]):
        """Keep the passwords of the known logins."""
        self._passwords = dict(passwords)
        self._failures: defaultdict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def attempt(self, login: str, password: str) -> LoginResult:
        """Check one attempt and return its outcome.

        A login not of exactly 10 digits is refused without counting. Every
        other failure counts, unknown logins included; a success resets the
        count. The outcome is what the user is told: the failure that reaches
        ``CAPTCHA_AFTER`` already answers CAPTCHA, and from then on every
        attempt is refused unchecked; the one that reaches ``LOCK_AFTER``
        answers LOCKED, and so does every later attempt.
        """
        if not _LOGIN_FORMAT.fullmatch(login):
            return LoginResult.BAD_FORMAT
        with self._lock:
            failures = self._failures[login]
            if failures >= LOCK_AFTER:
                return LoginResult.LOCKED
            if failures < CAPTCHA_AFTER and self._password_matches(login, password):
                self._failures[login] = 0
                return LoginResult.OK
            failures = self._failures[login] = failures + 1
        if failures >= LOCK_AFTER:
            return LoginResult.LOCKED
        if failures >= CAPTCHA_AFTER:
            return LoginResult.CAPTCHA
        return LoginResult.WRONG_PASSWORD

    def _password_matches(self, login: str, password: str) -> bool:
        """Compare in constant time; an unknown login compares against nothing."""
        expected = self._passwords.get(login)
        matches = hmac.compare_digest(password.encode(), (expected or "").encode())
        return matches and expected is not None
