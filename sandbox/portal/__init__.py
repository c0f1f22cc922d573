"""The stand-in of the MTS corporate portal «Виртуальный менеджер».

``create_app(...)`` returns the Flask app; see ``sandbox/portal/app.py``.
"""

from sandbox.portal.app import DEFAULT_DETAILS_HISTORY_DAYS, DEFAULT_ZIP_ABOVE_BYTES, FAULTS, Portal, create_app
from sandbox.portal.tree import TREE_PAGE_SIZE

__all__ = [
    "DEFAULT_DETAILS_HISTORY_DAYS",
    "DEFAULT_ZIP_ABOVE_BYTES",
    "FAULTS",
    "TREE_PAGE_SIZE",
    "Portal",
    "create_app",
]
