"""Delivery of ordered documents by e-mail, a while after the order."""

from __future__ import annotations

import hashlib
import logging
import smtplib
import threading
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sandbox.dataset import Account
from sandbox.portal import texts
from sandbox.portal.documents import ZIP_CONTENT_TYPE, Document
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


class DeliveryQueue:
    """Sends each order's e-mail ``delay`` seconds after it is scheduled.

    Every outcome (sent, failed, cancelled) is logged and appended to the
    delivery journal.
    """

    def __init__(self, smtp_host: str, smtp_port: int, delay: float, journal: JsonLines):
        """Send by SMTP to ``smtp_host:smtp_port`` and journal to ``journal``."""
        self._smtp_host = smtp_host
        self._smtp_port = smtp_port
        self._delay = delay
        self._journal = journal
        self._timers: dict[str, tuple[threading.Timer, Order]] = {}
        self._running = 0
        self._changed = threading.Condition()

    def schedule(self, order: Order, build_message: Callable[[], EmailMessage]) -> None:
        """Deliver the message ``build_message`` returns for ``order``, later."""
        timer = threading.Timer(self._delay, self._deliver, args=(order, build_message))
        timer.daemon = True
        with self._changed:
            self._timers[order.order_id] = (timer, order)
        timer.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no delivery is pending or running; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._timers and not self._running, timeout)

    def shutdown(self) -> None:
        """Cancel the deliveries whose time has not come yet."""
        with self._changed:
            cancelled = list(self._timers.values())
            self._timers.clear()
            self._changed.notify_all()
        for timer, order in cancelled:
            timer.cancel()
            log.info("delivery of order %s cancelled", order.order_id)
            self._record(order.order_id, "cancelled", to=order.email, error=None)

    def _deliver(self, order: Order, build_message: Callable[[], EmailMessage]) -> None:
        """Build and send one order's message, unless it was cancelled."""
        with self._changed:
            if self._timers.pop(order.order_id, None) is None:
                return
            self._running += 1
        facts: dict = {}
        try:
            message = build_message()
            facts = _attachment_facts(message)
            with smtplib.SMTP(self._smtp_host, self._smtp_port, timeout=SMTP_TIMEOUT) as smtp:
                smtp.send_message(message)
        except Exception as error:
            log.exception("delivery of order %s to %s failed", order.order_id, order.email)
            self._record(order.order_id, "failed", to=order.email, error=repr(error), **facts)
        else:
            log.info("order %s delivered to %s", order.order_id, order.email)
            self._record(order.order_id, "sent", to=order.email, error=None, **facts)
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def _record(self, order_id: str, status: str, **facts) -> None:
        """Append one delivery outcome to the journal."""
        self._journal.append({"order_id": order_id, "at": now_iso(), "status": status, **facts})
