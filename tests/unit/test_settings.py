"""Production settings: what is required, what is wrong, and the call-details options."""

import json

import pytest
from robot.api.types import Secret

from libraries.environment import PROJECT_ROOT, parse_groups, read_env_file, read_settings
from libraries.run_options import ARGUMENT_FILE, DRY_RUN_FOLDER, default_options
from sandbox.stack import write_env_file
from variables import production

COMPLETE = {name: f"value-of-{name.lower()}" for name in production.REQUIRED}


def test_every_missing_setting_is_named_with_its_meaning():
    environ = {name: value for name, value in COMPLETE.items() if name not in ("TARIFER_TOKEN", "IMAP_HOST")}
    with pytest.raises(RuntimeError) as failure:
        read_settings(environ, "2026-10")
    message = str(failure.value)
    assert "TARIFER_TOKEN (Tarifer API token)" in message and "IMAP_HOST (" in message
    assert "MTS_LOGIN" not in message


def test_secrets_are_secret_values_and_defaults_fill_the_rest():
    settings = read_settings(COMPLETE, "2026-10")
    for name in production.SECRETS:
        assert isinstance(settings[name], Secret) and str(settings[name]) == "<secret>"
    assert settings["IMAP_PORT"] == "993" and settings["MTS_ACCOUNTS"] == []
    assert settings["CALL_DETAILS_FORMAT"] == "pdf"
    assert (settings["CALL_DETAILS_FROM"], settings["CALL_DETAILS_TO"]) == ("2026-10-01", "2026-10-31")
    assert settings["CALL_DETAILS_GROUPS"] == []


def test_call_details_options_are_checked():
    assert read_settings({**COMPLETE, "CALL_DETAILS_FORMAT": "XML"}, "2026-10")["CALL_DETAILS_FORMAT"] == "xml"
    with pytest.raises(RuntimeError, match="CALL_DETAILS_FORMAT must be one of pdf, xml, html"):
        read_settings({**COMPLETE, "CALL_DETAILS_FORMAT": "xls"}, "2026-10")
    with pytest.raises(RuntimeError, match="CALL_DETAILS_FROM must be a date"):
        read_settings({**COMPLETE, "CALL_DETAILS_FROM": "01.10.2026"}, "2026-10")
    with pytest.raises(RuntimeError, match="CALL_DETAILS_FROM is after CALL_DETAILS_TO"):
        read_settings({**COMPLETE, "CALL_DETAILS_FROM": "2026-10-20", "CALL_DETAILS_TO": "2026-10-10"}, "2026-10")


def test_order_pictures_are_of_problems_unless_every_order_is_asked_for():
    assert read_settings(COMPLETE, "2026-10")["ORDER_SCREENSHOTS"] == "problems"
    assert read_settings({**COMPLETE, "ORDER_SCREENSHOTS": " Every "}, "2026-10")["ORDER_SCREENSHOTS"] == "every"
    with pytest.raises(RuntimeError, match="ORDER_SCREENSHOTS must be one of problems, every, not 'all'"):
        read_settings({**COMPLETE, "ORDER_SCREENSHOTS": "all"}, "2026-10")


def test_groups_come_inline_or_from_a_file(tmp_path):
    groups = {"Руководство": {"account": "277300018417", "numbers": ["79161234567"]}}
    expected = [{"name": "Руководство", "account": "277300018417", "numbers": ["79161234567"]}]
    assert parse_groups(json.dumps(groups, ensure_ascii=False)) == expected
    path = tmp_path / "groups.json"
    path.write_text(json.dumps(groups, ensure_ascii=False), encoding="utf-8")
    assert parse_groups(str(path)) == expected
    assert parse_groups("") == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"A": {"account": "123", "numbers": ["79161234567"]}}', "group 'A' needs a 12-digit personal account"),
        ('{"A": {"account": "277300018417", "numbers": []}}', "group 'A' needs a list of numbers"),
        ('{"A": {"account": "277300018417", "numbers": ["9161234567"]}}', "group 'A' needs a list of numbers"),
        ("[]", "must map group names"),
    ],
)
def test_a_wrong_group_is_refused_saying_what_is_wrong(value, message):
    with pytest.raises(RuntimeError, match=message):
        parse_groups(value)


def test_the_sandbox_settings_file_reads_back(tmp_path):
    path = tmp_path / "sandbox.env"
    write_env_file(path, {"A": "plain", "B": "it's quoted", "C": ""})
    assert read_env_file(path) == {"A": "plain", "B": "it's quoted", "C": ""}
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_mail_senders_and_the_largest_document_are_checked():
    settings = read_settings(COMPLETE, "2026-10")
    assert settings["MAIL_FROM"] == ["@mts.ru"] and settings["MAX_DOCUMENT_SIZE"] == 200_000_000
    chosen = read_settings({**COMPLETE, "MAIL_FROM": " VM@ihelper.mts.ru, @corp.example "}, "2026-10")
    assert chosen["MAIL_FROM"] == ["vm@ihelper.mts.ru", "@corp.example"]
    for wrong in ("nobody", "@", "a b@c.d", ","):
        with pytest.raises(RuntimeError, match="MAIL_FROM"):
            read_settings({**COMPLETE, "MAIL_FROM": wrong}, "2026-10")
    with pytest.raises(RuntimeError, match="MAX_DOCUMENT_SIZE must be a whole number"):
        read_settings({**COMPLETE, "MAX_DOCUMENT_SIZE": "200MB"}, "2026-10")


def test_the_ledger_state_lives_in_state_whatever_the_output_folder(tmp_path):
    assert read_settings(COMPLETE, "2026-10")["LEDGER_STATE_FILE"] == str(PROJECT_ROOT / "state" / "ledger-state.json")
    moved = read_settings({**COMPLETE, "LEDGER_STATE_FILE": str(tmp_path / "s.json")}, "2026-10")
    assert moved["LEDGER_STATE_FILE"] == str(tmp_path / "s.json")


def test_a_dry_run_inside_the_venv_writes_no_output_files():
    assert default_options(["python", "robot", "robot/monthly_invoice.robot"]) == f"--argumentfile {ARGUMENT_FILE}"
    dry = default_options(["python", "robot", "--dryrun", "robot"])
    assert dry.startswith(f"--argumentfile {ARGUMENT_FILE}")
    assert "--output NONE --log NONE --report NONE --xunit NONE" in dry
    assert dry.endswith(f"--outputdir {DRY_RUN_FOLDER}")
