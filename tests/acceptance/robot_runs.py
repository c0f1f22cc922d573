"""Running the robot as a user does, and reading what it left and what the stand-ins saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    env = {name: value for name, value in os.environ.items() if name not in CONFIG_NAMES}
    if settings:
        # Production-path runs keep their ledger state beside their results, never in the project's state/.
        settings = {"LEDGER_STATE_FILE": str(outputdir.parent / "state" / "ledger-state.json"), **settings}
    env.update(settings or {})
    command = [sys.executable, "-m", "robot", "--argumentfile", "robot/options.args", "--outputdir", str(outputdir)]
    started = time.monotonic()
    done = subprocess.run(
        [*command, suite], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    return RobotRun(done.returncode, done.stdout + done.stderr, outputdir, time.monotonic() - started)


def summary_of(run) -> dict:
    return json.loads(run.summary_path.read_text(encoding="utf-8"))


def tarifer_listing(settings) -> list[dict]:
    response = requests.get(
        f"{settings['TARIFER_URL']}/documents",
        headers={"Authorization": f"Bearer {settings['TARIFER_TOKEN']}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["documents"]


def orders(data_dir: Path) -> list[dict]:
    path = data_dir / "portal" / "orders.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def login_attempts(data_dir: Path, login: str) -> list[dict]:
    path = data_dir / "portal" / "login_attempts.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [entry for entry in map(json.loads, lines) if entry["login"] == login]


def assert_no_secret_in(folder: Path, settings: dict[str, str]) -> None:
    secrets = [settings[name].encode() for name in production.SECRETS]
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            leaked = [secret for secret in secrets if secret in content]
            assert not leaked, f"a secret leaked into {path}"
