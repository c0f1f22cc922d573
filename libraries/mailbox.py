"""The robot's mailbox: find the e-mails that carry the ordered documents.

Built on ``RPA.Email.ImapSmtp`` (its IMAPS connection, verified: the library's
own does not check the server certificate), with the looking done in small,
bounded steps the library has no keyword for:

- One collection pass serves every outstanding document: each new mail is
  matched to whichever ordered document it carries, in any order.
- A mail is first judged by its headers and structure only (sender, arrival
  time, attachment sizes); its attachments are downloaded only when it may
  carry an outstanding document, in chunks, within a per-mail budget.
- Only mail from ``MAIL_FROM`` that arrived after the order was placed can
  carry its document. A mail naming an order number is that order's; content
  alone decides only for orders the portal never confirmed.
- Which mails were taken is kept in the ledger state (by Message-ID), not in
  the ``\\Seen`` flag alone: the document is recorded ``received`` before the
  mail is marked read, so a robot killed at any moment loses nothing.
- A mail that cannot be read is that mail's problem: it is listed as left
  alone, with the reason, and the pass goes on.
- Between two looks the robot waits in IMAP IDLE (RFC 2177) where the server
  offers it, so a new mail is noticed as it arrives; ``interval`` only bounds
  each wait. A server without IDLE, or refusing it, is looked at every
  ``interval`` seconds instead.
- The first waits of a pass, and those after a document came, are short
  (``QUICK_LOOKS``): a server tells an idling client of new mail only after a
  delay of its own (dovecot: half a second), and the mails of a sitting of
  orders land close together.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import socket
import ssl
import time
import zipfile
from datetime import datetime, timedelta
from imaplib import IMAP4, IMAP4_SSL
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret
from robot.libraries.BuiltIn import BuiltIn
from RPA.Email.ImapSmtp import ImapSmtp

from libraries.documents import DocumentCheckError, check_document, document_file_name, sha256_of, unpack_zip
from libraries.mail_structure import (
    FETCH_ITEMS,
    Budget,
    BudgetExceeded,
    decode_text,
    fetch_part_bytes,
    fetch_part_to_file,
    header_facts,
    leaf_parts,
    parse_fetch,
    safe_file_name,
)

IMAP_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FETCH_BATCH = 50
TEXT_PART_LIMIT = 256 * 1024
"""The largest text part read for an order number; a longer one is not read."""
TEXT_PARTS = 4
MAX_ATTACHMENTS = 20
"""Files a document mail may carry, unpacked archives included."""
UNDATED_ORDER_WINDOW = timedelta(days=31)
"""How far back to look for an order an earlier version of the ledger recorded without its time."""

QUICK_LOOKS = (0.1, 0.2, 0.4, 0.8)
"""Seconds of the first waits between two looks, before waits of the full poll interval:
used again from the start whenever a look took a document."""
IDLE_LIMIT = 29 * 60
"""The longest one IDLE may last (RFC 2177: the server may log out an idle client after 30 minutes)."""
IDLE_ANSWER_TIMEOUT = 60.0
"""How long the server may take to answer IDLE and DONE when the connection has no timeout of its own."""
IDLE_MAX_LINE = 1 << 20
"""The longest line accepted from the server while idling."""
IDLE_LITERAL = re.compile(rb"\{(\d+)\+?\}\r?\n\Z")

# The IMAP library logs every search; the robot's own messages say what matters.
logging.getLogger("RPA.Email.ImapSmtp").setLevel(logging.ERROR)


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


def imap_date(day) -> str:
    """A date as IMAP SEARCH wants it, e.g. ``1-Nov-2026`` (month names are English)."""
    return f"{day.day}-{IMAP_MONTHS[day.month - 1]}-{day.year}"


def sender_allowed(address: str, senders: list[str]) -> bool:
    """Whether ``address`` is one of ``senders`` (addresses, or ``@domain`` with its subdomains)."""
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    for sender in senders:
        if sender.startswith("@"):
            if domain and (domain == sender[1:] or domain.endswith("." + sender[1:])):
                return True
        elif address == sender:
            return True
    return False


def names_order(text: str, order_id: str) -> bool:
    """Whether ``text`` names the order number as a whole number (``12345678``, not ``123456789``)."""
    return bool(order_id) and re.search(rf"(?<!\d){re.escape(order_id)}(?!\d)", text) is not None


def order_time(document: dict) -> datetime | None:
    """When the robot set out to order ``document`` (its ``ordered_at``), or ``None`` if not recorded."""
    return datetime.fromisoformat(document["ordered_at"]) if document.get("ordered_at") else None


def describe_wait(document: dict) -> str:
    """The document a timeout is about, in words."""
    order = f"order № {document['order_id']}" if document["order_id"] else "order not confirmed"
    return (
        f"the {document['kind']} of personal account {document['account']} "
        f"for {document['period_from']}–{document['period_to']} ({order})"
    )


PROGRESS_EVERY = 30.0
"""Seconds between two console lines about the documents still awaited."""


class Progress:
    """Tells the console, at most once every ``every`` seconds, which documents are awaited and for how long."""

    def __init__(self, every: float = PROGRESS_EVERY, clock=time.monotonic, say=logger.console):
        self.every, self.clock, self.say = every, clock, say
        self.last: float | None = None

    def waiting(self, documents: list[dict], deadline: float) -> None:
        """Report ``documents`` still awaited until ``deadline`` (a ``clock`` time), unless reported lately."""
        now = self.clock()
        if self.last is not None and now - self.last < self.every:
            return
        self.last = now
        shown = "; ".join(describe_wait(document) for document in documents[:3])
        more = f"; and {len(documents) - 3} more" if len(documents) > 3 else ""
        left = max(0, int(deadline - now))
        self.say(f"Waiting for the e-mail of {len(documents)} document(s), at most {left} s more: {shown}{more}")


@library(scope="GLOBAL", auto_keywords=False)
class Mailbox:
    """The mailbox the portal sends ordered documents to, read over IMAPS."""

    def __init__(self):
        self.imap: VerifiedImapSmtp | None = None
        self.login: tuple[str, int, str, Secret] | None = None
        self.examined: set[int] = set()
        self.last_uid = 0
        self.uidvalidity = ""
        self.idle_offered: bool | None = None
        """Whether the current connection's server offers IDLE (``None``: not asked yet)."""
        self.idle_refused = False
        """The server refused IDLE: wait by polling for the rest of this mailbox's life."""
        self.idle_broke = False
        """The last IDLE broke the connection: poll once before trying IDLE again."""

    @keyword("Open Mailbox")
    def open_mailbox(self, host: str, port: int, user: str, password: Secret, ca_file: str = "") -> None:
        """Log in to the mailbox over IMAPS, verifying the server's certificate.

        ``ca_file`` names a PEM file of trusted certificates for a server with
        its own certificate authority (only those are trusted then, whatever
        the environment says); by default the system's are trusted.
        """
        context = ssl.create_default_context(cafile=ca_file or None)
        self.imap = VerifiedImapSmtp(context, imap_server=host, imap_port=int(port))
        self.login = (host, int(port), user, password)
        self._connect()
        logger.info(f"Mailbox {user} at {host}:{port} is open (TLS verified).")

    def _connect(self) -> None:
        host, port, user, password = self.login
        self.idle_offered = None
        try:
            self.imap.authorize_imap(user, password.value, host, port)
        except IMAP4_SSL.error as error:
            if self.imap.imap_conn is not None:
                with contextlib.suppress(OSError):
                    self.imap.imap_conn.shutdown()
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

    @keyword("Collect Document Mails")
    def collect_document_mails(
        self,
        folder: str,
        wanted: list[str],
        senders: list[str],
        max_document_size: int,
        timeout: float = 900,
        interval: float = 5,
    ) -> None:
        """Look at new mail until every document in ``wanted`` (ledger keys) has come, or ``timeout`` s.

        Each mail is matched to whichever ``ordered`` document of the ledger it
        carries, wanted or not, in any order; its document is checked, saved
        into ``folder``, recorded ``received`` and only then is the mail marked
        read. A mail naming an order number with a wrong document fails that
        document (ordered again by the next run). Mails from other senders
        than ``senders``, older than the order, or carrying nothing
        outstanding are left exactly as they were and listed under
        ``ignored_mail``. A wanted document still missing at the end is
        marked ``failed`` and stays outstanding for the next run.

        Between two looks the robot waits for the server to report new mail
        (IMAP IDLE), at most ``interval`` seconds; a server without IDLE is
        looked at every ``interval`` seconds. The console hears which
        documents are awaited and how long at most, every 30 seconds.
        """
        ledger = BuiltIn().get_library_instance("libraries.ledger.Ledger")
        self.collect(ledger, folder, wanted, senders, int(max_document_size), float(timeout), float(interval))

    def collect(
        self, ledger, folder: str, wanted: list[str], senders: list[str], max_size: int, timeout: float, interval: float
    ) -> None:
        """`Collect Document Mails` on behalf of ``ledger`` (a ``libraries.ledger.Ledger``)."""
        deadline = time.monotonic() + timeout
        looker = _Look(self, ledger, Path(folder), senders, max_size)
        progress = Progress()
        waits = iter(QUICK_LOOKS)
        while True:
            try:
                if looker.look():
                    waits = iter(QUICK_LOOKS)
            except (IMAP4.abort, OSError) as error:
                # Looking changes nothing, so after a dropped connection it is safe to log in and look again.
                logger.warn(f"The mailbox connection broke ({error}); logging in again.")
                self._reconnect_until(deadline)
            missing = [key for key in wanted if ledger.document_status(key) == "ordered"]
            if not missing:
                return
            if time.monotonic() >= deadline:
                for key in missing:
                    ledger.fail_document(
                        key,
                        f"No e-mail with {describe_wait(ledger.document(key))} arrived within "
                        f"{int(timeout)} s; the next run goes on waiting for it.",
                    )
                return
            progress.waiting([ledger.document(key) for key in missing], deadline)
            try:
                self.wait_for_mail(min(next(waits, interval), interval, deadline - time.monotonic()))
            except (IMAP4.abort, OSError) as error:
                logger.warn(f"The mailbox connection broke while waiting for mail ({error}); logging in again.")
                self._reconnect_until(deadline)

    def wait_for_mail(self, seconds: float) -> bool:
        """Wait until the server reports new mail or ``seconds`` have passed; return whether it reported any.

        Waits in IDLE where the server offers it, else (or once after IDLE
        broke the connection) just sleeps. A broken connection raises
        ``IMAP4.abort`` or ``OSError``.
        """
        if seconds <= 0:
            return False
        started = time.monotonic()
        if not self.idle_broke and not self.idle_refused and self.server_offers_idle():
            try:
                return idle(self.imap.imap_conn, seconds)
            except IdleRefused as refusal:
                self.idle_refused = True
                logger.info(f"The mailbox refused IDLE ({refusal}); new mail is looked for every poll interval.")
            except (IMAP4.abort, OSError):
                self.idle_broke = True
                raise
        self.idle_broke = False
        time.sleep(max(0.0, started + seconds - time.monotonic()))
        return False

    def server_offers_idle(self) -> bool:
        """Whether the mailbox server offers IDLE (its CAPABILITY once logged in, asked once a connection)."""
        if self.idle_offered is None:
            try:
                typ, data = self.imap.imap_conn.capability()
            except IMAP4.abort:
                raise
            except IMAP4.error:
                typ, data = "NO", []
            words = b" ".join(item for item in data if isinstance(item, bytes)).upper().split()
            self.idle_offered = typ == "OK" and b"IDLE" in words
            if not self.idle_offered:
                logger.info("The mailbox does not offer IDLE; new mail is looked for every poll interval.")
        return self.idle_offered

    def _reconnect_until(self, deadline: float) -> None:
        """Log in again, retrying a mailbox that does not answer until ``deadline``."""
        if self.imap.imap_conn is not None:
            with contextlib.suppress(OSError):  # the broken connection, closed on this side too
                self.imap.imap_conn.shutdown()
        while True:
            try:
                self._connect()
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(5)

    def new_mail(self, since: str) -> dict[int, dict]:
        """Headers and structure of the mails not examined yet in this run (first look: since ``since``)."""
        conn = self.imap.imap_conn
        typ, _ = conn.select("INBOX", readonly=True)
        if typ != "OK":
            raise OSError("the mailbox would not open INBOX")
        validity = (conn.response("UIDVALIDITY")[1] or [b""])[0]
        self.uidvalidity = validity.decode() if isinstance(validity, bytes) else str(validity or "")
        criterion = f"UID {self.last_uid + 1}:*" if self.last_uid else f"SINCE {since}"
        typ, data = conn.uid("SEARCH", None, criterion)
        if typ != "OK":
            raise OSError(f"the mailbox refused the search {criterion}")
        uids = sorted(int(uid) for uid in (data[0] or b"").split() if int(uid) not in self.examined)
        found: dict[int, dict] = {}
        for start in range(0, len(uids), FETCH_BATCH):
            batch = ",".join(str(uid) for uid in uids[start : start + FETCH_BATCH])
            typ, data = conn.uid("FETCH", batch, FETCH_ITEMS)
            if typ != "OK":
                raise OSError(f"the mailbox refused to describe mails {batch}")
            found.update(parse_fetch(data))
        return found

    def mark_read(self, uid: int) -> None:
        """Flag one mail ``\\Seen`` (by its UID), leaving every other mail as it was."""
        conn = self.imap.imap_conn
        conn.select("INBOX", readonly=False)
        try:
            conn.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
        finally:
            conn.select("INBOX", readonly=True)


class IdleRefused(Exception):
    """The server answered IDLE with NO or BAD: the connection is fine, IDLE is not to be used."""


class _IdleReader:
    """The server's responses during IDLE, read straight from the connection's socket.

    imaplib's buffered file is bypassed: data it had buffered would be invisible
    to a wait on the socket, and a read timeout would break it for good. Its
    buffer is empty here, since the server says nothing between two commands,
    and IDLE reads exactly up to the end of IDLE's own tagged answer, so
    imaplib carries on where it left off.
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""
        self.literal = 0
        """Bytes of a literal (``{n}``) still to pass over."""
        self.continued = False
        """Whether the next line goes on with a response interrupted by a literal."""

    def response(self, until: float) -> bytes | None:
        """The first line of the server's next response, or ``None`` if none came by ``until`` (monotonic)."""
        while True:
            line = self._line(until)
            if line is None:
                return None
            continued = self.continued
            literal = IDLE_LITERAL.search(line)
            self.literal = int(literal[1]) if literal else 0
            self.continued = literal is not None
            if not continued:
                return line

    def _line(self, until: float) -> bytes | None:
        while True:
            if self.literal:
                passed = min(self.literal, len(self.buffer))
                self.buffer = self.buffer[passed:]
                self.literal -= passed
            if not self.literal:
                end = self.buffer.find(b"\n")
                if end >= 0:
                    line, self.buffer = self.buffer[: end + 1], self.buffer[end + 1 :]
                    return line
                if len(self.buffer) > IDLE_MAX_LINE:
                    raise IMAP4.abort(f"the server sent a line of more than {IDLE_MAX_LINE} bytes during IDLE")
            if not self._fill(until):
                return None

    def _fill(self, until: float) -> bool:
        remaining = until - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 16)
        except TimeoutError:
            return False
        if not data:
            raise IMAP4.abort("the server closed the connection during IDLE")
        self.buffer += data
        return True


def idle(conn: IMAP4, seconds: float) -> bool:
    """Wait in IDLE until the server reports new mail (``* n EXISTS``/``RECENT``) or ``seconds`` have passed.

    Returns whether new mail was reported. Done at the socket level over
    imaplib's connection ``conn`` (imaplib has no IDLE), which stays usable
    afterwards. Raises ``IdleRefused`` if the server answers NO or BAD, and
    ``IMAP4.abort`` or ``OSError`` if the connection breaks or the server does
    not answer IDLE or DONE within the connection's timeout.
    """
    sock = conn.sock
    timeout = sock.gettimeout()
    answer_time = timeout or IDLE_ANSWER_TIMEOUT
    reader = _IdleReader(sock)
    tag = conn._new_tag()  # the next tag of the connection's own sequence, never used again
    news = False
    try:
        conn.send(tag + b" IDLE\r\n")
        # The continuation, or a refusal; updates may come first.
        answer_by = time.monotonic() + answer_time
        while not (line := _answer(reader, answer_by, "IDLE")).startswith(b"+"):
            if _idle_ended(reader, line, tag):
                return news
            news = _news(line) or news
        # Idling: wait for news; anything else (``* OK Still here``, flags, expunges) is nothing new.
        idle_until = time.monotonic() + min(seconds, IDLE_LIMIT)
        while not news and (line := reader.response(idle_until)) is not None:
            if _idle_ended(reader, line, tag):  # the server ended IDLE itself
                return news
            news = _news(line)
        sock.settimeout(timeout)
        conn.send(b"DONE\r\n")
        answer_by = time.monotonic() + answer_time
        while not _idle_ended(reader, line := _answer(reader, answer_by, "DONE"), tag):
            news = _news(line) or news
        return news
    finally:
        sock.settimeout(timeout)
        conn.tagged_commands.pop(tag, None)


def _answer(reader: _IdleReader, until: float, command: str) -> bytes:
    """The server's next response to ``command``, which must come by ``until``."""
    line = reader.response(until)
    if line is None:
        raise IMAP4.abort(f"the server did not answer {command}")
    return line


def _news(line: bytes) -> bool:
    """Whether an untagged response says that mail came: ``* n EXISTS`` or ``* n RECENT`` (n > 0)."""
    words = line.split()
    if [word.upper() for word in words[:2]] == [b"*", b"BYE"]:
        raise IMAP4.abort(f"the server closed the connection: {line.decode('ascii', 'replace').strip()}")
    if len(words) != 3 or words[0] != b"*" or not words[1].isdigit():
        return False
    what = words[2].upper()
    return what == b"EXISTS" or (what == b"RECENT" and int(words[1]) > 0)


def _idle_ended(reader: _IdleReader, line: bytes, tag: bytes) -> bool:
    """Whether ``line`` is IDLE's tagged answer, which must be OK (else ``IdleRefused``).

    After it the server says nothing until the next command: anything more
    means the connection is out of step with imaplib and must not be used on.
    """
    if not line.startswith(tag + b" "):
        return False
    if reader.buffer or reader.literal or reader.continued or not line.endswith(b"\r\n"):
        raise IMAP4.abort("the server sent more than expected after IDLE")
    answer = line[len(tag) :].decode("ascii", "replace").strip()
    if answer.split(maxsplit=1)[:1] != ["OK"]:
        raise IdleRefused(answer)
    return True


class _Look:
    """One look at the mailbox's new mail on behalf of the ledger's outstanding documents."""

    def __init__(self, mailbox: Mailbox, ledger, folder: Path, senders: list[str], max_size: int):
        self.mailbox = mailbox
        self.ledger = ledger
        self.folder = folder
        self.senders = senders
        self.max_size = max_size

    def outstanding(self) -> dict[str, dict]:
        """The documents ordered and not yet received, by key."""
        return {key: self.ledger.document(key) for key in self.ledger.documents_with_status("ordered")}

    def since(self, outstanding: dict[str, dict]) -> str:
        """The first day to search: the day before the earliest outstanding order (mail dates are the server's)."""
        times = [order_time(document) for document in outstanding.values()]
        known = [moment for moment in times if moment is not None]
        earliest = min(known) if known and len(known) == len(times) else datetime.now() - UNDATED_ORDER_WINDOW
        return imap_date((earliest - timedelta(days=1)).date())

    def look(self) -> bool:
        """Examine every new mail once; each mail's trouble stays with that mail. Returns whether a
        document was taken."""
        outstanding = self.outstanding()
        if not outstanding:
            return False
        mails = self.mailbox.new_mail(self.since(outstanding))
        for uid in sorted(mails):
            mail = mails[uid]
            facts = header_facts(mail.get("header") or b"")
            facts["message_id"] = facts["message_id"] or f"<uid-{self.mailbox.uidvalidity}-{uid}@imap>"
            try:
                self.consider(uid, mail, facts, self.outstanding())
            except (IMAP4.abort, OSError):
                raise
            except Exception as error:  # noqa: BLE001 - a hostile mail must not stop the month
                self.ignore(mail, facts, f"the e-mail could not be read ({type(error).__name__}: {error})")
            self.mailbox.examined.add(uid)
            self.mailbox.last_uid = max(self.mailbox.last_uid, uid)
        return len(self.outstanding()) < len(outstanding)

    def ignore(self, mail: dict, facts: dict, reason: str) -> None:
        """List the mail as left alone, with the reason."""
        arrived = mail.get("internaldate")
        self.ledger.ignore_mail(
            arrived.isoformat() if arrived else facts.get("date", ""),
            facts.get("from", ""),
            facts.get("subject", ""),
            reason,
            facts["message_id"],
        )

    def consider(self, uid: int, mail: dict, facts: dict, outstanding: dict[str, dict]) -> None:
        """Decide what one mail is, take its document if it carries an outstanding one."""
        taken = self.ledger.mail_taken(facts["message_id"])
        if taken:
            if str(taken.get("uid")) != str(uid):
                self.ignore(mail, facts, "a copy of an e-mail whose document was already taken")
            return
        if not sender_allowed(facts["from"], self.senders):
            self.ignore(mail, facts, f"the sender is not among MAIL_FROM ({', '.join(self.senders)})")
            return
        arrived = mail.get("internaldate")
        candidates = {
            key: document
            for key, document in outstanding.items()
            if order_time(document) is None or (arrived is not None and arrived >= order_time(document))
        }
        if not candidates:
            self.ignore(mail, facts, "it arrived before any outstanding document was ordered")
            return
        parts = leaf_parts(mail.get("bodystructure"))
        attachments = [part for part in parts if part.is_attachment]
        text = self.text_of(uid, facts, parts)
        named = {key: document for key, document in candidates.items() if names_order(text, document["order_id"])}
        unconfirmed = {key: document for key, document in candidates.items() if not document["order_id"]}
        if not named and not unconfirmed:
            self.ignore(mail, facts, "it names none of the outstanding orders")
        elif not attachments:
            # e.g. a notice that the order was accepted: the document is still to come
            self.ignore(mail, facts, "it carries no attachment")
        elif named:
            key, document = next(iter(named.items()))
            self.take(uid, mail, facts, attachments, {key: document}, strict=True)
        else:
            self.take(uid, mail, facts, attachments, unconfirmed, strict=False)

    def text_of(self, uid: int, facts: dict, parts: list) -> str:
        """The subject and the mail's short text parts, where an order number would be written."""
        texts = [facts["subject"]]
        readable = [part for part in parts if not part.is_attachment and part.content_type.startswith("text/")]
        for part in readable[:TEXT_PARTS]:
            if part.size <= TEXT_PART_LIMIT:
                payload = fetch_part_bytes(self.mailbox.imap.imap_conn, uid, part, TEXT_PART_LIMIT)
                texts.append(decode_text(payload, part.charset))
        return "\n".join(texts)

    def take(self, uid: int, mail: dict, facts: dict, attachments: list, targets: dict, strict: bool) -> None:
        """Download the attachments within the budget and give the first matching document to the ledger."""
        staging = self.folder.parent / f".staging-{uid}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            files, problems = self.download(uid, attachments, staging)
            for key, document in targets.items():
                for path in files:
                    try:
                        read = check_document(path, document)
                    except DocumentCheckError as problem:
                        problems.append(str(problem))
                        continue
                    self.receive(uid, facts, key, document, path, read)
                    return
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        names = ", ".join(part.filename or part.content_type for part in attachments) or "none"
        if strict:
            key, document = next(iter(targets.items()))
            reason = (
                f"The e-mail «{facts['subject']}» for order № {document['order_id']} does not carry the ordered "
                f"document (attachments: {names}). " + " ".join(dict.fromkeys(problems))
            )
            self.ledger.reject_mail(key, facts["message_id"], str(uid), reason.strip())
            return
        self.ignore(mail, facts, f"its attachments ({names}) are none of the documents awaited")

    def download(self, uid: int, attachments: list, staging: Path) -> tuple[list[Path], list[str]]:
        """The mail's attachments as files (archives unpacked), and what was refused, within one budget."""
        budget = Budget(self.max_size, MAX_ATTACHMENTS)
        files: list[Path] = []
        problems: list[str] = []
        conn = self.mailbox.imap.imap_conn
        for number, part in enumerate(attachments):
            name = safe_file_name(part.filename, f"part-{part.section}")
            if part.size * 3 // 4 > self.max_size:
                problems.append(f"{name} is larger than MAX_DOCUMENT_SIZE ({self.max_size} bytes); not downloaded.")
                continue
            try:
                path = fetch_part_to_file(conn, uid, part, staging / f"{number}-{name}", budget)
                if zipfile.is_zipfile(path):
                    files += unpack_zip(path, staging / f"unzipped-{number}", budget=budget)
                else:
                    files.append(path)
            except BudgetExceeded as error:
                problems.append(f"{name}: {error}")
                break
            except (DocumentCheckError, zipfile.BadZipFile, ValueError) as error:
                problems.append(f"{name}: {error}")
        return files, problems

    def receive(self, uid: int, facts: dict, key: str, document: dict, path: Path, read: dict) -> None:
        """Keep the document, record it received with what was ``read`` from it (and the mail taken), then
        mark the mail read."""
        target = self.folder / document_file_name(document)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        self.ledger.receive_from_mail(key, str(target), sha256_of(target), facts["message_id"], str(uid), **read)
        logger.info(f"Took the e-mail «{facts['subject']}» from {facts['from']} and saved {target.name}.")
        self.mailbox.mark_read(uid)
