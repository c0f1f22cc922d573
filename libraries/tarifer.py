"""Helpers for the Tarifer upload done with RequestsLibrary.

Tarifer's upload contract (base URL, bearer token, field names) is
configuration; this module keeps the token out of every log, insists on TLS
towards Tarifer, pins the certificates Tarifer is verified against, and finds
a document in Tarifer's listing. A document is sent as a multipart body read
from disk while it goes out (``UploadBody``): memory does not grow with the
file, and the logs show the body's description, never its bytes.

Which certificates verify Tarifer (``TARIFER_CA_FILE``):

- Set: only that PEM file, whatever the environment says. requests lets
  ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` replace a session's ``verify``
  on every request (``Session.merge_environment_settings``), so the session is
  pinned: its environment merge keeps everything else the environment gives
  (``HTTPS_PROXY``, ``NO_PROXY``: ``trust_env`` stays on) but not the CA.
- Empty: "the system's" certificates as requests understands them: the
  operator's ``REQUESTS_CA_BUNDLE`` (then ``CURL_CA_BUNDLE``) when set, else
  certifi's bundle. That is the one place an operator names the system store
  for every Python tool, so it is honoured; verification is never switched off.
"""

from __future__ import annotations

import io
import ipaddress
import ssl
import types
import urllib.parse
from pathlib import Path

import requests
from requests_toolbelt import MultipartEncoder
from robot.api.deco import keyword, library
from robot.api.types import Secret
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from libraries.documents import sha256_of

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


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` (as a URL gives it, IPv6 in brackets or not) is this machine: 127.0.0.0/8, ::1, localhost."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_tls(url: str, setting: str = "TARIFER_URL") -> str:
    """Return ``url`` if it is ``https://``, or ``http://`` to a loopback host; raise ``ValueError`` otherwise.

    The token and the documents travel with every request, so plain HTTP is
    refused except towards this machine (the sandbox's stand-in). The host is
    read both as requests reads it (urllib3) and as the standard library does;
    both must see a loopback host, so ``http://127.0.0.1\\@evil.example`` and the
    like are refused. The error names the setting and the scheme and host
    only, never credentials a URL might carry.
    """
    text = str(url).strip()
    required = f"{setting} must be an https:// URL: TLS is required towards Tarifer"
    try:
        parsed = parse_url(text)
        standard_host = urllib.parse.urlsplit(text).hostname
    except (LocationParseError, ValueError):
        raise ValueError(f"{required}, and {setting} is not a valid URL.") from None
    scheme = (parsed.scheme or "").lower()
    if scheme == "https" and parsed.host:
        return url
    if scheme == "http" and is_loopback_host(parsed.host) and is_loopback_host(standard_host):
        return url
    if scheme not in ("http", "https"):
        raise ValueError(f"{required}; {setting} has {f'the scheme {scheme}://' if scheme else 'no scheme'}.")
    if not parsed.host:
        raise ValueError(f"{required}; {setting} names no host.")
    loopback = "plain http:// is accepted only for this machine (127.0.0.0/8, ::1, localhost)"
    if is_loopback_host(parsed.host):
        raise ValueError(f"{required}; {loopback}, and {setting} does not name it unambiguously.")
    raise ValueError(f"{required}; {loopback}, not for {parsed.host}.")


def _merge_with_pinned_verify(session, url, proxies, stream, verify, cert):
    """``Session.merge_environment_settings``, but the session's ``verify`` is not replaced by the environment."""
    settings = type(session).merge_environment_settings(session, url, proxies, stream, verify, cert)
    if verify is None or verify is True:
        settings["verify"] = session.verify
    return settings


def pin_verification(session: requests.Session, ca_file: str | None) -> requests.Session:
    """Make ``session`` verify TLS against ``ca_file`` only, whatever ``REQUESTS_CA_BUNDLE`` says.

    An empty ``ca_file`` means requests' default: ``verify=True``, which takes
    ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` when set, else certifi. The
    environment's proxies are kept in both cases. A file that is missing or
    holds no certificate fails here, naming ``TARIFER_CA_FILE``.
    """
    if not ca_file:
        session.verify = True
        return session
    path = Path(ca_file).expanduser().resolve()
    if not path.is_file():
        raise ValueError(f"TARIFER_CA_FILE {ca_file} is not a file.")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError) as error:
        raise ValueError(f"TARIFER_CA_FILE {ca_file} holds no usable PEM certificate ({error}).") from None
    session.verify = str(path)
    session.merge_environment_settings = types.MethodType(_merge_with_pinned_verify, session)
    return session


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


class UploadBody(io.RawIOBase):
    """A multipart upload body streamed from the document's file; closes the file once read.

    An ``io`` object with a ``len``: requests sends it in chunks with a
    Content-Length, and RequestsLibrary logs its ``repr`` instead of its bytes.
    """

    def __init__(self, fields: dict, path: Path, content_type: str):
        super().__init__()
        self.name = path.name
        self._file = open(path, "rb")  # noqa: SIM115 - closed when read to the end, or by close()
        self._encoder = MultipartEncoder(fields=[*fields.items(), ("file", (path.name, self._file, content_type))])
        self.content_type = self._encoder.content_type

    @property
    def len(self) -> int:
        """Bytes left to send (requests reads it for the Content-Length)."""
        return self._encoder.len

    def readable(self) -> bool:
        """It is read, never written."""
        return True

    def read(self, size: int = -1) -> bytes:
        """The next ``size`` bytes of the body (all of the rest with -1)."""
        everything = size is None or size < 0
        chunk = self._encoder.read(-1 if everything else size)
        if everything or not chunk:
            self.close()
        return chunk

    def close(self) -> None:
        """Close the document's file."""
        self._file.close()
        super().close()

    def __repr__(self) -> str:
        return f"<multipart upload of {self.name}, {self._encoder.len} bytes>"


def upload_body(document: dict) -> tuple[UploadBody, dict]:
    """The multipart body of a received document as Tarifer's upload takes it, and its headers.

    The file must still have the SHA-256 it was checked with; a changed file
    is refused.
    """
    fields = {name: document[name] for name in ("login", "account", "kind", "period_from", "period_to")}
    fields["operator"] = OPERATOR
    if document.get("numbers"):
        fields["numbers"] = ",".join(document["numbers"])
    path = Path(document["file"])
    if document.get("sha256") and sha256_of(path) != document["sha256"]:
        raise AssertionError(f"{path} changed since it was received and checked; it is not uploaded.")
    content_type = CONTENT_TYPES.get(document.get("format") or "", "application/octet-stream")
    body = UploadBody(fields, path, content_type)
    return body, {"Content-Type": body.content_type}


@library(scope="GLOBAL", auto_keywords=False)
class Tarifer:
    """Authentication, TLS settings and look-ups for the Tarifer API."""

    @keyword("Tarifer URL Should Use TLS")
    def tarifer_url_should_use_tls(self, url: str) -> None:
        """Fail, naming TARIFER_URL, unless ``url`` is ``https://``.

        Plain ``http://`` is accepted only for this machine (127.0.0.0/8,
        ``::1``, ``localhost``), where the sandbox's stand-in runs.
        """
        require_tls(url)

    @keyword("Pin Tarifer Certificates")
    def pin_tarifer_certificates(self, session: requests.Session, ca_file: str = "") -> None:
        """Make the session from ``Create Custom Session`` verify Tarifer against ``ca_file`` only.

        A set ``TARIFER_CA_FILE`` wins over ``REQUESTS_CA_BUNDLE`` and
        ``CURL_CA_BUNDLE``; proxies from the environment (``HTTPS_PROXY``,
        ``NO_PROXY``) still apply. Empty means the system's certificates as
        requests finds them: ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` if the
        operator set one, else certifi's. Verification is never switched off.
        """
        pin_verification(session, ca_file)

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

    @keyword("Upload Body Of")
    def upload_body_of(self, document: dict) -> tuple[UploadBody, dict]:
        """Return the multipart body of a received document and its headers for ``POST On Session``.

        The body is read from disk as it is sent and never logged; a file
        changed since it was checked is refused.
        """
        return upload_body(document)
