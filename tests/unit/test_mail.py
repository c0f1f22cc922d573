"""The mail stand-in against a real dovecot: SMTP in, IMAPS out, TLS verified."""

from __future__ import annotations

import email
import email.policy
import imaplib
import os
import shutil
import smtplib
import socket
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest
from RPA.Email.ImapSmtp import ImapSmtp

from sandbox.mail import MailServer
from tests.support import send_mail, world_traversable_folder

ACCOUNT = "robot@sandbox.test"
PASSWORD = "Pa55-" + uuid.uuid4().hex
SENDER = "portal@sandbox.test"
ATTACHMENT_NAME = "Счёт №42 за май.pdf"


def make_message(token: str, attachment: bytes) -> EmailMessage:
    """A mail with a Cyrillic subject carrying ``token`` and one PDF attachment."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = ACCOUNT
    message["Subject"] = f"Счёт за май {token}"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="sandbox.test")
    message.set_content("Добрый день! Счёт во вложении.")
    message.add_attachment(attachment, maintype="application", subtype="pdf", filename=ATTACHMENT_NAME)
    return message


def port_is_free(host: str, port: int) -> bool:
    """True if ``port`` can be bound on ``host``."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def server():
    """A running mail server with one account, shared by the module."""
    folder = world_traversable_folder()
    mail_server = MailServer(folder / "mail", {ACCOUNT: PASSWORD})
    started = time.monotonic()
    with mail_server:
        print(f"mail server started in {time.monotonic() - started:.2f} s")
        yield mail_server
    shutil.rmtree(folder)


@pytest.fixture
def delivered(server):
    """Send one fresh mail through SMTP; return its subject token and attachment bytes."""
    token = uuid.uuid4().hex
    attachment = b"%PDF-1.4\n" + os.urandom(2048) + b"\n%%EOF\n"
    send_mail(server.host, server.smtp_port, make_message(token, attachment))
    return token, attachment


@pytest.fixture
def verified_tls(server) -> ssl.SSLContext:
    """A TLS context that trusts only the server's self-signed certificate."""
    return ssl.create_default_context(cafile=server.ca_file)


def test_imaplib_reads_mail_over_verified_tls(server, delivered, verified_tls):
    token, attachment = delivered
    with imaplib.IMAP4_SSL(server.host, server.imap_port, ssl_context=verified_tls) as imap:
        imap.login(ACCOUNT, PASSWORD)
        imap.select("INBOX", readonly=True)
        status, found = imap.search(None, "SUBJECT", f'"{token}"')
        assert status == "OK" and len(found[0].split()) == 1
        status, data = imap.fetch(found[0], "(RFC822)")
    message = email.message_from_bytes(data[0][1], policy=email.policy.default)
    assert message["Subject"] == f"Счёт за май {token}"
    [part] = message.iter_attachments()
    assert part.get_filename() == ATTACHMENT_NAME
    assert part.get_content() == attachment


def test_rpa_imapsmtp_waits_for_mail_and_saves_attachment(server, delivered):
    token, attachment = delivered
    library = ImapSmtp(imap_server=server.host, imap_port=server.imap_port)
    library.authorize_imap(ACCOUNT, PASSWORD)
    try:
        messages = list(library.wait_for_message(f'SUBJECT "{token}"', timeout=10, interval=0.5))
        assert len(messages) == 1
        assert str(messages[0]["Subject"]) == f"Счёт за май {token}"
        assert messages[0]["Has-Attachments"]
        target = world_traversable_folder()
        try:
            [saved] = library.save_attachment(messages[0], target_folder=str(target), overwrite=True)
            assert Path(saved).name == ATTACHMENT_NAME
            assert Path(saved).read_bytes() == attachment
        finally:
            shutil.rmtree(target)
        library.select_folder("INBOX", readonly=True)
        assert library.list_messages(f'UNSEEN SUBJECT "{token}"'), "waiting and saving must leave the mail unread"
    finally:
        library.imap_conn.logout()


def test_wrong_password_is_refused(server, verified_tls):
    with imaplib.IMAP4_SSL(server.host, server.imap_port, ssl_context=verified_tls) as imap:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap.login(ACCOUNT, "not-" + PASSWORD)


def test_certificate_is_not_trusted_by_system_cas(server):
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed"):
        imaplib.IMAP4_SSL(server.host, server.imap_port, ssl_context=ssl.create_default_context())


def test_unknown_recipient_is_refused_by_smtp(server):
    message = make_message("nobody-home", b"%PDF-1.4\n")
    del message["To"]
    message["To"] = "stranger@sandbox.test"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send_mail(server.host, server.smtp_port, message)
    code, _ = refused.value.recipients["stranger@sandbox.test"]
    assert code == 550


def test_stop_ends_dovecot_and_frees_the_ports():
    folder = world_traversable_folder()
    try:
        mail_server = MailServer(folder / "mail", {ACCOUNT: PASSWORD}).start()
        pid = mail_server.pid
        ports = (mail_server.imap_port, mail_server.smtp_port, mail_server.lmtp_port)
        mail_server.stop()
        mail_server.stop()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert all(port_is_free(mail_server.host, port) for port in ports)
    finally:
        shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands mail to 'nobody'")
def test_private_parent_folder_is_reported(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(PermissionError, match="not world-traversable"):
        MailServer(private / "mail", {ACCOUNT: PASSWORD}).start()
