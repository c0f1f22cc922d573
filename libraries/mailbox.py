"""The robot's mailbox: find the e-mail that carries an ordered document.

Built on ``RPA.Email.ImapSmtp`` with two corrections measured against a real
dovecot: the server certificate is verified (the library's own connection
does not verify it), and the inbox is always examined read-only while
searching, so that looking at a mail never marks it read or loses it. Only
the mail finally taken is flagged ``\\Seen``.

Which mail belongs to an order: the operator does not document its sender or
subject, so a mail is ours when its subject or text names the order number,
or, failing that, when its attachment is the ordered document by content.
"""

from __future__ import annotations

import logging
import shutil
import ssl
import tempfile
import time
import zipfile
from datetime import date, timedelta
from email.header import decode_header, make_header
from imaplib import IMAP4_SSL
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret
from RPA.Email.ImapSmtp import ImapSmtp

from libraries.documents import DocumentCheckError, check_document, document_file_name, unpack_zip

IMAP_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# The IMAP library logs every search and saved file, and warns of every empty
# search while the robot waits; the robot's own messages say what matters.
logging.getLogger("RPA.Email.ImapSmtp").setLevel(logging.ERROR)


class MailTimeout(AssertionError):
    """The ordered document did not arrive in time."""


class VerifiedImapSmtp(ImapSmtp):
    """``ImapSmtp`` whose IMAPS connection verifies the server certificate and host name."""

    def __init__(self, ssl_context: ssl.SSLContext, **kwargs):
        super().__init__(**kwargs)
        self.ssl_context = ssl_context

    def authorize_imap(self, account=None, password=None, imap_server=None, imap_port=None, is_oauth=False):
        """Log in over IMAPS with certificate verification and select INBOX read-only."""
        self.imap_conn = IMAP4_SSL(imap_server, int(imap_port), ssl_context=self.ssl_context, timeout=60)
        self.imap_conn.login(account, password)
        self.select_folder("INBOX", readonly=True)


def imap_date(day: date) -> str:
    """A date as IMAP SEARCH wants it, e.g. ``1-Nov-2026`` (month names are English)."""
    return f"{day.day}-{IMAP_MONTHS[day.month - 1]}-{day.year}"


def header_text(value) -> str:
    """A header value as plain text, whatever encoding it came in."""
    if value is None:
        return ""
    return str(make_header(decode_header(str(value))))


def message_text(message) -> str:
    """Subject and plain-text parts of an ``email.message.Message``."""
    parts = [header_text(message.get("Subject"))]
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            payload = part.get_payload(decode=True) or b""
            parts.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return "\n".join(parts)


@library(scope="GLOBAL", auto_keywords=False)
class Mailbox:
    """The mailbox the portal sends ordered documents to, read over IMAPS."""

    def __init__(self):
        self.imap: VerifiedImapSmtp | None = None
        self.login: tuple[str, int, str, Secret] | None = None
        self.taken: set[str] = set()
        self.foreign: set[str] = set()

    @keyword("Open Mailbox")
    def open_mailbox(self, host: str, port: int, user: str, password: Secret, ca_file: str = "") -> None:
        """Log in to the mailbox over IMAPS, verifying the server's certificate.

        ``ca_file`` names a PEM file of trusted certificates for a server with
        its own certificate authority; by default the system's are trusted.
        """
        context = ssl.create_default_context(cafile=ca_file or None)
        self.imap = VerifiedImapSmtp(context, imap_server=host, imap_port=int(port))
        self.login = (host, int(port), user, password)
        self._connect()
        logger.info(f"Mailbox {user} at {host}:{port} is open (TLS verified).")

    def _connect(self) -> None:
        host, port, user, password = self.login
        try:
            self.imap.authorize_imap(user, password.value, host, port)
        except IMAP4_SSL.error as error:
            raise AssertionError(f"The mailbox {user} at {host}:{port} refused the login: {error}") from None

    @keyword("Close Mailbox")
    def close_mailbox(self) -> None:
        """Log out of the mailbox, if it is open."""
        if self.imap is not None and self.imap.imap_conn is not None:
            try:
                self.imap.imap_conn.logout()
            finally:
                self.imap.imap_conn = None
        self.imap = None

    @keyword("Wait For Document Mail")
    def wait_for_document_mail(
        self, document: dict, folder: str, timeout: float = 900, interval: float = 5, since_days: int = 7
    ) -> str:
        """Wait for the e-mail with an ordered ``document`` (a ledger entry), save it into ``folder``.

        Returns the saved file's path. Unread mails of the last ``since_days``
        days are looked at. A mail that names the document's order number is
        the one: its document is checked and a wrong one fails at once. Mails
        that do not name it are taken only when their attachment is the
        ordered document by content. A zipped attachment is unpacked safely
        first. The mail taken is marked read; every other mail is left as it
        was. Fails with a clear message when nothing arrives within
        ``timeout`` seconds.
        """
        target = Path(folder) / document_file_name(document)
        deadline = time.monotonic() + float(timeout)
        since = imap_date(date.today() - timedelta(days=int(since_days)))
        while True:
            try:
                if self._take_matching_mail(document, target, since):
                    return str(target)
            except (IMAP4_SSL.abort, OSError) as error:
                # Looking is read-only, so after a dropped connection it is safe to log in and look again.
                logger.warn(f"The mailbox connection broke ({error}); logging in again.")
                self._reconnect_until(deadline)
            if time.monotonic() >= deadline:
                raise MailTimeout(
                    f"No e-mail with the {document['kind']} of personal account {document['account']} "
                    f"for {document['period_from']}–{document['period_to']} "
                    f"({'order № ' + document['order_id'] if document['order_id'] else 'order not confirmed'}) "
                    f"arrived within {int(float(timeout))} s."
                )
            time.sleep(float(interval))

    def _reconnect_until(self, deadline: float) -> None:
        """Log in again, retrying a mailbox that does not answer until ``deadline``."""
        while True:
            try:
                self._connect()
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(5)

    def _take_matching_mail(self, document: dict, target: Path, since: str) -> bool:
        self.imap.select_folder("INBOX", readonly=True)
        messages = self.imap.list_messages(f"UNSEEN SINCE {since}")
        for item in messages:
            uid = str(item["uid"])
            if uid in self.taken or uid in self.foreign or not item.get("Has-Attachments"):
                continue
            names_order = bool(document["order_id"]) and document["order_id"] in message_text(item["Message"])
            with tempfile.TemporaryDirectory() as staging:
                saved = self.imap.save_attachment(item, staging, overwrite=False)
                found = self._ordered_document(saved, document, Path(staging), strict=names_order)
                if found is None:
                    self.foreign.add(uid)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(found, target)
            self._mark_read(uid)
            self.taken.add(uid)
            logger.info(f"Took the e-mail «{header_text(item.get('Subject'))}» and saved {target.name}.")
            return True
        return False

    @staticmethod
    def _ordered_document(saved: list[str], document: dict, staging: Path, strict: bool) -> str | None:
        """The attachment that is the ordered document; with ``strict`` a mail without one is an error."""
        problems = []
        candidates = []
        for number, path in enumerate(saved):
            if zipfile.is_zipfile(path):
                try:
                    candidates += unpack_zip(path, staging / f"unzipped-{number}")
                except (DocumentCheckError, zipfile.BadZipFile) as problem:
                    problems.append(f"{Path(path).name}: {problem}")
            else:
                candidates.append(Path(path))
        for path in candidates:
            try:
                check_document(path, document)
                return str(path)
            except DocumentCheckError as problem:
                problems.append(str(problem))
        if strict:
            names = ", ".join(Path(path).name for path in saved) or "none"
            raise DocumentCheckError(
                f"The e-mail for order № {document['order_id']} does not carry the ordered document "
                f"(attachments: {names}). " + " ".join(problems)
            )
        return None

    def _mark_read(self, uid: str) -> None:
        self.imap.select_folder("INBOX", readonly=False)
        try:
            self.imap.imap_conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        finally:
            self.imap.select_folder("INBOX", readonly=True)
