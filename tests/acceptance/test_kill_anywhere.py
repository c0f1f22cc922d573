"""Killed at any moment, the robot still orders every document once and puts it in Tarifer once.

Each case starts the robot through the production path against ``python -m
sandbox``, waits until a document has reached one step of its life (the intent
to order, the order placed, the mail saved, the mail marked read, the upload),
SIGKILLs the robot's whole process tree at once (Python, the Browser library's
node, Chromium), as a machine that goes down does, and then runs the robot
again with the same settings and the same ledger state. The rerun must finish
the month: one order per document in the portal's journal, one record per
document in Tarifer, and summary.json saying each document is in Tarifer.

The waits poll the state file, the portal's order journal, the mailbox (IMAPS)
or Tarifer's index for a concrete condition, with a deadline: every 20 ms, or
every millisecond for the steps whose window is a few milliseconds wide (the
mail being taken, recorded but not yet marked read, in Tarifer but not yet in
the ledger). Each case then checks that the kill did come at its step.

Kill points and what the rerun must do:

1. waiting for the portal's answer to «Заказать» (``--fault silent-orders``):
   the state says ``ordering``, the portal's journal has the order; the rerun
   finds it in «История действий», continues it under its number;
2. the intent written, «Заказать» not pressed: the rerun finds nothing in
   «История действий» and orders it, once;
3. ordered with a number, the mail not yet there (``--delivery-delay 5``);
4. the mail being taken (attachment downloaded and checked, nothing recorded),
   and recorded ``received`` with the mail still unread;
5. the mail just marked read (also in the whole month, ``robot``);
6. in Tarifer, the ledger still saying ``received``: the rerun finds the file
   in Tarifer by its SHA-256 and uploads nothing again.
"""

from __future__ import annotations

import contextlib
import imaplib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from libraries.documents import check_invoice, sha256_of
from libraries.periods import last_closed_period, period_bounds
from tests.acceptance.conftest import RunningSandbox, sandbox_process
from tests.acceptance.robot_runs import (
    CONFIG_NAMES,
    ROOT,
    RobotRun,
    assert_no_secret_in,
    orders,
    run_robot,
    summary_of,
    tarifer_index,
    tarifer_listing,
)

PERIOD = last_closed_period()
FIRST, LAST = (day.isoformat() for day in period_bounds(PERIOD))
INVOICE_SUITE = "robot/monthly_invoice.robot"
POLL = 0.02
"""Seconds between two looks at the condition a kill waits for."""
KILL_DEADLINE = 120
"""Seconds a killed run may take to reach its step (a hung order takes BROWSER_TIMEOUT, 30 s)."""


# --- the robot, started so that it can be killed --------------------------------------


@dataclass
class StartedRobot:
    """A robot run in its own session (process group), writing its console to ``console``."""

    process: subprocess.Popen
    outputdir: Path
    console: Path
    started: float
    killed_groups: set[int] = field(default_factory=set)
    killed_processes: int = 0

    def tail(self, lines: int = 40) -> str:
        """The last lines of the run's console output."""
        text = self.console.read_text(encoding="utf-8", errors="replace") if self.console.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def robot_environment(outputdir: Path, settings: dict[str, str]) -> dict[str, str]:
    """The environment ``run_robot`` gives a production-path run, ledger state beside the results."""
    env = {name: value for name, value in os.environ.items() if name not in CONFIG_NAMES}
    env.update({"LEDGER_STATE_FILE": str(state_file_of(outputdir)), **settings})
    return env


def state_file_of(outputdir: Path) -> Path:
    """Where ``run_robot`` keeps the ledger state of runs writing to ``outputdir``."""
    return outputdir.parent / "state" / "ledger-state.json"


def start_robot(outputdir: Path, settings: dict[str, str], suite: str = INVOICE_SUITE) -> StartedRobot:
    """Start a suite like ``run_robot`` does, but in a new session so that its process group can be killed."""
    console = outputdir.parent / f"{outputdir.name}.console.txt"
    command = [sys.executable, "-m", "robot", "--argumentfile", "robot/options.args", "--outputdir", str(outputdir)]
    with open(console, "wb") as stream:
        process = subprocess.Popen(
            [*command, suite],
            cwd=ROOT,
            env=robot_environment(outputdir, settings),
            stdin=subprocess.DEVNULL,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return StartedRobot(process, outputdir, console, time.monotonic())


def process_table() -> dict[int, tuple[int, int, str]]:
    """Every process of the machine: pid → (parent pid, process group, state letter)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def descendants(root: int, table: dict[int, tuple[int, int, str]]) -> set[int]:
    """``root`` and every process under it."""
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _, _) in table.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def kill_robot(robot: StartedRobot) -> None:
    """SIGKILL the robot's whole process tree, as a machine that goes down does.

    The robot's process group (Python and the Browser library's node) is
    stopped first, with SIGSTOP: from that instant it runs no further
    instruction, which makes the stop the moment of the kill, however long
    finding the rest of the tree takes. Playwright starts Chromium detached,
    in a session of its own, so the groups of every process under the robot
    are found and all of them, the robot's included, get SIGKILL.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(robot.process.pid, signal.SIGSTOP)  # start_new_session: the robot leads its own group
    table = process_table()
    groups = {table[pid][1] for pid in descendants(robot.process.pid, table) if pid in table}
    groups.add(robot.process.pid)
    for group in [robot.process.pid, *sorted(groups - {robot.process.pid})]:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    robot.process.wait(timeout=30)
    robot.killed_groups = groups
    robot.killed_processes = sum(1 for _, group, _ in table.values() if group in groups)
    deadline = time.monotonic() + 10
    while True:
        alive = [pid for pid, (_, group, state) in process_table().items() if group in groups and state != "Z"]
        if not alive:
            return
        assert time.monotonic() < deadline, f"processes of the killed robot still run: {alive}"
        time.sleep(POLL)


def wait_until(robot: StartedRobot, condition: Callable[[], object], what: str, poll: float = POLL) -> object:
    """Poll ``condition`` until it gives something true, failing if the robot ends first or the deadline passes."""
    deadline = time.monotonic() + KILL_DEADLINE
    while True:
        outcome = condition()
        if outcome:
            return outcome
        if robot.process.poll() is not None:
            outcome = condition()  # the step may have happened just before the robot ended
            if outcome:
                return outcome
            pytest.fail(f"the robot ended (rc {robot.process.returncode}) before {what}:\n{robot.tail()}")
        if time.monotonic() > deadline:
            kill_robot(robot)
            pytest.fail(f"no {what} within {KILL_DEADLINE} s:\n{robot.tail()}")
        time.sleep(poll)


# --- what the robot and the stand-ins hold -------------------------------------------------


def read_state(path: Path) -> dict:
    """The ledger state, or an empty one when it is not (yet) there or is being replaced."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def invoice_entries(state: dict) -> list[dict]:
    """The outstanding invoices of the period in a ledger state."""
    return [
        entry
        for entry in (state.get("outstanding") or {}).values()
        if entry.get("kind") == "invoice" and entry.get("period_from") == FIRST
    ]


def invoice_with_status(state_path: Path, status: str, *, with_order_id: bool = False) -> dict | None:
    """The outstanding invoice having ``status`` (and an order number, if asked), or ``None``."""
    for entry in invoice_entries(read_state(state_path)):
        if entry.get("status") == status and (entry.get("order_id") or not with_order_id):
            return entry
    return None


def open_mailbox(settings: dict[str, str]) -> imaplib.IMAP4_SSL:
    """The robot's mailbox over verified IMAPS, as the robot opens it."""
    context = ssl.create_default_context(cafile=settings["IMAP_CA_FILE"] or None)
    conn = imaplib.IMAP4_SSL(settings["IMAP_HOST"], int(settings["IMAP_PORT"]), ssl_context=context, timeout=10)
    conn.login(settings["IMAP_USER"], settings["IMAP_PASSWORD"])
    return conn


def search(conn: imaplib.IMAP4_SSL, criterion: str) -> list[int]:
    """The UIDs in INBOX matching ``criterion``, INBOX selected read-only so that looking changes nothing."""
    typ, _ = conn.select("INBOX", readonly=True)
    assert typ == "OK"
    typ, data = conn.uid("SEARCH", None, criterion)
    assert typ == "OK"
    return [int(uid) for uid in (data[0] or b"").split()]


def mailbox_facts(settings: dict[str, str]) -> dict[str, list[int]]:
    """The mails in INBOX and those flagged ``\\Seen``, by UID."""
    conn = open_mailbox(settings)
    try:
        return {"mails": search(conn, "ALL"), "seen": search(conn, "SEEN")}
    finally:
        conn.logout()


def month_statuses(state: dict) -> dict[str, str]:
    """Each document of the period in a ledger state's month account: kind → status."""
    documents = ((state.get("months") or {}).get(PERIOD) or {}).get("documents") or {}
    return {entry["kind"]: entry["status"] for entry in documents.values()}


# --- the kill points ------------------------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    """A moment in a document's life to kill the robot at, and how closely to watch for it."""

    name: str
    sandbox_options: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)
    suite: str = INVOICE_SUITE
    poll: float = POLL


POINTS = [
    # 1. «Заказать» pressed, the portal took the order and mailed it but keeps its answer back 120 s.
    KillPoint(
        "waiting-for-the-portal-s-answer",
        sandbox_options=("--fault", "silent-orders"),
        settings={"BROWSER_TIMEOUT": "30s"},
    ),
    # 2. The intent is in the state, «Заказать» not pressed yet (the window holds a few browser steps).
    KillPoint("intent-written-before-the-click"),
    # 3. The portal answered with the order number; the mail comes 5 s after the order.
    KillPoint("ordered-before-the-mail", sandbox_options=("--delivery-delay", "5")),
    # 4a. The mail's attachment is being downloaded and checked; nothing is recorded yet (a narrow window).
    KillPoint("mail-being-taken", poll=0.001),
    # 4b. The document is saved and recorded received (watched closely, to come before the mail is marked read).
    KillPoint("received", poll=0.001),
    # 5. The mail was just marked read.
    KillPoint("mail-marked-read"),
    # 6. Tarifer holds the document (watched closely, to come before the ledger says uploaded).
    KillPoint("in-tarifer", poll=0.001),
    # 5 again, in the whole month (invoices, call details, final upload): killed at the first mail marked read.
    KillPoint("mail-marked-read-whole-month", suite="robot"),
]


def reached(point: KillPoint, sandbox: RunningSandbox, state_path: Path, outputdir: Path):
    """The condition that says the robot has reached ``point``, and what to close afterwards."""
    data_dir = sandbox.data_dir
    name = point.name
    if name == "waiting-for-the-portal-s-answer":
        return (lambda: invoice_with_status(state_path, "ordering") and orders(data_dir)), None
    if name == "intent-written-before-the-click":
        return (lambda: invoice_with_status(state_path, "ordering") and not orders(data_dir)), None
    if name == "ordered-before-the-mail":
        return (lambda: invoice_with_status(state_path, "ordered", with_order_id=True)), None
    if name == "mail-being-taken":
        return (lambda: any(outputdir.glob(".staging-*"))), None
    if name == "received":
        return (lambda: invoice_with_status(state_path, "received")), None
    if name.startswith("mail-marked-read"):
        conn = open_mailbox(sandbox.settings)
        return (lambda: search(conn, "SEEN")), conn.logout
    if name == "in-tarifer":
        return (lambda: tarifer_index(data_dir).get("documents")), None
    raise ValueError(name)


def expect_at_kill(point: KillPoint, at_kill: dict, sandbox: RunningSandbox, report: str) -> None:
    """Check that the kill came at the step the case is about (the world as the kill left it)."""
    invoice = at_kill["statuses"].get("invoice")
    if point.name == "waiting-for-the-portal-s-answer":
        assert invoice == "ordering" and len(at_kill["orders"]) == 1 and not at_kill["tarifer"], report
    elif point.name == "intent-written-before-the-click":
        # A click under way when the kill came would be in the portal's journal within moments.
        time.sleep(1)
        assert invoice == "ordering" and not orders(sandbox.data_dir), (
            f"the kill came after «Заказать» was pressed, not between the intent and the click{report}"
        )
    elif point.name == "ordered-before-the-mail":
        assert invoice == "ordered" and len(at_kill["orders"]) == 1 and not at_kill["mailbox"]["mails"], report
    elif point.name == "mail-being-taken":
        assert invoice == "ordered" and not at_kill["taken_mail"] and not at_kill["mailbox"]["seen"], report
    elif point.name == "received":
        # recorded, not yet marked read: the mail would be taken again were it not in taken_mail
        assert invoice == "received" and not at_kill["mailbox"]["seen"] and not at_kill["tarifer"], report
    elif point.name.startswith("mail-marked-read"):
        assert invoice == "received" and at_kill["mailbox"]["seen"] and not at_kill["tarifer"], report
    elif point.name == "in-tarifer":
        # uploaded, but the ledger does not know it yet: the rerun must find it in Tarifer by its SHA-256
        assert invoice == "received" and len(at_kill["tarifer"]) == 1, report


def world(state_path: Path, sandbox: RunningSandbox) -> dict:
    """The ledger state, the portal's order journal, the mailbox and Tarifer's listing."""
    state = read_state(state_path)
    return {
        "statuses": month_statuses(state),
        "outstanding": state.get("outstanding"),
        "taken_mail": state.get("taken_mail"),
        "orders": orders(sandbox.data_dir),
        "mailbox": mailbox_facts(sandbox.settings),
        "tarifer": [
            {name: record.get(name) for name in ("id", "account", "kind", "period_from", "period_to", "sha256")}
            for record in tarifer_listing(sandbox.settings)
        ],
    }


def shown(facts: dict) -> str:
    return json.dumps(facts, ensure_ascii=False, indent=1)


def tail(run: RobotRun, lines: int = 60) -> str:
    return "\n".join(run.output.splitlines()[-lines:])


NARROW_ATTEMPTS = 3
"""A kill aimed at a window of milliseconds may land after it on a loaded machine: the case is tried again."""


@dataclass
class Killed:
    """A run killed at a point, and the world as the kill left it."""

    robot: StartedRobot
    settings: dict[str, str]
    account: str
    state_path: Path
    rerun_dir: Path
    at_kill: dict
    killed_after: float


def kill_at(point: KillPoint, sandbox: RunningSandbox, folder: Path) -> Killed:
    """Start the robot on ``sandbox`` and kill it the moment it reaches ``point``."""
    account = sandbox.settings["MTS_ACCOUNTS"].split(",")[0]
    settings = dict(sandbox.settings, MTS_ACCOUNTS=account, **point.settings)
    killed_dir, rerun_dir = folder / "killed", folder / "rerun"
    folder.mkdir(parents=True, exist_ok=True)
    state_path = state_file_of(killed_dir)
    assert state_file_of(rerun_dir) == state_path, "both runs share one ledger state"

    robot = start_robot(killed_dir, settings, point.suite)
    condition, close = reached(point, sandbox, state_path, killed_dir)
    try:
        wait_until(robot, condition, f"the step {point.name}", point.poll)
        kill_robot(robot)
    finally:
        if robot.process.poll() is None:
            kill_robot(robot)
        if close:
            close()
    killed_after = time.monotonic() - robot.started
    return Killed(robot, settings, account, state_path, rerun_dir, world(state_path, sandbox), killed_after)


def window_missed(point: KillPoint, at_kill: dict) -> bool:
    """Whether a kill aimed at a narrow window came after it (the mail already read, Tarifer told)."""
    invoice = at_kill["statuses"].get("invoice")
    if point.name == "mail-being-taken":
        return invoice != "ordered" or bool(at_kill["taken_mail"])
    if point.name == "received":
        return bool(at_kill["mailbox"]["seen"]) or bool(at_kill["tarifer"])
    if point.name == "in-tarifer":
        return invoice != "received"
    return False


@pytest.mark.parametrize("point", POINTS, ids=[point.name for point in POINTS])
def test_a_robot_killed_at_any_step_leaves_one_order_and_one_tarifer_record_per_document(tmp_path, point):
    began = time.monotonic()
    attempts = NARROW_ATTEMPTS if point.poll < POLL else 1
    for attempt in range(1, attempts + 1):
        with sandbox_process(*point.sandbox_options) as sandbox:
            killed = kill_at(point, sandbox, tmp_path / f"attempt-{attempt}")
            if attempt < attempts and window_missed(point, killed.at_kill):
                print(f"\n{point.name}: the kill came after the window (attempt {attempt}); trying again")
                continue
            rerun, documents = rerun_after_the_kill(point, sandbox, killed, tmp_path)
            break
    at_kill, robot, killed_after = killed.at_kill, killed.robot, killed.killed_after
    print(
        f"\n{point.name}: killed after {killed_after:.1f} s ({robot.killed_processes} processes in "
        f"{len(robot.killed_groups)} groups), rerun {rerun.seconds:.1f} s, "
        f"case {time.monotonic() - began:.1f} s; at the kill {at_kill['statuses']}, "
        f"orders {len(at_kill['orders'])}, mailbox {at_kill['mailbox']}, tarifer {len(at_kill['tarifer'])}; "
        f"rerun {[(entry['kind'], entry['status']) for entry in documents]}"
    )


def rerun_after_the_kill(point: KillPoint, sandbox: RunningSandbox, killed: Killed, tmp_path: Path):
    """Check the world at the kill, run again, and check that the month ends with one order and one
    Tarifer record per document; return the rerun and its documents."""
    robot, settings, account, state_path, rerun_dir = (
        killed.robot,
        killed.settings,
        killed.account,
        killed.state_path,
        killed.rerun_dir,
    )
    at_kill = killed.at_kill
    expect_at_kill(
        point, at_kill, sandbox, f"\n--- at the kill:\n{shown(at_kill)}\n--- killed run:\n{robot.tail()}"
    )

    rerun = run_robot(rerun_dir, settings, suite=point.suite)
    after = world(state_path, sandbox)
    report = (
        f"\n--- at the kill:\n{shown(at_kill)}\n--- after the rerun:\n{shown(after)}"
        f"\n--- rerun output:\n{tail(rerun)}"
    )
    # One rerun is enough at every step: an interrupted order is looked up in «История действий»,
    # an ordered one waits for its mail, a received one is uploaded (Tarifer asked by SHA-256 first).
    assert rerun.returncode == 0, f"the rerun failed{report}"

    documents = summary_of(rerun)["documents"]
    placed = orders(sandbox.data_dir)
    listing = tarifer_listing(sandbox.settings)

    # One order per document in the portal's journal.
    ordered = Counter(
        (order["account"], order["document"], order.get("period") or order.get("period_from")) for order in placed
    )
    assert ordered and set(ordered.values()) == {1}, f"a document was ordered twice: {ordered}{report}"
    assert len(placed) == len(documents), f"one order per document of the month{report}"

    # One Tarifer record per document, by its facts and by its content.
    held = Counter(
        (record["account"], record["kind"], record["period_from"], record["period_to"]) for record in listing
    )
    assert set(held.values()) == {1}, f"a document is in Tarifer twice: {held}{report}"
    assert len({record["sha256"] for record in listing}) == len(listing) == len(documents), report

    # summary.json: every document in Tarifer, uploaded now or (when Tarifer had it before the rerun) skipped.
    by_sha = {record["sha256"]: record for record in listing}
    held_before = {record["sha256"] for record in at_kill["tarifer"]}
    for entry in documents:
        allowed = {"uploaded", "skipped"} if entry["sha256"] in held_before else {"uploaded"}
        assert entry["status"] in allowed, f"{entry}{report}"
        assert entry["error"] is None and entry["sha256"] in by_sha, f"{entry}{report}"
        assert entry["tarifer_id"] == by_sha[entry["sha256"]]["id"], f"{entry}{report}"
        if entry["status"] == "uploaded":
            path = ROOT / entry["file"]
            assert sha256_of(path) == entry["sha256"]
            if entry["kind"] == "invoice":
                check_invoice(path, account, PERIOD)
    invoice = next(entry for entry in documents if entry["kind"] == "invoice")
    assert invoice["account"] == account and (invoice["period_from"], invoice["period_to"]) == (FIRST, LAST)
    if at_kill["orders"] and invoice["status"] != "skipped":
        # the order placed before the kill is the one continued, under its number (a skipped
        # document is one the killed run finished: Tarifer holds it, and the rerun says no more)
        assert invoice["order_id"] == at_kill["orders"][0]["order_id"], f"{invoice}{report}"
    assert not after["outstanding"], f"nothing is left for a next run{report}"

    assert_no_secret_in(tmp_path, sandbox.settings)
    return rerun, documents
