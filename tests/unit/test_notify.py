"""The run's notification: subject, recipients, settings, and a real send through the sandbox's receiver.

The sending tests start the mail stand-in (dovecot + the SMTP receiver with
STARTTLS and AUTH) with the robot's and the finance team's mailboxes, send
with the keyword as the run does, and read the finance mailbox over IMAPS.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import json
import shutil
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest
from robot.api.types import Secret
from robot.libdoc import LibraryDocumentation

import libraries.notify as notify
from libraries.environment import read_settings
from libraries.notify import NotificationFailed, Notify, parse_recipients, plural, subject_of
from sandbox.mail import MailServer
from tests.support import self_signed, smtp_through, world_traversable_folder
from variables import production

PERIOD = "2026-10"
ROBOT = "robot@sandbox.test"
FINANCE = "finance@sandbox.test"
ACCOUNTANT = "accountant@sandbox.test"
COMPLETE = {name: f"value-of-{name.lower()}" for name in production.REQUIRED}


def document(status: str, account: str = "277300018417", kind: str = "invoice", error=None) -> dict:
    """A summary entry with ``status``."""
    return {
        "login": "9161234567",
        "account": account,
        "kind": kind,
        "period_from": "2026-10-01",
        "period_to": "2026-10-31",
        "numbers": [],
        "status": status,
        "error": error,
        "tarifer_id": "t-1" if status in ("uploaded", "skipped") else None,
        "amount": "1234.50" if kind == "invoice" else None,
    }


def summary_with(*statuses: str, environment: str = "PRODUCTION", period: str = PERIOD) -> dict:
    """A summary of one document per status."""
    return {
        "environment": environment,
        "period": period,
        "started_at": "2026-11-03T06:00:00+00:00",
        "finished_at": "2026-11-03T06:20:00+00:00",
        "documents": [document(status, account=f"2773000184{index:02d}") for index, status in enumerate(statuses)],
        "ignored_mail": [],
    }


# --- subject, plural forms, recipients ------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, "1 документ требует внимания"),
        (2, "2 документа требуют внимания"),
        (3, "3 документа требуют внимания"),
        (4, "4 документа требуют внимания"),
        (5, "5 документов требуют внимания"),
        (11, "11 документов требуют внимания"),
        (12, "12 документов требуют внимания"),
        (14, "14 документов требуют внимания"),
        (21, "21 документ требует внимания"),
        (22, "22 документа требуют внимания"),
        (25, "25 документов требуют внимания"),
        (101, "101 документ требует внимания"),
        (111, "111 документов требуют внимания"),
        (112, "112 документов требуют внимания"),
        (124, "124 документа требуют внимания"),
    ],
)
def test_the_subject_counts_the_documents_needing_a_person_in_proper_russian(count, expected):
    summary = summary_with(*(["failed"] * count), "uploaded")
    assert subject_of(summary) == f"Телеком-документы за октябрь 2026: {expected}"


def test_everything_in_tarifer_says_all_uploaded():
    assert (
        subject_of(summary_with("uploaded", "skipped", "uploaded"))
        == "Телеком-документы за октябрь 2026: всё загружено"
    )


def test_every_document_left_unfinished_needs_a_person():
    statuses = ("failed", "ordering", "ordered", "received", "uploaded", "skipped")
    assert subject_of(summary_with(*statuses)).endswith(": 4 документа требуют внимания")
    text = notify.plain_text(summary_with(*statuses))
    assert "требуют внимания: 4." in text and "загружено в Tarifer: 1" in text
    assert "получен, не загружен в Tarifer" in text and "заказан, письмо не пришло" in text


def test_a_plan_mode_run_says_it_is_a_trial_and_what_it_planned():
    month = "Телеком-документы за октябрь 2026: "
    assert subject_of(summary_with("planned")) == month + "пробный запуск, запланирован 1 документ"
    assert (
        subject_of(summary_with("planned", "planned", "uploaded"))
        == month + "пробный запуск, запланировано 2 документа"
    )
    assert subject_of(summary_with(*["planned"] * 5)) == month + "пробный запуск, запланировано 5 документов"
    assert subject_of(summary_with("planned", "failed")) == month + "пробный запуск, 1 документ требует внимания"
    assert "Пробный запуск: ничего не заказано и не загружено, запланировано 1." in notify.plain_text(
        summary_with("planned")
    )


def test_a_month_without_documents_does_not_say_all_uploaded():
    assert subject_of(summary_with()) == "Телеком-документы за октябрь 2026: нет ни одного документа"


def test_a_sandbox_run_says_so_and_every_month_has_its_name():
    assert subject_of(summary_with("uploaded", environment="SANDBOX")).startswith("[SANDBOX] Телеком-документы")
    names = [subject_of(summary_with("uploaded", period=f"2026-{month:02d}")) for month in (1, 5, 12)]
    assert names == [f"Телеком-документы за {name} 2026: всё загружено" for name in ("январь", "май", "декабрь")]


def test_plural_forms():
    forms = ("документ", "документа", "документов")
    assert [plural(n, *forms) for n in (0, 1, 2, 5, 10, 11, 13, 20, 21, 23, 1000, 1001)] == [
        "документов", "документ", "документа", "документов", "документов", "документов",
        "документов", "документов", "документ", "документа", "документов", "документ",
    ]  # fmt: skip


def test_the_plain_text_lists_what_needs_a_person_with_the_reason():
    summary = summary_with("uploaded")
    summary["documents"].append(document("failed", kind="call_details", error="Tarifer answered 503\nService down"))
    text = notify.plain_text(summary)
    assert (
        "- детализация, лицевой счёт 277300018417 (логин 9161234567): ошибка (Tarifer answered 503 Service down)"
        in text
    )
    many = summary_with(*(["failed"] * 25))
    assert "- и ещё 5" in notify.plain_text(many)


def test_recipients_are_comma_separated_addresses():
    assert parse_recipients(" finance@corp.example, boss@corp.example ,") == [
        "finance@corp.example",
        "boss@corp.example",
    ]
    assert parse_recipients(["a@b.example"]) == ["a@b.example"]
    assert parse_recipients("") == [] and parse_recipients(None) == []
    for wrong in ("finance", "finance@corp", "@corp.example", "a b@corp.example", "Finance <f@corp.example>"):
        with pytest.raises(RuntimeError, match="NOTIFY_EMAIL: .* is not an e-mail address"):
            parse_recipients(wrong)


# --- the settings ------------------------------------------------------------------------


def test_without_notification_settings_the_defaults_hold_and_an_empty_password_is_fine():
    settings = read_settings(COMPLETE, PERIOD)
    assert settings["NOTIFY_EMAIL"] == [] and settings["SMTP_HOST"] == ""
    assert (settings["SMTP_TLS"], settings["SMTP_PORT"]) == ("starttls", 587)
    assert isinstance(settings["SMTP_PASSWORD"], Secret) and settings["SMTP_PASSWORD"].value == ""
    assert str(settings["SMTP_PASSWORD"]) == "<secret>"
    assert settings["SMTP_FROM"] == COMPLETE["REPORT_EMAIL"]


def test_tls_mode_and_port_are_checked():
    implicit = read_settings({**COMPLETE, "SMTP_TLS": "SSL"}, PERIOD)
    assert (implicit["SMTP_TLS"], implicit["SMTP_PORT"]) == ("ssl", 465)
    assert read_settings({**COMPLETE, "SMTP_TLS": "ssl", "SMTP_PORT": "2465"}, PERIOD)["SMTP_PORT"] == 2465
    with pytest.raises(RuntimeError, match="SMTP_TLS must be one of starttls, ssl, none, not 'tls'"):
        read_settings({**COMPLETE, "SMTP_TLS": "tls"}, PERIOD)
    with pytest.raises(RuntimeError, match="SMTP_PORT must be a whole number, not 'smtp'"):
        read_settings({**COMPLETE, "SMTP_PORT": "smtp"}, PERIOD)
    for wrong in ("0", "65536", "-25"):
        with pytest.raises(RuntimeError, match="SMTP_PORT must be between 1 and 65535"):
            read_settings({**COMPLETE, "SMTP_PORT": wrong}, PERIOD)


def test_plain_smtp_is_refused_unless_the_server_is_this_machine():
    notifying = {**COMPLETE, "NOTIFY_EMAIL": "finance@corp.example", "SMTP_TLS": "none"}
    with pytest.raises(RuntimeError, match="SMTP_TLS=none .* not for smtp.corp.example"):
        read_settings({**notifying, "SMTP_HOST": "smtp.corp.example"}, PERIOD)
    for loopback in ("127.0.0.1", "localhost", "::1"):
        assert read_settings({**notifying, "SMTP_HOST": loopback}, PERIOD)["SMTP_TLS"] == "none"


def test_what_a_notification_needs_is_asked_for_at_once():
    notifying = {**COMPLETE, "NOTIFY_EMAIL": "finance@corp.example, boss@corp.example"}
    with pytest.raises(RuntimeError, match="NOTIFY_EMAIL is set, so SMTP_HOST must name"):
        read_settings(notifying, PERIOD)
    with pytest.raises(RuntimeError, match="SMTP_USER is set, so SMTP_PASSWORD must be set too"):
        read_settings({**notifying, "SMTP_HOST": "smtp.corp.example", "SMTP_USER": "robot"}, PERIOD)
    with pytest.raises(RuntimeError, match="NOTIFY_EMAIL: 'boss' is not"):
        read_settings({**notifying, "NOTIFY_EMAIL": "finance@corp.example,boss", "SMTP_HOST": "smtp"}, PERIOD)
    chosen = {**notifying, "SMTP_HOST": "smtp.corp.example", "SMTP_USER": "robot@corp.example"}
    settings = read_settings({**chosen, "SMTP_PASSWORD": " spaced password "}, PERIOD)
    assert settings["NOTIFY_EMAIL"] == ["finance@corp.example", "boss@corp.example"]
    assert settings["SMTP_PASSWORD"].value == " spaced password ", "a password is taken as it is"
    assert settings["SMTP_FROM"] == "robot@corp.example", "an address as SMTP_USER is the sender"
    named = read_settings({**chosen, "SMTP_USER": "robot", "SMTP_PASSWORD": "x"}, PERIOD)
    assert named["SMTP_FROM"] == COMPLETE["REPORT_EMAIL"], "a login that is no address leaves REPORT_EMAIL"
    assert read_settings({**chosen, "SMTP_PASSWORD": "x", "SMTP_FROM": "vm@corp.example"}, PERIOD)["SMTP_FROM"] == (
        "vm@corp.example"
    )


def test_nothing_is_sent_without_recipients(tmp_path):
    Notify().send_the_summary_by_email(read_settings(COMPLETE, PERIOD), str(tmp_path / "nowhere"))


# --- sending through the sandbox's receiver --------------------------------------------------


def read_mailbox(host: str, port: int, ca_file, user: str, password: str) -> list[EmailMessage]:
    """Every mail in ``user``'s INBOX, read over IMAPS verified against ``ca_file``."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with imaplib.IMAP4_SSL(host, int(port), ssl_context=context) as imap:
        imap.login(user, password)
        imap.select("INBOX", readonly=True)
        _, found = imap.search(None, "ALL")
        mails = []
        for number in found[0].split():
            _, data = imap.fetch(number, "(RFC822)")
            mails.append(email.message_from_bytes(data[0][1], policy=email.policy.default))
    return mails


def html_of(message: EmailMessage) -> str:
    """The text/html body of ``message``, with Unix line ends."""
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")


def mail_with(mailbox, token: str, timeout: float = 10) -> EmailMessage:
    """The one mail in ``mailbox()`` whose page carries ``token``, waiting up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = [mail for mail in mailbox() if mail.get_body(("html",)) and token in html_of(mail)]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"{len(found)} mails carry {token}"
            return found[0]
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server():
    """The mail stand-in with the robot's and the finance team's mailboxes."""
    folder = world_traversable_folder()
    users = {
        ROBOT: "robot-" + uuid.uuid4().hex,
        FINANCE: "finance-" + uuid.uuid4().hex,
        ACCOUNTANT: "Пароль-" + uuid.uuid4().hex,
    }
    with MailServer(folder / "mail", users) as mail_server:
        yield mail_server
    shutil.rmtree(folder)


def finance_mails(server) -> list[EmailMessage]:
    return read_mailbox(server.host, server.imap_port, server.ca_file, FINANCE, server.users[FINANCE])


def sandbox_settings(server, **changes) -> dict:
    """The run's settings as read_settings gives them, sending through ``server`` as the robot."""
    environ = {
        **COMPLETE,
        "REPORT_EMAIL": ROBOT,
        "NOTIFY_EMAIL": FINANCE,
        **smtp_through(server, ROBOT),
    }
    return read_settings({**environ, **changes}, PERIOD)


@pytest.fixture
def results(tmp_path):
    """An output folder with summary.json and summary.html of a month with two documents needing a person."""
    token = uuid.uuid4().hex
    summary = summary_with("uploaded", "failed", "received", "skipped")
    (tmp_path / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    page = f"<!DOCTYPE html>\n<html lang='ru'><body><h1>Телеком-документы за октябрь 2026</h1>\n<p>{token}</p>\n"
    page += "<p>" + "Счёт загружен в Tarifer. " * 40 + "</p></body></html>\n"
    (tmp_path / "summary.html").write_text(page, encoding="utf-8")
    return tmp_path, token


def test_the_summary_arrives_over_verified_starttls_with_the_page_as_its_body(server, results):
    output_dir, token = results
    Notify().send_the_summary_by_email(sandbox_settings(server), str(output_dir))
    mail = mail_with(lambda: finance_mails(server), token)
    assert mail["Subject"] == "Телеком-документы за октябрь 2026: 2 документа требуют внимания"
    assert (mail["From"], mail["To"]) == (ROBOT, FINANCE)
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Message-ID"] and mail["Date"]
    assert html_of(mail) == (output_dir / "summary.html").read_text(encoding="utf-8")
    text = mail.get_body(("plain",)).get_content()
    assert "Телеком-документы за октябрь 2026: 2 документа требуют внимания." in text
    [attachment] = mail.iter_attachments()
    assert attachment.get_filename() == "summary.json" and attachment.get_content_type() == "application/json"
    assert attachment.get_payload(decode=True) == (output_dir / "summary.json").read_bytes()


def test_several_recipients_each_get_it(server, results):
    output_dir, token = results
    settings = sandbox_settings(server, NOTIFY_EMAIL=f"{FINANCE}, {ROBOT}")
    Notify().send_the_summary_by_email(settings, str(output_dir))
    assert mail_with(lambda: finance_mails(server), token)["To"] == f"{FINANCE}, {ROBOT}"

    def robot_mails():
        return read_mailbox(server.host, server.imap_port, server.ca_file, ROBOT, server.users[ROBOT])

    assert mail_with(robot_mails, token)["Subject"].startswith("Телеком-документы за октябрь 2026")


def test_plain_smtp_to_this_machine_sends_without_a_login(server, results):
    output_dir, token = results
    settings = sandbox_settings(server, SMTP_TLS="none", SMTP_USER="", SMTP_PASSWORD="", SMTP_CA_FILE="")
    Notify().send_the_summary_by_email(settings, str(output_dir))
    assert mail_with(lambda: finance_mails(server), token)["From"] == ROBOT


def test_a_non_ascii_password_goes_as_utf_8(server, results):
    output_dir, token = results
    settings = sandbox_settings(server, SMTP_USER=ACCOUNTANT, SMTP_PASSWORD=server.users[ACCOUNTANT])
    Notify().send_the_summary_by_email(settings, str(output_dir))
    assert mail_with(lambda: finance_mails(server), token)["From"] == ACCOUNTANT
    wrong = sandbox_settings(server, SMTP_USER=ACCOUNTANT, SMTP_PASSWORD="Неверный-" + uuid.uuid4().hex)
    expect_failure(wrong, output_dir, "refused the login of accountant@sandbox.test: 535")


def test_the_receiver_offers_starttls_and_auth_only_inside_it_and_plain_mail_still_goes_through(server):
    with smtplib.SMTP(server.host, server.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        smtp.starttls(context=ssl.create_default_context(cafile=str(server.ca_file)))
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features["auth"].upper()
    token = uuid.uuid4().hex
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "someone@elsewhere.example", FINANCE, "plain"
    message.set_content("plain")
    message.add_alternative(f"<p>{token}</p>", subtype="html")
    with smtplib.SMTP(server.host, server.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    assert mail_with(lambda: finance_mails(server), token)["Subject"] == "plain"


def expect_failure(settings: dict, output_dir: Path, match: str) -> str:
    """Run the keyword, expecting it to fail with ``match``; return the message (checked for the password)."""
    with pytest.raises(NotificationFailed, match=match) as failure:
        Notify().send_the_summary_by_email(settings, str(output_dir))
    message = str(failure.value)
    password = settings["SMTP_PASSWORD"].value
    assert not password or password not in message
    return message


def test_a_wrong_password_fails_clearly_and_never_shows_it(server, results):
    output_dir, _ = results
    wrong = "wrong-" + uuid.uuid4().hex
    message = expect_failure(
        sandbox_settings(server, SMTP_PASSWORD=wrong), output_dir, "the server refused the login of robot@sandbox.test"
    )
    assert "535" in message and f"{server.host}:{server.smtp_port}" in message


def test_an_unverified_certificate_is_refused(server, results, tmp_path):
    output_dir, _ = results
    unrelated, _ = self_signed(tmp_path, "unrelated")
    expect_failure(sandbox_settings(server, SMTP_CA_FILE=str(unrelated)), output_dir, "could not be verified against")
    expect_failure(sandbox_settings(server, SMTP_CA_FILE=str(tmp_path / "none.pem")), output_dir, "is not a file")


def test_other_failures_say_what_went_wrong(server, results):
    output_dir, _ = results
    expect_failure(sandbox_settings(server, SMTP_TLS="ssl"), output_dir, "TLS handshake failed|closed the connection")
    expect_failure(sandbox_settings(server, SMTP_TLS="none"), output_dir, "does not support")
    expect_failure(sandbox_settings(server, SMTP_PORT="1"), output_dir, "cannot connect")
    unknown = sandbox_settings(server, NOTIFY_EMAIL="nobody@sandbox.test")
    expect_failure(unknown, output_dir, "refused every recipient: nobody@sandbox.test")
    partly = sandbox_settings(server, NOTIFY_EMAIL=f"{FINANCE}, nobody@sandbox.test")
    expect_failure(partly, output_dir, "these recipients were refused: nobody@sandbox.test")
    (output_dir / "summary.html").unlink()
    expect_failure(sandbox_settings(server), output_dir, "summary.html does not exist")


def test_a_password_the_server_echoes_is_scrubbed(monkeypatch, results):
    output_dir, _ = results
    password = "echoed-" + uuid.uuid4().hex
    settings = read_settings(
        {
            **COMPLETE,
            "NOTIFY_EMAIL": FINANCE,
            "SMTP_HOST": "smtp.corp.example",
            "SMTP_USER": ROBOT,
            "SMTP_PASSWORD": password,
        },
        PERIOD,
    )

    def echoing(chosen):
        raise smtplib.SMTPAuthenticationError(535, f"bad credentials {password}".encode())

    monkeypatch.setattr(notify, "connect", echoing)
    message = expect_failure(settings, output_dir, r"refused the login of robot@sandbox.test: 535 bad credentials \*+")
    assert password not in message


def test_the_keyword_is_documented_as_robot_shows_it():
    documentation = LibraryDocumentation("libraries.notify.Notify")
    assert [kw.name for kw in documentation.keywords] == ["Send The Summary By E-mail"]
    assert all(kw.doc.strip() for kw in documentation.keywords) and documentation.doc.strip()
    assert [str(arg) for arg in documentation.keywords[0].args] == ["settings: dict", "output_dir: str"]
