"""Tarifer by e-mail (``TARIFER_CHANNEL=email``): one mail per document to its collector, exactly once.

The robot runs through the production path against ``python -m sandbox``,
whose SMTP receiver hands the mail for ``TARIFER_EMAIL`` to the Tarifer
stand-in's collector: it ingests each attachment like an API upload and
lists it with ``channel: email``, deduplicating by Message-ID and by SHA-256;
its journal (``GET /mails``) keeps every mail it was handed, duplicates too,
so a test can tell that a rerun sent nothing.

- the whole month by e-mail, without any API setting: every document listed
  once, a rerun orders and sends nothing;
- the collector out of service: the documents wait, Message-ID recorded; a
  plan sends nothing; the final suite sends each once, with the recorded
  Message-ID;
- the robot SIGKILLed right after a document's mail was accepted, before the
  ledger says so: the rerun sends the same mail again (same Message-ID, which
  the collector keeps once) and completes the month.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections import Counter

from libraries.periods import last_closed_period
from tests.acceptance.conftest import RunningSandbox, sandbox_process
from tests.acceptance.robot_runs import (
    ROOT,
    assert_no_secret_in,
    orders,
    run_robot,
    summary_of,
    tarifer_answer,
    tarifer_index,
    tarifer_listing,
)
from tests.acceptance.test_kill_anywhere import kill_robot, read_state, start_robot, state_file_of, wait_until
from tests.support import outage

PERIOD = last_closed_period()
NARROW_ATTEMPTS = 4
"""The kill right after a mail was accepted aims at a window of milliseconds: tried again when it came late."""


def by_email(sandbox: RunningSandbox, **changes: str) -> dict[str, str]:
    """The sandbox's settings with documents going to Tarifer's e-mail collector, and no API setting at all."""
    settings = {name: value for name, value in sandbox.settings.items() if name not in ("TARIFER_URL", "TARIFER_TOKEN")}
    return {**settings, "TARIFER_CHANNEL": "email", **changes}


def collector_mails(sandbox: RunningSandbox) -> list[dict]:
    """Every mail Tarifer's collector was handed, duplicates too (the stand-in's journal)."""
    return tarifer_answer(sandbox.settings, "mails")["mails"]


def mailed(sandbox: RunningSandbox) -> list[dict]:
    """The documents Tarifer's collector holds, as its index on disk says."""
    return [record for record in tarifer_index(sandbox.data_dir).get("documents", []) if record["channel"] == "email"]


def assert_each_document_listed_once_by_email(sandbox: RunningSandbox, documents: list[dict], report: str = ""):
    """Tarifer lists exactly the month's documents, once each, all from its collector, under the recorded
    Message-IDs; returns the listing."""
    listing = tarifer_listing(sandbox.settings)
    held = Counter(
        (record["account"], record["kind"], record["period_from"], record["period_to"]) for record in listing
    )
    assert set(held.values()) == {1}, f"a document is in Tarifer twice: {held}{report}"
    assert len(listing) == len(documents), f"one Tarifer record per document{report}"
    assert {record["channel"] for record in listing} == {"email"}, report
    by_sha = {record["sha256"]: record for record in listing}
    for entry in documents:
        record = by_sha.get(entry["sha256"])
        assert record, f"{entry} is not in Tarifer{report}"
        assert record["message_id"] == entry["tarifer_message_id"], f"{entry}{report}"
        assert (record["account"], record["kind"]) == (entry["account"], entry["kind"]), report
        assert sorted(record["numbers"]) == sorted(entry["numbers"]) and record["login"] == entry["login"], report
    return listing


def test_the_whole_month_by_email_lists_every_document_once_and_a_rerun_sends_nothing(tmp_path):
    with sandbox_process() as sandbox:
        settings = by_email(sandbox)
        first = run_robot(tmp_path / "first", settings, suite="robot")
        assert first.returncode == 0, first.output
        documents = summary_of(first)["documents"]
        accounts = settings["MTS_ACCOUNTS"].split(",")
        assert sorted((entry["account"], entry["kind"]) for entry in documents) == sorted(
            (account, kind) for account in accounts for kind in ("invoice", "call_details")
        )
        for entry in documents:
            assert entry["status"] == "uploaded" and entry["channel"] == "email" and entry["error"] is None, entry
            assert entry["tarifer_message_id"] and entry["tarifer_id"] is None, entry
            assert entry["message_id"] != entry["tarifer_message_id"], "the operator's mail is another field"
        assert_each_document_listed_once_by_email(sandbox, documents)

        mails = collector_mails(sandbox)
        assert len(mails) == len(documents) and not any(mail["duplicate"] for mail in mails), mails
        for entry in documents:
            (mail,) = [mail for mail in mails if mail["message_id"] == entry["tarifer_message_id"]]
            subject = mail["subject"]
            assert subject.startswith("MTS: ") and entry["account"] in subject and entry["login"] in subject, subject
            assert mail["from"] == settings["SMTP_USER"] and mail["to"] == settings["TARIFER_EMAIL"]

        page = (first.outputdir / "summary.html").read_text(encoding="utf-8")
        assert page.count("отправлен в Tarifer по e-mail") == len(documents) and "Всё загружено" in page
        written = (first.outputdir / "output.xml").read_text(encoding="utf-8")
        texts = " ".join(element.text or "" for element in ET.fromstring(written).iter())
        assert "%PDF-" not in written and "<mail to Tarifer <tarifer." in texts, "no file content in output.xml"
        assert "uploaded, Message-ID <tarifer." in texts and "(by e-mail)" in texts, "the task messages say how"

        ordered = len(orders(sandbox.data_dir))
        rerun = run_robot(tmp_path / "rerun", settings, suite="robot")
        assert rerun.returncode == 0, rerun.output
        assert len(orders(sandbox.data_dir)) == ordered, "the rerun ordered nothing"
        assert collector_mails(sandbox) == mails, "the rerun sent nothing"
        again = summary_of(rerun)["documents"]
        assert len(again) == len(documents)
        for entry in again:
            assert entry["status"] == "skipped" and entry["channel"] == "email", entry
        assert {entry["tarifer_message_id"] for entry in again} == {entry["tarifer_message_id"] for entry in documents}
        page = (rerun.outputdir / "summary.html").read_text(encoding="utf-8")
        assert page.count("уже был отправлен в Tarifer по e-mail") == len(documents)
        assert_no_secret_in(tmp_path, sandbox.settings)


def test_the_final_suite_mails_what_a_collector_outage_left_once_and_a_plan_sends_nothing(tmp_path):
    with sandbox_process() as sandbox:
        account = sandbox.settings["MTS_ACCOUNTS"].split(",")[0]
        settings = by_email(sandbox, MTS_ACCOUNTS=account)
        with outage(sandbox.data_dir, "tarifer"):
            first = run_robot(tmp_path / "first", settings)
            assert first.returncode != 0, first.output
            (left,) = summary_of(first)["documents"]
            assert left["status"] == "failed" and "451" in left["error"] and left["tarifer_message_id"], left
            assert "sends it again with the same Message-ID" in left["error"], left
            (waiting,) = read_state(tmp_path / "state" / "ledger-state.json")["outstanding"].values()
            assert waiting["status"] == "received" and waiting["tarifer_message_id"] == left["tarifer_message_id"]

            plan = run_robot(tmp_path / "plan", dict(settings, MODE="plan"), suite="robot/upload_to_tarifer.robot")
            assert plan.returncode == 0, plan.output
        assert tarifer_listing(sandbox.settings) == [] and collector_mails(sandbox) == [], "nothing reached Tarifer"

        final = run_robot(tmp_path / "final", settings, suite="robot/upload_to_tarifer.robot")
        assert final.returncode == 0, final.output
        (sent,) = summary_of(final)["documents"]
        assert sent["status"] == "uploaded" and sent["channel"] == "email", sent
        assert sent["tarifer_message_id"] == left["tarifer_message_id"], "the Message-ID recorded before the outage"
        assert_each_document_listed_once_by_email(sandbox, [sent])
        mails = collector_mails(sandbox)
        assert len(mails) == 1

        again = run_robot(tmp_path / "again", settings, suite="robot/upload_to_tarifer.robot")
        assert again.returncode == 0, again.output
        assert collector_mails(sandbox) == mails, "the final suite run again sends nothing"
        assert len(orders(sandbox.data_dir)) == 1


def test_a_robot_killed_right_after_a_document_s_mail_was_sent_leaves_one_copy_of_each_document(tmp_path):
    """Killed when the collector holds the first mail and the ledger does not yet say it was sent: the
    rerun sends that mail again under the same Message-ID (kept once) and completes the month."""
    for attempt in range(1, NARROW_ATTEMPTS + 1):
        with sandbox_process() as sandbox:
            account = sandbox.settings["MTS_ACCOUNTS"].split(",")[0]
            settings = by_email(sandbox, MTS_ACCOUNTS=account)
            folder = tmp_path / f"attempt-{attempt}"
            folder.mkdir()
            killed_dir, rerun_dir = folder / "killed", folder / "rerun"
            state_path = state_file_of(killed_dir)

            robot = start_robot(killed_dir, settings, "robot")
            try:
                in_collector = wait_until(
                    robot, lambda: mailed(sandbox), "a document's mail in Tarifer's collector", poll=0.001
                )
                kill_robot(robot)
            finally:
                if robot.process.poll() is None:
                    kill_robot(robot)
            (record,) = in_collector
            state = read_state(state_path)
            taken = [entry for entry in state["outstanding"].values() if entry["sha256"] == record["sha256"]]
            if not taken and attempt < NARROW_ATTEMPTS:
                print(f"\nthe kill came after the ledger recorded the mail sent (attempt {attempt}); trying again")
                continue
            at_kill = {"index": tarifer_index(sandbox.data_dir), "state": state}
            report = f"\n--- at the kill:\n{json.dumps(at_kill, ensure_ascii=False, indent=1)}\n{robot.tail()}"
            assert len(taken) == 1, f"the kill came after the ledger recorded the mail sent{report}"
            (entry,) = taken
            assert entry["status"] == "received", f"the ledger does not say the mail was sent{report}"
            assert entry["tarifer_message_id"] == record["message_id"], f"the Message-ID was on disk first{report}"
            assert entry["channel"] == "email", report

            rerun = run_robot(rerun_dir, settings, suite="robot")
            report += f"\n--- rerun:\n{rerun.output[-4000:]}"
            assert rerun.returncode == 0, f"the rerun failed{report}"
            documents = summary_of(rerun)["documents"]
            assert sorted(entry["kind"] for entry in documents) == ["call_details", "invoice"], report
            for done in documents:
                assert done["status"] == "uploaded" and done["channel"] == "email", f"{done}{report}"
                assert (ROOT / done["file"]).is_file(), report
            assert_each_document_listed_once_by_email(sandbox, documents, report)

            mails = collector_mails(sandbox)
            again = [mail for mail in mails if mail["message_id"] == record["message_id"]]
            assert [mail["duplicate"] for mail in again] == [None, "message_id"], (
                f"the same mail, sent again with the same Message-ID, is kept once{report}"
            )
            assert len(mails) == len(documents) + 1, f"nothing else was sent twice{report}"
            placed = Counter((order["account"], order["document"]) for order in orders(sandbox.data_dir))
            assert set(placed.values()) == {1} and len(placed) == len(documents), f"one order each{report}"
            assert not read_state(state_path)["outstanding"], f"nothing left for a next run{report}"
            seconds = time.monotonic() - robot.started
            print(f"\nkilled after the mail was accepted, on attempt {attempt}; the case took {seconds:.1f} s")
            return
