"""Several Virtual Manager logins in one run (``MTS_LOGINS_FILE``), through the production path."""

import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from tests.acceptance.conftest import sandbox_process
from tests.acceptance.robot_runs import (
    assert_no_secret_in,
    login_attempts,
    orders,
    run_robot,
    summary_of,
    tarifer_listing,
)


def logins_of(settings: dict) -> list[dict]:
    """The ``[[login]]`` tables of the logins file the sandbox wrote."""
    return tomllib.loads(Path(settings["MTS_LOGINS_FILE"]).read_text(encoding="utf-8"))["login"]


def suite_names(output: Path) -> list[str]:
    """The names of the top suite's parts in output.xml, in the order they ran."""
    top = ET.parse(output).getroot().find("suite")
    return [child.get("name") for child in top.findall("suite")]


def new_browsers(output: Path) -> int:
    """How many browsers the run started."""
    return sum(1 for kw in ET.parse(output).getroot().iter("kw") if kw.get("name") == "New Browser")


def test_three_logins_of_ten_accounts_are_done_in_one_run(tmp_path):
    """Every login's invoices and call details are uploaded; one summary lists them all, by login."""
    with sandbox_process("--logins", "3", "--accounts", "10", "--numbers", "30") as company:
        logins = logins_of(company.settings)
        assert len(logins) == 3
        run = run_robot(tmp_path / "results", company.settings, suite="robot")
        assert run.returncode == 0, run.output

        documents = summary_of(run)["documents"]
        for login in logins:
            for kind in ("invoice", "call_details"):
                done = sorted(entry["account"] for entry in documents if entry["login"] == login["number"]
                              and entry["kind"] == kind)
                assert done == sorted(login["accounts"]), (login["number"], kind)
        assert len(documents) == 60 and {entry["status"] for entry in documents} == {"uploaded"}
        assert all(len(entry["numbers"]) == 30 for entry in documents if entry["kind"] == "call_details")
        assert len(tarifer_listing(company.settings)) == 60
        assert len(orders(company.data_dir)) == 60, "one order per document"
        for login in logins:
            assert len(login_attempts(company.data_dir, login["number"])) == 1, "one login per login"

        output = run.outputdir / "output.xml"
        assert suite_names(output) == [
            *(f"Login {login['number']}" for login in logins),
            "Monthly Invoice Of Every Login",
            "Call Details Of Every Login",
            "Upload To Tarifer",
        ], "each login is its own part of the report; the mail is collected once, after every order"
        assert new_browsers(output) == 3, "one browser per login"
        assert_no_secret_in(run.outputdir, company.settings)


def test_a_refused_login_stops_only_its_own_part(tmp_path):
    """A wrong password on the second of three logins: the other two complete, the run fails naming it."""
    with sandbox_process("--logins", "3", "--accounts", "2", "--numbers", "2") as company:
        logins = logins_of(company.settings)
        refused = logins[1]["number"]
        settings = dict(company.settings, **{logins[1]["password_env"]: "not-the-password"})
        run = run_robot(tmp_path / "results", settings, suite="robot")
        assert run.returncode != 0
        assert f"The portal refused the login of +7{refused}" in run.output

        documents = summary_of(run)["documents"]
        by_login = Counter((entry["login"], entry["status"]) for entry in documents)
        for login in (logins[0], logins[2]):
            assert by_login[(login["number"], "uploaded")] == 4, by_login
        assert not [entry for entry in documents if entry["login"] == refused]
        assert len(login_attempts(company.data_dir, refused)) == 1, "a refused password is tried once"
        assert len(tarifer_listing(company.settings)) == 8


def test_a_routine_run_alone_does_every_login(tmp_path):
    """``robot robot/monthly_invoice.robot`` with the logins file: every login's invoices, one collection."""
    with sandbox_process("--logins", "2", "--accounts", "2", "--numbers", "2") as company:
        run = run_robot(tmp_path / "results", company.settings, suite="robot/monthly_invoice.robot")
        assert run.returncode == 0, run.output
        documents = summary_of(run)["documents"]
        expected = sorted((login["number"], account) for login in logins_of(company.settings)
                          for account in login["accounts"])
        assert sorted((entry["login"], entry["account"]) for entry in documents) == expected
        assert {(entry["kind"], entry["status"]) for entry in documents} == {("invoice", "uploaded")}
