"""Run the routines of a suite tree in the order of the month, for every login.

Used as ``--prerunmodifier``: when ``robot robot`` runs the whole folder, the
invoices (manual 1.1, 1.2) come first, then the call details (2.1), then the
final upload of whatever Tarifer is still missing.

With several logins (``MTS_LOGINS_FILE`` in production, see
``libraries/logins.py``) the tasks tagged ``per-login`` (the login and the
orders) are run once per login, each login as its own part of the report
(``Login 9161234567``, suite metadata ``Login``, which ``Start The Run``
reads). The remaining tasks (collecting the mail, uploading) run once after
every login has ordered, so the operator's delivery delay is waited once::

    Monthly Telecom Paperwork
    ├── Login 9161234567: Monthly Invoice, Call Details (log in, order)
    ├── Login 9161234568: Monthly Invoice, Call Details (log in, order)
    ├── Monthly Invoice Of Every Login, Call Details Of Every Login (collect, upload)
    └── Upload To Tarifer

A login that fails stops only its own part: its tasks lose the
``robot:exit-on-failure`` tag that stops a one-login run.
"""

from __future__ import annotations

import os

from robot.api import SuiteVisitor
from robot.running import TestSuite

from libraries.logins import login_numbers

ORDER = ("Monthly Invoice", "Call Details", "Upload To Tarifer")
PER_LOGIN = "per-login"
EXIT_ON_FAILURE = "robot:exit-on-failure"


def in_manual_order(suites) -> list:
    """``suites`` sorted by ``ORDER``; suites not in it keep their place after those."""
    known = {name: index for index, name in enumerate(ORDER)}
    return sorted(suites, key=lambda child: known.get(child.name, len(ORDER)))


def routine_part(routine: TestSuite, per_login: bool) -> TestSuite:
    """A copy of ``routine`` with only its per-login tasks, or only the others."""
    part = routine.deepcopy()
    part.tests = [task for task in part.tests if (PER_LOGIN in task.tags) == per_login]
    return part


def login_part(routines: list[TestSuite], login: str, rpa: bool) -> TestSuite:
    """The part of the run that logs in as ``login`` and orders: each routine's per-login tasks."""
    part = TestSuite(name=f"Login {login}", metadata={"Login": login}, rpa=rpa)
    for routine in routines:
        copy = routine_part(routine, per_login=True)
        copy.metadata["Login"] = login
        for task in copy.tests:
            task.tags.remove(EXIT_ON_FAILURE)
        part.suites.append(copy)
    return part


def for_every_login(suite: TestSuite, logins: list[str]) -> None:
    """Make ``suite`` run its routines' per-login tasks once per login, then the rest once."""
    routines = list(suite.suites) or [suite]
    ordering = [routine for routine in routines if any(PER_LOGIN in task.tags for task in routine.tests)]
    if not ordering:
        return
    parts = [login_part(ordering, login, suite.rpa) for login in logins]
    for routine in routines:
        if routine in ordering:
            rest = routine_part(routine, per_login=False)
            rest.name = f"{routine.name} Of Every Login"
            if rest.tests:
                parts.append(rest)
        else:
            parts.append(routine)
    suite.tests = []
    suite.suites = parts


class ManualOrder(SuiteVisitor):
    """Sort child suites by ``ORDER`` and, with several logins, give each login its own part."""

    def __init__(self):
        self.logins = login_numbers(dict(os.environ))

    def visit_suite(self, suite):
        """Order the whole tree, then split the top suite per login (with more than one).

        A tree already split (the modifier given twice, e.g. by ``ROBOT_OPTIONS`` and
        ``--argumentfile``) is left as it is.
        """
        if any("Login" in child.metadata for child in suite.suites):
            return
        self.order(suite)
        if len(self.logins) > 1:
            for_every_login(suite, self.logins)

    def order(self, suite) -> None:
        """Reorder the children of ``suite`` and of every suite under it."""
        suite.suites = in_manual_order(suite.suites)
        for child in suite.suites:
            self.order(child)
