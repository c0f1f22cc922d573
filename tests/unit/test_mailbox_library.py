"""The robot's mailbox library against a real dovecot over verified TLS, with a real ledger."""

from __future__ import annotations

import imaplib
import io
import shutil
import ssl
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import certifi
import pytest
from robot.api.types import Secret

from libraries.ledger import Ledger
from libraries.mailbox import Mailbox, sender_allowed
from sandbox.mail import MailServer
from tests.support import pdf_bytes, send_mail, world_traversable_folder

USER = "robot@sandbox.test"
PASSWORD = uuid.uuid4().hex
OPERATOR = "Виртуальный менеджер МТС <vm-noreply@ihelper.mts.ru>"
SENDERS = ["@mts.ru"]
ACCOUNT, OTHER = "277300018417", "277300099999"
PERIOD = "Расчётный период: 01.10.2026 – 31.10.2026"
INVOICE = pdf_bytes("Счёт", f"Лицевой счёт: {ACCOUNT}", PERIOD)
OTHER_INVOICE = pdf_bytes("Счёт", f"Лицевой счёт: {OTHER}", PERIOD)
MB = 1 << 20


@pytest.fixture(scope="module")
def server():
    folder = world_traversable_folder()
    with MailServer(folder / "mail", {USER: PASSWORD}) as mail_server:
        yield mail_server
    shutil.rmtree(folder)


@pytest.fixture
def mailbox(server):
    library = Mailbox()
    library.open_mailbox(server.host, server.imap_port, USER, Secret(PASSWORD), str(server.ca_file))
    yield library
    library.close_mailbox()
    # every test starts from an empty inbox
    with imaplib.IMAP4_SSL(server.host, server.imap_port, ssl_context=context(server)) as imap:
        imap.login(USER, PASSWORD)
        if int(imap.select("INBOX")[1][0]):
            imap.store("1:*", "+FLAGS", "(\\Deleted)")
            imap.expunge()


@pytest.fixture
def ledger(tmp_path):
    books = Ledger()
    books.start_ledger("SANDBOX", "2026-10", str(tmp_path / "results"), str(tmp_path / "state" / "ledger.json"))
    yield books
    books.finish_ledger()


def context(server):
    return ssl.create_default_context(cafile=str(server.ca_file))


def order(ledger, account=ACCOUNT, order_id="12345678", at=None) -> str:
    """A document the robot has just ordered (intent first, as the robot does)."""
    key = ledger.add_document("9161234567", account, "invoice", "2026-10-01", "2026-10-31")
    ledger.mark_document(key, "ordering", **({"ordered_at": at} if at else {}))
    ledger.mark_document(key, "ordered", order_id=order_id)
    return key


def mail(server, subject, attachment=None, name="Счет.pdf", subtype="pdf", sender=OPERATOR, **headers) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = USER
    message["Subject"] = subject
    for header, value in headers.items():
        message[header.replace("_", "-")] = value
    message.set_content("Документ во вложении.")
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype=subtype, filename=name)
    send_mail(server.host, server.smtp_port, message)


def raw_mail(server, raw: bytes) -> None:
    with __import__("smtplib").SMTP(server.host, server.smtp_port, timeout=10) as smtp:
        smtp.sendmail("stranger@evil.test", [USER], raw)


def unseen(server) -> int:
    with imaplib.IMAP4_SSL(server.host, server.imap_port, ssl_context=context(server)) as imap:
        imap.login(USER, PASSWORD)
        imap.select("INBOX", readonly=True)
        return len(imap.search(None, "UNSEEN")[1][0].split())


def collect(mailbox, ledger, tmp_path, *wanted, timeout=20, max_size=200 * MB, senders=SENDERS):
    mailbox.collect(ledger, str(tmp_path / "results" / "documents"), list(wanted), senders, max_size, timeout, 0.2)


def reasons(ledger) -> list[str]:
    return [fact["reason"] for fact in ledger.summary()["ignored_mail"]]


def test_the_mail_naming_the_order_is_taken_and_only_it_is_marked_read(server, mailbox, ledger, tmp_path):
    key = order(ledger)
    mail(server, "Рассылка без вложения")
    mail(server, "Заказ № 555: чужой счёт", OTHER_INVOICE)
    mail(server, "Заказ № 12345678: Сформированные счета", INVOICE)
    collect(mailbox, ledger, tmp_path, key)
    entry = ledger.document(key)
    assert entry["status"] == "received" and entry["message_id"]
    assert Path(entry["file"]).read_bytes() == INVOICE
    assert Path(entry["file"]).name == "invoice_277300018417_2026-10_12345678.pdf"
    assert unseen(server) == 2
    assert reasons(ledger) == ["it names none of the outstanding orders"] * 2


def test_mail_in_reverse_order_of_the_orders_is_all_collected_in_one_pass(server, mailbox, ledger, tmp_path):
    first, second = order(ledger, ACCOUNT, "111"), order(ledger, OTHER, "222")
    mail(server, "Заказ № 222", OTHER_INVOICE)
    mail(server, "Заказ № 111", INVOICE)
    collect(mailbox, ledger, tmp_path, first, second, timeout=5)
    assert [ledger.document_status(key) for key in (first, second)] == ["received", "received"]


def test_content_decides_only_for_an_order_the_portal_never_confirmed(server, mailbox, ledger, tmp_path):
    confirmed = order(ledger, ACCOUNT, "999")
    mail(server, "Документ по заказу", INVOICE)
    collect(mailbox, ledger, tmp_path, confirmed, timeout=2)
    assert ledger.document_status(confirmed) == "failed" and "the next run goes on waiting" in ledger.document(
        confirmed
    )["error"]
    unconfirmed = order(ledger, OTHER, None)
    mail(server, "Документ по заказу", OTHER_INVOICE)
    collect(mailbox, ledger, tmp_path, unconfirmed)
    assert ledger.document_status(unconfirmed) == "received"


def test_a_zipped_document_is_unpacked_and_checked_inside_the_run_folder(server, mailbox, ledger, tmp_path):
    key = order(ledger, order_id="777")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../Счет.pdf", INVOICE)
    mail(server, "Заказ № 777: Сформированные счета", packed.getvalue(), name="Счет.pdf.zip", subtype="zip")
    collect(mailbox, ledger, tmp_path, key)
    assert Path(ledger.document(key)["file"]).read_bytes() == INVOICE
    written = sorted(str(path.relative_to(tmp_path / "results")) for path in (tmp_path / "results").rglob("*"))
    assert written == ["documents", "documents/invoice_277300018417_2026-10_777.pdf", "summary.json"]


def test_a_wrong_document_for_the_order_fails_it_for_ordering_again_and_stays_unread(server, mailbox, ledger, tmp_path):
    key = order(ledger, order_id="4242")
    mail(server, "Заказ № 4242: Сформированные счета", OTHER_INVOICE)
    collect(mailbox, ledger, tmp_path, key)
    entry = ledger.document(key)
    assert entry["status"] == "failed" and "does not name personal account 277300018417" in entry["error"]
    assert "ordered again on the next run" in entry["error"]
    assert key not in ledger.state["outstanding"]
    assert unseen(server) == 1


def test_strangers_and_early_mail_never_carry_a_document(server, mailbox, ledger, tmp_path):
    mail(server, "Счёт", INVOICE, sender="Бухгалтерия <billing@mts.ru.evil.test>")
    mail(server, "Заказ № 5150: Сформированные счета", INVOICE, sender="x@evil.test")
    key = order(ledger, order_id="5150", at=(datetime.now(UTC) + timedelta(seconds=5)).isoformat())
    mail(server, "Заказ № 5150: раньше заказа", INVOICE)
    collect(mailbox, ledger, tmp_path, key, timeout=1)
    assert ledger.document_status(key) == "failed"
    assert reasons(ledger) == [
        "the sender is not among MAIL_FROM (@mts.ru)",
        "the sender is not among MAIL_FROM (@mts.ru)",
        "it arrived before any outstanding document was ordered",
    ]
    assert unseen(server) == 3


def test_hostile_mail_is_one_mail_s_problem(server, mailbox, ledger, tmp_path):
    key = order(ledger, order_id="8080")
    raw_mail(
        server,
        b"From: vm-noreply@ihelper.mts.ru\r\nSubject: =?x-bogus?q?=C1=C2?=\r\nMessage-ID: <bogus@x>\r\n"
        b"Content-Type: text/plain; charset=x-bogus\r\n\r\n\xc1\xc2\xc3 8080\r\n",
    )
    for name in (".", "..", "/etc/passwd", "a\x00b.pdf", "..\\..\\x.pdf"):
        mail(server, "Заказ № 0: странное вложение", b"%PDF-1.4 not really", name=name)
    mail(server, "Заказ № 8080: Сформированные счета", INVOICE)
    collect(mailbox, ledger, tmp_path, key)
    assert ledger.document_status(key) == "received"
    assert not Path("/etc/passwd.pdf").exists()
    outside = [path for path in tmp_path.parent.iterdir() if path.name in (".", "..", "x.pdf", "passwd")]
    assert outside == []


def test_a_copy_of_a_taken_mail_is_left_alone(server, mailbox, ledger, tmp_path):
    key = order(ledger, order_id="6060")
    for _ in range(2):
        mail(server, "Заказ № 6060: Сформированные счета", INVOICE, Message_ID="<same@ihelper.mts.ru>")
    collect(mailbox, ledger, tmp_path, key)
    assert ledger.document_status(key) == "received"
    again = order(ledger, OTHER, "7070")
    collect(mailbox, ledger, tmp_path, again, timeout=1)
    assert "a copy of an e-mail whose document was already taken" in reasons(ledger)
    assert unseen(server) == 1


def test_a_mail_taken_by_a_killed_run_is_not_taken_again(server, mailbox, ledger, tmp_path):
    """Killed after recording ``received`` but before marking the mail read: the mail stays unread, nothing lost."""
    key = order(ledger, order_id="9090")
    mail(server, "Заказ № 9090: Сформированные счета", INVOICE)
    collect(mailbox, ledger, tmp_path, key)
    imap = mailbox.imap.imap_conn
    imap.select("INBOX")
    imap.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
    fresh = Mailbox()
    fresh.open_mailbox(server.host, server.imap_port, USER, Secret(PASSWORD), str(server.ca_file))
    try:
        other = order(ledger, OTHER, None)
        fresh.collect(ledger, str(tmp_path / "results" / "documents"), [other], SENDERS, 200 * MB, 1, 0.2)
    finally:
        fresh.close_mailbox()
    assert ledger.document_status(key) == "received" and ledger.document_status(other) == "failed"


def test_an_attachment_over_the_maximum_is_not_downloaded_and_fails_the_order(server, mailbox, ledger, tmp_path):
    key = order(ledger, order_id="3030")
    mail(server, "Заказ № 3030: Сформированные счета", b"%PDF-" + b"x" * (2 * MB))
    collect(mailbox, ledger, tmp_path, key, max_size=MB)
    assert "larger than MAX_DOCUMENT_SIZE" in ledger.document(key)["error"]


def test_a_zip_bomb_is_refused_before_it_is_unpacked(server, mailbox, ledger, tmp_path):
    key = order(ledger, order_id="4040")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.xml", b"\0" * (8 * MB))
    mail(server, "Заказ № 4040: Детализация", packed.getvalue(), name="a.zip", subtype="zip")
    collect(mailbox, ledger, tmp_path, key, max_size=MB)
    assert "a.zip" in ledger.document(key)["error"] and ledger.document(key)["status"] == "failed"
    assert not list((tmp_path / "results").glob(".staging-*"))


def test_a_wrong_password_is_reported_without_the_password(server):
    library = Mailbox()
    with pytest.raises(AssertionError, match="refused the login") as failure:
        library.open_mailbox(server.host, server.imap_port, USER, Secret("wrong-" + PASSWORD), str(server.ca_file))
    assert PASSWORD not in str(failure.value)


def test_the_server_certificate_is_verified(server):
    with pytest.raises(ssl.SSLCertVerificationError):
        Mailbox().open_mailbox(server.host, server.imap_port, USER, Secret(PASSWORD))


def test_a_broken_connection_is_opened_again_and_the_mail_still_found(server, mailbox, ledger, tmp_path):
    key = order(ledger, order_id="31337")
    mail(server, "Заказ № 31337: Сформированные счета", INVOICE)
    dropped = mailbox.imap.imap_conn
    dropped.shutdown()  # the server or the network dropped the connection
    collect(mailbox, ledger, tmp_path, key)
    assert ledger.document_status(key) == "received"
    assert mailbox.imap.imap_conn is not dropped


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("vm-noreply@ihelper.mts.ru", True),
        ("VM@MTS.RU", True),
        ("x@mts.ru.evil.test", False),
        ("x@notmts.ru", False),
        ("", False),
    ],
)
def test_senders_are_addresses_or_domains_with_their_subdomains(address, allowed):
    assert sender_allowed(address, ["@mts.ru"]) is allowed
    assert sender_allowed("robot@corp.example", ["robot@corp.example"])


def test_a_mail_that_came_weeks_ago_for_an_order_continued_now_is_found(server, mailbox, ledger, tmp_path):
    """The search starts at the earliest outstanding order, however old (not a fixed number of days)."""
    weeks_ago = datetime.now(UTC) - timedelta(days=20)
    key = order(ledger, order_id="2020", at=(weeks_ago - timedelta(hours=1)).isoformat())
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = OPERATOR, USER, "Заказ № 2020: Сформированные счета"
    message.set_content("Документ во вложении.")
    message.add_attachment(INVOICE, maintype="application", subtype="pdf", filename="Счет.pdf")
    with imaplib.IMAP4_SSL(server.host, server.imap_port, ssl_context=context(server)) as imap:
        imap.login(USER, PASSWORD)
        imap.append("INBOX", "", imaplib.Time2Internaldate(weeks_ago), message.as_bytes())
    collect(mailbox, ledger, tmp_path, key)
    assert ledger.document_status(key) == "received"


def test_imap_ca_file_wins_over_the_environment_s_certificates(server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    library = Mailbox()
    library.open_mailbox(server.host, server.imap_port, USER, Secret(PASSWORD), str(server.ca_file))
    library.close_mailbox()
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
    with pytest.raises(ssl.SSLCertVerificationError):
        Mailbox().open_mailbox(server.host, server.imap_port, USER, Secret(PASSWORD), certifi.where())


def test_the_console_hears_of_the_awaited_documents_at_most_every_30_s():
    from libraries.mailbox import Progress

    now, said = [100.0], []
    progress = Progress(clock=lambda: now[0], say=said.append)
    documents = [
        {"kind": "invoice", "account": f"27730001841{index}", "order_id": str(index), "period_from": "2026-10-01",
         "period_to": "2026-10-31"}
        for index in range(5)
    ]
    progress.waiting(documents, deadline=3700.0)
    assert said == [
        "Waiting for the e-mail of 5 document(s), at most 3600 s more: the invoice of personal account 277300018410"
        " for 2026-10-01–2026-10-31 (order № 0); the invoice of personal account 277300018411 for"
        " 2026-10-01–2026-10-31 (order № 1); the invoice of personal account 277300018412 for 2026-10-01–2026-10-31"
        " (order № 2); and 2 more"
    ]
    now[0] = 129.0
    progress.waiting(documents[:1], deadline=3700.0)
    assert len(said) == 1, "not again within 30 s"
    now[0] = 130.0
    progress.waiting(documents[:1], deadline=3700.0)
    assert len(said) == 2 and said[1].startswith("Waiting for the e-mail of 1 document(s), at most 3570 s more")
