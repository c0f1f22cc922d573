"""The generated data set: shape, formats, uniqueness and reproducibility."""

import random
import re

from sandbox.dataset import generate


def _all_subscribers(logins):
    """Every subscriber of every account of every login."""
    return [s for login in logins for account in login.accounts for s in account.subscribers]


def test_same_seed_gives_identical_data():
    """Generating twice from one seed gives equal data."""
    assert generate(7) == generate(7)


def test_different_seeds_give_different_data():
    """Another seed gives other logins and numbers."""
    assert generate(1) != generate(2)
    assert {s.number for s in _all_subscribers(generate(1))} != {
        s.number for s in _all_subscribers(generate(2))
    }


def test_global_random_is_neither_used_nor_disturbed():
    """The global generator's state does not matter and is left alone."""
    random.seed(0)
    first = generate(3)
    random.seed(12345)
    state = random.getstate()
    assert generate(3) == first
    assert random.getstate() == state


def test_shape_two_logins_with_three_and_two_accounts():
    """The first login has three accounts, the second two, each with 3 to 6 numbers."""
    logins = generate(1)
    assert [len(login.accounts) for login in logins] == [3, 2]
    for login in logins:
        for account in login.accounts:
            assert 3 <= len(account.subscribers) <= 6


def test_formats():
    """Logins, accounts, numbers, SIM cards and names look like the real ones."""
    for seed in (1, 2, 3):
        logins = generate(seed)
        for login in logins:
            assert re.fullmatch(r"9\d{9}", login.login)
            assert login.company
            for account in login.accounts:
                assert re.fullmatch(r"\d{12}", account.number)
                assert re.fullmatch(r"\d{9}", account.contract)
        for subscriber in _all_subscribers(logins):
            assert re.fullmatch(r"79\d{9}", subscriber.number)
            assert re.fullmatch(r"8970\d{16}", subscriber.sim)
            assert subscriber.type == "GSM"
            assert re.fullmatch(r"[А-ЯЁ][А-Яа-яЁё -]+", subscriber.folder)
            assert re.fullmatch(r"[А-ЯЁ][а-яё]+ [А-ЯЁ][а-яё]+ [А-ЯЁ][а-яё]+", subscriber.full_name)


def test_everything_is_unique():
    """No login, account, contract, number or SIM card occurs twice."""
    for seed in range(1, 21):
        logins = generate(seed)
        accounts = [a for login in logins for a in login.accounts]
        subscribers = _all_subscribers(logins)
        for values in (
            [login.login for login in logins],
            [login.company for login in logins],
            [a.number for a in accounts],
            [a.contract for a in accounts],
            [s.number for s in subscribers],
            [s.sim for s in subscribers],
        ):
            assert len(values) == len(set(values))
