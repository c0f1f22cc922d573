"""Start and stop every stand-in together and describe them as settings.

The settings are the same ``KEY=VALUE`` environment a production-configured
robot reads (see ``variables/production.py``), so a robot pointed at a running
sandbox takes exactly the production path.

The env file keeps the one-login shortcut for the first login (``MTS_LOGIN``,
``MTS_PASSWORD``, ``MTS_ACCOUNTS``) and carries a password variable for every
login, ``MTS_PASSWORD_<LOGIN>`` (e.g. ``MTS_PASSWORD_9161234567``). Started
with ``--logins K`` (K > 1), a logins file is written next to it
(``sandbox.env`` → ``sandbox.logins.toml``) and named by ``MTS_LOGINS_FILE``,
so that the robot does every login; the default data set's two logins (two
companies) keep the one-login shortcut. The file's shape (read by
``libraries/logins.py``), one ``[[login]]`` table per Virtual Manager login,
in the data set's order::

    [[login]]
    number = "9161234567"                      # the login: 10 digits, no +7
    password_env = "MTS_PASSWORD_9161234567"   # the variable holding its password
    accounts = ["277300018417", "277300018418"]   # optional: the accounts to process
    # optional: call details of groups of numbers instead of whole accounts
    # call_details_groups = { "Руководство" = { account = "277300018417", numbers = ["79161234567"] } }

The file holds no secret (passwords stay in the environment); the sandbox
writes ``accounts`` for every login and no ``call_details_groups``.

The mail server has a second mailbox, the finance team's
(``SANDBOX_FINANCE_EMAIL``, its password ``SANDBOX_FINANCE_PASSWORD``, read
over IMAPS like the robot's). The settings send the run's notification
through the SMTP receiver with STARTTLS, verified against the mail server's
certificate, logged in as the robot's mailbox; ``NOTIFY_EMAIL`` is not
written: set it (e.g. to the finance mailbox) to have the summary mailed.

Tarifer takes documents both ways: through its API (``TARIFER_URL``,
``TARIFER_TOKEN``) and through its e-mail collector, ``TARIFER_EMAIL``, an
address of the SMTP receiver whose mail goes to the Tarifer stand-in
(``sandbox/tarifer.py``). ``TARIFER_CHANNEL`` is not written: the robot uses
the API unless it is set to ``email``.
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
from sandbox.portal import DEFAULT_DETAILS_HISTORY_DAYS, DEFAULT_ZIP_ABOVE_BYTES, FAULTS, TREE_PAGE_SIZE
from sandbox.portal import create_app as create_portal
from sandbox.tarifer import COLLECTOR_ADDRESS
from sandbox.tarifer import create_app as create_tarifer

log = logging.getLogger(__name__)

ROBOT_MAILBOX = "robot@sandbox.test"
FINANCE_MAILBOX = "finance@sandbox.test"
"""Where a person (or a test) has the run's summary mailed: ``NOTIFY_EMAIL=finance@sandbox.test``."""


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
    logins: int | None = None
    """How many logins the data set has (None: the default data set's two)."""
    accounts: int | None = None
    """Personal accounts per login (None: the default data set's three and two)."""
    numbers: int | None = None
    """Numbers per personal account (None: the default data set's three to six)."""
    page_size: int = TREE_PAGE_SIZE
    """Nodes (accounts and numbers) per page of the portal's account tree."""
    without_label: str | None = None
    """A label the portal leaves out of every page (a test of the robot's plan mode), or None."""


class Sandbox:
    """The portal, mail and Tarifer stand-ins on free loopback ports.

    Passwords and the Tarifer token are fresh random values on every start.
    ``settings()`` gives the environment that points the robot at them.
    """

    def __init__(self, options: SandboxOptions):
        self.options = options
        self.data_dir = Path(options.data_dir).resolve()
        self.logins = dataset.generate(
            options.seed, logins=options.logins, accounts=options.accounts, numbers=options.numbers
        )
        self.passwords = {login.login: secrets.token_urlsafe(12) for login in self.logins}
        self.mailbox_password = secrets.token_urlsafe(12)
        self.finance_password = secrets.token_urlsafe(12)
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
            mailboxes = {ROBOT_MAILBOX: self.mailbox_password, FINANCE_MAILBOX: self.finance_password}
            tarifer_app = create_tarifer(self.data_dir / "tarifer", self.tarifer_token)
            # mail for Tarifer's collector address is handed to the Tarifer stand-in within the SMTP transaction
            collectors = {COLLECTOR_ADDRESS: tarifer_app.extensions["tarifer_collector"]}
            self.mail = MailServer(self.data_dir / "mail", mailboxes, collectors=collectors).start()
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
                tree_page_size=self.options.page_size,
                without_label=self.options.without_label,
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

    def settings(self, logins_file: Path | None = None) -> dict[str, str]:
        """The production settings that point a robot at this sandbox.

        ``MTS_LOGIN``/``MTS_PASSWORD``/``MTS_ACCOUNTS`` are the first login's;
        ``MTS_PASSWORD_<LOGIN>`` is there for every login, and
        ``MTS_LOGINS_FILE`` names ``logins_file`` if one is given.
        """
        login = self.logins[0]
        return {
            "MTS_PORTAL_URL": f"{self.portal.url}/selfcare/",
            "MTS_LOGIN": login.login,
            "MTS_PASSWORD": self.passwords[login.login],
            "MTS_ACCOUNTS": ",".join(account.number for account in login.accounts),
            **{password_variable(each.login): self.passwords[each.login] for each in self.logins},
            **({"MTS_LOGINS_FILE": str(Path(logins_file).resolve())} if logins_file is not None else {}),
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
            # Tarifer's e-mail collector (used with TARIFER_CHANNEL=email), reached through the SMTP settings below
            "TARIFER_EMAIL": COLLECTOR_ADDRESS,
            # the portal stand-in mails within seconds, so the robot may look often
            "MAIL_TIMEOUT": str(int(60 + 10 * self.options.delivery_delay)),
            "MAIL_POLL_INTERVAL": "0.5",
            # the run's notification (sent once NOTIFY_EMAIL is set): the receiver, STARTTLS, verified
            "SMTP_HOST": self.mail.host,
            "SMTP_PORT": str(self.mail.smtp_port),
            "SMTP_TLS": "starttls",
            "SMTP_CA_FILE": str(self.mail.ca_file),
            "SMTP_USER": ROBOT_MAILBOX,
            "SMTP_PASSWORD": self.mailbox_password,
            "SANDBOX_FINANCE_EMAIL": FINANCE_MAILBOX,
            "SANDBOX_FINANCE_PASSWORD": self.finance_password,
            "SANDBOX_SMTP_PORT": str(self.mail.smtp_port),
            "SANDBOX_DATA_DIR": str(self.data_dir),
        }

    def write_settings(self, env_file: Path) -> tuple[Path, ...]:
        """Write the settings to ``env_file`` (and, for ``--logins K`` > 1, the logins file).

        The logins file is complete before the env file appears, so a reader
        that sees the env file can read both. Returns the files written.
        """
        env_file = Path(env_file)
        written: list[Path] = []
        logins_file = None
        if self.options.logins is not None and len(self.logins) > 1:
            logins_file = logins_file_for(env_file)
            write_private_file(logins_file, logins_toml(self.logins))
            written.append(logins_file)
        write_env_file(env_file, self.settings(logins_file))
        written.append(env_file)
        return tuple(written)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def password_variable(login: str) -> str:
    """The environment variable that holds a login's password: ``MTS_PASSWORD_9161234567``."""
    return f"MTS_PASSWORD_{login}"


def logins_file_for(env_file: Path) -> Path:
    """Where the logins file of ``env_file`` goes: beside it, ``sandbox.env`` → ``sandbox.logins.toml``."""
    env_file = Path(env_file)
    return env_file.with_name(f"{env_file.stem or env_file.name}.logins.toml")


def logins_toml(logins: tuple[dataset.Login, ...]) -> str:
    """The logins file: one ``[[login]]`` table per login (shape in the module's docstring)."""
    lines = [
        "# Virtual Manager logins of the sandbox, written by python -m sandbox.",
        "# Passwords are not here: each login's password_env names the variable that holds it.",
    ]
    for login in logins:
        accounts = ", ".join(_toml_string(account.number) for account in login.accounts)
        lines += [
            "",
            "[[login]]",
            f"# {login.company}",
            f"number = {_toml_string(login.login)}",
            f"password_env = {_toml_string(password_variable(login.login))}",
            f"accounts = [{accounts}]",
        ]
    return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = []
    for char in value:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def write_env_file(path: Path, settings: dict[str, str]) -> None:
    """Write ``KEY=VALUE`` lines readable by ``set -a; . FILE``, owner-only.

    The file appears atomically, so a reader that sees it sees all of it.
    """
    write_private_file(path, "".join(f"{key}={_shell_quote(value)}\n" for key, value in settings.items()))


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` owner-only (0600), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _shell_quote(value: str) -> str:
    """Single-quote a value for a POSIX shell."""
    return "'" + value.replace("'", "'\"'\"'") + "'"
