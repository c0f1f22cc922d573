"""The Tarifer helpers: a token that never shows, TLS required and pinned, the listing look-up, the upload form."""

import hashlib
import ssl
import threading

import certifi
import pytest
import requests
from RequestsLibrary import RequestsLibrary
from werkzeug.serving import make_server

from libraries.tarifer import (
    MASK,
    BearerAuth,
    Tarifer,
    matching_document,
    pin_verification,
    require_tls,
    upload_body,
)
from sandbox.http import ServerThread
from sandbox.tarifer import create_app
from tests.support import self_signed

URL = "https://tarifer.example/api/v1/documents"


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


def test_the_upload_body_streams_the_file_and_refuses_one_changed_since_its_check(tmp_path):
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
    body, headers = upload_body(document)
    sent = body.read()
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="operator"\r\n\r\nMTS' in sent and b'name="numbers"' not in sent
    assert b'filename="invoice.pdf"' in sent and b"%PDF-1.4 original" in sent
    assert body.closed and "invoice.pdf" in repr(body) and b"original" not in repr(body).encode()
    path.write_bytes(b"%PDF-1.4 tampered")
    with pytest.raises(AssertionError, match="changed since it was received"):
        upload_body(document)


@pytest.mark.parametrize(
    "url",
    [
        "https://tarifer.example/api/v1",
        "HTTPS://tarifer.example:8443/api/v1",
        "https://10.0.0.5/api/v1",
        "http://127.0.0.1:5000/api/v1",
        "http://127.4.5.6/api/v1",
        "http://localhost:8080/api/v1",
        "http://LocalHost/api/v1",
        "http://[::1]:8080/api/v1",
    ],
)
def test_tls_or_loopback_is_accepted(url):
    assert require_tls(url) == url
    Tarifer().tarifer_url_should_use_tls(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://tarifer.example/api/v1",
        "http://10.0.0.5/api/v1",
        "http://127.0.0.1.evil.example/api/v1",
        "http://localhost.evil.example/api/v1",
        "http://127.0.0.1@evil.example/api/v1",
        "http://user:pw@evil.example/api/v1",
        "http://evil.example#@127.0.0.1/",
        "http://127.0.0.1\\@evil.example/api/v1",
        "http://[::ffff:10.0.0.5]/api/v1",
        "http:///api/v1",
        "ftp://127.0.0.1/api/v1",
        "tarifer.example/api/v1",
        "",
        "http://127.0.0.1:port/api/v1",
    ],
)
def test_anything_but_tls_or_plain_http_to_this_machine_is_refused(url):
    with pytest.raises(ValueError, match=r"^TARIFER_URL must be an https:// URL: TLS is required"):
        require_tls(url)


def test_the_refusal_names_the_host_but_never_credentials():
    with pytest.raises(ValueError) as refused:
        require_tls("http://robot:s3cret@tarifer.example/api/v1")
    assert "tarifer.example" in str(refused.value) and "s3cret" not in str(refused.value)
    with pytest.raises(ValueError) as refused:
        require_tls("http://robot:s3cret@tarifer.example:port/api/v1")
    assert "s3cret" not in str(refused.value)


@pytest.fixture
def ca_files(tmp_path):
    """Two unrelated self-signed certificates for 127.0.0.1: Tarifer's and another one."""
    return {name: self_signed(tmp_path, name) for name in ("tarifer", "unrelated")}


@pytest.fixture
def ca_environment(monkeypatch, ca_files):
    """The environment names the unrelated certificate as every tool's CA bundle, and a proxy."""
    unrelated = str(ca_files["unrelated"][0])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", unrelated)
    monkeypatch.setenv("CURL_CA_BUNDLE", unrelated)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "intranet.example")
    return unrelated


def test_a_set_ca_file_wins_over_the_environment_and_proxies_stay(ca_files, ca_environment):
    tarifer_ca = str(ca_files["tarifer"][0].resolve())
    session = pin_verification(requests.Session(), tarifer_ca)
    assert session.trust_env
    merged = session.merge_environment_settings(URL, {}, None, None, None)
    assert merged["verify"] == tarifer_ca
    assert merged["proxies"]["https"] == "http://proxy.example:3128"
    assert session.merge_environment_settings(URL, {}, None, True, None)["verify"] == tarifer_ca
    no_proxy = session.merge_environment_settings("https://intranet.example/", {}, None, None, None)
    assert "https" not in no_proxy["proxies"] and no_proxy["verify"] == tarifer_ca
    # a verify given to one request on purpose is that request's own
    assert session.merge_environment_settings(URL, {}, None, ca_environment, None)["verify"] == ca_environment


def test_an_empty_ca_file_means_the_system_store_the_operator_named_or_certifi(monkeypatch, ca_environment):
    session = pin_verification(requests.Session(), "")
    assert session.merge_environment_settings(URL, {}, None, None, None)["verify"] == ca_environment
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE")
    assert session.merge_environment_settings(URL, {}, None, None, None)["verify"] is True


def test_a_missing_or_empty_ca_file_fails_naming_the_setting(tmp_path):
    with pytest.raises(ValueError, match="TARIFER_CA_FILE .* is not a file"):
        pin_verification(requests.Session(), str(tmp_path / "missing.pem"))
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n")
    with pytest.raises(ValueError, match="TARIFER_CA_FILE .* holds no usable PEM certificate"):
        pin_verification(requests.Session(), str(empty))


def test_the_keyword_pins_the_session_requests_library_keeps(ca_files, ca_environment):
    library = RequestsLibrary()
    created = library.create_custom_session("tarifer", "https://tarifer.example/api/v1", BearerAuth("t"), verify=True)
    Tarifer().pin_tarifer_certificates(created, str(ca_files["tarifer"][0]))
    session = library._cache.switch("tarifer")
    assert session is created
    verify = session.merge_environment_settings(URL, {}, None, None, None)["verify"]
    assert verify == str(ca_files["tarifer"][0].resolve())


@pytest.fixture
def https_tarifer(tmp_path, ca_files):
    """The Tarifer stand-in over HTTPS with its own self-signed certificate; yields its API URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*ca_files["tarifer"])
    server = make_server("127.0.0.1", 0, create_app(tmp_path / "tarifer", "s3cret-token"), ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/api/v1"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_a_pinned_session_reaches_tarifer_and_only_with_its_certificate(https_tarifer, ca_files, monkeypatch):
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with pin_verification(requests.Session(), str(ca_files["tarifer"][0])) as session:
        response = session.get(f"{https_tarifer}/documents", auth=BearerAuth("s3cret-token"), timeout=10)
        assert response.status_code == 200
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_files["tarifer"][0]))
    with pin_verification(requests.Session(), str(ca_files["unrelated"][0])) as session:
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            session.get(f"{https_tarifer}/documents", auth=BearerAuth("s3cret-token"), timeout=10)
