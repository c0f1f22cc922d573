"""Running the robot as a user does, and reading what it left and what the stand-ins saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from variables import production

ROOT = Path(__file__).resolve().parents[2]
CONFIG_NAMES = set(production.REQUIRED) | set(production.OPTIONAL) | {"ROBOT_OPTIONS"}


@dataclass
class RobotRun:
    """The outcome of one robot run."""

    returncode: int
    output: str
    outputdir: Path
    seconds: float

    @property
    def summary_path(self) -> Path:
        """Where the run's summary.json is."""
        return self.outputdir / "summary.json"


def run_robot(outputdir: Path, settings: dict[str, str] | None = None, suite: str = "robot/monthly_invoice.robot"):
    """Run a suite like a user does, with exactly ``settings`` as configuration."""
    return run_robot_with(outputdir, settings or {}, suite=suite)


def summary_of(run) -> dict:
    return json.loads(run.summary_path.read_text(encoding="utf-8"))


def tarifer_answer(settings, path: str) -> dict:
    """What Tarifer's API (the stand-in's) answers to ``GET path``."""
    response = requests.get(
        f"{settings['TARIFER_URL']}/{path}",
        headers={"Authorization": f"Bearer {settings['TARIFER_TOKEN']}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def tarifer_listing(settings) -> list[dict]:
    return tarifer_answer(settings, "documents")["documents"]


def tarifer_index(data_dir: Path) -> dict:
    """Tarifer's index as its stand-in keeps it on disk (written before it answers an upload or a mail)."""
    try:
        return json.loads((data_dir / "tarifer" / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def orders(data_dir: Path) -> list[dict]:
    path = data_dir / "portal" / "orders.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def pictures(outputdir: Path) -> list[str]:
    """The names of the pictures a run left in its results, sorted."""
    return sorted(path.name for path in outputdir.rglob("*") if path.suffix in (".png", ".jpeg"))


def login_attempts(data_dir: Path, login: str) -> list[dict]:
    path = data_dir / "portal" / "login_attempts.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [entry for entry in map(json.loads, lines) if entry["login"] == login]


def assert_no_secret_in(folder: Path, settings: dict[str, str]) -> None:
    names = [*production.SECRETS, *(name for name in settings if name.startswith("MTS_PASSWORD_"))]
    secrets = [settings[name].encode() for name in names if settings.get(name)]
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            leaked = [secret for secret in secrets if secret in content]
            assert not leaked, f"a secret leaked into {path}"


# --- Runs with extra options or in the background, and waiting for what they leave ---------------


def robot_environment(outputdir: Path, settings: dict[str, str]) -> dict[str, str]:
    """The environment of a run with exactly ``settings`` as configuration (none: the sandbox default)."""
    env = {name: value for name, value in os.environ.items() if name not in CONFIG_NAMES}
    if settings:
        # Production-path runs keep their ledger state beside their results, never in the project's state/.
        env["LEDGER_STATE_FILE"] = str(outputdir.parent / "state" / "ledger-state.json")
    env.update(settings)
    return env


def robot_command(outputdir: Path, *options: str, suite: str) -> list[str]:
    """``python -m robot`` as ``run_robot`` starts it, with ``options`` before the suite."""
    command = [sys.executable, "-m", "robot", "--argumentfile", "robot/options.args", "--outputdir", str(outputdir)]
    return [*command, *options, suite]


def run_robot_with(
    outputdir: Path, settings: dict[str, str], *options: str, suite: str = "robot/monthly_invoice.robot"
) -> RobotRun:
    """``run_robot`` with extra robot ``options`` (e.g. ``--rerunfailed output.xml``)."""
    started = time.monotonic()
    done = subprocess.run(
        robot_command(outputdir, *options, suite=suite),
        cwd=ROOT,
        env=robot_environment(outputdir, settings),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return RobotRun(done.returncode, done.stdout + done.stderr, outputdir, time.monotonic() - started)


class BackgroundRun:
    """A robot run started with ``start_robot``, going on while the test acts on the world."""

    def __init__(self, outputdir: Path, settings: dict[str, str], suite: str):
        self.outputdir = outputdir
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            robot_command(outputdir, suite=suite),
            cwd=ROOT,
            env=robot_environment(outputdir, settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for chunk in iter(lambda: self.process.stdout.read1(65536), b""):
            self.chunks.append(chunk)

    @property
    def output(self) -> str:
        """What the run printed so far."""
        return b"".join(self.chunks).decode("utf-8", "replace")

    def finish(self, timeout: float = 900) -> RobotRun:
        """Wait for the run to end and return its outcome (killing it after ``timeout`` s)."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        return RobotRun(self.process.returncode, self.output, self.outputdir, time.monotonic() - self.started)


def start_robot(outputdir: Path, settings: dict[str, str], suite: str = "robot/monthly_invoice.robot") -> BackgroundRun:
    """Start a production-path run like ``run_robot`` does, without waiting for it."""
    return BackgroundRun(outputdir, settings, suite)


def wait_until(condition, what: str, timeout: float = 120, run: BackgroundRun | None = None):
    """Poll ``condition`` every 0.1 s until it returns something true (returned), or fail naming ``what``.

    With ``run``, a robot run that ends before the condition holds fails at once, with its output.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if run is not None and run.process.poll() is not None:
            raise AssertionError(f"the robot ended (code {run.process.returncode}) before {what}:\n{run.output}")
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what}" + (f"\n{run.output}" if run else ""))
        time.sleep(0.1)


def ledger_state(path: Path) -> dict:
    """The ledger state file's content, or ``{}`` while it does not exist (it is replaced atomically)."""
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def deliveries(data_dir: Path) -> list[dict]:
    """The portal stand-in's delivery journal: one record per e-mail sent (``copy`` 2 for a duplicate)."""
    path = data_dir / "portal" / "deliveries.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
