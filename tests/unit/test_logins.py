"""Several logins: the logins file, each login's settings, and the run split per login."""

import os

import pytest
from robot.running import TestSuiteBuilder as SuiteBuilder

from libraries.environment import PROJECT_ROOT, read_settings, settings_of_login
from libraries.logins import login_numbers, read_logins_file
from libraries.manual_order import ManualOrder
from variables import production

BASE = {name: f"value-of-{name.lower()}" for name in production.REQUIRED if name not in ("MTS_LOGIN", "MTS_PASSWORD")}

TWO_LOGINS = """
[[login]]
number = "9161234567"
password_env = "PASSWORD_ONE"

[[login]]
number = "9167654321"
password_env = "PASSWORD_TWO"
accounts = ["277300018417", "277300018418"]
call_details_groups = { "Руководство" = { account = "277300018417", numbers = ["79161234567"] } }
"""


@pytest.fixture
def logins_file(tmp_path):
    """A logins file with ``text``: a function returning its path."""

    def write(text: str = TWO_LOGINS):
        path = tmp_path / "logins.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_the_file_lists_every_login_with_its_own_password_accounts_and_groups(logins_file):
    environ = {**BASE, "MTS_LOGINS_FILE": str(logins_file()), "PASSWORD_ONE": "first", "PASSWORD_TWO": "second"}
    settings = read_settings(environ, "2026-10")
    assert [login["number"] for login in settings["LOGINS"]] == ["9161234567", "9167654321"]
    assert settings["MTS_LOGIN"] == "9161234567", "the first login by default"
    assert str(settings["MTS_PASSWORD"]) == "<secret>" and settings["MTS_PASSWORD"].value == "first"
    assert settings["MTS_ACCOUNTS"] == [] and settings["CALL_DETAILS_GROUPS"] == []

    second = settings_of_login(settings, "9167654321")
    assert second["MTS_LOGIN"] == "9167654321" and second["MTS_PASSWORD"].value == "second"
    assert second["MTS_ACCOUNTS"] == ["277300018417", "277300018418"]
    assert second["CALL_DETAILS_GROUPS"] == [
        {"name": "Руководство", "account": "277300018417", "numbers": ["79161234567"]}
    ]
    assert second["IMAP_HOST"] == settings["IMAP_HOST"], "the rest is shared"
    with pytest.raises(RuntimeError, match="Login 9000000000 is not among this run's logins"):
        settings_of_login(settings, "9000000000")


def test_without_the_file_the_one_login_shortcut_is_required_and_used():
    with pytest.raises(RuntimeError, match=r"MTS_LOGIN \(.*MTS_PASSWORD \("):
        read_settings(BASE, "2026-10")
    one_login = {"MTS_LOGIN": "9161234567", "MTS_PASSWORD": "pw", "MTS_ACCOUNTS": "1,2"}
    settings = read_settings({**BASE, **one_login}, "2026-10")
    assert [login["number"] for login in settings["LOGINS"]] == ["9161234567"]
    assert settings_of_login(settings, "")["MTS_ACCOUNTS"] == ["1", "2"]


def test_a_login_whose_password_variable_is_unset_is_named(logins_file):
    environ = {**BASE, "MTS_LOGINS_FILE": str(logins_file()), "PASSWORD_ONE": "first"}
    with pytest.raises(RuntimeError, match="Login 9167654321: its password variable PASSWORD_TWO"):
        read_settings(environ, "2026-10")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("not toml [", "is not valid TOML"),
        ("x = 1", "must list at least one"),
        ('[[login]]\nnumber = "+79161234567"\npassword_env = "P"', "number must be the 10-digit login"),
        ('[[login]]\nnumber = "9161234567"\npassword_env = "not a name"', r"\(9161234567\): password_env must"),
        ('[[login]]\nnumber = "9161234567"\npassword_env = "P"\naccounts = ["12"]', "accounts must be a list"),
        ('[[login]]\nnumber = "9161234567"\npassword_env = "P"\npassword = "x"', "unknown field password"),
        ('[[login]]\nnumber = "9161234567"\npassword_env = "P"\ncall_details_groups = 1', "call_details_groups"),
        ('[[login]]\nnumber = "9161234567"\npassword_env = "P"\n' * 2, "lists login 9161234567 more than once"),
    ],
)
def test_a_wrong_logins_file_says_what_is_wrong(logins_file, text, complaint):
    with pytest.raises(RuntimeError, match=complaint):
        read_logins_file(logins_file(text))


def test_a_missing_logins_file_is_named(tmp_path):
    with pytest.raises(RuntimeError, match=f"MTS_LOGINS_FILE {tmp_path / 'none.toml'} cannot be read"):
        read_logins_file(tmp_path / "none.toml")


def test_the_logins_of_a_run_are_known_before_it_starts_only_in_production(logins_file):
    path = str(logins_file())
    assert login_numbers({"MTS_PORTAL_URL": "https://x", "MTS_LOGINS_FILE": path}) == ["9161234567", "9167654321"]
    assert login_numbers({"MTS_LOGINS_FILE": path}) == [], "the sandbox's own stand-ins have one login"
    assert login_numbers({"MTS_PORTAL_URL": "https://x", "MTS_LOGINS_FILE": path + ".missing"}) == []


def built(suite: str, logins: list[str], monkeypatch):
    """``suite`` as ``robot`` builds it, after the modifier (applied twice, as ROBOT_OPTIONS may) for ``logins``."""
    modifier = ManualOrder()
    monkeypatch.setattr(modifier, "logins", logins)
    root = SuiteBuilder(rpa=True).build(str(PROJECT_ROOT / suite))
    root.visit(modifier)
    root.visit(modifier)
    return root


def test_one_login_runs_the_routines_in_the_manual_order(monkeypatch):
    root = built("robot", ["9161234567"], monkeypatch)
    assert [child.name for child in root.suites] == ["Monthly Invoice", "Call Details", "Upload To Tarifer"]
    login_task = root.suites[0].tests[0]
    assert "robot:exit-on-failure" in login_task.tags, "one login: a refusal stops the run"


def test_every_login_orders_in_its_own_part_then_the_mail_is_collected_once(monkeypatch):
    root = built("robot", ["9161234567", "9167654321"], monkeypatch)
    names = [child.name for child in root.suites]
    assert names == [
        "Login 9161234567",
        "Login 9167654321",
        "Monthly Invoice Of Every Login",
        "Call Details Of Every Login",
        "Upload To Tarifer",
    ]
    for part, login in zip(root.suites[:2], ["9161234567", "9167654321"], strict=True):
        assert part.metadata["Login"] == login
        assert [routine.name for routine in part.suites] == ["Monthly Invoice", "Call Details"]
        for routine in part.suites:
            assert routine.metadata["Login"] == login, "Start The Run picks the login's settings"
            assert [task.name.split()[0] for task in routine.tests] == ["Log", "Order"]
            assert all("robot:exit-on-failure" not in task.tags for task in routine.tests), "one refusal stops one part"
    collected = [task.name for part in root.suites[2:4] for task in part.tests]
    assert all(name.startswith(("Collect", "Upload")) for name in collected) and len(collected) == 4
    assert not root.tests


def test_a_routine_run_alone_is_split_the_same_way(monkeypatch):
    root = built("robot/call_details.robot", ["9161234567", "9167654321"], monkeypatch)
    assert not root.tests and root.setup.name == "Start The Run", "the run starts and ends once, at the top"
    parts = ["Login 9161234567", "Login 9167654321", "Call Details Of Every Login"]
    assert [child.name for child in root.suites] == parts
    assert [routine.name for routine in root.suites[0].suites] == ["Call Details"]
    assert os.path.basename(root.suites[2].source) == "call_details.robot"
