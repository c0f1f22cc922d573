"""The stand-in's test option ``--without-label``: one label gone from every page, as a portal version might."""

from __future__ import annotations

import shutil

import pytest

from sandbox.__main__ import parse_args
from sandbox.stack import Sandbox, SandboxOptions
from tests.support import world_traversable_folder
from tests.unit.test_portal import FIRST, log_in, login_form, make_app, parse, select

BASE = ["--data-dir", "d", "--env-file", "e"]


def test_the_option_is_parsed_and_kept_out_of_the_help(capsys):
    assert parse_args(BASE).without_label is None
    assert parse_args([*BASE, "--without-label", "Текущая выборка"]).without_label == "Текущая выборка"
    with pytest.raises(SystemExit):
        parse_args([*BASE, "--help"])
    assert "without-label" not in capsys.readouterr().out
    assert SandboxOptions(data_dir="d").without_label is None


@pytest.fixture
def portal_without(tmp_path):
    """A portal started without a label; yields a function that makes one and a logged-in client of it."""
    apps = []

    def make(label: str | None):
        app = make_app(tmp_path / str(len(apps)), without_label=label)
        apps.append(app)
        client = app.test_client()
        login_page = client.get("/selfcare/").text
        assert log_in(client).status_code == 302
        return app, client, login_page

    yield make
    for app in apps:
        app.extensions["portal"].shutdown()


def test_the_label_is_gone_from_pages_and_answers_and_nothing_else(portal_without):
    app, client, _ = portal_without("Текущая выборка")
    assert app.config["WITHOUT_LABEL"] == "Текущая выборка"
    answer = select(client, account=FIRST.accounts[0].number)
    assert answer.status_code == 200
    assert answer.json["header"] == f" ({len(FIRST.accounts[0].subscribers)}): один контракт, однотиповая"
    page = client.get("/selfcare/vm").text
    assert "Текущая выборка" not in page
    for label in ("Лицевые счета", "Очистить", "Заказать документ", "Детализация разговоров", "Отправить на"):
        assert label in page
    _, plain, _ = portal_without(None)
    assert client.get("/selfcare/static/vm.js").data == plain.get("/selfcare/static/vm.js").data


def test_only_whole_words_go(portal_without):
    """«Период» goes, and with it the start of «Период с»; «Счета» stays when «Счет» is left out."""
    _, client, _ = portal_without("Период")
    text = parse(client.get("/selfcare/vm").text).clean_text
    assert "Период" not in text
    assert "Шаг 1 из 4." in text and "Отправить на" in text
    _, client, _ = portal_without("Счет")
    assert "Счета" in parse(client.get("/selfcare/vm").text).clean_text


def test_the_login_page_loses_it_too(portal_without):
    _, _, login_page = portal_without("Войти")
    page = parse(login_page)
    assert [i.attrs["value"] for i in page.find_all("input") if i.attrs.get("type") == "submit"] == [""]
    assert "ВИРТУАЛЬНЫЙ МЕНЕДЖЕР" in login_page


def test_the_sandbox_passes_the_option_to_the_portal():
    folder = world_traversable_folder()
    try:
        with Sandbox(SandboxOptions(data_dir=folder / "data", without_label="Фильтр")) as sandbox:
            assert sandbox.portal_app.config["WITHOUT_LABEL"] == "Фильтр"
            settings = sandbox.settings()
            client = sandbox.portal_app.test_client()
            client.post("/selfcare/login", data=login_form(settings["MTS_LOGIN"], settings["MTS_PASSWORD"]))
            page = client.get("/selfcare/vm").text
            assert "Фильтр" not in page and "Номер или лицевой счёт" in page
    finally:
        shutil.rmtree(folder, ignore_errors=True)
