"""The Tarifer helpers: a token that never shows, the listing look-up, the upload form."""

import hashlib

import pytest
import requests

from libraries.tarifer import MASK, BearerAuth, matching_document, upload_form
from sandbox.http import ServerThread
from sandbox.tarifer import create_app


def test_the_token_authenticates_but_is_masked_in_the_sent_request(tmp_path):
    with ServerThread(create_app(tmp_path, "s3cret-token")) as server:
        response = requests.get(f"{server.url}/api/v1/documents", auth=BearerAuth("s3cret-token"), timeout=10)
        assert response.status_code == 200
        assert response.request.headers["Authorization"] == MASK
        refused = requests.get(f"{server.url}/api/v1/documents", auth=BearerAuth("wrong"), timeout=10)
        assert refused.status_code == 401
    assert "s3cret" not in repr(BearerAuth("s3cret-token"))


def test_matching_document_compares_account_kind_period_and_numbers():
    listing = {
        "documents": [
            {"id": "a", "account": "1", "kind": "invoice", "period_from": "2026-10-01", "period_to": "2026-10-31"},
            {
                "id": "b",
                "account": "1",
                "kind": "call_details",
                "period_from": "2026-10-01",
                "period_to": "2026-10-31",
                "numbers": ["79000000002", "79000000001"],
            },
        ]
    }
    assert matching_document(listing, "1", "invoice", "2026-10-01", "2026-10-31")["id"] == "a"
    assert matching_document(listing, "1", "invoice", "2026-09-01", "2026-09-30") is None
    found = matching_document(listing, "1", "call_details", "2026-10-01", "2026-10-31", ["79000000001", "79000000002"])
    assert found["id"] == "b"
    assert matching_document(listing, "1", "call_details", "2026-10-01", "2026-10-31", ["79000000001"]) is None


def test_upload_form_refuses_a_file_changed_since_its_check(tmp_path):
    path = tmp_path / "invoice.pdf"
    path.write_bytes(b"%PDF-1.4 original")
    document = {
        "login": "9161234567",
        "account": "277300018417",
        "kind": "invoice",
        "period_from": "2026-10-01",
        "period_to": "2026-10-31",
        "numbers": [],
        "format": "pdf",
        "file": str(path),
        "sha256": hashlib.sha256(b"%PDF-1.4 original").hexdigest(),
    }
    fields, files = upload_form(document)
    assert fields["operator"] == "MTS" and "numbers" not in fields
    assert files["file"] == ("invoice.pdf", b"%PDF-1.4 original", "application/pdf")
    path.write_bytes(b"%PDF-1.4 tampered")
    with pytest.raises(AssertionError, match="changed since it was received"):
        upload_form(document)
