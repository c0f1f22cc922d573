"""Helpers for the Tarifer upload done with RequestsLibrary.

Tarifer's upload contract (base URL, bearer token, field names) is
configuration; this module keeps the token out of every log and finds a
document in Tarifer's listing.
"""

from __future__ import annotations

import requests
from robot.api.deco import keyword, library
from robot.api.types import Secret

MASK = "Bearer ********"


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
