"""The portal stand-in's delivery faults: e-mails out of order (reversed-mail) and twice (duplicate-mail).

The delivery queue sends to a real SMTP receiver (aiosmtpd) that notes when
each message arrives; the sandbox's MAIL_FROM is checked against the mail the
whole sandbox delivers into its real mailbox.
"""

from __future__ import annotations

import email
import imaplib
import shutil
import ssl
import time
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import pytest
from aiosmtpd.controller import Controller

from sandbox.__main__ import parse_args
from sandbox.portal import FAULTS
from sandbox.portal.app import DEFAULT_SENDER
from sandbox.portal.delivery import DeliveryQueue
from sandbox.portal.faults import DUPLICATE_MAIL, REVERSED_MAIL
from sandbox.portal.journal import JsonLines
from sandbox.portal.orders import Order
from sandbox.stack import Sandbox, SandboxOptions
from tests.support import world_traversable_folder
from tests.unit.test_portal import FIRST, Inbox, free_port, journal, log_in, login_form, make_app, order, select

DELAY = 0.2
"""The delivery delay of most tests, in seconds."""
PATIENCE = 10
"""How long a test waits for deliveries that are bound to happen."""


class TimedInbox(Inbox):
    """An Inbox that also notes the monotonic time each message arrived."""

    def __init__(self) -> None:
        """Start with an empty inbox."""
        super().__init__()
        self.arrived_at: list[float] = []

    async def handle_DATA(self, server, session, envelope):
        """Note the time, then store the message and accept it."""
        self.arrived_at.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)

    @property
    def subjects(self) -> list[str]:
        """The subjects of the messages, in the order they arrived."""
        return [message["Subject"] for message in self.messages]


@pytest.fixture
def inbox():
    """A local SMTP receiver on a free port: yields (port, inbox)."""
    inbox = TimedInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def queue_to(tmp_path, inbox):
    """Make a DeliveryQueue to the receiver with a delay and fault switches; shut them all down afterwards."""
    port, _ = inbox
    queues = []

    def make(switches: dict, delay: float = DELAY) -> DeliveryQueue:
        """A queue journaling to ``tmp_path/deliveries.jsonl`` that reads ``switches``."""
        queue = DeliveryQueue("127.0.0.1", port, delay, JsonLines(tmp_path / "deliveries.jsonl"), switches)
        queues.append(queue)
        return queue

    yield make
    for queue in queues:
        queue.shutdown()


def make_order(order_id: str) -> Order:
    """An invoice order with this number."""
    account = FIRST.accounts[0]
    return Order(order_id=order_id, at="2026-11-15T09:00:00+00:00", login=FIRST.login, account=account.number,
                 document="invoice", email="buh@example.com", format="PDF", period="2026-10")


def letter(order: Order) -> EmailMessage:
    """A message with an attachment (so with a MIME boundary) whose subject is the order number."""
    message = EmailMessage()
    message["From"] = DEFAULT_SENDER
    message["To"] = order.email
    message["Subject"] = order.order_id
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="ihelper.mts.ru")
    message.set_content(f"Заказ № {order.order_id}")
    message.add_attachment(order.order_id.encode() * 100, maintype="application", subtype="pdf",
                           filename=f"{order.order_id}.pdf")
    return message


def schedule(queue: DeliveryQueue, order_id: str) -> float:
    """Schedule an order's letter; return the monotonic time just before."""
    before = time.monotonic()
    order = make_order(order_id)
    queue.schedule(order, lambda: letter(order))
    return before


def sends(tmp_path) -> list[tuple[str, str, int]]:
    """The delivery journal as (order number, status, copy) in the order of the records."""
    return [(r["order_id"], r["status"], r.get("copy", 1)) for r in journal(tmp_path, "deliveries.jsonl")]


# The delivery queue


def test_without_faults_mails_arrive_in_the_order_scheduled(queue_to, inbox, tmp_path):
    """Each mail goes out once, ``delay`` after its order, in the order of the orders."""
    _, received = inbox
    queue = queue_to({REVERSED_MAIL: False, DUPLICATE_MAIL: False})
    scheduled = [schedule(queue, order_id) for order_id in "ABCDE"]
    assert queue.wait(PATIENCE)
    assert received.subjects == list("ABCDE")
    assert all(arrived >= at + DELAY for arrived, at in zip(received.arrived_at, scheduled, strict=True))
    assert sends(tmp_path) == [(order_id, "sent", 1) for order_id in "ABCDE"]


def test_reversed_mail_holds_the_mails_until_no_order_came_for_the_delay(queue_to, inbox, tmp_path):
    """A, B, C ordered less than ``delay`` apart arrive C, B, A, all ``delay`` after C: A waited longer than that."""
    _, received = inbox
    delay, gap = 0.3, 0.2
    queue = queue_to({REVERSED_MAIL: True}, delay)
    first = schedule(queue, "A")
    assert queue.wait(gap) is False
    schedule(queue, "B")
    assert queue.wait(gap) is False
    last = schedule(queue, "C")
    assert last - first > delay, "A was held past its own delivery time"
    assert received.messages == []
    assert queue.wait(PATIENCE)
    assert received.subjects == ["C", "B", "A"]
    assert min(received.arrived_at) >= last + delay
    assert sends(tmp_path) == [("C", "sent", 1), ("B", "sent", 1), ("A", "sent", 1)]


def test_an_order_placed_while_reversed_mail_is_off_is_not_held(queue_to, inbox):
    """The switch is read when an order is scheduled: later orders keep their own time."""
    _, received = inbox
    switches = {REVERSED_MAIL: True}
    queue = queue_to(switches)
    schedule(queue, "A")
    schedule(queue, "B")
    switches[REVERSED_MAIL] = False
    schedule(queue, "C")
    assert queue.wait(PATIENCE)
    assert received.subjects == ["B", "A", "C"]


def test_duplicate_mail_sends_each_mail_twice_byte_for_byte(queue_to, inbox, tmp_path):
    """Two identical copies (same Message-ID, same bytes) of every mail; the journal has both sends."""
    _, received = inbox
    queue = queue_to({DUPLICATE_MAIL: True})
    schedule(queue, "A")
    schedule(queue, "B")
    assert queue.wait(PATIENCE)
    assert received.subjects == ["A", "A", "B", "B"]
    first_a, second_a, first_b, second_b = received.raw
    assert first_a == second_a and first_b == second_b and first_a != first_b
    ids = [message["Message-ID"] for message in received.messages]
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert sends(tmp_path) == [("A", "sent", 1), ("A", "sent", 2), ("B", "sent", 1), ("B", "sent", 2)]
    assert "copy" not in journal(tmp_path, "deliveries.jsonl")[0]


def test_both_faults_together(queue_to, inbox):
    """Newest first, each twice."""
    _, received = inbox
    queue = queue_to({REVERSED_MAIL: True, DUPLICATE_MAIL: True})
    for order_id in "ABC":
        schedule(queue, order_id)
    assert queue.wait(PATIENCE)
    assert received.subjects == ["C", "C", "B", "B", "A", "A"]


def test_shutdown_cancels_held_and_waiting_deliveries(queue_to, inbox, tmp_path):
    """Held and waiting mails are journaled as cancelled and never sent."""
    _, received = inbox
    switches = {REVERSED_MAIL: True}
    queue = queue_to(switches, delay=30)
    schedule(queue, "A")
    schedule(queue, "B")
    switches[REVERSED_MAIL] = False
    schedule(queue, "C")
    assert queue.wait(0.1) is False
    queue.shutdown()
    assert queue.wait(1)
    assert sorted(sends(tmp_path)) == [("A", "cancelled", 1), ("B", "cancelled", 1), ("C", "cancelled", 1)]
    assert received.messages == []


def test_a_failed_copy_is_journaled_as_failed(tmp_path):
    """Without a receiver the first copy fails and no second one is tried."""
    queue = DeliveryQueue("127.0.0.1", free_port(), 0.05, JsonLines(tmp_path / "deliveries.jsonl"),
                          {DUPLICATE_MAIL: True})
    schedule(queue, "A")
    assert queue.wait(PATIENCE)
    assert sends(tmp_path) == [("A", "failed", 1)]


# The portal's fault switches


def test_the_portal_reads_the_mail_faults_from_its_config(tmp_path, inbox):
    """``app.config`` switches reach the portal's deliveries; a fresh portal has them off."""
    port, received = inbox
    app = make_app(tmp_path, smtp_port=port, delivery_delay=DELAY)
    portal = app.extensions["portal"]
    try:
        assert (app.config[REVERSED_MAIL], app.config[DUPLICATE_MAIL]) == (False, False)
        client = app.test_client()
        log_in(client)
        select(client, account=FIRST.accounts[0].number)

        app.config[REVERSED_MAIL] = True
        ordered = [order(client).json["order_id"] for _ in range(3)]
        assert portal.wait_deliveries(PATIENCE)
        assert [m["Subject"].split(":")[0] for m in received.messages] == [f"Заказ № {n}" for n in ordered[::-1]]

        app.config.update({REVERSED_MAIL: False, DUPLICATE_MAIL: True})
        twice = order(client).json["order_id"]
        assert portal.wait_deliveries(PATIENCE)
        assert received.raw[3] == received.raw[4] and twice in received.messages[4]["Subject"]
        assert sends(tmp_path)[3:] == [(twice, "sent", 1), (twice, "sent", 2)]
    finally:
        portal.shutdown()


# python -m sandbox


def test_every_fault_can_be_switched_on_and_is_described(capsys, monkeypatch):
    """``--fault`` takes every fault's name, repeatedly, and its help text describes each of them."""
    monkeypatch.setenv("COLUMNS", "1000")
    assert {"reversed-mail": REVERSED_MAIL, "duplicate-mail": DUPLICATE_MAIL}.items() <= FAULTS.items()
    args = parse_args(["--data-dir", "d", "--env-file", "e", "--fault", "reversed-mail", "--fault", "duplicate-mail"])
    assert args.fault == ["reversed-mail", "duplicate-mail"]
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    description = help_text[help_text.index("switch a portal fault on"):]
    for name in FAULTS:
        assert f"{name} " in description, name


def test_sandbox_mail_from_is_the_sender_of_the_portal_mails():
    """The whole sandbox with duplicate-mail: both copies land in the robot's mailbox, from MAIL_FROM."""
    folder = world_traversable_folder()
    options = SandboxOptions(data_dir=folder / "data", delivery_delay=0.05, faults=("duplicate-mail",))
    try:
        with Sandbox(options) as sandbox:
            settings = sandbox.settings()
            assert settings["MAIL_FROM"] == DEFAULT_SENDER
            portal = sandbox.portal_app.extensions["portal"]
            client = sandbox.portal_app.test_client()
            login = client.post("/selfcare/login", data=login_form(settings["MTS_LOGIN"], settings["MTS_PASSWORD"]))
            assert login.status_code == 302
            select(client, account=settings["MTS_ACCOUNTS"].split(",")[0])
            period = portal.closed_periods()[0]
            assert order(client, period=period, email=settings["REPORT_EMAIL"]).status_code == 201
            assert portal.wait_deliveries(PATIENCE)
            messages = mailbox(settings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert len(messages) == 2
    assert messages[0]["Message-ID"] == messages[1]["Message-ID"]
    assert {parseaddr(str(message["From"]))[1] for message in messages} == {settings["MAIL_FROM"]}


def mailbox(settings: dict[str, str]) -> list[email.message.EmailMessage]:
    """Every message in the robot's INBOX, read over IMAPS as the robot reads it."""
    tls = ssl.create_default_context(cafile=settings["IMAP_CA_FILE"])
    with imaplib.IMAP4_SSL(settings["IMAP_HOST"], int(settings["IMAP_PORT"]), ssl_context=tls) as imap:
        imap.login(settings["IMAP_USER"], settings["IMAP_PASSWORD"])
        imap.select("INBOX", readonly=True)
        _, (numbers,) = imap.search(None, "ALL")
        messages = []
        for number in numbers.split():
            _, data = imap.fetch(number, "(RFC822)")
            messages.append(email.message_from_bytes(data[0][1], policy=policy.default))
    return messages
