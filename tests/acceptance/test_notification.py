"""The run's notification through the production path: the summary page mailed to the finance team.

``python -m sandbox`` runs on its own and the robot is pointed at the settings
it wrote, with ``NOTIFY_EMAIL`` set to the sandbox's finance mailbox. After a
passing run and after a failing one (Tarifer down) the month's summary page
arrives there, sent over verified STARTTLS; a summary that cannot be sent is a
warning and leaves the run's result as it was.
"""

from __future__ import annotations

import json
import time
from email.message import EmailMessage

from robot.api import ExecutionResult

from libraries.periods import last_closed_period, month_in_words
from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import RobotRun, assert_no_secret_in, run_robot, summary_of
from tests.support import outage
from tests.unit.test_notify import html_of, read_mailbox

PERIOD = last_closed_period()
SUBJECT = f"Телеком-документы за {month_in_words(PERIOD)}: "


def notifying(sandbox, account_index: int = 0) -> dict[str, str]:
    """The sandbox's settings for one personal account, with the summary mailed to the finance mailbox."""
    account = sandbox.settings["MTS_ACCOUNTS"].split(",")[account_index]
    return dict(sandbox.settings, MTS_ACCOUNTS=account, NOTIFY_EMAIL=sandbox.settings["SANDBOX_FINANCE_EMAIL"])


def finance_mails(settings: dict[str, str]) -> list[EmailMessage]:
    """What the finance mailbox holds, read over IMAPS as a person would."""
    return read_mailbox(
        settings["IMAP_HOST"],
        settings["IMAP_PORT"],
        settings["IMAP_CA_FILE"],
        settings["SANDBOX_FINANCE_EMAIL"],
        settings["SANDBOX_FINANCE_PASSWORD"],
    )


def summary_mail(settings: dict[str, str], run: RobotRun, timeout: float = 15) -> EmailMessage:
    """The one mail in the finance mailbox whose body is the run's summary page."""
    page = (run.outputdir / "summary.html").read_text(encoding="utf-8").replace("\r\n", "\n")
    deadline = time.monotonic() + timeout
    while True:
        mails = finance_mails(settings)
        found = [mail for mail in mails if mail.get_body(("html",)) and html_of(mail) == page]
        if found or time.monotonic() > deadline:
            subjects = [str(mail["Subject"]) for mail in mails]
            assert len(found) == 1, f"{len(found)} mails carry the page; the mailbox holds {subjects}\n{run.output}"
            return found[0]
        time.sleep(0.2)


def failed_tasks(run: RobotRun) -> int:
    """How many tasks of the run failed, as output.xml says."""
    return ExecutionResult(str(run.outputdir / "output.xml")).statistics.total.failed


def check_the_mail(mail: EmailMessage, settings: dict[str, str], run: RobotRun) -> None:
    """Sender, recipient, the text alternative and summary.json attached, as the run left them."""
    assert (mail["From"], mail["To"]) == (settings["SMTP_USER"], settings["SANDBOX_FINANCE_EMAIL"])
    assert mail.get_body(("plain",)).get_content().startswith(str(mail["Subject"]))
    [attachment] = mail.iter_attachments()
    assert attachment.get_filename() == "summary.json"
    attached = json.loads(attachment.get_payload(decode=True))
    summary = summary_of(run)
    assert (attached["period"], attached["documents"]) == (summary["period"], summary["documents"])


def test_after_a_passing_month_the_summary_says_everything_is_uploaded(tmp_path):
    with sandbox_process() as sandbox:
        settings = notifying(sandbox)
        run = run_robot(tmp_path / "results", settings, suite="robot")
        assert run.returncode == 0, run.output
        assert {entry["status"] for entry in summary_of(run)["documents"]} == {"uploaded"}
        mail = summary_mail(settings, run)
        assert mail["Subject"] == SUBJECT + "всё загружено"
        check_the_mail(mail, settings, run)
        assert_no_secret_in(run.outputdir, settings)


def test_after_a_failing_run_the_summary_says_what_needs_a_person_and_the_run_still_fails(tmp_path):
    with sandbox_process() as sandbox:
        settings = notifying(sandbox, account_index=1)
        with outage(sandbox.data_dir, "tarifer"):
            run = run_robot(tmp_path / "results", settings)
        assert run.returncode != 0, run.output
        assert run.returncode == failed_tasks(run), "the run's exit code is its failed tasks, nothing else"
        (left,) = summary_of(run)["documents"]
        assert left["status"] == "failed" and "503" in left["error"], left
        mail = summary_mail(settings, run)
        assert mail["Subject"] == SUBJECT + "1 документ требует внимания"
        check_the_mail(mail, settings, run)
        assert_no_secret_in(run.outputdir, settings)


def test_a_summary_that_cannot_be_sent_is_a_warning_and_the_run_passes_as_it_did(tmp_path):
    with sandbox_process() as sandbox:
        settings = dict(notifying(sandbox, account_index=2), SMTP_PASSWORD="wrong-smtp-password-7f3a")
        run = run_robot(tmp_path / "results", settings)
        assert run.returncode == 0, run.output
        assert "[ WARN ]" in run.output and "the server refused the login of robot@sandbox.test" in run.output
        assert "wrong-smtp-password-7f3a" not in run.output
        assert not finance_mails(settings), "nothing arrived"
        assert_no_secret_in(run.outputdir, settings)
