"""Speed and memory of the robot and its stand-ins: ``make benchmark`` prints the figures.

Nothing here asserts a time; it measures, so that a change that makes the
month slower or hungrier shows up in numbers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import psutil
from robot.api.types import Secret

from libraries.call_details import check_call_details
from libraries.documents import check_invoice
from libraries.ledger import Ledger
from libraries.mailbox import Mailbox
from sandbox import dataset
from sandbox.call_details import render_call_details
from sandbox.invoice import render_invoice_pdf
from sandbox.mail import MailServer
from sandbox.stack import Sandbox, SandboxOptions, write_env_file
from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import ROOT, run_robot, start_robot, tarifer_listing
from tests.support import send_mail, world_traversable_folder

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


def _measure(results, action, args) -> None:
    started = time.perf_counter()
    outcome = action(*args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put((time.perf_counter() - started, peak, outcome))


def in_fresh_process(action, *args) -> tuple[float, float, object]:
    """Seconds, peak RSS (MiB) and result of ``action(*args)`` run in a forked process of its own."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_measure, args=(results, action, args))
    child.start()
    outcome = results.get(timeout=900)
    child.join()
    return outcome


XML_EVENT = '<i d="05.10.2026 8:28:49" n="79613456895" zp="" zv="" s="Телеф." du="0:18" c="1,2500" f="1,5000"/>\n'


def _check_numbers(path: Path) -> int:
    return len(check_call_details(path, ["79161234567"], FIRST, LAST, "xml").numbers)


CHECKER = (
    "import resource, sys\n"
    "from libraries.document_cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def checker_command(path: Path) -> tuple[float, float, str]:
    """The command-line checker on ``path`` in a process of its own: seconds, peak RSS (MiB), verdict."""
    arguments = [str(path), "--kind", "call_details", "--from", FIRST.isoformat(), "--to", LAST.isoformat()]
    arguments += ["--numbers", "79161234567", "--format", "xml"]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHECKER, *arguments], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    peak = int(done.stderr.split("PEAK")[-1].split()[0]) / 1024
    return seconds, peak, "accepted" if done.returncode == 0 else f"exit {done.returncode}"


def large_call_details(work: Path) -> None:
    """Checking account-wide call details of 10 MB and 100 MB: time and peak memory."""
    for megabytes in (10, 100):
        path = work / f"details-{megabytes}.xml"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write('<?xml version="1.0" encoding="utf-8"?>\n<Report><b sd="01.10.2026" ed="31.10.2026"/>\n')
            handle.write('<ds n="79161234567">\n')
            handle.writelines(XML_EVENT for _ in range(megabytes * 1_000_000 // len(XML_EVENT.encode())))
            handle.write("</ds></Report>\n")
        seconds, peak, _ = in_fresh_process(_check_numbers, path)
        line(f"call details XML of {megabytes} MB: check", f"{seconds:.1f} s, peak RSS {peak:.0f} MiB")
        seconds, peak, verdict = checker_command(path)
        line(f"  the command-line checker on it: {verdict}", f"{seconds:.1f} s, peak RSS {peak:.0f} MiB")
        path.unlink()


STRANGERS = 200
LARGE_ATTACHMENT = 100 << 20


def _collect(server: MailServer, user: str, password: str, work: Path) -> dict:
    """One collection pass for an unconfirmed order (so every attachment from the operator's domain is examined)."""
    ledger = Ledger()
    ledger.start_ledger("SANDBOX", PERIOD, str(work / "results"), str(work / "state.json"))
    key = ledger.add_document("9161234567", "277300018417", "invoice", "2026-10-01", "2026-10-31")
    ledger.mark_document(key, "ordering", ordered_at="2000-01-01T00:00:00+00:00")
    ledger.mark_document(key, "ordered")
    mailbox = Mailbox()
    mailbox.open_mailbox(server.host, server.imap_port, user, Secret(password), str(server.ca_file))
    mailbox.collect(ledger, str(work / "results" / "documents"), [key], ["@mts.ru"], 200 << 20, 0, 0)
    mailbox.close_mailbox()
    ledger.finish_ledger()
    return ledger.summary()


def mailbox(work: Path) -> None:
    """One look at a mailbox of strangers' mails and a 100 MB attachment from the operator's domain."""
    folder = world_traversable_folder("mts-benchmark-mail-")
    user, password = "robot@sandbox.test", uuid.uuid4().hex
    try:
        with MailServer(folder / "mail", {user: password}) as server:
            for number in range(STRANGERS):
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = "x@stranger.example", user, f"Письмо {number}"
                message.set_content("Здравствуйте")
                send_mail(server.host, server.smtp_port, message)
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "vm-noreply@ihelper.mts.ru", user, "Документ"
            message.set_content("Документ во вложении.")
            attachment = os.urandom(LARGE_ATTACHMENT)
            message.add_attachment(attachment, maintype="application", subtype="pdf", filename="a.pdf")
            send_mail(server.host, server.smtp_port, message)
            del message, attachment
            seconds, peak, summary = in_fresh_process(_collect, server, user, password, work)
        line(f"mailbox: one look at {STRANGERS + 1} mails, 100 MB attachment downloaded", f"{seconds:.2f} s")
        line("mailbox: peak RSS of that process", f"{peak:.0f} MiB")
        line("mailbox: mails listed as left alone", str(len(summary["ignored_mail"])))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def whole_month(work: Path) -> None:
    """``make run``: the whole month against the sandbox, in Chromium."""
    run = run_robot(work / "results", suite="robot")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    line("whole month (robot robot): wall time", f"{run.seconds:.1f} s, exit code {run.returncode}")
    line("largest child process (peak RSS)", f"{children.ru_maxrss / 1024:.0f} MiB")


def tree_memory(process: psutil.Process) -> int:
    """Proportional set size (shared pages split between their users, so that Chromium's many
    processes are not counted many times over) of ``process`` and every process under it."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_full_info().pss
        except psutil.Error:
            continue
    return total


def peak_tree_memory(process: subprocess.Popen) -> float:
    """The peak memory (PSS, MiB) of ``process`` and every process under it, sampled every 0.2 s until it ends."""
    tree, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, tree_memory(tree))
        except psutil.Error:
            break
        time.sleep(0.2)  # sampling interval of the memory reading
    return peak / (1 << 20)


def measured_run(outputdir: Path, settings: dict, suite: str):
    """A robot run with the peak memory (PSS) of its whole process tree."""
    run = start_robot(outputdir, settings, suite)
    peak = peak_tree_memory(run.process)
    return run.finish(), peak


@dataclass
class Month:
    """The figures of one whole month against a sandbox of its own."""

    seconds: float
    returncode: int
    uploaded: int
    """Documents the Tarifer stand-in holds at the end."""
    peak: float
    """Peak memory (PSS, MiB) of the process tree."""
    outputdir: Path | None = None
    """The robot's results (None for the bare script)."""

    @property
    def per_document(self) -> float:
        """Seconds per uploaded document."""
        return self.seconds / max(self.uploaded, 1)


def robot_month(outputdir: Path, *options: str, **settings: str) -> Month:
    """``robot robot`` through the production path, against ``python -m sandbox`` started with ``options``."""
    with sandbox_process(*options) as sandbox:
        run, peak = measured_run(outputdir, dict(sandbox.settings, **settings), "robot")
        uploaded = len(tarifer_listing(sandbox.settings))
    return Month(run.seconds, run.returncode, uploaded, peak, run.outputdir)


def bare_script_month(folder: Path, *options: str) -> Month:
    """``python -m tests.bare_month`` (the same month as a bare Playwright script) against a sandbox
    started with ``options``; what it printed is left in ``folder``."""
    with sandbox_process(*options) as sandbox:
        env_file = folder / "sandbox.env"
        write_env_file(env_file, sandbox.settings)
        started = time.monotonic()
        with open(folder / "output.txt", "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.bare_month", str(env_file)],
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        peak = peak_tree_memory(process)
        returncode = process.wait(timeout=900)
        seconds = time.monotonic() - started
        uploaded = len(tarifer_listing(sandbox.settings))
        env_file.unlink()
    if returncode:
        print((folder / "output.txt").read_text(encoding="utf-8", errors="replace")[-2000:])
    return Month(seconds, returncode, uploaded, peak)


def month_figures(what: str, month: Month) -> None:
    """Print a month's wall time, documents, time per document, peak memory and output.xml."""
    line(f"{what}: wall", f"{month.seconds:.1f} s, exit code {month.returncode}")
    line("  documents uploaded, time per document", f"{month.uploaded}, {month.per_document:.2f} s")
    line("  peak memory (PSS) of the process tree with the browser", f"{month.peak:.0f} MiB")
    if month.outputdir is None:
        return
    line("  output.xml", f"{(month.outputdir / 'output.xml').stat().st_size / 1024:.0f} KiB")
    summary = month.outputdir / "summary.json"
    if month.returncode and summary.exists():
        for document in json.loads(summary.read_text(encoding="utf-8"))["documents"]:
            if document["status"] not in ("uploaded", "skipped"):
                reason = " ".join(str(document["error"] or document["status"]).split())
                line(f"  not delivered: {document['kind']} of {document['account']}", reason[:200])


def delivery_delay(work: Path) -> None:
    """The whole month with the operator's mail arriving at once and 5 s after each order: waited once."""
    seconds = {}
    for delay in ("0", "5"):
        with sandbox_process("--delivery-delay", delay) as sandbox:
            run = run_robot(work / f"delay-{delay}", sandbox.settings, suite="robot")
        seconds[delay] = run.seconds
        line(f"whole month, delivery delay {delay} s: wall", f"{run.seconds:.1f} s, exit code {run.returncode}")
    line("  cost of a 5 s delay (target: at most 5 s + 2 s)", f"{seconds['5'] - seconds['0']:.1f} s")


def company_month(work: Path) -> None:
    """The whole month of one login with 20 personal accounts of 40 numbers (XML call details)."""
    month = robot_month(work / "company", "--accounts", "20", "--numbers", "40", CALL_DETAILS_FORMAT="xml")
    month_figures("company month 1 login × 20 accounts × 40 numbers", month)
    rebot = [sys.executable, "-m", "robot.rebot", "--outputdir", str(work / "rebot"), "--output", "NONE"]
    started = time.perf_counter()
    subprocess.run([*rebot, str(month.outputdir / "output.xml")], capture_output=True, check=False)
    line("  writing its log.html and report.html (rebot)", f"{time.perf_counter() - started:.2f} s")


NO_DELAY = ("--delivery-delay", "0")


def robot_and_bare_script(work: Path, rounds: int = 5) -> None:
    """The whole month of 1 login × 3 personal accounts by the robot and by a bare Playwright script
    (``tests/bare_month.py``) on identical fresh sandboxes, the operator's mail at once: ``rounds`` times
    each, taking turns, so that a busy moment of the machine weighs on both; the medians are compared."""
    options = ("--logins", "1", "--accounts", "3", *NO_DELAY)
    robots, bares = [], []
    for round_number in range(1, rounds + 1):
        robots.append(robot_month(work / f"robot-1x3-{round_number}", *options))
        bares.append(bare_script_month(work / f"bare-1x3-{round_number}", *options))
    month_figures(f"whole month 1 login × 3 accounts, robot (last of {rounds})", robots[-1])
    month_figures(f"the same month, bare Playwright script (last of {rounds})", bares[-1])
    for what, months in (("robot", robots), ("bare script", bares)):
        walls = ", ".join(f"{month.seconds:.1f}" for month in months)
        median = statistics.median(month.seconds for month in months)
        line(f"  {what}: wall of each round, median", f"{walls} s; {median:.2f} s")
    ratio = statistics.median(m.seconds for m in robots) / statistics.median(m.seconds for m in bares)
    line("  robot / bare script, median wall time", f"{ratio:.2f}")


def company_size(work: Path) -> None:
    """Time per document of a company of 20 personal accounts against one of 3 (15 numbers each, 1 login)."""
    months = {}
    for accounts in ("3", "20"):
        options = ("--logins", "1", "--accounts", accounts, "--numbers", "15", *NO_DELAY)
        months[accounts] = robot_month(work / f"company-{accounts}x15", *options)
        month_figures(f"whole month 1 login × {accounts} accounts × 15 numbers", months[accounts])
    ratio = months["20"].per_document / months["3"].per_document
    line("  time per document, 20 accounts / 3 accounts", f"{ratio:.2f}")


def several_logins(work: Path) -> None:
    """The whole month of 3 logins × 10 personal accounts in one run (MTS_LOGINS_FILE)."""
    month = robot_month(work / "logins-3x10", "--logins", "3", "--accounts", "10", *NO_DELAY)
    month_figures("whole month 3 logins × 10 accounts, one run", month)


def main() -> None:
    """Print every figure."""
    with tempfile.TemporaryDirectory() as work:
        whole_month(Path(work))  # first: its figure is the largest child process so far
        delivery_delay(Path(work))
        company_month(Path(work))
        robot_and_bare_script(Path(work))
        company_size(Path(work))
        several_logins(Path(work))
        documents(Path(work))
        stand_ins()
        large_call_details(Path(work))
        mailbox(Path(work))


if __name__ == "__main__":
    main()
