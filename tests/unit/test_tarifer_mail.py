"""Tarifer by e-mail: the settings, the mail of a document, zipping, the ledger's record and a real send.

The sending tests start the mail stand-in with the Tarifer stand-in's
collector behind ``tarifer@sandbox.test`` and send as the robot does: over
verified STARTTLS, logged in as the robot's mailbox.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import os
import shutil
import uuid
import zipfile

import pytest

from libraries.environment import read_settings
from libraries.ledger import Ledger
from libraries.summary_page import document_line, render_page
from libraries.tarifer_mail import (
    TariferMail,
    TariferMailFailed,
    base64_size,
    mail_of,
    message_id_for,
    tarifer_mail_settings,
)
from sandbox.mail import MailServer
from sandbox.tarifer import COLLECTOR_ADDRESS, create_app
from tests.support import pdf_bytes, smtp_through, world_traversable_folder
from variables import production

PERIOD = "2026-10"
ROBOT = "robot@sandbox.test"
TOKEN = "collector-test-token"
COMPLETE = {name: f"value-of-{name.lower()}" for name in production.REQUIRED}
EMAIL_ONLY = {
    **{name: value for name, value in COMPLETE.items() if name not in ("TARIFER_URL", "TARIFER_TOKEN")},
    "TARIFER_CHANNEL": "email",
    "TARIFER_EMAIL": "collector@tarifer.example",
    "SMTP_HOST": "smtp.corp.example",
    "SMTP_USER": "robot@corp.example",
    "SMTP_PASSWORD": "smtp-password",
}


def document_of(path, kind: str = "call_details", numbers=("79161234567", "79161234568"), **facts) -> dict:
    """A received document of ``path`` as the ledger gives it."""
    return {
        "login": "9161234567",
        "account": "277300018417",
        "kind": kind,
        "period_from": "2026-10-01",
        "period_to": "2026-10-31",
        "format": path.suffix.lstrip("."),
        "numbers": list(numbers),
        "status": "received",
        "file": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "tarifer_message_id": None,
        **facts,
    }


def parsed(mail) -> email.message.EmailMessage:
    return email.message_from_bytes(mail.data, policy=email.policy.default)


# --- settings -----------------------------------------------------------------------------


def test_the_api_stays_the_default_and_needs_no_e_mail_setting():
    settings = read_settings({name: value for name, value in COMPLETE.items() if name != "TARIFER_EMAIL"}, PERIOD)
    assert settings["TARIFER_CHANNEL"] == "api" and settings["TARIFER_MAX_MAIL_SIZE"] == 20_000_000


def test_by_e_mail_the_api_settings_are_not_needed_but_the_collector_and_smtp_are():
    settings = read_settings(EMAIL_ONLY, PERIOD)
    assert (settings["TARIFER_CHANNEL"], settings["TARIFER_EMAIL"]) == ("email", "collector@tarifer.example")
    assert settings["SMTP_FROM"] == "robot@corp.example" and settings["SMTP_PORT"] == 587
    without = {name: value for name, value in EMAIL_ONLY.items() if name != "TARIFER_EMAIL"}
    with pytest.raises(RuntimeError, match=r"TARIFER_EMAIL \(the address of Tarifer's e-mail collector") as failure:
        read_settings(without, PERIOD)
    assert "TARIFER_URL" not in str(failure.value) and "TARIFER_TOKEN" not in str(failure.value)
    with pytest.raises(RuntimeError, match="TARIFER_CHANNEL=email, so SMTP_HOST must name the SMTP server"):
        read_settings({**EMAIL_ONLY, "SMTP_HOST": ""}, PERIOD)
    with pytest.raises(RuntimeError, match="SMTP_TLS=none sends the mail and the password in the clear"):
        read_settings({**EMAIL_ONLY, "SMTP_TLS": "none"}, PERIOD)
    with pytest.raises(RuntimeError, match="SMTP_USER is set, so SMTP_PASSWORD must be set too"):
        read_settings({**EMAIL_ONLY, "SMTP_PASSWORD": ""}, PERIOD)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"TARIFER_CHANNEL": "fax"}, "TARIFER_CHANNEL must be one of api, email, not 'fax'"),
        ({"TARIFER_EMAIL": "tarifer"}, "TARIFER_EMAIL: 'tarifer' is not an e-mail address"),
        ({"TARIFER_EMAIL": "a@b.example, c@d.example"}, "TARIFER_EMAIL must be the one address"),
        ({"TARIFER_MAX_MAIL_SIZE": "20 MB"}, "TARIFER_MAX_MAIL_SIZE must be a whole number"),
        ({"TARIFER_MAX_MAIL_SIZE": "100"}, "TARIFER_MAX_MAIL_SIZE must be at least"),
    ],
)
def test_wrong_channel_settings_are_named(changes, message):
    with pytest.raises(RuntimeError, match=message):
        read_settings({**EMAIL_ONLY, **changes}, PERIOD)


def test_the_channel_is_read_in_any_case_and_settings_apply_twice():
    once = tarifer_mail_settings({**EMAIL_ONLY, "TARIFER_CHANNEL": " EMAIL "})
    assert once["TARIFER_CHANNEL"] == "email"
    assert tarifer_mail_settings({**EMAIL_ONLY, **once}) == once


# --- the mail -----------------------------------------------------------------------------


@pytest.fixture
def details(tmp_path):
    path = tmp_path / "call_details_277300018417_2026-10-01_2026-10-31_5.pdf"
    path.write_bytes(pdf_bytes("Детализация разговоров", "79161234567", "79161234568"))
    return path


def test_one_mail_names_the_operator_login_account_document_period_and_numbers(details):
    settings = read_settings(EMAIL_ONLY, PERIOD)
    document = document_of(details)
    mail = mail_of(document, settings)
    message = parsed(mail)
    assert message["Subject"] == (
        "MTS: детализация разговоров, лицевой счёт 277300018417, 01.10.2026–31.10.2026, логин 9161234567, "
        "номера +79161234567, +79161234568"
    )
    assert (message["From"], message["To"]) == ("robot@corp.example", "collector@tarifer.example")
    assert message["Message-ID"] == mail.message_id and mail.message_id.endswith("@corp.example>")
    text = message.get_body(("plain",)).get_content()
    for line in (
        "Оператор: MTS",
        "Логин: 9161234567",
        "Лицевой счёт: 277300018417",
        "Документ: Детализация разговоров",
        "Период: 01.10.2026–31.10.2026",
        "Номера: +79161234567, +79161234568",
        "account: 277300018417",
        "kind: call_details",
        "period_from: 2026-10-01",
        "numbers: 79161234567,79161234568",
        f"sha256: {document['sha256']}",
    ):
        assert line in text.splitlines(), line
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == details.name and attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == details.read_bytes()
    assert "%PDF" not in repr(mail) and repr(mail) == f"<mail to Tarifer {mail.message_id}: {details.name}, " + (
        f"{mail.size} bytes>"
    )


def test_many_numbers_are_counted_in_the_subject_and_an_invoice_names_none(details):
    settings = read_settings(EMAIL_ONLY, PERIOD)
    numbers = [f"7916123456{digit}" for digit in range(5)]
    subject = parsed(mail_of(document_of(details, numbers=numbers), settings))["Subject"]
    assert subject.endswith("логин 9161234567, 5 номеров: +79161234560 … +79161234564")
    invoice = parsed(mail_of(document_of(details, kind="invoice", numbers=()), settings))
    assert invoice["Subject"] == "MTS: счёт, лицевой счёт 277300018417, 01.10.2026–31.10.2026, логин 9161234567"
    assert "Номера: весь лицевой счёт" in invoice.get_body(("plain",)).get_content()


def test_the_message_id_is_the_recorded_one_or_made_from_the_document_and_its_file(details, tmp_path):
    document = document_of(details)
    made = message_id_for(document, "robot@corp.example")
    assert made == message_id_for(dict(document), "Robot <robot@corp.example>"), "the same document, the same id"
    assert made != message_id_for({**document, "sha256": "0" * 64}, "robot@corp.example"), "another file"
    assert made != message_id_for({**document, "account": "277300018418"}, "robot@corp.example")
    assert message_id_for({**document, "tarifer_message_id": "<earlier@x.example>"}, "a@b.example") == (
        "<earlier@x.example>"
    )


def test_a_file_changed_since_it_was_checked_is_not_mailed(details):
    document = document_of(details)
    details.write_bytes(details.read_bytes() + b"\n% changed")
    with pytest.raises(AssertionError, match="changed since it was received and checked"):
        mail_of(document, read_settings(EMAIL_ONLY, PERIOD))


def test_a_document_too_large_for_the_collector_goes_zipped(tmp_path):
    path = tmp_path / "call_details_277300018417_2026-10-01_2026-10-31_5.html"
    row = "<tr><td>06.10.2026 08:28:49</td><td>79613456895</td><td>Телеф.</td><td>0:18</td></tr>\n"
    path.write_text("<!DOCTYPE html><html><body><table>\n" + row * 3000 + "</table></body></html>", "utf-8")
    size = path.stat().st_size
    settings = read_settings({**EMAIL_ONLY, "TARIFER_MAX_MAIL_SIZE": str(base64_size(size) // 2)}, PERIOD)
    mail = mail_of(document_of(path), settings)
    assert mail.zipped and mail.attachment == f"{path.name}.zip" and mail.size <= settings["TARIFER_MAX_MAIL_SIZE"]
    (attachment,) = parsed(mail).iter_attachments()
    assert attachment.get_content_type() == "application/zip"
    with zipfile.ZipFile(io.BytesIO(attachment.get_content())) as archive:
        assert archive.namelist() == [path.name] and archive.read(path.name) == path.read_bytes()
    assert f"в архиве ZIP файл {path.name}" in parsed(mail).get_body(("plain",)).get_content()


def test_a_document_too_large_even_zipped_fails_with_the_sizes(tmp_path):
    path = tmp_path / "call_details_277300018417_2026-10-01_2026-10-31_5.xml"
    path.write_bytes(b"<Report>" + os.urandom(60_000).hex().encode() + b"</Report>")
    settings = read_settings({**EMAIL_ONLY, "TARIFER_MAX_MAIL_SIZE": "20000"}, PERIOD)
    with pytest.raises(TariferMailFailed) as failure:
        mail_of(document_of(path), settings)
    message = str(failure.value)
    assert f"{path.name} is too large for Tarifer's e-mail collector: {path.stat().st_size} bytes, zipped" in message
    assert "TARIFER_MAX_MAIL_SIZE=20000" in message


# --- the ledger's record -------------------------------------------------------------------


def received(tmp_path, details) -> tuple[Ledger, str]:
    ledger = Ledger()
    ledger.start_ledger("SANDBOX", PERIOD, str(tmp_path), str(tmp_path / "state" / "ledger-state.json"))
    document = document_of(details)
    key = ledger.add_document("9161234567", "277300018417", "call_details", "2026-10-01", "2026-10-31", "pdf",
                              document["numbers"])
    ledger.mark_document(key, "received", file=str(details), sha256=document["sha256"], message_id="<op@mts.ru>")
    return ledger, key


def state_of(tmp_path) -> dict:
    return json.loads((tmp_path / "state" / "ledger-state.json").read_text(encoding="utf-8"))


def test_the_message_id_is_on_disk_before_the_mail_goes_and_a_later_run_sends_the_same(tmp_path, details):
    ledger, key = received(tmp_path, details)
    ledger.record_the_mail_to_tarifer(key, "<tarifer.1@corp.example>")
    state = state_of(tmp_path)
    waiting = state["outstanding"][key]
    assert waiting["status"] == "received" and waiting["channel"] == "email"
    assert waiting["tarifer_message_id"] == "<tarifer.1@corp.example>"
    assert state["tarifer_mail"]["<tarifer.1@corp.example>"]["sent_at"] is None
    ledger.finish_ledger()  # the run dies: whether the mail went is unknown

    later = Ledger()
    later.start_ledger("SANDBOX", PERIOD, str(tmp_path), str(tmp_path / "state" / "ledger-state.json"))
    (adopted,) = later.adopt_unfinished_documents()
    assert later.document(adopted)["tarifer_message_id"] == "<tarifer.1@corp.example>"
    assert message_id_for(later.document(adopted), "other@else.example") == "<tarifer.1@corp.example>"
    assert later.sent_mail_to_tarifer("9161234567", "277300018417", "call_details", "2026-10-01", "2026-10-31",
                                      ["79161234568", "79161234567"]) is None, "decided is not sent"
    later.record_the_mail_to_tarifer_sent(adopted)
    entry = later.document(adopted)
    assert (entry["status"], entry["channel"], entry["tarifer_id"]) == ("uploaded", "email", None)
    state = state_of(tmp_path)
    assert not state["outstanding"] and state["tarifer_mail"]["<tarifer.1@corp.example>"]["sent_at"]
    later.finish_ledger()


def test_a_document_whose_mail_was_sent_is_skipped_on_the_ledger_s_word(tmp_path, details):
    ledger, key = received(tmp_path, details)
    sha256 = ledger.document(key)["sha256"]
    ledger.record_the_mail_to_tarifer(key, "<tarifer.2@corp.example>")
    ledger.record_the_mail_to_tarifer_sent(key)
    ledger.finish_ledger()

    rerun = Ledger()
    rerun.start_ledger("SANDBOX", PERIOD, str(tmp_path / "rerun"), str(tmp_path / "state" / "ledger-state.json"))
    again = rerun.add_document("9161234567", "277300018417", "call_details", "2026-10-01", "2026-10-31", "pdf",
                               ["79161234567", "79161234568"])
    assert rerun.document_status(again) == "", "nothing outstanding: the ledger alone knows it was sent"
    record = rerun.sent_mail_to_tarifer("9161234567", "277300018417", "call_details", "2026-10-01", "2026-10-31",
                                        ["79161234567", "79161234568"])
    assert record == {"id": None, "sha256": sha256, "channel": "email",
                      "tarifer_message_id": "<tarifer.2@corp.example>", "sent_at": record["sent_at"]}
    rerun.mark_document(again, "skipped", tarifer_id=record["id"], sha256=record["sha256"])
    entry = rerun.document(again)
    assert (entry["status"], entry["channel"], entry["tarifer_message_id"]) == (
        "skipped", "email", "<tarifer.2@corp.example>"
    )
    summary = json.loads((tmp_path / "rerun" / "summary.json").read_text(encoding="utf-8"))
    (shown,) = summary["documents"]
    assert shown["channel"] == "email" and shown["status"] == "skipped"
    rerun.finish_ledger()
    assert "уже был отправлен в Tarifer по e-mail" in render_page(summary)


def test_plan_mode_records_no_mail(tmp_path, details):
    ledger = Ledger()
    ledger.start_ledger("SANDBOX", PERIOD, str(tmp_path), str(tmp_path / "state.json"), plan=True)
    key = ledger.add_document("9161234567", "277300018417", "invoice", "2026-10-01", "2026-10-31")
    with pytest.raises(ValueError, match="Plan mode uploads nothing"):
        ledger.record_the_mail_to_tarifer(key, "<x@y.example>")
    ledger.finish_ledger()


def test_the_summary_says_by_which_channel_each_document_went():
    base = {"login": "9161234567", "account": "277300018417", "kind": "invoice", "period_from": "2026-10-01",
            "period_to": "2026-10-31", "numbers": [], "tarifer_id": None, "amount": None}
    mailed = {**base, "status": "uploaded", "channel": "email", "tarifer_message_id": "<t.1@corp.example>"}
    uploaded = {**base, "account": "277300018418", "status": "uploaded", "channel": "api", "tarifer_id": "doc-1"}
    cut_short = {**base, "account": "277300018419", "status": "received", "channel": "email",
                 "tarifer_message_id": "<t.3@corp.example>"}
    page = render_page({"environment": "SANDBOX", "period": PERIOD, "documents": [mailed, uploaded, cut_short]})
    assert "отправлен в Tarifer по e-mail" in page and "загружен в Tarifer через API" in page
    assert "следующий запуск отправит его снова" in page
    assert document_line(mailed).endswith("uploaded, Message-ID <t.1@corp.example> (by e-mail)")
    assert document_line(uploaded).endswith("uploaded, Tarifer id doc-1 (by API)")


# --- a real send through the sandbox's receiver to the Tarifer stand-in's collector ---------------


@pytest.fixture(scope="module")
def collector():
    """The mail stand-in with the robot's mailbox and, behind tarifer@sandbox.test, Tarifer's collector."""
    folder = world_traversable_folder()
    tarifer = create_app(folder / "tarifer", TOKEN)
    users = {ROBOT: "robot-" + uuid.uuid4().hex}
    collectors = {COLLECTOR_ADDRESS: tarifer.extensions["tarifer_collector"]}
    with MailServer(folder / "mail", users, collectors=collectors) as server:
        yield server, tarifer
    shutil.rmtree(folder)


def sandbox_settings(server, **changes) -> dict:
    environ = {
        **EMAIL_ONLY,
        "REPORT_EMAIL": ROBOT,
        "TARIFER_EMAIL": COLLECTOR_ADDRESS,
        **smtp_through(server, ROBOT),
    }
    return read_settings({**environ, **changes}, PERIOD)


def held(tarifer, path: str = "/api/v1/documents") -> list[dict]:
    response = tarifer.test_client().get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.get_json()["mails" if path.endswith("mails") else "documents"]


def test_the_collector_takes_the_mail_once_whatever_the_number_of_sends(collector, tmp_path):
    server, tarifer = collector
    path = tmp_path / "invoice_277300018417_2026-10_7.pdf"
    path.write_bytes(pdf_bytes("Счёт", uuid.uuid4().hex))
    document = document_of(path, kind="invoice", numbers=())
    settings = sandbox_settings(server)
    mail = mail_of(document, settings)
    library = TariferMail()
    try:
        library.send_the_mail_to_tarifer(mail, settings)
        library.send_the_mail_to_tarifer(mail, settings)  # a run killed before recording it sends it again
    finally:
        library.close_the_connection_to_tarifer_mail()
    (record,) = [record for record in held(tarifer) if record["sha256"] == document["sha256"]]
    assert record["channel"] == "email" and record["message_id"] == mail.message_id
    assert (record["account"], record["kind"], record["login"], record["operator"]) == (
        "277300018417", "invoice", "9161234567", "MTS"
    )
    journal = [entry for entry in held(tarifer, "/api/v1/mails") if entry["message_id"] == mail.message_id]
    assert [entry["duplicate"] for entry in journal] == [None, "message_id"]


def test_a_zipped_document_is_unpacked_by_the_collector(collector, tmp_path):
    server, tarifer = collector
    path = tmp_path / "call_details_277300018417_2026-10-01_2026-10-31_8.html"
    rows = "".join(f"<tr><td>{number}</td><td>79161234567</td><td>Телеф.</td></tr>\n" for number in range(3000))
    path.write_text(f"<!DOCTYPE html><html><body><table>{rows}</table></body></html>", "utf-8")
    limit = base64_size(path.stat().st_size) // 2
    settings = sandbox_settings(server, TARIFER_MAX_MAIL_SIZE=str(limit))
    mail = mail_of(document_of(path), settings)
    assert mail.zipped
    library = TariferMail()
    library.send_the_mail_to_tarifer(mail, settings)
    library.close_the_connection_to_tarifer_mail()
    (record,) = [record for record in held(tarifer) if record["message_id"] == mail.message_id]
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and record["format"] == "html"
    assert record["filename"] == path.name and record["numbers"] == ["79161234567", "79161234568"]


def test_what_the_collector_refuses_fails_with_its_reason(collector, tmp_path):
    server, tarifer = collector
    path = tmp_path / "invoice_277300018417_2026-10_9.pdf"
    path.write_bytes(b"%PDF-1.4 not really a pdf " + uuid.uuid4().hex.encode())
    settings = sandbox_settings(server)
    with pytest.raises(TariferMailFailed) as failure:
        TariferMail().send_the_mail_to_tarifer(mail_of(document_of(path, kind="invoice"), settings), settings)
    message = str(failure.value)
    assert "was not sent to Tarifer (tarifer@sandbox.test)" in message and "554" in message
    assert "starts like a PDF but cannot be read" in message and "same Message-ID" in message


def test_a_collector_outage_and_a_wrong_password_fail_clearly(collector, tmp_path):
    server, tarifer = collector
    path = tmp_path / "invoice_277300018417_2026-10_10.pdf"
    path.write_bytes(pdf_bytes("Счёт", uuid.uuid4().hex))
    settings = sandbox_settings(server)
    mail = mail_of(document_of(path, kind="invoice"), settings)
    tarifer.config["OUTAGE"] = True
    try:
        with pytest.raises(TariferMailFailed, match="451 4.3.2 Tarifer is temporarily unavailable"):
            TariferMail().send_the_mail_to_tarifer(mail, settings)
    finally:
        tarifer.config["OUTAGE"] = False
    wrong = sandbox_settings(server, SMTP_PASSWORD="wrong-" + uuid.uuid4().hex)
    with pytest.raises(TariferMailFailed) as failure:
        TariferMail().send_the_mail_to_tarifer(mail, wrong)
    assert "refused the login of robot@sandbox.test" in str(failure.value)
    assert str(wrong["SMTP_PASSWORD"].value) not in str(failure.value)
    assert not [record for record in held(tarifer) if record["message_id"] == mail.message_id]


def test_a_kept_connection_the_server_dropped_is_replaced(collector, tmp_path):
    server, tarifer = collector
    settings = sandbox_settings(server)
    library = TariferMail()
    mails = []
    for number in (11, 12):
        path = tmp_path / f"invoice_277300018417_2026-10_{number}.pdf"
        path.write_bytes(pdf_bytes("Счёт", uuid.uuid4().hex))
        mails.append(mail_of(document_of(path, kind="invoice", numbers=()), settings))
    try:
        library.send_the_mail_to_tarifer(mails[0], settings)
        library._smtp.sock.close()  # the server (or the network) ends the kept connection
        library.send_the_mail_to_tarifer(mails[1], settings)
    finally:
        library.close_the_connection_to_tarifer_mail()
    sent = {record["message_id"] for record in held(tarifer)}
    assert {mail.message_id for mail in mails} <= sent
