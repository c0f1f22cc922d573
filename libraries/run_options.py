"""Default options of ``robot`` inside the project's venv, set when the interpreter starts.

The venv's ``mts_robot.pth`` imports this module, so that the customer's own
command ``robot robot/monthly_invoice.robot`` runs with ``robot/options.args``
(RPA mode, results/ as the output folder) like ``make run``. A dry run
(``robot --dryrun …``) only checks the suites: it writes no output files and
works in a folder of its own under the system's temporary folder (the Browser
library still writes its Playwright log there), so it never touches the last
real run's results. An explicit ``ROBOT_OPTIONS``, or options on the command
line, still win.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ARGUMENT_FILE = Path(__file__).resolve().parents[1] / "robot" / "options.args"
DRY_RUN_OUTPUTS = "--output NONE --log NONE --report NONE --xunit NONE"
DRY_RUN_FOLDER = Path(tempfile.gettempdir()) / "mts-robot-dryrun"


def default_options(argv: list[str]) -> str:
    """The ``ROBOT_OPTIONS`` for a command line ``argv``."""
    options = f"--argumentfile {ARGUMENT_FILE}"
    if "--dryrun" in argv:
        DRY_RUN_FOLDER.mkdir(exist_ok=True)
        options += f" {DRY_RUN_OUTPUTS} --outputdir {DRY_RUN_FOLDER}"
    return options


os.environ.setdefault("ROBOT_OPTIONS", default_options(sys.orig_argv))
