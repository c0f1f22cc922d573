"""Which suite set something up, so that only that suite tears it down.

``make run`` runs the routines as one suite tree: the top suite prepares the
environment and the ledger once and every routine under it reuses them, while
a routine run on its own prepares and releases them itself.
"""

from __future__ import annotations

from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError


def current_suite() -> str:
    """The full name of the suite being run (unique in the run, also for a suite's copy per login);
    empty outside a run."""
    try:
        return str(BuiltIn().get_variable_value("${SUITE NAME}", ""))
    except RobotNotRunningError:
        return ""


class Ownership:
    """Remembers the first suite that claimed something."""

    def __init__(self):
        self.owner: str | None = None

    def claim(self) -> bool:
        """Claim for the current suite; True only for the first claim."""
        if self.owner is not None:
            return False
        self.owner = current_suite()
        return True

    def owned_here(self) -> bool:
        """True if the current suite is the one that claimed."""
        return self.owner is not None and self.owner == current_suite()

    def release(self) -> bool:
        """True (and forget the owner) if the current suite is the one that claimed."""
        if self.owner is None or self.owner != current_suite():
            return False
        self.owner = None
        return True
