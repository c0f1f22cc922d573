"""Running again: another output folder, --rerunfailed, a dry run, and two runs at once on one ledger state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from robot.api import ExecutionResult, ResultVisitor

from libraries.documents import check_invoice
from libraries.periods import last_closed_period
from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import (
    CONFIG_NAMES,
    ROOT,
    orders,
    run_robot,
    run_robot_with,
    start_robot,
    summary_of,
    tarifer_listing,
    wait_until,
)
from tests.support import outage

PERIOD = last_closed_period()
UPLOAD = "Upload The Invoices To Tarifer"
INVOICE_TASKS = (
    "Log In To The Virtual Manager",
    "Order The Invoice Of Every Personal Account",
    "Collect The Invoices From The Mailbox",
    UPLOAD,
)


def one_account(sandbox) -> tuple[str, dict[str, str]]:
    """The first personal account of the sandbox's login, and settings handling only that one."""
    account = sandbox.settings["MTS_ACCOUNTS"].split(",")[0]
    return account, dict(sandbox.settings, MTS_ACCOUNTS=account)


def held_by_tarifer(settings: dict[str, str], account: str) -> list[dict]:
    return [document for document in tarifer_listing(settings) if document["account"] == account]


def test_a_second_run_into_another_output_folder_orders_nothing_and_reports_the_month(tmp_path):
    with sandbox_process() as sandbox:
        account, settings = one_account(sandbox)
        settings["LEDGER_STATE_FILE"] = str(tmp_path / "state" / "ledger-state.json")
        first = run_robot(tmp_path / "first", settings)
        assert first.returncode == 0, first.output
        (done,) = summary_of(first)["documents"]
        assert done["status"] == "uploaded" and done["account"] == account
        ordered = len(orders(sandbox.data_dir))
        assert ordered == 1

        second = run_robot(tmp_path / "second", settings)
        assert second.returncode == 0, second.output
        assert len(orders(sandbox.data_dir)) == ordered, "the second run ordered nothing"
        assert len(held_by_tarifer(settings, account)) == 1, "the second run uploaded nothing"
        summary = summary_of(second)
        assert summary["period"] == PERIOD
        (shown,) = summary["documents"]
        assert shown["account"] == account and shown["kind"] == "invoice"
        assert shown["status"] in ("uploaded", "skipped"), shown
        assert (shown["sha256"], shown["tarifer_id"]) == (done["sha256"], done["tarifer_id"])
        assert shown["error"] is None


def test_rerunfailed_after_a_tarifer_outage_uploads_what_the_first_run_could_not(tmp_path):
    with sandbox_process() as sandbox:
        account, settings = one_account(sandbox)
        settings["LEDGER_STATE_FILE"] = str(tmp_path / "state" / "ledger-state.json")
        with outage(sandbox.data_dir, "tarifer"):
            first = run_robot(tmp_path / "first", settings)
        assert first.returncode != 0, first.output
        (left,) = summary_of(first)["documents"]
        assert left["status"] == "failed" and "503" in left["error"] and left["sha256"], left
        assert held_by_tarifer(settings, account) == []
        assert tasks_of(first.outputdir) == {**dict.fromkeys(INVOICE_TASKS[:-1], "PASS"), UPLOAD: "FAIL"}

        rerun = run_robot_with(tmp_path / "rerun", settings, "--rerunfailed", str(tmp_path / "first" / "output.xml"))
        assert rerun.returncode == 0, rerun.output
        assert tasks_of(rerun.outputdir) == {UPLOAD: "PASS"}, "only the failed task ran again"
        assert len(orders(sandbox.data_dir)) == 1, "the rerun ordered nothing"
        (held,) = held_by_tarifer(settings, account)
        assert held["sha256"] == left["sha256"]
        documents = summary_of(rerun)["documents"]
        assert documents, "the rerun's summary lists the month's documents, not an empty list"
        (uploaded,) = documents
        assert uploaded["status"] == "uploaded" and uploaded["account"] == account, uploaded
        assert uploaded["sha256"] == left["sha256"] and uploaded["tarifer_id"] == held["id"]
        check_invoice(ROOT / uploaded["file"], account, PERIOD)


def tasks_of(outputdir: Path) -> dict[str, str]:
    """Each task the run's output.xml holds, with its status."""
    tasks = {}
    ExecutionResult(str(outputdir / "output.xml")).suite.visit(TaskStatuses(tasks))
    return tasks


class TaskStatuses(ResultVisitor):
    def __init__(self, found: dict[str, str]):
        self.found = found

    def visit_test(self, test) -> None:
        self.found[test.name] = test.status


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder below ``folder``: relative path → (size, mtime in ns)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        status = path.lstat()
        found[str(path.relative_to(folder))] = (status.st_size, status.st_mtime_ns)
    return found


def test_a_dry_run_inside_the_venv_leaves_the_results_folder_as_it_was(tmp_path):
    results = ROOT / "results"
    marker = results / f".dryrun-marker-{os.getpid()}"
    marker.write_text("the last real run's results\n", encoding="utf-8")
    backup = tmp_path / "results-backup"
    shutil.copytree(results, backup, symlinks=True)
    env = {name: value for name, value in os.environ.items() if name not in CONFIG_NAMES}
    assert "ROBOT_OPTIONS" not in env
    before = listing(results)
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("robot")), "--dryrun", "robot"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        after = listing(results)
    finally:
        restore(results, backup, before)
        marker.unlink(missing_ok=True)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    changed = sorted(set(after.items()) ^ set(before.items()))
    assert after == before, f"the dry run changed results/: {changed}\n{output}"


def restore(results: Path, backup: Path, before: dict[str, tuple[int, int]]) -> None:
    """Put results/ back as it was (a dry run that wrote there must not cost anybody the last run)."""
    for name in sorted(set(listing(results)) - set(before), reverse=True):
        path = results / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for name, facts in before.items():
        path, kept = results / name, backup / name
        if kept.is_file() and not kept.is_symlink() and (not path.exists() or listing_of(path) != facts):
            shutil.copy2(kept, path)


def listing_of(path: Path) -> tuple[int, int]:
    status = path.lstat()
    return status.st_size, status.st_mtime_ns


def test_a_second_run_on_the_same_ledger_state_stops_at_once_saying_so(tmp_path):
    # The first run waits 10 s for its e-mail: long enough for the second to start and stop meanwhile.
    with sandbox_process("--delivery-delay", "10") as sandbox:
        _, settings = one_account(sandbox)
        state = tmp_path / "state" / "ledger-state.json"
        settings["LEDGER_STATE_FILE"] = str(state)
        lock = state.with_name(state.name + ".lock")
        first = start_robot(tmp_path / "first", settings)
        try:
            wait_until(lambda: lock.exists() and state.exists(), "the first run holds the ledger state", run=first)
            started = time.monotonic()
            second = run_robot(tmp_path / "second", settings)
            seconds = time.monotonic() - started
            assert first.process.poll() is None, "the first run was still working when the second stopped"
        finally:
            done = first.finish()
        print(f"\nthe second run stopped after {seconds:.1f} s; the first took {done.seconds:.1f} s")
        assert second.returncode != 0, second.output
        assert "Another run is working on the ledger state" in second.output, second.output
        assert seconds < 30, f"the second run took {seconds:.1f} s to stop"
        assert done.returncode == 0, done.output
        assert len(orders(sandbox.data_dir)) == 1, "only the first run ordered"
        (entry,) = summary_of(done)["documents"]
        assert entry["status"] == "uploaded", entry
