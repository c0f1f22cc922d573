"""The robot's mailbox library against a real dovecot over verified TLS."""

from __future__ import annotations

import imaplib
import io
import shutil
import ssl
import uuid
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from robot.api.types import Secret

from libraries.documents import DocumentCheckError
from libraries.mailbox import Mailbox, MailTimeout
from sandbox.mail import MailServer
from tests.support import pdf_bytes, send_mail, world_traversable_folder

USER = "robot@sandbox.test"
PASSWORD = uuid.uuid4().hex
ACCOUNT = "277300018417"
INVOICE = pdf_bytes("Счёт", f"Лицевой счёт: {ACCOUNT}", "Расчётный период: 01.10.2026 – 31.10.2026")
def invoice(order_id: str) -> dict:
    return {
        "kind": "invoice",
        "account": ACCOUNT,
        "period_from": "2026-10-01",
        "period_to": "2026-10-31",
        "order_id": order_id,
        "format": "pdf",
        "numbers": [],
    }


OTHER_INVOICE = pdf_bytes("Счёт", "Лицевой счёт: 111111111111", "Расчётный период: 01.10.2026 – 31.10.2026")


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
        count = int(imap.select("INBOX")[1][0])
        if count:
            imap.store("1:*", "+FLAGS", "(\\Deleted)")
            imap.expunge()


def context(server):
    return ssl.create_default_context(cafile=str(server.ca_file))


def mail(server, subject: str, attachment: bytes | None = None, name: str = "Счет.pdf", subtype: str = "pdf") -> None:
    message = EmailMessage()
    message["From"] = "Виртуальный менеджер МТС <vm-noreply@ihelper.mts.ru>"
    message["To"] = USER
    message["Subject"] = subject
    message.set_content("Документ во вложении.")
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype=subtype, filename=name)
    send_mail(server.host, server.smtp_port, message)


def unseen_subjects(server) -> int:
    with imaplib.IMAP4_SSL(server.host, server.imap_port, ssl_context=context(server)) as imap:
        imap.login(USER, PASSWORD)
        imap.select("INBOX", readonly=True)
        _, data = imap.search(None, "UNSEEN")
        return len(data[0].split())


def test_the_mail_naming_the_order_is_taken_and_only_it_is_marked_read(server, mailbox, tmp_path):
    mail(server, "Рассылка без вложения")
    mail(server, "Заказ № 555: чужой счёт", OTHER_INVOICE)
    mail(server, "Заказ № 12345678: Сформированные счета", INVOICE)
    saved = mailbox.wait_for_document_mail(invoice("12345678"), str(tmp_path / "documents"), timeout=20, interval=0.2)
    assert saved == str(tmp_path / "documents" / "invoice_277300018417_2026-10_12345678.pdf")
    assert Path(saved).read_bytes() == INVOICE
    assert unseen_subjects(server) == 2


def test_a_mail_without_the_order_number_is_taken_by_its_content(server, mailbox, tmp_path):
    mail(server, "Документ по заказу", INVOICE)
    saved = mailbox.wait_for_document_mail(invoice("999"), str(tmp_path), timeout=20, interval=0.2)
    assert Path(saved).read_bytes() == INVOICE


def test_a_zipped_document_is_unpacked_and_checked(server, mailbox, tmp_path):
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("../../Счет.pdf", INVOICE)
    mail(server, "Заказ № 777: Сформированные счета", packed.getvalue(), name="Счет.pdf.zip", subtype="zip")
    saved = mailbox.wait_for_document_mail(invoice("777"), str(tmp_path / "in"), timeout=20, interval=0.2)
    assert Path(saved).read_bytes() == INVOICE
    assert sorted(path.name for path in tmp_path.rglob("*") if path.is_file()) == [Path(saved).name]


def test_the_mail_of_the_order_with_a_wrong_document_fails_at_once_and_stays_unread(server, mailbox, tmp_path):
    mail(server, "Заказ № 4242: Сформированные счета", OTHER_INVOICE)
    with pytest.raises(DocumentCheckError, match="does not name personal account 277300018417"):
        mailbox.wait_for_document_mail(invoice("4242"), str(tmp_path), timeout=20, interval=0.2)
    assert not list(tmp_path.iterdir())
    assert unseen_subjects(server) == 1


def test_no_mail_fails_after_the_timeout_with_a_clear_message(mailbox, tmp_path):
    expected = r"No e-mail with the invoice of personal account 277300018417 for 2026-10-01"
    with pytest.raises(MailTimeout, match=expected):
        mailbox.wait_for_document_mail(invoice("1"), str(tmp_path), timeout=1, interval=0.2)


def test_a_wrong_password_is_reported_without_the_password(server):
    library = Mailbox()
    with pytest.raises(AssertionError, match="refused the login") as failure:
        library.open_mailbox(server.host, server.imap_port, USER, Secret("wrong-" + PASSWORD), str(server.ca_file))
    assert PASSWORD not in str(failure.value)


def test_the_server_certificate_is_verified(server):
    with pytest.raises(ssl.SSLCertVerificationError):
        Mailbox().open_mailbox(server.host, server.imap_port, USER, Secret(PASSWORD))


def test_a_broken_connection_is_opened_again_and_the_mail_still_found(server, mailbox, tmp_path):
    mail(server, "Заказ № 31337: Сформированные счета", INVOICE)
    dropped = mailbox.imap.imap_conn
    dropped.shutdown()  # the server or the network dropped the connection
    saved = mailbox.wait_for_document_mail(invoice("31337"), str(tmp_path), timeout=20, interval=0.2)
    assert Path(saved).read_bytes() == INVOICE
    assert mailbox.imap.imap_conn is not dropped
