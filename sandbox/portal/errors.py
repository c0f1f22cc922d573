"""Requests the portal refuses, with the Russian message the user sees."""


class PortalError(Exception):
    """A refused request; ``str(error)`` is the message, ``status`` the HTTP status."""

    status = 400


class NotFound(PortalError):
    """A request for an account or number the login does not have."""

    status = 404
