"""Helpers for the Tarifer upload done with RequestsLibrary.

Tarifer's upload contract (base URL, bearer token, field names) is
configuration; this module keeps the token out of every log and finds a
document in Tarifer's listing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import requests
from robot.api.deco import keyword, library
from robot.api.types import Secret

MASK = "Bearer ********"
OPERATOR = "MTS"
CONTENT_TYPES = {"pdf": "application/pdf", "xml": "application/xml", "html": "text/html"}


class BearerAuth(requests.auth.AuthBase):
    """Bearer token authentication that never shows the token.

    RequestsLibrary logs the headers of every request it sent; a response
    hook replaces the token in the sent request's headers once the response
    has arrived, so the log shows ``Bearer ********``.
    """

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        request.register_hook("response", self._mask)
        return request

    @staticmethod
    def _mask(response, *args, **kwargs):
        for sent in [response.request, *(earlier.request for earlier in response.history)]:
            if "Authorization" in sent.headers:
                sent.headers["Authorization"] = MASK
        return response

    def __repr__(self) -> str:
        return "BearerAuth(********)"


def matching_document(listing: dict, account: str, kind: str, period_from: str, period_to: str, numbers=()):
    """The first document in a Tarifer listing with these facts, or ``None``."""
    wanted_numbers = sorted(numbers)
    for document in listing.get("documents", []):
        if (
            document.get("account") == account
            and document.get("kind") == kind
            and document.get("period_from") == period_from
            and document.get("period_to") == period_to
            and sorted(document.get("numbers") or []) == wanted_numbers
        ):
            return document
    return None


def upload_form(document: dict) -> tuple[dict, dict]:
    """The multipart fields and file of a ledger document, as Tarifer's upload takes them."""
    fields = {name: document[name] for name in ("login", "account", "kind", "period_from", "period_to")}
    fields["operator"] = OPERATOR
    if document.get("numbers"):
        fields["numbers"] = ",".join(document["numbers"])
    path = Path(document["file"])
    content = path.read_bytes()
    if document.get("sha256") and hashlib.sha256(content).hexdigest() != document["sha256"]:
        raise AssertionError(f"{path} changed since it was received and checked; it is not uploaded.")
    content_type = CONTENT_TYPES.get(document.get("format") or "", "application/octet-stream")
    return fields, {"file": (path.name, content, content_type)}


@library(scope="GLOBAL", auto_keywords=False)
class Tarifer:
    """Authentication and look-ups for the Tarifer API."""

    @keyword("Tarifer Authentication")
    def tarifer_authentication(self, token: Secret) -> BearerAuth:
        """Return the authentication object for ``Create Custom Session``; the token is never logged."""
        return BearerAuth(token.value)

    @keyword("Find Document In Listing")
    def find_document_in_listing(
        self, listing: dict, account: str, kind: str, period_from: str, period_to: str, numbers: list | None = None
    ) -> dict | None:
        """Return Tarifer's record of the document with these facts from a listing, or ``None``."""
        return matching_document(listing, account, kind, period_from, period_to, numbers or ())

    @keyword("Upload Form Of")
    def upload_form_of(self, document: dict) -> tuple[dict, dict]:
        """Return the form fields and the file of a received document for ``POST On Session``."""
        return upload_form(document)
