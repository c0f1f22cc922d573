"""Every document exactly once, and only the genuine one: the robot against a hostile or disorderly mailbox.

Each test runs the real robot through the production path against its own ``python -m sandbox`` and
puts mail into the robot's mailbox through the sandbox's SMTP receiver.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import smtplib
import time
import zipfile
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from libraries.documents import check_document, check_invoice
from libraries.periods import last_closed_period, period_bounds
from sandbox.portal import texts
from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import (
    ROOT,
    deliveries,
    ledger_state,
    orders,
    run_robot,
    start_robot,
    summary_of,
    tarifer_listing,
    wait_until,
)
from tests.support import pdf_bytes, send_mail

PERIOD = last_closed_period()
FIRST_DAY, LAST_DAY = period_bounds(PERIOD)
STRANGER = "billing@mts-invoices.example"
MB = 1 << 20
HUGE_SUBJECT = "Детализация (100 МБ)"
HUGE_NAME = "detalizaciya.xml"
BOMB_SUBJECT = "Детализация (архив)"
KINDS = ("invoice", "call_details")


# --- mail ----------------------------------------------------------------------------------------


def invoice_pdf(account: str) -> bytes:
    """A real PDF that passes the robot's invoice check for ``account`` and the period."""
    period = f"{FIRST_DAY:%d.%m.%Y} – {LAST_DAY:%d.%m.%Y}"
    return pdf_bytes("Счёт", f"Лицевой счёт: {account}", f"Расчётный период: {period}")


def mail(sender: str, to: str, subject: str, text: str = "Здравствуйте!\n") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message.set_content(text)
    return message


def with_pdf(message: EmailMessage, content: bytes, filename: str) -> EmailMessage:
    message.add_attachment(content, maintype="application", subtype="pdf", filename=filename)
    return message


def as_smtp_bytes(message: EmailMessage) -> bytes:
    """The message as SMTP carries it (CRLF line ends)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def send_raw(settings: dict[str, str], sender: str, raw: bytes) -> None:
    """Hand ``raw`` bytes to the sandbox's SMTP receiver as they are."""
    with smtplib.SMTP(settings["IMAP_HOST"], int(settings["SANDBOX_SMTP_PORT"]), timeout=120) as smtp:
        smtp.sendmail(sender, [settings["REPORT_EMAIL"]], raw)


def send(settings: dict[str, str], message: EmailMessage) -> None:
    send_mail(settings["IMAP_HOST"], int(settings["SANDBOX_SMTP_PORT"]), message)


def bogus_charset_mail(sender: str, to: str, subject: str) -> bytes:
    """A mail whose text (and subject) claim a charset no one knows, with 8-bit bytes that are no UTF-8."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: =?x-bogus?Q?=D0=A1=D1=87=D1=91=D1=82=FF?= {subject}",
        f"Date: {formatdate(localtime=True)}",
        f"Message-ID: {make_msgid(domain=sender.rpartition('@')[2])}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=x-bogus",
        "Content-Transfer-Encoding: 8bit",
        "",
    ]
    body = "Заказ № 12345678, лицевой счёт 277300018417\r\n".encode("cp1251") + b"\xff\xfe\x00\x81\r\n"
    return "\r\n".join(lines).encode("ascii") + b"\r\n" + body


def odd_names_mail(sender: str, to: str, subject: str) -> bytes:
    """A mail with a text part in a bogus charset and attachments named ``.`` and ``../../escape.pdf``."""
    boundary = "==odd-names-boundary=="
    not_an_invoice = pdf_bytes("Не счёт: письмо чужого отправителя")

    def attachment(name: str) -> list[str]:
        encoded = base64.encodebytes(not_an_invoice).decode("ascii").replace("\n", "\r\n")
        return [
            f"--{boundary}",
            f'Content-Type: application/pdf; name="{name}"',
            f'Content-Disposition: attachment; filename="{name}"',
            "Content-Transfer-Encoding: base64",
            "",
            encoded,
        ]

    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {formatdate(localtime=True)}",
        f"Message-ID: {make_msgid(domain=sender.rpartition('@')[2])}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=x-bogus",
        "Content-Transfer-Encoding: 8bit",
        "",
        "\udcff\udcfe see the attachments",
        *attachment("."),
        *attachment("../../escape.pdf"),
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")


# --- what the run left --------------------------------------------------------------------------


def ignored_from(summary: dict, sender: str) -> list[dict]:
    return [entry for entry in summary["ignored_mail"] if entry["from"] == sender]


def assert_uploaded_once(summary: dict, settings: dict[str, str], accounts: list[str]) -> None:
    """Every account's invoice of the period is uploaded, checked, and held by Tarifer exactly once."""
    documents = summary["documents"]
    assert sorted(entry["account"] for entry in documents) == sorted(accounts), documents
    held = tarifer_listing(settings)
    for entry in documents:
        assert entry["status"] == "uploaded" and entry["error"] is None, entry
        check_invoice(ROOT / entry["file"], entry["account"], PERIOD)
        records = [record for record in held if record["account"] == entry["account"]]
        assert [record["sha256"] for record in records] == [entry["sha256"]], f"Tarifer holds {records}"


def escaped_attachments(outputdir: Path) -> set[str]:
    """Every path named like the hostile attachment (``escape``) where it could have landed.

    That is anywhere under /tmp (which holds the run's folders) and under the project (the robot's
    working folder), and in the folders ``../../escape.pdf`` reaches from there, up to ``/``.
    """
    found: set[str] = set()
    for root in (Path("/tmp"), ROOT):
        for folder, folders, files in os.walk(root, onerror=lambda error: None):
            folders[:] = [name for name in folders if name not in (".venv", ".git", "node_modules")]
            found.update(os.path.join(folder, name) for name in folders + files if "escape" in name)
    for folder in {*outputdir.parents, *ROOT.parents}:
        if folder.is_dir():
            found.update(str(path) for path in folder.iterdir() if "escape" in path.name)
    return found


def top_level(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


# --- 1, 2: disorderly delivery ------------------------------------------------------------------


def test_mail_delivered_in_reverse_order_brings_the_whole_month_in_one_run(tmp_path):
    # The held e-mails go out newest first once no order has come for the delay: the delay must be
    # longer than the robot takes between two orders, or nothing would be reversed.
    with sandbox_process("--fault", "reversed-mail", "--delivery-delay", "8") as sandbox:
        settings = sandbox.settings
        accounts = settings["MTS_ACCOUNTS"].split(",")
        assert len(accounts) == 3
        run = run_robot(tmp_path / "results", settings, suite="robot")
        assert run.returncode == 0, run.output
        documents = summary_of(run)["documents"]
        expected = sorted((kind, account) for kind in KINDS for account in accounts)
        assert sorted((entry["kind"], entry["account"]) for entry in documents) == expected, documents
        held = [record["sha256"] for record in tarifer_listing(settings)]
        for entry in documents:
            assert entry["status"] == "uploaded" and entry["error"] is None, entry
            assert held.count(entry["sha256"]) == 1, f"Tarifer holds {entry['file']} once"
            check_document(ROOT / entry["file"], entry)
        placed = orders(sandbox.data_dir)
        assert sorted(order["order_id"] for order in placed) == sorted(entry["order_id"] for entry in documents)
        sent = [record["order_id"] for record in deliveries(sandbox.data_dir) if record["status"] == "sent"]
        # the whole month orders everything before it waits, so all six e-mails are one reversed batch
        ordered = [order["order_id"] for order in placed]
        assert sent == ordered[::-1], f"orders {ordered}, mail sent {sent}"


def test_duplicated_mail_gives_one_order_and_one_tarifer_record_per_document(tmp_path):
    with sandbox_process("--fault", "duplicate-mail") as sandbox:
        settings = sandbox.settings
        accounts = settings["MTS_ACCOUNTS"].split(",")
        run = run_robot(tmp_path / "results", settings)
        assert run.returncode == 0, run.output
        summary = summary_of(run)
        assert_uploaded_once(summary, settings, accounts)
        placed = orders(sandbox.data_dir)
        assert sorted(order["account"] for order in placed) == sorted(accounts), "one order per document"
        copies = [record for record in deliveries(sandbox.data_dir) if record.get("copy") == 2]
        assert len(copies) == len(accounts), "the portal did send every e-mail twice"
        for entry in summary["ignored_mail"]:
            assert "copy" in entry["reason"], entry
        assert len(tarifer_listing(settings)) == len(accounts)


# --- 3: hostile structure -----------------------------------------------------------------------


def test_strangers_with_a_bogus_charset_and_path_like_attachment_names_change_nothing(tmp_path):
    with sandbox_process() as sandbox:
        account = sandbox.settings["MTS_ACCOUNTS"].split(",")[0]
        settings = dict(sandbox.settings, MTS_ACCOUNTS=account)
        to = settings["REPORT_EMAIL"]
        before = escaped_attachments(tmp_path / "results")
        assert top_level(tmp_path) == set()
        for sender in (STRANGER, settings["MAIL_FROM"]):
            send_raw(settings, sender, bogus_charset_mail(sender, to, "bogus charset"))
            send_raw(settings, sender, odd_names_mail(sender, to, "odd attachment names"))

        run = run_robot(tmp_path / "results", settings)

        assert run.returncode == 0, run.output
        summary = summary_of(run)
        assert_uploaded_once(summary, settings, [account])
        assert len(ignored_from(summary, STRANGER)) == 2, summary["ignored_mail"]
        assert len(ignored_from(summary, settings["MAIL_FROM"])) == 2, summary["ignored_mail"]
        assert top_level(tmp_path) == {"results", "state"}, "nothing beside the run's folders"
        assert not list((tmp_path / "results").rglob(".staging-*"))
        assert escaped_attachments(tmp_path / "results") == before


def test_path_like_attachment_names_from_the_operator_after_an_unconfirmed_order_stay_in_the_run(tmp_path):
    # The order is never confirmed, so the robot must open every attachment from MAIL_FROM that
    # arrives after it: «.» and «../../escape.pdf» are really downloaded and checked here.
    with sandbox_process("--fault", "silent-orders", "--delivery-delay", "5") as sandbox:
        account = sandbox.settings["MTS_ACCOUNTS"].split(",")[0]
        state = tmp_path / "state" / "ledger-state.json"
        settings = dict(sandbox.settings, MTS_ACCOUNTS=account, BROWSER_TIMEOUT="5s", LEDGER_STATE_FILE=str(state))
        sender, to = settings["MAIL_FROM"], settings["REPORT_EMAIL"]
        before = escaped_attachments(tmp_path / "results")
        robot = start_robot(tmp_path / "results", settings)
        try:
            wait_until(lambda: ordering_or_ordered(state), "the robot sets out to order the invoice", run=robot)
            send_raw(settings, sender, bogus_charset_mail(sender, to, "bogus charset"))
            send_raw(settings, sender, odd_names_mail(sender, to, "odd attachment names"))
        finally:
            run = robot.finish()

        assert run.returncode == 0, run.output
        summary = summary_of(run)
        assert_uploaded_once(summary, settings, [account])
        reasons = {entry["subject"]: entry["reason"] for entry in ignored_from(summary, sender)}
        odd = [reason for subject, reason in reasons.items() if "odd attachment names" in subject]
        assert odd and "none of the documents awaited" in odd[0], summary["ignored_mail"]
        assert top_level(tmp_path) == {"results", "state"}, "nothing beside the run's folders"
        assert not list((tmp_path / "results").rglob(".staging-*"))
        assert escaped_attachments(tmp_path / "results") == before


def ordering_or_ordered(state: Path) -> bool:
    outstanding = ledger_state(state).get("outstanding", {})
    return any(entry.get("status") in ("ordering", "ordered") for entry in outstanding.values())


# --- 4: strangers with convincing documents -----------------------------------------------------


def test_strangers_documents_never_reach_tarifer_even_when_right_or_naming_a_real_order(tmp_path):
    with sandbox_process("--delivery-delay", "3") as sandbox:
        accounts = sandbox.settings["MTS_ACCOUNTS"].split(",")
        account, other = accounts[0], accounts[1]
        settings = dict(sandbox.settings, MTS_ACCOUNTS=account)
        to = settings["REPORT_EMAIL"]

        right = invoice_pdf(account)
        check_invoice(write(tmp_path / "right.pdf", right), account, PERIOD)  # it would pass the check
        early_subject = f"Счёт за {PERIOD} по лицевому счёту {account}"
        send(settings, with_pdf(mail(STRANGER, to, early_subject), right, f"invoice_{account}.pdf"))

        wrong = invoice_pdf(other)
        robot = start_robot(tmp_path / "results", settings)
        try:
            placed = wait_until(lambda: orders(sandbox.data_dir), "the portal has the robot's order", run=robot)
            (order,) = placed
            subject = texts.ORDER_SUBJECT.format(order_id=order["order_id"], document=texts.INVOICE_DOCUMENT)
            text = f"Во вложении документ по лицевому счёту {account}, заказ № {order['order_id']}.\n"
            send(settings, with_pdf(mail(STRANGER, to, subject, text), wrong, f"invoice_{account}.pdf"))
            sent_at = time.time()
        finally:
            run = robot.finish()

        assert run.returncode == 0, run.output
        genuine = [record for record in deliveries(sandbox.data_dir) if record["order_id"] == order["order_id"]]
        assert genuine and iso_seconds(genuine[0]["at"]) >= int(sent_at) - 1, "the stranger's mail came first"
        summary = summary_of(run)
        assert_uploaded_once(summary, settings, [account])
        held = {record["sha256"] for record in tarifer_listing(settings)}
        strangers = {hashlib.sha256(content).hexdigest() for content in (right, wrong)}
        assert not held & strangers, "no stranger's document reached Tarifer"
        (entry,) = summary["documents"]
        assert entry["sha256"] == genuine[0]["sha256"] and entry["order_id"] == order["order_id"]
        ignored = {fact["subject"]: fact for fact in ignored_from(summary, STRANGER)}
        assert set(ignored) == {early_subject, subject}, summary["ignored_mail"]
        for fact in ignored.values():
            assert "MAIL_FROM" in fact["reason"] and fact["date"], fact


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def iso_seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


# --- 5: a ZIP bomb and a huge attachment from the operator's own address ------------------------


def zip_bomb(size: int = 1 << 30) -> bytes:
    """A ZIP whose one member is ``size`` bytes of zeros (deflated to about a thousandth), built in chunks."""
    chunk = bytes(MB)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("detalizaciya.xml", "w", force_zip64=True) as member:
            for _ in range(size // MB):
                member.write(chunk)
    return buffer.getvalue()


class HeldBackMail:
    """A mail handed to the SMTP receiver up to its closing dot, so that it arrives the moment it is finished.

    A 100 MB attachment takes seconds to transfer; held back like this, the mail still arrives within a
    second or two of the moment the test chooses (after the robot's order, before the portal's e-mail).
    """

    def __init__(self, settings: dict[str, str], sender: str, raw: bytes):
        self.smtp = smtplib.SMTP(settings["IMAP_HOST"], int(settings["SANDBOX_SMTP_PORT"]), timeout=120)
        self.smtp.ehlo()
        self.smtp.mail(sender)
        self.smtp.rcpt(settings["REPORT_EMAIL"])
        code, reply = self.smtp.docmd("DATA")
        assert code == 354, reply
        data = re.sub(rb"(?m)^\.", b"..", raw)
        self.smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")

    def deliver(self) -> None:
        self.smtp.send(b".\r\n")
        code, reply = self.smtp.getreply()
        assert code == 250, reply

    def close(self) -> None:
        self.smtp.close()


def sample(pid: int) -> tuple[int | None, int | None]:
    """The process's peak resident memory (VmHWM, bytes) and bytes written to disk so far, if readable."""
    hwm = written = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                written = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return hwm, written


def test_a_zip_bomb_and_a_100_mb_attachment_cost_neither_memory_nor_disk(tmp_path):
    max_document_size = 150_000_000
    bomb = zip_bomb()
    with sandbox_process("--fault", "silent-orders", "--delivery-delay", "8") as sandbox:
        account = sandbox.settings["MTS_ACCOUNTS"].split(",")[0]
        state = tmp_path / "state" / "ledger-state.json"
        settings = dict(
            sandbox.settings,
            MTS_ACCOUNTS=account,
            BROWSER_TIMEOUT="5s",
            MAX_DOCUMENT_SIZE=str(max_document_size),
            LEDGER_STATE_FILE=str(state),
        )
        sender, to = settings["MAIL_FROM"], settings["REPORT_EMAIL"]
        bomb_mail = mail(sender, to, BOMB_SUBJECT)
        bomb_mail.add_attachment(bomb, maintype="application", subtype="zip", filename="detalizaciya.zip")
        huge_mail = mail(sender, to, HUGE_SUBJECT)
        huge_mail.add_attachment(os.urandom(100_000_000), maintype="application", subtype="xml", filename=HUGE_NAME)
        huge = HeldBackMail(settings, sender, as_smtp_bytes(huge_mail))
        del huge_mail

        robot = start_robot(tmp_path / "results", settings)
        peak = written = 0
        try:
            wait_until(lambda: ordering_or_ordered(state), "the robot sets out to order the invoice", run=robot)
            send(settings, bomb_mail)
            huge.deliver()
            deadline = time.monotonic() + 600
            while robot.process.poll() is None and time.monotonic() < deadline:
                hwm, io_written = sample(robot.process.pid)
                peak, written = hwm or peak, io_written if io_written is not None else written
                time.sleep(0.1)
        finally:
            huge.close()
            run = robot.finish()

        figures = f"robot's peak memory (VmHWM) {peak / MB:.1f} MiB, disk writes {written / MB:.1f} MiB"
        print(f"\n{figures}, run {run.seconds:.1f} s")
        assert run.returncode == 0, f"{figures}\n{run.output}"
        summary = summary_of(run)
        assert_uploaded_once(summary, settings, [account])
        (entry,) = summary["documents"]
        assert entry["order_id"] is None, "the order was never confirmed: its mail was matched by content"
        reasons = {fact["subject"]: fact["reason"] for fact in ignored_from(summary, sender)}
        for subject in (BOMB_SUBJECT, HUGE_SUBJECT):
            assert "none of the documents awaited" in reasons.get(subject, ""), f"{subject}: {reasons}"
        assert peak and peak < 400 * MB, figures
        assert written and written < max_document_size + 60 * MB, figures
        outputs = tmp_path / "results"
        assert not list(outputs.rglob(".staging-*")), "nothing of the bomb remains on disk"
        largest = max(path.stat().st_size for path in outputs.rglob("*") if path.is_file())
        assert largest < 10 * MB, f"a file of {largest} bytes stayed in the results"
