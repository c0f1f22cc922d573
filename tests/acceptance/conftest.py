"""Acceptance fixtures: the robot run as a user runs it, against the stand-ins."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from libraries.environment import read_env_file
from tests.acceptance.robot_runs import ROOT
from tests.support import world_traversable_folder


@dataclass
class RunningSandbox:
    """``python -m sandbox`` started by the test, with the settings it wrote."""

    settings: dict[str, str]
    data_dir: Path


@contextmanager
def sandbox_process(*options: str):
    """``python -m sandbox`` with ``options``, started as a person would for the production path."""
    folder = world_traversable_folder("mts-acceptance-")
    env_file = folder / "sandbox.env"
    command = [sys.executable, "-m", "sandbox", "--data-dir", str(folder / "data"), "--env-file", str(env_file)]
    with open(folder / "sandbox.log", "wb") as log:
        process = subprocess.Popen([*command, "--delivery-delay", "0.5", *options], cwd=ROOT, stdout=log, stderr=log)
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
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def running_sandbox():
    """The stand-ins running on their own, shared by a test module."""
    with sandbox_process() as sandbox:
        yield sandbox
