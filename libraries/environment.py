"""Where the robot works: the real systems (production) or the local stand-ins (sandbox).

Production settings come from the environment (``variables/production.py``
lists them); a missing one fails at once, naming it. With no production
setting at all the robot starts the stand-ins (``python -m sandbox``) in a
temporary folder and reads the same settings from the file they write.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret

from libraries.logins import groups_from, read_logins_file
from libraries.notify import notification_settings
from libraries.ownership import Ownership
from libraries.periods import period_bounds
from libraries.tarifer_mail import tarifer_channel, tarifer_mail_settings
from variables import production, sandbox

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE_FILE = PROJECT_ROOT / "state" / "ledger-state.json"


def read_settings(environ: dict[str, str], period: str) -> dict:
    """Validated settings from ``environ``; secrets wrapped as ``Secret``.

    Raises ``RuntimeError`` naming every missing required setting, or saying
    what is wrong with a given one.
    """
    logins_file = environ.get("MTS_LOGINS_FILE", "").strip()
    channel = tarifer_channel(environ.get("TARIFER_CHANNEL", ""))
    not_needed = {name for other, names in production.TARIFER_CHANNELS.items() if other != channel for name in names}
    required = {
        name: meaning
        for name, meaning in production.REQUIRED.items()
        if not (logins_file and name in production.ONE_LOGIN_SHORTCUT) and name not in not_needed
    }
    missing = [f"{name} ({meaning})" for name, meaning in required.items() if not environ.get(name)]
    if missing:
        raise RuntimeError("Missing production settings: " + "; ".join(missing))
    settings = {name: environ.get(name, "") for name in production.REQUIRED}
    for name, (default, _) in production.OPTIONAL.items():
        value = environ.get(name, "")
        settings[name] = (value if name in production.SECRETS else value.strip()) or default
    for name in production.SECRETS:
        settings[name] = Secret(settings[name])
    settings["MTS_ACCOUNTS"] = [item.strip() for item in settings["MTS_ACCOUNTS"].split(",") if item.strip()]
    settings["MAIL_FROM"] = parse_senders(settings["MAIL_FROM"])
    settings["MAX_DOCUMENT_SIZE"] = whole_number(settings, "MAX_DOCUMENT_SIZE", minimum=1)
    settings["LEDGER_STATE_FILE"] = str(Path(settings["LEDGER_STATE_FILE"] or DEFAULT_STATE_FILE).absolute())
    settings["ORDER_SCREENSHOTS"] = production.one_of(
        "ORDER_SCREENSHOTS", settings["ORDER_SCREENSHOTS"], production.ORDER_SCREENSHOTS
    )
    settings.update(call_details_settings(settings, period))
    settings.update(notification_settings(settings))
    settings.update(tarifer_mail_settings(settings))
    settings["LOGINS"] = logins_of(settings, environ)
    return settings_of_login(settings, "")


def logins_of(settings: dict, environ: dict[str, str]) -> list[dict]:
    """Every login of the run: ``{number, password, accounts, call_details_groups}`` each.

    From the logins file (``MTS_LOGINS_FILE``) with each password read from
    the variable it names, or else the one login of ``MTS_LOGIN``.
    """
    if not settings["MTS_LOGINS_FILE"]:
        return [
            {
                "number": settings["MTS_LOGIN"],
                "password": settings["MTS_PASSWORD"],
                "accounts": settings["MTS_ACCOUNTS"],
                "call_details_groups": settings["CALL_DETAILS_GROUPS"],
            }
        ]
    logins = []
    for entry in read_logins_file(settings["MTS_LOGINS_FILE"]):
        password = environ.get(entry["password_env"], "")
        if not password:
            raise RuntimeError(
                f"Login {entry['number']}: its password variable {entry['password_env']} "
                f"(named in MTS_LOGINS_FILE) is not set."
            )
        logins.append(
            {
                "number": entry["number"],
                "password": Secret(password),
                "accounts": entry["accounts"],
                "call_details_groups": entry["call_details_groups"],
            }
        )
    return logins


def settings_of_login(settings: dict, number: str) -> dict:
    """The run's settings as one login sees them: ``MTS_LOGIN``, its password, accounts and groups.

    An empty ``number`` means the run's first login.
    """
    logins = settings["LOGINS"]
    login = next((login for login in logins if login["number"] == number), None) if number else logins[0]
    if login is None:
        known = ", ".join(login["number"] for login in logins)
        raise RuntimeError(f"Login {number} is not among this run's logins ({known}).")
    return {
        **settings,
        "MTS_LOGIN": login["number"],
        "MTS_PASSWORD": login["password"],
        "MTS_ACCOUNTS": login["accounts"],
        "CALL_DETAILS_GROUPS": login["call_details_groups"],
    }


def parse_senders(value: str) -> list[str]:
    """``MAIL_FROM`` as a list of lowercase addresses and ``@domains``; refuses anything else."""
    senders = [item.strip().lower() for item in value.split(",") if item.strip()]
    if not senders:
        raise RuntimeError("MAIL_FROM must name at least one sender address or @domain.")
    for sender in senders:
        local, at, domain = sender.rpartition("@")
        if not at or not domain or "." not in domain or " " in sender:
            raise RuntimeError(f"MAIL_FROM: '{sender}' is neither an address nor an @domain.")
    return senders


def whole_number(settings: dict, name: str, minimum: int) -> int:
    """A setting that must be a whole number of at least ``minimum``."""
    try:
        value = int(settings[name])
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, not '{settings[name]}'.") from None
    if value < minimum:
        raise RuntimeError(f"{name} must be at least {minimum}.")
    return value


def call_details_settings(settings: dict, period: str) -> dict:
    """The validated call-details options: format, first and last day, groups of numbers."""
    fmt = production.one_of("CALL_DETAILS_FORMAT", settings["CALL_DETAILS_FORMAT"], production.CALL_DETAILS_FORMATS)
    first, last = period_bounds(period)
    days = {}
    for name, default in (("CALL_DETAILS_FROM", first), ("CALL_DETAILS_TO", last)):
        try:
            days[name] = date.fromisoformat(settings[name]) if settings[name] else default
        except ValueError:
            raise RuntimeError(f"{name} must be a date written YYYY-MM-DD, not '{settings[name]}'.") from None
    if days["CALL_DETAILS_FROM"] > days["CALL_DETAILS_TO"]:
        raise RuntimeError("CALL_DETAILS_FROM is after CALL_DETAILS_TO.")
    return {
        "CALL_DETAILS_FORMAT": fmt,
        "CALL_DETAILS_FROM": days["CALL_DETAILS_FROM"].isoformat(),
        "CALL_DETAILS_TO": days["CALL_DETAILS_TO"].isoformat(),
        "CALL_DETAILS_GROUPS": parse_groups(settings["CALL_DETAILS_GROUPS"]),
    }


def parse_groups(value: str) -> list[dict]:
    """Named groups of numbers from JSON (inline, or a file's path).

    ``{"Руководство": {"account": "277300018417", "numbers": ["79161234567"]}}``
    becomes ``[{"name": "Руководство", "account": …, "numbers": […]}]``.
    """
    if not value:
        return []
    text = value if value.lstrip()[:1] in ("{", "[") else Path(value).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RuntimeError(f"CALL_DETAILS_GROUPS is not valid JSON: {error}") from None
    return groups_from(data, "CALL_DETAILS_GROUPS")


def read_env_file(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines (values optionally single-quoted, as ``python -m sandbox`` writes them)."""
    result = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1].replace("'\"'\"'", "'")
        result[key.strip()] = value
    return result


class SandboxProcess:
    """``python -m sandbox`` running in a temporary folder until stopped."""

    def __init__(self, seed: int, delivery_delay: float):
        self.data_dir = Path(tempfile.mkdtemp(prefix="mts-sandbox-"))
        os.chmod(self.data_dir, 0o755)
        self.env_file = self.data_dir / "sandbox.env"
        self.log_file = self.data_dir / "sandbox.log"
        command = [sys.executable, "-m", "sandbox", "--data-dir", str(self.data_dir / "data")]
        command += ["--env-file", str(self.env_file), "--seed", str(seed), "--delivery-delay", str(delivery_delay)]
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float) -> dict[str, str]:
        """Return the settings the sandbox wrote, once it answers; fail if it dies or times out."""
        deadline = time.monotonic() + timeout
        while not self.env_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"The sandbox failed to start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"The sandbox did not start within {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)
        return read_env_file(self.env_file)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the sandbox printed."""
        text = self.log_file.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the sandbox and remove its folder."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@library(scope="GLOBAL", auto_keywords=False)
class Environment:
    """Starts (in the sandbox) or reads (in production) the systems the robot works with."""

    def __init__(self):
        self.sandbox: SandboxProcess | None = None
        self.settings: dict | None = None
        self.ownership = Ownership()

    @keyword("Prepare Environment")
    def prepare_environment(self, environment: str, period: str, login: str = "") -> dict:
        """Return the settings of ``environment`` (``SANDBOX`` or ``PRODUCTION``) for ``login``.

        In the sandbox the stand-ins are started first, on free loopback ports
        with fresh random passwords, and stopped by `Release Environment`.
        Within one run the environment is prepared once: suites under the
        suite that prepared it get the same settings.

        ``MTS_LOGIN`` and its password, accounts and groups are those of
        ``login`` (one of ``MTS_LOGINS_FILE``), by default of the first login.
        """
        if self.settings is None:
            self.ownership.claim()
            self.settings = self._prepare(environment, period)
        return settings_of_login(self.settings, login)

    def _prepare(self, environment: str, period: str) -> dict:
        if environment == "PRODUCTION":
            return read_settings(dict(os.environ), period)
        self.sandbox = SandboxProcess(sandbox.SEED, sandbox.DELIVERY_DELAY)
        try:
            values = self.sandbox.wait_ready(sandbox.START_TIMEOUT)
        except BaseException:
            self.sandbox.stop()
            self.sandbox = None
            raise
        values.update({name: os.environ[name] for name in production.RUN_OPTIONS if name in os.environ})
        # Orders placed in this sandbox end with it: a later run must not wait for their e-mail.
        values["LEDGER_STATE_FILE"] = str(self.sandbox.data_dir / "ledger-state.json")
        logger.info(
            f"Sandbox started: portal {values['MTS_PORTAL_URL']}, Tarifer {values['TARIFER_URL']} "
            f"and its e-mail collector {values.get('TARIFER_EMAIL') or '(none)'}."
        )
        return read_settings(values, period)

    @keyword("Run Started Here")
    def run_started_here(self) -> bool:
        """Whether the current suite prepared the environment: the one that ends the run."""
        return self.ownership.owned_here()

    @keyword("Release Environment")
    def release_environment(self) -> None:
        """Stop the stand-ins if this suite started them; nothing to do in production."""
        if not self.ownership.release():
            return
        self.settings = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
