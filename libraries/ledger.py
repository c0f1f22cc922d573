"""The month's ledger of documents: ``summary.json`` for people, the state file for the next run.

Each document (an invoice of one personal account, call details of a group of
numbers) is one entry. Its ``status`` moves ``ordering`` (the intent, written
before «Заказать» is pressed) → ``ordered`` → ``received`` → ``uploaded``, or
ends ``failed`` / ``skipped`` with the reason in ``error``.

The state file (``state/ledger-state.json`` unless ``LEDGER_STATE_FILE`` moves
it) outlives every run and every output folder. It holds:

- ``outstanding``: documents ordered (or about to be) but not received, and
  received but not yet in Tarifer, which the next run continues instead of
  ordering again;
- ``taken_mail``: the mails whose documents were taken, by Message-ID, so that
  a mail is never taken twice whatever its ``\\Seen`` flag says;
- ``months``: the month's account: every document of the period and every
  mail looked at and left alone, so that a rerun (``--rerunfailed``, another
  ``--outputdir``) adds to the month instead of replacing it;
- ``tarifer_mail``: the mails to Tarifer's e-mail collector (``TARIFER_CHANNEL=email``), by
  Message-ID: which document, which file (SHA-256), when the Message-ID was decided and when the
  mail was sent. The Message-ID is recorded, with the document's ``channel`` and
  ``tarifer_message_id``, before the mail goes out; a document whose mail is recorded sent is never
  sent again (e-mail has no Tarifer to ask), and one whose mail was decided but not recorded sent is
  sent again with the same Message-ID, which a collector that deduplicates keeps once.

Every change is written atomically (temporary file, then rename) before the
robot goes on, and the state file is locked for the whole run.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library

from libraries.ownership import Ownership
from libraries.summary_page import document_line, render_page

STATUSES = ("ordering", "ordered", "received", "uploaded", "failed", "skipped", "planned")
PLANS = ("order", "skip", "continue")
"""What a real run would do with a ``planned`` document (plan mode, ``MODE=plan``)."""
OUTSTANDING = ("ordering", "ordered", "received")
"""Statuses a later run continues from."""
FIELDS = (
    "login",
    "account",
    "kind",
    "period_from",
    "period_to",
    "format",
    "numbers",
    "status",
    "order_id",
    "ordered_at",
    "file",
    "sha256",
    "tarifer_id",
    "message_id",
    "channel",
    "tarifer_message_id",
    "amount",
    "plan",
    "error",
)
CHANNELS = ("api", "email")
"""How a document went to Tarifer (``channel``): its HTTP upload or its e-mail collector."""
STATE_VERSION = 2


class LedgerLocked(RuntimeError):
    """Another run holds the ledger state."""

    ROBOT_EXIT_ON_FAILURE = True


def now_iso() -> str:
    """The current time in ISO 8601 with the UTC offset."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def document_key(login: str, account: str, kind: str, period_from: str, period_to: str, numbers=()) -> str:
    """The identity of a document: who, which account, what, which dates, which numbers."""
    return "|".join([login, account, kind, period_from, period_to, ",".join(sorted(numbers))])


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temporary file, flushed to disk, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def display_path(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it (``results/documents/…``)."""
    absolute = Path(path).resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def describe(entry: dict) -> str:
    """A document in words, e.g. ``invoice of personal account 277300018417 (2026-10-01–2026-10-31)``."""
    numbers = f", numbers {', '.join(entry['numbers'])}" if entry.get("numbers") else ""
    return (
        f"{entry['kind']} of personal account {entry['account']} "
        f"({entry['period_from']}–{entry['period_to']}{numbers})"
    )


def empty_state() -> dict:
    """A state file's content before any run."""
    return {"version": STATE_VERSION, "outstanding": {}, "taken_mail": {}, "months": {}, "tarifer_mail": {}}


def upgrade_state(data: dict) -> dict:
    """Read a state file of any version: the first one was a bare ``key → entry`` map of unfinished documents."""
    if data.get("version") == STATE_VERSION:
        return {**empty_state(), **data}
    state = empty_state()
    state["outstanding"] = {key: entry for key, entry in data.items() if entry.get("status") in OUTSTANDING}
    return state


class StateLock:
    """An exclusive lock on the state file for the whole run (released by the system if the run dies)."""

    def __init__(self, state_path: Path):
        self.path = state_path.with_name(state_path.name + ".lock")
        self.handle = None

    def acquire(self) -> None:
        """Take the lock at once or raise ``LedgerLocked`` saying who holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LedgerLocked(
                f"Another run is working on the ledger state {self.path.with_suffix('')} ({holder}); "
                "this run stops without touching it, so that nothing is ordered or uploaded twice."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {now_iso()}\n")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        """Let the next run in."""
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


@library(scope="GLOBAL", auto_keywords=False)
class Ledger:
    """What the month's documents went through, for the summary and the next run."""

    def __init__(self):
        self.summary_path: Path | None = None
        self.state_path: Path | None = None
        self.lock: StateLock | None = None
        self.run: dict = {}
        self.period = ""
        self.documents: dict[str, dict] = {}
        self.state: dict = empty_state()
        self.ownership = Ownership()
        self.plan = False

    @keyword("Start Ledger")
    def start_ledger(self, environment: str, period: str, output_dir: str, state_file: str, plan: bool = False) -> None:
        """Lock the ledger state ``state_file`` and begin the summary in ``output_dir/summary.json``.

        A second run on the same state while this one runs stops here, saying
        so, before it writes anything. The summary starts as the month's
        account kept in the state (what earlier runs did for ``period``), so a
        rerun never leaves an emptier summary. Suites run under the suite that
        started the ledger add to the same summary.

        With ``plan`` (plan mode) the state is read but never written: the
        plan goes into the summary only, and the next real run finds the
        state exactly as it was.
        """
        if not self.ownership.claim():
            return
        self.state_path = Path(state_file)
        self.lock = StateLock(self.state_path)
        try:
            self.lock.acquire()
        except LedgerLocked:
            self.ownership.release()
            raise
        self.plan = bool(plan)
        self.summary_path = Path(output_dir) / "summary.json"
        self.period = period
        self.run = {"environment": environment, "period": period, "started_at": now_iso(), "finished_at": None}
        self.documents = {}
        self.state = self._read_state()
        self._save()

    @keyword("Add Document")
    def add_document(
        self,
        login: str,
        account: str,
        kind: str,
        period_from: str,
        period_to: str,
        format: str = "pdf",
        numbers: list | None = None,
    ) -> str:
        """Enter a document the run must deliver and return its key.

        If an earlier run began ordering, ordered or received the same document
        and did not finish it, the entry continues from there (same order, same
        file), so nothing is ordered twice. A document whose last delivery was
        wrong starts afresh and is ordered again.
        """
        numbers = list(numbers or [])
        key = document_key(login, account, kind, period_from, period_to, numbers)
        if key in self.documents:
            return key
        entry = dict.fromkeys(FIELDS)
        entry.update(
            login=login,
            account=account,
            kind=kind,
            period_from=period_from,
            period_to=period_to,
            format=format.lower(),
            numbers=numbers,
        )
        earlier = self.state["outstanding"].get(key)
        if earlier:
            continued = (
                *("status", "order_id", "ordered_at", "file", "sha256", "message_id", "amount"),
                *("channel", "tarifer_message_id"),
            )
            entry.update({name: earlier.get(name) for name in continued})
            logger.info(f"{describe(entry)} was {entry['status']} by an earlier run; continuing from there.")
        self.documents[key] = entry
        self._save()
        return key

    @keyword("Document Status")
    def document_status(self, key: str) -> str:
        """The status of a document: ``ordering``, ``ordered``, ``received``, ``uploaded``, ``failed``,
        ``skipped`` or empty."""
        return self.documents[key]["status"] or ""

    @keyword("Document")
    def document(self, key: str) -> dict:
        """All facts of one document (a copy)."""
        return dict(self.documents[key])

    @keyword("Mark Document")
    def mark_document(self, key: str, status: str, **facts) -> None:
        """Set the status of a document and any facts learnt (``order_id``, ``file``, ``sha256``, ``tarifer_id``,
        ``channel``: ``api`` or ``email``).

        ``ordering`` is the intent to press «Заказать», stamped with the time
        (``ordered_at``) and written to the state before the robot goes on. A
        document ``skipped`` (or planned to be) whose mail to Tarifer the ledger
        records sent carries that mail's ``channel`` and ``tarifer_message_id``.
        """
        if status not in STATUSES:
            raise ValueError(f"Unknown status '{status}'; expected one of {', '.join(STATUSES)}.")
        if self.plan and status not in ("planned", "failed"):
            raise ValueError(f"Plan mode orders, collects and uploads nothing: status '{status}' refused.")
        if status == "planned" and (not self.plan or facts.get("plan") not in PLANS):
            raise ValueError(f"Only plan mode plans, and its plan is one of {', '.join(PLANS)}.")
        unknown = set(facts) - set(FIELDS)
        if unknown:
            raise ValueError(f"Unknown document facts: {', '.join(sorted(unknown))}.")
        if facts.get("channel") not in (None, *CHANNELS):
            raise ValueError(f"Unknown channel '{facts['channel']}'; expected one of {', '.join(CHANNELS)}.")
        entry = self.documents[key]
        if status in ("skipped", "planned") and not facts.get("channel"):
            facts.update(self._sent_mail_facts(key, facts.get("sha256")))
        if facts.get("file"):
            facts["file"] = display_path(facts["file"])
        if status == "ordering":
            facts.setdefault("ordered_at", now_iso())
        entry.update(facts, status=status)
        if status != "failed":
            entry["error"] = facts.get("error")
        self._remember(key, entry)
        self._save()
        labels = {
            "order_id": "order №",
            "tarifer_id": "Tarifer id",
            "channel": "by",
            "tarifer_message_id": "Message-ID",
            "error": "reason:",
        }
        details = [f"{label} {facts[name]}" for name, label in labels.items() if facts.get(name)]
        logger.info(f"{describe(entry)}: {', '.join([status, *details])}")

    @keyword("Fail Document")
    def fail_document(self, key: str, error: str, order_again: bool = False) -> None:
        """Mark a document ``failed`` with the reason in words; its other facts stay.

        The document stays outstanding (a late e-mail, a Tarifer outage: the
        next run goes on from where it stood), unless ``order_again``: then the
        delivery was wrong, and the next run orders the document again.
        """
        if order_again:
            self.state["outstanding"].pop(key, None)
            error = f"{error} It will be ordered again on the next run."
        self.mark_document(key, "failed", error=str(error))

    @keyword("Documents With Status")
    def documents_with_status(self, *statuses: str, kind: str = "") -> list[str]:
        """Keys of the documents (of ``kind``, if given) whose status is one of ``statuses``, in order added."""
        return [
            key
            for key, entry in self.documents.items()
            if entry["status"] in statuses and (not kind or entry["kind"] == kind)
        ]

    @keyword("Adopt Unfinished Documents")
    def adopt_unfinished_documents(self, *statuses: str) -> list[str]:
        """Take into this run every document an earlier run left ``received`` (or with ``statuses``).

        Returns the keys of all documents of this run now having those
        statuses, whichever routine and run brought them there. This is what
        lets a task run on its own (``--rerunfailed``) do its work.
        """
        statuses = statuses or ("received",)
        for key, earlier in self.state["outstanding"].items():
            if earlier.get("status") in statuses and key not in self.documents:
                self.documents[key] = {**dict.fromkeys(FIELDS), **earlier, "error": None}
                self._remember(key, self.documents[key])
                logger.info(f"{describe(earlier)} was {earlier['status']} by an earlier run and is not finished.")
        self._save()
        return self.documents_with_status(*statuses)

    @keyword("Finish Ledger")
    def finish_ledger(self) -> None:
        """Stamp the end time, write the summary for the last time (summary.json and the finance
        team's summary.html) and unlock the state (by the starting suite)."""
        if self.summary_path is None or not self.ownership.release():
            return
        self.run["finished_at"] = now_iso()
        self._save()
        self.summary_path.with_name("summary.html").write_text(render_page(self.summary()), encoding="utf-8")
        self.lock.release()

    @keyword("Document Lines")
    def document_lines(self, *keys: str) -> list[str]:
        """One line per document among ``keys``: personal account, document, period, outcome."""
        return [document_line(self.documents[key]) for key in keys]

    @keyword("Ledger Problems")
    def ledger_problems(self, *keys: str) -> list[str]:
        """One line per failed document among ``keys``, saying why."""
        chosen = [self.documents[key] for key in keys]
        return [f"{describe(entry)}: {entry['error']}" for entry in chosen if entry["status"] == "failed"]

    # --- Tarifer's e-mail collector: the mails sent to it ------------------------------

    @keyword("Record The Mail To Tarifer")
    def record_the_mail_to_tarifer(self, key: str, message_id: str) -> None:
        """Write to the ledger state, before the mail goes out, that the document is mailed to Tarifer
        under ``message_id``: the document keeps its status (``received``) and gains ``channel`` email
        and ``tarifer_message_id``.

        A run that dies after this finds the Message-ID and sends the same mail again, with the same
        Message-ID, so that a collector that deduplicates keeps it once.
        """
        if self.plan:
            raise ValueError("Plan mode uploads nothing: no mail to Tarifer is recorded.")
        entry = self.documents[key]
        known = self.state["tarifer_mail"].get(message_id)
        if known and known["key"] != key:
            raise ValueError(f"The Message-ID {message_id} is already that of another document's mail.")
        self.state["tarifer_mail"][message_id] = {
            "key": key,
            "sha256": entry.get("sha256"),
            "decided_at": (known or {}).get("decided_at") or now_iso(),
            "sent_at": None,
        }
        entry.update(channel="email", tarifer_message_id=message_id)
        self._remember(key, entry)
        self._save()
        logger.info(f"{describe(entry)}: its mail to Tarifer is {message_id}, recorded before it is sent.")

    @keyword("Record The Mail To Tarifer Sent")
    def record_the_mail_to_tarifer_sent(self, key: str) -> None:
        """The mail recorded with `Record The Mail To Tarifer` was accepted by the SMTP server: the
        document is ``uploaded`` (channel email) and its mail is never sent again. One write."""
        message_id = self.documents[key].get("tarifer_message_id")
        mail = self.state["tarifer_mail"].get(message_id or "")
        if not mail or mail["key"] != key:
            raise ValueError(f"No mail to Tarifer is recorded for {describe(self.documents[key])}.")
        mail["sent_at"] = now_iso()
        self.mark_document(key, "uploaded", channel="email", tarifer_message_id=message_id)

    @keyword("Sent Mail To Tarifer")
    def sent_mail_to_tarifer(
        self, login: str, account: str, kind: str, period_from: str, period_to: str, numbers: list | None = None
    ) -> dict | None:
        """The ledger's record of the document's mail to Tarifer, when one was sent, else ``None``:
        ``id`` (none: a mail gets no Tarifer id), ``sha256``, ``channel`` (email),
        ``tarifer_message_id`` and ``sent_at``. With the e-mail channel this stands for asking
        Tarifer, which has no API to ask."""
        key = document_key(login, account, kind, period_from, period_to, numbers or ())
        sent = self._sent_mail(key)
        if sent is None:
            return None
        message_id, mail = sent
        return {
            "id": None,
            "sha256": mail["sha256"],
            "channel": "email",
            "tarifer_message_id": message_id,
            "sent_at": mail["sent_at"],
        }

    def _sent_mail(self, key: str, sha256: str | None = None) -> tuple[str, dict] | None:
        """The last mail to Tarifer recorded sent for ``key`` (of the file ``sha256``, if given)."""
        sent = [
            (message_id, mail)
            for message_id, mail in self.state["tarifer_mail"].items()
            if mail["key"] == key and mail.get("sent_at") and (not sha256 or mail.get("sha256") == sha256)
        ]
        return max(sent, key=lambda item: item[1]["sent_at"]) if sent else None

    def _sent_mail_facts(self, key: str, sha256: str | None) -> dict:
        """``channel`` and ``tarifer_message_id`` of a document Tarifer holds because its mail was sent."""
        sent = self._sent_mail(key, sha256)
        return {"channel": "email", "tarifer_message_id": sent[0]} if sent else {}

    # --- the mailbox's side: which mails were taken or left alone ------------------

    def mail_taken(self, message_id: str) -> dict | None:
        """What is known of a mail taken earlier (its ``uid``, ``key``), or ``None``."""
        return self.state["taken_mail"].get(message_id)

    def receive_from_mail(self, key: str, file: str, sha256: str, message_id: str, uid: str, **facts) -> None:
        """Record in one write that a document was received from a mail (with the ``facts`` read from it,
        e.g. an invoice's ``amount``) and that the mail is taken."""
        self.state["taken_mail"][message_id] = {"uid": uid, "key": key, "at": now_iso()}
        self.mark_document(key, "received", file=file, sha256=sha256, message_id=message_id, **facts)

    def reject_mail(self, key: str, message_id: str, uid: str, error: str) -> None:
        """A mail for the order carried a wrong document: the document fails and is ordered again next run."""
        self.state["taken_mail"][message_id] = {"uid": uid, "key": key, "at": now_iso(), "wrong": True}
        self.fail_document(key, error, order_again=True)

    def ignore_mail(self, date: str, sender: str, subject: str, reason: str, message_id: str = "") -> None:
        """List a mail the robot looked at and left alone, once per mail and reason."""
        ignored = self._month()["ignored_mail"]
        fact = {"date": date, "from": sender, "subject": subject, "reason": reason, "message_id": message_id}
        if fact not in ignored:
            ignored.append(fact)
            logger.info(f"Left alone the e-mail «{subject}» from {sender or 'an unknown sender'}: {reason}")
            self._save()

    # --- files ----------------------------------------------------------------------

    def summary(self) -> dict:
        """The summary object as it is written to ``summary.json``: the month's account."""
        month = self._month()
        documents = [dict(entry) for entry in month["documents"].values()]
        shown = ("date", "from", "subject", "reason")
        ignored = [{name: fact[name] for name in shown} for fact in month["ignored_mail"]]
        return {**self.run, "documents": documents, "ignored_mail": ignored}

    def _month(self) -> dict:
        return self.state["months"].setdefault(self.period, {"documents": {}, "ignored_mail": []})

    def _remember(self, key: str, entry: dict) -> None:
        """Keep the document in the month's account and, while unfinished, among the outstanding ones."""
        self._month()["documents"][key] = dict(entry)
        outstanding = self.state["outstanding"]
        if entry["status"] in OUTSTANDING:
            outstanding[key] = dict(entry)
        elif entry["status"] in ("uploaded", "skipped"):
            outstanding.pop(key, None)

    def _read_state(self) -> dict:
        if self.state_path.exists():
            return upgrade_state(json.loads(self.state_path.read_text(encoding="utf-8")))
        return empty_state()

    def _save(self) -> None:
        if not self.plan:
            write_json(self.state_path, self.state)
        write_json(self.summary_path, self.summary())
