"""Run the routines of a suite tree in the order of the month, not of the alphabet.

Used as ``--prerunmodifier``: when ``robot robot`` runs the whole folder, the
invoices (manual 1.1, 1.2) come first, then the call details (2.1), then the
final upload of whatever Tarifer is still missing.
"""

from robot.api import SuiteVisitor

ORDER = ("Monthly Invoice", "Call Details", "Upload To Tarifer")


class ManualOrder(SuiteVisitor):
    """Sort child suites by ``ORDER``; suites not in it keep their place after those."""

    def start_suite(self, suite):
        """Reorder the direct children of ``suite``."""
        known = {name: index for index, name in enumerate(ORDER)}
        suite.suites = sorted(suite.suites, key=lambda child: known.get(child.name, len(ORDER)))
