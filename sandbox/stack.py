"""Start and stop every stand-in together and describe them as settings.

The settings are the same ``KEY=VALUE`` environment a production-configured
robot reads (see ``variables/production.py``), so a robot pointed at a running
sandbox takes exactly the production path.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sandbox import dataset
from sandbox.http import ServerThread
from sandbox.mail import MailServer
from sandbox.portal import DEFAULT_DETAILS_HISTORY_DAYS, DEFAULT_ZIP_ABOVE_BYTES, FAULTS
from sandbox.portal import create_app as create_portal
from sandbox.tarifer import create_app as create_tarifer

log = logging.getLogger(__name__)

ROBOT_MAILBOX = "robot@sandbox.test"


@dataclass
class SandboxOptions:
    """What the sandbox is started with."""

    data_dir: Path
    seed: int = 1
    delivery_delay: float = 1.0
    details_history_days: int = DEFAULT_DETAILS_HISTORY_DAYS
    """How many days back the portal keeps call details."""
    zip_above_bytes: int = DEFAULT_ZIP_ABOVE_BYTES
    """The portal sends call details larger than this zipped."""
    document_size: int | None = None
    """Events per number in the call details the portal sends (None: each number's usual count)."""
    faults: tuple[str, ...] = ()
    """Portal fault switches on from the start, by name (see ``sandbox.portal.FAULTS``)."""


class Sandbox:
    """The portal, mail and Tarifer stand-ins on free loopback ports.

    Passwords and the Tarifer token are fresh random values on every start.
    ``settings()`` gives the environment that points the robot at them.
    """

    def __init__(self, options: SandboxOptions):
        self.options = options
        self.data_dir = Path(options.data_dir).resolve()
        self.logins = dataset.generate(options.seed)
        self.passwords = {login.login: secrets.token_urlsafe(12) for login in self.logins}
        self.mailbox_password = secrets.token_urlsafe(12)
        self.tarifer_token = secrets.token_urlsafe(24)
        self.mail: MailServer | None = None
        self.portal_app = None
        self.portal: ServerThread | None = None
        self.tarifer: ServerThread | None = None

    def start(self) -> Sandbox:
        """Start mail, Tarifer and the portal; return once all of them answer."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o755)
        try:
            self.mail = MailServer(self.data_dir / "mail", {ROBOT_MAILBOX: self.mailbox_password}).start()
            tarifer_app = create_tarifer(self.data_dir / "tarifer", self.tarifer_token)
            self.tarifer = ServerThread(tarifer_app).start()
            portal_app = create_portal(
                self.logins,
                self.passwords,
                smtp_host=self.mail.host,
                smtp_port=self.mail.smtp_port,
                delivery_delay=self.options.delivery_delay,
                data_dir=self.data_dir / "portal",
                seed=self.options.seed,
                details_history_days=self.options.details_history_days,
                zip_above_bytes=self.options.zip_above_bytes,
                document_size=self.options.document_size,
            )
            portal_app.config.update({FAULTS[name]: True for name in self.options.faults})
            self.portal_app = portal_app
            self.portal = ServerThread(portal_app).start()
        except BaseException:
            self.stop()
            raise
        log.info("sandbox started in %s", self.data_dir)
        return self

    def stop(self) -> None:
        """Stop everything that was started; safe to call more than once."""
        if self.portal is not None:
            self.portal.stop()
            self.portal = None
            self.portal_app.extensions["portal"].shutdown()
        if self.tarifer is not None:
            self.tarifer.stop()
            self.tarifer = None
        if self.mail is not None:
            self.mail.stop()
            self.mail = None

    def settings(self) -> dict[str, str]:
        """The production settings that point a robot at this sandbox."""
        login = self.logins[0]
        return {
            "MTS_PORTAL_URL": f"{self.portal.url}/selfcare/",
            "MTS_LOGIN": login.login,
            "MTS_PASSWORD": self.passwords[login.login],
            "MTS_ACCOUNTS": ",".join(account.number for account in login.accounts),
            "REPORT_EMAIL": ROBOT_MAILBOX,
            # the portal stand-in's sender, so the robot takes only the portal's mail
            "MAIL_FROM": self.portal_app.extensions["portal"].sender,
            "IMAP_HOST": self.mail.host,
            "IMAP_PORT": str(self.mail.imap_port),
            "IMAP_USER": ROBOT_MAILBOX,
            "IMAP_PASSWORD": self.mailbox_password,
            "IMAP_CA_FILE": str(self.mail.ca_file),
            "TARIFER_URL": f"{self.tarifer.url}/api/v1",
            "TARIFER_TOKEN": self.tarifer_token,
            # the portal stand-in mails within seconds, so the robot may look often
            "MAIL_TIMEOUT": str(int(60 + 10 * self.options.delivery_delay)),
            "MAIL_POLL_INTERVAL": "0.5",
            "SANDBOX_SMTP_PORT": str(self.mail.smtp_port),
            "SANDBOX_DATA_DIR": str(self.data_dir),
        }

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def write_env_file(path: Path, settings: dict[str, str]) -> None:
    """Write ``KEY=VALUE`` lines readable by ``set -a; . FILE``, owner-only.

    The file appears atomically, so a reader that sees it sees all of it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for key, value in settings.items():
            handle.write(f"{key}={_shell_quote(value)}\n")
    os.replace(tmp, path)


def _shell_quote(value: str) -> str:
    """Single-quote a value for a POSIX shell."""
    return "'" + value.replace("'", "'\"'\"'") + "'"
