"""Faults the portal stand-in can be switched into, to test how the robot copes."""

WRONG_DOCUMENT = "WRONG_DOCUMENT"
"""The ``app.config`` switch that makes each e-mail built while it is on carry
the document of another account and an earlier month under the ordered file name."""

SILENT_ORDERS = "SILENT_ORDERS"
"""The ``app.config`` switch that makes the portal accept an order (and send its
e-mail) but keep its answer back for ``SILENT_ORDER_SECONDS``, as a portal that
hangs after «Заказать» does: the order went through, but nobody was told."""

SILENT_ORDER_SECONDS = 120

REVERSED_MAIL = "REVERSED_MAIL"
"""The ``app.config`` switch that makes the portal hold back each order placed while
it is on and send the held e-mails newest first, once no order has been placed for
the delivery delay: the real portal does not promise to deliver in order."""

DUPLICATE_MAIL = "DUPLICATE_MAIL"
"""The ``app.config`` switch that makes each e-mail sent while it is on go out twice,
the same bytes with the same Message-ID, as a mail server retrying a delivery does."""

FAULTS = {
    "wrong-document": WRONG_DOCUMENT,
    "silent-orders": SILENT_ORDERS,
    "reversed-mail": REVERSED_MAIL,
    "duplicate-mail": DUPLICATE_MAIL,
}
"""Fault switches for tests of the robot: option name → ``app.config`` key."""
