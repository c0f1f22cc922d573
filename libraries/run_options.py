"""Default options of ``robot`` inside the project's venv, set when the interpreter starts.

The venv's ``mts_robot.pth`` imports this module, so that the customer's own
command ``robot robot/monthly_invoice.robot`` runs with ``robot/options.args``
(RPA mode, results/ as the output folder) like ``make run``. A dry run
(``robot --dryrun …``) only checks the suites: it writes no output files, so it
never replaces the last real run's results. An explicit ``ROBOT_OPTIONS``, or
options on the command line, still win.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ARGUMENT_FILE = Path(__file__).resolve().parents[1] / "robot" / "options.args"
DRY_RUN_OUTPUTS = "--output NONE --log NONE --report NONE --xunit NONE"


def default_options(argv: list[str]) -> str:
    """The ``ROBOT_OPTIONS`` for a command line ``argv``."""
    options = f"--argumentfile {ARGUMENT_FILE}"
    if "--dryrun" in argv:
        options += " " + DRY_RUN_OUTPUTS
    return options


os.environ.setdefault("ROBOT_OPTIONS", default_options(sys.orig_argv))
