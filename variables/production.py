"""The production settings: what the robot reads from the environment.

Secrets (``*_PASSWORD``, ``*_TOKEN``) are read only from the environment and
are handed to keywords as Robot Framework ``Secret`` values, never as text.
"""

# name: what it is
REQUIRED = {
    "MTS_PORTAL_URL": "address of the «Виртуальный менеджер» login page, e.g. https://ihelper.mts.ru/selfcare/",
    "MTS_LOGIN": "the Virtual Manager number, 10 digits without +7 (not needed with MTS_LOGINS_FILE)",
    "MTS_PASSWORD": "the Virtual Manager password (not needed with MTS_LOGINS_FILE)",
    "REPORT_EMAIL": "the address documents are ordered to («Отправить на»)",
    "IMAP_HOST": "IMAPS server of that mailbox",
    "IMAP_USER": "mailbox user name",
    "IMAP_PASSWORD": "mailbox password",
    "TARIFER_URL": "Tarifer API base URL, e.g. https://tarifer.example/api/v1",
    "TARIFER_TOKEN": "Tarifer API token",
    "TARIFER_EMAIL": "the address of Tarifer's e-mail collector the documents are mailed to",
}

OPTIONAL = {
    "MTS_LOGINS_FILE": ("", "TOML file of several logins (number, password_env, accounts, call_details_groups)"),
    "MTS_ACCOUNTS": ("", "comma-separated personal accounts to handle; empty means all of the login"),
    "PERIOD": ("", "billing month YYYY-MM; empty means the last closed month"),
    "IMAP_PORT": ("993", "IMAPS port (implicit TLS)"),
    "IMAP_CA_FILE": ("", "PEM file of trusted certificates for the mailbox; empty means the system's"),
    "MAIL_FROM": ("@mts.ru", "whose mail may carry documents: comma-separated addresses or @domains (subdomains too)"),
    "MAIL_TIMEOUT": ("3600", "seconds to wait for an ordered document's e-mail"),
    "MAX_DOCUMENT_SIZE": ("200000000", "bytes: a larger attachment, or a mail unpacking to more, is refused"),
    "MAIL_POLL_INTERVAL": ("30", "longest wait between two looks into the mailbox (IDLE reports new mail at once)"),
    "TARIFER_CA_FILE": ("", "PEM file of trusted certificates for Tarifer; empty means the system's"),
    "TARIFER_CHANNEL": ("api", "how documents reach Tarifer: api (its HTTP upload) or email (its e-mail collector)"),
    "TARIFER_MAX_MAIL_SIZE": (
        "20000000",
        "bytes: the largest mail Tarifer's collector takes; a larger document goes zipped, or fails if still larger",
    ),
    "CALL_DETAILS_FORMAT": ("pdf", "format of the call details: pdf (Tarifer's preference), xml or html"),
    "CALL_DETAILS_FROM": ("", "first day of the call details, YYYY-MM-DD; empty means the period's first"),
    "CALL_DETAILS_TO": ("", "last day of the call details, YYYY-MM-DD; empty means the period's last"),
    "CALL_DETAILS_GROUPS": ("", "named groups of numbers per personal account: JSON, or a JSON file's path"),
    "LEDGER_STATE_FILE": ("", "unfinished orders, mails taken, uploads; default state/ledger-state.json"),
    "ORDER_SCREENSHOTS": (
        "problems",
        "pictures of the «Документ» window: problems (when the portal refuses or does not answer) or every order",
    ),
    "NOTIFY_EMAIL": ("", "who gets the month's summary by e-mail at the end of every run: comma-separated addresses"),
    "SMTP_HOST": ("", "SMTP server the summary is sent through (needed with NOTIFY_EMAIL)"),
    "SMTP_PORT": ("", "SMTP port; empty means 587, or 465 with SMTP_TLS=ssl"),
    "SMTP_TLS": ("starttls", "starttls, ssl (implicit TLS) or none (only towards this machine)"),
    "SMTP_USER": ("", "SMTP login; empty means the server takes the mail without one"),
    "SMTP_PASSWORD": ("", "SMTP password"),
    "SMTP_CA_FILE": ("", "PEM file of trusted certificates for the SMTP server; empty means the system's"),
    "SMTP_FROM": ("", "sender of the summary; empty means SMTP_USER if it is an address, else REPORT_EMAIL"),
}

ONE_LOGIN_SHORTCUT = ("MTS_LOGIN", "MTS_PASSWORD")
"""Required unless ``MTS_LOGINS_FILE`` lists the logins (``libraries/logins.py``)."""

TARIFER_CHANNELS = {"api": ("TARIFER_URL", "TARIFER_TOKEN"), "email": ("TARIFER_EMAIL",)}
"""``TARIFER_CHANNEL`` → the required settings only that channel needs (the e-mail channel also needs
``SMTP_HOST``, the server it sends through)."""

RUN_OPTIONS = (
    "PERIOD",
    "CALL_DETAILS_FORMAT",
    "CALL_DETAILS_FROM",
    "CALL_DETAILS_TO",
    "CALL_DETAILS_GROUPS",
    "MAX_DOCUMENT_SIZE",
    "TARIFER_CHANNEL",
    "TARIFER_MAX_MAIL_SIZE",
    "ORDER_SCREENSHOTS",
)
"""Options of a run, not of a system: honoured in the sandbox as well."""

CALL_DETAILS_FORMATS = ("pdf", "xml", "html")

ORDER_SCREENSHOTS = ("problems", "every")
"""``problems``: a picture of the «Документ» window only when an order goes wrong, the window as the
portal left it; ``every``: also one of each filled window before «Заказать»."""

SMTP_TLS_MODES = ("starttls", "ssl", "none")

SECRETS = ("MTS_PASSWORD", "IMAP_PASSWORD", "TARIFER_TOKEN", "SMTP_PASSWORD")


def one_of(name: str, value, allowed) -> str:
    """The setting ``name``: ``value`` stripped and lower-cased (empty: the first of ``allowed``, its
    default) if ``allowed`` has it; else ``RuntimeError`` naming what is allowed."""
    chosen = str(value or "").strip().lower() or next(iter(allowed))
    if chosen not in allowed:
        raise RuntimeError(f"{name} must be one of {', '.join(allowed)}, not '{chosen}'.")
    return chosen
