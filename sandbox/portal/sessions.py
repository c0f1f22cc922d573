"""Server-side sessions: the cookie holds a random id, the state stays here."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

COOKIE = "VMSESSIONID"


@dataclass
class PortalSession:
    """A logged-in user's state: the login and the current selection."""

    login: str
    _selection: list[str] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def selection(self) -> tuple[str, ...]:
        """The selected subscriber numbers, in the order they were added."""
        with self._lock:
            return tuple(self._selection)

    def select(self, numbers: list[str]) -> None:
        """Add numbers to the selection, skipping those already in it."""
        with self._lock:
            for number in numbers:
                if number not in self._selection:
                    self._selection.append(number)

    def deselect(self, number: str) -> None:
        """Take a number out of the selection, if it is in it."""
        with self._lock:
            if number in self._selection:
                self._selection.remove(number)

    def clear_selection(self) -> None:
        """Empty the selection."""
        with self._lock:
            self._selection.clear()


class SessionStore:
    """Maps random session ids to sessions, in memory."""

    def __init__(self) -> None:
        """Start with no sessions."""
        self._sessions: dict[str, PortalSession] = {}
        self._lock = threading.Lock()

    def create(self, login: str) -> str:
        """Start a session for ``login`` and return its new id."""
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session_id] = PortalSession(login)
        return session_id

    def get(self, session_id: str | None) -> PortalSession | None:
        """Return the session with this id, or None."""
        if not session_id:
            return None
        with self._lock:
            return self._sessions.get(session_id)

    def drop(self, session_id: str | None) -> None:
        """End the session with this id, if there is one."""
        with self._lock:
            self._sessions.pop(session_id or "", None)
