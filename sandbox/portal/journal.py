"""Append-only JSON Lines files: the portal's login, order and delivery logs."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path


def now_iso() -> str:
    """Return the current time in UTC as ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class JsonLines:
    """A file of JSON records, one a line, safe to append to from many threads."""

    def __init__(self, path: Path):
        """Use the file at ``path`` (created on the first append)."""
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: dict) -> None:
        """Append ``record`` as one line of UTF-8 JSON."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as stream:
            stream.write(line)

    def read(self) -> list[dict]:
        """Return every record in the file, oldest first (none if it is missing)."""
        with self._lock:
            if not self.path.exists():
                return []
            text = self.path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
