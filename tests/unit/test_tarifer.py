"""Tests of the Tarifer stand-in: its upload contract, storage and refusals."""

from __future__ import annotations

import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from fpdf import FPDF

from sandbox.http import ServerThread
from sandbox.tarifer import create_app, detect_format

TOKEN = "test-token-7f3a"
DOCUMENTS = "/api/v1/documents"
METADATA = {
    "operator": "MTS",
    "account": "277300018417",
    "kind": "invoice",
    "period_from": "2026-01-01",
    "period_to": "2026-01-31",
    "numbers": "79892330135, 79613456895",
    "login": "9892330135",
}
CALL_DETAILS_XML = """<?xml version="1.0" encoding="utf-8"?>
<Report layerType="OldCompatible" version="2">
 <b sd="01.01.2026" ed="31.01.2026"/>
 <ds n="79892330135" sim="89701130086043068682" t="37,8815" f="44,7000" cn="руб.">
  <i d="06.01.2026 8:28:49" n="79613456895" s="Телеф." du="0:18" c="0" f="0"/>
 </ds>
</Report>
""".encode()
HTML = b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>x</body></html>"
XML_WITH_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Report [<!ENTITY lol "lol">]>
<Report>&lol;</Report>
"""


def make_pdf(text: str = "x") -> bytes:
    """Return a real one-page PDF showing ``text``."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica")
    pdf.cell(text=text)
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    """A small valid PDF shared by the tests."""
    return make_pdf()


@pytest.fixture
def data_dir(tmp_path):
    """The directory the stand-in stores into."""
    return tmp_path / "tarifer"


@pytest.fixture
def app(data_dir):
    """A Tarifer stand-in on a fresh directory."""
    return create_app(data_dir, TOKEN)


@pytest.fixture
def client(app):
    """A Flask test client for the stand-in."""
    return app.test_client()


def auth(token: str = TOKEN) -> dict[str, str]:
    """Return the Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def upload(client, content: bytes, filename: str = "invoice.pdf", headers=None, **fields):
    """POST ``content`` as ``filename`` with METADATA updated by ``fields``.

    A field given as None is left out of the form.
    """
    form = {name: value for name, value in {**METADATA, **fields}.items() if value is not None}
    form["file"] = (io.BytesIO(content), filename)
    return client.post(
        DOCUMENTS,
        data=form,
        headers=auth() if headers is None else headers,
        content_type="multipart/form-data",
    )


def listed(client, **filters) -> list[dict]:
    """Return the documents the stand-in lists for ``filters``."""
    response = client.get(DOCUMENTS, query_string=filters, headers=auth())
    assert response.status_code == 200
    return response.get_json()["documents"]


def assert_error(response, status: int, code: str, *message_parts: str) -> dict:
    """Check an error answer's status, code and message; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    for part in message_parts:
        assert part in body["message"]
    return body


# --- detect_format ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (CALL_DETAILS_XML, "xml"),
        (HTML, "html"),
        (b"<HTML><BODY>\xd1\x81\xd1\x87\xd1\x91\xd1\x82</BODY></HTML>", "html"),
        (b"just some text", None),
        (b"", None),
        (b"%PDF-1.4\ngarbage", None),
        (XML_WITH_DTD, None),
        (b"<Report><ds></Report>", None),
        (b"<html>\xff\xfe\xfa not decodable", None),
    ],
)
def test_detect_format_sniffs_content(content, expected):
    """Only the bytes decide the format; broken or unsafe content gives None."""
    assert detect_format(content) == expected


def test_detect_format_accepts_real_pdf_and_refuses_truncated(pdf_bytes):
    """A real PDF is recognised, its first half is not."""
    assert detect_format(pdf_bytes) == "pdf"
    assert detect_format(pdf_bytes[: len(pdf_bytes) // 2]) is None


# --- health and authentication -------------------------------------------------


def test_health_needs_no_token(client):
    """Health answers without authentication."""
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    "headers",
    [{}, auth("wrong-token"), {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
def test_requests_without_the_token_are_refused(client, pdf_bytes, data_dir, headers):
    """Listing and uploading need the bearer token; nothing is stored without it."""
    assert_error(client.get(DOCUMENTS, headers=headers), 401, "unauthorized")
    assert_error(upload(client, pdf_bytes, headers=headers), 401, "unauthorized")
    assert not list((data_dir / "files").iterdir())


def test_create_app_refuses_an_empty_token(data_dir):
    """Running without a token would leave the API open."""
    with pytest.raises(ValueError):
        create_app(data_dir, "")


# --- upload, deduplication, persistence ---------------------------------------


def test_upload_stores_and_lists_the_document(client, pdf_bytes, data_dir):
    """A new document is answered 201 with its record, stored and listed."""
    response = upload(client, pdf_bytes)
    assert response.status_code == 201
    record = response.get_json()
    sha256 = hashlib.sha256(pdf_bytes).hexdigest()
    assert record["duplicate"] is False
    assert record["id"].startswith("doc-")
    assert record["sha256"] == sha256
    assert record["format"] == "pdf"
    assert record["size"] == len(pdf_bytes)
    assert record["received_at"].endswith("Z")
    assert record["filename"] == "invoice.pdf"
    assert record["numbers"] == ["79892330135", "79613456895"]
    for field in ("operator", "account", "kind", "period_from", "period_to", "login"):
        assert record[field] == METADATA[field]

    assert (data_dir / "files" / f"{sha256}.pdf").read_bytes() == pdf_bytes
    index = json.loads((data_dir / "index.json").read_text(encoding="utf-8"))
    assert [entry["id"] for entry in index["documents"]] == [record["id"]]

    stored = {key: value for key, value in record.items() if key != "duplicate"}
    assert listed(client) == [stored]
    single = client.get(f"{DOCUMENTS}/{record['id']}", headers=auth())
    assert single.status_code == 200
    assert single.get_json() == stored


def test_same_content_again_is_a_duplicate(client, pdf_bytes):
    """Identical bytes are answered 200 with the first id and stored once."""
    first = upload(client, pdf_bytes).get_json()
    again = upload(client, pdf_bytes, filename="renamed.pdf", kind="call_details")
    assert again.status_code == 200
    body = again.get_json()
    assert body["duplicate"] is True
    assert body["id"] == first["id"]
    assert body["sha256"] == first["sha256"]
    assert len(listed(client)) == 1


def test_documents_survive_a_restart(client, pdf_bytes, data_dir):
    """A new app on the same directory lists and deduplicates earlier uploads."""
    first = upload(client, pdf_bytes).get_json()
    restarted = create_app(data_dir, TOKEN).test_client()
    assert [record["id"] for record in listed(restarted)] == [first["id"]]
    again = upload(restarted, pdf_bytes)
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]


def test_listing_filters(client, pdf_bytes):
    """The listing filters by sha256, account and kind."""
    invoice = upload(client, pdf_bytes).get_json()
    details = upload(
        client, CALL_DETAILS_XML, filename="details.xml", kind="call_details",
        account="277300018418",
    ).get_json()
    assert [r["id"] for r in listed(client)] == [invoice["id"], details["id"]]
    assert [r["id"] for r in listed(client, kind="call_details")] == [details["id"]]
    assert [r["id"] for r in listed(client, account="277300018417")] == [invoice["id"]]
    assert [r["id"] for r in listed(client, sha256=invoice["sha256"])] == [invoice["id"]]
    assert listed(client, sha256="0" * 64) == []


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (make_pdf("content"), "invoice.pdf", "application/pdf"),
        (CALL_DETAILS_XML, "details.xml", "application/xml"),
        (HTML, "details.htm", "text/html"),
    ],
)
def test_content_download_returns_identical_bytes(client, content, filename, content_type):
    """Each format is stored and served back byte for byte with its type."""
    record = upload(client, content, filename=filename).get_json()
    response = client.get(f"{DOCUMENTS}/{record['id']}/content", headers=auth())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.data == content


def test_unknown_document_is_404(client):
    """An unknown id is answered 404 for the record and its content."""
    assert_error(client.get(f"{DOCUMENTS}/doc-missing", headers=auth()), 404, "not_found")
    assert_error(client.get(f"{DOCUMENTS}/doc-missing/content", headers=auth()), 404, "not_found")


# --- refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "code", "message_part"),
    [
        (b"plain text, not an invoice", "invoice.pdf", "unsupported_document",
         "is not a PDF, XML or HTML document"),
        (b"%PDF-1.4\nthis is no PDF at all", "invoice.pdf", "unsupported_document",
         "cannot be read"),
        (XML_WITH_DTD, "details.xml", "unsupported_document", "DOCTYPE"),
        (b"<Report><ds></Report>", "details.xml", "unsupported_document",
         "is not a PDF, XML or HTML document"),
        (make_pdf(), "details.xml", "format_mismatch", "content is a PDF document"),
        (CALL_DETAILS_XML, "details.html", "format_mismatch", "content is an XML document"),
        (CALL_DETAILS_XML, "details.txt", "format_mismatch", "content is an XML document"),
    ],
    ids=["text-as-pdf", "garbage-pdf", "xml-doctype", "malformed-xml", "pdf-as-xml",
         "xml-as-html", "xml-as-txt"],
)
def test_unacceptable_content_is_415(client, data_dir, content, filename, code, message_part):
    """Content sniffing, not the name, decides; nothing is stored on refusal."""
    assert_error(upload(client, content, filename=filename), 415, code, message_part)
    assert listed(client) == []
    assert not list((data_dir / "files").iterdir())


def test_truncated_pdf_is_415(client, pdf_bytes):
    """A PDF cut in half starts with %PDF- but is refused."""
    truncated = pdf_bytes[: len(pdf_bytes) // 2]
    assert_error(upload(client, truncated), 415, "unsupported_document", "cannot be read")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"operator": None}, "operator"),
        ({"account": None}, "account"),
        ({"account": "27730001841"}, "account"),
        ({"account": "27730001841a"}, "account"),
        ({"kind": "bill"}, "kind"),
        ({"period_from": None}, "period_from"),
        ({"period_from": "01.01.2026"}, "period_from"),
        ({"period_to": "2026-02-30"}, "period_to"),
        ({"period_from": "2026-02-01", "period_to": "2026-01-31"}, "period_to"),
        ({"numbers": "79892330135,7989233013"}, "numbers"),
        ({"numbers": "79892330135,"}, "numbers"),
    ],
)
def test_invalid_metadata_is_400_naming_the_field(client, pdf_bytes, fields, field):
    """Missing or malformed form fields are refused, naming the field."""
    body = assert_error(upload(client, pdf_bytes, **fields), 400, "invalid_metadata", field)
    assert body["field"] == field
    assert listed(client) == []


def test_optional_fields_may_be_left_out(client, pdf_bytes):
    """Without numbers and login the upload succeeds with empty values."""
    response = upload(client, pdf_bytes, numbers=None, login=None)
    assert response.status_code == 201
    assert response.get_json()["numbers"] == []
    assert response.get_json()["login"] is None


def test_empty_file_is_400(client):
    """An empty file is refused."""
    assert_error(upload(client, b""), 400, "invalid_upload", "empty")


def test_missing_file_is_400(client):
    """An upload without the file part is refused."""
    response = client.post(DOCUMENTS, data=dict(METADATA), headers=auth())
    assert_error(response, 400, "invalid_upload", "'file'")


def test_too_large_upload_is_413(data_dir, pdf_bytes):
    """A request over the configured limit is answered 413."""
    small = create_app(data_dir, TOKEN, max_upload_bytes=len(pdf_bytes) // 2).test_client()
    assert_error(upload(small, pdf_bytes), 413, "too_large")


def test_outage_answers_503_except_health(app, client, pdf_bytes):
    """With OUTAGE set every endpoint but health is unavailable."""
    app.config["OUTAGE"] = True
    assert_error(upload(client, pdf_bytes), 503, "unavailable")
    assert_error(client.get(DOCUMENTS, headers=auth()), 503, "unavailable")
    assert client.get("/api/v1/health").status_code == 200
    app.config["OUTAGE"] = False
    assert listed(client) == []


# --- over real HTTP -----------------------------------------------------------


def test_round_trip_over_http(app, pdf_bytes):
    """Upload, duplicate, list and download through a real HTTP server."""
    with ServerThread(app) as server:
        tarifer = requests.Session()
        tarifer.headers.update(auth())
        documents = f"{server.url}{DOCUMENTS}"

        def post() -> requests.Response:
            """Upload the PDF with the standard metadata."""
            files = {"file": ("счёт.pdf", pdf_bytes, "application/octet-stream")}
            return tarifer.post(documents, data=METADATA, files=files, timeout=10)

        created = post()
        assert created.status_code == 201
        record = created.json()
        assert record["filename"] == "счёт.pdf"

        duplicate = post()
        assert duplicate.status_code == 200
        assert duplicate.json()["id"] == record["id"]

        listing = tarifer.get(documents, timeout=10).json()["documents"]
        assert [r["id"] for r in listing] == [record["id"]]
        content = tarifer.get(f"{documents}/{record['id']}/content", timeout=10)
        assert content.headers["Content-Type"] == "application/pdf"
        assert content.content == pdf_bytes

        refused = requests.get(documents, headers=auth("wrong"), timeout=10)
        assert refused.status_code == 401
        assert refused.json()["error"] == "unauthorized"


def test_concurrent_uploads_of_the_same_bytes_store_one_document(app, data_dir, pdf_bytes):
    """Parallel uploads of one file give one 201, duplicates for the rest, one stored file."""
    with ServerThread(app) as server:

        def post(_index: int) -> requests.Response:
            """Upload the PDF once."""
            files = {"file": ("invoice.pdf", pdf_bytes)}
            return requests.post(
                f"{server.url}{DOCUMENTS}", data=METADATA, files=files, headers=auth(), timeout=10
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(post, range(8)))

    assert sorted(response.status_code for response in responses) == [200] * 7 + [201]
    assert len({response.json()["id"] for response in responses}) == 1
    assert len(list((data_dir / "files").iterdir())) == 1
