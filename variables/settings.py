"""Variable file read by every suite: the environment, the period and the run's options.

``ENVIRONMENT`` is ``PRODUCTION`` as soon as ``MTS_PORTAL_URL`` is set, else
``SANDBOX``. It is known when the suite is parsed, so the report's metadata
and title can carry it.
"""

import os

from libraries.periods import last_closed_period, period_bounds


def get_variables():
    """Return the suite-level variables."""
    period = os.environ.get("PERIOD", "").strip() or last_closed_period()
    first, last = period_bounds(period)
    return {
        "ENVIRONMENT": "PRODUCTION" if os.environ.get("MTS_PORTAL_URL") else "SANDBOX",
        "PERIOD": period,
        "PERIOD_FROM": first.isoformat(),
        "PERIOD_TO": last.isoformat(),
        "HEADLESS": os.environ.get("HEADLESS", "true").lower() != "false",
        "BROWSER_TIMEOUT": os.environ.get("BROWSER_TIMEOUT", "30s"),
        # run: the month for real; plan: log in, look at every screen, order, collect and upload nothing.
        "MODE": os.environ.get("MODE", "").strip().lower() or "run",
        # Set by the whole month's suite tree (robot/__init__.robot); a routine run alone does it all itself.
        "WHOLE_MONTH": False,
        # The login whose browser is open (the routines of one login share it); empty when none is.
        "PORTAL_LOGIN": "",
    }
