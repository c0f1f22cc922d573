"""Helpers shared by the tests: folders dovecot can enter, sending mail, real PDFs."""

from __future__ import annotations

import smtplib
import subprocess
import tempfile
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from fpdf import FPDF

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def world_traversable_folder(prefix: str = "mts-test-") -> Path:
    """A fresh 0755 folder under /tmp (pytest's tmp_path is 0700, which dovecot's 'nobody' cannot enter)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    return folder


def send_mail(host: str, port: int, message: EmailMessage) -> None:
    """Send ``message`` over plain SMTP to ``host:port``."""
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        smtp.send_message(message)


def pdf_bytes(*lines: str) -> bytes:
    """A real one-page PDF with the given lines of (Cyrillic) text."""
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=10)
    for line in lines:
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """``(certificate, key)`` of a fresh self-signed certificate for 127.0.0.1 and localhost."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2"]
        + ["-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Started(Exception):
    """Raised by the stand-in sandbox once ``python -m sandbox`` has built its options."""


def sandbox_options_from(monkeypatch, tmp_path: Path, *options: str):
    """The ``SandboxOptions`` that ``python -m sandbox --data-dir … --env-file … *options`` builds (nothing starts)."""
    import sandbox.__main__ as sandbox_main  # noqa: PLC0415 (only the tests of the command need it)

    seen = []

    class OptionsOnly:
        def __init__(self, built):
            seen.append(built)

        def __enter__(self):
            raise _Started

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(sandbox_main, "Sandbox", OptionsOnly)
    monkeypatch.setattr(sandbox_main.signal, "signal", lambda *args: None)
    try:
        sandbox_main.main(["--data-dir", str(tmp_path), "--env-file", str(tmp_path / "env"), *options])
    except _Started:
        return seen[0]
    raise AssertionError("python -m sandbox did not build its options")


class NotStartedMail:
    """A mail server for ``sandbox.stack`` that is never started: the settings need only its addresses."""

    host, smtp_port, imap_port, ca_file = "127.0.0.1", 1, 2, Path("/nonexistent/cert.pem")

    def __init__(self, *args, **options):
        pass

    def start(self):
        return self

    def stop(self):
        pass


def smtp_through(server, user: str) -> dict[str, str]:
    """The SMTP settings that send through the stand-in mail ``server``, over verified STARTTLS, as ``user``."""
    return {
        "SMTP_HOST": server.host,
        "SMTP_PORT": str(server.smtp_port),
        "SMTP_TLS": "starttls",
        "SMTP_CA_FILE": str(server.ca_file),
        "SMTP_USER": user,
        "SMTP_PASSWORD": server.users[user],
    }


@contextmanager
def outage(data_dir: Path, stand_in: str):
    """The stand-in ``stand_in`` (``portal`` or ``tarifer``) of the sandbox in ``data_dir`` answers 503
    while the block runs (its ``OUTAGE`` file)."""
    switch = data_dir / stand_in / "OUTAGE"
    switch.touch()
    try:
        yield
    finally:
        switch.unlink()
