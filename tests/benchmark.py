"""Speed and memory of the robot and its stand-ins: ``make benchmark`` prints the figures.

Nothing here asserts a time; it measures, so that a change that makes the
month slower or hungrier shows up in numbers.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from libraries.call_details import check_call_details
from libraries.documents import check_invoice
from sandbox import dataset
from sandbox.call_details import render_call_details
from sandbox.invoice import render_invoice_pdf
from sandbox.stack import Sandbox, SandboxOptions
from tests.acceptance.robot_runs import run_robot
from tests.support import world_traversable_folder

PERIOD = "2026-10"
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)


def timed(action, repeat: int = 5) -> tuple[float, object]:
    """Median seconds of ``repeat`` calls of ``action`` and its last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def line(what: str, value: str) -> None:
    """Print one figure."""
    print(f"{what:<58} {value}")


def documents(work: Path) -> None:
    """Rendering and checking the documents."""
    login = dataset.generate(1)[0]
    account = max(login.accounts, key=lambda candidate: len(candidate.subscribers))
    seconds, pdf = timed(lambda: render_invoice_pdf(login, account, PERIOD, 1))
    line("invoice PDF: render", f"{seconds * 1000:.1f} ms, {len(pdf) / 1024:.0f} KiB")
    path = work / "invoice.pdf"
    path.write_bytes(pdf)
    seconds, _ = timed(lambda: check_invoice(path, account.number, PERIOD))
    line("invoice PDF: check before upload", f"{seconds * 1000:.1f} ms")
    numbers = [subscriber.number for subscriber in account.subscribers]
    for fmt in ("PDF", "XML", "HTML"):
        seconds, content = timed(
            lambda fmt=fmt: render_call_details(login, account, account.subscribers, FIRST, LAST, fmt, 1), repeat=3
        )
        size = f"{seconds * 1000:.0f} ms, {len(content) / 1024:.0f} KiB"
        line(f"call details {fmt}, {len(numbers)} numbers: render", size)
        path = work / f"details.{fmt.lower()}"
        path.write_bytes(content)
        seconds, _ = timed(lambda path=path, fmt=fmt: check_call_details(path, numbers, FIRST, LAST, fmt.lower()), 3)
        line(f"call details {fmt}: read and check", f"{seconds * 1000:.0f} ms")


def stand_ins() -> None:
    """Starting and stopping every stand-in."""
    folder = world_traversable_folder("mts-benchmark-")
    try:
        started = time.perf_counter()
        sandbox = Sandbox(SandboxOptions(data_dir=folder / "data")).start()
        line("sandbox: start (dovecot, portal, Tarifer)", f"{time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        sandbox.stop()
        line("sandbox: stop", f"{time.perf_counter() - started:.2f} s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def whole_month(work: Path) -> None:
    """``make run``: the whole month against the sandbox, in Chromium."""
    run = run_robot(work / "results", suite="robot")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    line("whole month (robot robot): wall time", f"{run.seconds:.1f} s, exit code {run.returncode}")
    line("largest child process (peak RSS)", f"{children.ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    """Print every figure."""
    with tempfile.TemporaryDirectory() as work:
        documents(Path(work))
        stand_ins()
        whole_month(Path(work))


if __name__ == "__main__":
    main()
