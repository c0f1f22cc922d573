"""Where the robot works: the real systems (production) or the local stand-ins (sandbox).

Production settings come from the environment (``variables/production.py``
lists them); a missing one fails at once, naming it. With no production
setting at all the robot starts the stand-ins (``python -m sandbox``) in a
temporary folder and reads the same settings from the file they write.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword, library
from robot.api.types import Secret

from sandbox.stack import read_env_file
from variables import production, sandbox

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def read_settings(environ: dict[str, str]) -> dict:
    """Validated settings from ``environ``; secrets wrapped as ``Secret``.

    Raises ``RuntimeError`` naming every missing required setting.
    """
    missing = [f"{name} ({meaning})" for name, meaning in production.REQUIRED.items() if not environ.get(name)]
    if missing:
        raise RuntimeError("Missing production settings: " + "; ".join(missing))
    settings = {name: environ[name] for name in production.REQUIRED}
    for name, (default, _) in production.OPTIONAL.items():
        settings[name] = environ.get(name, "").strip() or default
    for name in production.SECRETS:
        settings[name] = Secret(settings[name])
    settings["MTS_ACCOUNTS"] = [item.strip() for item in settings["MTS_ACCOUNTS"].split(",") if item.strip()]
    return settings


class SandboxProcess:
    """``python -m sandbox`` running in a temporary folder until stopped."""

    def __init__(self, seed: int, delivery_delay: float):
        self.data_dir = Path(tempfile.mkdtemp(prefix="mts-sandbox-"))
        os.chmod(self.data_dir, 0o755)
        self.env_file = self.data_dir / "sandbox.env"
        self.log_file = self.data_dir / "sandbox.log"
        command = [sys.executable, "-m", "sandbox", "--data-dir", str(self.data_dir / "data")]
        command += ["--env-file", str(self.env_file), "--seed", str(seed), "--delivery-delay", str(delivery_delay)]
        with open(self.log_file, "wb") as log:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float) -> dict[str, str]:
        """Return the settings the sandbox wrote, once it answers; fail if it dies or times out."""
        deadline = time.monotonic() + timeout
        while not self.env_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"The sandbox failed to start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"The sandbox did not start within {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)
        return read_env_file(self.env_file)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the sandbox printed."""
        text = self.log_file.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the sandbox and remove its folder."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@library(scope="GLOBAL", auto_keywords=False)
class Environment:
    """Starts (in the sandbox) or reads (in production) the systems the robot works with."""

    def __init__(self):
        self.sandbox: SandboxProcess | None = None

    @keyword("Prepare Environment")
    def prepare_environment(self, environment: str) -> dict:
        """Return the settings of ``environment`` (``SANDBOX`` or ``PRODUCTION``).

        In the sandbox the stand-ins are started first, on free loopback ports
        with fresh random passwords, and stopped by `Release Environment`.
        """
        if environment == "PRODUCTION":
            return read_settings(dict(os.environ))
        self.sandbox = SandboxProcess(sandbox.SEED, sandbox.DELIVERY_DELAY)
        try:
            values = self.sandbox.wait_ready(sandbox.START_TIMEOUT)
        except BaseException:
            self.release_environment()
            raise
        values.setdefault("MAIL_TIMEOUT", sandbox.MAIL_TIMEOUT)
        values.setdefault("MAIL_POLL_INTERVAL", sandbox.MAIL_POLL_INTERVAL)
        logger.info(f"Sandbox started: portal {values['MTS_PORTAL_URL']}, Tarifer {values['TARIFER_URL']}.")
        return read_settings(values)

    @keyword("Release Environment")
    def release_environment(self) -> None:
        """Stop the stand-ins if this run started them; nothing to do in production."""
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
