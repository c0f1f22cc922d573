"""TLS towards Tarifer, end to end with the final suite through the production path.

Tarifer here speaks HTTPS with its own self-signed certificate (the stand-in,
served by this module); the rest of the settings come from running stand-ins.
``TARIFER_CA_FILE`` decides which certificate verifies Tarifer, whatever
``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` say; a plain ``http://`` Tarifer
is refused before anything is sent.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from fpdf import FPDF
from werkzeug.serving import make_server

from libraries.ledger import FIELDS, document_key, write_json
from libraries.periods import last_closed_period, period_bounds
from sandbox.tarifer import create_app
from tests.acceptance.robot_runs import assert_no_secret_in, run_robot, summary_of
from tests.support import self_signed

SUITE = "robot/upload_to_tarifer.robot"
FIRST, LAST = (day.isoformat() for day in period_bounds(last_closed_period()))


@dataclass
class HttpsTarifer:
    """The Tarifer stand-in over HTTPS: its API URL, its certificate and an unrelated one."""

    url: str
    token: str
    certificate: Path
    unrelated: Path

    def listing(self) -> list[dict]:
        """What this Tarifer holds, asked with its own certificate."""
        response = requests.get(
            f"{self.url}/documents",
            headers={"Authorization": f"Bearer {self.token}"},
            verify=str(self.certificate),
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["documents"]


@contextmanager
def serving_https(app, cert: Path, key: Path):
    """Serve ``app`` over HTTPS on a free loopback port; yield the base URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def https_tarifer(running_sandbox, tmp_path_factory):
    """Tarifer over HTTPS, taking the sandbox's token, next to the running stand-ins."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(folder, "tarifer")
    unrelated, _ = self_signed(folder, "unrelated")
    token = running_sandbox.settings["TARIFER_TOKEN"]
    with serving_https(create_app(folder / "tarifer", token), cert, key) as base:
        yield HttpsTarifer(f"{base}/api/v1", token, cert, unrelated)


def received_document(results: Path, settings: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """Leave a checked, not yet uploaded invoice in a ledger state of its own, as a Tarifer outage would.

    Returns the document and the settings with ``LEDGER_STATE_FILE`` naming that state.
    """
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica")
    pdf.cell(text=f"invoice {uuid.uuid4()}")
    content = bytes(pdf.output())
    path = results / "documents" / "invoice.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    login, account = settings["MTS_LOGIN"], settings["MTS_ACCOUNTS"].split(",")[0]
    entry = dict.fromkeys(FIELDS)
    entry.update(login=login, account=account, kind="invoice", period_from=FIRST, period_to=LAST, format="pdf")
    entry.update(numbers=[], status="received", file=str(path), sha256=hashlib.sha256(content).hexdigest())
    state = results / "state" / "ledger-state.json"
    # the first version of the state: unfinished documents by key (later versions read it too)
    write_json(state, {document_key(login, account, "invoice", FIRST, LAST): entry})
    return entry, dict(settings, LEDGER_STATE_FILE=str(state))


def still_received(settings: dict[str, str], document: dict) -> bool:
    """Whether the ledger state still holds ``document`` as received, for a later run to upload."""
    state = json.loads(Path(settings["LEDGER_STATE_FILE"]).read_text(encoding="utf-8"))
    outstanding = state.get("outstanding", {}) if "version" in state else state
    return any(
        entry.get("sha256") == document["sha256"] and entry.get("status") == "received"
        for entry in outstanding.values()
    )


def test_tarifer_ca_file_wins_over_the_environments_ca_bundle(running_sandbox, https_tarifer, tmp_path):
    results = tmp_path / "results"
    document, settings = received_document(results, running_sandbox.settings)
    unrelated = str(https_tarifer.unrelated)
    settings = dict(
        settings,
        TARIFER_URL=https_tarifer.url,
        TARIFER_CA_FILE=str(https_tarifer.certificate),
        REQUESTS_CA_BUNDLE=unrelated,
        CURL_CA_BUNDLE=unrelated,
    )
    run = run_robot(results, settings, suite=SUITE)
    assert run.returncode == 0, run.output
    (entry,) = summary_of(run)["documents"]
    assert entry["status"] == "uploaded" and entry["tarifer_id"], entry
    held = {record["sha256"]: record["id"] for record in https_tarifer.listing()}
    assert held[document["sha256"]] == entry["tarifer_id"]
    assert_no_secret_in(results, settings)


def test_an_unrelated_tarifer_ca_file_fails_even_if_the_environment_names_the_right_one(
    running_sandbox, https_tarifer, tmp_path
):
    results = tmp_path / "results"
    document, settings = received_document(results, running_sandbox.settings)
    right = str(https_tarifer.certificate)
    settings = dict(
        settings,
        TARIFER_URL=https_tarifer.url,
        TARIFER_CA_FILE=str(https_tarifer.unrelated),
        REQUESTS_CA_BUNDLE=right,
        CURL_CA_BUNDLE=right,
    )
    run = run_robot(results, settings, suite=SUITE)
    assert run.returncode != 0
    (entry,) = summary_of(run)["documents"]
    assert entry["status"] == "failed" and "CERTIFICATE_VERIFY_FAILED" in entry["error"], entry
    assert "CERTIFICATE_VERIFY_FAILED" in run.output
    assert document["sha256"] not in {record["sha256"] for record in https_tarifer.listing()}
    assert still_received(settings, document), "a later run uploads it"


def test_without_tarifer_ca_file_the_operators_ca_bundle_is_the_system_store(running_sandbox, https_tarifer, tmp_path):
    results = tmp_path / "results"
    document, settings = received_document(results, running_sandbox.settings)
    settings = dict(
        settings,
        TARIFER_URL=https_tarifer.url,
        TARIFER_CA_FILE="",
        REQUESTS_CA_BUNDLE=str(https_tarifer.certificate),
    )
    run = run_robot(results, settings, suite=SUITE)
    assert run.returncode == 0, run.output
    (entry,) = summary_of(run)["documents"]
    assert entry["status"] == "uploaded"
    assert document["sha256"] in {record["sha256"] for record in https_tarifer.listing()}


def test_a_plain_http_tarifer_is_refused_before_anything_is_sent(running_sandbox, tmp_path):
    results = tmp_path / "results"
    document, settings = received_document(results, running_sandbox.settings)
    settings = dict(settings, TARIFER_URL="http://tarifer.invalid/api/v1")
    run = run_robot(results, settings, suite=SUITE)
    assert run.returncode != 0
    assert "TARIFER_URL must be an https:// URL: TLS is required towards Tarifer" in run.output, run.output
    assert "tarifer.invalid" in run.output
    for attempt in ("NameResolutionError", "Max retries exceeded", "ConnectionError", "Failed to resolve"):
        assert attempt not in run.output
    assert summary_of(run)["documents"] == [], "the upload did not even begin"
    assert still_received(settings, document)
