"""Manual 1.1 + 1.2 end to end: the robot in Chromium against the stand-ins."""

from __future__ import annotations

import pytest

from libraries.documents import check_invoice, sha256_of
from libraries.periods import last_closed_period, period_bounds
from sandbox import dataset
from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import (
    ROOT,
    assert_no_secret_in,
    login_attempts,
    orders,
    pictures,
    run_robot,
    summary_of,
    tarifer_listing,
)
from tests.support import outage

PERIOD = last_closed_period()
FIRST, LAST = (day.isoformat() for day in period_bounds(PERIOD))


def assert_every_invoice_uploaded(summary: dict, accounts: list[str]) -> None:
    documents = summary["documents"]
    assert sorted(entry["account"] for entry in documents) == sorted(accounts)
    for entry in documents:
        assert entry["kind"] == "invoice" and entry["format"] == "pdf" and entry["numbers"] == []
        assert (entry["period_from"], entry["period_to"]) == (FIRST, LAST)
        assert entry["status"] == "uploaded", entry
        assert entry["order_id"] and entry["tarifer_id"] and entry["error"] is None
        path = ROOT / entry["file"]
        check_invoice(path, entry["account"], PERIOD)
        assert sha256_of(path) == entry["sha256"]


def test_a_fresh_run_without_configuration_does_the_month_in_the_sandbox(tmp_path):
    run = run_robot(tmp_path / "results")
    assert run.returncode == 0, run.output
    summary = summary_of(run)
    assert summary["environment"] == "SANDBOX" and summary["period"] == PERIOD
    assert summary["started_at"] <= summary["finished_at"]
    assert_every_invoice_uploaded(summary, [account.number for account in dataset.generate(1)[0].accounts])
    report = (run.outputdir / "report.html").read_text(encoding="utf-8")
    assert f"SANDBOX · {PERIOD}" in report
    assert pictures(run.outputdir) == [], "no picture when every order went well (ORDER_SCREENSHOTS=problems)"


def test_the_production_path_uploads_once_and_a_second_run_uploads_nothing(running_sandbox, tmp_path):
    settings, data_dir = running_sandbox.settings, running_sandbox.data_dir
    accounts = settings["MTS_ACCOUNTS"].split(",")
    first = run_robot(tmp_path / "results", dict(settings, ORDER_SCREENSHOTS="every"))
    assert first.returncode == 0, first.output
    summary = summary_of(first)
    assert summary["environment"] == "PRODUCTION"
    assert_every_invoice_uploaded(summary, accounts)
    assert pictures(first.outputdir) == sorted(f"document-{account}-{PERIOD}.jpeg" for account in accounts)
    held = {document["sha256"] for document in tarifer_listing(settings)}
    assert {entry["sha256"] for entry in summary["documents"]} <= held
    ordered = len(orders(data_dir))
    assert ordered == len(accounts)

    second = run_robot(tmp_path / "results", settings)
    assert second.returncode == 0, second.output
    assert len(tarifer_listing(settings)) == len(held), "nothing is uploaded twice"
    assert len(orders(data_dir)) == ordered, "nothing is ordered twice"
    after_second = summary_of(second)["documents"]
    assert {entry["status"] for entry in after_second} == {"skipped"}

    final = run_robot(tmp_path / "results", settings, suite="robot/upload_to_tarifer.robot")
    assert final.returncode == 0, final.output
    assert summary_of(final)["documents"] == after_second, "the month's account is kept, nothing more happened"
    assert len(tarifer_listing(settings)) == len(held), "the final suite right after a full run uploads nothing"
    assert_no_secret_in(tmp_path / "results", settings)


def test_a_subset_of_accounts_is_honoured_and_an_unknown_one_fails_clearly(running_sandbox, tmp_path):
    settings = dict(running_sandbox.settings, MTS_ACCOUNTS="000000000000")
    run = run_robot(tmp_path / "results", settings)
    assert run.returncode != 0
    (entry,) = summary_of(run)["documents"]
    assert entry["status"] == "failed" and "000000000000 is not listed" in entry["error"]


def test_a_wrong_password_fails_fast_after_exactly_one_attempt(running_sandbox, tmp_path):
    settings = dict(running_sandbox.settings, MTS_PASSWORD="wrong-" + running_sandbox.settings["MTS_PASSWORD"])
    before = len(login_attempts(running_sandbox.data_dir, settings["MTS_LOGIN"]))
    run = run_robot(tmp_path / "results", settings)
    assert run.returncode != 0
    assert "refused the login" in run.output and "password was refused" in run.output
    attempts = login_attempts(running_sandbox.data_dir, settings["MTS_LOGIN"])[before:]
    assert [attempt["result"] for attempt in attempts] == ["wrong_password"]
    assert summary_of(run)["documents"] == []
    assert_no_secret_in(tmp_path / "results", settings)


@pytest.mark.parametrize("missing", ["TARIFER_TOKEN", "IMAP_HOST"])
def test_a_missing_production_setting_is_named(running_sandbox, tmp_path, missing):
    settings = {name: value for name, value in running_sandbox.settings.items() if name != missing}
    run = run_robot(tmp_path / "results", settings)
    assert run.returncode != 0
    assert f"Missing production settings: {missing}" in run.output


def test_a_portal_outage_stops_the_run_at_login_with_the_portal_s_words(running_sandbox, tmp_path):
    with outage(running_sandbox.data_dir, "portal"):
        run = run_robot(tmp_path / "results", running_sandbox.settings)
    assert run.returncode != 0
    assert "the portal is temporarily unavailable" in run.output
    assert "Получение запрошенной информации в данный момент недоступно" in run.output
    assert summary_of(run)["documents"] == []


def test_an_order_the_portal_never_confirms_is_not_placed_again_and_its_mail_is_found(tmp_path):
    with sandbox_process("--fault", "silent-orders") as silent:
        account = silent.settings["MTS_ACCOUNTS"].split(",")[0]
        settings = dict(silent.settings, MTS_ACCOUNTS=account, BROWSER_TIMEOUT="5s")
        run = run_robot(tmp_path / "results", settings)
        assert run.returncode == 0, run.output
        (entry,) = summary_of(run)["documents"]
        assert entry["status"] == "uploaded" and entry["order_id"] is None
        check_invoice(ROOT / entry["file"], account, PERIOD)
        assert len(orders(silent.data_dir)) == 1, "the unconfirmed order was not placed a second time"
        assert pictures(run.outputdir) == ["order-unanswered-1.jpeg"], "what the page showed instead of an answer"
