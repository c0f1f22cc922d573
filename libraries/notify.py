"""The run's notification: the month's summary page by e-mail to the finance team.

With ``NOTIFY_EMAIL`` set, every run ends by sending ``summary.html`` (the
one-page summary of the month) as the body of one e-mail, with a short
plain-text alternative and ``summary.json`` attached. The subject names the
month and says either «всё загружено» or how many documents need a person::

    Телеком-документы за октябрь 2026: всё загружено
    Телеком-документы за октябрь 2026: 3 документа требуют внимания

A document needs a person as the summary page says (``needs_a_person``):
``failed``, or left ``ordering``, ``ordered`` or ``received`` at the end of
the run; ``uploaded`` and ``skipped`` (Tarifer already had it) need nobody. A
plan-mode run (documents ``planned``) says «пробный запуск» and what it planned.

The mail goes through ``SMTP_HOST`` (the connection code here also carries the
documents to Tarifer's e-mail collector, ``libraries/tarifer_mail.py``): STARTTLS by default (``SMTP_TLS``),
implicit TLS with ``ssl``, or plain SMTP with ``none``, which is refused unless
the server is this machine. The server's certificate is always verified,
against ``SMTP_CA_FILE`` if set, else the system's certificates. The robot
logs in only when ``SMTP_USER`` is set. A failure raises a clear error that
never carries the password; the run treats it as a warning, never as its own
result.
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret

from libraries.periods import month_in_words
from libraries.summary_page import needs_a_person, plural
from libraries.tarifer import is_loopback_host
from variables import production

SMTP_TIMEOUT = 60
"""Seconds to wait for the SMTP server at each step."""
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 587}
SUBJECT = "Телеком-документы за {month}: {outcome}"
KINDS = {"invoice": "счёт", "call_details": "детализация"}
STATUS_TEXTS = {
    "failed": "ошибка",
    "ordering": "заказ не подтверждён",
    "ordered": "заказан, письмо не пришло",
    "received": "получен, не загружен в Tarifer",
}
LISTED = 20
"""Documents needing a person that the plain-text part lists one by one."""
TLS_TEXTS = {
    "starttls": "STARTTLS, certificate verified",
    "ssl": "implicit TLS, certificate verified",
    "none": "no TLS, this machine only",
}


class NotificationFailed(RuntimeError):
    """The summary could not be sent; the message says why (never with the password)."""

    ROBOT_SUPPRESS_NAME = True


# --- the settings ------------------------------------------------------------------------


def parse_recipients(value, setting: str = "NOTIFY_EMAIL") -> list[str]:
    """``NOTIFY_EMAIL`` (comma-separated text, or a list) as a list of addresses; refuses anything else."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    recipients = [item.strip() for item in items if item and item.strip()]
    for address in recipients:
        local, at, domain = address.rpartition("@")
        if (
            not at
            or not local
            or "." not in domain.strip(".")
            or any(char.isspace() or char in '<>,;:"()[]\\' for char in address)
        ):
            raise RuntimeError(f"{setting}: '{address}' is not an e-mail address.")
    return recipients


def smtp_port(value, mode: str) -> int:
    """``SMTP_PORT`` as a number (empty: 587, or 465 for implicit TLS); refuses what is not a TCP port."""
    text = str(value).strip()
    if not text:
        return DEFAULT_PORTS[mode]
    try:
        port = int(text)
    except ValueError:
        raise RuntimeError(f"SMTP_PORT must be a whole number, not '{text}'.") from None
    if not 1 <= port <= 65535:
        raise RuntimeError(f"SMTP_PORT must be between 1 and 65535, not {port}.")
    return port


def tls_mode(value) -> str:
    """``SMTP_TLS``, lowercased: ``starttls`` (default), ``ssl`` or ``none``."""
    return production.one_of("SMTP_TLS", value, production.SMTP_TLS_MODES)


def secret_text(value) -> str:
    """The text of a ``Secret`` (or of a plain value, as tests give it)."""
    if isinstance(value, Secret):
        return value.value or ""
    return str(value or "")


def notification_settings(settings: dict) -> dict:
    """The validated notification settings of ``settings``; safe to apply twice.

    ``NOTIFY_EMAIL`` becomes a list, ``SMTP_TLS`` one of ``starttls``, ``ssl``,
    ``none``, ``SMTP_PORT`` a number, and ``SMTP_FROM`` the sender to use. With
    recipients, ``SMTP_HOST`` is required, plain SMTP is refused unless the
    host is this machine, and ``SMTP_USER`` needs ``SMTP_PASSWORD``.
    """
    recipients = parse_recipients(settings.get("NOTIFY_EMAIL", ""))
    result = {"NOTIFY_EMAIL": recipients, **smtp_settings(settings)}
    if recipients:
        require_smtp_server(result, settings, "NOTIFY_EMAIL is set")
    return result


def smtp_settings(settings: dict) -> dict:
    """The SMTP settings of ``settings``, normalised: ``SMTP_HOST``, ``SMTP_TLS``, ``SMTP_PORT`` (a number),
    ``SMTP_USER`` and ``SMTP_FROM`` (the sender to use); shared by every mail the robot sends."""
    mode = tls_mode(settings.get("SMTP_TLS", ""))
    return {
        "SMTP_HOST": str(settings.get("SMTP_HOST", "")).strip(),
        "SMTP_TLS": mode,
        "SMTP_PORT": smtp_port(settings.get("SMTP_PORT", ""), mode),
        "SMTP_USER": str(settings.get("SMTP_USER", "")).strip(),
        "SMTP_FROM": sender_of(settings),
    }


def require_smtp_server(chosen: dict, settings: dict, because: str) -> None:
    """Refuse SMTP settings (``chosen``, from `smtp_settings`) a mail cannot go out with, saying ``because``
    why a server is needed: no ``SMTP_HOST``, plain SMTP to another machine, ``SMTP_USER`` without a password."""
    host, mode = chosen["SMTP_HOST"], chosen["SMTP_TLS"]
    if not host:
        raise RuntimeError(f"{because}, so SMTP_HOST must name the SMTP server to send through.")
    if mode == "none" and not is_loopback_host(host):
        raise RuntimeError(
            f"SMTP_TLS=none sends the mail and the password in the clear: it is accepted only "
            f"for this machine (127.0.0.0/8, ::1, localhost), not for {host}."
        )
    if chosen["SMTP_USER"] and not secret_text(settings.get("SMTP_PASSWORD")):
        raise RuntimeError("SMTP_USER is set, so SMTP_PASSWORD must be set too.")


def sender_of(settings: dict) -> str:
    """``SMTP_FROM``, else ``SMTP_USER`` if it is an address, else ``REPORT_EMAIL``."""
    for name in ("SMTP_FROM", "SMTP_USER", "REPORT_EMAIL"):
        value = str(settings.get(name, "") or "").strip()
        if value and (name != "SMTP_USER" or "@" in value):
            return value
    return ""


# --- the mail ----------------------------------------------------------------------------


def needing_attention(documents: list[dict]) -> list[dict]:
    """The documents a person has to look at, as the summary page counts them."""
    return [entry for entry in documents if needs_a_person(entry)]


def planned(documents: list[dict]) -> list[dict]:
    """The documents a plan-mode run planned (nothing of them was done)."""
    return [entry for entry in documents if entry.get("status") == "planned"]


def outcome_of(documents: list[dict]) -> str:
    """«всё загружено», «N документов требуют внимания», or «нет ни одного документа»;
    a plan-mode run begins with «пробный запуск»."""
    if not documents:
        return "нет ни одного документа"
    count, plan = len(needing_attention(documents)), len(planned(documents))
    if count:
        noun = plural(count, "документ", "документа", "документов")
        verb = plural(count, "требует", "требуют", "требуют")
        return ("пробный запуск, " if plan else "") + f"{count} {noun} {verb} внимания"
    if plan:
        noun = plural(plan, "документ", "документа", "документов")
        return f"пробный запуск, {plural(plan, 'запланирован', 'запланировано', 'запланировано')} {plan} {noun}"
    return "всё загружено"


def subject_of(summary: dict) -> str:
    """The subject: the month and the outcome; a sandbox run says so first."""
    outcome = outcome_of(summary.get("documents") or [])
    subject = SUBJECT.format(month=month_in_words(summary["period"]), outcome=outcome)
    return f"[SANDBOX] {subject}" if summary.get("environment") == "SANDBOX" else subject


def describe(entry: dict) -> str:
    """One document in a line: what, which account, whose login."""
    kind = KINDS.get(entry.get("kind"), entry.get("kind") or "документ")
    text = f"{kind}, лицевой счёт {entry.get('account') or '—'}"
    return f"{text} (логин {entry['login']})" if entry.get("login") else text


def plain_text(summary: dict) -> str:
    """The short plain-text alternative of the summary page."""
    documents = summary.get("documents") or []
    attention = needing_attention(documents)
    uploaded = sum(1 for entry in documents if entry.get("status") == "uploaded")
    skipped = sum(1 for entry in documents if entry.get("status") == "skipped")
    lines = [
        f"Телеком-документы за {month_in_words(summary['period'])}: {outcome_of(documents)}.",
        "",
        f"Документов за месяц: {len(documents)}; загружено в Tarifer: {uploaded}; "
        f"уже были в Tarifer: {skipped}; требуют внимания: {len(attention)}.",
    ]
    if planned(documents):
        lines.append(f"Пробный запуск: ничего не заказано и не загружено, запланировано {len(planned(documents))}.")
    if attention:
        lines += ["", "Требуют внимания:"]
        for entry in attention[:LISTED]:
            status = STATUS_TEXTS.get(entry.get("status"), entry.get("status") or "?")
            error = " ".join(str(entry.get("error") or "").split())
            reason = f" ({error[:200]})" if error else ""
            lines.append(f"- {describe(entry)}: {status}{reason}")
        if len(attention) > LISTED:
            lines.append(f"- и ещё {len(attention) - LISTED}")
    lines += ["", "Полная сводка — в HTML-версии этого письма, данные — во вложении summary.json."]
    if summary.get("finished_at"):
        lines.append(f"Запуск: {summary.get('started_at') or '?'} — {summary['finished_at']}.")
    return "\n".join(lines) + "\n"


def build_message(sender: str, recipients: list[str], summary: dict, html: str, summary_json: bytes) -> EmailMessage:
    """The notification: the page as text/html with a plain-text alternative, summary.json attached."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject_of(summary)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(plain_text(summary))
    message.add_alternative(html, subtype="html")
    message.add_attachment(summary_json, maintype="application", subtype="json", filename="summary.json")
    return message


# --- sending -----------------------------------------------------------------------------


def tls_context(ca_file: str) -> ssl.SSLContext:
    """A verifying client context: only ``ca_file``'s certificates if given, else the system's."""
    if not ca_file:
        return ssl.create_default_context()
    path = Path(ca_file).expanduser()
    if not path.is_file():
        raise NotificationFailed(f"SMTP_CA_FILE {ca_file} is not a file.")
    try:
        return ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError) as error:
        raise NotificationFailed(f"SMTP_CA_FILE {ca_file} holds no usable PEM certificate ({error}).") from None


def scrub(text: str, password: str) -> str:
    """``text`` with ``password`` masked, should a server have echoed it."""
    return text.replace(password, "********") if password else text


def reason_of(error: BaseException, settings: dict) -> str:
    """What went wrong, in words a person can act on."""
    if isinstance(error, NotificationFailed):
        return str(error)
    if isinstance(error, ssl.SSLCertVerificationError):
        hint = "SMTP_CA_FILE" if settings.get("SMTP_CA_FILE") else "the system's certificates (or set SMTP_CA_FILE)"
        return f"the server's certificate could not be verified against {hint}: {error.verify_message}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"the server refused the login of {settings['SMTP_USER']}: {reply_text(error)}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address} ({code} {text_of(reply)})" for address, (code, reply) in error.recipients.items()
        )
        return f"the server refused every recipient: {refused}"
    if isinstance(error, smtplib.SMTPSenderRefused):
        return f"the server refused the sender {settings['SMTP_FROM']}: {reply_text(error)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the server answered {reply_text(error)}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return f"the server does not support what was asked: {error}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"the server closed the connection ({error or 'no reason given'})"
    if isinstance(error, TimeoutError):
        return f"the server did not answer within {SMTP_TIMEOUT} s"
    if isinstance(error, ssl.SSLError):
        return f"the TLS handshake failed: {error}"
    if isinstance(error, OSError):
        return f"cannot connect: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


def text_of(reply) -> str:
    """An SMTP reply's text (bytes from smtplib) as one line."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def reply_text(error: smtplib.SMTPResponseException) -> str:
    """``code text`` of an SMTP error reply."""
    return f"{error.smtp_code} {text_of(error.smtp_error)}"


def login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """Log in as ``user``: as smtplib chooses (CRAM-MD5, PLAIN, LOGIN) for ASCII credentials, else AUTH PLAIN
    in UTF-8 (RFC 4616), which smtplib cannot send."""
    if user.isascii() and password.isascii():
        smtp.login(user, password)
        return
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise NotificationFailed("the server offers no AUTH PLAIN, the only way to send a non-ASCII login or password")
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def connect(settings: dict) -> smtplib.SMTP:
    """An SMTP connection secured as ``SMTP_TLS`` says (certificate verified), logged in if ``SMTP_USER`` is set."""
    host, port, mode = settings["SMTP_HOST"], settings["SMTP_PORT"], settings["SMTP_TLS"]
    if mode == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=tls_context(settings["SMTP_CA_FILE"]))
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    try:
        smtp.ehlo()
        if mode == "starttls":
            if not smtp.has_extn("starttls"):
                raise NotificationFailed("the server does not offer STARTTLS (SMTP_TLS=starttls)")
            smtp.starttls(context=tls_context(settings["SMTP_CA_FILE"]))
            smtp.ehlo()
        if settings["SMTP_USER"]:
            login(smtp, settings["SMTP_USER"], secret_text(settings.get("SMTP_PASSWORD")))
    except BaseException:
        smtp.close()
        raise
    return smtp


def server_of(settings: dict) -> str:
    """The SMTP server as a message names it: ``host:port (SMTP_TLS=mode)``."""
    return f"{settings['SMTP_HOST']}:{settings['SMTP_PORT']} (SMTP_TLS={settings['SMTP_TLS']})"


def failure_of(error: BaseException, settings: dict) -> str:
    """What went wrong with a mail, in words a person can act on, never with the password."""
    return scrub(reason_of(error, settings), secret_text(settings.get("SMTP_PASSWORD")))


def send(message: EmailMessage, settings: dict) -> None:
    """Send ``message`` from ``SMTP_FROM`` to ``NOTIFY_EMAIL``; raise ``NotificationFailed`` saying why not."""
    recipients = settings["NOTIFY_EMAIL"]
    where = server_of(settings)
    try:
        with connect(settings) as smtp:
            refused = smtp.send_message(message, from_addr=settings["SMTP_FROM"], to_addrs=recipients)
    except Exception as error:  # every failure becomes one clear, password-free error
        reason = failure_of(error, settings)
        raise NotificationFailed(
            f"The month's summary was not sent to {', '.join(recipients)} through {where}: {reason}"
        ) from None
    if refused:
        listed = "; ".join(f"{address} ({code} {text_of(reply)})" for address, (code, reply) in refused.items())
        raise NotificationFailed(
            f"The month's summary was sent through {where}, but these recipients were refused: {listed}"
        )


def read_summary(output_dir: Path) -> tuple[dict, bytes, str]:
    """``summary.json`` (parsed and as bytes) and ``summary.html`` of ``output_dir``."""
    json_path, html_path = output_dir / "summary.json", output_dir / "summary.html"
    for path in (json_path, html_path):
        if not path.is_file():
            raise NotificationFailed(f"The month's summary was not sent: {path} does not exist.")
    summary_json = json_path.read_bytes()
    return json.loads(summary_json), summary_json, html_path.read_text(encoding="utf-8")


@library(scope="GLOBAL", auto_keywords=False)
class Notify:
    """Sends the month's summary page by e-mail to ``NOTIFY_EMAIL`` at the end of a run."""

    @keyword("Send The Summary By E-mail")
    def send_the_summary_by_email(self, settings: dict, output_dir: str) -> None:
        """Sends ``summary.html`` of ``output_dir`` to ``NOTIFY_EMAIL``; does nothing when it is empty.

        One mail from ``SMTP_FROM`` (default ``SMTP_USER`` if it is an address,
        else ``REPORT_EMAIL``) to every address of ``NOTIFY_EMAIL``. Its
        subject names the month and says «всё загружено» or how many documents
        need a person; the page is the body, with a short plain-text
        alternative, and ``summary.json`` is attached.

        It goes through ``SMTP_HOST``:``SMTP_PORT`` with STARTTLS, implicit
        TLS or (towards this machine only) none, as ``SMTP_TLS`` says,
        verifying the server's certificate against ``SMTP_CA_FILE`` or the
        system's, and logs in when ``SMTP_USER`` is set. Fails with the reason,
        never with the password, when the mail cannot be sent: run it under
        `Run Keyword And Warn On Failure` so that the run's result stays its own.
        """
        chosen = {**settings, **notification_settings(settings)}
        chosen.setdefault("SMTP_CA_FILE", "")
        recipients = chosen["NOTIFY_EMAIL"]
        if not recipients:
            logger.info("NOTIFY_EMAIL is not set: the month's summary is not sent by e-mail.")
            return
        if not chosen["SMTP_FROM"]:
            raise NotificationFailed("The month's summary was not sent: SMTP_FROM names no sender.")
        summary, summary_json, html = read_summary(Path(output_dir))
        message = build_message(chosen["SMTP_FROM"], recipients, summary, html, summary_json)
        send(message, chosen)
        logger.info(
            f"Sent «{message['Subject']}» to {', '.join(recipients)} through "
            f"{chosen['SMTP_HOST']}:{chosen['SMTP_PORT']} ({TLS_TEXTS[chosen['SMTP_TLS']]})."
        )
