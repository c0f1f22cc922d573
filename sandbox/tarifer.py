"""A local stand-in for Tarifer's document upload API.

Tarifer publishes no upload API, so the project defines this contract and the
robot is configured against it. All answers are JSON (UTF-8); errors have the
shape ``{"error": "<code>", "message": "<text>"}``.

``GET  /api/v1/health``                   200 ``{"status": "ok"}``, no authentication
``POST /api/v1/documents``                multipart upload: 201 new, 200 duplicate
``GET  /api/v1/documents``                200 ``{"documents": [...]}``, filters
                                          ``sha256``, ``account``, ``kind``
``GET  /api/v1/documents/<id>``           200 record, 404 unknown
``GET  /api/v1/documents/<id>/content``   200 the stored bytes

Every endpoint except health needs ``Authorization: Bearer <token>``.
Setting ``app.config["OUTAGE"] = True`` makes every endpoint except health
answer 503, to exercise the robot's handling of an unavailable service.

Documents are stored under ``data_dir/files/<sha256>.<ext>`` with their
records in ``data_dir/index.json``, so a new app on the same directory sees
everything uploaded before.
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
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from xml.parsers import expat

from flask import Flask, Response, jsonify, request, send_file
from pypdf import PdfReader
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

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
        self._records: list[dict[str, Any]] = self._load()

    def _load(self) -> list[dict[str, Any]]:
        """Read the index, or start empty when there is none yet."""
        if not self.index_path.exists():
            return []
        try:
            return json.loads(self.index_path.read_text(encoding="utf-8"))["documents"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"the Tarifer index {self.index_path} is not readable: {exc}") from exc

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
        sha256 = hashlib.sha256(data).hexdigest()
        with self._lock:
            existing = self._find("sha256", sha256)
            if existing:
                return dict(existing), True
            record = {
                "id": self._new_id(),
                "sha256": sha256,
                "size": len(data),
                "received_at": utc_timestamp(),
                **fields,
            }
            atomic_write(self.content_path(record), data)
            self._records.append(record)
            self._save()
            return dict(record), False

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
        text = json.dumps({"documents": self._records}, ensure_ascii=False, indent=2)
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


def create_app(data_dir: Path, token: str, *, max_upload_bytes: int = 200 * 1024 * 1024) -> Flask:
    """Create the Tarifer stand-in storing its documents under ``data_dir``.

    ``token`` is the bearer token every endpoint except health requires;
    requests larger than ``max_upload_bytes`` are answered with 413.
    """
    if not token:
        raise ValueError("the Tarifer stand-in needs a non-empty API token")
    store = DocumentStore(Path(data_dir))
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=max_upload_bytes, OUTAGE=False)
    app.json.ensure_ascii = False
    app.extensions["tarifer_store"] = store

    @app.before_request
    def guard() -> tuple[Response, int] | None:
        """Answer 503 during an injected outage and 401 without the right token."""
        if request.endpoint == "health":
            return None
        if app.config["OUTAGE"] or (Path(data_dir) / OUTAGE_FLAG).exists():
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
        record, duplicate = store.add(data, {"format": detected, "filename": filename, **metadata})
        outcome = "already held" if duplicate else "stored"
        log.info("document %s %s (%s bytes)", record["id"], outcome, record["size"])
        return jsonify({**record, "duplicate": duplicate}), 200 if duplicate else 201

    @app.get(f"{API_PREFIX}/documents")
    def list_documents() -> Response:
        """List the records, optionally filtered by sha256, account and kind."""
        filters = {name: request.args[name] for name in LIST_FILTERS if name in request.args}
        return jsonify({"documents": store.list(**filters)})

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
