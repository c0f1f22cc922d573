"""Local stand-ins of the systems the robot works with.

The portal («Виртуальный менеджер»), the mail server (dovecot behind an SMTP
receiver) and Tarifer run on free loopback ports with fresh random secrets.
``python -m sandbox`` starts all of them; see ``sandbox/stack.py``.
"""
