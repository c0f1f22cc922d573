"""Documents to Tarifer by e-mail: one mail per document to Tarifer's e-mail collector.

Tarifer documents no upload API; what it documents is an e-mail collector
that takes the operator's documents as attachments. With
``TARIFER_CHANNEL=email`` each received and checked document goes to
``TARIFER_EMAIL`` as the attachment of one mail, through the SMTP server of
the run's notification (``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_TLS``,
``SMTP_USER``/``SMTP_PASSWORD``, ``SMTP_CA_FILE``; the certificate is always
verified), from ``SMTP_FROM``. The connection code is the notification's
(``libraries/notify.py``).

The mail (``subject_of``, ``body_of``): the subject and the text name the
operator, the login, the personal account, the document, the period and the
numbers; the text ends with the same facts under the names of Tarifer's upload
fields (``account: 277300018417``), for a collector that reads them.

Exactly once, as far as e-mail allows: the Message-ID is decided before the
mail is sent (from the document and its file's SHA-256, or the one an earlier
run recorded) and recorded in the ledger state first (``Record The Mail To
Tarifer``); a robot killed between sending and recording sends the same mail
again with the same Message-ID, which a collector that deduplicates keeps
once. A document whose mail was recorded sent is never sent again: with no API
to ask, the ledger says what Tarifer was sent.

A document whose mail would exceed ``TARIFER_MAX_MAIL_SIZE`` (the whole mail as
it goes out, attachment base64-encoded) goes zipped; if the mail is still too
large, the document fails with the sizes in the reason.
"""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import tempfile
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library

from libraries import notify
from libraries.documents import sha256_of
from libraries.ledger import document_key
from libraries.summary_page import KIND_WORDS, numbers_words, period_words
from libraries.tarifer import OPERATOR
from variables import production

ATTACHMENT_TYPES = {
    "pdf": ("application", "pdf"),
    "xml": ("application", "xml"),
    "html": ("text", "html"),
    "zip": ("application", "zip"),
}
MAIL_OVERHEAD = 16_384
"""Bytes a document's mail takes beside its attachment (headers, text), at most: used to decide before
building a mail whether it can fit at all."""
FIELD_LINES = ("operator", "login", "account", "kind", "period_from", "period_to", "numbers", "file", "sha256")
"""The facts the mail's text ends with, named as Tarifer's upload fields, one ``name: value`` a line."""
SUBJECT_NUMBERS = 3
"""Numbers a subject lists one by one (as the summary page does); more are shown as a count with the first
and the last."""


class TariferMailFailed(RuntimeError):
    """A document's mail to Tarifer was not sent (or not accepted); the message says why."""

    ROBOT_SUPPRESS_NAME = True


# --- the settings ------------------------------------------------------------------------


def tarifer_channel(value) -> str:
    """``TARIFER_CHANNEL``, lowercased: ``api`` (default) or ``email``."""
    return production.one_of("TARIFER_CHANNEL", value, production.TARIFER_CHANNELS)


def tarifer_mail_settings(settings: dict) -> dict:
    """The validated Tarifer channel settings of ``settings``; safe to apply twice.

    ``TARIFER_CHANNEL`` is ``api`` or ``email``, ``TARIFER_MAX_MAIL_SIZE`` a
    number. With ``email``, ``TARIFER_EMAIL`` must be one address and the SMTP
    settings must be able to send (``SMTP_HOST``, TLS unless the server is
    this machine, a password with ``SMTP_USER``, a sender).
    """
    channel = tarifer_channel(settings.get("TARIFER_CHANNEL", ""))
    size_text = str(settings.get("TARIFER_MAX_MAIL_SIZE", "") or "").strip() or "20000000"
    try:
        max_size = int(size_text)
    except ValueError:
        raise RuntimeError(f"TARIFER_MAX_MAIL_SIZE must be a whole number, not '{size_text}'.") from None
    if max_size < MAIL_OVERHEAD:
        raise RuntimeError(f"TARIFER_MAX_MAIL_SIZE must be at least {MAIL_OVERHEAD}.")
    address = str(settings.get("TARIFER_EMAIL", "") or "").strip()
    result = {"TARIFER_CHANNEL": channel, "TARIFER_MAX_MAIL_SIZE": max_size, "TARIFER_EMAIL": address}
    if channel != "email":
        return result
    addresses = notify.parse_recipients(address, "TARIFER_EMAIL")
    if len(addresses) != 1:
        raise RuntimeError("TARIFER_EMAIL must be the one address of Tarifer's e-mail collector.")
    chosen = notify.smtp_settings(settings)
    notify.require_smtp_server(chosen, settings, "TARIFER_CHANNEL=email")
    if not chosen["SMTP_FROM"]:
        raise RuntimeError("TARIFER_CHANNEL=email needs a sender: set SMTP_FROM.")
    return {**result, "TARIFER_EMAIL": addresses[0]}


# --- the mail ----------------------------------------------------------------------------


def message_id_for(document: dict, sender: str) -> str:
    """The Message-ID of the document's mail: the one an earlier run recorded, else one made from the
    document's identity and its file's SHA-256 (the same document and file, the same Message-ID), in
    the sender's domain."""
    if document.get("tarifer_message_id"):
        return document["tarifer_message_id"]
    key = document_key(
        document["login"] or "",
        document["account"],
        document["kind"],
        document["period_from"],
        document["period_to"],
        document.get("numbers") or (),
    )
    digest = hashlib.sha256(f"{key}\n{document.get('sha256') or ''}".encode()).hexdigest()[:40]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<tarifer.{digest}@{domain}>"


def kind_words(document: dict) -> str:
    """The document in Russian words, lowercase: «счёт», «детализация разговоров»."""
    return KIND_WORDS.get(document["kind"], document["kind"]).lower()


def subject_of(document: dict) -> str:
    """The subject: operator, document, personal account, period, login and, for call details, the numbers.

    E.g. ``MTS: счёт, лицевой счёт 277300018417, 01.10.2026–31.10.2026, логин 9161234567``.
    """
    parts = [
        f"{OPERATOR}: {kind_words(document)}",
        f"лицевой счёт {document['account']}",
        period_words(document),
        f"логин {document.get('login') or '—'}",
    ]
    numbers = document.get("numbers") or []
    if numbers:
        # up to three numbers one by one, more as «4 номера: +7… … +7…»
        parts.append(numbers_words(document) if len(numbers) > SUBJECT_NUMBERS else f"номера {numbers_words(document)}")
    return ", ".join(parts)


def body_of(document: dict, attachment: str, zipped: bool, size: int) -> str:
    """The mail's text: the document in words for a person, then the facts for a collector."""
    numbers = document.get("numbers") or []
    lines = [
        "Здравствуйте!",
        "",
        f"Документ оператора {OPERATOR} для Tarifer: {kind_words(document)} по лицевому счёту "
        f"{document['account']} за {period_words(document)}.",
        "",
        f"Оператор: {OPERATOR}",
        f"Логин: {document.get('login') or '—'}",
        f"Лицевой счёт: {document['account']}",
        f"Документ: {KIND_WORDS.get(document['kind'], document['kind'])}",
        f"Период: {period_words(document)}",
        f"Номера: {', '.join('+' + number for number in numbers) if numbers else 'весь лицевой счёт'}",
        f"Вложение: {attachment} ({size} байт"
        + (f", в архиве ZIP файл {Path(document['file']).name})" if zipped else ")"),
        f"SHA-256 документа: {document.get('sha256') or '—'}",
        "",
        "Письмо отправлено роботом; одно письмо — один документ.",
        "",
    ]
    facts = {
        "operator": OPERATOR,
        "login": document.get("login") or "",
        "account": document["account"],
        "kind": document["kind"],
        "period_from": document["period_from"],
        "period_to": document["period_to"],
        "numbers": ",".join(numbers),
        "file": Path(document["file"]).name,
        "sha256": document.get("sha256") or "",
    }
    lines += [f"{name}: {facts[name]}" for name in FIELD_LINES]
    return "\n".join(lines) + "\n"


def base64_size(size: int) -> int:
    """Bytes ``size`` bytes take base64-encoded in a mail: 4 per 3, and CRLF after every 76."""
    encoded = (size + 2) // 3 * 4
    return encoded + (encoded + 75) // 76 * 2


@dataclass(frozen=True)
class MailToTarifer:
    """One document's mail to Tarifer, ready to send: its bytes never reach a log."""

    message_id: str
    sender: str
    recipient: str
    subject: str
    attachment: str
    zipped: bool
    data: bytes

    @property
    def size(self) -> int:
        """Bytes of the mail as it goes out."""
        return len(self.data)

    def __repr__(self) -> str:
        return f"<mail to Tarifer {self.message_id}: {self.attachment}, {self.size} bytes>"

    __str__ = __repr__


def build_mail(
    document: dict, sender: str, recipient: str, message_id: str, name: str, content: bytes, subtype: str
) -> MailToTarifer:
    """The mail of ``document`` with ``content`` attached as ``name``."""
    zipped = subtype == "zip"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject_of(document)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id
    message.set_content(body_of(document, name, zipped, len(content)))
    maintype, subtype_name = ATTACHMENT_TYPES.get(subtype, ("application", "octet-stream"))
    message.add_attachment(content, maintype=maintype, subtype=subtype_name, filename=name)
    data = message.as_bytes(policy=email.policy.SMTP)
    return MailToTarifer(message_id, sender, recipient, message["Subject"], name, zipped, data)


def zipped_document(path: Path, limit: int) -> bytes | None:
    """The document in a ZIP of its own (deflated), or ``None`` when even the ZIP is over ``limit`` bytes."""
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            archive.write(path, arcname=path.name)
        if spool.tell() > limit:
            return None
        spool.seek(0)
        return spool.read()


def mail_of(document: dict, settings: dict) -> MailToTarifer:
    """The mail that carries ``document`` to ``TARIFER_EMAIL``, zipped when the plain one is too large.

    Raises ``TariferMailFailed`` when even the zipped document makes a mail over
    ``TARIFER_MAX_MAIL_SIZE``, and ``AssertionError`` when the file changed since
    it was checked.
    """
    path = Path(document["file"])
    if not path.is_file():
        raise TariferMailFailed(f"{path} is not there any more; it cannot be mailed to Tarifer.")
    if document.get("sha256") and sha256_of(path) != document["sha256"]:
        raise AssertionError(f"{path} changed since it was received and checked; it is not uploaded.")
    limit = int(settings["TARIFER_MAX_MAIL_SIZE"])
    sender, recipient = settings["SMTP_FROM"], settings["TARIFER_EMAIL"]
    message_id = message_id_for(document, sender)
    size = path.stat().st_size
    if base64_size(size) <= limit:
        subtype = document.get("format") or path.suffix.lstrip(".").lower()
        mail = build_mail(document, sender, recipient, message_id, path.name, path.read_bytes(), subtype)
        if mail.size <= limit:
            return mail
    content = zipped_document(path, limit)
    if content is not None:
        mail = build_mail(document, sender, recipient, message_id, f"{path.name}.zip", content, "zip")
        if mail.size <= limit:
            logger.info(f"{path.name} ({size} bytes) goes zipped: the mail would exceed TARIFER_MAX_MAIL_SIZE.")
            return mail
    zipped = f"{len(content)} bytes" if content is not None else f"more than {limit} bytes"
    raise TariferMailFailed(
        f"{path.name} is too large for Tarifer's e-mail collector: {size} bytes, zipped {zipped}; "
        f"a mail takes at most TARIFER_MAX_MAIL_SIZE={limit} bytes. It is not sent."
    )


# --- sending -----------------------------------------------------------------------------


@library(scope="GLOBAL", auto_keywords=False)
class TariferMail:
    """Mails each checked document to Tarifer's e-mail collector (``TARIFER_CHANNEL=email``)."""

    def __init__(self):
        self._smtp: smtplib.SMTP | None = None

    @keyword("Mail To Tarifer Of")
    def mail_to_tarifer_of(self, document: dict, settings: dict) -> MailToTarifer:
        """Returns the mail that carries the received ``document`` to ``TARIFER_EMAIL``, not yet sent.

        One mail, one document: the subject and the text name the operator,
        the login, the personal account, the document, the period and the
        numbers. Its Message-ID is the one an earlier run recorded for the
        document, else one made from the document and its file's SHA-256. A
        mail over ``TARIFER_MAX_MAIL_SIZE`` carries the document zipped; still
        too large, this fails with the sizes. A file changed since it was
        checked is refused. The mail's bytes are never logged.
        """
        return mail_of(document, settings)

    @keyword("Send The Mail To Tarifer")
    def send_the_mail_to_tarifer(self, mail: MailToTarifer, settings: dict) -> None:
        """Sends ``mail`` through ``SMTP_HOST`` as ``SMTP_TLS`` says (certificate verified), logged in
        as ``SMTP_USER`` when set; returns once the server accepted it.

        The connection is kept for the next document. Should a kept connection
        fail, the mail is sent once more on a new one (same Message-ID). Fails
        with the reason, never with the password, when the server does not
        take the mail.
        """
        fresh = self._smtp is None
        try:
            self._send(mail, settings)
        except Exception as error:  # every failure becomes one clear, password-free error
            self.close_the_connection_to_tarifer_mail()
            if fresh:
                raise self._failure(mail, settings, error) from None
            try:
                self._send(mail, settings)
            except Exception as second:
                self.close_the_connection_to_tarifer_mail()
                raise self._failure(mail, settings, second) from None
        zipped = " (zipped)" if mail.zipped else ""
        logger.info(
            f"Mailed {mail.attachment}{zipped} to Tarifer ({mail.recipient}) as {mail.message_id}, "
            f"{mail.size} bytes, through {notify.server_of(settings)}."
        )

    @keyword("Close The Connection To Tarifer Mail")
    def close_the_connection_to_tarifer_mail(self) -> None:
        """Ends the SMTP connection kept between documents, if there is one."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except Exception:  # the mails are sent; a server that leaves abruptly changes nothing
            smtp.close()

    def _send(self, mail: MailToTarifer, settings: dict) -> None:
        if self._smtp is None:
            self._smtp = notify.connect(settings)
        self._smtp.sendmail(mail.sender, [mail.recipient], mail.data)

    @staticmethod
    def _failure(mail: MailToTarifer, settings: dict, error: BaseException) -> TariferMailFailed:
        return TariferMailFailed(
            f"The mail of {mail.attachment} was not sent to Tarifer ({mail.recipient}) through "
            f"{notify.server_of(settings)}: {notify.failure_of(error, settings)}. The next run sends it "
            f"again with the same Message-ID {mail.message_id}."
        )
