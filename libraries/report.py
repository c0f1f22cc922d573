"""Put the environment and period into the names business people read first.

Used as ``--prerebotmodifier``: before log.html and report.html are written,
every top-level suite that carries ``Environment`` and ``Period`` metadata gets
them in its name, so the report's title reads e.g.
``Monthly Invoice · SANDBOX · 2026-10 Report``.
"""

from robot.api import SuiteVisitor


class EnvironmentInTitle(SuiteVisitor):
    """Append environment and period to the suite names of the report and log."""

    def start_suite(self, suite):
        """Rename a suite that has the run's metadata; leave others alone."""
        environment = suite.metadata.get("Environment")
        period = suite.metadata.get("Period")
        if environment and period and environment not in suite.name:
            suite.name = f"{suite.name} · {environment} · {period}"
