"""The run's ledger of documents, written as ``summary.json`` after every change.

Each document the run deals with (an invoice of one personal account, call
details of a group of numbers) is one entry. Its ``status`` moves
``ordered`` → ``received`` → ``uploaded``, or ends ``failed`` / ``skipped``
with the reason in ``error``. The summary is rewritten atomically after each
change, so a run that dies half-way still leaves an honest account of what it
ordered and received.

A second file, the state file, outlives the run: documents ordered but not yet
received, and received but not yet uploaded, are picked up from it by the next
run instead of being ordered again.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library

from libraries.ownership import Ownership

STATUSES = ("ordered", "received", "uploaded", "failed", "skipped")
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
    "file",
    "sha256",
    "tarifer_id",
    "error",
)


def now_iso() -> str:
    """The current time in ISO 8601 with the UTC offset."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def document_key(login: str, account: str, kind: str, period_from: str, period_to: str, numbers=()) -> str:
    """The identity of a document: who, which account, what, which dates, which numbers."""
    return "|".join([login, account, kind, period_from, period_to, ",".join(sorted(numbers))])


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
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


@library(scope="GLOBAL", auto_keywords=False)
class Ledger:
    """What the run did with each document, for the summary and the next run."""

    def __init__(self):
        self.summary_path: Path | None = None
        self.state_path: Path | None = None
        self.run: dict = {}
        self.documents: dict[str, dict] = {}
        self.state: dict[str, dict] = {}
        self.ownership = Ownership()

    @keyword("Start Ledger")
    def start_ledger(self, environment: str, period: str, output_dir: str, state_file: str = "") -> None:
        """Begin the run's summary in ``output_dir/summary.json``.

        ``state_file`` (default ``output_dir/ledger-state.json``) keeps what a
        later run must know: orders still waiting for their e-mail and
        documents received but not yet in Tarifer. Suites run under the suite
        that started the ledger add to the same summary.
        """
        if not self.ownership.claim():
            return
        output = Path(output_dir)
        self.summary_path = output / "summary.json"
        self.state_path = Path(state_file) if state_file else output / "ledger-state.json"
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

        If an earlier run already ordered or received the same document and did
        not finish it, the entry continues from there (same order, same file),
        so nothing is ordered twice.
        """
        numbers = list(numbers or [])
        key = document_key(login, account, kind, period_from, period_to, numbers)
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
        earlier = self.state.get(key)
        if earlier and earlier.get("status") in ("ordered", "received"):
            entry.update({name: earlier.get(name) for name in ("status", "order_id", "file", "sha256")})
            logger.info(f"{describe(entry)} was {entry['status']} by an earlier run; continuing from there.")
        self.documents[key] = entry
        self._save()
        return key

    @keyword("Document Status")
    def document_status(self, key: str) -> str:
        """The status of a document: ``ordered``, ``received``, ``uploaded``, ``failed``, ``skipped`` or empty."""
        return self.documents[key]["status"] or ""

    @keyword("Document")
    def document(self, key: str) -> dict:
        """All facts of one document (a copy)."""
        return dict(self.documents[key])

    @keyword("Mark Document")
    def mark_document(self, key: str, status: str, **facts) -> None:
        """Set the status of a document and any facts learnt (``order_id``, ``file``, ``sha256``, ``tarifer_id``)."""
        if status not in STATUSES:
            raise ValueError(f"Unknown status '{status}'; expected one of {', '.join(STATUSES)}.")
        unknown = set(facts) - set(FIELDS)
        if unknown:
            raise ValueError(f"Unknown document facts: {', '.join(sorted(unknown))}.")
        entry = self.documents[key]
        if facts.get("file"):
            facts["file"] = display_path(facts["file"])
        entry.update(facts, status=status)
        if status != "failed":
            entry["error"] = facts.get("error")
        self._save()
        labels = {"order_id": "order №", "tarifer_id": "Tarifer id", "error": "reason:"}
        details = [f"{label} {facts[name]}" for name, label in labels.items() if facts.get(name)]
        logger.info(f"{describe(entry)}: {', '.join([status, *details])}")

    @keyword("Fail Document")
    def fail_document(self, key: str, error: str) -> None:
        """Mark a document ``failed`` with the reason in words; its other facts stay."""
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
    def adopt_unfinished_documents(self) -> list[str]:
        """Take into this run every document an earlier run received but did not get into Tarifer.

        Returns the keys of all documents now ``received``, whichever routine and
        run collected them.
        """
        for key, earlier in self.state.items():
            if earlier.get("status") == "received" and key not in self.documents:
                self.documents[key] = dict(earlier, error=None)
                logger.info(f"{describe(earlier)} was received by an earlier run and is not in Tarifer yet.")
        self._save()
        return self.documents_with_status("received")

    @keyword("Finish Ledger")
    def finish_ledger(self) -> None:
        """Stamp the end time and write the summary for the last time (by the suite that started it)."""
        if self.summary_path is None or not self.ownership.release():
            return
        self.run["finished_at"] = now_iso()
        self._save()

    @keyword("Ledger Problems")
    def ledger_problems(self, *keys: str) -> list[str]:
        """One line per failed document among ``keys``, saying why."""
        chosen = [self.documents[key] for key in keys]
        return [f"{describe(entry)}: {entry['error']}" for entry in chosen if entry["status"] == "failed"]

    def summary(self) -> dict:
        """The summary object as it is written to ``summary.json``."""
        documents = [dict(entry) for entry in self.documents.values() if entry["status"]]
        return {**self.run, "documents": documents}

    def _read_state(self) -> dict[str, dict]:
        if self.state_path and self.state_path.exists():
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        return {}

    def _save(self) -> None:
        write_json(self.summary_path, self.summary())
        for key, entry in self.documents.items():
            if entry["status"] in ("ordered", "received"):
                self.state[key] = dict(entry)
            elif entry["status"] in ("uploaded", "skipped"):
                self.state.pop(key, None)
        write_json(self.state_path, self.state)
