"""A sandbox of any size: the data set, the env file with the logins file, the paged tree.

``python -m sandbox --logins K --accounts N --numbers M`` makes K logins of N
personal accounts of M numbers; the env file then names every login's password
and, for several logins, a TOML logins file; the portal's left pane shows the
long hierarchy a page (300 nodes) at a time and filters it.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

import sandbox.__main__ as sandbox_main
import sandbox.stack as stack
from sandbox.dataset import Login, generate
from sandbox.portal import TREE_PAGE_SIZE
from sandbox.portal.tree import filter_digits, listed_nodes, tree_page
from tests.support import NotStartedMail, sandbox_options_from, world_traversable_folder
from tests.unit.test_portal import Element, login_form, make_app, parse

ROOT = Path(__file__).resolve().parents[2]
BIG = {"logins": 3, "accounts": 20, "numbers": 40}
"""The size of a company with several logins and hundreds of numbers: 3 × 20 × 40."""
START_LIMIT = 10.0
"""Seconds within which the 3 × 20 × 40 sandbox must answer (it takes about one)."""

DEFAULT_DIGESTS = {
    1: "bdacbc088460e7b30c12ac778b647ab7d5c6e24cf461012141f16c7c8d0a33db",
    2: "eec96a63bd05427c8c5ce95e288803d7edf744095ef0a88d91d7f47613105613",
    3: "6f6c7462eeca516b349767c122d7521dfe65ae0ef026b6ed130d17ca6a6cac93",
}
"""Digests of the default data set of seeds 1 to 3 as it was before sizes existed: tests pin it."""


def digest(logins: tuple[Login, ...]) -> str:
    """A digest of every field of every login, account and subscriber."""
    text = "\n".join(
        f"{login.login}|{login.company}|"
        + ";".join(
            f"{a.number}|{a.contract}|"
            + ",".join(f"{s.number}|{s.sim}|{s.folder}|{s.full_name}|{s.type}" for s in a.subscribers)
            for a in login.accounts
        )
        for login in logins
    )
    return hashlib.sha256(text.encode()).hexdigest()


def everything(logins: tuple[Login, ...]) -> dict[str, list[str]]:
    """Every value that must be unique in a data set, by kind."""
    accounts = [account for login in logins for account in login.accounts]
    subscribers = [subscriber for account in accounts for subscriber in account.subscribers]
    return {
        "login": [login.login for login in logins],
        "company": [login.company for login in logins],
        "account": [account.number for account in accounts],
        "contract": [account.contract for account in accounts],
        "number": [subscriber.number for subscriber in subscribers],
        "sim": [subscriber.sim for subscriber in subscribers],
    }


# --- the data set -------------------------------------------------------------


def test_default_data_set_is_unchanged():
    """Without sizes ``generate(seed)`` gives exactly the data set the other tests pin."""
    for seed, expected in DEFAULT_DIGESTS.items():
        assert digest(generate(seed)) == expected
        assert generate(seed, logins=None, accounts=None, numbers=None) == generate(seed)
    first = generate(1)[0]
    assert (first.login, [account.number for account in first.accounts]) == (
        "9141777631", ["277306690743", "277342694208", "277317195364"])


def test_two_logins_is_the_default_number_of_logins():
    """Giving the default number of logins alone changes nothing."""
    assert generate(4, logins=2) == generate(4)


def test_sizes_are_honoured_and_everything_is_unique():
    """K logins, N accounts each, M numbers each; no value occurs twice in the whole data set."""
    logins = generate(1, **BIG)
    assert len(logins) == 3
    assert all(len(login.accounts) == 20 for login in logins)
    assert all(len(account.subscribers) == 40 for login in logins for account in login.accounts)
    for kind, values in everything(logins).items():
        assert len(values) == len(set(values)), kind
    assert len(everything(logins)["number"]) == 3 * 20 * 40


def test_sizes_keep_the_formats():
    """A sized data set looks like the default one."""
    for login in generate(2, logins=4, accounts=2, numbers=3):
        assert re.fullmatch(r"9\d{9}", login.login)
        for account in login.accounts:
            assert re.fullmatch(r"\d{12}", account.number) and re.fullmatch(r"\d{9}", account.contract)
            assert all(re.fullmatch(r"79\d{9}", s.number) for s in account.subscribers)


def test_sizes_left_out_keep_the_default_shape():
    """Only the sizes given change; the others keep the default data set's shape."""
    assert [len(login.accounts) for login in generate(1, numbers=2)] == [3, 2]
    assert all(len(a.subscribers) == 2 for login in generate(1, numbers=2) for a in login.accounts)
    assert [len(login.accounts) for login in generate(1, accounts=1)] == [1, 1]
    assert all(3 <= len(a.subscribers) <= 6 for login in generate(1, logins=4) for a in login.accounts)
    assert [len(login.accounts) for login in generate(1, logins=4)] == [3, 2, 3, 3]


def test_more_logins_than_known_companies_still_get_unique_names():
    """Beyond the known company names, branches are numbered."""
    logins = generate(3, logins=14, accounts=1, numbers=1)
    companies = [login.company for login in logins]
    assert len(set(companies)) == 14
    assert any("филиал 2" in company for company in companies)
    assert any("филиал 3" in company for company in companies)


def test_sized_data_set_is_reproducible():
    """The same seed and sizes give the same data; another seed other data."""
    assert generate(9, **BIG) == generate(9, **BIG)
    assert everything(generate(9, **BIG))["number"] != everything(generate(10, **BIG))["number"]


@pytest.mark.parametrize("size", ["logins", "accounts", "numbers"])
def test_a_size_below_one_is_refused(size):
    """Zero logins, accounts or numbers makes no data set."""
    with pytest.raises(ValueError, match=size):
        generate(1, **{size: 0})


# --- the command line ---------------------------------------------------------


def test_size_options():
    """--logins, --accounts and --numbers default to the default data set; below 1 is refused."""
    args = sandbox_main.parse_args(["--data-dir", "d", "--env-file", "e"])
    assert (args.logins, args.accounts, args.numbers, args.page_size) == (None, None, None, TREE_PAGE_SIZE)
    args = sandbox_main.parse_args(["--data-dir", "d", "--env-file", "e", "--logins", "3", "--accounts", "20",
                                    "--numbers", "40", "--page-size", "25"])
    assert (args.logins, args.accounts, args.numbers, args.page_size) == (3, 20, 40, 25)
    for bad in (["--logins", "0"], ["--accounts", "-1"], ["--numbers", "x"], ["--page-size", "0"]):
        with pytest.raises(SystemExit):
            sandbox_main.parse_args(["--data-dir", "d", "--env-file", "e", *bad])


def test_page_size_is_a_hidden_option(capsys, monkeypatch):
    """--help shows the sizes, not the page size (an option for tests)."""
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit):
        sandbox_main.parse_args(["--help"])
    help_text = capsys.readouterr().out
    assert "--logins K" in help_text and "--accounts N" in help_text and "--numbers M" in help_text
    assert "--page-size" not in help_text


def test_main_passes_the_sizes_into_the_sandbox_options(monkeypatch, tmp_path):
    """The options reach SandboxOptions unchanged."""
    options = sandbox_options_from(
        monkeypatch, tmp_path, "--logins", "3", "--accounts", "20", "--numbers", "40", "--page-size", "50"
    )
    assert (options.logins, options.accounts, options.numbers, options.page_size) == (3, 20, 40, 50)


# --- the env file and the logins file -----------------------------------------


@pytest.fixture
def sized_sandbox(monkeypatch, tmp_path):
    """Start a sandbox (without mail) of the size given: a function of SandboxOptions' keywords."""
    monkeypatch.setattr(stack, "MailServer", NotStartedMail)
    started = []

    def start(**sizes) -> stack.Sandbox:
        running = stack.Sandbox(stack.SandboxOptions(data_dir=tmp_path / f"data{len(started)}", **sizes)).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def read_env(path: Path) -> dict[str, str]:
    """The ``KEY='value'`` lines of an env file, unquoted."""
    result = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        result[key] = value[1:-1].replace("'\"'\"'", "'")
    return result


def test_env_file_and_logins_file_of_several_logins(sized_sandbox, tmp_path):
    """The one-login shortcut is the first login; every login has its password variable and a TOML entry."""
    running = sized_sandbox(**BIG)
    env_file = tmp_path / "out" / "sandbox.env"
    written = running.write_settings(env_file)
    logins_file = tmp_path / "out" / "sandbox.logins.toml"
    assert written == (logins_file, env_file)
    for path in written:
        assert os.stat(path).st_mode & 0o777 == 0o600, path

    env = read_env(env_file)
    first = running.logins[0]
    assert env["MTS_LOGIN"] == first.login
    assert env["MTS_PASSWORD"] == running.passwords[first.login]
    assert env["MTS_ACCOUNTS"] == ",".join(account.number for account in first.accounts)
    assert env["MTS_LOGINS_FILE"] == str(logins_file.resolve())
    for login in running.logins:
        assert env[f"MTS_PASSWORD_{login.login}"] == running.passwords[login.login]
    assert len({env[f"MTS_PASSWORD_{login.login}"] for login in running.logins}) == 3

    with open(logins_file, "rb") as handle:
        data = tomllib.load(handle)
    assert list(data) == ["login"]
    assert data["login"] == [
        {
            "number": login.login,
            "password_env": f"MTS_PASSWORD_{login.login}",
            "accounts": [account.number for account in login.accounts],
        }
        for login in running.logins
    ]
    text = logins_file.read_text(encoding="utf-8")
    assert not any(password in text for password in running.passwords.values()), "no secret in the logins file"
    assert all(login.company in text for login in running.logins), "a comment names each login's company"


def test_the_default_sandbox_keeps_the_one_login_shortcut(sized_sandbox, tmp_path):
    """The default data set's two logins are two companies: only ``--logins K`` writes a logins file."""
    running = sized_sandbox()
    env_file = tmp_path / "sandbox.env"
    assert running.write_settings(env_file) == (env_file,)
    env = read_env(env_file)
    assert "MTS_LOGINS_FILE" not in env
    assert env["MTS_LOGIN"] == generate(1)[0].login
    assert all(f"MTS_PASSWORD_{login.login}" in env for login in generate(1))


def test_one_login_writes_no_logins_file(sized_sandbox, tmp_path):
    """With a single login the env file alone describes it."""
    running = sized_sandbox(logins=1, accounts=2, numbers=2)
    env_file = tmp_path / "sandbox.env"
    assert running.write_settings(env_file) == (env_file,)
    env = read_env(env_file)
    login = running.logins[0].login
    assert "MTS_LOGINS_FILE" not in env
    assert env["MTS_LOGIN"] == login and env[f"MTS_PASSWORD_{login}"] == env["MTS_PASSWORD"]
    assert not stack.logins_file_for(env_file).exists()


def test_every_login_can_log_in_with_its_password(sized_sandbox, tmp_path):
    """The password variable of each login opens its own Virtual Manager."""
    running = sized_sandbox(logins=3, accounts=2, numbers=2)
    env = read_env(running.write_settings(tmp_path / "sandbox.env")[-1])
    for login in running.logins:
        client = running.portal_app.test_client()
        answer = client.post("/selfcare/login", data=login_form(login.login, env[f"MTS_PASSWORD_{login.login}"]))
        assert answer.status_code == 302, login.login
        assert login.company in client.get("/selfcare/vm").get_data(as_text=True)


def test_logins_file_names():
    """The logins file lies beside the env file, named after it."""
    assert stack.logins_file_for(Path("/x/sandbox.env")) == Path("/x/sandbox.logins.toml")
    assert stack.logins_file_for(Path("/x/env")) == Path("/x/env.logins.toml")


def test_toml_strings_are_escaped():
    """Whatever a value holds, tomllib reads back the same string."""
    for value in ('plain', 'with "quotes"', "back\\slash", "tab\tand\nnewline", "Кириллица «ёлки»"):
        assert tomllib.loads(f"v = {stack._toml_string(value)}")["v"] == value


def test_python_m_sandbox_at_three_by_twenty_by_forty():
    """The command starts a 3 × 20 × 40 sandbox within seconds, and on SIGTERM removes both files it wrote."""
    folder = world_traversable_folder()
    env_file = folder / "sandbox.env"
    logins_file = folder / "sandbox.logins.toml"
    log = folder / "sandbox.log"
    command = [sys.executable, "-m", "sandbox", "--data-dir", str(folder / "data"), "--env-file", str(env_file),
               "--logins", "3", "--accounts", "20", "--numbers", "40"]
    started = time.monotonic()
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        while not env_file.exists():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() - started < START_LIMIT, f"not started within {START_LIMIT} s"
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        print(f"python -m sandbox --logins 3 --accounts 20 --numbers 40 answered after {elapsed:.2f} s")
        env = read_env(env_file)
        data = tomllib.loads(Path(env["MTS_LOGINS_FILE"]).read_text(encoding="utf-8"))
        assert len(data["login"]) == 3 and all(len(entry["accounts"]) == 20 for entry in data["login"])
        assert all(entry["password_env"] in env for entry in data["login"])
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        assert process.returncode == 0, log.read_text()
        assert not env_file.exists() and not logins_file.exists(), "no settings left behind"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


# --- the paged and filtered tree ----------------------------------------------


LOGIN = generate(1, **BIG)[0]
"""A login of 20 accounts of 40 numbers: 820 nodes, three pages of 300."""
PASSWORDS = {login.login: f"пароль-{login.login}" for login in generate(1, **BIG)}


@pytest.fixture
def big_app(tmp_path):
    """A portal of the 3 × 20 × 40 data set."""
    app = make_app(tmp_path, logins=generate(1, **BIG), passwords=PASSWORDS)
    yield app
    app.extensions["portal"].shutdown()


@pytest.fixture
def big_user(big_app):
    """A browser logged in as the first login of 20 × 40."""
    client = big_app.test_client()
    answer = client.post("/selfcare/login", data=login_form(LOGIN.login, PASSWORDS[LOGIN.login]))
    assert answer.status_code == 302
    return client


def tree_of(client, query: str = "") -> Element:
    """The left pane of the numbers page with this query string."""
    answer = client.get(f"/selfcare/vm{query}")
    assert answer.status_code == 200
    return parse(answer.get_data(as_text=True)).by_id("ctl00_MainContent_pnlTree")


def shown_numbers(tree: Element) -> list[str]:
    """The numbers a page of the tree shows, in order."""
    return [li.attrs["data-number"] for li in tree.find_all("li", "subscriber")]


def shown_accounts(tree: Element) -> list[str]:
    """The accounts a page of the tree shows, in order (a continued one too)."""
    return [li.attrs["data-account"] for li in tree.find_all("li", "account")]


def counted_nodes(tree: Element) -> int:
    """The nodes a page counts: its numbers and the accounts that begin on it."""
    return len(tree.find_all("li", "subscriber")) + len(
        [li for li in tree.find_all("li", "account") if "data-continued" not in li.attrs])


def test_a_long_tree_is_paged(big_user):
    """820 nodes make three pages of at most 300, labelled in Russian, with working links."""
    first = tree_of(big_user)
    assert (first.attrs["data-page"], first.attrs["data-pages"], first.attrs["data-nodes"]) == ("1", "3", "820")
    assert first.by_id("ctl00_MainContent_pgTree_lblPage").clean_text == "Страница 1 из 3"
    previous = first.by_id("ctl00_MainContent_pgTree_lnkPrev")
    following = first.by_id("ctl00_MainContent_pgTree_lnkNext")
    assert previous.clean_text == "Предыдущая страница" and "href" not in previous.attrs
    assert previous.attrs["aria-disabled"] == "true"
    assert following.clean_text == "Следующая страница" and following.attrs["href"] == "/selfcare/vm?page=2"

    second = tree_of(big_user, "?page=2")
    assert second.by_id("ctl00_MainContent_pgTree_lblPage").clean_text == "Страница 2 из 3"
    assert second.by_id("ctl00_MainContent_pgTree_lnkPrev").attrs["href"] == "/selfcare/vm?page=1"
    last = tree_of(big_user, "?page=3")
    assert "href" not in last.by_id("ctl00_MainContent_pgTree_lnkNext").attrs
    pages = [first, second, last]
    assert [counted_nodes(page) for page in pages] == [300, 300, 220]
    assert [n for page in pages for n in shown_numbers(page)] == [
        s.number for account in LOGIN.accounts for s in account.subscribers]


def test_a_number_on_page_two_is_not_on_page_one_and_the_filter_finds_it(big_user):
    """Filtering by a number of page 2 shows that number alone, under its account, on page 1 of 1."""
    first, second = tree_of(big_user), tree_of(big_user, "?page=2")
    number = shown_numbers(second)[-1]
    assert number not in shown_numbers(first)
    account = next(a for a in LOGIN.accounts if any(s.number == number for s in a.subscribers))

    found = tree_of(big_user, f"?filter={number}")
    assert shown_numbers(found) == [number] and shown_accounts(found) == [account.number]
    assert found.by_id("ctl00_MainContent_pgTree_lblPage").clean_text == "Страница 1 из 1"
    assert found.attrs["data-filter"] == number
    page = parse(big_user.get(f"/selfcare/vm?filter={number}").get_data(as_text=True))
    assert page.by_id("ctl00_MainContent_txtFilter").attrs["value"] == number
    assert page.by_id("ctl00_MainContent_lnkResetFilter").attrs["href"] == "/selfcare/vm"
    # typed as a person would: +7, spaces and dashes, or the 10 digits without 7
    spaced = f"+7 {number[1:4]} {number[4:7]}-{number[7:9]}-{number[9:]}"
    assert shown_numbers(tree_of(big_user, f"?filter={spaced.replace('+', '%2B')}")) == [number]
    assert shown_numbers(tree_of(big_user, f"?filter={number[1:]}")) == [number]


def test_the_filter_finds_an_account_with_all_its_numbers(big_user):
    """An account's number shows the account and every number on it."""
    account = LOGIN.accounts[-1]
    found = tree_of(big_user, f"?filter={account.number}")
    assert shown_accounts(found) == [account.number]
    assert shown_numbers(found) == [s.number for s in account.subscribers]
    assert "data-continued" not in found.find_all("li", "account")[0].attrs


def test_the_filter_that_matches_nothing(big_user):
    """No match (or no digit at all) shows «Ничего не найдено» on page 1 of 1."""
    for needle in ("000000000000000", "Иванов"):
        page = parse(big_user.get(f"/selfcare/vm?filter={needle}").get_data(as_text=True))
        assert page.by_id("ctl00_MainContent_lblTreeEmpty").clean_text == "Ничего не найдено"
        assert page.by_id("ctl00_MainContent_pnlTree").find_all("li", "account") == []
        assert page.by_id("ctl00_MainContent_pgTree_lblPage").clean_text == "Страница 1 из 1"


def test_paging_keeps_the_filter(big_app, big_user):
    """A filter that matches more than a page is paged too, and the page links keep it."""
    big_app.config["TREE_PAGE_SIZE"] = 10
    tree = tree_of(big_user, "?filter=2773")
    assert tree.attrs["data-pages"] == "82"
    assert tree.by_id("ctl00_MainContent_pgTree_lnkNext").attrs["href"] == "/selfcare/vm?page=2&filter=2773"


def test_a_page_that_starts_inside_an_account_repeats_it(big_user):
    """Page 2 begins with the rest of an account of page 1, under that account, marked as continued."""
    first, second = tree_of(big_user), tree_of(big_user, "?page=2")
    last_of_first = first.find_all("li", "account")[-1]
    first_of_second = second.find_all("li", "account")[0]
    assert last_of_first.attrs["data-continues"] == "true"
    assert first_of_second.attrs["data-continued"] == "true"
    assert first_of_second.attrs["data-account"] == last_of_first.attrs["data-account"]
    assert first_of_second.attrs["data-numbers"] == "40"
    assert "(продолжение)" in first_of_second.clean_text
    assert first_of_second.attrs["draggable"] == "true"


def test_page_numbers_out_of_range_are_clamped(big_user):
    """Page 0, page 99 and a page that is no number show the first or the last page."""
    assert tree_of(big_user, "?page=0").attrs["data-page"] == "1"
    assert tree_of(big_user, "?page=abc").attrs["data-page"] == "1"
    assert tree_of(big_user, "?page=99").attrs["data-page"] == "3"


def test_an_account_from_a_later_page_can_be_dropped(big_user):
    """The selection takes an account or a number of any page, as before."""
    account = shown_accounts(tree_of(big_user, "?page=3"))[-1]
    answer = big_user.post("/selfcare/api/selection", json={"add": {"account": account}})
    assert answer.status_code == 200 and answer.get_json()["count"] == 40


def test_the_default_page_size_and_the_option(tmp_path):
    """300 nodes a page unless told otherwise; create_app's tree_page_size sets it."""
    assert TREE_PAGE_SIZE == 300
    logins = generate(1, **BIG)
    app = make_app(tmp_path, logins=logins, passwords=PASSWORDS, tree_page_size=100)
    try:
        client = app.test_client()
        client.post("/selfcare/login", data=login_form(LOGIN.login, PASSWORDS[LOGIN.login]))
        assert tree_of(client).attrs["data-pages"] == "9"
    finally:
        app.extensions["portal"].shutdown()


def test_sandbox_page_size_reaches_the_portal(sized_sandbox):
    """SandboxOptions.page_size (``--page-size``) is the portal's page size."""
    running = sized_sandbox(page_size=7)
    assert running.portal_app.config["TREE_PAGE_SIZE"] == 7


def test_the_default_data_set_fits_one_page():
    """Today's logins are far below a page: the robot sees every account without paging."""
    for login in generate(1):
        page = tree_page(login)
        assert (page.page, page.pages) == (1, 1)
        assert [item.account for item in page.accounts] == list(login.accounts)


def test_tree_pages_cover_the_listing_exactly_once():
    """Whatever the page size, the pages hold every node once, never more than a page of them."""
    for size in (1, 2, 7, 41, 300, 1000):
        pages = math.ceil(820 / size)
        seen = []
        for number in range(1, pages + 1):
            page = tree_page(LOGIN, number, size)
            assert page.pages == pages
            counted = sum(len(item.subscribers) + (0 if item.continued else 1) for item in page.accounts)
            assert counted == (size if number < pages else 820 - size * (pages - 1))
            seen += [(item.account.number, None) for item in page.accounts if not item.continued]
            seen += [(item.account.number, s.number) for item in page.accounts for s in item.subscribers]
        expected = [(a.number, None if s is None else s.number) for a, s in listed_nodes(LOGIN)]
        assert sorted(seen, key=str) == sorted(expected, key=str)


def test_filter_digits():
    """Only the digits of what was typed count."""
    assert filter_digits(" +7 (916) 123-45-67 ") == "79161234567"
    assert filter_digits("ЛС 2773") == "2773"
    assert filter_digits("абв") == ""


def test_the_left_pane_scrolls():
    """A page of the tree scrolls inside the pane (the robot's window is 1440 × 900)."""
    css = (ROOT / "sandbox/portal/static/portal.css").read_text(encoding="utf-8")
    tree_rule = re.search(r"\.tree \{([^}]*)\}", css).group(1)
    list_rule = re.search(r"\.tree ul\.accounts \{([^}]*)\}", css).group(1)
    assert "max-height" in tree_rule
    assert "overflow: auto" in list_rule
