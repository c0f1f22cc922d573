"""A local stand-in for Tarifer: its document upload API and its e-mail collector.

Tarifer publishes no upload API, so the project defines this contract and the
robot is configured against it. All answers are JSON (UTF-8); errors have the
shape ``{"error": "<code>", "message": "<text>"}``.

``GET  /api/v1/health``                   200 ``{"status": "ok"}``, no authentication
``POST /api/v1/documents``                multipart upload: 201 new, 200 duplicate
``GET  /api/v1/documents``                200 ``{"documents": [...]}``, filters
                                          ``sha256``, ``account``, ``kind``
``GET  /api/v1/documents/<id>``           200 record, 404 unknown
``GET  /api/v1/documents/<id>/content``   200 the stored bytes
``GET  /api/v1/mails``                    200 ``{"mails": [...]}``: every mail the collector took

Every endpoint except health needs ``Authorization: Bearer <token>``.
Setting ``app.config["OUTAGE"] = True`` makes every endpoint except health
answer 503, to exercise the robot's handling of an unavailable service.

What Tarifer documents is an e-mail collector that takes the operator's
documents as attachments. The stand-in's collector (``MailCollector``,
``app.extensions["tarifer_collector"]``) is handed every mail the sandbox's
SMTP receiver gets for ``COLLECTOR_ADDRESS`` and ingests each attachment like
an API upload: the metadata from the mail's text (``account: 277300018417``
lines, named as the upload's fields), the same content checks, a ZIP unpacked
first. It deduplicates by Message-ID (a mail seen before adds nothing) and by
SHA-256 (a document held before, by either channel, is not stored again). Its
records carry ``channel: email`` and the mail's ``message_id`` in the same
listing as the API's (``channel: api``). What it refuses, it refuses in the
SMTP answer (5xx, with the reason); in an outage it answers 451.

Documents are stored under ``data_dir/files/<sha256>.<ext>`` with their
records, and the collector's journal of mails, in ``data_dir/index.json``, so
a new app on the same directory sees everything uploaded before.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import re
import tempfile
import threading
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path, PurePosixPath
from typing import Any
from xml.parsers import expat

from flask import Flask, Response, jsonify, request, send_file
from pypdf import PdfReader
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from sandbox.mail import MailRefused

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xml": "application/xml",
    "html": "text/html",
}
EXTENSION_FORMATS = {
    ".pdf": "pdf",
    ".xml": "xml",
    ".html": "html",
    ".htm": "html",
}
FORMAT_NAMES = {"pdf": "a PDF", "xml": "an XML", "html": "an HTML"}

KINDS = ("invoice", "call_details")
LIST_FILTERS = ("sha256", "account", "kind")
MAX_TEXT_FIELD = 64

HTML_SNIFF_BYTES = 1024
HTML_MARKERS = ("<html", "<!doctype html")
CHARSET_PATTERN = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
BOM_ENCODINGS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

ACCOUNT_PATTERN = re.compile(r"[0-9]{12}")
NUMBER_PATTERN = re.compile(r"[0-9]{11}")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

COLLECTOR_ADDRESS = "tarifer@sandbox.test"
"""The collector's address in the sandbox (``TARIFER_EMAIL``)."""
COLLECTOR_MAX_BYTES = 20_000_000
"""The largest mail the collector takes, as it arrives (attachments base64-encoded)."""
MAIL_FIELDS = ("operator", "login", "account", "kind", "period_from", "period_to", "numbers")
FIELD_LINE = re.compile(r"^\s*([a-z_]+)\s*:\s*(.*?)\s*$")
ZIP_MAGIC = b"PK\x03\x04"
ZIP_MAX_MEMBERS = 10
ZIP_MAX_UNPACKED = 200 * 1024 * 1024


class UnsupportedDocument(Exception):
    """The content is not a document Tarifer accepts; the text says why."""


class ApiError(Exception):
    """An error answer: HTTP status, error code and a human-readable message."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        """Keep the answer's parts; ``extra`` adds fields to the JSON body."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


# --- content sniffing -------------------------------------------------------


def detect_format(data: bytes) -> str | None:
    """Return ``"pdf"``, ``"xml"`` or ``"html"`` for acceptable content, else None.

    Only the bytes decide: a PDF must start with ``%PDF-`` and open in pypdf
    with at least one page, HTML must show ``<html`` or ``<!doctype html``
    in its first kilobyte and decode, XML must be well-formed and carry no
    DOCTYPE or entity declarations.
    """
    try:
        return classify(data)
    except UnsupportedDocument:
        return None


def classify(data: bytes) -> str:
    """Return the format of ``data`` or raise UnsupportedDocument saying why."""
    if data.startswith(b"%PDF-"):
        check_pdf(data)
        return "pdf"
    if looks_like_html(data):
        return "html"
    check_xml(data)
    return "xml"


def check_pdf(data: bytes) -> None:
    """Raise UnsupportedDocument unless pypdf reads ``data`` with at least one page."""
    try:
        pages = len(PdfReader(io.BytesIO(data)).pages)
    except Exception as exc:  # pypdf signals broken files with many exception types
        raise UnsupportedDocument(f"starts like a PDF but cannot be read ({exc})") from exc
    if pages < 1:
        raise UnsupportedDocument("is a PDF without pages")


def looks_like_html(data: bytes) -> bool:
    """Tell whether ``data`` decodes as text with an HTML marker in its first kilobyte."""
    text = decode_html(data)
    if text is None:
        return False
    head = text[:HTML_SNIFF_BYTES].lower()
    return any(marker in head for marker in HTML_MARKERS)


def decode_html(data: bytes) -> str | None:
    """Decode ``data`` by its byte-order mark, declared charset or UTF-8; None if impossible."""
    encoding = next((name for bom, name in BOM_ENCODINGS if data.startswith(bom)), None)
    if encoding is None:
        declared = CHARSET_PATTERN.search(data[:HTML_SNIFF_BYTES])
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def check_xml(data: bytes) -> None:
    """Raise UnsupportedDocument unless ``data`` is well-formed XML without a DTD.

    Expat is driven directly so that a DOCTYPE or an entity declaration stops
    parsing before anything is expanded (the protection defusedxml offers).
    """
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_dtd
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise UnsupportedDocument("is not a PDF, XML or HTML document") from exc


def refuse_dtd(*_args: Any) -> None:
    """Expat handler that refuses document type and entity declarations."""
    raise UnsupportedDocument(
        "is XML with a DOCTYPE or entity declaration, which Tarifer refuses"
    )


# --- upload metadata --------------------------------------------------------


def parse_metadata(form) -> dict[str, Any]:
    """Validate the upload's form fields and return the normalised metadata.

    Raises ApiError 400 ``invalid_metadata`` naming the first bad field.
    """
    period_from = parse_date(form, "period_from")
    period_to = parse_date(form, "period_to")
    if period_from > period_to:
        raise invalid_field(
            "period_to",
            f"period_to ({period_to}) is before period_from ({period_from})",
        )
    return {
        "operator": parse_text(form, "operator", required=True),
        "account": parse_account(form),
        "kind": parse_kind(form),
        "period_from": period_from.isoformat(),
        "period_to": period_to.isoformat(),
        "numbers": parse_numbers(form),
        "login": parse_text(form, "login", required=False),
    }


def invalid_field(field: str, message: str) -> ApiError:
    """Build the 400 answer for one invalid or missing form field."""
    return ApiError(400, "invalid_metadata", message, field=field)


def required_value(form, field: str) -> str:
    """Return the stripped value of a required field or raise naming it."""
    value = (form.get(field) or "").strip()
    if not value:
        raise invalid_field(field, f"{field} is required")
    return value


def parse_text(form, field: str, *, required: bool) -> str | None:
    """Return a short free-text field, None when an optional one is absent."""
    value = (form.get(field) or "").strip()
    if not value:
        if required:
            raise invalid_field(field, f"{field} is required")
        return None
    if len(value) > MAX_TEXT_FIELD:
        raise invalid_field(field, f"{field} must be at most {MAX_TEXT_FIELD} characters")
    return value


def parse_account(form) -> str:
    """Return the personal account, which must be exactly 12 digits."""
    value = required_value(form, "account")
    if not ACCOUNT_PATTERN.fullmatch(value):
        raise invalid_field("account", f"account must be 12 digits, got {value!r}")
    return value


def parse_kind(form) -> str:
    """Return the document kind, one of KINDS."""
    value = required_value(form, "kind")
    if value not in KINDS:
        raise invalid_field("kind", f"kind must be one of {', '.join(KINDS)}; got {value!r}")
    return value


def parse_date(form, field: str) -> date:
    """Return a YYYY-MM-DD field as a date."""
    value = required_value(form, field)
    try:
        if not DATE_PATTERN.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_field(field, f"{field} must be a date as YYYY-MM-DD, got {value!r}") from None


def parse_numbers(form) -> list[str]:
    """Return the optional comma-separated 11-digit numbers, without repeats."""
    value = (form.get("numbers") or "").strip()
    if not value:
        return []
    numbers = [item.strip() for item in value.split(",")]
    bad = [item for item in numbers if not NUMBER_PATTERN.fullmatch(item)]
    if bad:
        raise invalid_field(
            "numbers",
            f"numbers must be comma-separated 11-digit numbers; not valid: {bad[0]!r}",
        )
    return list(dict.fromkeys(numbers))


# --- uploaded file ----------------------------------------------------------


def read_upload(files) -> tuple[str, bytes]:
    """Return the filename and bytes of the single ``file`` part of the request."""
    parts = files.getlist("file")
    if len(parts) != 1:
        found = "none" if not parts else f"{len(parts)} of them"
        raise ApiError(
            400,
            "invalid_upload",
            f"exactly one multipart file field 'file' is required; got {found}",
        )
    filename = PurePosixPath((parts[0].filename or "").replace("\\", "/")).name
    data = parts[0].read()
    if not data:
        raise ApiError(400, "invalid_upload", f"the uploaded file {filename!r} is empty")
    return filename, data


def sniff_upload(filename: str, data: bytes) -> str:
    """Return the detected format, checked against the filename's extension.

    Raises ApiError 415 ``unsupported_document`` for unacceptable content and
    415 ``format_mismatch`` when the extension announces another format.
    A name without an extension is judged by its content alone.
    """
    try:
        detected = classify(data)
    except UnsupportedDocument as exc:
        raise ApiError(415, "unsupported_document", f"the file {filename!r} {exc}") from None
    extension = PurePosixPath(filename).suffix.lower()
    if extension and EXTENSION_FORMATS.get(extension) != detected:
        raise ApiError(
            415,
            "format_mismatch",
            f"the file {filename!r} has the extension {extension} "
            f"but its content is {FORMAT_NAMES[detected]} document",
            detected=detected,
        )
    return detected


# --- storage ----------------------------------------------------------------


class DocumentStore:
    """Documents on disk plus their records in an atomically rewritten index."""

    def __init__(self, data_dir: Path):
        """Open (creating if needed) the store in ``data_dir`` and load its index."""
        self.data_dir = Path(data_dir)
        self.files_dir = self.data_dir / "files"
        self.index_path = self.data_dir / "index.json"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._mails: list[dict[str, Any]] = []
        self._records: list[dict[str, Any]] = self._load()

    def _load(self) -> list[dict[str, Any]]:
        """Read the index (documents, and the collector's mails), or start empty when there is none yet."""
        if not self.index_path.exists():
            return []
        try:
            index = json.loads(self.index_path.read_text(encoding="utf-8"))
            records = index["documents"]
            self._mails = list(index.get("mails") or [])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"the Tarifer index {self.index_path} is not readable: {exc}") from exc
        for record in records:
            record.setdefault("channel", "api")
        return records

    def mails(self) -> list[dict[str, Any]]:
        """Return copies of the collector's journal: one entry per mail it took, duplicates too."""
        with self._lock:
            return [dict(mail) for mail in self._mails]

    def list(self, **filters: str) -> list[dict[str, Any]]:
        """Return copies of the records whose fields equal every given filter."""
        with self._lock:
            return [
                dict(record)
                for record in self._records
                if all(record.get(name) == value for name, value in filters.items())
            ]

    def get(self, document_id: str) -> dict[str, Any] | None:
        """Return a copy of the record with this id, or None."""
        with self._lock:
            record = self._find("id", document_id)
            return dict(record) if record else None

    def content_path(self, record: dict[str, Any]) -> Path:
        """Return where the bytes of a record are stored."""
        return self.files_dir / f"{record['sha256']}.{record['format']}"

    def add(self, data: bytes, fields: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store ``data`` unless its SHA-256 is known; return (record, duplicate)."""
        with self._lock:
            record, duplicate = self._add(data, fields)
            if not duplicate:
                self._save()
            return dict(record), duplicate

    def add_mail(
        self, message_id: str, mail: dict[str, Any], documents: list[tuple[bytes, dict[str, Any]]]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Take a mail's documents, each stored unless its SHA-256 is known, and journal the mail.

        A mail whose Message-ID was taken before stores nothing. Returns the
        records (new or held before) and why the mail added nothing, if it
        did not: ``message_id`` or ``sha256``.
        """
        with self._lock:
            earlier = next((m for m in self._mails if message_id and m["message_id"] == message_id), None)
            if earlier is not None:
                records = [dict(self._find("id", doc_id)) for doc_id in earlier["documents"]]
                duplicate = "message_id"
            else:
                added = [self._add(data, fields) for data, fields in documents]
                records = [dict(record) for record, _ in added]
                duplicate = "sha256" if all(known for _, known in added) else None
            self._mails.append(
                {
                    **mail,
                    "message_id": message_id,
                    "received_at": utc_timestamp(),
                    "documents": [record["id"] for record in records],
                    "duplicate": duplicate,
                }
            )
            self._save()
            return records, duplicate

    def _add(self, data: bytes, fields: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Store ``data`` unless its SHA-256 is known; caller holds the lock and saves."""
        sha256 = hashlib.sha256(data).hexdigest()
        existing = self._find("sha256", sha256)
        if existing:
            return existing, True
        record = {
            "id": self._new_id(),
            "sha256": sha256,
            "size": len(data),
            "received_at": utc_timestamp(),
            **fields,
        }
        atomic_write(self.content_path(record), data)
        self._records.append(record)
        return record, False

    def _find(self, field: str, value: str) -> dict[str, Any] | None:
        """Return the stored record whose ``field`` equals ``value``; caller holds the lock."""
        return next((record for record in self._records if record[field] == value), None)

    def _new_id(self) -> str:
        """Return an unused document id; caller holds the lock."""
        while True:
            candidate = f"doc-{uuid.uuid4().hex[:12]}"
            if self._find("id", candidate) is None:
                return candidate

    def _save(self) -> None:
        """Rewrite the index atomically; caller holds the lock."""
        text = json.dumps({"documents": self._records, "mails": self._mails}, ensure_ascii=False, indent=2)
        atomic_write(self.index_path, text.encode("utf-8"))


def utc_timestamp() -> str:
    """Return the current UTC time as ISO 8601 with seconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and move it into place."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


# --- the e-mail collector ----------------------------------------------------


def mail_fields(message) -> dict[str, str]:
    """The upload fields a mail's text names, one ``name: value`` a line (the first of each name)."""
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        match = FIELD_LINE.match(line)
        if match and match.group(1) in MAIL_FIELDS:
            fields.setdefault(match.group(1), match.group(2))
    return fields


def unpack(filename: str, data: bytes) -> list[tuple[str, bytes]]:
    """The documents in an attachment: itself, or the members of a ZIP (names only, size-limited)."""
    if not (data.startswith(ZIP_MAGIC) or filename.lower().endswith(".zip")):
        return [(filename, data)]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
        if not members or len(members) > ZIP_MAX_MEMBERS:
            raise MailRefused(f"554 5.6.0 the ZIP {filename!r} holds {len(members)} files; 1 to {ZIP_MAX_MEMBERS}")
        unpacked, total = [], 0
        for info in members:
            with archive.open(info) as member:
                content = member.read(ZIP_MAX_UNPACKED - total + 1)
            total += len(content)
            if total > ZIP_MAX_UNPACKED:
                raise MailRefused(f"554 5.6.0 the ZIP {filename!r} unpacks to more than {ZIP_MAX_UNPACKED} bytes")
            unpacked.append((PurePosixPath(info.filename.replace("\\", "/")).name, content))
        return unpacked
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, OSError) as exc:
        raise MailRefused(f"554 5.6.0 the attachment {filename!r} is not a readable ZIP ({exc})") from None


class MailCollector:
    """Tarifer's e-mail collector: takes a mail handed over by the SMTP receiver, or refuses it with
    ``MailRefused`` (an SMTP reply)."""

    def __init__(self, store: DocumentStore, max_bytes: int, unavailable: Callable[[], bool]):
        self.store = store
        self.max_bytes = max_bytes
        self.unavailable = unavailable

    def __call__(self, content: bytes, sender: str, recipient: str) -> None:
        """Ingest the mail ``content`` from ``sender``; return once its documents are held."""
        if self.unavailable():
            raise MailRefused("451 4.3.2 Tarifer is temporarily unavailable; retry later")
        if len(content) > self.max_bytes:
            raise MailRefused(
                f"552 5.3.4 the mail is {len(content)} bytes; Tarifer's collector takes at most {self.max_bytes}"
            )
        message = BytesParser(policy=policy.default).parsebytes(content)
        message_id = " ".join(str(message.get("Message-ID") or "").split())
        try:
            metadata = parse_metadata(mail_fields(message))
        except ApiError as exc:
            raise MailRefused(f"550 5.6.0 the mail does not say which document it carries: {exc.message}") from None
        documents = []
        attachments = [part for part in message.iter_attachments() if part.get_filename()]
        if not attachments:
            raise MailRefused("550 5.6.0 the mail carries no attachment")
        for part in attachments:
            filename = PurePosixPath((part.get_filename() or "").replace("\\", "/")).name
            for name, data in unpack(filename, part.get_payload(decode=True) or b""):
                if not data:
                    raise MailRefused(f"554 5.6.0 the attachment {name!r} is empty")
                try:
                    detected = sniff_upload(name, data)
                except ApiError as exc:
                    raise MailRefused(f"554 5.6.0 {exc.message}") from None
                fields = {"format": detected, "filename": name, **metadata, "channel": "email"}
                documents.append((data, {**fields, "message_id": message_id}))
        journal = {"from": sender, "to": recipient, "subject": str(message.get("Subject") or "")}
        records, duplicate = self.store.add_mail(message_id, journal, documents)
        outcome = f"a duplicate by {duplicate}" if duplicate else "stored"
        log.info("mail %s from %s: %s (%s)", message_id, sender, outcome, ", ".join(r["id"] for r in records))


# --- application ------------------------------------------------------------


def error_response(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    """Build the JSON error answer used by every endpoint."""
    return jsonify({"error": code, "message": message, **extra}), status


def bearer_token_matches(header: str | None, token: str) -> bool:
    """Tell whether an Authorization header carries exactly ``Bearer <token>``."""
    scheme, _, presented = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


OUTAGE_FLAG = "OUTAGE"
"""A file of this name in the data folder also puts Tarifer into an outage, so a
test can switch a running stand-in off and on from outside its process."""


def create_app(
    data_dir: Path,
    token: str,
    *,
    max_upload_bytes: int = 200 * 1024 * 1024,
    collector_max_bytes: int = COLLECTOR_MAX_BYTES,
) -> Flask:
    """Create the Tarifer stand-in storing its documents under ``data_dir``.

    ``token`` is the bearer token every endpoint except health requires;
    requests larger than ``max_upload_bytes`` are answered with 413. The
    e-mail collector (``app.extensions["tarifer_collector"]``, handed mail by
    the SMTP receiver) refuses mail over ``collector_max_bytes``.
    """
    if not token:
        raise ValueError("the Tarifer stand-in needs a non-empty API token")
    store = DocumentStore(Path(data_dir))
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=max_upload_bytes, OUTAGE=False)
    app.json.ensure_ascii = False
    app.extensions["tarifer_store"] = store

    def unavailable() -> bool:
        """Whether Tarifer is in an outage (the flag, or the file in its data folder)."""
        return bool(app.config["OUTAGE"]) or (Path(data_dir) / OUTAGE_FLAG).exists()

    app.extensions["tarifer_collector"] = MailCollector(store, collector_max_bytes, unavailable)

    @app.before_request
    def guard() -> tuple[Response, int] | None:
        """Answer 503 during an injected outage and 401 without the right token."""
        if request.endpoint == "health":
            return None
        if unavailable():
            return error_response(
                503, "unavailable", "Tarifer is temporarily unavailable; retry later"
            )
        if not bearer_token_matches(request.headers.get("Authorization"), token):
            response, status = error_response(
                401, "unauthorized", "a valid 'Authorization: Bearer <token>' header is required"
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response, status
        return None

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> tuple[Response, int]:
        """Turn an ApiError into its JSON answer."""
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc: RequestEntityTooLarge) -> tuple[Response, int]:
        """Answer uploads over the size limit."""
        return error_response(
            413, "too_large", f"the upload exceeds the limit of {max_upload_bytes} bytes"
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        """Answer other HTTP errors (unknown URL, wrong method) as JSON."""
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> tuple[Response, int]:
        """Answer unexpected failures as JSON after logging them."""
        log.exception("unexpected failure in %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Tarifer failed to handle the request")

    @app.get(f"{API_PREFIX}/health")
    def health() -> Response:
        """Report that the service is up; needs no token."""
        return jsonify({"status": "ok"})

    @app.post(f"{API_PREFIX}/documents")
    def upload() -> tuple[Response, int]:
        """Accept one document with its metadata; 201 when new, 200 when known."""
        metadata = parse_metadata(request.form)
        filename, data = read_upload(request.files)
        detected = sniff_upload(filename, data)
        record, duplicate = store.add(data, {"format": detected, "filename": filename, **metadata, "channel": "api"})
        outcome = "already held" if duplicate else "stored"
        log.info("document %s %s (%s bytes)", record["id"], outcome, record["size"])
        return jsonify({**record, "duplicate": duplicate}), 200 if duplicate else 201

    @app.get(f"{API_PREFIX}/documents")
    def list_documents() -> Response:
        """List the records, optionally filtered by sha256, account and kind."""
        filters = {name: request.args[name] for name in LIST_FILTERS if name in request.args}
        return jsonify({"documents": store.list(**filters)})

    @app.get(f"{API_PREFIX}/mails")
    def list_mails() -> Response:
        """List every mail the e-mail collector took, duplicates too, oldest first."""
        return jsonify({"mails": store.mails()})

    @app.get(f"{API_PREFIX}/documents/<document_id>")
    def get_document(document_id: str) -> Response:
        """Return one record."""
        return jsonify(known_record(document_id))

    @app.get(f"{API_PREFIX}/documents/<document_id>/content")
    def get_content(document_id: str) -> Response:
        """Return the stored bytes with the content type of their format."""
        record = known_record(document_id)
        response = send_file(
            store.content_path(record),
            mimetype=CONTENT_TYPES[record["format"]],
            download_name=record["filename"] or f"{record['id']}.{record['format']}",
        )
        response.headers["Content-Type"] = CONTENT_TYPES[record["format"]]
        return response

    def known_record(document_id: str) -> dict[str, Any]:
        """Return the record with this id or raise the 404 answer."""
        record = store.get(document_id)
        if record is None:
            raise ApiError(404, "not_found", f"no document with id {document_id!r}")
        return record

    return app
