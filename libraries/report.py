"""Put the environment and period into the names business people read first.

Used as ``--prerebotmodifier``: before log.html and report.html are written,
every top-level suite that carries ``Environment`` and ``Period`` metadata gets
them in its name (the routines under it, e.g. each login's, keep theirs), so the report's title reads e.g.
``Monthly Invoice · SANDBOX · 2026-10 Report``.
"""

from robot.api import SuiteVisitor


class EnvironmentInTitle(SuiteVisitor):
    """Append environment and period to the suite names of the report and log."""

    def start_suite(self, suite):
        """Rename a suite that has the run's metadata; leave others alone."""
        environment = suite.metadata.get("Environment")
        period = suite.metadata.get("Period")
        if environment and period and environment not in suite.name and not self.named_above(suite):
            suite.name = f"{suite.name} · {environment} · {period}"

    @staticmethod
    def named_above(suite) -> bool:
        """Whether a suite above ``suite`` carries the run's metadata (and so the title already)."""
        parent = suite.parent
        while parent is not None:
            if parent.metadata.get("Environment"):
                return True
            parent = parent.parent
        return False
