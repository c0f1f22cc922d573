"""``make run``: the whole month in one run of the suite tree, in the sandbox default."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from libraries.call_details import check_call_details
from libraries.documents import check_invoice, sha256_of
from libraries.periods import last_closed_period, period_bounds
from sandbox import dataset
from sandbox.invoice import invoice_charges
from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import ROOT, login_attempts, run_robot, summary_of

PERIOD = last_closed_period()
FIRST, LAST = (day.isoformat() for day in period_bounds(PERIOD))


def test_the_whole_month_orders_collects_and_uploads_invoices_and_call_details(tmp_path):
    run = run_robot(tmp_path / "results", suite="robot")
    assert run.returncode == 0, run.output
    summary = summary_of(run)
    assert summary["environment"] == "SANDBOX" and summary["period"] == PERIOD
    accounts = {account.number: account for account in dataset.generate(1)[0].accounts}
    invoices = [entry for entry in summary["documents"] if entry["kind"] == "invoice"]
    details = [entry for entry in summary["documents"] if entry["kind"] == "call_details"]
    assert sorted(entry["account"] for entry in invoices) == sorted(accounts)
    assert sorted(entry["account"] for entry in details) == sorted(accounts)
    for entry in invoices + details:
        assert entry["status"] == "uploaded" and entry["tarifer_id"] and entry["error"] is None, entry
        assert (entry["period_from"], entry["period_to"]) == (FIRST, LAST)
        assert sha256_of(ROOT / entry["file"]) == entry["sha256"]
    for entry in invoices:
        check_invoice(ROOT / entry["file"], entry["account"], PERIOD)
        total = invoice_charges(accounts[entry["account"]], PERIOD, 1).total_with_vat
        assert entry["amount"] == f"{total // 100}.{total % 100:02d}", "the invoice's total is in the summary"
    for entry in details:
        numbers = [subscriber.number for subscriber in accounts[entry["account"]].subscribers]
        assert sorted(entry["numbers"]) == sorted(numbers) and entry["format"] == "pdf"
        check_call_details(ROOT / entry["file"], numbers, FIRST, LAST, "pdf")
    report = (run.outputdir / "report.html").read_text(encoding="utf-8")
    assert f"SANDBOX · {PERIOD}" in report
    assert_the_finance_team_reads_every_document(run, invoices + details)


def assert_the_finance_team_reads_every_document(run, documents: list[dict]) -> None:
    """summary.html in Russian lists each document, its status and the invoices' totals; the report's
    task messages list the documents each task handled."""
    page = (run.outputdir / "summary.html").read_text(encoding="utf-8")
    assert '<html lang="ru">' in page and "Всё загружено" in page
    for entry in documents:
        assert entry["account"] in page and entry["tarifer_id"] in page
        if entry["kind"] == "invoice":
            whole, cents = entry["amount"].split(".")
            assert f"{int(whole):,}".replace(",", " ") + f",{cents} ₽" in page, "the invoice's total"
    assert page.count("загружен в Tarifer") == len(documents)
    output = ET.parse(run.outputdir / "output.xml").getroot()
    messages = {test.get("name"): test.find("status").text or "" for test in output.iter("test")}
    ordered = messages["Order The Invoice Of Every Personal Account"]
    uploaded = messages["Upload The Call Details To Tarifer"]
    for entry in documents:
        if entry["kind"] == "invoice":
            assert f"{entry['account']} · invoice · {FIRST}–{LAST} · ordered" in ordered
        assert f"{entry['account']} · " in uploaded and f"uploaded, Tarifer id {entry['tarifer_id']}" in uploaded


def test_the_whole_month_logs_in_once_and_collects_everything_in_one_pass(running_sandbox, tmp_path):
    settings, data_dir = running_sandbox.settings, running_sandbox.data_dir
    before = len(login_attempts(data_dir, settings["MTS_LOGIN"]))
    run = run_robot(tmp_path / "results", settings, suite="robot")
    assert run.returncode == 0, run.output
    attempts = login_attempts(data_dir, settings["MTS_LOGIN"])[before:]
    assert [attempt["result"] for attempt in attempts] == ["ok"], "one login for both routines"
    output = ET.parse(run.outputdir / "output.xml").getroot()
    tasks = {test.get("name"): test.find("status") for test in output.iter("test")}
    collect = tasks["Collect The Invoices From The Mailbox"]
    assert collect.get("status") == "PASS" and "in one pass with" in (collect.text or "")
    assert len([kw for kw in output.iter("kw") if kw.get("name") == "New Browser"]) == 1, "one browser"
    written = (run.outputdir / "output.xml").read_text(encoding="utf-8")
    assert "%PDF-" not in written and "multipart upload of" in written, "file contents never go into output.xml"
    assert {entry["status"] for entry in summary_of(run)["documents"]} == {"uploaded"}
    assert "Waiting for the e-mail of" in run.output, "the console hears what the robot waits for"


def test_a_company_of_twenty_accounts_and_forty_numbers_each_is_done_in_one_run(tmp_path):
    """Items beyond the first page of the left pane and below its visible part are reached."""
    with sandbox_process("--accounts", "20", "--numbers", "40") as company:
        settings = dict(company.settings, CALL_DETAILS_FORMAT="xml")
        run = run_robot(tmp_path / "results", settings, suite="robot")
        assert run.returncode == 0, run.output
        documents = summary_of(run)["documents"]
        accounts = settings["MTS_ACCOUNTS"].split(",")
        assert len(accounts) == 20
        for kind in ("invoice", "call_details"):
            done = sorted(entry["account"] for entry in documents if entry["kind"] == kind)
            assert done == sorted(accounts), kind
        assert {entry["status"] for entry in documents} == {"uploaded"}
        assert all(len(entry["numbers"]) == 40 for entry in documents if entry["kind"] == "call_details")
