"""Delivery of ordered documents by e-mail, a while after the order."""

from __future__ import annotations

import hashlib
import logging
import math
import smtplib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sandbox.dataset import Account
from sandbox.portal import texts
from sandbox.portal.documents import ZIP_CONTENT_TYPE, Document
from sandbox.portal.faults import DUPLICATE_MAIL, REVERSED_MAIL
from sandbox.portal.journal import JsonLines, now_iso
from sandbox.portal.orders import DOCUMENT_TITLES, Order

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 30


def order_message(order: Order, account: Account, document: Document, *, sender: str) -> EmailMessage:
    """Return the e-mail that delivers an ordered document, attached."""
    title = DOCUMENT_TITLES[order.document]
    numbers = f", номера {', '.join(order.numbers)}," if order.numbers else ""
    packed = "Документ упакован в ZIP-архив.\n\n" if document.content_type == ZIP_CONTENT_TYPE else ""
    message = EmailMessage()
    message["From"] = Address(texts.SENDER_NAME, addr_spec=sender)
    message["To"] = order.email
    message["Subject"] = texts.ORDER_SUBJECT.format(order_id=order.order_id, document=title)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(
        "Здравствуйте!\n\n"
        f"Во вложении документ «{title}» по лицевому счёту {account.number} "
        f"(договор {account.contract}){numbers} за период {order.period_text}, "
        f"заказ № {order.order_id}.\n\n"
        f"{packed}"
        "Письмо сформировано автоматически, отвечать на него не нужно.\n"
        f"{texts.SENDER_NAME}\n"
    )
    maintype, _, subtype = document.content_type.partition("/")
    message.add_attachment(document.content, maintype=maintype, subtype=subtype, filename=document.filename)
    return message


def _attachment_facts(message: EmailMessage) -> dict:
    """Return the first attachment's file name, content type and SHA-256 for the delivery log."""
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        return {
            "attachment": part.get_filename(),
            "content_type": part.get_content_type(),
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
    return {"attachment": None, "content_type": None, "sha256": None}


@dataclass(frozen=True)
class _Delivery:
    """One order's e-mail, waiting to be built and sent."""

    order: Order
    build_message: Callable[[], EmailMessage]


class DeliveryQueue:
    """Sends each order's e-mail ``delay`` seconds after it is scheduled.

    One sender thread (started when something is scheduled, ending when
    nothing is left) sends the e-mails one after another in the order they
    fall due, so without faults they arrive in the order they were scheduled.

    ``switches`` (the app's config) is read for two fault switches:
    ``REVERSED_MAIL`` when an order is scheduled (the order is held back with
    the other held ones until none has been scheduled for ``delay`` seconds;
    then the held e-mails go out newest first) and ``DUPLICATE_MAIL`` when an
    e-mail has been built (it is sent twice, the same bytes in two SMTP
    sessions).

    Every outcome (sent, failed, cancelled) is logged and appended to the
    delivery journal; the record of a second copy says ``"copy": 2``.
    """

    def __init__(
        self,
        smtp_host: str,
        smtp_port: int,
        delay: float,
        journal: JsonLines,
        switches: Mapping[str, object] | None = None,
    ):
        """Send by SMTP to ``smtp_host:smtp_port`` and journal to ``journal``."""
        self._smtp_host = smtp_host
        self._smtp_port = smtp_port
        self._delay = delay
        self._journal = journal
        self._switches: Mapping[str, object] = {} if switches is None else switches
        self._waiting: deque[tuple[float, _Delivery]] = deque()
        """Scheduled deliveries with the monotonic time they fall due, earliest first."""
        self._held: list[_Delivery] = []
        """Deliveries held back by ``REVERSED_MAIL``, in the order they were scheduled."""
        self._held_until = 0.0
        """When the held deliveries fall due: ``delay`` after the last of them was scheduled."""
        self._ready: deque[_Delivery] = deque()
        """Deliveries whose time has come, in the order they are to be sent."""
        self._sending = False
        self._sender: threading.Thread | None = None
        self._changed = threading.Condition()

    def schedule(self, order: Order, build_message: Callable[[], EmailMessage]) -> None:
        """Deliver the message ``build_message`` returns for ``order``, later."""
        delivery = _Delivery(order, build_message)
        hold = bool(self._switches.get(REVERSED_MAIL))
        if hold:
            log.warning("fault reversed-mail: order %s is held back", order.order_id)
        with self._changed:
            due = time.monotonic() + self._delay
            if hold:
                self._held.append(delivery)
                self._held_until = due
            else:
                self._waiting.append((due, delivery))
            if self._sender is None:
                self._sender = threading.Thread(target=self._send_when_due, name="portal-delivery", daemon=True)
                self._sender.start()
            self._changed.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no delivery is pending or running; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending() and not self._sending, timeout)

    def shutdown(self) -> None:
        """Cancel the deliveries that are not being sent yet, held ones included."""
        with self._changed:
            cancelled = [*self._ready, *(delivery for _, delivery in self._waiting), *self._held]
            self._ready.clear()
            self._waiting.clear()
            self._held.clear()
            self._changed.notify_all()
        for delivery in cancelled:
            order = delivery.order
            log.info("delivery of order %s cancelled", order.order_id)
            self._record(order.order_id, "cancelled", to=order.email, error=None)

    def _pending(self) -> bool:
        """Whether a delivery is waiting, held or ready. Call with the lock held."""
        return bool(self._waiting or self._held or self._ready)

    def _send_when_due(self) -> None:
        """The sender thread: send each delivery when its time comes; end when none is left."""
        while True:
            with self._changed:
                delivery = self._next_delivery()
                if delivery is None:
                    self._sender = None
                    return
                self._sending = True
            try:
                self._deliver(delivery)
            finally:
                with self._changed:
                    self._sending = False
                    self._changed.notify_all()

    def _next_delivery(self) -> _Delivery | None:
        """Wait for the next delivery to fall due and take it; None if none is left. Call with the lock held."""
        while True:
            now = time.monotonic()
            self._release(now)
            if self._ready:
                return self._ready.popleft()
            if not self._pending():
                return None
            self._changed.wait(self._next_due() - now)

    def _next_due(self) -> float:
        """When the next waiting or held delivery falls due. Call with the lock held."""
        waiting = self._waiting[0][0] if self._waiting else math.inf
        held = self._held_until if self._held else math.inf
        return min(waiting, held)

    def _release(self, now: float) -> None:
        """Make the deliveries due by ``now`` ready, in the order they fell due. Call with the lock held.

        Held deliveries fall due together and are made ready newest first.
        """
        while True:
            waiting = self._waiting[0][0] if self._waiting else math.inf
            held = self._held_until if self._held else math.inf
            if min(waiting, held) > now:
                return
            if waiting <= held:
                self._ready.append(self._waiting.popleft()[1])
            else:
                log.warning("fault reversed-mail: sending %d held e-mails newest first", len(self._held))
                self._ready.extend(reversed(self._held))
                self._held.clear()

    def _deliver(self, delivery: _Delivery) -> None:
        """Build one order's message and send it (twice while ``DUPLICATE_MAIL`` is on)."""
        order = delivery.order
        facts: dict = {}
        try:
            message = delivery.build_message()
            facts = _attachment_facts(message)
            copies = 2 if self._switches.get(DUPLICATE_MAIL) else 1
            if copies > 1:
                log.warning("fault duplicate-mail: order %s is sent twice", order.order_id)
                # Writing the message out fixes its MIME boundaries, which are otherwise
                # chosen anew each time it is sent: so every copy is the same bytes.
                message.as_bytes()
        except Exception as error:
            log.exception("building the e-mail of order %s failed", order.order_id)
            self._record(order.order_id, "failed", to=order.email, error=repr(error), **facts)
            return
        for copy in range(1, copies + 1):
            copy_facts = {"copy": copy} if copy > 1 else {}
            try:
                with smtplib.SMTP(self._smtp_host, self._smtp_port, timeout=SMTP_TIMEOUT) as smtp:
                    smtp.send_message(message)
            except Exception as error:
                log.exception("delivery of order %s to %s failed", order.order_id, order.email)
                self._record(order.order_id, "failed", to=order.email, error=repr(error), **facts, **copy_facts)
                return
            log.info("order %s delivered to %s", order.order_id, order.email)
            self._record(order.order_id, "sent", to=order.email, error=None, **facts, **copy_facts)

    def _record(self, order_id: str, status: str, **facts) -> None:
        """Append one delivery outcome to the journal."""
        self._journal.append({"order_id": order_id, "at": now_iso(), "status": status, **facts})
