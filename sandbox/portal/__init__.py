"""The stand-in of the MTS corporate portal «Виртуальный менеджер».

``create_app(...)`` returns the Flask app; see ``sandbox/portal/app.py``.
"""

from sandbox.portal.app import Portal, create_app

__all__ = ["Portal", "create_app"]
