"""The Tarifer stand-in's e-mail collector: what it takes, what it refuses, and how it deduplicates."""

from __future__ import annotations

import io
import json
import zipfile
from email.message import EmailMessage

import pytest

from sandbox.mail import MailRefused
from sandbox.tarifer import create_app
from tests.unit.test_tarifer import CALL_DETAILS_XML, HTML, TOKEN, auth, make_pdf, upload

FIELDS = (
    "operator: MTS\nlogin: 9892330135\naccount: 277300018417\nkind: call_details\n"
    "period_from: 2026-01-01\nperiod_to: 2026-01-31\nnumbers: 79892330135,79613456895\n"
)


def mail(*attachments: tuple[str, bytes], text: str = FIELDS, message_id: str = "<m.1@corp.example>") -> bytes:
    """A mail to the collector with ``text`` (the document's facts) and ``attachments``."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "robot@corp.example", "tarifer@sandbox.test", "MTS: документ"
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("Здравствуйте!\n\n" + text)
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return bytes(message)


@pytest.fixture
def app(tmp_path):
    return create_app(tmp_path / "tarifer", TOKEN, collector_max_bytes=200_000)


def collect(app, content: bytes) -> None:
    app.extensions["tarifer_collector"](content, "robot@corp.example", "tarifer@sandbox.test")


def listed(app, what: str = "documents") -> list[dict]:
    return app.test_client().get(f"/api/v1/{what}", headers=auth()).get_json()[what]


def refusal(app, content: bytes) -> str:
    with pytest.raises(MailRefused) as refused:
        collect(app, content)
    return refused.value.reply


def test_a_mail_s_attachment_is_listed_like_an_upload_with_channel_email(app):
    collect(app, mail(("details.xml", CALL_DETAILS_XML)))
    (record,) = listed(app)
    assert record["channel"] == "email" and record["message_id"] == "<m.1@corp.example>"
    assert (record["account"], record["kind"], record["format"], record["filename"]) == (
        "277300018417", "call_details", "xml", "details.xml"
    )
    assert record["numbers"] == ["79892330135", "79613456895"] and record["operator"] == "MTS"
    (journal,) = listed(app, "mails")
    assert journal["documents"] == [record["id"]] and journal["duplicate"] is None
    assert journal["subject"] == "MTS: документ" and journal["from"] == "robot@corp.example"


def test_the_same_message_id_or_the_same_file_is_kept_once(app):
    pdf = make_pdf("dedupe")
    assert upload(app.test_client(), pdf).status_code == 201
    collect(app, mail(("invoice.pdf", pdf), message_id="<m.2@corp.example>"))
    collect(app, mail(("page.html", HTML), message_id="<m.3@corp.example>"))
    collect(app, mail(("page.html", HTML), message_id="<m.3@corp.example>"))
    records = listed(app)
    assert [record["channel"] for record in records] == ["api", "email"], "the API's copy stays the API's"
    assert [mail["duplicate"] for mail in listed(app, "mails")] == ["sha256", None, "message_id"]


def test_a_zip_is_unpacked_and_each_document_checked(app):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../etc/details.html", HTML)
    collect(app, mail(("details.html.zip", packed.getvalue())))
    (record,) = listed(app)
    assert (record["filename"], record["format"]) == ("details.html", "html")


@pytest.mark.parametrize(
    ("content", "reply"),
    [
        (mail(("details.xml", CALL_DETAILS_XML), text="account: 277300018417\n"), "550 5.6.0 the mail does not say"),
        (mail(text=FIELDS), "550 5.6.0 the mail carries no attachment"),
        (mail(("details.pdf", CALL_DETAILS_XML)), "554 5.6.0 the file 'details.pdf' has the extension .pdf"),
        (mail(("notes.txt", b"just some text")), "554 5.6.0 the file 'notes.txt' is not a PDF, XML or HTML"),
        (mail(("details.zip", b"PK\x03\x04 broken")), "554 5.6.0 the attachment 'details.zip' is not a readable ZIP"),
        (mail(("big.xml", b"<a>" + b"x" * 300_000 + b"</a>")), "552 5.3.4 the mail is"),
    ],
    ids=["no-metadata", "no-attachment", "wrong-extension", "not-a-document", "broken-zip", "too-large"],
)
def test_what_the_collector_refuses_it_says_in_the_smtp_answer(app, content, reply):
    assert refusal(app, content).startswith(reply)
    assert listed(app) == [] and listed(app, "mails") == []


def test_an_outage_answers_451_and_the_journal_survives_a_restart(app, tmp_path):
    app.config["OUTAGE"] = True
    assert refusal(app, mail(("details.xml", CALL_DETAILS_XML))).startswith("451 4.3.2")
    app.config["OUTAGE"] = False
    collect(app, mail(("details.xml", CALL_DETAILS_XML)))
    restarted = create_app(tmp_path / "tarifer", TOKEN)
    assert listed(restarted) == listed(app) and len(listed(restarted, "mails")) == 1
    collect(restarted, mail(("details.xml", CALL_DETAILS_XML)))
    assert listed(restarted, "mails")[-1]["duplicate"] == "message_id"


def test_an_index_of_before_the_collector_is_read_as_api_uploads(tmp_path):
    folder = tmp_path / "tarifer"
    folder.mkdir()
    record = {"id": "doc-1", "sha256": "0" * 64, "format": "pdf", "account": "277300018417"}
    (folder / "index.json").write_text(json.dumps({"documents": [record]}), encoding="utf-8")
    (listed_record,) = listed(create_app(folder, TOKEN))
    assert listed_record["channel"] == "api"
