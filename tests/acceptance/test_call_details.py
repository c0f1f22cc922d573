"""Manual 2.1 and the final upload suite, through the production path against running stand-ins."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from libraries.call_details import check_call_details
from libraries.periods import last_closed_period, period_bounds
from sandbox import dataset
from sandbox.call_details import XML_PERIOD_ON_DS, XML_VARIANTS, xml_variant
from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import (
    ROOT,
    assert_no_secret_in,
    orders,
    pictures,
    run_robot,
    summary_of,
    tarifer_listing,
)
from tests.support import outage

PERIOD = last_closed_period()
FIRST, LAST = (day.isoformat() for day in period_bounds(PERIOD))
ZIP_ABOVE = "20000"


@pytest.fixture(scope="module")
def zipping_sandbox():
    """Stand-ins whose portal zips every call-details attachment above 20 kB."""
    with sandbox_process("--zip-above", ZIP_ABOVE) as sandbox:
        yield sandbox


def details_of(run) -> list[dict]:
    return [entry for entry in summary_of(run)["documents"] if entry["kind"] == "call_details"]


def groups_setting(groups: dict) -> str:
    return json.dumps(groups, ensure_ascii=False)


def first_account(running) -> str:
    return running.settings["MTS_ACCOUNTS"].split(",")[0]


def month_with_variant(account: str, numbers: list[str], variant: str) -> str:
    """A closed month, among the last six, for which the stand-in sends this order in ``variant``."""
    period = PERIOD
    for _ in range(6):
        first, last = period_bounds(period)
        if xml_variant(1, account, numbers, first, last) == variant:
            return period
        period = previous_month(period)
    raise AssertionError(f"no month of the last six gives the XML variant {variant}")


@pytest.mark.parametrize("variant", XML_VARIANTS)
def test_xml_call_details_of_a_named_group_are_uploaded_in_each_real_layout(zipping_sandbox, tmp_path, variant):
    account = first_account(zipping_sandbox)
    ordered = orders(zipping_sandbox.data_dir)
    numbers = numbers_of(account)[:2]
    period = month_with_variant(account, numbers, variant)
    settings = dict(
        zipping_sandbox.settings,
        PERIOD=period,
        CALL_DETAILS_FORMAT="xml",
        CALL_DETAILS_GROUPS=groups_setting({"Руководство": {"account": account, "numbers": numbers}}),
    )
    run = run_robot(tmp_path / "results", settings, suite="robot/call_details.robot")
    assert run.returncode == 0, run.output
    (entry,) = details_of(run)
    assert entry["status"] == "uploaded" and entry["format"] == "xml" and entry["numbers"] == numbers
    root = ET.parse(ROOT / entry["file"]).getroot()
    assert root.tag == "Report"
    assert [ds.get("n") for ds in root.findall("ds") if re.fullmatch(r"7\d{10}", ds.get("n", ""))] == numbers
    first, last = (day.strftime("%d.%m.%Y") for day in period_bounds(period))
    stated = [element for element in [root.find("b"), *root.findall("ds")] if element is not None]
    assert {(e.get("sd"), e.get("ed")) for e in stated if e.get("sd")} == {(first, last)}
    if variant == XML_PERIOD_ON_DS:
        assert root.find("b") is None, "this layout states its period on each <ds> only"
    assert entry["sha256"] in {document["sha256"] for document in tarifer_listing(settings)}
    (order,) = orders(zipping_sandbox.data_dir)[len(ordered) :]
    assert sorted(order["numbers"]) == sorted(numbers) and order["format"] == "XML"
    assert_no_secret_in(tmp_path / "results", settings)


def test_html_call_details_of_a_whole_account_arrive_zipped_and_are_unpacked(zipping_sandbox, tmp_path):
    account = first_account(zipping_sandbox)
    settings = dict(zipping_sandbox.settings, CALL_DETAILS_FORMAT="html", MTS_ACCOUNTS=account)
    run = run_robot(tmp_path / "results", settings, suite="robot/call_details.robot")
    assert run.returncode == 0, run.output
    (entry,) = details_of(run)
    assert entry["status"] == "uploaded" and entry["file"].endswith(".html")
    check_call_details(ROOT / entry["file"], numbers_of(account), FIRST, LAST, "html")
    page = (ROOT / entry["file"]).read_bytes()
    assert page.startswith(b"\xef\xbb\xbf") and "Сетевой ресурс 7".encode() in page, "the real file's layout"
    deliveries = (zipping_sandbox.data_dir / "portal" / "deliveries.jsonl").read_text(encoding="utf-8")
    assert ".zip" in deliveries, "the document was big enough to come zipped"


def test_a_period_the_portal_refuses_fails_with_its_message_and_orders_nothing(zipping_sandbox, tmp_path):
    ordered = len(orders(zipping_sandbox.data_dir))
    settings = dict(
        zipping_sandbox.settings,
        MTS_ACCOUNTS=first_account(zipping_sandbox),
        CALL_DETAILS_FROM="2020-01-01",
        CALL_DETAILS_TO="2020-01-31",
    )
    run = run_robot(tmp_path / "results", settings, suite="robot/call_details.robot")
    assert run.returncode != 0
    (entry,) = details_of(run)
    assert entry["status"] == "failed" and "The portal refused the order" in entry["error"]
    assert len(orders(zipping_sandbox.data_dir)) == ordered
    assert pictures(run.outputdir) == ["order-refused-1.jpeg"], "the window with the portal's refusal"


def test_the_final_suite_uploads_what_a_tarifer_outage_left_and_then_nothing(zipping_sandbox, tmp_path):
    settings = dict(zipping_sandbox.settings, PERIOD=previous_month(PERIOD))
    results = tmp_path / "results"
    with outage(zipping_sandbox.data_dir, "tarifer"):
        during = run_robot(results, settings, suite="robot/monthly_invoice.robot")
    assert during.returncode != 0
    left = summary_of(during)["documents"]
    assert left and {entry["status"] for entry in left} == {"failed"}
    assert all("503" in entry["error"] and entry["sha256"] for entry in left)
    held = len(tarifer_listing(settings))

    after = run_robot(results, settings, suite="robot/upload_to_tarifer.robot")
    assert after.returncode == 0, after.output
    uploaded = summary_of(after)["documents"]
    assert sorted(entry["sha256"] for entry in uploaded) == sorted(entry["sha256"] for entry in left)
    assert {entry["status"] for entry in uploaded} == {"uploaded"}
    assert len(tarifer_listing(settings)) == held + len(left)

    again = run_robot(results, settings, suite="robot/upload_to_tarifer.robot")
    assert again.returncode == 0, again.output
    assert summary_of(again)["documents"] == uploaded, "the month's account stays as it was; nothing more happened"
    assert len(tarifer_listing(settings)) == held + len(left)


def test_a_wrong_document_in_the_mail_fails_and_is_not_uploaded(tmp_path):
    with sandbox_process("--fault", "wrong-document") as sandbox:
        settings = dict(sandbox.settings, MTS_ACCOUNTS=first_account(sandbox))
        run = run_robot(tmp_path / "results", settings, suite="robot")
        assert run.returncode != 0
        documents = summary_of(run)["documents"]
        assert {entry["kind"] for entry in documents} == {"invoice", "call_details"}
        for entry in documents:
            assert entry["status"] == "failed" and entry["tarifer_id"] is None
            assert "does not carry the ordered document" in entry["error"]
            assert "ordered again on the next run" in entry["error"]
        assert tarifer_listing(settings) == []
        assert len(orders(sandbox.data_dir)) == 2

        again = run_robot(tmp_path / "again", settings, suite="robot")
        assert again.returncode != 0
        assert len(orders(sandbox.data_dir)) == 4, "each wrong document is ordered again, once, not awaited forever"
        assert again.seconds < int(settings["MAIL_TIMEOUT"]), "the run did not wait for the wrong mail again"
        assert tarifer_listing(settings) == []


def numbers_of(account: str) -> list[str]:
    for login in dataset.generate(1):
        for candidate in login.accounts:
            if candidate.number == account:
                return [subscriber.number for subscriber in candidate.subscribers]
    raise AssertionError(f"no account {account} in the data set")


def previous_month(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def test_large_call_details_travel_the_whole_way_zipped(tmp_path):
    """--document-size: a large file goes portal → ZIP → mail → robot → Tarifer."""
    with sandbox_process("--document-size", "20000", "--zip-above", "1000000") as large:
        account = first_account(large)
        settings = dict(large.settings, CALL_DETAILS_FORMAT="xml", MTS_ACCOUNTS=account)
        run = run_robot(tmp_path / "results", settings, suite="robot/call_details.robot")
        assert run.returncode == 0, run.output
        (entry,) = details_of(run)
        assert entry["status"] == "uploaded"
        path = ROOT / entry["file"]
        assert path.stat().st_size > 2_000_000, "a large document"
        read = check_call_details(path, numbers_of(account), FIRST, LAST, "xml", account=account)
        assert all(count >= 20000 for count in read.counts.values()), read.counts
        deliveries = (large.data_dir / "portal" / "deliveries.jsonl").read_text(encoding="utf-8")
        assert ".zip" in deliveries
        assert entry["sha256"] in {document["sha256"] for document in tarifer_listing(settings)}
