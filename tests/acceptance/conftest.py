"""Acceptance fixtures: the robot run as a user runs it, against the stand-ins."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.stack import read_env_file
from tests.support import world_traversable_folder
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
    env.update(settings or {})
    command = [sys.executable, "-m", "robot", "--argumentfile", "robot/options.args", "--outputdir", str(outputdir)]
    started = time.monotonic()
    done = subprocess.run(
        [*command, suite], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    return RobotRun(done.returncode, done.stdout + done.stderr, outputdir, time.monotonic() - started)


@dataclass
class RunningSandbox:
    """``python -m sandbox`` started by the test, with the settings it wrote."""

    settings: dict[str, str]
    data_dir: Path


@pytest.fixture(scope="module")
def running_sandbox():
    """The stand-ins started on their own, as a person would for the production path."""
    folder = world_traversable_folder("mts-acceptance-")
    env_file = folder / "sandbox.env"
    command = [sys.executable, "-m", "sandbox", "--data-dir", str(folder / "data"), "--env-file", str(env_file)]
    with open(folder / "sandbox.log", "wb") as log:
        process = subprocess.Popen([*command, "--delivery-delay", "0.5"], cwd=ROOT, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while not env_file.exists():
            assert process.poll() is None, (folder / "sandbox.log").read_text()
            assert time.monotonic() < deadline, "the sandbox did not start within 60 s"
            time.sleep(0.1)
        yield RunningSandbox(read_env_file(env_file), folder / "data")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0
    assert not env_file.exists(), "the sandbox leaves no settings file with dead secrets behind"
