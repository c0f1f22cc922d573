"""Every keyword of the project's libraries and resources says what it does."""

from __future__ import annotations

from pathlib import Path

import pytest
from robot.libdoc import LibraryDocumentation

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = [
    "libraries.call_details.CallDetails",
    "libraries.documents.Documents",
    "libraries.environment.Environment",
    "libraries.ledger.Ledger",
    "libraries.mailbox.Mailbox",
    "libraries.portal.Portal",
    "libraries.tarifer.Tarifer",
    "libraries.tarifer_mail.TariferMail",
]
RESOURCES = sorted(str(path) for path in (ROOT / "resources").glob("*.resource"))


@pytest.mark.parametrize("source", LIBRARIES + RESOURCES)
def test_every_keyword_is_documented(source):
    documentation = LibraryDocumentation(source)
    assert documentation.keywords, f"{source} has no keywords"
    undocumented = [keyword.name for keyword in documentation.keywords if not keyword.doc.strip()]
    assert not undocumented, f"{source}: keywords without documentation: {undocumented}"
