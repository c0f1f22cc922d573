"""Waiting for mail in IMAP IDLE: against the real dovecot, and against a scripted server for what dovecot
will not do on demand (keep-alives, literals, refusals, a dropped connection)."""

from __future__ import annotations

import imaplib
import socket
import statistics
import threading
import time
from collections.abc import Callable
from imaplib import IMAP4

import pytest

import libraries.mailbox as mailbox_module
from libraries.mailbox import IdleRefused, Mailbox, idle
from tests.unit import test_mailbox_library as base
from tests.unit.test_mailbox_library import INVOICE, MB, OTHER, OTHER_INVOICE, SENDERS, mail, order

# The real dovecot, a fresh mailbox and ledger per test: the fixtures of the mailbox library's tests.
server, mailbox, ledger = base.server, base.mailbox, base.ledger


def later(seconds: float, action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` in a thread after ``seconds`` (as the portal's mail would come during the wait)."""
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    thread.start()
    return thread


class Sent:
    """When a mail was handed to SMTP and when SMTP (delivery into dovecot included) accepted it."""

    def __init__(self, server, subject: str, attachment: bytes | None):
        self.server, self.subject, self.attachment = server, subject, attachment
        self.started = self.delivered = None

    def __call__(self) -> None:
        self.started = time.monotonic()
        mail(self.server, self.subject, self.attachment)
        self.delivered = time.monotonic()


@pytest.fixture
def idles(monkeypatch):
    """Every IDLE the mailbox waits in: ``(returned at, whether it reported new mail)``; every wait of
    the pass a full interval (no quick looks), so that what is noticed is noticed by IDLE."""
    monkeypatch.setattr(mailbox_module, "QUICK_LOOKS", ())
    calls: list[tuple[float, bool]] = []

    def recorded(conn, seconds):
        news = idle(conn, seconds)
        calls.append((time.monotonic(), news))
        return news

    monkeypatch.setattr(mailbox_module, "idle", recorded)
    return calls


def collect(mailbox, ledger, tmp_path, *wanted, interval, timeout=60):
    started = time.monotonic()
    mailbox.collect(ledger, str(tmp_path / "results" / "documents"), list(wanted), SENDERS, 200 * MB, timeout, interval)
    return time.monotonic() - started


def test_a_mail_is_noticed_within_a_second_while_the_interval_is_half_a_minute(
    server, mailbox, ledger, tmp_path, idles
):
    key = order(ledger, order_id="1001")
    sent = Sent(server, "Заказ № 1001: Сформированные счета", INVOICE)
    sending = later(1, sent)
    elapsed = collect(mailbox, ledger, tmp_path, key, interval=30)
    sending.join()
    assert ledger.document_status(key) == "received"
    assert elapsed < 10
    noticed = next(at for at, news in idles if news)
    print(
        f"\nnotice latency: {noticed - sent.delivered:.3f} s after SMTP accepted the mail "
        f"({noticed - sent.started:.3f} s after it was sent); collected in {elapsed:.2f} s"
    )
    assert noticed - sent.delivered < 2  # dovecot itself waits 0.5 s before it tells (NOTIFY_DELAY_MSECS)


def test_mail_soon_after_the_orders_is_taken_by_a_quick_look(server, mailbox, ledger, tmp_path, monkeypatch):
    """The first waits of a pass are short: a mail landing half a second in is taken within about a
    second even with no IDLE and a poll interval of half a minute."""
    monkeypatch.setattr(Mailbox, "server_offers_idle", lambda self: False)
    waits: list[float] = []
    wait_for_mail = Mailbox.wait_for_mail

    def recorded(self, seconds):
        waits.append(seconds)
        return wait_for_mail(self, seconds)

    monkeypatch.setattr(Mailbox, "wait_for_mail", recorded)
    key = order(ledger, order_id="1007")
    sending = later(0.5, lambda: mail(server, "Заказ № 1007: Сформированные счета", INVOICE))
    elapsed = collect(mailbox, ledger, tmp_path, key, interval=30)
    sending.join()
    assert ledger.document_status(key) == "received"
    assert elapsed < 5
    quick = mailbox_module.QUICK_LOOKS
    assert waits[: len(quick)] == pytest.approx(list(quick[: len(waits)]), abs=0.01)


def test_without_idle_the_mailbox_is_polled(server, mailbox, ledger, tmp_path, monkeypatch):
    monkeypatch.setattr(Mailbox, "server_offers_idle", lambda self: False)
    monkeypatch.setattr(mailbox_module, "idle", lambda conn, seconds: pytest.fail("IDLE used where not offered"))
    key = order(ledger, order_id="1002")
    later(1, lambda: mail(server, "Заказ № 1002: Сформированные счета", INVOICE))
    elapsed = collect(mailbox, ledger, tmp_path, key, interval=2)
    assert ledger.document_status(key) == "received"
    assert 1 < elapsed < 10


def test_dovecot_does_offer_idle(mailbox):
    assert mailbox.server_offers_idle()


def test_a_server_refusing_idle_is_polled_on_the_same_connection(server, mailbox, ledger, tmp_path, monkeypatch):
    """dovecot answers an unknown command BAD: as a server without IDLE would answer IDLE."""
    conn = mailbox.imap.imap_conn
    send = conn.send
    monkeypatch.setattr(conn, "send", lambda data: send(data.replace(b" IDLE\r\n", b" XIDLE\r\n")))
    key = order(ledger, order_id="1003")
    later(1, lambda: mail(server, "Заказ № 1003: Сформированные счета", INVOICE))
    elapsed = collect(mailbox, ledger, tmp_path, key, interval=2)
    assert ledger.document_status(key) == "received"
    assert mailbox.idle_refused and mailbox.imap.imap_conn is conn
    assert 1 < elapsed < 10


def test_the_connection_stays_usable_after_idle(server, mailbox, ledger, tmp_path, idles):
    """Two documents coming at different times are collected in one pass, on one connection, by IDLE."""
    first, second = order(ledger, order_id="1004"), order(ledger, OTHER, "1005")
    conn = mailbox.imap.imap_conn
    later(1, lambda: mail(server, "Заказ № 1004: Сформированные счета", INVOICE))
    later(3, lambda: mail(server, "Заказ № 1005: Сформированные счета", OTHER_INVOICE))
    elapsed = collect(mailbox, ledger, tmp_path, first, second, interval=30)
    assert [ledger.document_status(key) for key in (first, second)] == ["received", "received"]
    assert elapsed < 10
    assert mailbox.imap.imap_conn is conn and not conn.tagged_commands
    assert sum(news for _, news in idles) >= 2
    assert conn.noop()[0] == "OK"


def test_a_connection_broken_while_idling_is_opened_again(server, mailbox, ledger, tmp_path, idles):
    key = order(ledger, order_id="1006")
    dropped = mailbox.imap.imap_conn
    later(1, lambda: dropped.sock.shutdown(socket.SHUT_RDWR))  # the network dropped the connection
    later(1.5, lambda: mail(server, "Заказ № 1006: Сформированные счета", INVOICE))
    elapsed = collect(mailbox, ledger, tmp_path, key, interval=3)
    assert ledger.document_status(key) == "received"
    assert mailbox.imap.imap_conn is not dropped
    assert elapsed < 10


def test_notice_latency_benchmark(server, mailbox):
    """Print only: how long after delivery the waiting mailbox hears of a mail (five samples)."""
    latencies = []
    for number in range(5):
        sent = Sent(server, f"Образец {number}", None)
        sending = later(0.2 + 0.1 * number, sent)
        started = time.monotonic()
        assert mailbox.wait_for_mail(30)
        noticed = time.monotonic()
        sending.join()
        assert noticed - started < 10
        latencies.append(noticed - sent.delivered)
    print(
        f"\nIDLE notice latency after delivery: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms ({', '.join(f'{value * 1000:.1f}' for value in latencies)} ms)"
    )


# A scripted IMAP server: what dovecot does not do on demand.

GREETING = b"* OK [CAPABILITY IMAP4rev1 IDLE] scripted\r\n"


class Scripted:
    """A plain-TCP IMAP server playing ``script``: ``b"IDLE"``-like command names to expect, bytes to send
    (``%TAG%`` is the last command's tag), floats to pause, ``None`` to hang up."""

    def __init__(self, *script):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.received: list[bytes] = []
        self.script = [b"CAPABILITY", b"* CAPABILITY IMAP4rev1 IDLE\r\n%TAG% OK done\r\n", *script]
        self.thread = threading.Thread(target=self.play, daemon=True)
        self.thread.start()

    def play(self) -> None:
        with self.listener:
            client, _ = self.listener.accept()
        with client, client.makefile("rb") as lines:
            client.sendall(GREETING)
            tag = b""
            for step in self.script:
                if step is None:
                    client.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(step, float):
                    time.sleep(step)
                elif step.isalpha():
                    line = lines.readline()
                    self.received.append(line)
                    words = line.split()
                    if words[0] != b"DONE":
                        tag = words[0]
                    assert words[-1] == step, (line, step)
                else:
                    client.sendall(step.replace(b"%TAG%", tag))
            time.sleep(5)  # hold the connection open for the client's last reads

    def connect(self, timeout: float) -> IMAP4:
        return imaplib.IMAP4("127.0.0.1", self.listener.getsockname()[1], timeout=timeout)


@pytest.fixture
def scripted():
    """``scripted(*script, timeout=5)``: a scripted server and an imaplib connection to it, closed afterwards."""
    connections: list[IMAP4] = []

    def start(*script, timeout: float = 5) -> tuple[Scripted, IMAP4]:
        played = Scripted(*script)
        connections.append(played.connect(timeout))
        return played, connections[-1]

    yield start
    for conn in connections:
        conn.shutdown()


NOOP = (b"NOOP", b"%TAG% OK NOOP done\r\n")


def test_keep_alives_and_literals_are_nothing_new_and_the_connection_stays_in_step(scripted):
    # a FETCH whose 12-byte literal looks like "* 9 EXISTS\r\n", then dovecot's keep-alive
    fetch = b"* 1 FETCH (BODY[HEADER] {12}\r\n* 9 EXISTS\r\n)\r\n"
    played, conn = scripted(
        b"IDLE", b"+ idling\r\n", 0.1, fetch, b"* OK Still here\r\n", b"DONE", b"%TAG% OK Idle done\r\n", *NOOP
    )
    started = time.monotonic()
    assert idle(conn, 1.0) is False
    assert 0.9 < time.monotonic() - started < 3
    assert conn.noop()[0] == "OK" and not conn.tagged_commands
    assert [line.split()[-1] for line in played.received] == [b"CAPABILITY", b"IDLE", b"DONE", b"NOOP"]


def test_news_sent_with_the_continuation_is_noticed_at_once(scripted):
    _, conn = scripted(b"IDLE", b"+ idling\r\n* 3 EXISTS\r\n* 1 RECENT\r\n", b"DONE", b"%TAG% OK Idle done\r\n", *NOOP)
    started = time.monotonic()
    assert idle(conn, 30) is True
    assert time.monotonic() - started < 1
    assert conn.noop()[0] == "OK"


def test_a_refused_idle_leaves_the_connection_usable(scripted):
    _, conn = scripted(b"IDLE", b"%TAG% BAD Unknown command\r\n", *NOOP)
    with pytest.raises(IdleRefused, match="BAD Unknown command"):
        idle(conn, 30)
    assert conn.noop()[0] == "OK" and not conn.tagged_commands


def test_the_server_may_end_idle_itself(scripted):
    played, conn = scripted(b"IDLE", b"+ idling\r\n", 0.2, b"%TAG% OK IDLE ended by the server\r\n", *NOOP)
    started = time.monotonic()
    assert idle(conn, 30) is False
    assert time.monotonic() - started < 3
    assert conn.noop()[0] == "OK"
    assert b"DONE\r\n" not in played.received


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ((b"IDLE", b"+ idling\r\n", 0.1, b"* BYE Server shutting down\r\n"), "Server shutting down"),
        ((b"IDLE", b"+ idling\r\n", 0.1, None), "closed the connection"),
        ((b"IDLE", b"+ idling\r\n", b"DONE", b"%TAG% OK done\r\n* 4 EXISTS\r\n"), "more than expected"),
        ((b"IDLE", 3.0), "did not answer IDLE"),
        ((b"IDLE", b"+ idling\r\n", b"DONE", 3.0), "did not answer DONE"),
    ],
    ids=["bye", "hang-up", "out-of-step", "no-continuation", "no-answer-to-done"],
)
def test_a_broken_connection_raises_what_collect_reconnects_on(scripted, script, message):
    _, conn = scripted(*script, timeout=0.5)
    started = time.monotonic()
    with pytest.raises((IMAP4.abort, OSError), match=message):
        idle(conn, 0.3)
    assert time.monotonic() - started < 2.5
